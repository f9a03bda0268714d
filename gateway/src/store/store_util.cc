// Engine-independent parts of the public store API.
#include <charconv>
#include <string>

#include "planbro/gateway/store/resource_store.h"

namespace planbro::gateway::store {

Clock systemClock() {
  return [] { return std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now()); };
}

std::string_view changeKindName(ChangeKind kind) {
  switch (kind) {
    case ChangeKind::kCreate: return "create";
    case ChangeKind::kUpdate: return "update";
    case ChangeKind::kDelete: return "delete";
  }
  return "unknown";
}

// '~' cannot occur in a FHIR resource type or id ([A-Za-z0-9\-\.]{1,64}), so it separates the fields unambiguously
// and is URL-safe.
std::string HistoryCursor::toToken() const {
  return std::to_string(last_updated.time_since_epoch().count()) + "~" + type + "~" + id + "~" +
         std::to_string(version);
}

Result<HistoryCursor> HistoryCursor::fromToken(std::string_view token) {
  std::string_view parts[4];
  size_t n = 0;
  while (n < 4) {
    const size_t pos = token.find('~');
    if (n == 3) {
      if (pos != std::string_view::npos) break;
      parts[n++] = token;
      break;
    }
    if (pos == std::string_view::npos) break;
    parts[n++] = token.substr(0, pos);
    token.remove_prefix(pos + 1);
  }
  auto bad = [] { return Result<HistoryCursor>(invalidArgument("malformed history paging token")); };
  if (n != 4 || parts[1].empty() || parts[2].empty()) return bad();
  int64_t micros = 0;
  int64_t version = 0;
  auto r1 = std::from_chars(parts[0].data(), parts[0].data() + parts[0].size(), micros);
  auto r2 = std::from_chars(parts[3].data(), parts[3].data() + parts[3].size(), version);
  if (r1.ec != std::errc() || r1.ptr != parts[0].data() + parts[0].size() || r2.ec != std::errc() ||
      r2.ptr != parts[3].data() + parts[3].size() || version < 1) {
    return bad();
  }
  HistoryCursor cursor;
  cursor.last_updated = Timestamp(std::chrono::microseconds(micros));
  cursor.type = std::string(parts[1]);
  cursor.id = std::string(parts[2]);
  cursor.version = version;
  return cursor;
}

Status ResourceStore::runTransaction(const WriteContext& context,
                                     const std::function<Status(WriteTransaction&)>& body, int max_attempts) {
  Status last = internalError("runTransaction: no attempt made");
  for (int attempt = 0; attempt < max_attempts; ++attempt) {
    auto txn = begin(context);
    if (!txn.isOk()) return txn.status();
    Status status = body(**txn);
    if (status.isOk()) status = (*txn)->commit();
    if (status.isOk()) return status;
    (*txn)->rollback();
    if (!(*txn)->retryable()) return status;
    last = status;
  }
  return last;
}

}  // namespace planbro::gateway::store
