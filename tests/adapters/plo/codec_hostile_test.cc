// Structurally broken, schema-invalid, unknown-version and hostile messages are Avvist with a reason and map to no
// writes; the codec keeps answering afterwards.

#include <string>

#include "plo_test_support.h"

namespace planbro::adapters::plo {
namespace {

using testing::readFile;
using testing::samplesDir;
using testing::sharedCodec;

std::string validMessage() {
  return readFile(samplesDir() / "dialogmelding-1.1" / "Helsefaglig_dialog_angi_profesjon_hos_mottaker.xml");
}

void expectRejected(const DecodedMessage& m, const std::string& code) {
  EXPECT_EQ(m.status, AppRecStatus::kRejected) << m.summary;
  ASSERT_FALSE(m.errors.empty());
  EXPECT_EQ(m.errors.front().code, code) << m.errors.front().detail;
  EXPECT_FALSE(m.errors.front().detail.empty());
  EXPECT_TRUE(m.writes.empty());
}

TEST(PloHostile, NotXml) { expectRejected(sharedCodec()->decode("this is not xml"), "T01"); }

TEST(PloHostile, Truncated) {
  const std::string message = validMessage();
  expectRejected(sharedCodec()->decode(message.substr(0, message.size() / 2)), "T01");
}

TEST(PloHostile, ExternalEntityIsRefused) {
  expectRejected(sharedCodec()->decode("<?xml version=\"1.0\"?><!DOCTYPE MsgHead [<!ENTITY x SYSTEM "
                                       "\"file:///etc/passwd\">]><MsgHead>&x;</MsgHead>"),
                 "T01");
}

TEST(PloHostile, BillionLaughsIsRefused) {
  std::string doc = "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">";
  for (int i = 1; i < 10; ++i) {
    doc += "<!ENTITY lol" + std::to_string(i) + " \"";
    for (int k = 0; k < 10; ++k) doc += "&lol" + (i == 1 ? std::string() : std::to_string(i - 1)) + ";";
    doc += "\">";
  }
  doc += "]><MsgHead>&lol9;</MsgHead>";
  expectRejected(sharedCodec()->decode(doc), "T01");
}

TEST(PloHostile, FiftyMegabyteBodyIsRejectedBeforeParsing) {
  std::string message = validMessage();
  message.insert(message.find("<MsgInfo>"), std::string(50u << 20, ' '));
  expectRejected(sharedCodec()->decode(message), "T99");
}

TEST(PloHostile, DeepNestingIsRejected) {
  std::string doc = "<MsgHead xmlns=\"http://www.kith.no/xmlstds/msghead/2006-05-24\">";
  for (int i = 0; i < 100000; ++i) doc += "<a>";
  expectRejected(sharedCodec()->decode(doc), "T99");
}

TEST(PloHostile, InvalidUtf8IsRejected) {
  std::string message = validMessage();
  const size_t at = message.find("Ønsker");
  ASSERT_NE(at, std::string::npos);
  message[at] = '\xff';
  expectRejected(sharedCodec()->decode(message), "T01");
}

TEST(PloHostile, WrongCheckDigitInTheFodselsnummer) {
  std::string message = validMessage();
  const size_t start = message.find("<Id>", message.find("<Patient>"));
  ASSERT_NE(start, std::string::npos);
  const size_t digit = message.find("</Id>", start) - 1;
  message[digit] = message[digit] == '0' ? '1' : '0';
  const DecodedMessage m = sharedCodec()->decode(message);
  expectRejected(m, "E31");
  ASSERT_TRUE(m.head.has_value());
  EXPECT_FALSE(m.head->msg_id.empty());  // the AppRec can still name the message it rejects
}

TEST(PloHostile, SchemaInvalidMessage) {
  std::string message = validMessage();
  const size_t at = message.find("<GenDate>");
  ASSERT_NE(at, std::string::npos);
  message.insert(at, "<Unexpected>x</Unexpected>");
  expectRejected(sharedCodec()->decode(message), "T02");
}

TEST(PloHostile, UnknownBusinessDocumentIsUnsupported) {
  std::string message = validMessage();
  const std::string ns = "http://www.kith.no/xmlstds/dialog/2013-01-23";
  for (size_t at = message.find(ns); at != std::string::npos; at = message.find(ns, at)) {
    message.replace(at, ns.size(), "http://example.org/unknown");
  }
  expectRejected(sharedCodec()->decode(message), "T10");
}

TEST(PloHostile, UnknownRoot) { expectRejected(sharedCodec()->decode("<Foo/>"), "T10"); }

TEST(PloHostile, TheCodecKeepsAnsweringAfterHostileInput) {
  auto codec = sharedCodec();
  for (int i = 0; i < 3; ++i) {
    (void)codec->decode("<!DOCTYPE x [<!ENTITY a \"b\">]><x>&a;</x>");
    (void)codec->decode(std::string(1000, '<'));
  }
  const DecodedMessage m = codec->decode(validMessage());
  EXPECT_EQ(m.status, AppRecStatus::kOk) << m.summary;
}

}  // namespace
}  // namespace planbro::adapters::plo
