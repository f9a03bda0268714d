// The inbound path on the durable (SQLite) store: writes through the operations layer, stamped adapter:plo; the
// same message twice changes nothing; a rejected message writes nothing; the outbound Dialogmelding validates.

#include "planbro/adapters/plo/inbound.h"

#include <stdlib.h>

#include "planbro/adapters/plo/outbound.h"
#include "planbro/gateway/search/search_executor.h"
#include "inbound_fixture.h"
#include "plo_test_support.h"

namespace planbro::adapters::plo {
namespace {

using testing::readFile;
using testing::samplesDir;
using testing::sharedCodec;

// The inbound path on a SQLite store of its own (inbound_fixture.h).
class PloInbound : public testing::InboundStoreTest {};

TEST_F(PloInbound, AForesporselIsWrittenOnceAndStampedWithTheAdapter) {
  const std::string message = testing::withValidPatient(
      readFile(samplesDir() / "dialogmelding-ks/1.0/foresporsel-og-svar/dialog-foresporsel-samsvar-test.xml"));
  auto first = processor_->process(message);
  ASSERT_TRUE(first.isOk()) << first.status().message();
  ASSERT_EQ(first->message.status, AppRecStatus::kOk) << first->message.summary;
  ASSERT_TRUE(first->apprec.has_value());
  EXPECT_NE(first->apprec->find("<Status V=\"1\""), std::string::npos);
  ASSERT_EQ(first->effects.size(), 2u);
  EXPECT_NE(first->effects[0].find("created"), std::string::npos);
  EXPECT_EQ(count("Communication"), 1u);
  EXPECT_EQ(count("Task"), 1u);

  auto ids = operations_->findIds("Communication", {{"_lastUpdated", "ge2000-01-01"}}, 10);
  ASSERT_TRUE(ids.isOk());
  auto stored = store_->read("Communication", ids->front());
  ASSERT_TRUE(stored.isOk());
  EXPECT_EQ(stored->source_system, "adapter:plo");
  EXPECT_EQ(stored->actor, "HER:8094866");

  auto second = processor_->process(message);
  ASSERT_TRUE(second.isOk());
  EXPECT_EQ(second->message.status, AppRecStatus::kOk);
  for (const std::string& effect : second->effects) EXPECT_NE(effect.find("existing"), std::string::npos) << effect;
  EXPECT_EQ(count("Communication"), 1u);
  EXPECT_EQ(count("Task"), 1u);
}

TEST_F(PloInbound, MessagesAboutAPatientWithAPlanAreLinkedToIt) {
  const std::string plan_id = createPatientWithPlan("13116900216");
  ASSERT_FALSE(plan_id.empty());

  auto result = processor_->process(testing::withValidPatient(
      readFile(samplesDir() / "dialogmelding-ks/1.0/foresporsel-og-svar/dialog-foresporsel-samsvar-test.xml")));
  ASSERT_TRUE(result.isOk()) << result.status().message();
  ASSERT_EQ(result->message.status, AppRecStatus::kOk) << result->message.summary;
  const std::string reference = "CarePlan/" + plan_id;
  auto linked = operations_->findIds("Communication", {{"based-on", reference}}, 10);
  ASSERT_TRUE(linked.isOk()) << linked.status().message();
  EXPECT_EQ(linked->size(), 1u);
  auto tasks = operations_->findIds("Task", {{"based-on", reference}}, 10);
  ASSERT_TRUE(tasks.isOk()) << tasks.status().message();
  EXPECT_EQ(tasks->size(), 1u);
}

TEST_F(PloInbound, PloNyEndringKanselleringUpdateOneProposedCareTeam) {
  const auto dir = samplesDir() / "plo-1.6" / "innleggelsesrapport_1_6_mottak";
  for (const char* file : {"Innleggelsesrapport_v1-6_Ny.xml", "Innleggelsesrapport_v1-6_Endring.xml",
                           "Innleggelsesrapport_v1-6_Kansellering.xml", "Innleggelsesrapport_v1-6_Kansellering.xml"}) {
    auto result = processor_->process(readFile(dir / file));
    ASSERT_TRUE(result.isOk()) << file << ": " << result.status().message();
    EXPECT_EQ(result->message.status, AppRecStatus::kOk) << file << ": " << result->message.summary;
  }
  EXPECT_EQ(count("Communication"), 3u);  // three distinct messages; the replayed one added nothing
  const size_t teams = count("CareTeam");
  EXPECT_GE(teams, 1u);
  EXPECT_LE(teams, 2u);  // the Ny starts the conversation the Endring and Kansellering refer to
  auto cancelled = operations_->findIds("CareTeam", {{"status", "entered-in-error"}}, 10);
  ASSERT_TRUE(cancelled.isOk()) << cancelled.status().message();
  EXPECT_EQ(cancelled->size(), 1u);
}

TEST_F(PloInbound, EveryUsableSampleIsWrittenAndAnsweredOk) {
  size_t n = 0;
  for (const std::string sub : {"plo-1.6", "dialogmelding-1.1", "dialogmelding-ks/1.0", "dialogmelding-ks/1.1"}) {
    for (const auto& entry : std::filesystem::recursive_directory_iterator(samplesDir() / sub)) {
      if (!entry.is_regular_file()) continue;
      const std::string bytes = readFile(entry.path());
      auto result = processor_->process(bytes);
      ASSERT_TRUE(result.isOk()) << entry.path() << ": " << result.status().message();
      const AppRecStatus expected =
          testing::namesUnknownTestPerson(bytes) ? AppRecStatus::kRejected : AppRecStatus::kOk;
      EXPECT_EQ(result->message.status, expected) << entry.path() << ": " << result->message.summary;
      ++n;
    }
  }
  EXPECT_GE(n, 30u);
}

TEST_F(PloInbound, ARejectedMessageWritesNothingAndIsAnsweredAvvist) {
  std::string message = readFile(samplesDir() / "dialogmelding-1.1/Helsefaglig_dialog_angi_profesjon_hos_mottaker.xml");
  const size_t start = message.find("<Id>", message.find("<Patient>"));
  const size_t digit = message.find("</Id>", start) - 1;
  message[digit] = message[digit] == '0' ? '1' : '0';
  auto result = processor_->process(message);
  ASSERT_TRUE(result.isOk());
  EXPECT_EQ(result->message.status, AppRecStatus::kRejected);
  ASSERT_TRUE(result->apprec.has_value());
  EXPECT_NE(result->apprec->find("<Status V=\"2\""), std::string::npos);
  EXPECT_NE(result->apprec->find("V=\"E31\""), std::string::npos);
  EXPECT_EQ(count("Communication"), 0u);
}

TEST_F(PloInbound, CheckOnlyPreparesWithoutWriting) {
  InboundProcessor checker(sharedCodec(), nullptr, InboundOptions{});
  auto result = checker.process(testing::withValidPatient(
      readFile(samplesDir() / "dialogmelding-ks/1.0/foresporsel-og-svar/dialog-foresporsel-samsvar-test.xml")));
  ASSERT_TRUE(result.isOk());
  EXPECT_EQ(result->message.status, AppRecStatus::kOk) << result->message.summary;
  EXPECT_EQ(result->effects.size(), 2u);
  EXPECT_EQ(count("Communication"), 0u);
}

TEST_F(PloInbound, TheNeedForIpNoticeBecomesATrackedTaskAndTheOutboundDialogValidates) {
  std::string message = readFile(samplesDir() / "dialogmelding-1.1/Helsefaglig_dialog_angi_profesjon_hos_mottaker.xml");
  const std::string topic = "<Tema>Ønsker råd om fysikalsk behandling</Tema>";
  ASSERT_NE(message.find(topic), std::string::npos);
  message.replace(message.find(topic), topic.size(), "<Tema>Behov for individuell plan</Tema>");
  auto result = processor_->process(message);
  ASSERT_TRUE(result.isOk());
  ASSERT_EQ(result->message.status, AppRecStatus::kOk) << result->message.summary;
  EXPECT_TRUE(result->message.need_for_ip);
  auto tasks = operations_->findIds("Task", {{"intent", "proposal"}}, 10);
  ASSERT_TRUE(tasks.isOk()) << tasks.status().message();
  EXPECT_EQ(tasks->size(), 1u);

  // The answer back to the hospital: a Helsefaglig dialog addressed by HER-id, valid against its schemas.
  const MsgHeadInfo& in = *result->message.head;
  OutboundDialog out;
  out.msg_id = "5b5f7a2e-6a8c-4a77-9a53-1f0c0d3b2a11";
  out.gen_date = "2026-12-07T01:00:00";
  out.conversation_ref = in.msg_id;
  out.sender = in.receiver;
  out.receiver = in.sender;
  out.patient = *in.patient;
  out.plan.status_text = "Individuell plan er startet";
  out.plan.summary = "Hovedmål: bo hjemme. Tiltak: hjemmesykepleie <2 ganger i uken> & fysioterapi.";
  out.plan.period_start = "2026-12-07";
  out.plan.plan_reference = "CarePlan/123";
  out.coordinator = {"Kari", "Nordmann", "9144889", "73555555", "kari@kommune.no"};
  auto xml = encodeHelsefagligDialog(out);
  ASSERT_TRUE(xml.isOk()) << xml.status().message();
  const DecodedMessage back = sharedCodec()->decode(*xml);
  EXPECT_EQ(back.status, AppRecStatus::kOk) << back.summary << "\n" << *xml;
  EXPECT_TRUE(back.coordinator_proposed);
  ASSERT_TRUE(back.head.has_value());
  EXPECT_EQ(back.head->receiver.herId(), in.sender.herId());

  out.receiver = Party{};
  EXPECT_FALSE(encodeHelsefagligDialog(out).isOk());
}

}  // namespace
}  // namespace planbro::adapters::plo
