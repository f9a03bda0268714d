// The GW-56 flag's facts read from a $ip-status answer (the Parameters ip_status.cc writes), then flagged into a
// PLO 2.0 message: the coordinator the operation names is the one the message carries.
#include "planbro/adapters/plo/ip_status_facts.h"

#include "plo_test_support.h"

namespace planbro::adapters::plo {
namespace {

constexpr std::string_view kWithPlan = R"({"resourceType":"Parameters","parameter":[
  {"name":"hasPlan","valueBoolean":true},
  {"name":"plan","valueReference":{"reference":"CarePlan/p1","display":"IP for Ola"}},
  {"name":"planStatus","valueCode":"active"},
  {"name":"coordinator","part":[
    {"name":"name","valueString":"Kari Koordinator"},
    {"name":"practitioner","valueReference":{"reference":"Practitioner/k1","display":"Kari Koordinator"}},
    {"name":"telecom","valueContactPoint":{"system":"email","value":"kari@example.no"}},
    {"name":"telecom","valueContactPoint":{"system":"phone","value":"+47 22 33 44 55"}},
    {"name":"organization","valueReference":{"reference":"Organization/o1","display":"Bydel Frogner"}}]},
  {"name":"coordinator","part":[{"name":"name","valueString":"Neste Koordinator"}]}]})";

TEST(IpStatusFacts, ThePlanAndItsFirstCoordinatorAreRead) {
  Result<IpFacts> facts = ipFactsFromIpStatusJson(kWithPlan);
  ASSERT_TRUE(facts.isOk()) << facts.status().message();
  EXPECT_TRUE(facts->plan_exists);
  EXPECT_TRUE(facts->plan_started);
  ASSERT_TRUE(facts->coordinator.has_value());
  EXPECT_EQ(facts->coordinator->name, "Kari Koordinator");
  EXPECT_EQ(facts->coordinator->telephone, "+47 22 33 44 55");
  EXPECT_EQ(facts->coordinator->organisation, "Bydel Frogner");
  EXPECT_TRUE(facts->coordinator->hpr.empty());
}

TEST(IpStatusFacts, NoPlanDraftPlanAndMalformedAnswers) {
  Result<IpFacts> none = ipFactsFromIpStatusJson(R"({"resourceType":"Parameters","parameter":[
    {"name":"hasPlan","valueBoolean":false}]})");
  ASSERT_TRUE(none.isOk()) << none.status().message();
  EXPECT_FALSE(none->plan_exists);
  EXPECT_FALSE(none->coordinator.has_value());
  Result<IpFacts> draft = ipFactsFromIpStatusJson(R"({"resourceType":"Parameters","parameter":[
    {"name":"hasPlan","valueBoolean":true},{"name":"planStatus","valueCode":"draft"}]})");
  ASSERT_TRUE(draft.isOk());
  EXPECT_TRUE(draft->plan_exists);
  EXPECT_FALSE(draft->plan_started);
  EXPECT_FALSE(draft->coordinator.has_value());
  EXPECT_FALSE(ipFactsFromIpStatusJson(R"({"resourceType":"Parameters","parameter":[]})").isOk());
  EXPECT_FALSE(ipFactsFromIpStatusJson(R"({"resourceType":"Parameters","parameter":[
    {"name":"hasPlan","valueString":"true"}]})").isOk());
  EXPECT_FALSE(ipFactsFromIpStatusJson(R"({"resourceType":"OperationOutcome"})").isOk());
  EXPECT_FALSE(ipFactsFromIpStatusJson("[").isOk());
  EXPECT_FALSE(ipFactsFromIpStatusJson("").isOk());
}

TEST(IpStatusFacts, TheFactsFlagTheMessage) {
  auto codec = testing::sharedCodec();
  ASSERT_NE(codec, nullptr);
  const std::string sample = testing::plo2Sample();
  Result<IpFacts> facts = ipFactsFromIpStatusJson(kWithPlan);
  ASSERT_TRUE(facts.isOk());
  const IpFlagResult r = flagIndividualPlan(*codec, sample, *facts);
  ASSERT_EQ(r.outcome, IpFlagOutcome::kFlagged) << r.reason;
  EXPECT_NE(r.message.find("koordinator: Kari Koordinator, tlf. +47 22 33 44 55, Bydel Frogner"), std::string::npos)
      << r.message;
  EXPECT_EQ(codec->decode(r.message).status, AppRecStatus::kOk);
}

}  // namespace
}  // namespace planbro::adapters::plo
