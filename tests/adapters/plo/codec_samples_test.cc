// Every sample under ../shared/plo/samples/ is parsed, validated against its schema and answered with the right
// AppRec; the AppRecs planbro writes validate against their own schemas.

#include <algorithm>
#include <vector>

#include "planbro/adapters/plo/apprec.h"
#include "plo_test_support.h"

namespace planbro::adapters::plo {
namespace {

using testing::readFile;
using testing::samplesDir;
using testing::sharedCodec;

std::vector<std::filesystem::path> samplesUnder(const std::string& sub) {
  std::vector<std::filesystem::path> out;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(samplesDir() / sub)) {
    if (entry.is_regular_file() && entry.path().extension() == ".xml") out.push_back(entry.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string firstCode(const DecodedMessage& m) { return m.errors.empty() ? std::string() : m.errors.front().code; }

TEST(PloSamples, EveryPloAndDialogmeldingSampleIsAcceptedAndMapped) {
  auto codec = sharedCodec();
  ASSERT_NE(codec, nullptr);
  size_t count = 0;
  for (const std::string sub : {"plo-1.6", "dialogmelding-1.1", "dialogmelding-ks/1.0", "dialogmelding-ks/1.1"}) {
    for (const auto& path : samplesUnder(sub)) {
      ++count;
      const std::string bytes = readFile(path);
      const DecodedMessage m = codec->decode(bytes);
      if (testing::namesUnknownTestPerson(bytes)) {
        EXPECT_EQ(m.status, AppRecStatus::kRejected) << path;
        ASSERT_FALSE(m.errors.empty());
        EXPECT_EQ(m.errors.front().code, "E31") << path;
        continue;
      }
      EXPECT_EQ(m.status, AppRecStatus::kOk) << path << ": " << m.summary;
      ASSERT_TRUE(m.head.has_value()) << path;
      EXPECT_FALSE(m.head->msg_id.empty()) << path;
      ASSERT_FALSE(m.writes.empty()) << path;
      EXPECT_EQ(m.writes.front().type, "Communication") << path;
      EXPECT_EQ(m.writes.front().identifier_value, m.head->msg_id) << path;
    }
  }
  EXPECT_GE(count, 30u);
}

TEST(PloSamples, PloMessagesProposeCareTeamsAndHonourNyEndringKansellering) {
  auto codec = sharedCodec();
  ASSERT_NE(codec, nullptr);
  const auto dir = samplesDir() / "plo-1.6" / "innleggelsesrapport_1_6_mottak";
  const DecodedMessage ny = codec->decode(readFile(dir / "Innleggelsesrapport_v1-6_Ny.xml"));
  const DecodedMessage endring = codec->decode(readFile(dir / "Innleggelsesrapport_v1-6_Endring.xml"));
  const DecodedMessage kansellering = codec->decode(readFile(dir / "Innleggelsesrapport_v1-6_Kansellering.xml"));
  for (const DecodedMessage* m : {&ny, &endring, &kansellering}) {
    ASSERT_EQ(m->status, AppRecStatus::kOk) << m->summary;
    ASSERT_EQ(m->writes.size(), 2u);
    EXPECT_EQ(m->writes[1].type, "CareTeam");
    EXPECT_EQ(m->writes[1].kind, PlannedWrite::Kind::kUpsert);
  }
  // One conversation: the Endring and the Kansellering update the team the Ny proposed.
  EXPECT_EQ(endring.writes[1].identifier_value, kansellering.writes[1].identifier_value);
  EXPECT_NE(ny.writes[1].json.find("\"status\":\"proposed\""), std::string::npos);
  EXPECT_NE(kansellering.writes[1].json.find("\"status\":\"entered-in-error\""), std::string::npos);
  EXPECT_NE(ny.writes[1].json.find("\"participant\""), std::string::npos);
}

TEST(PloSamples, AForesporselBecomesCommunicationAndTask) {
  auto codec = sharedCodec();
  ASSERT_NE(codec, nullptr);
  const DecodedMessage m = codec->decode(testing::withValidPatient(
      readFile(samplesDir() / "dialogmelding-ks/1.0/foresporsel-og-svar/dialog-foresporsel-samsvar-test.xml")));
  ASSERT_EQ(m.status, AppRecStatus::kOk) << m.summary;
  ASSERT_EQ(m.writes.size(), 2u);
  EXPECT_EQ(m.writes[1].type, "Task");
  EXPECT_NE(m.writes[1].json.find("urn:uuid:" + m.head->msg_id), std::string::npos);
  EXPECT_EQ(m.version, "1.0");
}

TEST(PloSamples, AppRecSamplesAreReadAndBrokenOnesRejected) {
  auto codec = sharedCodec();
  ASSERT_NE(codec, nullptr);
  for (const auto& path : samplesUnder("apprec")) {
    const DecodedMessage m = codec->decode(readFile(path));
    const std::string name = path.filename().string();
    const bool broken = name.find("unknown") != std::string::npos || name.find("missing") != std::string::npos;
    if (broken) {
      EXPECT_EQ(m.status, AppRecStatus::kRejected) << path;
      EXPECT_FALSE(m.apprec.has_value()) << path;
    } else {
      EXPECT_EQ(m.status, AppRecStatus::kOk) << path << ": " << m.summary;
      ASSERT_TRUE(m.apprec.has_value()) << path;
      EXPECT_FALSE(m.apprec->original_msg_id.empty()) << path;
    }
  }
  const DecodedMessage avvist = codec->decode(readFile(samplesDir() / "apprec/1.1/example-avvist.xml"));
  ASSERT_TRUE(avvist.apprec.has_value());
  EXPECT_EQ(avvist.apprec->status, AppRecStatus::kRejected);
  ASSERT_EQ(avvist.apprec->errors.size(), 1u);
  EXPECT_EQ(avvist.apprec->errors[0].code, "E21");
}

TEST(PloSamples, UnknownMsgHeadVersionIsRejectedAsUnsupported) {
  auto codec = sharedCodec();
  ASSERT_NE(codec, nullptr);
  const DecodedMessage m = codec->decode(readFile(samplesDir() / "dialogmelding-ks/invalid-version.xml"));
  EXPECT_EQ(m.status, AppRecStatus::kRejected);
  EXPECT_EQ(firstCode(m), "T10");
}

TEST(PloSamples, TheAppRecForEverySampleValidatesInBothVersions) {
  auto codec = sharedCodec();
  ASSERT_NE(codec, nullptr);
  Party self;
  self.name = "planbro";
  self.idents.push_back({"1234567", "HER"});
  for (const std::string sub : {"plo-1.6", "dialogmelding-ks"}) {
    for (const auto& path : samplesUnder(sub)) {
      const DecodedMessage m = codec->decode(readFile(path));
      for (const std::string version : {"1.0", "1.1"}) {
        const std::string xml = encodeAppRec(
            answerFor(m, version, "8d018d60-336b-11de-8bd7-0002a5d5c51b", "2026-12-07T01:00:00+01:00", self));
        const DecodedMessage back = codec->decode(xml);
        EXPECT_EQ(back.status, AppRecStatus::kOk) << path << " AppRec " << version << ": " << back.summary << "\n"
                                                  << xml;
        ASSERT_TRUE(back.apprec.has_value());
        EXPECT_EQ(back.apprec->status, m.status) << path;
        if (m.head && !m.head->msg_id.empty()) {
          EXPECT_EQ(back.apprec->original_msg_id, m.head->msg_id);
        }
      }
    }
  }
}

}  // namespace
}  // namespace planbro::adapters::plo
