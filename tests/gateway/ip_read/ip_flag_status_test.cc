// GW-56 end to end over the real $ip-status: the store holds the IP package's example plan; the answer for the
// patient a PLO 2.0 message names becomes the facts the flag fills in, so the outbound message carries the
// coordinator $ip-status names, and a patient without a plan leaves the message unchanged.

#include <chrono>
#include <filesystem>

#include "../rest/rest_fixture.h"
#include "../../support/ip_examples.h"
#include "planbro/adapters/plo/ip_flag.h"
#include "planbro/adapters/plo/ip_status_facts.h"
#include "planbro/gateway/ip/ip_read_operations.h"

namespace planbro::gateway::rest::testing {
namespace {

constexpr const char* kKariFnr = "15038540189";  // the example plan's patient
constexpr const char* kSampleFnr = "15076500565";  // the PLO 2.0 sample's patient, who has no plan here

std::string statusBody(const std::string& fnr) {
  return R"({"resourceType":"Parameters","parameter":[{"name":"identifier","valueIdentifier":{"system":")"
         R"(urn:oid:2.16.578.1.12.4.1.4.1","value":")" +
         fnr + R"("}}]})";
}

std::string withPatient(std::string message, const std::string& fnr) {
  const size_t at = message.find(kSampleFnr);
  EXPECT_NE(at, std::string::npos);
  if (at != std::string::npos) message.replace(at, fnr.size(), fnr);
  return message;
}

class IpFlagFromStatus : public RestServerTest {
 protected:
  RestOptions restOptions() override {
    RestOptions o;
    // 1 April 2026: one current coordinator in the example (the hospital one's period ended 31 March).
    o.clock = [] {
      return std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::sys_days(
          std::chrono::year_month_day(std::chrono::year(2026), std::chrono::month(4), std::chrono::day(1))));
    };
    auto registry = std::make_shared<OperationRegistry>();
    EXPECT_TRUE(ip::registerIpReadOperations(*registry).isOk());
    o.operations = registry;
    return o;
  }

  void loadExamples() {
    HttpResult r = post("/", planbro::testing::ipExamplesTransaction());
    ASSERT_EQ(r.status, 200) << r.body.substr(0, 2000);
  }

  // The facts for the message's patient, as an integrator gets them: the patient from the MsgHead, then $ip-status.
  adapters::plo::IpFacts factsFor(const adapters::plo::Codec& codec, const std::string& message) {
    Result<adapters::plo::MessagePatient> patient = adapters::plo::messagePatient(codec, message);
    EXPECT_TRUE(patient.isOk()) << patient.status().message();
    if (!patient.isOk()) return {};
    HttpResult r = post("/Patient/$ip-status", statusBody(patient->id));
    EXPECT_EQ(r.status, 200) << r.body;
    Result<adapters::plo::IpFacts> facts = adapters::plo::ipFactsFromIpStatusJson(r.body);
    EXPECT_TRUE(facts.isOk()) << facts.status().message() << ": " << r.body;
    return facts.isOk() ? *facts : adapters::plo::IpFacts{};
  }
};

TEST_P(IpFlagFromStatus, TheMessageCarriesTheCoordinatorIpStatusNames) {
  loadExamples();
  auto codec = adapters::plo::loadCodec(adapters::plo::defaultPloDataDir());
  ASSERT_TRUE(codec.isOk()) << codec.status().message();
  const std::string sample = readFile(std::string(PLANBRO_TEST_DATA_DIR) + "/plo/Sammenfatning_v2-0_IndividuellPlan_Ny.xml");
  const std::string message = withPatient(sample, kKariFnr);
  const adapters::plo::IpFacts facts = factsFor(**codec, message);
  ASSERT_TRUE(facts.plan_exists);
  ASSERT_TRUE(facts.coordinator.has_value());
  const adapters::plo::IpFlagResult r = adapters::plo::flagIndividualPlan(**codec, message, facts);
  ASSERT_EQ(r.outcome, adapters::plo::IpFlagOutcome::kFlagged) << r.reason;
  EXPECT_NE(r.message.find("Siri Koordinator"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("+47 99 99 99 02"), std::string::npos) << r.message;
  EXPECT_EQ((*codec)->decode(r.message).status, adapters::plo::AppRecStatus::kOk);

  // The sample's own patient has no plan in this store: unchanged.
  const adapters::plo::IpFacts none = factsFor(**codec, sample);
  EXPECT_FALSE(none.plan_exists);
  const adapters::plo::IpFlagResult unchanged = adapters::plo::flagIndividualPlan(**codec, sample, none);
  EXPECT_EQ(unchanged.outcome, adapters::plo::IpFlagOutcome::kUnchanged);
  EXPECT_EQ(unchanged.message, sample);
}

INSTANTIATE_TEST_SUITE_P(Engines, IpFlagFromStatus, ::testing::ValuesIn(engines()));

}  // namespace
}  // namespace planbro::gateway::rest::testing
