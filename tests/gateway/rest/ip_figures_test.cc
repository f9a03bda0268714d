// $ip-figures through REST: the hand-computed fixture of tests/data/ip-figures/ (README.md there explains every
// expected number), the parameters and their errors, the work bound, and that the work does not grow with data
// outside the figures' candidate sets.
#include <map>

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
      {"ip-patients-with-plan/patients-with-ip/initial-population", 6},
      {"ip-patients-with-plan/patients-with-ip/tertial/2026-T1", 3},
      {"ip-patients-with-plan/patients-with-ip/tertial/2026-T2", 5},
      {"ip-patients-with-plan/patients-with-ip/tertial/2026-T3", 6},
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
      {"ip-patients-with-plan/patients-with-ip/tertial-clinical-area/2026-T3|somatikk-rehabilitering", 2},
      {"ip-patients-with-plan/patients-with-ip/tertial-clinical-area/2026-T3|bup", 1},
      {"ip-patients-with-plan/patients-with-ip/tertial-clinical-area/2026-T3|vop", 1},
      {"ip-patients-with-plan/patients-with-ip/tertial-clinical-area/2026-T3|kommune", 1},
      {"ip-patients-with-plan/patients-with-ip/tertial-clinical-area/2026-T3|ikke-angitt", 1},
      {"ip-finished-plans/patients-with-finished-ip/initial-population", 3},
      {"ip-finished-plans/patients-with-finished-ip/tertial/2026-T1", 1},
      {"ip-finished-plans/patients-with-finished-ip/tertial/2026-T2", 2},
      {"ip-finished-plans/patients-with-finished-ip/tertial/2026-T3", 3},
      {"ip-finished-plans/patients-with-finished-ip/clinical-area/somatikk-rehabilitering", 2},
      {"ip-finished-plans/patients-with-finished-ip/clinical-area/vop", 1},
      {"ip-registered-active/registered-vs-active/denominator", 9},
      {"ip-registered-active/registered-vs-active/numerator", 6},
      {"ip-coordinator-only/coordinator-only/initial-population", 1},
      {"ip-edited-only-by-coordinator/edited-only-by-coordinator/denominator", 4},
      {"ip-edited-only-by-coordinator/edited-only-by-coordinator/numerator", 3},
      {"ip-overdue-evaluations/plans-revision-overdue/initial-population", 2},
      {"ip-overdue-evaluations/measures-evaluation-overdue/initial-population", 2},
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
    EXPECT_EQ(entries->items().size(), 6u);
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
  // Registered: A, B, C, D, E (overlapping Jan–Apr) and G (no period); F, H, L start later, I is entered-in-error.
  EXPECT_EQ(f["ip-registered-active/registered-vs-active/denominator"], 6);
  // The reference date is now the period end (30 April): only F's revision (not active) and A's March measure
  // (not in the plan) are before it.
  EXPECT_EQ(f["ip-overdue-evaluations/plans-revision-overdue/initial-population"], 0);
  EXPECT_EQ(f["ip-overdue-evaluations/measures-evaluation-overdue/initial-population"], 0);
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

class IpFiguresDenied : public IpFigures {
 protected:
  RestOptions restOptions() override {
    RestOptions o = IpFigures::restOptions();
    o.access = std::make_shared<DenyFigures>();
    return o;
  }
};

TEST_P(IpFiguresDenied, TheScopeGateRunsBeforeTheParametersAreRead) {
  // Bad parameters and a body that is not JSON: an unauthorised client learns nothing about either.
  EXPECT_EQ(get("/$ip-figures?periodStart=not-a-date").status, 403);
  HttpResult r = post("/$ip-figures", "{not json");
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(r.str("resourceType"), "OperationOutcome");
}

INSTANTIATE_TEST_SUITE_P(Engines, IpFigures, ::testing::ValuesIn(engines()),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });
INSTANTIATE_TEST_SUITE_P(Engines, IpFiguresBudget, ::testing::ValuesIn(engines()),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

INSTANTIATE_TEST_SUITE_P(Engines, IpFiguresDenied, ::testing::ValuesIn(engines()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace planbro::gateway::rest::testing
