// The indexer over the official R4 examples and hand-written resources.
#include <filesystem>
#include <set>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "planbro/fhir-model/json.h"
#include "planbro/gateway/search/indexer.h"

namespace planbro::gateway::search {
namespace {

using store::IndexRow;
using store::IndexValueKind;

std::string readFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

fhir::JsonDocument parse(std::string text) {
  auto doc = fhir::JsonDocument::parse(std::move(text));
  EXPECT_TRUE(doc.isOk()) << doc.status().message();
  return doc.isOk() ? std::move(doc).value() : fhir::JsonDocument();
}

std::vector<IndexRow> rowsOf(const std::vector<IndexRow>& rows, std::string_view param) {
  std::vector<IndexRow> out;
  for (const auto& r : rows) {
    if (r.param == param) out.push_back(r);
  }
  return out;
}

std::vector<IndexRow> indexText(const std::string& json, std::vector<IndexIssue>* issues = nullptr) {
  fhir::JsonDocument doc = parse(json);
  auto rows = indexResource(doc.root(), issues);
  EXPECT_TRUE(rows.isOk()) << rows.status().message();
  return rows.isOk() ? *rows : std::vector<IndexRow>{};
}

TEST(Indexer, IndexesEveryOfficialExampleWithoutIssues) {
  const std::filesystem::path dir = PLANBRO_SHARED_DIR "/fhir-r4/examples";
  size_t files = 0;
  size_t rows_total = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".json") continue;
    ++files;
    fhir::JsonDocument doc = parse(readFile(entry.path()));
    std::vector<IndexIssue> issues;
    auto rows = indexResource(doc.root(), &issues);
    ASSERT_TRUE(rows.isOk()) << entry.path() << ": " << rows.status().message();
    for (const auto& issue : issues) ADD_FAILURE() << entry.path().filename() << " " << issue.param << ": " << issue.message;
    EXPECT_FALSE(rows->empty()) << entry.path();
    rows_total += rows->size();
  }
  EXPECT_GE(files, 80u);
  EXPECT_GT(rows_total, files * 5);
}

// AuditEvent is indexed by the IHE BALP / ATNA search parameters only: its agent and entity roles, written on every
// audited request, get no rows, and its searchable parameters are the list, no more.
TEST(Indexer, AuditEventIsIndexedByTheBalpParametersOnly) {
  auto rows = indexText(R"({"resourceType":"AuditEvent","id":"a1",
    "type":{"system":"http://dicom.nema.org/resources/ontology/DCM","code":"110112"},
    "action":"R","recorded":"2026-12-07T10:00:00Z","outcome":"0",
    "agent":[{"who":{"reference":"Practitioner/pr1"},"requestor":true,
              "role":[{"coding":[{"system":"http://planbro.no/fhir/CodeSystem/audit-agent-role","code":"user"}]}]}],
    "source":{"observer":{"reference":"Device/gw"}},
    "entity":[{"what":{"reference":"Patient/p1"},
               "type":{"system":"http://terminology.hl7.org/CodeSystem/audit-entity-type","code":"1"},
               "role":{"system":"http://terminology.hl7.org/CodeSystem/object-role","code":"1"},
               "name":"a name"}]})");
  std::set<std::string> params;
  for (const IndexRow& r : rows) params.insert(r.param.substr(0, r.param.find(':')));
  for (const char* dropped : {"agent-role", "entity-role", "entity-name"}) EXPECT_EQ(params.count(dropped), 0u) << dropped;
  for (const char* kept : {"type", "action", "date", "outcome", "agent", "source", "entity", "entity-type", "patient"}) {
    EXPECT_EQ(params.count(kept), 1u) << kept;
  }
  std::set<std::string> searchable;
  for (const fhir::SearchParamDef* p : searchParamsFor("AuditEvent")) searchable.insert(p->code);
  EXPECT_EQ(searchable, (std::set<std::string>{"_id", "_lastUpdated", "action", "address", "agent", "agent-name",
                                               "altid", "date", "entity", "entity-type", "outcome", "patient",
                                               "policy", "site", "source", "subtype", "type"}));
  EXPECT_TRUE(definedButNotIndexed("AuditEvent", "agent-role"));
  EXPECT_FALSE(definedButNotIndexed("AuditEvent", "agent"));
  EXPECT_FALSE(definedButNotIndexed("AuditEvent", "colour"));
  EXPECT_FALSE(definedButNotIndexed("CarePlan", "status"));
  EXPECT_NE(findSearchParam("Provenance", "agent-role"), nullptr);  // other types keep every R4 parameter
}

TEST(Indexer, CarePlanExampleHasSubjectStatusAndCareTeamRows) {
  auto rows = indexText(readFile(PLANBRO_SHARED_DIR "/fhir-r4/examples/CarePlan-example.json"));
  auto subject = rowsOf(rows, "subject");
  ASSERT_EQ(subject.size(), 1u);
  EXPECT_EQ(subject[0].kind, IndexValueKind::kReference);
  EXPECT_EQ(subject[0].ref_type, "Patient");
  EXPECT_EQ(subject[0].ref_id, "example");
  // The multi-base `patient` parameter applies its CarePlan branch only.
  auto patient = rowsOf(rows, "patient");
  ASSERT_EQ(patient.size(), 1u);
  EXPECT_EQ(patient[0].ref_id, "example");
  auto status = rowsOf(rows, "status");
  ASSERT_EQ(status.size(), 1u);
  EXPECT_EQ(status[0].code, "active");
  EXPECT_EQ(status[0].system, "http://hl7.org/fhir/request-status");  // from the required binding
  EXPECT_EQ(rowsOf(rows, "_id").at(0).code, "example");
  // subject has a reference row, which is its presence: no presence row of its own.
  EXPECT_TRUE(rowsOf(rows, std::string("subject") + std::string(kPresentSuffix)).empty());
}

// A presence row only where a parameter's element gives no row of its value kind (issue 8: a row per present
// parameter made creates a fifth slower). The load benchmark's Patient has a value row in every parameter it has.
TEST(Indexer, PresenceRowsOnlyForElementsWithoutAValueRowOfTheirKind) {
  auto patient = indexText(R"({"resourceType":"Patient","active":true,"name":[{"use":"official","family":"Lastbenk",
    "given":["Kari","N1"]}],"gender":"female","birthDate":"1980-04-12",
    "telecom":[{"system":"phone","value":"+47 22 00 00 00","use":"home"}]})");
  for (const IndexRow& r : patient) EXPECT_FALSE(r.param.ends_with(kPresentSuffix)) << r.param;
  auto text_only = indexText(R"({"resourceType":"Observation","id":"o","status":"final","code":{"text":"apgar"},
    "contained":[{"resourceType":"Patient","id":"newborn"}],"subject":{"reference":"#newborn"},
    "valueQuantity":{"value":5,"unit":"mg"}})");
  EXPECT_EQ(rowsOf(text_only, std::string("code") + std::string(kPresentSuffix)).size(), 1u);     // :text rows only
  EXPECT_EQ(rowsOf(text_only, std::string("subject") + std::string(kPresentSuffix)).size(), 1u);  // contained
  EXPECT_TRUE(rowsOf(text_only, std::string("status") + std::string(kPresentSuffix)).empty());
  EXPECT_TRUE(rowsOf(text_only, std::string("value-quantity") + std::string(kPresentSuffix)).empty());
}

TEST(Indexer, PatientNamesAreCaseAndAccentFoldedButKeepNorwegianLetters) {
  auto rows = indexText(R"({"resourceType":"Patient","id":"p1","name":[{"family":"Ødegård","given":["Zoë","Per Ola"]}],
    "identifier":[{"system":"urn:oid:2.16.578.1.12.4.1.4.1","value":"15858512066"}],"birthDate":"1985-05",
    "telecom":[{"system":"phone","value":"+47 22 00 00 00"}],"gender":"male","active":true})");
  std::vector<std::string> names;
  for (const auto& r : rowsOf(rows, "name")) names.push_back(r.text);
  EXPECT_NE(std::find(names.begin(), names.end(), "ødegård"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "zoe"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "per ola"), names.end());
  auto exact = rowsOf(rows, "family:exact");
  ASSERT_EQ(exact.size(), 1u);
  EXPECT_EQ(exact[0].text, "Ødegård");
  auto id = rowsOf(rows, "identifier");
  ASSERT_EQ(id.size(), 1u);
  EXPECT_EQ(id[0].system, "urn:oid:2.16.578.1.12.4.1.4.1");
  EXPECT_EQ(id[0].code, "15858512066");
  auto birth = rowsOf(rows, "birthdate");
  ASSERT_EQ(birth.size(), 1u);
  EXPECT_EQ(birth[0].date_low, parseDateRange("1985-05-01")->low);
  EXPECT_EQ(birth[0].date_high, parseDateRange("1985-05-31")->high);
  EXPECT_EQ(rowsOf(rows, "phone").at(0).code, "+47 22 00 00 00");
  EXPECT_EQ(rowsOf(rows, "active").at(0).code, "true");
  EXPECT_EQ(rowsOf(rows, "gender").at(0).system, "http://hl7.org/fhir/administrative-gender");
}

TEST(Indexer, ReferenceIdentifierAbsoluteAndCanonicalReferences) {
  auto rows = indexText(R"({"resourceType":"CarePlan","id":"c1","status":"active","intent":"plan",
    "subject":{"identifier":{"system":"urn:oid:2.16.578.1.12.4.1.4.1","value":"15858512066"}},
    "careTeam":[{"reference":"http://other.example/fhir/CareTeam/t1"},{"reference":"CareTeam/t2/_history/3"}],
    "instantiatesCanonical":["http://example.org/PlanDefinition/p|1.0"]})");
  auto ident = rowsOf(rows, std::string("subject") + std::string(kIdentifierSuffix));
  ASSERT_EQ(ident.size(), 1u);
  EXPECT_EQ(ident[0].kind, IndexValueKind::kToken);
  EXPECT_EQ(ident[0].code, "15858512066");
  EXPECT_TRUE(rowsOf(rows, "subject").empty());
  auto team = rowsOf(rows, "care-team");
  ASSERT_EQ(team.size(), 2u);
  bool absolute = false, relative = false;
  for (const auto& r : team) {
    absolute |= r.text == "http://other.example/fhir/CareTeam/t1";
    relative |= r.ref_type == "CareTeam" && r.ref_id == "t2";
  }
  EXPECT_TRUE(absolute);
  EXPECT_TRUE(relative);
  EXPECT_EQ(rowsOf(rows, "instantiates-canonical").size(), 2u);  // with and without |version
}

TEST(Indexer, LastUpdatedComesFromTheStoreTimestampWhenGiven) {
  fhir::JsonDocument doc = parse(R"({"resourceType":"Goal","id":"g1","meta":{"lastUpdated":"2020-01-01T00:00:00Z"}})");
  IndexOptions options;
  options.last_updated = store::Timestamp(std::chrono::microseconds(1'700'000'000'123'456));
  auto rows = indexResource(doc.root(), nullptr, options);
  ASSERT_TRUE(rows.isOk());
  auto lu = rowsOf(*rows, "_lastUpdated");
  ASSERT_EQ(lu.size(), 1u);
  EXPECT_EQ(lu[0].date_low, 1'700'000'000'123'456);
  EXPECT_EQ(lu[0].date_high, 1'700'000'000'123'456);
}

TEST(Indexer, ObservationValueQuantityAndPeriodDates) {
  auto rows = indexText(R"({"resourceType":"Observation","id":"o1","status":"final","code":{"text":"x"},
    "effectivePeriod":{"start":"2013-04-02T09:30:10+01:00"},
    "valueQuantity":{"value":6.3,"unit":"mmol/l","system":"http://unitsofmeasure.org","code":"mmol/L"}})");
  auto date = rowsOf(rows, "date");
  ASSERT_EQ(date.size(), 1u);
  EXPECT_EQ(date[0].date_low, parseDateRange("2013-04-02T08:30:10Z")->low);
  EXPECT_EQ(date[0].date_high, std::numeric_limits<int64_t>::max());
  auto value = rowsOf(rows, "value-quantity");
  ASSERT_EQ(value.size(), 1u);
  EXPECT_DOUBLE_EQ(value[0].number, 6.3);
  // R4: `value||unit` matches the code or the human unit; the system qualifies the code only.
  auto unit = rowsOf(rows, std::string("value-quantity") + std::string(kUnitSuffix));
  ASSERT_EQ(unit.size(), 2u);
  std::set<std::pair<std::string, std::string>> units;
  for (const auto& u : unit) units.emplace(u.system, u.code);
  EXPECT_EQ(units, (std::set<std::pair<std::string, std::string>>{{"http://unitsofmeasure.org", "mmol/L"}, {"", "mmol/l"}}));
}

TEST(Indexer, RepeatingElementsUnderAsKeepEveryValue) {
  std::vector<IndexIssue> issues;
  auto rows = indexText(R"({"resourceType":"Observation","id":"bp","status":"final","code":{"text":"BP"},
    "component":[{"code":{"text":"sys"},"valueQuantity":{"value":120,"unit":"mmHg"}},
                 {"code":{"text":"dia"},"valueQuantity":{"value":80,"unit":"mmHg"}}]})", &issues);
  EXPECT_TRUE(issues.empty());
  EXPECT_EQ(rowsOf(rows, "component-value-quantity").size(), 2u);
  auto goal = indexText(R"({"resourceType":"Goal","id":"g","lifecycleStatus":"active","description":{"text":"x"},
    "subject":{"reference":"Patient/p"},"target":[{"dueDate":"2026-06-01"},{"dueDate":"2026-12-01"}]})", &issues);
  EXPECT_TRUE(issues.empty());
  EXPECT_EQ(rowsOf(goal, "target-date").size(), 2u);
}

TEST(Indexer, RejectsJsonWithoutAKnownResourceType) {
  fhir::JsonDocument doc = parse(R"({"resourceType":"NotAType"})");
  EXPECT_EQ(indexResource(doc.root()).status().code(), StatusCode::kInvalidArgument);
}

TEST(Indexer, ConcurrentIndexingGivesTheSameRows) {
  // A type no other test indexes, so the threads race to fill the expression cache.
  const std::string json = R"({"resourceType":"Flag","id":"f1","status":"active","code":{"text":"x"},
    "subject":{"reference":"Patient/p1"},"period":{"start":"2020"}})";
  std::vector<size_t> counts(4, 0);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < counts.size(); ++t) {
    threads.emplace_back([&, t] {
      fhir::JsonDocument doc = parse(json);
      for (int i = 0; i < 20; ++i) {
        auto rows = indexResource(doc.root());
        if (rows.isOk()) counts[t] = rows->size();
      }
    });
  }
  for (auto& th : threads) th.join();
  const size_t expected = indexText(json).size();
  EXPECT_GE(expected, 4u);  // _id, patient, subject, date
  for (size_t c : counts) EXPECT_EQ(c, expected);
}

TEST(Normalize, FoldsCaseAndAccentsKeepsAeOeAa) {
  EXPECT_EQ(normalizeString("  Åse   ØSTBY "), "åse østby");
  EXPECT_EQ(normalizeString("Æsop"), "æsop");
  EXPECT_EQ(normalizeString("José Müller Čapek"), "jose muller capek");
  EXPECT_EQ(normalizeString("A\xCC\x8A" "se"), "åse");       // decomposed Å
  EXPECT_EQ(normalizeString("e\xCC\x81" "ric"), "eric");     // decomposed é
}

TEST(DateRanges, PrecisionGivesInclusiveRanges) {
  auto year = parseDateRange("2026");
  ASSERT_TRUE(year);
  EXPECT_EQ(year->high - year->low + 1, 365LL * 86'400'000'000LL);
  auto month = parseDateRange("2024-02");
  ASSERT_TRUE(month);
  EXPECT_EQ(month->high - month->low + 1, 29LL * 86'400'000'000LL);
  auto second = parseDateRange("2026-03-05T10:00:00+01:00");
  ASSERT_TRUE(second);
  EXPECT_EQ(second->low, parseDateRange("2026-03-05T09:00:00Z")->low);
  EXPECT_EQ(second->high - second->low, 999'999);
  auto millis = parseDateRange("2026-03-05T10:00:00.123Z");
  ASSERT_TRUE(millis);
  EXPECT_EQ(millis->high - millis->low, 999);
  EXPECT_EQ(parseDateRange("2026-03-05T10:00:00")->low, parseDateRange("2026-03-05T10:00:00Z")->low);
  EXPECT_FALSE(parseDateRange("2026-13"));
  EXPECT_FALSE(parseDateRange("2026-02-30"));
  EXPECT_FALSE(parseDateRange("yesterday"));
}

// Outside probe (2026-12-07): a Patient of 400,000 distinct names (16 MB) made 1.1 GB of index rows and held the
// writer for a minute. The bound stops the walk at the first parameter past it, before any sort or store work.
TEST(Indexer, ARowBoundRefusesAResourceThatNamesTooManyValues) {
  std::string json = R"({"resourceType":"Patient","id":"many","name":[)";
  for (int i = 0; i < 2000; ++i) json += (i ? "," : "") + std::string(R"({"family":"f)") + std::to_string(i) + "\"}";
  json += "]}";
  fhir::JsonDocument doc = parse(json);
  auto unbounded = indexResource(doc.root());
  ASSERT_TRUE(unbounded.isOk()) << unbounded.status().message();
  EXPECT_GT(unbounded->size(), 2000u);

  IndexOptions bounded;
  bounded.max_rows = 1000;
  auto refused = indexResource(doc.root(), nullptr, bounded);
  ASSERT_FALSE(refused.isOk());
  EXPECT_EQ(refused.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(refused.status().message().find("limits.max_index_rows_per_resource"), std::string::npos);
  EXPECT_NE(refused.status().message().find("search parameter '"), std::string::npos) << refused.status().message();

  bounded.max_rows = unbounded->size() + 100;  // rows before de-duplication count, so leave room for duplicates
  auto fits = indexText(R"({"resourceType":"Patient","id":"few","name":[{"family":"a"}]})");
  auto small = indexResource(parse(R"({"resourceType":"Patient","id":"few","name":[{"family":"a"}]})").root(), nullptr,
                             bounded);
  ASSERT_TRUE(small.isOk());
  EXPECT_EQ(small->size(), fits.size());
}

}  // namespace
}  // namespace planbro::gateway::search
