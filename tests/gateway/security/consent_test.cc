// The negative-security suite of consent enforcement (docs/security.md, "Consent enforcement"), through the REST API:
// the real server, the authentication filter, the scope policy and the consent policy in front of the real
// RestHandler and store. Each case fails safe: a hidden resource is simply not there (404 word for word as a missing
// one, absent from searches, counts, pages, chains, _has and includes), and nothing hidden is counted or named.

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>

#include "../rest/rest_fixture.h"
#include "planbro/fhir-model/json.h"
#include "planbro/gateway/dispatch/dispatcher.h"
#include "planbro/gateway/ip/figures_operation.h"
#include "planbro/gateway/ip/ip_read_operations.h"
#include "planbro/gateway/ops/operations.h"
#include "planbro/gateway/rest/operation_registry.h"
#include "planbro/gateway/search/search_executor.h"
#include "planbro/gateway/security/auth_filter.h"
#include "planbro/gateway/security/consent_dispatch.h"
#include "planbro/gateway/security/consent_policy.h"
#include "planbro/gateway/security/emergency_access.h"
#include "planbro/gateway/subscriptions/creator.h"
#include "planbro/gateway/subscriptions/events_operation.h"
#include "planbro/gateway/subscriptions/subscription.h"
#include "test_auth_filter.h"
#include "seed_resource.h"
#include "test_keys.h"

namespace planbro::gateway::security::testing {
namespace {

using rest::testing::HttpResult;
using rest::testing::request;
using Headers = std::vector<std::pair<std::string, std::string>>;

constexpr const char* kBase = "http://fhir.test";
constexpr const char* kFnr = "urn:oid:2.16.578.1.12.4.1.4.1";
constexpr const char* kHpr = "urn:oid:2.16.578.1.12.4.1.4.4";
constexpr const char* kEnh = "urn:oid:2.16.578.1.12.4.1.4.101";
constexpr const char* kFnrA = "15038540189";   // patient A (Kari)
constexpr const char* kFnrB = "01818010083";   // patient B
constexpr const char* kFnrProxy = "15058510170";  // A's mother, the proxy
constexpr const char* kHprMember = "565501872";   // in A's CareTeam and named in A's sharing consent
constexpr const char* kHprUnnamed = "565501880";  // in A's CareTeam, not named in the consent
constexpr const char* kHprReserved = "565501899"; // in A's CareTeam, their organisation named, but reserved
constexpr const char* kHprOutsider = "565501901"; // in B's CareTeam only
constexpr const char* kHprStarter = "565501910";  // starts C's plan
constexpr const char* kOrgNav = "974589095";      // named in A's consent

// The outbox event a committed write of `type`/`id` leaves, as the dispatcher hands it to a receiver policy.
store::OutboxEvent event(const std::string& type, const std::string& id,
                         store::ChangeKind kind = store::ChangeKind::kUpdate) {
  store::OutboxEvent e;
  e.type = type;
  e.id = id;
  e.kind = kind;
  return e;
}

class ConsentEnforcement : public rest::testing::RestServerTest {
 protected:
  ConsentEnforcement() : issuer_(makeKey("ES256", "issuer-1")) {}

  rest::RestOptions restOptions() override {
    rest::RestOptions o;
    ConsentPolicyOptions consent;
    consent.clock = [this] { return store::Timestamp(std::chrono::microseconds(now_us_.load())); };
    consent.emergency_access_minutes = 60;
    consent.on_access_decision = [this](const AccessDecision& d) {
      std::lock_guard lock(decisions_mutex_);
      decisions_.push_back(std::string(accessOutcomeName(d.outcome)) + " " + std::string(d.action) + " " +
                           std::string(d.type) + "/" + std::string(d.id) + " " + std::string(d.purpose_of_use));
    };
    o.access = makeConsentPolicy(*store_, consent, makeScopePolicy());
    auto registry = std::make_shared<rest::OperationRegistry>();
    EmergencyAccessOptions emergency;
    emergency.clock = consent.clock;
    emergency.minutes = 60;
    emergency.operations.check_references = false;
    emergency.on_access_decision = consent.on_access_decision;
    EXPECT_TRUE(registry->add(makeEmergencyAccessOperation(*store_, emergency)).isOk());
    ip::IpReadOptions ip_read;
    ip_read.max_plans_per_patient = 1;  // B has two plans: a bound that must not count them for A's team
    EXPECT_TRUE(registry->add(ip::makeIpStatusOperation(ip_read)).isOk());
    EXPECT_TRUE(registry->add(ip::makeIpFiguresOperation()).isOk());
    o.operations = registry;
    o.check_references = false;
    subscriptions::SubscriptionPolicy subscriptions;
    subscriptions.enabled = true;
    subscriptions.allow_plain_http = true;
    o.writer.hooks.push_back(subscriptions::makeSubscriptionWriteHook(subscriptions));
    auto events = std::make_shared<subscriptions::EventsOptions>();
    events->max_events = 1;  // one per answer: the rest behind the next link
    events->policy = subscriptions;
    events->access = makeConsentDispatchPolicy(*store_, consent, {});
    EXPECT_TRUE(registry->add(subscriptions::makeEventsOperation(events)).isOk());
    return o;
  }
  std::vector<std::shared_ptr<http::RequestFilter>> requestFilters() override {
    return {makeTestAuthFilter(issuer_, {.base_url = kBase, .trusted_clients = {"integration-engine"}})};
  }

  void SetUp() override {
    RestServerTest::SetUp();
    if (HasFatalFailure()) return;
    seed_executor_ = std::make_unique<search::SearchExecutor>(*store_);
    ops::OperationsOptions oo;
    oo.check_references = false;
    seed_ = std::make_unique<ops::Operations>(*store_, *seed_executor_, oo);
    put("Organization", "nav", R"({"resourceType":"Organization","identifier":[{"system":")" + std::string(kEnh) +
                                   R"(","value":")" + kOrgNav + R"("},{"system":"urn:oid:2.16.578.1.12.4.1.2","value":"8765432"}],"name":"NAV"})");
    for (auto [id, hpr] : {std::pair{"member", kHprMember}, {"unnamed", kHprUnnamed}, {"reserved", kHprReserved},
                           {"outsider", kHprOutsider}, {"starter", kHprStarter}}) {
      put("Practitioner", id, R"({"resourceType":"Practitioner","identifier":[{"system":")" + std::string(kHpr) +
                                  R"(","value":")" + hpr + R"("}]})");
    }
    for (auto [id, fnr] : {std::pair{"a", kFnrA}, {"b", kFnrB}}) {
      put("Patient", id, R"({"resourceType":"Patient","identifier":[{"system":")" + std::string(kFnr) + R"(","value":")" +
                             fnr + R"("}],"name":[{"family":"Patient )" + std::string(id) + R"("}]})");
    }
    put("RelatedPerson", "mother", R"({"resourceType":"RelatedPerson","patient":{"reference":"Patient/a"},)"
                                   R"("identifier":[{"system":")" + std::string(kFnr) + R"(","value":")" + kFnrProxy + R"("}]})");
    put("CarePlan", "plan-a", plan("a", "secret plan of A"));
    put("CarePlan", "plan-b", plan("b", "secret plan of B"));
    put("CareTeam", "team-a", R"({"resourceType":"CareTeam","status":"active","subject":{"reference":"Patient/a"},)"
                              R"("participant":[{"role":[{"coding":[{"system":"urn:oid:2.16.578.1.12.4.1.1.9034","code":"8"}]}],)"
                              R"("member":{"reference":"Practitioner/member"}},{"member":{"reference":"Practitioner/unnamed"}},)"
                              R"({"member":{"reference":"Practitioner/reserved"}},{"member":{"reference":"Organization/nav"}}]})");
    put("CareTeam", "team-b", R"({"resourceType":"CareTeam","status":"active","subject":{"reference":"Patient/b"},)"
                              R"("participant":[{"member":{"reference":"Practitioner/outsider"}}]})");
    put("Consent", "share-a", sharing("a", "active", "2026-03-01", "2027-02-28"));
    put("Consent", "share-b", R"({"resourceType":"Consent","status":"active","scope":{"text":"x"},"policyRule":{"text":"samtykke"},)"
                              R"("category":[{"coding":[{"system":"http://planbro.no/fhir/CodeSystem/ip-consent-kind","code":"sharing"}]}],)"
                              R"("patient":{"reference":"Patient/b"},"provision":{"type":"permit",)"
                              R"("period":{"start":"2026-01-01","end":"2027-12-31"},)"
                              R"("actor":[{"role":{"text":"r"},"reference":{"reference":"Practitioner/outsider"}}]}})");
    // A proxy consent: A's mother consents for A (GW-44).
    put("Consent", "proxy-a", R"({"resourceType":"Consent","status":"active","scope":{"text":"x"},"policyRule":{"text":"samtykke"},"category":[{"text":"c"}],)"
                              R"("patient":{"reference":"Patient/a"},"performer":[{"reference":"RelatedPerson/mother"}],)"
                              R"("provision":{"type":"permit","period":{"start":"2026-03-01","end":"2027-02-28"}}})");
    for (int i = 0; i < 2; ++i) {
      put("Goal", "goal-a" + std::to_string(i), goal("a", "goal of A " + std::to_string(i)));
      put("Goal", "goal-b" + std::to_string(i), goal("b", "goal of B " + std::to_string(i)));
    }
    // One appointment with both patients: visible to A's team, but B's identity must not be probed through it.
    put("Appointment", "both", R"({"resourceType":"Appointment","status":"proposed","participant":[)"
                               R"({"actor":{"reference":"Patient/a"},"status":"accepted"},)"
                               R"({"actor":{"reference":"Patient/b"},"status":"accepted"}]})");
  }

  static std::string plan(const std::string& patient, const std::string& text) {
    // As the IP profile has it: subject by reference and by the patient's identifier.
    const std::string fnr = patient == "a" ? kFnrA : patient == "b" ? kFnrB : "15858512066";
    return R"({"resourceType":"CarePlan","status":"active","intent":"plan","subject":{"reference":"Patient/)" + patient +
           R"(","identifier":{"system":")" + std::string(kFnr) + R"(","value":")" + fnr + R"("}},"category":[{"coding":[{"system":"http://planbro.no/fhir/CodeSystem/ip-category","code":"individuell-plan"}]}],)"
           R"("period":{"start":"2026-03-01","end":"2027-02-28"},"description":")" + text + R"("})";
  }
  static std::string goal(const std::string& patient, const std::string& text) {
    return R"({"resourceType":"Goal","lifecycleStatus":"active","description":{"text":")" + text +
           R"("},"subject":{"reference":"Patient/)" + patient + R"("}})";
  }
  static std::string sharing(const std::string& patient, const std::string& status, const std::string& start,
                             const std::string& end) {
    return R"({"resourceType":"Consent","status":")" + status + R"(","scope":{"text":"x"},"policyRule":{"text":"samtykke"},)"
           R"("category":[{"coding":[{"system":"http://planbro.no/fhir/CodeSystem/ip-consent-kind","code":"sharing"}]}],)"
           R"("patient":{"reference":"Patient/)" + patient + R"("},"provision":{"type":"permit",)"
           R"("period":{"start":")" + start + R"(","end":")" + end + R"("},)"
           R"("data":[{"meaning":"related","reference":{"reference":"CarePlan/plan-)" + patient + R"("}}],)"
           R"("actor":[{"role":{"text":"r"},"reference":{"reference":"Practitioner/member"}},)"
           R"({"role":{"text":"r"},"reference":{"reference":"Organization/nav"}}],)"
           R"("provision":[{"type":"deny","actor":[{"role":{"text":"r"},"reference":{"reference":"Practitioner/reserved"}}]}]}})";
  }

  void put(const std::string& type, const std::string& id, std::string json) {
    testing::putResource(*seed_, "seed", type, id, std::move(json));
  }

  std::string tokenFor(const std::string& identity, const std::string& scope = "user/*.cruds") {
    return "Bearer " + signCompact(issuer_, tokenHeader(issuer_),
                                   std::string("{\"iss\":\"") + kIssuer + "\",\"aud\":\"" + kAudience +
                                       "\",\"sub\":\"s-" + std::to_string(++subjects_) +
                                       "\",\"client_id\":\"ehr-client\",\"scope\":\"" + scope + "\",\"iat\":" +
                                       std::to_string(kNow - 10) + ",\"exp\":" + std::to_string(kNow + 300) +
                                       ",\"helseid://claims/identity/security_level\":\"4\"," + identity + "}");
  }
  std::string practitioner(const std::string& hpr) {
    return tokenFor("\"helseid://claims/hpr/hpr_number\":\"" + hpr +
                    "\",\"helseid://claims/client/claims/orgnr_parent\":\"999999999\"");
  }
  std::string citizen(const std::string& pid) {
    return tokenFor("\"helseid://claims/identity/pid\":\"" + std::string(pid) + "\"", "patient/*.rs");
  }
  std::string system(const std::string& client) {
    return "Bearer " + signCompact(issuer_, tokenHeader(issuer_),
                                   std::string("{\"iss\":\"") + kIssuer + "\",\"aud\":\"" + kAudience +
                                       "\",\"client_id\":\"" + client + "\",\"exp\":" + std::to_string(kNow + 60) +
                                       ",\"helseid://claims/client/claims/orgnr_parent\":\"" + kOrgNav +
                                       "\",\"scope\":\"system/*.cruds\"}");
  }

  HttpResult call(const std::string& method, const std::string& target, const std::string& authorization,
                  const std::string& body = "", Headers extra = {}) {
    extra.emplace_back("Authorization", authorization);
    return request(port_, method, target, body, extra);
  }
  HttpResult get(const std::string& target, const std::string& authorization) { return call("GET", target, authorization); }

  // The ids of a searchset's entries of `type` (matches and includes alike).
  static std::vector<std::string> ids(const HttpResult& r, const std::string& type = "") {
    std::vector<std::string> out;
    const fhir::JsonValue* entries = r.root().find("entry");
    if (entries == nullptr) return out;
    for (const fhir::JsonValue& e : entries->items()) {
      const fhir::JsonValue* res = e.find("resource");
      if (res == nullptr) continue;
      const fhir::JsonValue* rt = res->find("resourceType");
      const fhir::JsonValue* id = res->find("id");
      if (!rt || !id) continue;
      if (!type.empty() && rt->text() != type) continue;
      out.push_back(std::string(rt->text()) + "/" + std::string(id->text()));
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  static int64_t total(const HttpResult& r) {
    const fhir::JsonValue* t = r.root().find("total");
    return t != nullptr && t->isNumber() ? std::stoll(std::string(t->text())) : -1;
  }
  // A 404 for a hidden resource is the 404 for a missing one, with only the id differing.
  void expectLikeMissing(const HttpResult& hidden, const std::string& hidden_id, const std::string& target_missing,
                         const std::string& authorization, const std::string& method = "GET", const std::string& body = "") {
    HttpResult missing = call(method, target_missing, authorization, body);
    EXPECT_EQ(hidden.status, missing.status) << hidden.body << " vs " << missing.body;
    std::string h = hidden.body;
    const std::string missing_id = target_missing.substr(target_missing.rfind('/') + 1);
    for (size_t at = h.find(hidden_id); at != std::string::npos; at = h.find(hidden_id, at + missing_id.size())) {
      h.replace(at, hidden_id.size(), missing_id);
    }
    EXPECT_EQ(h, missing.body);
  }
  size_t decisionsWith(const std::string& needle) {
    std::lock_guard lock(decisions_mutex_);
    return static_cast<size_t>(std::count_if(decisions_.begin(), decisions_.end(),
                                             [&](const std::string& d) { return d.find(needle) != std::string::npos; }));
  }

  TestKey issuer_;
  int subjects_ = 0;
  std::atomic<int64_t> now_us_{kNow * 1'000'000};
  std::mutex decisions_mutex_;
  std::vector<std::string> decisions_;
  std::unique_ptr<search::SearchExecutor> seed_executor_;
  std::unique_ptr<ops::Operations> seed_;
};

TEST_P(ConsentEnforcement, PatientAReadsTheirOwnPlanAndNeverPatientBs) {
  const std::string a = citizen(kFnrA);
  HttpResult own = get("/CarePlan/plan-a", a);
  EXPECT_EQ(own.status, 200) << own.body;
  HttpResult other = get("/CarePlan/plan-b", a);
  EXPECT_EQ(other.status, 404) << other.body;
  EXPECT_EQ(other.body.find("secret plan of B"), std::string::npos);
  expectLikeMissing(other, "plan-b", "/CarePlan/no-such-plan", a);
  EXPECT_EQ(ids(get("/CarePlan", a)), std::vector<std::string>{"CarePlan/plan-a"});
  EXPECT_EQ(ids(get("/Patient", a)), std::vector<std::string>{"Patient/a"});
  EXPECT_EQ(get("/Patient/b", a).status, 404);
  // Patient B sees B's only; the proxy (A's mother, under the proxy consent) sees A's.
  EXPECT_EQ(ids(get("/CarePlan", citizen(kFnrB))), std::vector<std::string>{"CarePlan/plan-b"});
  EXPECT_EQ(ids(get("/CarePlan", citizen(kFnrProxy))), std::vector<std::string>{"CarePlan/plan-a"});
  // Someone with no Patient at all sees nothing in any patient compartment, but the directory.
  const std::string stranger = citizen("13031353453");
  EXPECT_TRUE(ids(get("/CarePlan", stranger)).empty());
  EXPECT_EQ(ids(get("/Practitioner", stranger)).size(), 5u);
}

TEST_P(ConsentEnforcement, OnlyPractitionersInTheTeamAndNamedInTheConsentSeeThePlan) {
  EXPECT_EQ(get("/CarePlan/plan-a", practitioner(kHprMember)).status, 200);
  EXPECT_EQ(get("/CarePlan/plan-b", practitioner(kHprMember)).status, 404);
  // In the team, not named in the sharing consent (GW-43).
  const std::string unnamed = practitioner(kHprUnnamed);
  HttpResult r = get("/CarePlan/plan-a", unnamed);
  EXPECT_EQ(r.status, 404) << r.body;
  expectLikeMissing(r, "plan-a", "/CarePlan/nothing", unnamed);
  EXPECT_TRUE(ids(get("/CarePlan", unnamed)).empty());
  // Named in B's consent and team only: outside A's plan.
  EXPECT_EQ(get("/CarePlan/plan-a", practitioner(kHprOutsider)).status, 404);
  EXPECT_EQ(get("/CarePlan/plan-b", practitioner(kHprOutsider)).status, 200);
  // A trusted integration engine of an organisation in the team and the consent acts for it; an untrusted one not.
  EXPECT_EQ(get("/CarePlan/plan-a", system("integration-engine")).status, 200);
  EXPECT_EQ(get("/CarePlan/plan-a", system("some-app")).status, 404);
}

TEST_P(ConsentEnforcement, AReservedPractitionerGetsNothingThoughTheirOrganisationIsPermitted) {
  // The reserved practitioner works for NAV (named as a permitted actor); the nested deny names them (GW-42).
  const std::string reserved = tokenFor("\"helseid://claims/hpr/hpr_number\":\"" + std::string(kHprReserved) +
                                        "\",\"helseid://claims/client/claims/orgnr_parent\":\"" + kOrgNav + "\"");
  EXPECT_EQ(get("/CarePlan/plan-a", reserved).status, 404);
  EXPECT_TRUE(ids(get("/Goal", reserved)).empty());
  EXPECT_EQ(total(get("/Goal?_summary=count", reserved)), 0);
}

TEST_P(ConsentEnforcement, AnExpiredConsentStopsSharing) {
  const std::string member = practitioner(kHprMember);
  EXPECT_EQ(get("/CarePlan/plan-a", member).status, 200);
  put("Consent", "share-a", sharing("a", "active", "2026-03-01", "2026-12-31"));  // ended before kNow (2027-01-15)
  EXPECT_EQ(get("/CarePlan/plan-a", member).status, 404);
  EXPECT_TRUE(ids(get("/Goal", member)).empty());
  // A new consent period shares again at once.
  put("Consent", "share-a", sharing("a", "active", "2027-01-01", "2027-12-31"));
  EXPECT_EQ(get("/CarePlan/plan-a", member).status, 200);
}

TEST_P(ConsentEnforcement, AWithdrawnConsentStopsSharingAtOnce) {
  const std::string member = practitioner(kHprMember);
  EXPECT_EQ(get("/Goal/goal-a0", member).status, 200);
  put("Consent", "share-a", sharing("a", "inactive", "2026-03-01", "2027-02-28"));
  EXPECT_EQ(get("/Goal/goal-a0", member).status, 404);
  EXPECT_EQ(total(get("/Goal?_total=accurate", member)), 0);
  // A deleted consent: the same.
  put("Consent", "share-a", sharing("a", "active", "2026-03-01", "2027-02-28"));
  EXPECT_EQ(get("/Goal/goal-a0", member).status, 200);
  EXPECT_EQ(call("DELETE", "/Consent/share-a", citizen(kFnrA)).status, 403);  // patient/*.rs: no delete scope
  ops::WriteContext wc;
  ASSERT_TRUE(seed_->remove(wc, "Consent", "share-a", std::nullopt, nullptr).isOk());
  EXPECT_EQ(get("/Goal/goal-a0", member).status, 404);
}

TEST_P(ConsentEnforcement, SearchesNeitherMatchNorCountNorPageOverHiddenResources) {
  const std::string member = practitioner(kHprMember);
  EXPECT_EQ(ids(get("/Goal", member)), (std::vector<std::string>{"Goal/goal-a0", "Goal/goal-a1"}));
  EXPECT_EQ(total(get("/Goal?_summary=count", member)), 2);
  EXPECT_EQ(total(get("/Goal?_total=accurate", member)), 2);
  // Paging: every page is full until the visible ones run out, and no page holds a hidden one.
  HttpResult first = get("/Goal?_count=1&_total=accurate", member);
  EXPECT_EQ(ids(first).size(), 1u) << first.body;
  EXPECT_EQ(total(first), 2);
  std::string next;
  for (const fhir::JsonValue& l : first.root().find("link")->items()) {
    if (l.find("relation")->text() == "next") next = std::string(l.find("url")->text());
  }
  ASSERT_FALSE(next.empty()) << first.body;
  HttpResult second = get(next.substr(std::string(kBase).size()), member);
  EXPECT_EQ(ids(second).size(), 1u) << second.body;
  EXPECT_EQ(second.body.find("goal of B"), std::string::npos);
  // Searching for B's resources by their patient: nothing, not an error.
  EXPECT_TRUE(ids(get("/Goal?subject=Patient/b", member)).empty());
  EXPECT_EQ(total(get("/Goal?subject=Patient/b&_summary=count", member)), 0);
}

TEST_P(ConsentEnforcement, ChainsAndHasCannotProbeHiddenResources) {
  const std::string member = practitioner(kHprMember);
  // The shared appointment is visible; a chain through it to B's identifier must not match (B is hidden).
  EXPECT_EQ(ids(get(std::string("/Appointment?actor:Patient.identifier=") + kFnrA, member)),
            std::vector<std::string>{"Appointment/both"});
  EXPECT_TRUE(ids(get(std::string("/Appointment?actor:Patient.identifier=") + kFnrB, member)).empty());
  EXPECT_TRUE(ids(get(std::string("/Goal?subject:Patient.identifier=") + kFnrB, member)).empty());
  // _has over B's CareTeam: the outsider practitioner (visible, directory data) is not found through it.
  EXPECT_TRUE(ids(get("/Practitioner?_has:CareTeam:participant:subject=Patient/b", member)).empty());
  EXPECT_EQ(ids(get("/Practitioner?_has:CareTeam:participant:subject=Patient/a", member)).size(), 3u);
  EXPECT_TRUE(ids(get("/Patient?_has:Goal:subject:_id=goal-b0", member)).empty());
}

TEST_P(ConsentEnforcement, IncludesAndRevincludesBringInOnlyVisibleResources) {
  const std::string member = practitioner(kHprMember);
  HttpResult inc = get("/Appointment?_include=Appointment:actor", member);
  EXPECT_EQ(ids(inc, "Patient"), std::vector<std::string>{"Patient/a"}) << inc.body;
  EXPECT_EQ(inc.body.find("Patient b"), std::string::npos);
  HttpResult rev = get("/Patient?_revinclude=Goal:subject&_revinclude=Appointment:actor", member);
  EXPECT_EQ(ids(rev, "Patient"), std::vector<std::string>{"Patient/a"});
  EXPECT_EQ(ids(rev, "Goal"), (std::vector<std::string>{"Goal/goal-a0", "Goal/goal-a1"}));
  HttpResult team = get("/Practitioner?_revinclude=CareTeam:participant", member);
  EXPECT_EQ(ids(team, "CareTeam"), std::vector<std::string>{"CareTeam/team-a"}) << team.body;
}

TEST_P(ConsentEnforcement, HistoryShowsOnlyTheVersionsTheRequesterMaySee) {
  const std::string member = practitioner(kHprMember);
  // Version 1 was B's goal; version 2 moved it to A.
  put("Goal", "moved", goal("b", "once B's secret"));
  put("Goal", "moved", goal("a", "now A's"));
  HttpResult history = get("/Goal/moved/_history", member);
  ASSERT_EQ(history.status, 200) << history.body;
  EXPECT_EQ(history.body.find("once B's secret"), std::string::npos) << history.body;
  EXPECT_NE(history.body.find("now A's"), std::string::npos) << history.body;
  EXPECT_EQ(get("/Goal/moved/_history/1", member).status, 404);
  EXPECT_EQ(get("/Goal/moved/_history/2", member).status, 200);
  EXPECT_EQ(get("/Goal/_history", member).body.find("once B's secret"), std::string::npos);
  EXPECT_EQ(get("/_history", member).body.find("goal of B"), std::string::npos);
  // A hidden resource's history is as empty as a missing one's.
  HttpResult hidden = get("/Goal/goal-b0/_history", member);
  EXPECT_EQ(hidden.body.find("goal of B"), std::string::npos);
  EXPECT_EQ(ids(hidden).size(), 0u);
}

TEST_P(ConsentEnforcement, WritesOnHiddenResourcesRevealNothing) {
  const std::string member = practitioner(kHprMember);
  // Update, patch and delete of a hidden resource: 404, word for word as for a missing one.
  HttpResult del = call("DELETE", "/Goal/goal-b0", member);
  EXPECT_EQ(del.status, 404) << del.body;
  HttpResult patch = call("PATCH", "/Goal/goal-b0", member, "[]", {{"Content-Type", "application/json-patch+json"}});
  EXPECT_EQ(patch.status, 404) << patch.body;
  HttpResult patch_missing = call("PATCH", "/Goal/no-goal", member, "[]", {{"Content-Type", "application/json-patch+json"}});
  EXPECT_EQ(patch_missing.status, 404);
  HttpResult update = call("PUT", "/Goal/goal-b0", member, R"({"resourceType":"Goal","id":"goal-b0",)"
                                                           R"("lifecycleStatus":"active","description":{"text":"x"},)"
                                                           R"("subject":{"reference":"Patient/a"}})");
  EXPECT_EQ(update.status, 404) << update.body;
  EXPECT_EQ(get("/Goal/goal-b0", practitioner(kHprOutsider)).body.find("goal of B 0") != std::string::npos, true);
  // $validate of a stored hidden resource: as missing.
  EXPECT_EQ(get("/Goal/goal-b0/$validate", member).status, 404);
  EXPECT_EQ(get("/Goal/goal-a0/$validate", member).status, 200);
  // Every refusal is observable at the decision hook (where the audit sink attaches).
  EXPECT_GE(decisionsWith("deny validate Goal/goal-b0 TREAT"), 1u);
  EXPECT_GE(decisionsWith("deny delete Goal/goal-b0 TREAT"), 1u);
  // Writing into B's compartment is refused without naming anything of B's.
  HttpResult create = call("POST", "/Goal", member, goal("b", "new"));
  EXPECT_EQ(create.status, 403) << create.body;
  // If-None-Exist runs narrowed: B's matching goal is not found, so the answer (a create of A's goal) says nothing
  // about it.
  HttpResult conditional = call("POST", "/Goal", member, goal("a", "conditional"),
                                {{"If-None-Exist", "_id=goal-b0"}});
  EXPECT_EQ(conditional.status, 201) << conditional.body;
  EXPECT_EQ(conditional.body.find("goal of B"), std::string::npos);
  // A conditional delete of hidden ones deletes nothing.
  EXPECT_EQ(call("DELETE", "/Goal?_id=goal-b1", member).status, 204);
  EXPECT_EQ(get("/Goal/goal-b1", practitioner(kHprOutsider)).status, 200);
}

TEST_P(ConsentEnforcement, BatchEntriesAreNarrowedOneByOne) {
  const std::string member = practitioner(kHprMember);
  std::string batch = R"({"resourceType":"Bundle","type":"batch","entry":[)"
                      R"({"request":{"method":"GET","url":"Goal/goal-a0"}},)"
                      R"({"request":{"method":"GET","url":"Goal/goal-b0"}},)"
                      R"({"request":{"method":"GET","url":"Goal?_summary=count"}}]})";
  HttpResult b = call("POST", "/", member, batch);
  ASSERT_EQ(b.status, 200) << b.body;
  const fhir::JsonValue* entries = b.root().find("entry");
  ASSERT_TRUE(entries && entries->size() == 3) << b.body;
  auto statusOf = [&](size_t i) { return std::string(entries->items()[i].find("response")->find("status")->text()); };
  EXPECT_EQ(statusOf(0).substr(0, 3), "200");
  EXPECT_EQ(statusOf(1).substr(0, 3), "404");
  EXPECT_EQ(b.body.find("goal of B"), std::string::npos);
  EXPECT_NE(b.body.find("\"total\":2"), std::string::npos) << b.body;
}

TEST_P(ConsentEnforcement, TransactionsResolveNoConditionalReferenceToAHiddenResource) {
  const std::string member = practitioner(kHprMember);
  auto transaction = [&](const std::string& fnr) {
    return call("POST", "/", member,
                R"({"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Goal",)"
                R"("lifecycleStatus":"active","description":{"text":"t"},"subject":{"reference":"Patient?identifier=)" +
                    std::string(kFnr) + "|" + fnr + R"("}},"request":{"method":"POST","url":"Goal"}}]})");
  };
  HttpResult hidden = transaction(kFnrB);
  EXPECT_GE(hidden.status, 400) << hidden.body;
  HttpResult missing = transaction("13031353453");
  EXPECT_EQ(hidden.status, missing.status);
  std::string h = hidden.body;
  h.replace(h.find(kFnrB), std::string(kFnrB).size(), "13031353453");
  EXPECT_EQ(h, missing.body);
  EXPECT_EQ(transaction(kFnrA).status, 200);
  // A transaction updating a hidden resource fails as for a missing one, and writes nothing.
  HttpResult update = call("POST", "/", member,
                           R"({"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Goal",)"
                           R"("id":"goal-b0","lifecycleStatus":"active","description":{"text":"t"},)"
                           R"("subject":{"reference":"Patient/a"}},"request":{"method":"PUT","url":"Goal/goal-b0"}}]})");
  EXPECT_EQ(update.status, 404) << update.body;
  EXPECT_NE(store_->read("Goal", "goal-b0")->json.find("goal of B 0"), std::string::npos);
}

TEST_P(ConsentEnforcement, TheKeAdministratorSeesPlanMetadataOnly) {
  const std::string admin = tokenFor("\"helseid://claims/client/claims/orgnr_parent\":\"999999999\"",
                                     "planbro/ke-admin user/*.rs");
  HttpResult plans = get("/CarePlan", admin);
  ASSERT_EQ(plans.status, 200) << plans.body;
  EXPECT_EQ(ids(plans).size(), 2u);
  EXPECT_EQ(plans.body.find("secret plan"), std::string::npos) << plans.body;
  HttpResult one = get("/CarePlan/plan-a", admin);
  EXPECT_EQ(one.status, 200);
  EXPECT_EQ(one.body.find("secret plan"), std::string::npos) << one.body;
  EXPECT_NE(one.body.find("\"status\":\"active\""), std::string::npos) << one.body;
  EXPECT_EQ(get("/Goal", admin).status, 403);
  EXPECT_EQ(get("/Goal/goal-a0", admin).status, 403);
  // No probing clinical content through the plan's search parameters or includes.
  EXPECT_EQ(get("/CarePlan?_include=CarePlan:goal", admin).status, 403);
  EXPECT_EQ(get("/CarePlan?subject:Patient.identifier=15038540189", admin).status, 403);
  // The auditor sees no plan at all.
  EXPECT_EQ(get("/CarePlan", tokenFor("\"x\":1", "planbro/auditor user/*.rs")).status, 403);
}

TEST_P(ConsentEnforcement, EmergencyAccessIsTimeLimitedRecordedAndNotified) {
  const std::string outsider = practitioner(kHprOutsider);
  EXPECT_EQ(get("/CarePlan/plan-a", outsider).status, 404);
  auto grant = [&](const std::string& reason) {
    return call("POST", "/Patient/$emergency-access", outsider,
                R"({"resourceType":"Parameters","parameter":[{"name":"identifier","valueIdentifier":{"system":")" +
                    std::string(kFnr) + R"(","value":")" + kFnrA + R"("}},{"name":"reason","valueString":")" + reason +
                    R"("}]})");
  };
  HttpResult no_reason = grant(" ");
  EXPECT_EQ(no_reason.status, 400) << no_reason.body;
  HttpResult granted = grant("Akutt innleggelse, pasienten er bevisstløs");
  ASSERT_EQ(granted.status, 201) << granted.body;
  EXPECT_EQ(decisionsWith("emergency emergency-access Patient/a ETREAT"), 1u);
  // Reads now work, recorded as emergency with ETREAT; writes do not.
  EXPECT_EQ(get("/CarePlan/plan-a", outsider).status, 200);
  EXPECT_GE(decisionsWith("emergency read CarePlan/plan-a ETREAT"), 1u);
  EXPECT_EQ(ids(get("/Goal", outsider)).size(), 4u);  // A's two and B's own two (the outsider is in B's plan)
  EXPECT_EQ(call("POST", "/Goal", outsider, goal("a", "x")).status, 403);
  // The grant is one Communication in the outbox, for the patient and the plan's coordinator.
  auto events = store_->readOutbox(0, 1000);
  ASSERT_TRUE(events.isOk());
  std::string grant_id;
  for (const store::OutboxEvent& e : *events) {
    if (e.type == "Communication") grant_id = e.id;
  }
  ASSERT_FALSE(grant_id.empty());
  auto stored = store_->read("Communication", grant_id);
  ASSERT_TRUE(stored.isOk());
  EXPECT_NE(stored->json.find("ETREAT"), std::string::npos);
  EXPECT_NE(stored->json.find("Practitioner/member"), std::string::npos) << stored->json;  // the coordinator
  EXPECT_NE(stored->json.find("\"recipient\":[{\"reference\":\"Patient/a\"}"), std::string::npos) << stored->json;
  // Nobody forges a grant by writing such a Communication themselves.
  HttpResult forged = call("POST", "/Communication", practitioner(kHprMember), stored->json);
  EXPECT_EQ(forged.status, 403) << forged.body;
  // It ends by itself.
  now_us_ += int64_t{61} * 60 * 1'000'000;
  EXPECT_EQ(get("/CarePlan/plan-a", outsider).status, 404);
  EXPECT_EQ(ids(get("/Goal", outsider)).size(), 2u);
  // Only health personnel may ask.
  HttpResult by_patient = call("POST", "/Patient/$emergency-access", tokenFor("\"helseid://claims/identity/pid\":\"" +
                                                                               std::string(kFnrB) + "\""),
                               R"({"resourceType":"Parameters","parameter":[]})");
  EXPECT_EQ(by_patient.status, 403) << by_patient.body;
}

TEST_P(ConsentEnforcement, PlanOperationsAnswerOnlyForVisiblePlans) {
  put("CarePlan", "plan-b2", plan("b", "second plan of B"));
  auto status = [&](const std::string& fnr, const std::string& authorization) {
    return call("POST", "/Patient/$ip-status", authorization,
                R"({"resourceType":"Parameters","parameter":[{"name":"identifier","valueIdentifier":{"system":")" +
                    std::string(kFnr) + R"(","value":")" + fnr + R"("}}]})");
  };
  const std::string member = practitioner(kHprMember);
  HttpResult own = status(kFnrA, member);
  ASSERT_EQ(own.status, 200) << own.body;
  EXPECT_NE(own.body.find("CarePlan/plan-a"), std::string::npos) << own.body;
  // B's two plans are hidden: neither shown nor counted against the bound (a 422 would reveal them).
  HttpResult hidden = status(kFnrB, member);
  EXPECT_EQ(hidden.status, 200) << hidden.body;
  EXPECT_EQ(hidden.body, status("13031353453", member).body);  // word for word as for a patient without a plan
  EXPECT_EQ(status(kFnrB, practitioner(kHprOutsider)).status, 422);  // B's own team does exceed the bound
  // $ip-figures counts every plan: the KE administrator's aggregate, nobody else's.
  EXPECT_EQ(get("/$ip-figures", member).status, 403);
  EXPECT_EQ(get("/$ip-figures", citizen(kFnrA)).status, 403);
  HttpResult figures = get("/$ip-figures", tokenFor("\"x\":1", "planbro/ke-admin user/*.rs"));
  EXPECT_EQ(figures.status, 200) << figures.body;
  EXPECT_EQ(figures.body.find("Patient/"), std::string::npos);
}

TEST_P(ConsentEnforcement, TheOutboundFeedCarriesToEachReceiverOnlyWhatItMaySee) {
  auto policy = makeConsentDispatchPolicy(*store_, {}, {{"nav-epj", DispatchReceiver{kOrgNav, ""}},
                                                        {"other-epj", DispatchReceiver{"888888888", ""}},
                                                        {"nav-by-her", DispatchReceiver{"", "", "8765432"}},
                                                        {"unknown-her", DispatchReceiver{"", "", "1111111"}}});
  dispatch::SubscriberSpec nav, other, internal;
  nav.name = "nav-epj";
  other.name = "other-epj";
  internal.name = "loopback";
  const std::string a_goal = store_->read("Goal", "goal-a0")->json;
  const std::string b_goal = store_->read("Goal", "goal-b0")->json;
  // NAV is in A's team and consent: A's changes go, B's do not, not even as a tombstone.
  EXPECT_TRUE(policy->mayReceive(nav, event("Goal", "goal-a0"), &a_goal));
  EXPECT_FALSE(policy->mayReceive(nav, event("Goal", "goal-b0"), &b_goal));
  EXPECT_FALSE(policy->mayReceive(nav, event("Goal", "goal-b0", store::ChangeKind::kDelete), &b_goal));
  EXPECT_FALSE(policy->mayReceive(nav, event("Goal", "goal-a0"), nullptr));  // unreadable: not sent
  EXPECT_FALSE(policy->mayReceive(other, event("Goal", "goal-a0"), &a_goal));
  // A message receiver addressed by HER-id is the organisation carrying it; an unknown HER-id receives nothing.
  dispatch::SubscriberSpec by_her, unknown_her;
  by_her.name = "nav-by-her";
  unknown_her.name = "unknown-her";
  EXPECT_TRUE(policy->mayReceive(by_her, event("Goal", "goal-a0"), &a_goal));
  EXPECT_FALSE(policy->mayReceive(by_her, event("Goal", "goal-b0"), &b_goal));
  EXPECT_FALSE(policy->mayReceive(unknown_her, event("Goal", "goal-a0"), &a_goal));
  // Directory data goes to all; an internal subscriber is not a receiver of its own.
  const std::string practitioner_json = store_->read("Practitioner", "member")->json;
  EXPECT_TRUE(policy->mayReceive(other, event("Practitioner", "member"), &practitioner_json));
  EXPECT_TRUE(policy->mayReceive(internal, event("Goal", "goal-b0"), &b_goal));
  // A withdrawn consent stops the feed with the next event.
  put("Consent", "share-a", sharing("a", "inactive", "2026-03-01", "2027-02-28"));
  EXPECT_FALSE(policy->mayReceive(nav, event("Goal", "goal-a0"), &a_goal));
}

TEST_P(ConsentEnforcement, ACoordinatorStartsANewPlanWithoutLearningAboutOthers) {
  const std::string starter = practitioner(kHprStarter);
  const std::string patient_c = R"({"resourceType":"Patient","id":"c","identifier":[{"system":")" + std::string(kFnr) +
                                R"(","value":"15858512066"}]})";
  EXPECT_EQ(call("PUT", "/Patient/c", starter, patient_c).status, 201);
  EXPECT_EQ(get("/Patient/c", starter).status, 404);  // registered, but no consent shares it yet
  auto team = [&](const std::string& patient) {
    return R"({"resourceType":"CareTeam","status":"active","subject":{"reference":"Patient/)" + patient +
           R"("},"participant":[{"role":[{"coding":[{"system":"urn:oid:2.16.578.1.12.4.1.1.9034","code":"8"}]}],)"
           R"("member":{"reference":"Practitioner/starter"}}]})";
  };
  // A's plan has a team already: nobody forms another one with themselves as coordinator, and the refusal is the one
  // for any write outside their patients.
  HttpResult second = call("POST", "/CareTeam", starter, team("a"));
  EXPECT_EQ(second.status, 403) << second.body;
  std::string not_theirs = team("c");
  not_theirs.replace(not_theirs.find("Practitioner/starter"), 20, "Practitioner/member");
  EXPECT_EQ(second.body, call("POST", "/CareTeam", starter, not_theirs).body);
  EXPECT_EQ(call("POST", "/Goal", starter, goal("c", "too early")).status, 403);
  EXPECT_EQ(call("POST", "/CareTeam", starter, team("c")).status, 201);
  std::string consent = sharing("c", "active", "2026-03-01", "2027-02-28");
  for (auto [from, to] : {std::pair<std::string, std::string>{"Practitioner/member", "Practitioner/starter"}}) {
    consent.replace(consent.find(from), from.size(), to);
  }
  HttpResult recorded = call("POST", "/Consent", starter, consent);
  EXPECT_EQ(recorded.status, 201) << recorded.body;
  EXPECT_EQ(get("/Patient/c", starter).status, 200);
  EXPECT_EQ(call("POST", "/Goal", starter, goal("c", "now")).status, 201);
  // A team member who is no coordinator (or is reserved) cannot consent themselves in.
  std::string self_consent = sharing("a", "active", "2026-03-01", "2027-02-28");
  const std::string member_ref = "Practitioner/member";
  self_consent.replace(self_consent.find(member_ref), member_ref.size(), "Practitioner/unnamed");
  EXPECT_EQ(call("POST", "/Consent", practitioner(kHprUnnamed), self_consent).status, 403);
  EXPECT_EQ(get("/CarePlan/plan-a", practitioner(kHprUnnamed)).status, 404);
}

// A stored Subscription receives as its creator: the server records who wrote it (never what the body claims), and
// each event passes the consent as a REST read by that creator would, now, not when the Subscription was made.
TEST_P(ConsentEnforcement, AStoredSubscriptionReceivesOnlyWhatItsCreatorMaySeeNow) {
  auto policy = makeConsentDispatchPolicy(*store_, {}, {});
  auto subscribe = [&](const std::string& id, const std::string& authorization) {
    // The body claims to be a trusted system client of NAV: the server replaces it with the writer's identity.
    const std::string body =
        R"({"resourceType":"Subscription","id":")" + id + R"(","status":"requested","reason":"r","criteria":"Goal",)"
        R"("extension":[{"url":")" + std::string(subscriptions::kCreatorUrl) + R"(","extension":[)"
        R"({"url":"kind","valueCode":"system"},{"url":"trusted-client","valueBoolean":true},)"
        R"({"url":"organization-number","valueString":")" + kOrgNav + R"("},{"url":"scope","valueString":"system/*.cruds"}]}],)"
        R"("channel":{"type":"rest-hook","endpoint":"http://127.0.0.1:9/hook"}})";
    HttpResult put_result = call("PUT", "/Subscription/" + id, authorization, body);
    EXPECT_TRUE(put_result.status == 201 || put_result.status == 200) << put_result.body;
    auto stored = store_->read("Subscription", id);
    EXPECT_TRUE(stored.isOk());
    auto doc = fhir::JsonDocument::parse(stored->json);
    EXPECT_TRUE(doc.isOk());
    dispatch::SubscriberSpec spec;
    spec.name = "Subscription/" + id;
    spec.acting_for = subscriptions::readCreator(doc->root());
    return spec;
  };
  const std::string a_goal = store_->read("Goal", "goal-a0")->json;
  const std::string b_goal = store_->read("Goal", "goal-b0")->json;

  dispatch::SubscriberSpec member = subscribe("by-member", practitioner(kHprMember));
  ASSERT_TRUE(member.acting_for);
  EXPECT_EQ(member.acting_for->kind, PrincipalKind::kPractitioner);
  EXPECT_EQ(member.acting_for->hpr_number, kHprMember);
  EXPECT_FALSE(member.acting_for->trusted_client);  // the forged claim is gone
  EXPECT_NE(member.acting_for->organization_number, kOrgNav);
  EXPECT_TRUE(policy->mayReceive(member, event("Goal", "goal-a0"), &a_goal));
  EXPECT_FALSE(policy->mayReceive(member, event("Goal", "goal-b0"), &b_goal));
  EXPECT_FALSE(policy->mayReceive(member, event("Goal", "goal-b0", store::ChangeKind::kDelete), &b_goal));
  EXPECT_FALSE(policy->mayReceive(member, event("Goal", "goal-a0"), nullptr));

  // Outside A's share consent (in B's team only), and the reserved practitioner: nothing of A.
  dispatch::SubscriberSpec outsider = subscribe("by-outsider", practitioner(kHprOutsider));
  EXPECT_FALSE(policy->mayReceive(outsider, event("Goal", "goal-a0"), &a_goal));
  EXPECT_TRUE(policy->mayReceive(outsider, event("Goal", "goal-b0"), &b_goal));
  dispatch::SubscriberSpec reserved = subscribe("by-reserved", practitioner(kHprReserved));
  EXPECT_FALSE(policy->mayReceive(reserved, event("Goal", "goal-a0"), &a_goal));

  // Scopes the creator was granted bound it too: a token that may not read Goal receives no Goal.
  dispatch::SubscriberSpec narrow = subscribe("by-narrow", tokenFor("\"helseid://claims/hpr/hpr_number\":\"" +
                                                                        std::string(kHprMember) + "\"",
                                                                    "user/Subscription.cruds user/CarePlan.rs"));
  EXPECT_FALSE(policy->mayReceive(narrow, event("Goal", "goal-a0"), &a_goal));

  // Written inside a transaction Bundle: the creator is recorded the same way.
  HttpResult tx = call("POST", "/", practitioner(kHprMember),
                       R"({"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Subscription","id":"in-bundle",)"
                       R"("status":"requested","reason":"r","criteria":"Goal","channel":{"type":"rest-hook",)"
                       R"("endpoint":"http://127.0.0.1:9/hook"}},"request":{"method":"PUT","url":"Subscription/in-bundle"}}]})");
  ASSERT_EQ(tx.status, 200) << tx.body;
  auto in_bundle = store_->read("Subscription", "in-bundle");
  ASSERT_TRUE(in_bundle.isOk());
  auto in_bundle_doc = fhir::JsonDocument::parse(in_bundle->json);
  ASSERT_TRUE(in_bundle_doc.isOk());
  EXPECT_EQ(subscriptions::readCreator(in_bundle_doc->root())->hpr_number, kHprMember);

  // No recorded creator (a Subscription written by the system itself): nothing of any patient.
  dispatch::SubscriberSpec nobody;
  nobody.name = "Subscription/nobody";
  nobody.acting_for = std::make_shared<const Principal>();
  EXPECT_FALSE(policy->mayReceive(nobody, event("Goal", "goal-a0"), &a_goal));

  // The consent withdrawn after the Subscription was made stops the next event; an expired one too.
  put("Consent", "share-a", sharing("a", "inactive", "2026-03-01", "2027-02-28"));
  EXPECT_FALSE(policy->mayReceive(member, event("Goal", "goal-a0"), &a_goal));
  put("Consent", "share-a", sharing("a", "active", "2025-03-01", "2025-12-31"));
  EXPECT_FALSE(policy->mayReceive(member, event("Goal", "goal-a0"), &a_goal));
}

// Subscription/$events lists what the Subscription's creator may see now, numbered as the notifications were (the
// outbox position), one page at a time: a hidden change is not listed, not counted, not named.
TEST_P(ConsentEnforcement, SubscriptionEventsListOnlyWhatTheCreatorMaySee) {
  const std::string member = practitioner(kHprMember);
  HttpResult created = call("PUT", "/Subscription/ev", member,
                            R"({"resourceType":"Subscription","id":"ev","status":"requested","reason":"r","criteria":"Goal",)"
                            R"("channel":{"type":"rest-hook","endpoint":"http://127.0.0.1:9/hook","payload":"application/fhir+json"}})");
  ASSERT_EQ(created.status, 201) << created.body;
  // The outbox positions of A's goals (what the creator may see) and of B's.
  std::map<std::string, int64_t> position;
  auto outbox = store_->readOutbox(0, 1000);
  ASSERT_TRUE(outbox.isOk());
  for (const store::OutboxEvent& e : *outbox) {
    if (e.type == "Goal") position[e.id] = e.position;
  }
  ASSERT_EQ(position.size(), 4u);
  auto eventNumbers = [](const HttpResult& r) {
    std::vector<std::string> out;
    const fhir::JsonValue* status = r.root().find("entry")->items()[0].find("resource");
    for (const fhir::JsonValue& p : status->find("parameter")->items()) {
      if (p.find("name")->text() != "notification-event") continue;
      for (const fhir::JsonValue& part : p.find("part")->items()) {
        if (part.find("name")->text() == "event-number") out.push_back(std::string(part.find("valueString")->text()));
      }
    }
    return out;
  };
  std::vector<std::string> numbers;
  std::string target = "/Subscription/ev/$events?eventsSinceNumber=1";
  for (int page = 0; page < 20 && !target.empty(); ++page) {
    HttpResult r = get(target, member);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.body.find("goal-b"), std::string::npos) << r.body;  // never named
    EXPECT_EQ(r.body.find("goal of B"), std::string::npos);
    EXPECT_NE(r.body.find("\"type\":\"history\""), std::string::npos);
    EXPECT_NE(r.body.find("query-event"), std::string::npos);
    for (const std::string& n : eventNumbers(r)) numbers.push_back(n);
    EXPECT_LE(eventNumbers(r).size(), 1u);  // events_max_count
    target.clear();
    if (const fhir::JsonValue* links = r.root().find("link")) {
      for (const fhir::JsonValue& l : links->items()) {
        if (l.find("relation")->text() == "next") target = std::string(l.find("url")->text()).substr(std::string(kBase).size());
      }
    }
  }
  EXPECT_EQ(numbers, (std::vector<std::string>{std::to_string(position["goal-a0"]), std::to_string(position["goal-a1"])}));

  // The full resource with content=full-resource; none with id-only.
  HttpResult full = get("/Subscription/ev/$events?eventsSinceNumber=" + std::to_string(position["goal-a0"]) +
                            "&content=full-resource", member);
  EXPECT_NE(full.body.find("goal of A 0"), std::string::npos) << full.body;
  HttpResult ids = get("/Subscription/ev/$events?eventsSinceNumber=" + std::to_string(position["goal-a0"]) +
                           "&content=id-only", member);
  EXPECT_EQ(ids.body.find("goal of A 0"), std::string::npos) << ids.body;
  EXPECT_NE(ids.body.find("Goal/goal-a0"), std::string::npos) << ids.body;

  // Outside what is kept, or malformed: 400 naming the parameter.
  auto newest = store_->outboxStats();
  ASSERT_TRUE(newest.isOk());
  HttpResult beyond = get("/Subscription/ev/$events?eventsSinceNumber=" + std::to_string(newest->newest_position + 5), member);
  EXPECT_EQ(beyond.status, 400) << beyond.body;
  EXPECT_NE(beyond.body.find("eventsSinceNumber"), std::string::npos);
  EXPECT_NE(beyond.body.find("OperationOutcome"), std::string::npos);
  EXPECT_EQ(get("/Subscription/ev/$events?eventsSinceNumber=abc", member).status, 400);
  EXPECT_EQ(get("/Subscription/ev/$events?eventsSinceNumber=3&eventsUntilNumber=2", member).status, 400);
  EXPECT_EQ(get("/Subscription/ev/$events?content=everything", member).status, 400);

  // After the consent is withdrawn the same query lists nothing of A.
  put("Consent", "share-a", sharing("a", "inactive", "2026-03-01", "2027-02-28"));
  HttpResult withdrawn = get("/Subscription/ev/$events?eventsSinceNumber=" + std::to_string(position["goal-a0"]) +
                                 "&eventsUntilNumber=" + std::to_string(position["goal-a0"]), member);
  EXPECT_EQ(withdrawn.status, 200) << withdrawn.body;
  EXPECT_TRUE(eventNumbers(withdrawn).empty()) << withdrawn.body;
  EXPECT_EQ(withdrawn.body.find("goal-a0"), std::string::npos);

  // $events is in the CapabilityStatement.
  HttpResult metadata = get("/metadata", member);
  EXPECT_NE(metadata.body.find(subscriptions::kEventsOperationUrl), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Engines, ConsentEnforcement, ::testing::ValuesIn(rest::testing::engines()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace planbro::gateway::security::testing
