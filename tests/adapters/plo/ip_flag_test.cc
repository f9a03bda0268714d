// GW-56: the «IP exists / coordinator» flag filled into an outbound PLO 2.0 message (adapters/plo/src/ip_flag.cc).
// Byte strings in, byte strings out: the flagged message validates against the shipped schemas (read back by the
// codec itself) and names the coordinator; no IP, a document without the block or a signed message is left as it
// is with a reason; hostile or unsound input (a DOCTYPE/XXE, a wrong check digit, an invalid document) is refused.

#include "planbro/adapters/plo/ip_flag.h"

#include "plo_test_support.h"

namespace planbro::adapters::plo {
namespace {

using testing::plo2Sample;
using testing::readFile;
using testing::replaced;
using testing::sharedCodec;

// The sample without its own block, as a record system that knows nothing of the plan would send it.
std::string withoutBlock(const std::string& sample) {
  const size_t start = sample.find("<OpplysningerOmIndividuellPlan>");
  const std::string end_tag = "</OpplysningerOmIndividuellPlan>";
  const size_t end = sample.find(end_tag);
  EXPECT_NE(start, std::string::npos);
  EXPECT_NE(end, std::string::npos);
  std::string out = sample;
  out.erase(start, end + end_tag.size() - start);
  return out;
}

size_t occurrences(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
  return n;
}

IpFacts planWithCoordinator() {
  IpFacts facts;
  facts.plan_exists = true;
  facts.plan_started = true;
  facts.coordinator = IpCoordinator{"Kari Koordinator", "1234567", "+47 22 33 44 55", "Bydel Frogner"};
  return facts;
}

TEST(IpFlag, AMessageWithoutTheBlockIsFlaggedValidAndNamesTheCoordinator) {
  auto codec = sharedCodec();
  ASSERT_NE(codec, nullptr);
  const std::string input = withoutBlock(plo2Sample());
  ASSERT_EQ(input.find("IndividuellPlan>"), std::string::npos);
  const IpFlagResult r = flagIndividualPlan(*codec, input, planWithCoordinator());
  ASSERT_EQ(r.outcome, IpFlagOutcome::kFlagged) << r.reason;
  EXPECT_EQ(occurrences(r.message, "OpplysningerOmIndividuellPlan>"), 2u) << r.message;  // one open, one close
  EXPECT_NE(r.message.find("IndividuellPlanForeligger>true<"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("KoordinatorOppnevnt>true<"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("Kari Koordinator, HPR-nr. 1234567, tlf. +47 22 33 44 55, Bydel Frogner"),
            std::string::npos)
      << r.message;
  EXPECT_NE(r.message.find("Individuell plan er startet"), std::string::npos);
  // The codec reads the flagged bytes back: schema-valid, and the inbound mapping sees the flag.
  const DecodedMessage read = codec->decode(r.message);
  ASSERT_EQ(read.status, AppRecStatus::kOk) << read.summary;
  ASSERT_FALSE(read.writes.empty());
  EXPECT_NE(read.writes[0].json.find("individuell plan foreligger: true"), std::string::npos) << read.writes[0].json;
  EXPECT_NE(read.writes[0].json.find("Kari Koordinator"), std::string::npos) << read.writes[0].json;
}

TEST(IpFlag, AnExistingBlockIsReplacedNotDuplicated) {
  auto codec = sharedCodec();
  ASSERT_NE(codec, nullptr);
  const std::string input = replaced(plo2Sample(), "<KoordinatorOppnevnt>true<", "<KoordinatorOppnevnt>false<");
  IpFacts facts = planWithCoordinator();
  facts.plan_started = false;
  const IpFlagResult r = flagIndividualPlan(*codec, input, facts);
  ASSERT_EQ(r.outcome, IpFlagOutcome::kFlagged) << r.reason;
  EXPECT_EQ(occurrences(r.message, "OpplysningerOmIndividuellPlan>"), 2u) << r.message;
  EXPECT_EQ(r.message.find("Koordinator oppnevnt i kommunen"), std::string::npos) << r.message;
  EXPECT_EQ(r.message.find("KoordinatorOppnevnt>false<"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("under utarbeiding"), std::string::npos) << r.message;
  EXPECT_EQ(codec->decode(r.message).status, AppRecStatus::kOk);
}

TEST(IpFlag, TheBlockGoesBeforeTheElementsTheSchemaPutsAfterIt) {
  auto codec = sharedCodec();
  ASSERT_NE(codec, nullptr);
  // InfoAndreViktigeOpplysninger follows OpplysningerOmIndividuellPlan in Sammenfatning's sequence: appending the
  // block after it would not validate.
  const std::string input = replaced(withoutBlock(plo2Sample()), "</p9:Sammenfatning>",
                                     "<InfoAndreViktigeOpplysninger/></p9:Sammenfatning>");
  ASSERT_EQ(codec->decode(input).status, AppRecStatus::kOk);
  const IpFlagResult r = flagIndividualPlan(*codec, input, planWithCoordinator());
  ASSERT_EQ(r.outcome, IpFlagOutcome::kFlagged) << r.reason;
  const size_t block = r.message.find("<OpplysningerOmIndividuellPlan>");
  const size_t later = r.message.find("<InfoAndreViktigeOpplysninger/>");
  ASSERT_NE(block, std::string::npos) << r.message;
  ASSERT_NE(later, std::string::npos) << r.message;
  EXPECT_LT(block, later) << r.message;
  EXPECT_EQ(codec->decode(r.message).status, AppRecStatus::kOk);
}

TEST(IpFlag, HelseopplysningerSaksbehandlingIsFlaggedToo) {
  auto codec = sharedCodec();
  ASSERT_NE(codec, nullptr);
  // The sample's content (TypeInnholdIMelding, FellesAdministrativeOpplysninger) is valid in both documents.
  std::string input = withoutBlock(plo2Sample());
  input = replaced(input, "<p9:Sammenfatning xmlns:p9=\"http://ehelse.no/xmlstds/po/Sammenfatning/2016-05-30\"",
                   "<p5:HelseopplysningerSaksbehandling "
                   "xmlns:p5=\"http://ehelse.no/xmlstds/po/HelseopplysningerSaksbehandling/2016-05-30\"");
  input = replaced(input, "</p9:Sammenfatning>", "<InfoAndreViktigeOpplysninger/></p5:HelseopplysningerSaksbehandling>");
  const DecodedMessage before = codec->decode(input);
  ASSERT_EQ(before.status, AppRecStatus::kOk) << (before.errors.empty() ? before.summary : before.errors.front().detail);
  const IpFlagResult r = flagIndividualPlan(*codec, input, planWithCoordinator());
  ASSERT_EQ(r.outcome, IpFlagOutcome::kFlagged) << r.reason;
  EXPECT_LT(r.message.find("<OpplysningerOmIndividuellPlan>"), r.message.find("<InfoAndreViktigeOpplysninger"));
  EXPECT_EQ(codec->decode(r.message).status, AppRecStatus::kOk);
}

TEST(IpFlag, APlanWithoutCoordinatorSaysSo) {
  auto codec = sharedCodec();
  ASSERT_NE(codec, nullptr);
  IpFacts facts;
  facts.plan_exists = true;
  const IpFlagResult r = flagIndividualPlan(*codec, withoutBlock(plo2Sample()), facts);
  ASSERT_EQ(r.outcome, IpFlagOutcome::kFlagged) << r.reason;
  EXPECT_NE(r.message.find("KoordinatorOppnevnt>false<"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("koordinator er ikke oppnevnt"), std::string::npos) << r.message;
}

TEST(IpFlag, MarkupInTheFactsIsEscapedAndTheResultStillValidates) {
  auto codec = sharedCodec();
  ASSERT_NE(codec, nullptr);
  IpFacts facts = planWithCoordinator();
  facts.coordinator->name = "Ola </Merknad><Merknad>x & \"y\"";
  const IpFlagResult r = flagIndividualPlan(*codec, withoutBlock(plo2Sample()), facts);
  ASSERT_EQ(r.outcome, IpFlagOutcome::kFlagged) << r.reason;
  EXPECT_NE(r.message.find("Ola &lt;/Merknad&gt;&lt;Merknad&gt;x &amp;"), std::string::npos) << r.message;
  EXPECT_EQ(codec->decode(r.message).status, AppRecStatus::kOk);
  // A character XML cannot carry is refused by the read-back, never sent.
  facts.coordinator->name = std::string("Ola\x01");
  const IpFlagResult control = flagIndividualPlan(*codec, withoutBlock(plo2Sample()), facts);
  EXPECT_EQ(control.outcome, IpFlagOutcome::kRefused);
  EXPECT_TRUE(control.message.empty());
  EXPECT_FALSE(control.reason.empty());
}

TEST(IpFlag, APatientWithoutAnIpIsLeftUnchangedWithAReason) {
  auto codec = sharedCodec();
  ASSERT_NE(codec, nullptr);
  const std::string input = withoutBlock(plo2Sample());
  const IpFlagResult r = flagIndividualPlan(*codec, input, IpFacts{});
  EXPECT_EQ(r.outcome, IpFlagOutcome::kUnchanged);
  EXPECT_EQ(r.message, input);
  EXPECT_NE(r.reason.find("ingen individuell plan"), std::string::npos) << r.reason;
}

TEST(IpFlag, ADocumentWhoseSchemaHasNoPlaceForTheBlockIsLeftUnchanged) {
  auto codec = sharedCodec();
  ASSERT_NE(codec, nullptr);
  // Dialogmelding 1.1 and PLO 1.6 have no such element; three sound samples of each.
  for (const char* family : {"dialogmelding-1.1", "plo-1.6"}) {
    const std::filesystem::path dir = testing::samplesDir() / family;
    ASSERT_TRUE(std::filesystem::is_directory(dir)) << dir;
    size_t tried = 0;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
      if (entry.path().extension() != ".xml" || tried >= 3) continue;
      const std::string input = testing::withValidPatient(readFile(entry.path()));
      if (codec->decode(input).status != AppRecStatus::kOk) continue;
      ++tried;
      const IpFlagResult r = flagIndividualPlan(*codec, input, planWithCoordinator());
      EXPECT_EQ(r.outcome, IpFlagOutcome::kUnchanged) << entry.path() << ": " << r.reason;
      EXPECT_EQ(r.message, input);
      EXPECT_NE(r.reason.find("har ikke plass"), std::string::npos) << r.reason;
    }
    EXPECT_GT(tried, 0u) << family;
  }
}

TEST(IpFlag, XxeIsRefusedWithoutEchoingTheInput) {
  auto codec = sharedCodec();
  ASSERT_NE(codec, nullptr);
  std::string input = withoutBlock(plo2Sample());
  input = replaced(input, "<MsgHead", "<!DOCTYPE MsgHead [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>\n<MsgHead");
  input = replaced(input, "<fk1:FamilyName>Omsorg<", "<fk1:FamilyName>&x;<");
  const IpFlagResult r = flagIndividualPlan(*codec, input, planWithCoordinator());
  EXPECT_EQ(r.outcome, IpFlagOutcome::kRefused);
  EXPECT_TRUE(r.message.empty());
  EXPECT_NE(r.reason.find("DOCTYPE"), std::string::npos) << r.reason;
  EXPECT_EQ(r.reason.find("root:"), std::string::npos) << r.reason;
}

TEST(IpFlag, AWrongCheckDigitIsRefused) {
  auto codec = sharedCodec();
  ASSERT_NE(codec, nullptr);
  const std::string input = replaced(withoutBlock(plo2Sample()), "<Id>15076500565<", "<Id>15076500566<");
  const IpFlagResult r = flagIndividualPlan(*codec, input, planWithCoordinator());
  EXPECT_EQ(r.outcome, IpFlagOutcome::kRefused);
  EXPECT_NE(r.reason.find("fødselsnummer er feil"), std::string::npos) << r.reason;
  EXPECT_FALSE(messagePatient(*codec, input).isOk());
  Result<MessagePatient> patient = messagePatient(*codec, withoutBlock(plo2Sample()));
  ASSERT_TRUE(patient.isOk()) << patient.status().message();
  EXPECT_EQ(patient->id, "15076500565");
  EXPECT_EQ(patient->id_type, "FNR");
}

TEST(IpFlag, AnInvalidOrTruncatedMessageIsRefused) {
  auto codec = sharedCodec();
  ASSERT_NE(codec, nullptr);
  const std::string sample = withoutBlock(plo2Sample());
  const IpFlagResult invalid =
      flagIndividualPlan(*codec, replaced(sample, "<TypeInnholdIMelding>", "<Ukjent/><TypeInnholdIMelding>"),
                         planWithCoordinator());
  EXPECT_EQ(invalid.outcome, IpFlagOutcome::kRefused);
  EXPECT_NE(invalid.reason.find("validerer ikke"), std::string::npos) << invalid.reason;
  for (size_t cut : {size_t{0}, size_t{1}, sample.size() / 2, sample.size() - 3}) {
    const IpFlagResult r = flagIndividualPlan(*codec, sample.substr(0, cut), planWithCoordinator());
    EXPECT_EQ(r.outcome, IpFlagOutcome::kRefused) << cut;
    EXPECT_FALSE(r.reason.empty()) << cut;
  }
}

}  // namespace
}  // namespace planbro::adapters::plo
