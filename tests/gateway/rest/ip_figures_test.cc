// $ip-figures through REST: the hand-computed fixture of tests/data/ip-figures/ (README.md there explains every
// expected number), the parameters and their errors, the work bound, and that the work does not grow with data
// outside the figures' candidate sets.
#include <map>
#include <thread>

#include "planbro/gateway/ip/figures_operation.h"
#include "rest_fixture.h"

namespace planbro::gateway::rest::testing {
namespace {

using fhir::JsonValue;

// The clock the fixture's numbers assume: 15 October 2026, 12:00 UTC (the overdue reference date).
store::Timestamp fixtureNow() {
  using namespace std::chrono;
  return time_point_cast<microseconds>(sys_days(year(2026) / October / 15) + hours(12));
}

std::string fixturePath() { return std::string(PLANBRO_TEST_DATA_DIR) + "/ip-figures/fixture.json"; }

std::string_view str(const JsonValue* v) { return v && v->isString() ? v->text() : std::string_view(); }

// Every number of a figures Bundle, flattened: "<measure id>/<group>/<population>" and
// "<measure id>/<group>/<stratifier>/<stratum value or tertial|area>".
std::map<std::string, int64_t> flatten(const JsonValue& bundle) {
  std::map<std::string, int64_t> out;
  const JsonValue* entries = bundle.find("entry");
  for (const JsonValue& e : entries ? entries->items() : std::span<const JsonValue>{}) {
    const JsonValue* r = e.find("resource");
    if (!r) continue;
    std::string measure(str(r->find("measure")));
    measure = measure.substr(measure.rfind('/') + 1);
    const JsonValue* groups = r->find("group");
    for (const JsonValue& g : groups ? groups->items() : std::span<const JsonValue>{}) {
      std::string prefix = measure + "/" + std::string(str(g.find("code")->find("text")));
      for (const JsonValue& p : g.find("population")->items()) {
        out[prefix + "/" + std::string(str(p.find("code")->find("coding")->items()[0].find("code")))] =
            std::stoll(std::string(p.find("count")->text()));
      }
      const JsonValue* strats = g.find("stratifier");
      for (const JsonValue& s : strats ? strats->items() : std::span<const JsonValue>{}) {
        std::string sp = prefix + "/" + std::string(str(s.find("code")->items()[0].find("text")));
        for (const JsonValue& st : s.find("stratum")->items()) {
          std::string value;
          if (const JsonValue* v = st.find("value")) value = std::string(str(v->find("text")));
          if (const JsonValue* comps = st.find("component")) {
            for (const JsonValue& c : comps->items()) {
              if (!value.empty()) value += "|";
              value += std::string(str(c.find("value")->find("text")));
            }
          }
          out[sp + "/" + value] = std::stoll(std::string(st.find("population")->items()[0].find("count")->text()));
        }
      }
    }
  }
  return out;
}

// README.md's table, every number of it.
const std::map<std::string, int64_t>& expectedFigures() {
  static const std::map<std::string, int64_t> expected = {
      {"ip-patients-with-plan/patients-with-ip/initial-population", 7},
      {"ip-patients-with-plan/patients-with-ip/tertial/2026-T1", 3},
      {"ip-patients-with-plan/patients-with-ip/tertial/2026-T2", 5},
      {"ip-patients-with-plan/patients-with-ip/tertial/2026-T3", 7},
      {"ip-patients-with-plan/patients-with-ip/clinical-area/barnehabilitering", 1},
      {"ip-patients-with-plan/patients-with-ip/clinical-area/somatikk-rehabilitering", 2},
      {"ip-patients-with-plan/patients-with-ip/clinical-area/bup", 1},
      {"ip-patients-with-plan/patients-with-ip/clinical-area/vop", 1},
      {"ip-patients-with-plan/patients-with-ip/clinical-area/kommune", 1},
      {"ip-patients-with-plan/patients-with-ip/clinical-area/ikke-angitt", 1},
      {"ip-patients-with-plan/patients-with-ip/tertial-clinical-area/2026-T1|somatikk-rehabilitering", 1},
      {"ip-patients-with-plan/patients-with-ip/tertial-clinical-area/2026-T1|rus", 1},
      {"ip-patients-with-plan/patients-with-ip/tertial-clinical-area/2026-T1|kommune", 1},
      {"ip-patients-with-plan/patients-with-ip/tertial-clinical-area/2026-T2|somatikk-rehabilitering", 1},
      {"ip-patients-with-plan/patients-with-ip/tertial-clinical-area/2026-T2|bup", 1},
      {"ip-patients-with-plan/patients-with-ip/tertial-clinical-area/2026-T2|vop", 1},
      {"ip-patients-with-plan/patients-with-ip/tertial-clinical-area/2026-T2|kommune", 1},
      {"ip-patients-with-plan/patients-with-ip/tertial-clinical-area/2026-T2|ikke-angitt", 1},
      {"ip-patients-with-plan/patients-with-ip/tertial-clinical-area/2026-T3|barnehabilitering", 1},
      {"ip-patients-with-plan/patients-with-ip/tertial-clinical-area/2026-T3|somatikk-rehabilitering", 2},
      {"ip-patients-with-plan/patients-with-ip/tertial-clinical-area/2026-T3|bup", 1},
      {"ip-patients-with-plan/patients-with-ip/tertial-clinical-area/2026-T3|vop", 1},
      {"ip-patients-with-plan/patients-with-ip/tertial-clinical-area/2026-T3|kommune", 1},
      {"ip-patients-with-plan/patients-with-ip/tertial-clinical-area/2026-T3|ikke-angitt", 1},
      {"ip-finished-plans/patients-with-finished-ip/initial-population", 4},
      {"ip-finished-plans/patients-with-finished-ip/tertial/2026-T1", 1},
      {"ip-finished-plans/patients-with-finished-ip/tertial/2026-T2", 2},
      {"ip-finished-plans/patients-with-finished-ip/tertial/2026-T3", 4},
      {"ip-finished-plans/patients-with-finished-ip/clinical-area/barnehabilitering", 1},
      {"ip-finished-plans/patients-with-finished-ip/clinical-area/somatikk-rehabilitering", 2},
      {"ip-finished-plans/patients-with-finished-ip/clinical-area/vop", 1},
      {"ip-registered-active/registered-vs-active/denominator", 10},
      {"ip-registered-active/registered-vs-active/numerator", 7},
      {"ip-coordinator-only/coordinator-only/initial-population", 1},
      {"ip-edited-only-by-coordinator/edited-only-by-coordinator/denominator", 4},
      {"ip-edited-only-by-coordinator/edited-only-by-coordinator/numerator", 3},
      {"ip-overdue-evaluations/plans-revision-overdue/initial-population", 2},
      {"ip-overdue-evaluations/measures-evaluation-overdue/initial-population", 2},
      {"ip-initiated-active/initiated/initial-population", 7},
      {"ip-initiated-active/initiated/tertial/2026-T1", 3},
      {"ip-initiated-active/initiated/tertial/2026-T2", 2},
      {"ip-initiated-active/initiated/tertial/2026-T3", 2},
      {"ip-initiated-active/active/initial-population", 8},
      {"ip-initiated-active/active/tertial/2026-T1", 5},
      {"ip-initiated-active/active/tertial/2026-T2", 6},
      {"ip-initiated-active/active/tertial/2026-T3", 7},
      {"ip-active-by-source-system/active-plans-by-source-system/initial-population", 7},
      {"ip-active-by-source-system/active-plans-by-source-system/source-system/planbro", 1},
      {"ip-active-by-source-system/active-plans-by-source-system/source-system/gerica", 1},
      {"ip-active-by-source-system/active-plans-by-source-system/source-system/fasit-nav", 1},
      {"ip-active-by-source-system/active-plans-by-source-system/source-system/ikke-angitt", 4},
      {"ip-coordinators-by-organization/coordinators-by-organization/initial-population", 2},
      {"ip-coordinators-by-organization/coordinators-by-organization/organization/999900518", 1},
      {"ip-coordinators-by-organization/coordinators-by-organization/organization/999900704", 1},
      {"ip-coordinators-by-organization/coordinators-by-organization/organization/ikke-angitt", 1},
      {"ip-national-indicators/barnehabilitering/initial-population", 1},
      {"ip-national-indicators/barnehabilitering/tertial/2026-T1", 0},
      {"ip-national-indicators/barnehabilitering/tertial/2026-T2", 0},
      {"ip-national-indicators/barnehabilitering/tertial/2026-T3", 1},
      {"ip-national-indicators/adhd/initial-population", 1},
      {"ip-national-indicators/adhd/tertial/2026-T1", 0},
      {"ip-national-indicators/adhd/tertial/2026-T2", 0},
      {"ip-national-indicators/adhd/tertial/2026-T3", 1},
      {"ip-national-indicators/schizofreni/initial-population", 1},
      {"ip-national-indicators/schizofreni/tertial/2026-T1", 0},
      {"ip-national-indicators/schizofreni/tertial/2026-T2", 1},
      {"ip-national-indicators/schizofreni/tertial/2026-T3", 1},
  };
  return expected;
}

class IpFigures : public RestServerTest {
 protected:
  RestOptions restOptions() override {
    RestOptions o;
    o.clock = [] { return fixtureNow(); };
    auto registry = std::make_shared<OperationRegistry>();
    EXPECT_TRUE(registry->add(ip::makeIpFiguresOperation(figuresOptions())).isOk());
    o.operations = std::move(registry);
    return o;
  }
  virtual ip::FiguresOptions figuresOptions() { return {}; }

  std::string idOf(const std::string& query) {
    HttpResult r = get(query);
    EXPECT_EQ(r.status, 200) << query << " " << r.body;
    const JsonValue* entries = r.root().find("entry");
    if (!entries || entries->items().size() != 1) {
      ADD_FAILURE() << query << " does not find exactly one resource";
      return {};
    }
    return std::string(str(entries->items()[0].find("resource")->find("id")));
  }

  // Loads the fixture and the one Provenance it cannot hold (a versioned target needs the plan's id).
  void loadFixture() {
    HttpResult r = post("/", readFile(fixturePath()));
    ASSERT_EQ(r.status, 200) << r.body;
    const std::string h = idOf("/CarePlan?identifier=urn:planbro:ip-figures-fixture|H");
    const std::string c1 = idOf("/Practitioner?identifier=urn:oid:2.16.578.1.12.4.1.4.4|9990001");
    ASSERT_FALSE(h.empty());
    ASSERT_FALSE(c1.empty());
    HttpResult p = post("/Provenance",
                        R"({"resourceType":"Provenance","target":[{"reference":"CarePlan/)" + h +
                            R"(/_history/1"}],"recorded":"2026-09-20T10:00:00Z","activity":{"coding":[{"system":)"
                            R"("http://terminology.hl7.org/CodeSystem/v3-DataOperation","code":"UPDATE"}]},)"
                            R"("agent":[{"who":{"reference":"Practitioner/)" + c1 + R"("}}]})");
    ASSERT_EQ(p.status, 201) << p.body;
  }

  void expectFixtureFigures(const HttpResult& r) {
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.str("resourceType"), "Bundle");
    EXPECT_EQ(r.str("type"), "collection");
    const JsonValue* entries = r.root().find("entry");
    ASSERT_NE(entries, nullptr);
    EXPECT_EQ(entries->items().size(), 10u);
    for (const JsonValue& e : entries->items()) {
      const JsonValue* report = e.find("resource");
      EXPECT_EQ(str(report->find("resourceType")), "MeasureReport");
      EXPECT_EQ(str(report->find("type")), "summary");
      EXPECT_EQ(str(report->find("period")->find("start")), "2026-01-01");
      EXPECT_EQ(str(report->find("period")->find("end")), "2026-12-31");
      EXPECT_TRUE(str(report->find("measure")).starts_with("http://planbro.no/fhir/Measure/ip-"));
    }
    // Every number, and no number the table does not have.
    EXPECT_EQ(flatten(r.root()), expectedFigures());
  }
};

TEST_P(IpFigures, ReproducesTheHandComputedFixture) {
  loadFixture();
  expectFixtureFigures(get("/$ip-figures?periodStart=2026-01-01&periodEnd=2026-12-31"));
}

TEST_P(IpFigures, PostWithParametersAndTheDefaultPeriodGiveTheSameFigures) {
  loadFixture();
  expectFixtureFigures(post("/$ip-figures",
                            R"({"resourceType":"Parameters","parameter":[{"name":"periodStart","valueDate":"2026"},)"
                            R"({"name":"periodEnd","valueDate":"2026-12"}]})"));
  // Without parameters: the current year by the injected clock (2026).
  expectFixtureFigures(get("/$ip-figures"));
}

TEST_P(IpFigures, APeriodEndingEarlierCutsTheTertialsThere) {
  loadFixture();
  HttpResult r = get("/$ip-figures?periodStart=2026-01-01&periodEnd=2026-04-30");
  ASSERT_EQ(r.status, 200) << r.body;
  auto f = flatten(r.root());
  EXPECT_EQ(f["ip-patients-with-plan/patients-with-ip/tertial/2026-T1"], 3);
  EXPECT_EQ(f.count("ip-patients-with-plan/patients-with-ip/tertial/2026-T2"), 0u);
  // Registered: A, B, C, D, E (overlapping Jan–Apr) and G (no period); F, H, L, M start later, I is entered-in-error.
  EXPECT_EQ(f["ip-registered-active/registered-vs-active/denominator"], 6);
  // The reference date is now the period end (30 April): only F's revision (not active) and A's March measure
  // (not in the plan) are before it.
  EXPECT_EQ(f["ip-overdue-evaluations/plans-revision-overdue/initial-population"], 0);
  EXPECT_EQ(f["ip-overdue-evaluations/measures-evaluation-overdue/initial-population"], 0);
}

// GW-67: persist=true stores each report under a stable id per measure and period; re-running the period after a
// late write is a new version of the same report, with a note of what changed, and the first figures stay readable.
TEST_P(IpFigures, PersistedFiguresAreRestatedAsNewVersionsAndKeepTheirHistory) {
  loadFixture();
  const std::string body =
      R"({"resourceType":"Parameters","parameter":[{"name":"periodStart","valueDate":"2026-01-01"},)"
      R"({"name":"periodEnd","valueDate":"2026-12-31"},{"name":"persist","valueBoolean":true}]})";
  HttpResult first = post("/$ip-figures", body);
  expectFixtureFigures(first);
  const std::string id = "ip-finished-plans-20260101-20261231";
  bool found = false;
  for (const JsonValue& e : first.root().find("entry")->items()) {
    const JsonValue* r = e.find("resource");
    EXPECT_TRUE(str(e.find("fullUrl")).ends_with("/MeasureReport/" + std::string(str(r->find("id"))))) << first.body;
    EXPECT_EQ(r->find("extension"), nullptr);  // a first issue restates nothing
    found = found || str(r->find("id")) == id;
  }
  EXPECT_TRUE(found) << first.body;
  HttpResult v1 = get("/MeasureReport/" + id);
  ASSERT_EQ(v1.status, 200) << v1.body;
  EXPECT_EQ(str(v1.root().find("meta")->find("versionId")), "1");
  EXPECT_NE(v1.body.find("ip-finished-plans|2026-01-01|2026-12-31"), std::string::npos) << v1.body;

  // A late write: P12's finished plan from March, owned by BUP, registered after the first figures.
  const std::string p12 = idOf("/Patient?identifier=urn:oid:2.16.578.1.12.4.1.4.1|12818211242");
  const std::string bup = idOf("/Organization?identifier=urn:oid:2.16.578.1.12.4.1.4.101|999900208");
  ASSERT_EQ(post("/CarePlan", R"({"resourceType":"CarePlan","extension":[{"url":"http://planbro.no/fhir/StructureDefinition/ip-plan-lifecycle",)"
                              R"("valueCoding":{"system":"http://planbro.no/fhir/CodeSystem/ip-plan-lifecycle","code":"finished"}}],)"
                              R"("status":"active","intent":"plan","category":[{"coding":[{"system":"http://planbro.no/fhir/CodeSystem/ip-category",)"
                              R"("code":"individuell-plan"}]}],"subject":{"reference":"Patient/)" + p12 +
                              R"(","identifier":{"system":"urn:oid:2.16.578.1.12.4.1.4.1","value":"12818211242"}},)"
                              R"("author":{"reference":"Organization/)" + bup + R"("},"period":{"start":"2026-03-01"}})").status, 201);
  HttpResult second = post("/$ip-figures", body);
  ASSERT_EQ(second.status, 200) << second.body;
  auto f = flatten(second.root());
  EXPECT_EQ(f["ip-finished-plans/patients-with-finished-ip/initial-population"], 5);
  HttpResult v2 = get("/MeasureReport/" + id);
  ASSERT_EQ(v2.status, 200) << v2.body;
  EXPECT_EQ(str(v2.root().find("meta")->find("versionId")), "2");
  const JsonValue* ext = v2.root().find("extension");
  ASSERT_NE(ext, nullptr) << v2.body;
  EXPECT_EQ(str(ext->items()[0].find("url")), ip::kFiguresDataQualityUrl);
  const std::string note(str(ext->items()[0].find("valueString")));
  EXPECT_NE(note.find("replaces version 1"), std::string::npos) << note;
  EXPECT_NE(note.find("patients-with-finished-ip/initial-population 4 → 5"), std::string::npos) << note;
  EXPECT_NE(note.find("patients-with-finished-ip/clinical-area/bup (none) → 1"), std::string::npos) << note;
  EXPECT_NE(note.find("patients-with-finished-ip/tertial/2026-T1 1 → 2"), std::string::npos) << note;
  // A figure the late write did not touch says so.
  HttpResult coord = get("/MeasureReport/ip-coordinator-only-20260101-20261231");
  ASSERT_EQ(coord.status, 200) << coord.body;
  EXPECT_NE(coord.body.find("No number changed"), std::string::npos) << coord.body;

  // The first figures stay readable: the history holds both versions, and version 1 has the old count.
  HttpResult history = get("/MeasureReport/" + id + "/_history");
  ASSERT_EQ(history.status, 200) << history.body;
  EXPECT_EQ(history.root().find("entry")->items().size(), 2u);
  HttpResult old = get("/MeasureReport/" + id + "/_history/1");
  ASSERT_EQ(old.status, 200) << old.body;
  {
    const std::string wrapped = R"({"resourceType":"Bundle","entry":[{"resource":)" + old.body + "}]}";
    auto doc = fhir::JsonDocument::parse(wrapped);
    ASSERT_TRUE(doc.isOk());
    EXPECT_EQ(flatten(doc->root())["ip-finished-plans/patients-with-finished-ip/initial-population"], 4);
  }
  // Without persist nothing new is stored.
  ASSERT_EQ(get("/$ip-figures?periodStart=2026-01-01&periodEnd=2026-12-31").status, 200);
  EXPECT_EQ(str(get("/MeasureReport/" + id).root().find("meta")->find("versionId")), "2");
}

// Two first runs of one period at once: both find no report; the one that loses the race runs again as the
// restatement, so both answer 200 and the report has exactly two versions (never a 500, never a lost issue).
TEST_P(IpFigures, ConcurrentFirstPersistsBothLand) {
  loadFixture();
  const std::string body =
      R"({"resourceType":"Parameters","parameter":[{"name":"periodStart","valueDate":"2026"},)"
      R"({"name":"periodEnd","valueDate":"2026"},{"name":"persist","valueBoolean":true}]})";
  int status[2] = {0, 0};
  std::thread a([&] { status[0] = post("/$ip-figures", body).status; });
  std::thread b([&] { status[1] = post("/$ip-figures", body).status; });
  a.join();
  b.join();
  EXPECT_EQ(status[0], 200);
  EXPECT_EQ(status[1], 200);
  HttpResult history = get("/MeasureReport/ip-patients-with-plan-20260101-20261231/_history");
  ASSERT_EQ(history.status, 200) << history.body;
  EXPECT_EQ(history.root().find("entry")->items().size(), 2u);
}

TEST_P(IpFigures, PersistIsAPostWithABoolean) {
  // A GET must not change state; persist is true or false, once.
  for (const char* q : {"persist=true", "persist=yes", "persist=false&persist=false"}) {
    HttpResult r = get(std::string("/$ip-figures?") + q);
    EXPECT_EQ(r.status, 400) << q << " " << r.body;
    EXPECT_NE(r.body.find("persist"), std::string::npos) << q;
  }
  HttpResult r = post("/$ip-figures", R"({"resourceType":"Parameters","parameter":[{"name":"persist","valueString":"true"}]})");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(get("/$ip-figures?persist=false").status, 200);
  EXPECT_EQ(get("/MeasureReport?_count=1").root().find("entry"), nullptr);
}

TEST_P(IpFigures, BadParametersAreTheClientsError) {
  for (const char* q : {"periodStart=2026-13-01", "periodStart=2026-02-30", "periodStart=26", "periodEnd=2026-01-01T00:00:00Z",
                        "periodStart=2026-05-01&periodEnd=2026-04-30", "periodStart=2000&periodEnd=2026",
                        "periodStart=2026&periodStart=2026", "subject=Patient/x"}) {
    HttpResult r = get(std::string("/$ip-figures?") + q);
    EXPECT_EQ(r.status, 400) << q << " " << r.body;
    EXPECT_EQ(r.str("resourceType"), "OperationOutcome") << q;
  }
  for (const char* body : {R"({"resourceType":"Patient"})", R"({"resourceType":"Parameters","parameter":[{"name":"measure","valueString":"x"}]})",
                           R"({"resourceType":"Parameters","parameter":[{"name":"periodStart","valueString":"2026"}]})", "{not json"}) {
    HttpResult r = post("/$ip-figures", body);
    EXPECT_EQ(r.status, 400) << body << " " << r.body;
    EXPECT_EQ(r.str("resourceType"), "OperationOutcome") << body;
  }
  EXPECT_EQ(request(port_, "DELETE", "/$ip-figures").status, 405);
}

TEST_P(IpFigures, CapabilityStatementListsTheOperation) {
  HttpResult r = get("/metadata");
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("\"definition\":\"http://planbro.no/fhir/OperationDefinition/ip-figures\""), std::string::npos);
}

// The figures read only their candidate sets: CarePlans of other categories or outside the period, and other
// resource types, add no work at all.
TEST_P(IpFigures, WorkDoesNotGrowWithDataOutsideTheCandidates) {
  loadFixture();
  auto period = ip::figuresPeriod("2026-01-01", "2026-12-31", fixtureNow(), {});
  ASSERT_TRUE(period.isOk());
  auto before = ip::computeFigures(*store_, *period, fixtureNow, {});
  ASSERT_TRUE(before.isOk()) << before.status().message();
  const std::string patient = idOf("/Patient?identifier=urn:oid:2.16.578.1.12.4.1.4.1|" +
                                   std::string("01828110175"));
  for (int i = 0; i < 60; ++i) {
    ASSERT_EQ(post("/CarePlan", R"({"resourceType":"CarePlan","status":"active","intent":"plan","subject":{"reference":"Patient/)" +
                                    patient + R"("},"period":{"start":"2026-02-01"}})").status, 201);
    ASSERT_EQ(post("/CarePlan", R"({"resourceType":"CarePlan","status":"active","intent":"plan","category":[{"coding":[{"system":)"
                                R"("http://planbro.no/fhir/CodeSystem/ip-category","code":"individuell-plan"}]}],)"
                                R"("subject":{"reference":"Patient/)" + patient + R"("},"period":{"start":"2020-01-01","end":"2021-12-31"}})").status, 201);
    ASSERT_EQ(post("/Observation", R"({"resourceType":"Observation","status":"final","code":{"text":"x"}})").status, 201);
  }
  auto after = ip::computeFigures(*store_, *period, fixtureNow, {});
  ASSERT_TRUE(after.isOk()) << after.status().message();
  EXPECT_EQ(after->work_rows, before->work_rows);
  EXPECT_LT(before->work_rows, 200u);  // 49 fixture resources: a few index pages and one read per candidate
}

class IpFiguresBudget : public IpFigures {
 protected:
  ip::FiguresOptions figuresOptions() override {
    ip::FiguresOptions o;
    o.max_work_rows = 10;
    return o;
  }
};

TEST_P(IpFiguresBudget, BeyondTheWorkBudgetIsTooCostlyNotAFullLoad) {
  loadFixture();
  HttpResult r = get("/$ip-figures?periodStart=2026-01-01&periodEnd=2026-12-31");
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_NE(r.body.find("too-costly"), std::string::npos);
  EXPECT_NE(r.body.find("ip_figures.max_work_rows"), std::string::npos);
}

// A policy whose scopes do not cover the figures: the interaction is refused before the parameters are read.
class DenyFigures : public AccessPolicy {
 public:
  Status decide(const http::RequestContext&, const AccessSubject&) const override { return Status::ok(); }
  Status permitInteraction(const http::RequestContext&, const security::InteractionSubject& subject) const override {
    if (subject.interaction == "operation-ip-figures") return Status(StatusCode::kPermissionDenied, "no scope");
    return Status::ok();
  }
};

// The figures fixture with `Policy` as the access policy.
template <class Policy>
class IpFiguresUnder : public IpFigures {
 protected:
  RestOptions restOptions() override {
    RestOptions o = IpFigures::restOptions();
    o.access = std::make_shared<Policy>();
    return o;
  }
};

using IpFiguresDenied = IpFiguresUnder<DenyFigures>;

TEST_P(IpFiguresDenied, TheScopeGateRunsBeforeTheParametersAreRead) {
  // Bad parameters and a body that is not JSON: an unauthorised client learns nothing about either.
  EXPECT_EQ(get("/$ip-figures?periodStart=not-a-date").status, 403);
  HttpResult r = post("/$ip-figures", "{not json");
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(r.str("resourceType"), "OperationOutcome");
}

// A reader of the figures without the right to write MeasureReports: the figures are answered, persist is refused
// before anything is written.
class ReadOnlyFigures : public AccessPolicy {
 public:
  Status decide(const http::RequestContext&, const AccessSubject& subject) const override {
    if (subject.action == AccessAction::kUpdate || subject.action == AccessAction::kCreate) {
      return Status(StatusCode::kPermissionDenied, "read only");
    }
    return Status::ok();
  }
};

using IpFiguresReadOnly = IpFiguresUnder<ReadOnlyFigures>;

TEST_P(IpFiguresReadOnly, PersistNeedsTheUpdateRightAndWritesNothingWithoutIt) {
  EXPECT_EQ(get("/$ip-figures").status, 200);
  HttpResult r = post("/$ip-figures", R"({"resourceType":"Parameters","parameter":[{"name":"persist","valueBoolean":true}]})");
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(r.str("resourceType"), "OperationOutcome");
  EXPECT_EQ(get("/MeasureReport?_count=1").root().find("entry"), nullptr);
}

INSTANTIATE_TEST_SUITE_P(Engines, IpFigures, ::testing::ValuesIn(engines()),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });
INSTANTIATE_TEST_SUITE_P(Engines, IpFiguresBudget, ::testing::ValuesIn(engines()),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

INSTANTIATE_TEST_SUITE_P(Engines, IpFiguresDenied, ::testing::ValuesIn(engines()),
                         [](const auto& info) { return info.param; });
INSTANTIATE_TEST_SUITE_P(Engines, IpFiguresReadOnly, ::testing::ValuesIn(engines()),
                         [](const auto& info) { return info.param; });


}  // namespace
}  // namespace planbro::gateway::rest::testing
