// The NDJSON export of the audit trail (audit_export.h), over the store's type history of AuditEvent: AuditEvents
// are never updated or deleted, so the history of the type is the trail itself, in a keyset order that a cursor
// continues exactly (no entry twice, none skipped, while new ones arrive at the head).
#include "planbro/gateway/security/audit_export.h"

#include <algorithm>
#include <charconv>

#include "planbro/gateway/search/indexer.h"

namespace planbro::gateway::security {
namespace {

std::string percentEncoded(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
        c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

class AuditExport final : public rest::Operation {
 public:
  explicit AuditExport(size_t max_entries) : max_entries_(std::clamp<size_t>(max_entries, 1, 10'000)) {}
  std::string_view name() const override { return "export-ndjson"; }
  rest::OperationLevel level() const override { return rest::OperationLevel::kType; }
  std::string_view resourceType() const override { return "AuditEvent"; }
  bool allowsGet() const override { return true; }
  std::string_view definitionUrl() const override {
    return "http://planbro.no/fhir/OperationDefinition/AuditEvent-export-ndjson";
  }

  Result<rest::OperationResult> invoke(const rest::OperationCall& call, fhir::OperationOutcome& outcome) const override {
    if (call.parameters) return invalidArgument("$export-ndjson takes its parameters in the URL (GET)");
    store::HistoryQuery q;
    q.type = "AuditEvent";
    size_t wanted = max_entries_;
    std::string since_text;
    for (const auto& [k, v] : *call.query) {
      if (k == "since") {
        auto range = search::parseDateRange(v);
        if (!range) {
          outcome.add(fhir::Severity::kError, "invalid", "since must be an instant such as 2026-01-01T00:00:00Z", "since");
          return invalidArgument("since must be an instant such as 2026-01-01T00:00:00Z");
        }
        q.since = store::Timestamp(std::chrono::microseconds(range->low));
        since_text = v;
      } else if (k == "_count") {
        size_t n = 0;
        auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
        if (ec != std::errc() || ptr != v.data() + v.size() || n == 0) {
          return invalidArgument("_count must be a positive integer");
        }
        wanted = std::min(n, max_entries_);
      } else if (k == "_cursor") {
        auto c = store::HistoryCursor::fromToken(v);
        if (!c.isOk()) return invalidArgument("bad _cursor: " + c.status().message());
        q.after = *c;
      } else if (!k.starts_with("_format")) {
        return invalidArgument("unsupported parameter '" + k + "' (since, _count, _cursor)");
      }
    }
    std::string out;
    size_t lines = 0;
    std::optional<store::HistoryCursor> next;
    while (lines < wanted) {
      q.count = std::min<size_t>(wanted - lines, 1000);
      ASSIGN_OR_RETURN(store::HistoryPage page, call.store->history(q));
      for (const store::ResourceVersion& v : page.entries) {
        if (v.deleted || v.json.empty()) continue;
        if (!call.decide(AccessAction::kRead, v.type, v.id, v.json).isOk()) continue;
        out += v.json;
        out += '\n';
        ++lines;
      }
      next = page.next;
      if (!page.next || page.entries.empty()) break;
      q.after = page.next;
    }
    rest::OperationResult result;
    result.content_type = "application/fhir+ndjson";
    result.json = std::move(out);
    if (next && lines >= wanted) {
      std::string link = call.base + "/AuditEvent/$export-ndjson?_count=" + std::to_string(wanted);
      if (!since_text.empty()) link += "&since=" + percentEncoded(since_text);
      link += "&_cursor=" + percentEncoded(next->toToken());
      result.headers.set("Link", "<" + link + ">; rel=\"next\"");
    }
    return result;
  }

 private:
  size_t max_entries_;
};

}  // namespace

std::shared_ptr<const rest::Operation> makeAuditExportOperation(size_t max_entries) {
  return std::make_shared<AuditExport>(max_entries);
}

}  // namespace planbro::gateway::security
