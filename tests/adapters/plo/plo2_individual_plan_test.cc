// PLO 2.0 OpplysningerOmIndividuellPlan (tests/data/plo/, hand-written from the schema): validated by the codec's own
// schema set, mapped to a Communication and a proposed CareTeam with the coordinator, linked on the inbound path to
// the patient's plan; hostile variants are answered Avvist T02 (the document does not validate) and write nothing.

#include <stdlib.h>

#include "planbro/adapters/plo/inbound.h"
#include "planbro/gateway/search/search_executor.h"
#include "inbound_fixture.h"
#include "plo_test_support.h"

namespace planbro::adapters::plo {
namespace {

using testing::plo2Sample;
using testing::replaced;
using testing::sharedCodec;

TEST(Plo2IndividualPlan, TheSampleValidatesAgainstThePlo20SchemasAndMaps) {
  auto codec = sharedCodec();
  ASSERT_NE(codec, nullptr);
  const std::string sample = plo2Sample();
  ASSERT_NE(sample.find("OpplysningerOmIndividuellPlan"), std::string::npos);
  const DecodedMessage m = codec->decode(sample);
  ASSERT_EQ(m.status, AppRecStatus::kOk) << m.summary << (m.errors.empty() ? "" : ": " + m.errors.front().text);
  ASSERT_EQ(m.writes.size(), 2u);
  EXPECT_EQ(m.writes[0].type, "Communication");
  EXPECT_NE(m.writes[0].json.find("individuell plan foreligger: true"), std::string::npos) << m.writes[0].json;
  EXPECT_NE(m.writes[0].json.find("koordinator oppnevnt: true"), std::string::npos) << m.writes[0].json;
  EXPECT_EQ(m.writes[1].type, "CareTeam");
  EXPECT_NE(m.writes[1].json.find("Omsorg"), std::string::npos) << m.writes[1].json;
  EXPECT_TRUE(m.coordinator_proposed);  // the contact person holds role 9034#8
  EXPECT_NE(m.writes[1].json.find("individuell plan foreligger; koordinator er oppnevnt"), std::string::npos)
      << m.writes[1].json;
  const DecodedMessage without = codec->decode(
      replaced(replaced(sample, "<IndividuellPlanForeligger>true<", "<IndividuellPlanForeligger>false<"),
               "<KoordinatorOppnevnt>true<", "<KoordinatorOppnevnt>0<"));
  ASSERT_EQ(without.status, AppRecStatus::kOk) << without.summary;
  EXPECT_NE(without.writes[1].json.find("individuell plan ikke foreligger; koordinator er ikke oppnevnt"),
            std::string::npos)
      << without.writes[1].json;
  EXPECT_NE(m.summary.find("PLO 2.0"), std::string::npos) << m.summary;
}

TEST(Plo2IndividualPlan, HostileVariantsAreAnsweredAvvistT02) {
  auto codec = sharedCodec();
  ASSERT_NE(codec, nullptr);
  const std::string sample = plo2Sample();
  const std::string wrong_type =
      replaced(sample, "<IndividuellPlanForeligger>true<", "<IndividuellPlanForeligger>kanskje<");
  const std::string unknown_element = replaced(sample, "<Merknad>Koordinator", "<Hemmelig>x</Hemmelig><Merknad>Koordinator");
  const std::string wrong_order = replaced(replaced(sample, "<KoordinatorOppnevnt>true</KoordinatorOppnevnt>", ""),
                                           "<IndividuellPlanForeligger>",
                                           "<KoordinatorOppnevnt>true</KoordinatorOppnevnt><IndividuellPlanForeligger>");
  for (const std::string* variant : {&wrong_type, &unknown_element, &wrong_order}) {
    const DecodedMessage m = codec->decode(*variant);
    EXPECT_EQ(m.status, AppRecStatus::kRejected) << m.summary;
    ASSERT_FALSE(m.errors.empty());
    EXPECT_EQ(m.errors.front().code, "T02") << m.errors.front().text;
    EXPECT_TRUE(m.writes.empty());
  }
}

// The inbound path on a SQLite store of its own (inbound_fixture.h).
class Plo2Inbound : public testing::InboundStoreTest {};

TEST_F(Plo2Inbound, APlanThatExistsIsFoundAndTheCoordinatorLandsInTheCareTeam) {
  const std::string plan_id = createPatientWithPlan("15076500565");
  ASSERT_FALSE(plan_id.empty());

  const std::string sample = plo2Sample();
  for (int i = 0; i < 2; ++i) {  // the second delivery is the same message: nothing more is written
    auto result = processor_->process(sample);
    ASSERT_TRUE(result.isOk()) << result.status().message();
    ASSERT_EQ(result->message.status, AppRecStatus::kOk) << result->message.summary;
    ASSERT_TRUE(result->apprec.has_value());
    EXPECT_NE(result->apprec->find("<Status V=\"1\""), std::string::npos);
  }
  const std::string reference = "CarePlan/" + plan_id;
  auto linked = operations_->findIds("Communication", {{"based-on", reference}}, 10);
  ASSERT_TRUE(linked.isOk()) << linked.status().message();
  EXPECT_EQ(linked->size(), 1u);
  auto teams = operations_->findIds("CareTeam", {{"status", "proposed"}}, 10);
  ASSERT_TRUE(teams.isOk()) << teams.status().message();
  ASSERT_EQ(teams->size(), 1u);
}

TEST_F(Plo2Inbound, AHostileVariantWritesNothingAndIsAnsweredAvvist) {
  const std::string hostile =
      replaced(plo2Sample(), "<KoordinatorOppnevnt>true<", "<KoordinatorOppnevnt>oppnevnt<");
  auto result = processor_->process(hostile);
  ASSERT_TRUE(result.isOk()) << result.status().message();
  EXPECT_EQ(result->message.status, AppRecStatus::kRejected);
  ASSERT_TRUE(result->apprec.has_value());
  EXPECT_NE(result->apprec->find("<Status V=\"2\""), std::string::npos);
  EXPECT_NE(result->apprec->find("V=\"T02\""), std::string::npos);
  auto ids = operations_->findIds("Communication", {{"_lastUpdated", "ge2000-01-01"}}, 10);
  ASSERT_TRUE(ids.isOk());
  EXPECT_TRUE(ids->empty());
}

}  // namespace
}  // namespace planbro::adapters::plo
