// The individual-plan rules through the REST API, on SQLite and (with PLANBRO_TEST_PG_URL) PostgreSQL: one active
// plan per patient (GW-01) with its race, the plan consent (GW-40/45), measure transitions (GW-18), coordinators
// (GW-31/32), partial dates (GW-19) and Provenance (GW-50).

#include <algorithm>
#include <atomic>
#include <thread>

#include "planbro/fhir-model/norwegian_ids.h"
#include "planbro/gateway/ip/ip_rules.h"
#include "planbro/gateway/ops/identity_keys.h"
#include "planbro/gateway/ops/operations.h"
#include "planbro/gateway/rest/serve_setup.h"
#include "planbro/gateway/search/search_executor.h"
#include "rest_fixture.h"

namespace planbro::gateway::rest::testing {
namespace {

constexpr const char* kFnr = "15038540189";  // synthetic, valid check digits (the IP package's example patient)
constexpr const char* kFnrOid = "urn:oid:2.16.578.1.12.4.1.4.1";
constexpr const char* kSd = "http://planbro.no/fhir/StructureDefinition/";
constexpr const char* kCs = "http://planbro.no/fhir/CodeSystem/";

// A fixed "now" for the rules: 2026-06-15.
store::Timestamp fixedNow() {
  using namespace std::chrono;
  return store::Timestamp(duration_cast<microseconds>(sys_days{year{2026} / 6 / 15}.time_since_epoch()) + hours(12));
}

std::string lifecycle(const std::string& code) {
  return R"({"url":")" + std::string(kSd) + R"(ip-plan-lifecycle","valueCoding":{"system":")" + kCs +
         R"(ip-plan-lifecycle","code":")" + code + R"("}})";
}

struct PlanSpec {
  std::string id;                 // empty: POST
  std::string patient_id;
  std::string life = "need-reported";
  std::string status = "draft";
  std::string legal_basis;         // "tvungent-psykisk-helsevern" for compulsory care
  std::vector<std::string> consents;  // "Consent/x" or "urn:uuid:..."
  std::string activities;          // raw JSON array items
};

std::string plan(const PlanSpec& p) {
  std::string ext = lifecycle(p.life);
  if (!p.legal_basis.empty()) {
    ext += R"(,{"url":")" + std::string(kSd) + R"(ip-legal-basis","valueCoding":{"system":")" + kCs +
           R"(ip-legal-basis","code":")" + p.legal_basis + R"("}})";
  }
  std::string out = R"({"resourceType":"CarePlan",)";
  if (!p.id.empty()) out += R"("id":")" + p.id + R"(",)";
  out += R"("extension":[)" + ext + R"(],"status":")" + p.status + R"(","intent":"plan","category":[{"coding":[{"system":")" +
         kCs + R"(ip-category","code":"individuell-plan"}]}],"subject":{"reference":"Patient/)" + p.patient_id +
         R"(","identifier":{"system":")" + kFnrOid + R"(","value":")" + kFnr + R"("}})";
  if (p.status == "active") out += R"(,"period":{"start":"2026-01-01"})";
  if (!p.consents.empty()) {
    out += R"(,"supportingInfo":[)";
    for (size_t i = 0; i < p.consents.size(); ++i) out += (i ? "," : "") + (R"({"reference":")" + p.consents[i] + R"("})");
    out += "]";
  }
  if (!p.activities.empty()) out += R"(,"activity":[)" + p.activities + "]";
  return out + "}";
}

std::string measure(const std::string& id, const std::string& status, const std::string& r4_status,
                    const std::string& scheduled_start = "") {
  std::string out = R"({"id":")" + id + R"(","detail":{"extension":[{"url":")" + std::string(kSd) +
                    R"(ip-measure-status","valueCoding":{"system":")" + kCs + R"(ip-measure-status","code":")" +
                    status + R"("}}],"code":{"text":"Støttekontakt )" + id + R"("},"status":")" + r4_status + "\"";
  if (!scheduled_start.empty()) out += R"(,"scheduledPeriod":{"start":")" + scheduled_start + R"("})";
  return out + "}}";
}

std::string consent(const std::string& patient_id, const std::string& status, const std::string& start = "2026-01-01",
                    const std::string& end = "2027-12-31", const std::string& kind = "plan") {
  return R"({"resourceType":"Consent","status":")" + status +
         R"(","scope":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/consentscope","code":"treatment"}]},)"
         R"("category":[{"coding":[{"system":"http://loinc.org","code":"59284-0"}]},{"coding":[{"system":")" +
         kCs + R"(ip-consent-kind","code":")" + kind + R"("}]}],"patient":{"reference":"Patient/)" + patient_id +
         R"(","identifier":{"system":")" + kFnrOid + R"(","value":")" + kFnr + R"("}},"dateTime":"2026-01-01",)"
         R"("policyRule":{"coding":[{"system":"http://planbro.no/fhir/CodeSystem/ip-legal-basis","code":"samtykke"}]},)"
         R"("provision":{"type":"permit","period":{"start":")" + start + R"(","end":")" + end + R"("}}})";
}

std::string coordinator(const std::string& who, const std::string& start, const std::string& end, bool handover) {
  std::string out = R"({"role":[{"coding":[{"system":"urn:oid:2.16.578.1.12.4.1.1.9034","code":"8"}]}],)"
                    R"("member":{"display":")" + who + R"("},"period":{"start":")" + start + "\"";
  if (!end.empty()) out += R"(,"end":")" + end + "\"";
  out += "}";
  if (handover) out += R"(,"extension":[{"url":")" + std::string(kSd) + R"(ip-handover","valueBoolean":true}])";
  return out + "}";
}

std::string careTeam(const std::string& id, const std::string& patient_id, const std::string& participants) {
  std::string out = R"({"resourceType":"CareTeam",)";
  if (!id.empty()) out += R"("id":")" + id + R"(",)";
  return out + R"("status":"active","category":[{"coding":[{"system":")" + kCs +
         R"(ip-category","code":"individuell-plan"}]}],"subject":{"reference":"Patient/)" + patient_id +
         R"("},"participant":[)" + participants + "]}";
}

class IpRules : public RestServerTest {
 protected:
  RestOptions restOptions() override {
    RestOptions rest;
    rest.clock = fixedNow;
    ip::IpRulesOptions options;
    options.clock = fixedNow;
    options.max_handover_overlap_days = 30;
    auto graph = ip::MeasureStatusGraph::fromPackageDir(PLANBRO_TEST_IP_PACKAGE_DIR);
    EXPECT_TRUE(graph.isOk()) << graph.status().message();
    for (auto& hook : ip::makeIpRuleHooks(options, graph.isOk() ? *graph : ip::MeasureStatusGraph{})) {
      rest.writer.hooks.push_back(hook);
    }
    return rest;
  }

  std::string createdId(const HttpResult& r) {
    EXPECT_EQ(r.status, 201) << r.body.substr(0, 1500);
    return r.str("id");
  }

  std::string patient() {
    return createdId(post("/Patient", R"({"resourceType":"Patient","identifier":[{"system":")" + std::string(kFnrOid) +
                                          R"(","value":")" + kFnr + R"("}]})"));
  }

  HttpResult del(const std::string& target) { return request(port_, "DELETE", target); }
};

TEST_P(IpRules, ASecondActivePlanForThePatientIs409NamingTheFirst) {
  std::string pid = patient();
  std::string first = createdId(post("/CarePlan", plan({.patient_id = pid})));
  HttpResult second = post("/CarePlan", plan({.patient_id = pid}));
  ASSERT_EQ(second.status, 409) << second.body;
  EXPECT_NE(second.body.find("GW-01"), std::string::npos) << second.body;
  EXPECT_NE(second.body.find("\"diagnostics\""), std::string::npos);
  EXPECT_NE(second.body.find("\"details\":{\"text\":\"GW-01: pasienten har allerede"), std::string::npos) << second.body;
  // The existing plan in diagnostics and as an expression.
  EXPECT_NE(second.body.find("\"expression\":[\"CarePlan.subject\",\"CarePlan/" + first + "\"]"), std::string::npos)
      << second.body;
  // An update keeps the key; ending the plan releases it, and a new plan may follow.
  PlanSpec ended{.id = first, .patient_id = pid, .life = "ended", .status = "completed"};
  HttpResult kept = put("/CarePlan/" + first, plan({.id = first, .patient_id = pid, .life = "consented"}));
  EXPECT_EQ(kept.status, 200) << kept.body;
  EXPECT_EQ(put("/CarePlan/" + first, plan(ended)).status, 200);
  std::string next = createdId(post("/CarePlan", plan({.patient_id = pid})));
  // Reopening the ended plan would make two.
  HttpResult reopened = put("/CarePlan/" + first, plan({.id = first, .patient_id = pid}));
  EXPECT_EQ(reopened.status, 409) << reopened.body;
  EXPECT_NE(reopened.body.find("CarePlan/" + next), std::string::npos);
  // Deleting the active plan frees the patient too.
  EXPECT_EQ(del("/CarePlan/" + next).status, 200);
  EXPECT_EQ(put("/CarePlan/" + first, plan({.id = first, .patient_id = pid})).status, 200);
}

TEST_P(IpRules, PlansThatAreNotIndividualPlansAreNotCounted) {
  std::string pid = patient();
  createdId(post("/CarePlan", plan({.patient_id = pid})));
  std::string other = R"({"resourceType":"CarePlan","status":"active","intent":"plan","subject":{"reference":"Patient/)" +
                      pid + R"("}})";
  createdId(post("/CarePlan", other));
  createdId(post("/CarePlan", other));
}

TEST_P(IpRules, TwentyConcurrentCreatesForOnePatientMakeExactlyOnePlan) {
  std::string pid = patient();
  std::atomic<int> created{0}, conflicts{0}, other{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 20; ++i) {
    threads.emplace_back([&] {
      HttpResult r = post("/CarePlan", plan({.patient_id = pid}));
      (r.status == 201 ? created : r.status == 409 ? conflicts : other)++;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(created.load(), 1);
  EXPECT_EQ(conflicts.load(), 19);
  EXPECT_EQ(other.load(), 0);
  HttpResult all = get("/CarePlan?subject=Patient/" + pid + "&_summary=count");
  EXPECT_NE(all.body.find("\"total\":1"), std::string::npos) << all.body;
}

TEST_P(IpRules, ATransactionWithTwoActivePlansForOnePatientWritesNothing) {
  std::string pid = patient();
  std::string bundle = R"({"resourceType":"Bundle","type":"transaction","entry":[)"
                       R"({"resource":)" + plan({.patient_id = pid}) + R"(,"request":{"method":"POST","url":"CarePlan"}},)"
                       R"({"resource":)" + plan({.patient_id = pid}) + R"(,"request":{"method":"POST","url":"CarePlan"}}]})";
  HttpResult r = post("/", bundle);
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_NE(r.body.find("GW-01"), std::string::npos) << r.body;
  HttpResult all = get("/CarePlan?subject=Patient/" + pid + "&_summary=count");
  EXPECT_NE(all.body.find("\"total\":0"), std::string::npos) << all.body;
}

TEST_P(IpRules, StartingAPlanNeedsAnActivePlanConsent) {
  std::string pid = patient();
  HttpResult none = post("/CarePlan", plan({.patient_id = pid, .life = "started", .status = "active"}));
  ASSERT_EQ(none.status, 422) << none.body;
  EXPECT_NE(none.body.find("GW-40"), std::string::npos);
  EXPECT_NE(none.body.find("planen kan ikke påbegynnes"), std::string::npos) << none.body;

  std::string inactive = createdId(post("/Consent", consent(pid, "inactive")));
  std::string expired = createdId(post("/Consent", consent(pid, "active", "2024-01-01", "2025-12-31")));
  std::string sharing = createdId(post("/Consent", consent(pid, "active", "2026-01-01", "2027-12-31", "sharing")));
  HttpResult bad = post("/CarePlan", plan({.patient_id = pid, .life = "started", .status = "active",
                                           .consents = {"Consent/" + inactive, "Consent/" + expired,
                                                        "Consent/" + sharing}}));
  ASSERT_EQ(bad.status, 422) << bad.body;
  EXPECT_NE(bad.body.find("Consent/" + inactive + " has status 'inactive'"), std::string::npos) << bad.body;
  EXPECT_NE(bad.body.find("Consent/" + expired + " is not valid today"), std::string::npos) << bad.body;
  EXPECT_NE(bad.body.find("Consent/" + sharing + " is not a plan consent"), std::string::npos) << bad.body;
  EXPECT_NE(bad.body.find("\"expression\":[\"CarePlan.supportingInfo\"]"), std::string::npos) << bad.body;

  // Draft first, then started: the transition is what needs the consent.
  std::string id = createdId(post("/CarePlan", plan({.patient_id = pid})));
  EXPECT_EQ(put("/CarePlan/" + id, plan({.id = id, .patient_id = pid, .life = "started", .status = "active"})).status,
            422);
  std::string good = createdId(post("/Consent", consent(pid, "active")));
  HttpResult started = put("/CarePlan/" + id, plan({.id = id, .patient_id = pid, .life = "started", .status = "active",
                                                    .consents = {"Consent/" + good}}));
  EXPECT_EQ(started.status, 200) << started.body;
}

TEST_P(IpRules, CompulsoryCareStartsWithoutConsent) {
  std::string pid = patient();
  HttpResult r = post("/CarePlan", plan({.patient_id = pid, .life = "started", .status = "active",
                                         .legal_basis = "tvungent-psykisk-helsevern"}));
  EXPECT_EQ(r.status, 201) << r.body;
}

TEST_P(IpRules, ATransactionMayCreateTheConsentAfterThePlanThatNeedsIt) {
  std::string pid = patient();
  const std::string consent_url = "urn:uuid:6f0d6a4e-3c51-4f57-9d0b-5b8e2f0c9a11";
  auto bundle = [&](const std::string& consent_status) {
    return R"({"resourceType":"Bundle","type":"transaction","entry":[)"
           R"({"resource":)" + plan({.patient_id = pid, .life = "started", .status = "active",
                                     .consents = {consent_url}}) +
           R"(,"request":{"method":"POST","url":"CarePlan"}},)"
           R"({"fullUrl":")" + consent_url + R"(","resource":)" + consent(pid, consent_status) +
           R"(,"request":{"method":"POST","url":"Consent"}}]})";
  };
  // With the consent not active, nothing is written.
  HttpResult refused = post("/", bundle("inactive"));
  EXPECT_EQ(refused.status, 422) << refused.body.substr(0, 2000);
  EXPECT_NE(refused.body.find("GW-40"), std::string::npos);
  EXPECT_NE(refused.body.find("Bundle.entry[0]"), std::string::npos) << refused.body.substr(0, 2000);
  EXPECT_NE(get("/Consent?patient=Patient/" + pid + "&_summary=count").body.find("\"total\":0"), std::string::npos);
  // The consent second in the Bundle, after the plan that needs it: entry order does not matter.
  HttpResult r = post("/", bundle("active"));
  EXPECT_EQ(r.status, 200) << r.body.substr(0, 2000);
}

TEST_P(IpRules, MeasureStatusesFollowTheAllowedGraph) {
  std::string pid = patient();
  std::string id = createdId(post("/CarePlan", plan({.patient_id = pid, .activities = measure("m1", "wished", "not-started")})));
  // wished → started skips planned: not allowed.
  HttpResult skip = put("/CarePlan/" + id, plan({.id = id, .patient_id = pid,
                                                 .activities = measure("m1", "started", "in-progress")}));
  ASSERT_EQ(skip.status, 422) << skip.body;
  EXPECT_NE(skip.body.find("GW-18"), std::string::npos);
  EXPECT_NE(skip.body.find("from 'wished' to 'started'"), std::string::npos) << skip.body;
  EXPECT_NE(skip.body.find("CarePlan.activity[0].detail.extension("), std::string::npos) << skip.body;
  EXPECT_EQ(put("/CarePlan/" + id, plan({.id = id, .patient_id = pid, .activities = measure("m1", "planned", "not-started")})).status, 200);
  EXPECT_EQ(put("/CarePlan/" + id, plan({.id = id, .patient_id = pid, .activities = measure("m1", "started", "in-progress")})).status, 200);
  EXPECT_EQ(put("/CarePlan/" + id, plan({.id = id, .patient_id = pid, .activities = measure("m1", "ended", "completed")})).status, 200);
  // ended is final; a new measure (another id) may start anywhere; reordering keeps identity by id.
  EXPECT_EQ(put("/CarePlan/" + id, plan({.id = id, .patient_id = pid, .activities = measure("m1", "started", "in-progress")})).status, 422);
  EXPECT_EQ(put("/CarePlan/" + id, plan({.id = id, .patient_id = pid,
                                         .activities = measure("m2", "started", "in-progress") + "," +
                                                       measure("m1", "ended", "completed")})).status, 200);
  // A JSON Patch goes through the same rule.
  HttpResult patched = request(port_, "PATCH", "/CarePlan/" + id,
                               R"([{"op":"replace","path":"/activity/0/detail/extension/0/valueCoding/code","value":"wished"}])",
                               {{"Content-Type", "application/json-patch+json"}});
  EXPECT_EQ(patched.status, 422) << patched.body;
}

TEST_P(IpRules, OneCurrentCoordinatorTwoOnlyInADeclaredBoundedHandover) {
  std::string pid = patient();
  // One current, one in the past: fine.
  std::string id = createdId(post("/CareTeam", careTeam("", pid, coordinator("Anne", "2024-01-01", "2025-12-31", false) + "," +
                                                               coordinator("Bente", "2026-01-01", "", false))));
  // Two current without a handover flag.
  HttpResult two = post("/CareTeam", careTeam("", pid, coordinator("Anne", "2026-01-01", "", false) + "," +
                                                       coordinator("Bente", "2026-06-01", "", false)));
  ASSERT_EQ(two.status, 422) << two.body;
  EXPECT_NE(two.body.find("GW-32"), std::string::npos);
  EXPECT_NE(two.body.find("CareTeam.participant[1]"), std::string::npos);
  // A declared handover of 20 days.
  EXPECT_EQ(post("/CareTeam", careTeam("", pid, coordinator("Anne", "2025-01-01", "2026-06-20", false) + "," +
                                                coordinator("Bente", "2026-06-01", "", true))).status, 201);
  // A declared handover of 50 days is beyond the window.
  HttpResult long_overlap = post("/CareTeam", careTeam("", pid, coordinator("Anne", "2025-01-01", "2026-07-20", false) + "," +
                                                                coordinator("Bente", "2026-06-01", "", true)));
  EXPECT_EQ(long_overlap.status, 422) << long_overlap.body;
  EXPECT_NE(long_overlap.body.find("50 days"), std::string::npos) << long_overlap.body;
  // A handover that never ends.
  EXPECT_EQ(post("/CareTeam", careTeam("", pid, coordinator("Anne", "2025-01-01", "", true) + "," +
                                                coordinator("Bente", "2026-06-01", "", true))).status, 422);
  // Three current coordinators.
  EXPECT_EQ(post("/CareTeam", careTeam("", pid, coordinator("A", "2026-01-01", "2026-06-20", true) + "," +
                                                coordinator("B", "2026-06-01", "", true) + "," +
                                                coordinator("C", "2026-06-10", "", true))).status, 422);
  // History is kept: dropping the past coordinator on update is refused.
  HttpResult erased = put("/CareTeam/" + id, careTeam(id, pid, coordinator("Bente", "2026-01-01", "", false)));
  EXPECT_EQ(erased.status, 422) << erased.body;
  EXPECT_NE(erased.body.find("GW-31"), std::string::npos);
  // None current (a vacancy) is allowed.
  EXPECT_EQ(put("/CareTeam/" + id, careTeam(id, pid, coordinator("Anne", "2024-01-01", "2025-12-31", false) + "," +
                                                     coordinator("Bente", "2026-01-01", "2026-05-31", false))).status, 200);
}

TEST_P(IpRules, PartialDatesKeepTheirPrecision) {
  std::string pid = patient();
  std::string body = plan({.patient_id = pid, .activities = measure("m1", "wished", "not-started", "2003") + "," +
                                                            measure("m2", "wished", "not-started", "2003-05")});
  std::string id = createdId(post("/CarePlan", body));
  auto check = [&](const HttpResult& r) {
    EXPECT_NE(r.body.find("\"scheduledPeriod\":{\"start\":\"2003\"}"), std::string::npos) << r.body;
    EXPECT_NE(r.body.find("\"scheduledPeriod\":{\"start\":\"2003-05\"}"), std::string::npos) << r.body;
  };
  check(get("/CarePlan/" + id));
  HttpResult updated = put("/CarePlan/" + id, plan({.id = id, .patient_id = pid,
                                                    .activities = measure("m1", "planned", "not-started", "2003") + "," +
                                                                  measure("m2", "wished", "not-started", "2003-05")}));
  ASSERT_EQ(updated.status, 200) << updated.body;
  check(get("/CarePlan/" + id));
  HttpResult xml = get("/CarePlan/" + id + "?_format=xml");
  EXPECT_NE(xml.body.find("<start value=\"2003\"/>"), std::string::npos) << xml.body;
  EXPECT_NE(xml.body.find("<start value=\"2003-05\"/>"), std::string::npos) << xml.body;
  // And in through XML: the stored bytes keep the precision.
  HttpResult via_xml = request(port_, "PUT", "/CarePlan/" + id, xml.body, {{"Content-Type", "application/fhir+xml"}});
  EXPECT_TRUE(via_xml.status == 200) << via_xml.body;
  check(get("/CarePlan/" + id));
}

TEST_P(IpRules, EveryChangeOfAnIpResourceRecordsAProvenance) {
  std::string pid = patient();
  std::string id = createdId(post("/CarePlan", plan({.patient_id = pid})));
  ASSERT_EQ(put("/CarePlan/" + id, plan({.id = id, .patient_id = pid, .life = "consented"})).status, 200);
  ASSERT_EQ(del("/CarePlan/" + id).status, 200);
  HttpResult found = get("/Provenance?target=CarePlan/" + id + "&_count=10&_total=accurate");
  ASSERT_EQ(found.status, 200) << found.body;
  EXPECT_NE(found.body.find("\"total\":3"), std::string::npos) << found.body.substr(0, 3000);
  for (const char* v : {"/_history/1", "/_history/2", "/_history/3"}) {
    EXPECT_NE(found.body.find("CarePlan/" + id + v), std::string::npos) << v;
  }
  for (const char* code : {"\"CREATE\"", "\"UPDATE\"", "\"DELETE\""}) {
    EXPECT_NE(found.body.find(code), std::string::npos) << code;
  }
  EXPECT_NE(found.body.find("v3-DataOperation"), std::string::npos);
  EXPECT_NE(found.body.find("\"display\":\"rest\""), std::string::npos) << "the source system";
  // An unchanged update records nothing; a plain CarePlan records nothing.
  std::string plain = createdId(post("/CarePlan", R"({"resourceType":"CarePlan","status":"active","intent":"plan",)"
                                                  R"("subject":{"reference":"Patient/)" + pid + R"("}})"));
  HttpResult none = get("/Provenance?target=CarePlan/" + plain + "&_total=accurate");
  EXPECT_NE(none.body.find("\"total\":0"), std::string::npos) << none.body.substr(0, 1000);
  // Clients cannot write or delete Provenance.
  std::string any = R"({"resourceType":"Provenance","target":[{"reference":"Patient/)" + pid +
                    R"("}],"recorded":"2026-01-01T00:00:00Z","agent":[{"who":{"display":"x"}}]})";
  HttpResult forged = post("/Provenance", any);
  EXPECT_EQ(forged.status, 403) << forged.body;
  EXPECT_NE(forged.body.find("GW-50"), std::string::npos);
  const fhir::JsonValue* entries = found.root().find("entry");
  ASSERT_TRUE(entries && entries->isArray() && entries->size() > 0);
  std::string prov_id(entries->items()[0].find("resource")->find("id")->text());
  EXPECT_EQ(del("/Provenance/" + prov_id).status, 403);
}

// The Provenance of a create is built before the writer turn (only its version and time are put in inside it): what
// is stored and indexed is what the turn knows, never the stand-ins of the plan.
TEST_P(IpRules, APlannedProvenanceCarriesTheTurnsVersionAndTimeInItsBytesAndIndex) {
  std::string pid = patient();
  std::string id = createdId(post("/CarePlan", plan({.patient_id = pid})));
  HttpResult found = get("/Provenance?target=CarePlan/" + id + "&_total=accurate");
  ASSERT_EQ(found.status, 200) << found.body;
  const fhir::JsonValue* entries = found.root().find("entry");
  ASSERT_TRUE(entries && entries->isArray() && entries->size() == 1) << found.body.substr(0, 2000);
  const fhir::JsonValue& prov = *entries->items()[0].find("resource");
  const std::string recorded(prov.find("recorded")->text());
  const std::string updated(prov.find("meta")->find("lastUpdated")->text());
  EXPECT_EQ(recorded.find("2000-01-01"), std::string::npos) << recorded;
  EXPECT_EQ(found.body.find("2000-01-01"), std::string::npos) << "no stand-in in the stored bytes";
  EXPECT_NE(found.body.find("\"reference\":\"CarePlan/" + id + "/_history/1\""), std::string::npos);
  // The plan's version time is the Provenance's recorded instant.
  HttpResult plan_read = get("/CarePlan/" + id);
  EXPECT_EQ(std::string(plan_read.root().find("meta")->find("lastUpdated")->text()), recorded);
  auto total = [&](const std::string& query) {
    HttpResult r = get("/Provenance?target=CarePlan/" + id + "&_total=accurate&" + query);
    EXPECT_EQ(r.status, 200) << r.body;
    const fhir::JsonValue* t = r.root().find("total");
    return t ? std::stoi(std::string(t->text())) : -1;
  };
  EXPECT_EQ(total("recorded=" + recorded.substr(0, 10)), 1) << "the recorded row is the turn's";
  EXPECT_EQ(total("recorded=2000-01-01"), 0) << "not the stand-in's";
  EXPECT_EQ(total("_lastUpdated=" + updated.substr(0, 10)), 1);
  EXPECT_EQ(total("_lastUpdated=le2000-01-02"), 0);
}

// The Provenance of a create is made from a template per target type, activity and origin (its ids stood in): each
// write's record carries its own id and its own target, in its bytes and in every index row, however many writes
// reuse one template.
TEST_P(IpRules, ProvenancesMadeFromOneTemplateEachCarryTheirOwnIdAndTarget) {
  std::vector<std::string> plans;
  std::vector<std::string> provenances;
  const std::string pid = patient();
  for (int i = 0; i < 3; ++i) {  // ended plans: the one-active-plan key does not apply
    HttpResult created = post("/CarePlan", plan({.patient_id = pid, .life = "ended", .status = "revoked"}));
    ASSERT_EQ(created.status, 201) << created.body;
    plans.push_back(createdId(created));
  }
  for (const std::string& id : plans) {
    HttpResult found = get("/Provenance?target=CarePlan/" + id + "&_total=accurate");
    ASSERT_EQ(found.status, 200) << found.body;
    EXPECT_EQ(found.body.find("stand-in"), std::string::npos) << found.body.substr(0, 2000);
    const fhir::JsonValue* entries = found.root().find("entry");
    ASSERT_TRUE(entries && entries->isArray() && entries->size() == 1) << found.body.substr(0, 2000);
    const fhir::JsonValue& prov = *entries->items()[0].find("resource");
    provenances.emplace_back(prov.find("id")->text());
    EXPECT_NE(found.body.find("\"reference\":\"CarePlan/" + id + "/_history/1\""), std::string::npos);
  }
  EXPECT_NE(provenances[0], provenances[1]);
  EXPECT_NE(provenances[1], provenances[2]);
  for (size_t i = 0; i < plans.size(); ++i) {
    // By its own id, by its target and by its agent: each row names this record, none the stand-ins.
    HttpResult by_id = get("/Provenance?_id=" + provenances[i] + "&target=CarePlan/" + plans[i] +
                           "&agent:identifier=http://planbro.no/fhir/NamingSystem/source-system|rest&_total=accurate");
    ASSERT_EQ(by_id.status, 200) << by_id.body;
    EXPECT_NE(by_id.body.find("\"total\":1"), std::string::npos) << by_id.body.substr(0, 1000);
    HttpResult other = get("/Provenance?_id=" + provenances[i] + "&target=CarePlan/" + plans[(i + 1) % plans.size()] +
                           "&_total=accurate");
    EXPECT_NE(other.body.find("\"total\":0"), std::string::npos) << other.body.substr(0, 1000);
  }
  for (const char* query : {"_id=planbro-provenance-id-stand-in", "target=CarePlan/planbro-provenance-target-stand-in"}) {
    HttpResult none = get(std::string("/Provenance?_total=accurate&") + query);
    EXPECT_NE(none.body.find("\"total\":0"), std::string::npos) << query << ": " << none.body.substr(0, 1000);
  }
  HttpResult by_agent = get("/Provenance?agent:identifier=http://planbro.no/fhir/NamingSystem/source-system|rest"
                            "&_total=accurate&_count=1");
  ASSERT_EQ(by_agent.status, 200) << by_agent.body;
  EXPECT_EQ(by_agent.body.find("\"total\":0"), std::string::npos) << by_agent.body.substr(0, 1000);
}

// A store transaction that counts the Patient reads made in it (read and readForUpdate); all else passed on.
class PatientReadCounter final : public store::WriteTransaction {
 public:
  explicit PatientReadCounter(store::WriteTransaction& inner) : inner_(inner) {}
  int patient_reads = 0;

  Result<store::WriteResult> create(std::string_view t, store::ResourceContent c,
                                    std::optional<std::string_view> id) override {
    return inner_.create(t, c, id);
  }
  Result<store::WriteResult> update(std::string_view t, std::string_view id, store::ResourceContent c,
                                    std::optional<int64_t> e) override {
    return inner_.update(t, id, c, e);
  }
  Result<store::WriteResult> remove(std::string_view t, std::string_view id, std::optional<int64_t> e) override {
    return inner_.remove(t, id, e);
  }
  Result<store::ClaimResult> claimKey(const store::BusinessKey& k, std::string_view id) override {
    return inner_.claimKey(k, id);
  }
  Status releaseKey(const store::BusinessKey& k) override { return inner_.releaseKey(k); }
  Status releaseKeyHeldBy(const store::BusinessKey& k, std::string_view id) override {
    return inner_.releaseKeyHeldBy(k, id);
  }
  Result<std::optional<std::string>> findKeyOwner(const store::BusinessKey& k) override {
    return inner_.findKeyOwner(k);
  }
  Status replaceIndex(std::string_view t, std::string_view id, const std::vector<store::IndexRow>& r) override {
    return inner_.replaceIndex(t, id, r);
  }
  Status addIndex(std::string_view t, std::string_view id, const std::vector<store::IndexRow>& r) override {
    return inner_.addIndex(t, id, r);
  }
  Result<store::ResourceVersion> read(std::string_view t, std::string_view id) override {
    patient_reads += t == "Patient";
    return inner_.read(t, id);
  }
  Result<store::ResourceVersion> readForUpdate(std::string_view t, std::string_view id) override {
    patient_reads += t == "Patient";
    return inner_.readForUpdate(t, id);
  }
  Status commit() override { return inner_.commit(); }
  void rollback() override { inner_.rollback(); }
  bool retryable() const override { return inner_.retryable(); }

 private:
  store::WriteTransaction& inner_;
};

// GW-01's person check (subject.reference and subject.identifier name one person) is answered by the Patient's
// person-number key when that Patient holds it, without reading and parsing the Patient; when it does not, the
// Patient is read and a mismatch is still refused.
TEST_P(IpRules, ThePatientCheckIsAnsweredByThePersonNumberKeyWithoutReadingThePatient) {
  const std::string pid = patient();  // the identity hook claims her person number
  ops::WriterOptions options;
  options.hooks = restOptions().writer.hooks;
  const ops::ResourceWriter writer(options);
  // Applies `body` as a create in a transaction rolled back afterwards; the Patient reads it took.
  auto attempt = [&](const std::string& body, int& reads) -> Status {
    auto doc = fhir::JsonDocument::parse(body);
    if (!doc.isOk()) return doc.status();
    ops::WriteIntent intent;
    intent.type = "CarePlan";
    auto prepared = writer.prepare(intent, doc->root());
    if (!prepared.isOk()) return prepared.status();
    auto tx = store_->begin({});
    if (!tx.isOk()) return tx.status();
    PatientReadCounter counted(**tx);
    auto applied = writer.apply(counted, *prepared);
    reads = counted.patient_reads;
    counted.rollback();
    return applied.status();
  };
  int reads = -1;
  Status same = attempt(plan({.patient_id = pid}), reads);
  EXPECT_TRUE(same.isOk()) << same.message();
  EXPECT_EQ(reads, 0) << "her key says she carries the number";

  std::optional<std::string> other;  // another person's valid synthetic fødselsnummer
  for (int individ = 100; !other && individ < 200; ++individ) {
    other = fhir::no::withCheckDigits("010203" + std::to_string(individ));
  }
  ASSERT_TRUE(other.has_value());
  std::string mismatched = plan({.patient_id = pid});
  mismatched.replace(mismatched.find(kFnr), std::string_view(kFnr).size(), *other);
  Status refused = attempt(mismatched, reads);
  EXPECT_EQ(refused.code(), StatusCode::kUnprocessable) << refused.message();
  EXPECT_EQ(reads, 1) << "a number she does not hold: the Patient decides";
}

// The agent types are codes without a display, and `agent-type` is not indexed for Provenance: every record the
// gateway writes has the same two (author, assembler), so the parameter would select them all, and its rows were a
// third of the record's index rows (docs/performance.md). It is refused, never answered from rows never written;
// who and which system are found by `agent`.
TEST_P(IpRules, AProvenancesAgentTypesAreCodesAndItsAgentsAreFoundByAgentNotAgentType) {
  const std::string pid = patient();
  const std::string id = createdId(post("/CarePlan", plan({.patient_id = pid})));
  HttpResult found = get("/Provenance?target=CarePlan/" + id + "&_total=accurate");
  ASSERT_EQ(found.status, 200) << found.body;
  const fhir::JsonValue* entries = found.root().find("entry");
  ASSERT_TRUE(entries && entries->isArray() && entries->size() == 1) << found.body.substr(0, 2000);
  const fhir::JsonValue* agents = entries->items()[0].find("resource")->find("agent");
  ASSERT_TRUE(agents && agents->isArray() && agents->size() == 2) << found.body.substr(0, 2000);
  std::vector<std::string> codes;
  for (const fhir::JsonValue& agent : agents->items()) {
    const fhir::JsonValue& c = agent.find("type")->find("coding")->items()[0];
    codes.emplace_back(c.find("code")->text());
    EXPECT_EQ(c.find("display"), nullptr) << codes.back();
  }
  EXPECT_EQ(codes, (std::vector<std::string>{"author", "assembler"}));
  for (const char* code : {"author", "assembler"}) {
    HttpResult by_type = get("/Provenance?target=CarePlan/" + id +
                             "&agent-type=http://terminology.hl7.org/CodeSystem/provenance-participant-type|" + code +
                             "&_total=accurate");
    EXPECT_EQ(by_type.status, 400) << code << ": " << by_type.body.substr(0, 1000);
    EXPECT_NE(by_type.body.find("is not indexed for Provenance"), std::string::npos) << by_type.body.substr(0, 1000);
  }
  // The assembler (the source system) by its identifier; the author without a principal (this test's handler runs
  // open) by the agent's presence.
  for (const std::string& query : {std::string("agent:identifier=http://planbro.no/fhir/NamingSystem/source-system|rest"),
                                  std::string("agent:missing=false")}) {
    HttpResult by_agent = get("/Provenance?target=CarePlan/" + id + "&" + query + "&_total=accurate");
    ASSERT_EQ(by_agent.status, 200) << query << ": " << by_agent.body.substr(0, 1000);
    EXPECT_NE(by_agent.body.find("\"total\":1"), std::string::npos) << query << ": " << by_agent.body.substr(0, 1000);
  }
  HttpResult other_system = get("/Provenance?target=CarePlan/" + id +
                                "&agent:identifier=http://planbro.no/fhir/NamingSystem/source-system|adapter:plo"
                                "&_total=accurate");
  ASSERT_EQ(other_system.status, 200) << other_system.body.substr(0, 1000);
  EXPECT_NE(other_system.body.find("\"total\":0"), std::string::npos) << other_system.body.substr(0, 1000);
  // The CapabilityStatement offers what is indexed: agent, target, recorded, patient; not agent-type.
  HttpResult metadata = get("/metadata");
  ASSERT_EQ(metadata.status, 200);
  const fhir::JsonValue* rest = metadata.root().find("rest");
  ASSERT_TRUE(rest && rest->isArray() && rest->size() > 0);
  std::vector<std::string> params;
  for (const fhir::JsonValue& r : rest->items()[0].find("resource")->items()) {
    if (r.find("type")->text() != "Provenance") continue;
    for (const fhir::JsonValue& p : r.find("searchParam")->items()) params.emplace_back(p.find("name")->text());
  }
  for (const char* wanted : {"agent", "target", "recorded", "patient", "entity"}) {
    EXPECT_NE(std::find(params.begin(), params.end(), wanted), params.end()) << wanted;
  }
  EXPECT_EQ(std::find(params.begin(), params.end(), "agent-type"), params.end());
}

// Templates are per origin: each principal's Provenance names that principal, and a principal whose name contains
// the templates' placeholder text gets its Provenance built whole, with its name as given.
TEST_P(IpRules, EachOriginsProvenanceNamesItsOwnPrincipalEvenOneThatLooksLikeAStandIn) {
  const std::string pid = patient();
  ip::IpRulesOptions options;
  options.clock = fixedNow;
  ops::OperationsOptions ops_options;
  for (auto& hook : ip::makeIpRuleHooks(options, ip::MeasureStatusGraph{})) ops_options.writer.hooks.push_back(hook);
  search::SearchExecutor executor(*store_);
  ops::Operations operations(*store_, executor, ops_options);
  const std::vector<std::string> actors = {"clinician-a", "clinician-b", "clinician-a", "user stand-in",
                                           "planbro-provenance-id-stand-in"};
  for (const std::string& actor : actors) {
    ops::WriteContext context;
    context.actor = actor;
    context.source_system = "test";
    auto doc = fhir::JsonDocument::parse(plan({.patient_id = pid, .life = "ended", .status = "revoked"}));
    ASSERT_TRUE(doc.isOk());
    fhir::OperationOutcome outcome;
    auto written = operations.create(context, "CarePlan", doc->root(), {}, &outcome);
    ASSERT_TRUE(written.isOk()) << written.status().message();
    const std::string id = written->version.id;
    HttpResult found = get("/Provenance?target=CarePlan/" + id + "&_total=accurate");
    ASSERT_EQ(found.status, 200) << found.body;
    const fhir::JsonValue* entries = found.root().find("entry");
    ASSERT_TRUE(entries && entries->isArray() && entries->size() == 1) << actor << ": " << found.body.substr(0, 2000);
    const fhir::JsonValue& prov = *entries->items()[0].find("resource");
    const fhir::JsonValue& who = *prov.find("agent")->items()[0].find("who");
    EXPECT_EQ(who.find("identifier")->find("value")->text(), actor);
    EXPECT_NE(found.body.find("\"reference\":\"CarePlan/" + id + "/_history/1\""), std::string::npos) << actor;
    const std::string prov_id(prov.find("id")->text());
    EXPECT_NE(prov_id, "planbro-provenance-id-stand-in");
    std::string encoded = actor;
    for (size_t at = encoded.find(' '); at != std::string::npos; at = encoded.find(' ', at)) encoded.replace(at, 1, "%20");
    HttpResult by_agent = get("/Provenance?_id=" + prov_id + "&agent:identifier=http://planbro.no/fhir/NamingSystem/"
                              "principal|" + encoded + "&_total=accurate");
    EXPECT_NE(by_agent.body.find("\"total\":1"), std::string::npos) << actor << ": " << by_agent.body.substr(0, 1000);
  }
}

INSTANTIATE_TEST_SUITE_P(Engines, IpRules, ::testing::ValuesIn(engines()));

// The start-up backfill (ops::claimStoredKeys through the plan rule itself): plans stored before the rule existed get
// their keys once, duplicates are named without the person number, and a second run reads nothing.
TEST_P(IpRules, PlansStoredBeforeTheRuleGetTheirKeysOnceAndDuplicatesAreNamed) {
  // Written as an older planbro would have: versions without any active-plan key, straight into the store.
  auto legacy = [&](const std::string& id, const PlanSpec& spec) {
    Status s = store_->runTransaction({"", "old"}, [&](store::WriteTransaction& tx) {
      return tx.create("CarePlan", {plan(spec), {}}, id).status();
    });
    ASSERT_TRUE(s.isOk()) << s.message();
  };
  legacy("a", {.id = "a", .patient_id = "p1", .status = "active"});
  legacy("b", {.id = "b", .patient_id = "p1", .life = "started", .status = "active"});  // the same patient again
  legacy("c", {.id = "c", .patient_id = "p1", .life = "ended", .status = "completed"});  // ended: holds no key
  Status plain = store_->runTransaction({"", "old"}, [&](store::WriteTransaction& tx) {
    return tx.create("CarePlan", {R"({"resourceType":"CarePlan","id":"d","status":"active","intent":"plan",)"
                                  R"("subject":{"reference":"Patient/p1"}})", {}}, std::string_view("d")).status();
  });
  ASSERT_TRUE(plain.isOk()) << plain.message();

  auto first = ip::claimStoredActivePlans(*store_, 2);  // two per transaction: the pages join up
  ASSERT_TRUE(first.isOk()) << first.status().message();
  EXPECT_FALSE(first->already_done);
  EXPECT_EQ(first->plans, 4u);
  EXPECT_EQ(first->claimed, 1u);
  ASSERT_EQ(first->duplicates.size(), 1u);
  EXPECT_EQ(first->duplicates[0], "CarePlan/b (active individual plan of the patient held by CarePlan/a)");
  EXPECT_EQ(first->duplicates[0].find(kFnr), std::string::npos);  // never the person number

  // The claimed key now holds: a new active plan for the person is refused, naming the plan stored before.
  std::string pid = patient();
  HttpResult next = post("/CarePlan", plan({.patient_id = pid}));
  EXPECT_EQ(next.status, 409) << next.body.substr(0, 1500);
  EXPECT_NE(next.body.find("CarePlan/a"), std::string::npos) << next.body.substr(0, 1500);

  auto second = ip::claimStoredActivePlans(*store_);
  ASSERT_TRUE(second.isOk());
  EXPECT_TRUE(second->already_done);
  EXPECT_EQ(second->plans, 0u);
}

// `planbro serve` installs the rules: a profile-valid IP plan is held to them, and a plan stored before the rule
// existed is keyed by the start-up backfill.
TEST(IpRulesServed, ServeInstallsTheRulesAndBackfillsStoredPlans) {
  std::string dir = (std::filesystem::temp_directory_path() / "planbro-ip-serve-XXXXXX").string();
  ASSERT_NE(mkdtemp(dir.data()), nullptr);
  {
    // A plan written without the rules, as an older version would have.
    store::SqliteStoreOptions so;
    so.path = dir + "/planbro.db";
    auto s = store::openSqliteStore(so);
    ASSERT_TRUE(s.isOk()) << s.status().message();
    http::Request put_plan;
    put_plan.method = "PUT";
    put_plan.target = put_plan.path = "/CarePlan/old-plan";
    put_plan.headers.set("Content-Type", "application/fhir+json");
    put_plan.body = plan({.id = "old-plan", .patient_id = "p1"});
    http::RequestContext context;
    RestOptions unchecked;
    unchecked.check_references = false;  // Patient/p1 is not stored
    RestHandler loader(**s, unchecked);  // no IP rules: as an older version wrote
    http::Response written = loader.handle(put_plan, context);
    ASSERT_EQ(written.status, 201) << written.body;
  }
  ServeOptions options;
  options.overrides.listen = "127.0.0.1:0";
  options.overrides.data_dir = dir;
  options.setup = makeRestServeSetup();
  options.on_started = [&](uint16_t port, std::function<void()> stop) {
    HttpResult patient = request(port, "POST", "/Patient",
                                 R"({"resourceType":"Patient","id":"x","identifier":[{"system":")" +
                                     std::string(kFnrOid) + R"(","value":")" + kFnr + R"("}]})");
    EXPECT_EQ(patient.status, 201) << patient.body;
    std::string id = patient.str("id");
    HttpResult second = request(port, "POST", "/CarePlan", plan({.patient_id = id}));
    EXPECT_EQ(second.status, 409) << second.body.substr(0, 2000);
    EXPECT_NE(second.body.find("CarePlan/old-plan"), std::string::npos) << second.body.substr(0, 2000);
    HttpResult forged = request(port, "POST", "/Provenance",
                                R"({"resourceType":"Provenance","target":[{"reference":"Patient/)" + id + R"("}],)"
                                R"("recorded":"2026-01-01T00:00:00Z","agent":[{"who":{"display":"x"}}]})");
    EXPECT_EQ(forged.status, 403) << forged.body;
    stop();
  };
  std::ostringstream err;
  EXPECT_EQ(runServe(options, err), 0) << err.str();
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

}  // namespace
}  // namespace planbro::gateway::rest::testing
