// GW-67: restated figures keep their history. Each report is stored under an id derived from its measure and
// period, so a re-run is a new version of the same resource (the store keeps every version: `_history`), and the
// note of a restated version is computed from the numbers of the version it replaces, never from memory.
#include <map>

#include "figures_internal.h"
#include "planbro/fhir-model/json.h"
#include "planbro/gateway/ip/figures.h"
#include "planbro/gateway/search/indexer.h"

namespace planbro::gateway::ip {
namespace {

using fhir::JsonDocument;
using fhir::JsonValue;

// A restatement note lists at most this many changed numbers, then how many more: a report with many strata
// (one per organisation) must not give an unbounded extension.
constexpr size_t kMaxListedChanges = 50;
// Concurrent writers of the same reports (two runs of one period at once): a bounded number of fresh attempts.
constexpr int kMaxAttempts = 3;

std::string_view str(const JsonValue* v) { return v && v->isString() ? v->text() : std::string_view(); }
std::span<const JsonValue> items(const JsonValue* v) { return v ? v->items() : std::span<const JsonValue>{}; }

// Every number of one stored MeasureReport: "<group>/<population>" and "<group>/<stratifier>/<stratum>".
std::map<std::string, std::string> numbers(const JsonValue& report) {
  std::map<std::string, std::string> out;
  auto count = [](const JsonValue& population) {
    const JsonValue* c = population.find("count");
    return c ? std::string(c->text()) : std::string();
  };
  auto popCode = [](const JsonValue& population) {
    const JsonValue* code = population.find("code");
    for (const JsonValue& c : items(code ? code->find("coding") : nullptr)) return std::string(str(c.find("code")));
    return std::string();
  };
  for (const JsonValue& g : items(report.find("group"))) {
    const JsonValue* gc = g.find("code");
    const std::string group(str(gc ? gc->find("text") : nullptr));
    for (const JsonValue& p : items(g.find("population"))) out[group + "/" + popCode(p)] = count(p);
    for (const JsonValue& s : items(g.find("stratifier"))) {
      std::string stratifier;
      for (const JsonValue& c : items(s.find("code"))) stratifier = std::string(str(c.find("text")));
      for (const JsonValue& st : items(s.find("stratum"))) {
        std::string value;
        if (const JsonValue* v = st.find("value")) value = std::string(str(v->find("text")));
        for (const JsonValue& c : items(st.find("component"))) {
          if (!value.empty()) value += "|";
          const JsonValue* cv = c.find("value");
          value += std::string(str(cv ? cv->find("text") : nullptr));
        }
        for (const JsonValue& p : items(st.find("population"))) out[group + "/" + stratifier + "/" + value] = count(p);
      }
    }
  }
  return out;
}

// The data-quality note of a new version against the one it replaces.
std::string restatementNote(const JsonValue& previous, int64_t previous_version, const JsonValue& current) {
  const auto was = numbers(previous);
  const auto is = numbers(current);
  std::vector<std::string> changes;
  for (const auto& [key, value] : was) {
    auto it = is.find(key);
    if (it == is.end()) changes.push_back(key + " " + value + " → (none)");
    else if (it->second != value) changes.push_back(key + " " + value + " → " + it->second);
  }
  for (const auto& [key, value] : is) {
    if (!was.count(key)) changes.push_back(key + " (none) → " + value);
  }
  std::string note = "Restated: replaces version " + std::to_string(previous_version) + " computed " +
                     std::string(str(previous.find("date"))) + ". ";
  if (changes.empty()) return note + "No number changed.";
  note += "Changed: ";
  for (size_t i = 0; i < changes.size() && i < kMaxListedChanges; ++i) {
    if (i) note += "; ";
    note += changes[i];
  }
  if (changes.size() > kMaxListedChanges) note += "; and " + std::to_string(changes.size() - kMaxListedChanges) + " more";
  return note + ".";
}

Result<std::vector<StoredReport>> storeOnce(store::ResourceStore& store, const Figures& figures,
                                            const store::WriteContext& writer, bool& retry) {
  ASSIGN_OR_RETURN(std::unique_ptr<store::WriteTransaction> tx, store.begin(writer));
  std::vector<StoredReport> out;
  for (const FigureReport& report : figures.reports) {
    StoredReport stored;
    stored.id = storedReportId(report.measure_id, figures.period);
    std::string note;
    // The key serialises runs of one measure and period on every engine: a concurrent run waits here until this
    // one commits and then reads its report as the previous version (a row lock alone cannot lock a report that
    // does not exist yet). Every run claims in the same order, the order of the reports, so runs never deadlock.
    auto claim = tx->claimKey(store::BusinessKey{"MeasureReport", "ip-figures-report", stored.id}, stored.id);
    if (!claim.isOk()) {
      retry = tx->retryable();
      return claim.status();
    }
    auto previous = tx->readForUpdate("MeasureReport", stored.id);
    if (previous.isOk()) {
      auto was = JsonDocument::parse(previous->json);
      auto now = JsonDocument::parse(measureReportJson(figures, report));
      if (was.isOk() && now.isOk()) note = restatementNote(was->root(), previous->version, now->root());
    } else if (previous.status().code() != StatusCode::kNotFound && previous.status().code() != StatusCode::kGone) {
      retry = tx->retryable();
      return previous.status();
    }
    stored.json = measureReportJson(figures, report, stored.id, note);
    auto written = tx->update("MeasureReport", stored.id, store::ResourceContent{stored.json, {}});
    if (!written.isOk()) {
      // The first run of a period racing another: both found no report, the other created it first. Run again,
      // this time as its restatement.
      retry = tx->retryable() || written.status().code() == StatusCode::kAlreadyExists;
      return written.status();
    }
    stored.version = written->version;
    ASSIGN_OR_RETURN(JsonDocument doc, JsonDocument::parse(stored.json));
    search::IndexOptions index;
    index.last_updated = written->last_updated;
    ASSIGN_OR_RETURN(std::vector<store::IndexRow> rows, search::indexResource(doc.root(), nullptr, index));
    if (Status s = tx->replaceIndex("MeasureReport", stored.id, rows); !s.isOk()) {
      retry = tx->retryable();
      return s;
    }
    out.push_back(std::move(stored));
  }
  if (Status s = tx->commit(); !s.isOk()) {
    retry = tx->retryable() || s.code() == StatusCode::kAlreadyExists;
    return s;
  }
  return out;
}

}  // namespace

std::string storedReportId(std::string_view measure_id, const FiguresPeriod& period) {
  auto compact = [](const std::string& date) {
    std::string out;
    for (char c : date) {
      if (c != '-') out += c;
    }
    return out;
  };
  return std::string(measure_id) + "-" + compact(period.start_text) + "-" + compact(period.end_text);
}

Result<std::vector<StoredReport>> storeFigures(
    store::ResourceStore& store, const Figures& figures, const store::WriteContext& writer,
    const std::function<Status(std::string_view id, std::string_view json)>& authorize) {
  for (const FigureReport& report : figures.reports) {
    RETURN_IF_ERROR(authorize(storedReportId(report.measure_id, figures.period), measureReportJson(figures, report)));
  }
  Status last = Status::ok();
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    bool retry = false;
    auto stored = storeOnce(store, figures, writer, retry);
    if (stored.isOk() || !retry) return stored;
    last = stored.status();
  }
  return Status(StatusCode::kConflict, "the figures could not be stored: concurrent writers (" + last.message() + ")");
}

}  // namespace planbro::gateway::ip
