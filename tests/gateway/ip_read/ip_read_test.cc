// Reading the individual plan through the REST API: $ip-status, $ip-deadlines, the conformance resources served
// read-only from the package, and the operation registry they are routed by. The store holds the IP package's
// example plan (conformance/ip/package/example/), loaded as one transaction; the clock is injected.

#include <atomic>
#include <mutex>
#include <set>
#include <chrono>
#include <filesystem>

#include "../rest/rest_fixture.h"
#include "../../support/ip_examples.h"
#include "planbro/fhir-model/norwegian_ids.h"
#include "planbro/gateway/ip/conformance_catalog.h"
#include "planbro/gateway/ip/ip_read_operations.h"
#include "planbro/gateway/ip/plan_narrative_stage.h"
#include "planbro/fhir-model/validator.h"
#include "planbro/gateway/rest/serve_setup.h"
#include "planbro/gateway/serve.h"

namespace planbro::gateway::rest::testing {
namespace {

const std::string kPackageDir = std::string(PLANBRO_TEST_DATA_DIR) + "/../../conformance/ip/package";
constexpr const char* kKariFnr = "15038540189";
constexpr const char* kFnrSystem = "urn:oid:2.16.578.1.12.4.1.4.1";
// The current coordinator's HPR number in the examples, as $ip-status answers it.
constexpr const char* kSiriHpr = R"({"system":"urn:oid:2.16.578.1.12.4.1.4.4","value":"9144900"})";

store::Timestamp day(int y, unsigned m, unsigned d) {
  return std::chrono::time_point_cast<std::chrono::microseconds>(
      std::chrono::sys_days(std::chrono::year_month_day(std::chrono::year(y), std::chrono::month(m), std::chrono::day(d))));
}

// A valid fødselsnummer other than the examples' (the first nine-digit prefix from `seed` with a valid check pair).
std::string otherFnr(int seed) {
  for (int i = 0; i < 1000; ++i) {
    char nine[16];
    std::snprintf(nine, sizeof nine, "0101904%02d", (seed * 7 + i) % 100);
    if (auto full = fhir::no::withCheckDigits(nine)) return *full;
  }
  return {};
}

std::string statusBody(const std::string& fnr, const std::string& system = kFnrSystem) {
  return R"({"resourceType":"Parameters","parameter":[{"name":"identifier","valueIdentifier":{"system":")" + system +
         R"(","value":")" + fnr + R"("}}]})";
}

// The parameters named `name` of a Parameters resource.
std::vector<const fhir::JsonValue*> parametersNamed(const fhir::JsonValue& parameters, std::string_view name) {
  std::vector<const fhir::JsonValue*> out;
  const fhir::JsonValue* list = parameters.find("parameter");
  for (const fhir::JsonValue& p : list ? list->items() : std::span<const fhir::JsonValue>{}) {
    const fhir::JsonValue* n = p.find("name");
    if (n && n->text() == name) out.push_back(&p);
  }
  return out;
}

std::string partText(const fhir::JsonValue& parameter, std::string_view name, std::string_view value_key) {
  const fhir::JsonValue* parts = parameter.find("part");
  for (const fhir::JsonValue& p : parts ? parts->items() : std::span<const fhir::JsonValue>{}) {
    const fhir::JsonValue* n = p.find("name");
    if (!n || n->text() != name) continue;
    const fhir::JsonValue* v = p.find(value_key);
    if (v && v->isString()) return std::string(v->text());
    if (v && v->isBool()) return v->boolean() ? "true" : "false";
    if (v) return fhir::writeJson(*v);
  }
  return {};
}

// A second system-level operation beside the IP ones, as another area ($ip-figures) would add it.
class EchoOperation : public Operation {
 public:
  std::string_view name() const override { return "test-echo"; }
  OperationLevel level() const override { return OperationLevel::kSystem; }
  bool allowsGet() const override { return true; }
  std::string_view definitionUrl() const override { return "http://planbro.test/OperationDefinition/test-echo"; }
  Result<OperationResult> invoke(const OperationCall& call, fhir::OperationOutcome&) const override {
    std::string value = call.queryParam("say") ? *call.queryParam("say") : std::string();
    std::string out = R"({"resourceType":"Parameters","parameter":[{"name":"said","valueString":)";
    fhir::writeJsonString(value, out);
    return OperationResult{200, out + "}]}"};
  }
};

// Denies reads and search results of the types in `denied` (for the tests that the operations respect access).
class DenyTypes : public AccessPolicy {
 public:
  Status decide(const http::RequestContext&, const AccessSubject& subject) const override {
    std::lock_guard lock(mutex_);
    if (denied_.contains(std::string(subject.type))) return Status(StatusCode::kPermissionDenied, "denied");
    return Status::ok();
  }
  void deny(std::string type) {
    std::lock_guard lock(mutex_);
    denied_.insert(std::move(type));
  }

 private:
  mutable std::mutex mutex_;
  std::set<std::string> denied_;
};

// Small enough for a test to cross: the examples hold two IP plans.
constexpr size_t kTestDeadlinesMaxPlans = 4;

class IpRead : public RestServerTest {
 protected:
  RestOptions restOptions() override {
    RestOptions o;
    o.clock = [this] { return store::Timestamp(std::chrono::microseconds(now_us_.load())); };
    o.access = access_;
    auto registry = std::make_shared<OperationRegistry>();
    ip::IpReadOptions ip_read;
    ip_read.deadlines_max_plans = kTestDeadlinesMaxPlans;
    EXPECT_TRUE(ip::registerIpReadOperations(*registry, ip_read).isOk());
    EXPECT_TRUE(registry->add(std::make_shared<EchoOperation>()).isOk());
    o.operations = registry;
    auto catalog = ip::ConformanceCatalog::loadDirectory(kPackageDir);
    EXPECT_TRUE(catalog.isOk()) << catalog.status().message();
    if (catalog.isOk()) o.conformance = *catalog;
    o.writer.transform = ip::makePlanNarrativeTransform(o.conformance);
    o.presenter = ip::makePlanNarrativePresenter(o.clock, o.conformance);
    return o;
  }
  void setToday(store::Timestamp t) { now_us_ = t.time_since_epoch().count(); }

  // The package's examples as one transaction of PUTs (they reference each other in cycles).
  void loadExamples() {
    HttpResult r = post("/", planbro::testing::ipExamplesTransaction());
    ASSERT_EQ(r.status, 200) << r.body.substr(0, 2000);
  }

  HttpResult ipStatus(const std::string& body) { return post("/Patient/$ip-status", body); }

  std::atomic<int64_t> now_us_{day(2026, 4, 1).time_since_epoch().count()};
  std::shared_ptr<DenyTypes> access_ = std::make_shared<DenyTypes>();
};

std::string narrativeOf(const HttpResult& r);

// ---------------------------------------------------------------------------------------------------------------
// $ip-status

TEST_P(IpRead, IpStatusAnswersThePlanItsStatusOwnerAndCoordinatorWithContactDetails) {
  loadExamples();
  HttpResult r = ipStatus(statusBody(kKariFnr));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.str("resourceType"), "Parameters");
  const fhir::JsonValue& p = r.root();
  ASSERT_EQ(parametersNamed(p, "hasPlan").size(), 1u);
  EXPECT_TRUE(parametersNamed(p, "hasPlan")[0]->find("valueBoolean")->boolean());
  ASSERT_EQ(parametersNamed(p, "plan").size(), 1u);
  EXPECT_EQ(parametersNamed(p, "plan")[0]->find("valueReference")->find("reference")->text(), "CarePlan/ip-example-careplan");
  ASSERT_EQ(parametersNamed(p, "status").size(), 1u);
  EXPECT_EQ(parametersNamed(p, "status")[0]->find("valueCoding")->find("code")->text(), "finished");
  EXPECT_EQ(parametersNamed(p, "nextRevision")[0]->find("valueDate")->text(), "2026-09-01");
  EXPECT_EQ(parametersNamed(p, "period")[0]->find("valuePeriod")->find("start")->text(), "2026-03-01");
  ASSERT_EQ(parametersNamed(p, "owner").size(), 1u);
  EXPECT_EQ(partText(*parametersNamed(p, "owner")[0], "name", "valueString"), "Bydel Eksempel, koordinerende enhet");
  // On 1 April the hospital coordinator's period (to 31 March) is over: one coordinator, the municipal one.
  auto coordinators = parametersNamed(p, "coordinator");
  ASSERT_EQ(coordinators.size(), 1u) << r.body;
  EXPECT_EQ(partText(*coordinators[0], "name", "valueString"), "Siri Koordinator");
  EXPECT_NE(partText(*coordinators[0], "telecom", "valueContactPoint").find("+47 99 99 99 02"), std::string::npos);
  EXPECT_NE(partText(*coordinators[0], "practitioner", "valueReference").find("Practitioner/ip-example-practitioner-coordinator"),
            std::string::npos);
  // The numbers a record system addresses and looks people up by (GW-04): the coordinator's HPR number from the
  // Practitioner, the owner's organisasjonsnummer; neither has a HER-id in the examples.
  EXPECT_EQ(partText(*coordinators[0], "hprNumber", "valueIdentifier"), kSiriHpr) << r.body;
  EXPECT_EQ(partText(*coordinators[0], "herId", "valueIdentifier"), "");
  EXPECT_EQ(partText(*parametersNamed(p, "owner")[0], "organizationNumber", "valueIdentifier"),
            R"({"system":"urn:oid:2.16.578.1.12.4.1.4.101","value":"974000008"})");
  EXPECT_EQ(partText(*parametersNamed(p, "owner")[0], "herId", "valueIdentifier"), "");
}

TEST_P(IpRead, ACoordinatorWithoutAnHprNumberIsAnsweredWithTheRest) {
  loadExamples();
  ASSERT_EQ(put("/Practitioner/ip-example-practitioner-coordinator",
                R"({"resourceType":"Practitioner","id":"ip-example-practitioner-coordinator",)"
                R"("name":[{"family":"Koordinator","given":["Siri"]}],"telecom":[{"system":"phone","value":"+47 99 99 99 02"}]})")
                .status,
            200);
  HttpResult r = ipStatus(statusBody(kKariFnr));
  ASSERT_EQ(r.status, 200) << r.body;
  auto coordinators = parametersNamed(r.root(), "coordinator");
  ASSERT_EQ(coordinators.size(), 1u) << r.body;
  EXPECT_EQ(partText(*coordinators[0], "name", "valueString"), "Siri Koordinator");
  EXPECT_NE(partText(*coordinators[0], "telecom", "valueContactPoint").find("+47 99 99 99 02"), std::string::npos);
  EXPECT_EQ(partText(*coordinators[0], "hprNumber", "valueIdentifier"), "") << r.body;
}

// A coordinator named by a PractitionerRole at a health trust: the role's HER-id and telecom, the person's HPR
// number, the organisation's name, number, HER-id and telecom; each only where the requester may read its source.
TEST_P(IpRead, ACoordinatorRoleBringsItsHerIdAndItsOrganisationsContactDetails) {
  loadExamples();
  ASSERT_EQ(put("/Organization/ip-test-hf",
                R"({"resourceType":"Organization","id":"ip-test-hf","name":"Eksempel HF, koordinerende enhet",)"
                R"("identifier":[{"system":"urn:oid:2.16.578.1.12.4.1.4.101","value":"983974899"},)"
                R"({"system":"urn:oid:2.16.578.1.12.4.1.2","value":"8097"}],)"
                R"("telecom":[{"system":"phone","value":"+47 22 00 00 00"}]})")
                .status,
            201);
  ASSERT_EQ(put("/PractitionerRole/ip-test-coordinator-role",
                R"({"resourceType":"PractitionerRole","id":"ip-test-coordinator-role",)"
                R"("identifier":[{"system":"urn:oid:2.16.578.1.12.4.1.2","value":"112374"}],)"
                R"("practitioner":{"reference":"Practitioner/ip-example-practitioner-coordinator"},)"
                R"("organization":{"reference":"Organization/ip-test-hf"},)"
                R"("telecom":[{"system":"email","value":"koordinator@hf.example"}]})")
                .status,
            201);
  HttpResult team = get("/CareTeam/ip-example-careteam");
  ASSERT_EQ(team.status, 200);
  std::string by_role = team.body;
  const std::string coordinator = R"("reference":"Practitioner/ip-example-practitioner-coordinator")";
  const size_t at = by_role.find(coordinator);  // the first: the coordinator, before the same person as contact
  ASSERT_NE(at, std::string::npos) << by_role;
  by_role.replace(at, coordinator.size(), R"("reference":"PractitionerRole/ip-test-coordinator-role")");
  ASSERT_EQ(put("/CareTeam/ip-example-careteam", by_role).status, 200);

  HttpResult r = ipStatus(statusBody(kKariFnr));
  ASSERT_EQ(r.status, 200) << r.body;
  auto coordinators = parametersNamed(r.root(), "coordinator");
  ASSERT_EQ(coordinators.size(), 1u) << r.body;
  const fhir::JsonValue& c = *coordinators[0];
  EXPECT_EQ(partText(c, "name", "valueString"), "Siri Koordinator");
  EXPECT_NE(partText(c, "practitioner", "valueReference").find("PractitionerRole/ip-test-coordinator-role"),
            std::string::npos);
  EXPECT_EQ(partText(c, "hprNumber", "valueIdentifier"), kSiriHpr) << r.body;
  EXPECT_EQ(partText(c, "herId", "valueIdentifier"), R"({"system":"urn:oid:2.16.578.1.12.4.1.2","value":"112374"})");
  EXPECT_NE(partText(c, "telecom", "valueContactPoint").find("koordinator@hf.example"), std::string::npos);
  EXPECT_NE(partText(c, "organization", "valueReference").find("Organization/ip-test-hf"), std::string::npos);
  EXPECT_EQ(partText(c, "organizationName", "valueString"), "Eksempel HF, koordinerende enhet");
  EXPECT_EQ(partText(c, "organizationNumber", "valueIdentifier"),
            R"({"system":"urn:oid:2.16.578.1.12.4.1.4.101","value":"983974899"})");
  EXPECT_EQ(partText(c, "organizationHerId", "valueIdentifier"),
            R"({"system":"urn:oid:2.16.578.1.12.4.1.2","value":"8097"})");
  EXPECT_NE(partText(c, "organizationTelecom", "valueContactPoint").find("+47 22 00 00 00"), std::string::npos);

  // What the requester may not read adds nothing: no Organization, no organisation details (the reference stays,
  // as the CareTeam the requester may read names it); no Practitioner, no HPR number (the role still gives its own).
  access_->deny("Organization");
  access_->deny("Practitioner");
  HttpResult hidden = ipStatus(statusBody(kKariFnr));
  ASSERT_EQ(hidden.status, 200) << hidden.body;
  ASSERT_EQ(parametersNamed(hidden.root(), "coordinator").size(), 1u) << hidden.body;
  const fhir::JsonValue& h = *parametersNamed(hidden.root(), "coordinator")[0];
  EXPECT_EQ(partText(h, "hprNumber", "valueIdentifier"), "") << hidden.body;
  EXPECT_EQ(hidden.body.find("9144900"), std::string::npos);
  EXPECT_EQ(partText(h, "herId", "valueIdentifier"), R"({"system":"urn:oid:2.16.578.1.12.4.1.2","value":"112374"})");
  EXPECT_EQ(partText(h, "organizationName", "valueString"), "");
  EXPECT_EQ(hidden.body.find("983974899"), std::string::npos);
  EXPECT_EQ(hidden.body.find("8097"), std::string::npos);
  EXPECT_EQ(hidden.body.find("+47 22 00 00 00"), std::string::npos);
}

// A requester who may not read the CareTeam learns nothing of the coordinator: no part at all, as before the
// contact details were added.
TEST_P(IpRead, WithoutTheCareTeamThereIsNoCoordinator) {
  loadExamples();
  access_->deny("CareTeam");
  HttpResult r = ipStatus(statusBody(kKariFnr));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(parametersNamed(r.root(), "hasPlan")[0]->find("valueBoolean")->boolean());
  EXPECT_TRUE(parametersNamed(r.root(), "coordinator").empty()) << r.body;
  EXPECT_EQ(r.body.find("9144900"), std::string::npos);
  EXPECT_EQ(r.body.find("Siri Koordinator"), std::string::npos);
  EXPECT_EQ(r.body.find("hprNumber"), std::string::npos);
  EXPECT_EQ(parametersNamed(r.root(), "owner").size(), 1u);
}

TEST_P(IpRead, IpStatusNamesBothCoordinatorsDuringADeclaredHandover) {
  loadExamples();
  setToday(day(2026, 3, 20));  // both periods hold it
  HttpResult r = ipStatus(statusBody(kKariFnr));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(parametersNamed(r.root(), "coordinator").size(), 2u) << r.body;
}

TEST_P(IpRead, AnUnknownPatientGetsTheAnswerOfAPatientWithoutAPlan) {
  loadExamples();
  const std::string registered = otherFnr(1);
  const std::string unknown = otherFnr(2);
  ASSERT_FALSE(registered.empty());
  ASSERT_FALSE(unknown.empty());
  ASSERT_NE(registered, unknown);
  HttpResult patient = post("/Patient", R"({"resourceType":"Patient","identifier":[{"system":")" + std::string(kFnrSystem) +
                                            R"(","value":")" + registered + R"("}]})");
  ASSERT_EQ(patient.status, 201) << patient.body;
  HttpResult without_plan = ipStatus(statusBody(registered));
  HttpResult not_known = ipStatus(statusBody(unknown));
  ASSERT_EQ(without_plan.status, 200) << without_plan.body;
  ASSERT_EQ(not_known.status, 200) << not_known.body;
  EXPECT_EQ(without_plan.body, not_known.body);  // nothing tells the two apart
  EXPECT_FALSE(parametersNamed(without_plan.root(), "hasPlan")[0]->find("valueBoolean")->boolean());
  EXPECT_TRUE(parametersNamed(without_plan.root(), "coordinator").empty());
}

TEST_P(IpRead, AnEndedPlanIsNoPlan) {
  loadExamples();
  HttpResult plan = get("/CarePlan/ip-example-careplan");
  ASSERT_EQ(plan.status, 200);
  std::string ended = plan.body;
  auto replace = [&](const std::string& from, const std::string& to) {
    size_t at = ended.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    ended.replace(at, from.size(), to);
  };
  replace(R"("code":"finished")", R"("code":"ended")");
  replace(R"("status":"active")", R"("status":"completed")");
  ASSERT_EQ(put("/CarePlan/ip-example-careplan", ended).status, 200);
  HttpResult r = ipStatus(statusBody(kKariFnr));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_FALSE(parametersNamed(r.root(), "hasPlan")[0]->find("valueBoolean")->boolean());
}

TEST_P(IpRead, WhatTheRequesterMayNotReadIsNotShown) {
  loadExamples();
  access_->deny("Goal");
  access_->deny("Practitioner");
  HttpResult plan = get("/CarePlan/ip-example-careplan");
  ASSERT_EQ(plan.status, 200);
  EXPECT_EQ(narrativeOf(plan).find("Få flere venner."), std::string::npos);
  EXPECT_EQ(narrativeOf(plan).find("Siri Koordinator"), std::string::npos);
  HttpResult status = ipStatus(statusBody(kKariFnr));
  ASSERT_EQ(status.status, 200);
  EXPECT_EQ(status.body.find("Siri Koordinator"), std::string::npos);
  EXPECT_EQ(status.body.find("9144900"), std::string::npos);  // her HPR number is the Practitioner's
  access_->deny("CarePlan");
  status = ipStatus(statusBody(kKariFnr));
  ASSERT_EQ(status.status, 200);
  EXPECT_FALSE(parametersNamed(status.root(), "hasPlan")[0]->find("valueBoolean")->boolean());
}

TEST_P(IpRead, IpStatusRejectsBadIdentifiersWithoutRepeatingTheNumber) {
  std::string bad = kKariFnr;
  bad.back() = bad.back() == '9' ? '8' : '9';  // a check digit off
  HttpResult r = ipStatus(statusBody(bad));
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(r.body.find(bad), std::string::npos);
  EXPECT_NE(r.body.find("Parameters.parameter[0].valueIdentifier.value"), std::string::npos) << r.body;

  HttpResult hpr = ipStatus(statusBody("9144900", "urn:oid:2.16.578.1.12.4.1.4.4"));  // an HPR number is no patient
  EXPECT_EQ(hpr.status, 400) << hpr.body;
  EXPECT_NE(hpr.body.find("valueIdentifier.system"), std::string::npos) << hpr.body;

  EXPECT_EQ(ipStatus(R"({"resourceType":"Patient"})").status, 400);
  EXPECT_EQ(ipStatus(R"({"resourceType":"Parameters"})").status, 400);
  EXPECT_EQ(ipStatus(R"({"resourceType":"Parameters","parameter":[{"name":"identifier","valueString":"x"}]})").status, 400);
  EXPECT_EQ(ipStatus(R"({"resourceType":"Parameters","parameter":[{"name":"other","valueString":"x"}]})").status, 400);
  EXPECT_EQ(ipStatus("{not json").status, 400);
  EXPECT_EQ(post("/Patient/$ip-status", "").status, 400);
}

TEST_P(IpRead, TheNumberNeverTravelsInTheUrl) {
  HttpResult get_call = get("/Patient/$ip-status?identifier=" + std::string(kFnrSystem) + "%7C" + kKariFnr);
  EXPECT_EQ(get_call.status, 405);
  EXPECT_EQ(get_call.header("allow"), "POST");
  EXPECT_EQ(get_call.body.find(kKariFnr), std::string::npos);
  HttpResult post_call = post("/Patient/$ip-status?identifier=" + std::string(kKariFnr), statusBody(kKariFnr));
  EXPECT_EQ(post_call.status, 400) << post_call.body;
  EXPECT_EQ(post_call.body.find(kKariFnr), std::string::npos);
}

// ---------------------------------------------------------------------------------------------------------------
// The generated narrative

std::string narrativeOf(const HttpResult& r) {
  const fhir::JsonValue* text = r.root().find("text");
  if (!text) return {};
  EXPECT_EQ(text->find("status")->text(), "generated");
  return std::string(text->find("div")->text());
}

// Errors the R4 validator finds in `resource` (the narrative check included: allowed elements, no scripts).
size_t validationErrors(const fhir::JsonValue& resource, std::string* first = nullptr) {
  size_t n = 0;
  const fhir::OperationOutcome outcome = fhir::validateResource(resource);
  for (const auto& issue : outcome.issues()) {
    if (issue.severity == fhir::Severity::kError || issue.severity == fhir::Severity::kFatal) {
      if (n++ == 0 && first) *first = issue.location + ": " + issue.diagnostics;
    }
  }
  return n;
}

TEST_P(IpRead, ThePlansNarrativeIsMadeFromWhatItReferences) {
  loadExamples();
  HttpResult r = get("/CarePlan/ip-example-careplan");
  ASSERT_EQ(r.status, 200) << r.body;
  std::string div = narrativeOf(r);
  EXPECT_TRUE(div.starts_with(R"(<div xmlns="http://www.w3.org/1999/xhtml">)")) << div;
  EXPECT_NE(div.find("Status: Ferdig utarbeidet."), std::string::npos) << div;
  EXPECT_NE(div.find("Neste revisjon: 2026-09-01"), std::string::npos) << div;
  EXPECT_NE(div.find("Jeg vil bo i egen leilighet og klare meg sjøl – med hunden min."), std::string::npos) << div;  // main goal
  EXPECT_NE(div.find("<li><b>Sosialt fellesskap:</b> Få flere venner.</li>"), std::string::npos) << div;  // by life domain
  EXPECT_NE(div.find("Støttekontakt"), std::string::npos) << div;                                         // a measure
  EXPECT_NE(div.find("Bydel Eksempel, koordinerende enhet"), std::string::npos) << div;                   // responsible
  EXPECT_NE(div.find("<td>2026-09-01</td>"), std::string::npos) << div;                                   // next evaluation
  EXPECT_EQ(div.find("Samtaler med psykolog"), std::string::npos) << div;  // not in the plan (GW-21): not shown
  EXPECT_NE(div.find("<h3>Koordinator</h3><p>Siri Koordinator, telefon +47 99 99 99 02</p>"), std::string::npos) << div;
  EXPECT_NE(div.find("Kontaktliste"), std::string::npos) << div;
  EXPECT_NE(div.find(R"(<a href="CarePlan/ip-example-crisis-plan">)"), std::string::npos) << div;
  std::string first;
  EXPECT_EQ(validationErrors(r.root(), &first), 0u) << first;

  // Every way out shows the same narrative: search and history too.
  HttpResult search = get("/CarePlan?_id=ip-example-careplan");
  ASSERT_EQ(search.status, 200);
  EXPECT_NE(search.body.find("Få flere venner."), std::string::npos);
  HttpResult history = get("/CarePlan/ip-example-careplan/_history");
  ASSERT_EQ(history.status, 200);
  EXPECT_NE(history.body.find("Få flere venner."), std::string::npos);
}

TEST_P(IpRead, AChangedGoalShowsInThePlanWithoutANewPlanVersion) {
  loadExamples();
  HttpResult before = get("/CarePlan/ip-example-careplan");
  ASSERT_EQ(before.status, 200);
  HttpResult goal = get("/Goal/ip-example-goal-life-domain");
  ASSERT_EQ(goal.status, 200);
  std::string changed = goal.body;
  size_t at = changed.find("Få flere venner.");
  ASSERT_NE(at, std::string::npos);
  changed.replace(at, std::string("Få flere venner.").size(), "Bli med i turgruppa.");
  ASSERT_EQ(put("/Goal/ip-example-goal-life-domain", changed).status, 200);
  HttpResult after = get("/CarePlan/ip-example-careplan");
  ASSERT_EQ(after.status, 200);
  EXPECT_NE(narrativeOf(after).find("Bli med i turgruppa."), std::string::npos);
  EXPECT_EQ(narrativeOf(after).find("Få flere venner."), std::string::npos);
  EXPECT_EQ(after.header("etag"), before.header("etag"));  // the plan itself did not change
}

TEST_P(IpRead, AClientsNarrativeIsReplacedAndUserTextIsEscaped) {
  loadExamples();
  std::string goal = R"({"resourceType":"Goal","lifecycleStatus":"active","description":{"text":"<script>alert(1)</script> & \"mine\" <b>ord</b>"},)"
                     R"("subject":{"reference":"Patient/ip-example-patient-ola"}})";
  HttpResult g = post("/Goal", goal);
  ASSERT_EQ(g.status, 201) << g.body;
  std::string plan = R"({"resourceType":"CarePlan","status":"active","intent":"plan",)"
                     R"("text":{"status":"additional","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">KLIENTENS TEKST</div>"},)"
                     R"("title":"Plan <for> Ola & co",)"
                     R"("category":[{"coding":[{"system":"http://planbro.no/fhir/CodeSystem/ip-category","code":"individuell-plan"}]}],)"
                     R"("subject":{"reference":"Patient/ip-example-patient-ola"},"period":{"start":"2026-01-01"},)"
                     R"("goal":[{"reference":"Goal/)" + g.str("id") + R"("}]})";
  HttpResult created = post("/CarePlan", plan);
  ASSERT_EQ(created.status, 201) << created.body;
  std::string div = narrativeOf(created);
  EXPECT_EQ(div.find("KLIENTENS TEKST"), std::string::npos) << div;
  EXPECT_EQ(div.find("<script"), std::string::npos) << div;
  EXPECT_EQ(div.find("<b>ord"), std::string::npos) << div;
  EXPECT_NE(div.find("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;mine&quot; &lt;b&gt;ord&lt;/b&gt;"), std::string::npos) << div;
  EXPECT_NE(div.find("Plan &lt;for&gt; Ola &amp; co"), std::string::npos) << div;
  std::string first;
  EXPECT_EQ(validationErrors(created.root(), &first), 0u) << first;
  // The stored version (as the outbox and every consumer of the store see it) has no client narrative either.
  auto stored = store_->read("CarePlan", created.str("id"));
  ASSERT_TRUE(stored.isOk());
  EXPECT_EQ(stored->json.find("KLIENTENS TEKST"), std::string::npos);
  EXPECT_NE(stored->json.find("\"status\":\"generated\""), std::string::npos);
  // A CarePlan that is no IP keeps the narrative it was given.
  std::string other = R"({"resourceType":"CarePlan","status":"active","intent":"plan",)"
                      R"("text":{"status":"additional","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">KLIENTENS TEKST</div>"},)"
                      R"("subject":{"reference":"Patient/ip-example-patient-ola"}})";
  HttpResult plain = post("/CarePlan", other);
  ASSERT_EQ(plain.status, 201) << plain.body;
  EXPECT_NE(plain.body.find("KLIENTENS TEKST"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------------------------
// $ip-deadlines

// A plan of its own with three measures due on one day: one in the plan, one not in the plan (GW-21), one ended.
std::string deadlinePlan(const std::string& revision, const std::string& evaluation) {
  auto measure = [&](bool in_plan, const char* status, const char* measure_status, const char* name) {
    return std::string(R"({"extension":[{"url":"http://planbro.no/fhir/StructureDefinition/ip-in-plan","valueBoolean":)") +
           (in_plan ? "true" : "false") +
           R"(}],"detail":{"extension":[{"url":"http://planbro.no/fhir/StructureDefinition/ip-measure-status","valueCoding":{"system":"http://planbro.no/fhir/CodeSystem/ip-measure-status","code":")" +
           measure_status +
           R"("}},{"url":"http://planbro.no/fhir/StructureDefinition/ip-evaluation-date","valueDate":")" + evaluation +
           R"("}],"code":{"text":")" + name + R"("},"status":")" + status +
           R"(","performer":[{"reference":"Organization/ip-example-organization-bydel"}]}})";
  };
  return R"({"resourceType":"CarePlan","status":"active","intent":"plan",)"
         R"("extension":[{"url":"http://planbro.no/fhir/StructureDefinition/ip-plan-lifecycle","valueCoding":{"system":"http://planbro.no/fhir/CodeSystem/ip-plan-lifecycle","code":"started"}},)"
         R"({"url":"http://planbro.no/fhir/StructureDefinition/ip-next-revision","valueDate":")" + revision + R"("}],)"
         R"("category":[{"coding":[{"system":"http://planbro.no/fhir/CodeSystem/ip-category","code":"individuell-plan"}]}],)"
         R"("subject":{"reference":"Patient/ip-example-patient-ola"},"period":{"start":"2026-01-01"},"activity":[)" +
         measure(true, "in-progress", "started", "Avlastning") + "," + measure(false, "not-started", "wished", "Ikke i planen") +
         "," + measure(true, "completed", "ended", "Avsluttet tiltak") + "]}";
}

TEST_P(IpRead, DeadlinesListsRevisionsAndEvaluationsDueWithinTheWindow) {
  loadExamples();
  HttpResult created = post("/CarePlan", deadlinePlan("2026-10-10", "2026-10-05"));
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string own = created.str("id");
  setToday(day(2026, 8, 15));

  // 30 days: the example plan's revision and evaluation (1 September) are due; the new plan's (October) are not.
  HttpResult r = get("/CarePlan/$ip-deadlines?withinDays=30");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(parametersNamed(r.root(), "today")[0]->find("valueDate")->text(), "2026-08-15");
  EXPECT_EQ(parametersNamed(r.root(), "horizon")[0]->find("valueDate")->text(), "2026-09-14");
  auto due = parametersNamed(r.root(), "deadline");
  ASSERT_EQ(due.size(), 2u) << r.body;
  for (const fhir::JsonValue* d : due) {
    EXPECT_NE(partText(*d, "plan", "valueReference").find("CarePlan/ip-example-careplan"), std::string::npos);
    EXPECT_EQ(partText(*d, "due", "valueDate"), "2026-09-01");
    EXPECT_EQ(partText(*d, "overdue", "valueBoolean"), "false");
  }

  // 60 days: the new plan too, but only its measure in the plan that is not ended.
  r = get("/CarePlan/$ip-deadlines?withinDays=60");
  ASSERT_EQ(r.status, 200) << r.body;
  size_t own_evaluations = 0, own_revisions = 0;
  for (const fhir::JsonValue* d : parametersNamed(r.root(), "deadline")) {
    if (partText(*d, "plan", "valueReference").find("CarePlan/" + own) == std::string::npos) continue;
    if (partText(*d, "kind", "valueCode") == "revision") ++own_revisions;
    if (partText(*d, "kind", "valueCode") == "evaluation") {
      ++own_evaluations;
      EXPECT_EQ(partText(*d, "measure", "valueString"), "Avlastning");
      EXPECT_EQ(partText(*d, "activity", "valueString"), "CarePlan.activity[0]");
      EXPECT_NE(partText(*d, "responsible", "valueReference").find("Organization/ip-example-organization-bydel"),
                std::string::npos);
    }
  }
  EXPECT_EQ(own_revisions, 1u);
  EXPECT_EQ(own_evaluations, 1u);

  // Later, with a window of 0 days: what is past is overdue.
  setToday(day(2026, 11, 1));
  r = post("/CarePlan/$ip-deadlines", R"({"resourceType":"Parameters","parameter":[{"name":"withinDays","valueInteger":0}]})");
  ASSERT_EQ(r.status, 200) << r.body;
  due = parametersNamed(r.root(), "deadline");
  EXPECT_EQ(due.size(), 4u) << r.body;
  for (const fhir::JsonValue* d : due) EXPECT_EQ(partText(*d, "overdue", "valueBoolean"), "true");
}

TEST_P(IpRead, DeadlinesReadsABoundedNumberOfPlans) {
  loadExamples();
  EXPECT_EQ(get("/CarePlan/$ip-deadlines?withinDays=30").status, 200);
  for (size_t i = 2; i <= kTestDeadlinesMaxPlans; ++i) {
    ASSERT_EQ(post("/CarePlan", deadlinePlan("2026-10-10", "2026-10-05")).status, 201);
  }
  HttpResult r = get("/CarePlan/$ip-deadlines?withinDays=30");
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_NE(r.body.find("too-costly"), std::string::npos) << r.body;
}

TEST_P(IpRead, DeadlinesRejectsABadWindow) {
  for (const char* q : {"", "?withinDays=-1", "?withinDays=abc", "?withinDays=100000", "?withinDays=5&other=1"}) {
    HttpResult r = get(std::string("/CarePlan/$ip-deadlines") + q);
    EXPECT_EQ(r.status, 400) << q << ": " << r.body;
    EXPECT_EQ(r.str("resourceType"), "OperationOutcome");
  }
  EXPECT_EQ(request(port_, "DELETE", "/CarePlan/$ip-deadlines").status, 405);
}

// ---------------------------------------------------------------------------------------------------------------
// Conformance resources, the CapabilityStatement, the registry

TEST_P(IpRead, ThePackagesConformanceResourcesAreReadableAndSearchable) {
  HttpResult sd = get("/StructureDefinition/ip-careplan");
  ASSERT_EQ(sd.status, 200) << sd.body.substr(0, 400);
  EXPECT_EQ(sd.str("url"), "http://planbro.no/fhir/StructureDefinition/ip-careplan");
  auto file = fhir::JsonDocument::parse(readFile(kPackageDir + "/StructureDefinition-ip-careplan.json"));
  ASSERT_TRUE(file.isOk());
  EXPECT_TRUE(jsonEqual(sd.root(), file->root()));  // exactly what the validator loaded

  auto total = [&](const std::string& target) {
    HttpResult r = get(target);
    EXPECT_EQ(r.status, 200) << target << ": " << r.body.substr(0, 400);
    const fhir::JsonValue* t = r.root().find("total");
    return t ? std::stoi(std::string(t->text())) : -1;
  };
  EXPECT_EQ(total("/StructureDefinition?url=http://planbro.no/fhir/StructureDefinition/ip-careplan"), 1);
  EXPECT_EQ(total("/StructureDefinition?url=http://planbro.no/fhir/StructureDefinition/ip-careplan%7C0.1.0"), 1);
  EXPECT_EQ(total("/StructureDefinition?url=http://planbro.no/fhir/StructureDefinition/ip-careplan%7C9.9"), 0);
  EXPECT_EQ(total("/StructureDefinition?name=ipcare"), 2);  // IPCarePlan, IPCareTeam
  EXPECT_EQ(total("/StructureDefinition?type=CarePlan&derivation=constraint"), 1);
  EXPECT_EQ(total("/StructureDefinition?version=0.1.0&type=Goal"), 1);
  EXPECT_EQ(total("/ValueSet?url=http://planbro.no/fhir/ValueSet/ip-life-domain"), 1);
  EXPECT_GE(total("/CodeSystem"), 10);
  EXPECT_EQ(total("/ConceptMap?name:exact=nothing"), 0);
  EXPECT_EQ(total("/OperationDefinition?url=http://planbro.no/fhir/OperationDefinition/ip-status"), 1);
  EXPECT_EQ(get("/OperationDefinition/ip-deadlines").status, 200);
  EXPECT_EQ(get("/OperationDefinition/subscription-events").status, 200);  // Subscription/$events (dispatch.md)

  EXPECT_EQ(get("/StructureDefinition/no-such-profile").status, 404);
  EXPECT_EQ(get("/StructureDefinition?publisher=x").status, 400);
  HttpResult write = put("/StructureDefinition/ip-careplan", sd.body);
  EXPECT_EQ(write.status, 405);
  EXPECT_EQ(write.header("allow"), "GET");
  EXPECT_EQ(post("/ValueSet", R"({"resourceType":"ValueSet","status":"draft"})").status, 405);
  EXPECT_EQ(request(port_, "DELETE", "/CodeSystem/ip-life-domain").status, 405);
  EXPECT_EQ(get("/StructureDefinition/ip-careplan").status, 200);  // still there, unchanged
}

TEST_P(IpRead, TheCapabilityStatementListsProfilesAndOperations) {
  HttpResult r = get("/metadata");
  ASSERT_EQ(r.status, 200);
  const fhir::JsonValue* resources = r.root().find("rest")->items()[0].find("resource");
  auto entry = [&](std::string_view type) -> const fhir::JsonValue* {
    for (const fhir::JsonValue& e : resources->items()) {
      if (e.find("type")->text() == type) return &e;
    }
    return nullptr;
  };
  auto hasOperation = [](const fhir::JsonValue* e, std::string_view name) {
    const fhir::JsonValue* ops = e ? e->find("operation") : nullptr;
    for (const fhir::JsonValue& op : ops ? ops->items() : std::span<const fhir::JsonValue>{}) {
      if (op.find("name")->text() == name) return true;
    }
    return false;
  };
  const fhir::JsonValue* care_plan = entry("CarePlan");
  ASSERT_NE(care_plan, nullptr);
  ASSERT_NE(care_plan->find("supportedProfile"), nullptr);
  EXPECT_EQ(care_plan->find("supportedProfile")->items()[0].text(), "http://planbro.no/fhir/StructureDefinition/ip-careplan");
  EXPECT_TRUE(hasOperation(care_plan, "ip-deadlines"));
  EXPECT_TRUE(hasOperation(entry("Patient"), "ip-status"));
  EXPECT_FALSE(hasOperation(entry("Patient"), "ip-deadlines"));
  EXPECT_TRUE(hasOperation(&r.root().find("rest")->items()[0], "test-echo"));
  const fhir::JsonValue* sd = entry("StructureDefinition");
  ASSERT_NE(sd, nullptr);
  EXPECT_EQ(sd->find("interaction")->size(), 2u);  // read and search-type only
}

TEST_P(IpRead, ASecondOperationRegistersBesideTheIpOnes) {
  HttpResult r = get("/$test-echo?say=hei");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("\"hei\""), std::string::npos);
  EXPECT_EQ(get("/$no-such-operation").status, 400);
  OperationRegistry registry;
  ASSERT_TRUE(ip::registerIpReadOperations(registry).isOk());
  EXPECT_EQ(ip::registerIpReadOperations(registry).code(), StatusCode::kAlreadyExists);
  EXPECT_TRUE(registry.add(std::make_shared<EchoOperation>()).isOk());
}

INSTANTIATE_TEST_SUITE_P(Engines, IpRead, ::testing::ValuesIn(engines()));

// `planbro serve` wires it all: the package it validates against is the one it serves, and the operations answer.
TEST(IpReadServed, PlanbroServeServesThePackageAndTheIpOperations) {
  std::string dir = (std::filesystem::temp_directory_path() / "planbro-ipread-XXXXXX").string();
  ASSERT_NE(mkdtemp(dir.data()), nullptr);
  ServeOptions options;
  options.overrides.listen = "127.0.0.1:0";
  options.overrides.data_dir = dir;
  options.setup = makeRestServeSetup();
  options.on_started = [&](uint16_t port, std::function<void()> stop) {
    HttpResult sd = request(port, "GET", "/StructureDefinition/ip-careplan");
    EXPECT_EQ(sd.status, 200);
    EXPECT_EQ(sd.str("url"), "http://planbro.no/fhir/StructureDefinition/ip-careplan");
    EXPECT_EQ(request(port, "PUT", "/StructureDefinition/ip-careplan", sd.body).status, 405);
    HttpResult metadata = request(port, "GET", "/metadata");
    EXPECT_NE(metadata.body.find("http://planbro.no/fhir/OperationDefinition/ip-status"), std::string::npos);
    EXPECT_NE(metadata.body.find(R"("supportedProfile":["http://planbro.no/fhir/StructureDefinition/ip-careplan"])"),
              std::string::npos);
    HttpResult status = request(port, "POST", "/Patient/$ip-status", statusBody(kKariFnr));
    EXPECT_EQ(status.status, 200) << status.body;
    EXPECT_NE(status.body.find("hasPlan"), std::string::npos);
    EXPECT_EQ(request(port, "GET", "/CarePlan/$ip-deadlines?withinDays=7").status, 200);
    // The HL7 Norway no-basis profiles it validates against are served read-only beside the package, with their
    // code systems, and listed where they apply.
    HttpResult nb = request(port, "GET", "/StructureDefinition/no-basis-Patient");
    EXPECT_EQ(nb.status, 200) << nb.body.substr(0, 500);
    EXPECT_EQ(nb.str("url"), "http://hl7.no/fhir/StructureDefinition/no-basis-Patient");
    EXPECT_EQ(request(port, "DELETE", "/StructureDefinition/no-basis-Patient").status, 405);
    HttpResult found = request(port, "GET", "/StructureDefinition?url=http://hl7.no/fhir/StructureDefinition/no-basis-Address");
    EXPECT_NE(found.body.find("\"total\":1"), std::string::npos) << found.body.substr(0, 500);
    HttpResult systems = request(port, "GET", "/CodeSystem?url=http://hl7.no/fhir/CodeSystem/no-basis-marital-status");
    EXPECT_NE(systems.body.find("\"total\":1"), std::string::npos) << systems.body.substr(0, 500);
    EXPECT_NE(metadata.body.find("http://hl7.no/fhir/StructureDefinition/no-basis-Patient"), std::string::npos);
    EXPECT_NE(metadata.body.find("http://hl7.no/fhir/StructureDefinition/no-basis-Organization"), std::string::npos);
    // And a Patient that claims no-basis-Patient is held to it on write: a D-nummer slice without its value.
    HttpResult claimed = request(port, "POST", "/Patient",
                                 R"({"resourceType":"Patient","meta":{"profile":["http://hl7.no/fhir/StructureDefinition/no-basis-Patient"]},)"
                                 R"("identifier":[{"system":"urn:oid:2.16.578.1.12.4.1.4.2"}]})");
    EXPECT_EQ(claimed.status, 422) << claimed.body.substr(0, 1500);
    EXPECT_NE(claimed.body.find("Patient.identifier[0].value"), std::string::npos) << claimed.body.substr(0, 1500);
    stop();
  };
  std::ostringstream err;
  EXPECT_EQ(runServe(options, err), 0) << err.str();
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

}  // namespace
}  // namespace planbro::gateway::rest::testing
