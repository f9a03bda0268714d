// The hospital → municipality IP scenario end to end, through the loopback message service and a real `planbro
// serve` for the municipality (adapters.plo.msh and a `plo` dispatch subscriber configured): the hospital's
// need-for-IP Dialogmelding comes in and is answered AppRec OK; the municipality's coordinator starts the plan in
// the municipality's name and appoints a coordinator through REST; a Helsefaglig dialog goes back to the hospital
// for each (answering its conversation); the hospital's AppRecs come in and are recorded; the same need-for-IP
// message delivered again makes no second Task and no second plan.
#include <fstream>
#include <sstream>

#include "msh_test_support.h"
#include "planbro/gateway/rest/serve_setup.h"
#include "rest_fixture.h"

namespace planbro::adapters::plo::testing {
namespace {

using gateway::rest::testing::request;

const std::vector<std::pair<std::string, std::string>> kJson = {{"Content-Type", "application/fhir+json"}};
constexpr std::chrono::milliseconds kWait{20000};
constexpr std::string_view kNeedForIpId = "d93cebe5-ac91-4022-8969-4f93300d8171";

size_t count(const std::vector<LoopbackMessage>& mailbox, bool apprecs) {
  size_t n = 0;
  for (const LoopbackMessage& m : mailbox) n += m.is_apprec == apprecs ? 1 : 0;
  return n;
}

bool allRead(const std::vector<LoopbackMessage>& mailbox) {
  for (const LoopbackMessage& m : mailbox) {
    if (!m.read) return false;
  }
  return true;
}

std::string totalOf(const gateway::rest::testing::HttpResult& r) {
  const size_t at = r.body.find("\"total\":");
  return at == std::string::npos ? "?" : r.body.substr(at + 8, r.body.find_first_of(",}", at) - at - 8);
}

TEST(MshScenario, HospitalToMunicipalityThroughTheMessageService) {
  const std::string dir = makeTempDir("planbro-msh-scenario");
  MshLoopback loopback(sharedCodec());
  ASSERT_TRUE(loopback.start().isOk());
  MshParty hospital = makeParty(loopback, dir, "hospital", kHospitalHer);
  ASSERT_TRUE(hospital.client);
  const TestJwk municipality_key = makeTestJwk();
  writePrivateFile(dir + "/municipality.jwk", municipality_key.private_jwk);
  loopback.registerClient("municipality", municipality_key.public_jwk, {kMunicipalityHer});

  const std::string config = dir + "/planbro.yaml";
  std::ofstream(config) << "adapters:\n"
                           "  plo:\n"
                           "    enabled: true\n"
                           "    her_id: \"" << kMunicipalityHer << "\"\n"
                           "    name: TRONDHEIM KOMMUNE, Koordinerende enhet\n"
                           "    msh:\n"
                           "      base_url: " << loopback.baseUrl() << "\n"
                           "      token_endpoint: " << loopback.tokenEndpoint() << "\n"
                           "      client_id: municipality\n"
                           "      key_file: " << dir << "/municipality.jwk\n"
                           "      scope: nhn:msh/api\n"
                           "      poll_interval_ms: 100\n"
                           "      backoff_initial_ms: 1\n"
                           "      backoff_max_ms: 5\n"
                           "      allow_plain_http: true\n"
                           "dispatch:\n"
                           "  poll_interval_ms: 5\n"
                           "  subscribers:\n"
                           "    - name: plo-out\n"
                           "      kind: plo\n"
                           "      start: beginning\n";
  gateway::ServeOptions options;
  options.config_path = config;
  options.overrides.listen = "127.0.0.1:0";
  options.overrides.data_dir = dir;
  options.setup = gateway::rest::makeRestServeSetup();

  std::vector<LoopbackMessage> hospital_box;
  std::string tasks_total, tasks_after, plans_after, metrics, metrics_after, acknowledged, awaiting;
  int plan_status = 0, team_status = 0;
  options.on_started = [&](uint16_t port, std::function<void()> stop) {
    // 1. The hospital reports the need for an IP; the municipality's planbro answers AppRec OK.
    ASSERT_TRUE(hospital.client->postMessage(needForIpMessage()).isOk());
    EXPECT_TRUE(loopback.waitForMailbox(kHospitalHer, [](const auto& box) { return count(box, true) == 1; }, kWait))
        << "no AppRec for the need-for-IP message";
    tasks_total = totalOf(request(port, "GET", "/Task?_summary=count"));

    // 2. The municipality's coordinator starts the plan, in the municipality's name, and appoints a coordinator.
    request(port, "PUT", "/Patient/p1",
            R"({"resourceType":"Patient","id":"p1","identifier":[{"system":"urn:oid:2.16.578.1.12.4.1.4.1",)"
            R"("value":"13116900216"}],"name":[{"family":"Nordmann","given":["Ola"]}]})",
            kJson);
    request(port, "PUT", "/Practitioner/pr1",
            R"({"resourceType":"Practitioner","id":"pr1","name":[{"family":"Koordinator","given":["Kari"]}],)"
            R"("telecom":[{"system":"phone","value":"73555555"},{"system":"email","value":"kari@trondheim.kommune.no"}]})",
            kJson);
    plan_status = request(port, "PUT", "/CarePlan/plan1",
                          R"({"resourceType":"CarePlan","id":"plan1","status":"active","intent":"plan",)"
                          R"("title":"Individuell plan for Ola","description":"Hovedmål: bo hjemme med støtte.",)"
                          R"("period":{"start":"2026-12-07"},"subject":{"reference":"Patient/p1"},)"
                          R"("author":{"identifier":{"system":"urn:oid:2.16.578.1.12.4.1.2","value":"112375"},)"
                          R"("display":"TRONDHEIM KOMMUNE, Koordinerende enhet"}})",
                          kJson)
                      .status;
    team_status = request(port, "PUT", "/CareTeam/team1",
                          R"({"resourceType":"CareTeam","id":"team1","status":"active",)"
                          R"("subject":{"reference":"Patient/p1"},"participant":[{"role":[{"coding":[{)"
                          R"("system":"urn:oid:2.16.578.1.12.4.1.1.9034","code":"8"}]}],)"
                          R"("member":{"reference":"Practitioner/pr1"}}]})",
                          kJson)
                      .status;

    // 3. A Helsefaglig dialog for each goes to the hospital; the hospital answers each with an AppRec OK.
    EXPECT_TRUE(loopback.waitForMailbox(kHospitalHer, [](const auto& box) { return count(box, false) == 2; }, kWait))
        << "the plan's dialogs did not reach the hospital";
    for (const LoopbackMessage& m : loopback.mailbox(kHospitalHer)) {
      if (m.is_apprec) continue;
      EXPECT_TRUE(hospital.client->postAppRec(m.id, kHospitalHer, AppRecStatus::kOk, {}).isOk());
      EXPECT_TRUE(hospital.client->markRead(m.id, kHospitalHer).isOk());
    }
    // 4. The municipality receives them (its mailbox read empty again).
    EXPECT_TRUE(loopback.waitForMailbox(kMunicipalityHer, [](const auto& box) { return box.size() == 3 && allRead(box); },
                                        kWait))
        << "the hospital's AppRecs were not taken in";
    metrics = request(port, "GET", "/metrics").body;

    // 5. The same need-for-IP message again: answered, and nothing new.
    ASSERT_TRUE(hospital.client->postMessage(needForIpMessage()).isOk());
    EXPECT_TRUE(loopback.waitForMailbox(kHospitalHer, [](const auto& box) { return count(box, true) == 2; }, kWait))
        << "no AppRec for the redelivered message";
    tasks_after = totalOf(request(port, "GET", "/Task?_summary=count"));
    // Each dialog waited for its AppRec in a tracking Task; the hospital's AppRecs closed both.
    const std::string tracking = "/Task?code=http://planbro.no/fhir/CodeSystem/plo-apprec-tracking|awaiting-apprec";
    acknowledged = totalOf(request(port, "GET", tracking + "&status=completed&_summary=count"));
    awaiting = totalOf(request(port, "GET", tracking + "&status=in-progress&_summary=count"));
    plans_after = totalOf(request(port, "GET", "/CarePlan?subject=Patient/p1&_summary=count"));
    hospital_box = loopback.mailbox(kHospitalHer);  // with the AppRec status of each dialog
    metrics_after = request(port, "GET", "/metrics").body;
    stop();
  };
  std::ostringstream err;
  EXPECT_EQ(gateway::runServe(options, err), 0) << err.str();

  EXPECT_EQ(tasks_total, "1");
  EXPECT_EQ(plan_status, 201);
  EXPECT_EQ(team_status, 201);
  EXPECT_EQ(tasks_after, "3");  // the need-for-IP Task and one tracking Task per dialog sent
  EXPECT_EQ(acknowledged, "2");
  EXPECT_EQ(awaiting, "0");
  EXPECT_EQ(plans_after, "1");

  // The first AppRec answers the need-for-IP message, OK.
  ASSERT_FALSE(hospital_box.empty());
  ASSERT_TRUE(hospital_box[0].is_apprec);
  const DecodedMessage first = sharedCodec()->decode(hospital_box[0].document);
  ASSERT_TRUE(first.apprec.has_value()) << first.summary;
  EXPECT_EQ(first.apprec->status, AppRecStatus::kOk);
  EXPECT_EQ(first.apprec->original_msg_id, kNeedForIpId);

  // The dialogs: valid messages from the municipality to the hospital, in the hospital's conversation, one for
  // the plan started and one naming the coordinator.
  size_t with_coordinator = 0, dialogs = 0;
  for (const LoopbackMessage& m : hospital_box) {
    if (m.is_apprec) continue;
    ++dialogs;
    const DecodedMessage d = sharedCodec()->decode(m.document);
    EXPECT_EQ(d.status, AppRecStatus::kOk) << d.summary;
    ASSERT_TRUE(d.head.has_value());
    EXPECT_EQ(d.head->type, "DIALOG_HELSEFAGLIG");
    EXPECT_EQ(d.head->sender.herId(), std::to_string(kMunicipalityHer));
    EXPECT_EQ(d.head->receiver.herId(), std::to_string(kHospitalHer));
    EXPECT_EQ(d.head->ref_to_conversation, kNeedForIpId);
    ASSERT_TRUE(d.head->patient.has_value());
    EXPECT_EQ(d.head->patient->id, "13116900216");
    with_coordinator += d.coordinator_proposed ? 1 : 0;
    EXPECT_EQ(m.apprec_status, "Ok");
  }
  EXPECT_EQ(dialogs, 2u);
  EXPECT_GE(with_coordinator, 1u);

  // The hospital's AppRecs were received and recorded.
  EXPECT_NE(metrics.find("planbro_plo_apprecs_received_total{status=\"Ok\"} 2"), std::string::npos) << metrics;
  // The mailbox's counters, read once the redelivered notice was answered (so the polls before it have reported):
  // the notice accepted, the two AppRecs taken in, nothing left behind.
  EXPECT_NE(metrics_after.find("planbro_plo_msh_messages_total{result=\"accepted\"}"), std::string::npos)
      << metrics_after;
  EXPECT_NE(metrics_after.find("planbro_plo_msh_messages_total{result=\"apprec\"} 2"), std::string::npos);
  EXPECT_NE(metrics_after.find("planbro_plo_msh_messages_total{result=\"retry_later\"} 0"), std::string::npos);
  EXPECT_EQ(metrics_after.find("planbro_plo_msh_poll_failures_total 1"), std::string::npos);
  EXPECT_NE(metrics_after.find("planbro_plo_apprec_events_total{event=\"sent\"} 2"), std::string::npos) << metrics_after;
  EXPECT_NE(metrics_after.find("planbro_plo_apprec_events_total{event=\"acknowledged\"} 2"), std::string::npos);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

}  // namespace
}  // namespace planbro::adapters::plo::testing
