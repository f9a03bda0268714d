// JSON -> XML by the FHIR rules, and the round trip JSON -> XML -> JSON over the official R4 examples.

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <string>
#include <vector>

#include "planbro/fhir-model/fhir_xml.h"
#include "planbro/fhir-model/json.h"
#include "xml_test_util.h"

namespace planbro::fhir {
namespace {

using testing::fhirJsonEqual;
using testing::readFile;
using testing::sharedPath;

JsonDocument parseJson(const std::string& text) {
  Result<JsonDocument> doc = JsonDocument::parse(text);
  EXPECT_TRUE(doc.isOk()) << doc.status().message();
  if (!doc.isOk()) return JsonDocument();
  return std::move(doc).value();
}

std::string toXml(const std::string& json, bool pretty = false) {
  JsonDocument doc = parseJson(json);
  Result<std::string> xml = fhirJsonToXml(doc.root(), pretty);
  EXPECT_TRUE(xml.isOk()) << xml.status().message();
  return xml.isOk() ? *xml : std::string();
}

Status toXmlStatus(const std::string& json) {
  JsonDocument doc = parseJson(json);
  Result<std::string> xml = fhirJsonToXml(doc.root(), false);
  return xml.isOk() ? Status::ok() : xml.status();
}

constexpr std::string_view kDecl = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>";

TEST(FhirJsonToXml, WritesElementsInDefinitionOrderWithValueAttributes) {
  // JSON order deliberately differs from definition order (id, ..., active, name, gender, birthDate).
  const std::string xml =
      toXml(R"({"birthDate":"1970-01-01","gender":"female","name":[{"given":["A","B"],"family":"F"}],
                "active":true,"id":"p1","resourceType":"Patient"})");
  EXPECT_EQ(xml, std::string(kDecl) +
                     "<Patient xmlns=\"http://hl7.org/fhir\"><id value=\"p1\"/><active value=\"true\"/>"
                     "<name><family value=\"F\"/><given value=\"A\"/><given value=\"B\"/></name>"
                     "<gender value=\"female\"/><birthDate value=\"1970-01-01\"/></Patient>");
}

TEST(FhirJsonToXml, MergesPrimitiveTwinsAndWritesElementIdAndExtensionUrlAsAttributes) {
  const std::string xml = toXml(R"({"resourceType":"Patient","name":[{"id":"n1","given":["A",null],
      "_given":[null,{"id":"g2","extension":[{"url":"http://x/e","valueInteger":5}]}]}]})");
  EXPECT_EQ(xml, std::string(kDecl) +
                     "<Patient xmlns=\"http://hl7.org/fhir\"><name id=\"n1\"><given value=\"A\"/><given id=\"g2\">"
                     "<extension url=\"http://x/e\"><valueInteger value=\"5\"/></extension></given></name></Patient>");
}

TEST(FhirJsonToXml, EscapesAttributeTextIncludingLineBreaks) {
  const std::string xml = toXml(R"({"resourceType":"Basic","code":{"text":"a<b & \"c\"\nd"}})");
  EXPECT_NE(xml.find("<text value=\"a&lt;b &amp; &quot;c&quot;&#10;d\"/>"), std::string::npos) << xml;
  Result<JsonDocument> back = fhirXmlToJson(xml);
  ASSERT_TRUE(back.isOk()) << back.status().message();
  EXPECT_EQ(back->root().find("code")->find("text")->text(), "a<b & \"c\"\nd");
}

TEST(FhirJsonToXml, WrapsContainedResourcesAndWritesTheDivAsXhtml) {
  const std::string xml = toXml(R"({"resourceType":"Patient","text":{"status":"generated",
      "div":"<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>Hi <b>there</b></p></div>"},
      "contained":[{"resourceType":"Organization","id":"o"}]})");
  EXPECT_EQ(xml, std::string(kDecl) +
                     "<Patient xmlns=\"http://hl7.org/fhir\"><text><status value=\"generated\"/>"
                     "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>Hi <b>there</b></p></div></text>"
                     "<contained><Organization><id value=\"o\"/></Organization></contained></Patient>");
}

TEST(FhirJsonToXml, PrettyOutputIndentsAndReadsBackEqual) {
  const std::string json = R"({"resourceType":"Patient","id":"p","name":[{"family":"F"}]})";
  const std::string xml = toXml(json, true);
  EXPECT_EQ(xml, std::string(kDecl) +
                     "\n<Patient xmlns=\"http://hl7.org/fhir\">\n  <id value=\"p\"/>\n  <name>\n"
                     "    <family value=\"F\"/>\n  </name>\n</Patient>\n");
  Result<JsonDocument> back = fhirXmlToJson(xml);
  ASSERT_TRUE(back.isOk()) << back.status().message();
  EXPECT_TRUE(jsonEqual(back->root(), parseJson(json).root()));
}

TEST(FhirJsonToXml, RejectsWhatXmlCannotCarryOrTheDefinitionsDoNotAllow) {
  EXPECT_FALSE(toXmlStatus(R"({"id":"x"})").isOk());
  EXPECT_FALSE(toXmlStatus(R"({"resourceType":"Nonsense"})").isOk());
  EXPECT_FALSE(toXmlStatus(R"({"resourceType":"Patient","foo":1})").isOk());
  EXPECT_FALSE(toXmlStatus(R"({"resourceType":"Patient","active":"true"})").isOk());
  EXPECT_FALSE(toXmlStatus(R"({"resourceType":"Patient","gender":["male"]})").isOk());
  EXPECT_FALSE(toXmlStatus(R"({"resourceType":"Patient","name":{"family":"F"}})").isOk());
  EXPECT_FALSE(toXmlStatus(R"({"resourceType":"Patient","name":[{"given":["A"],"_given":[null,null]}]})").isOk());
  EXPECT_FALSE(toXmlStatus(R"({"resourceType":"Patient","name":[{"given":[null]}]})").isOk());
  EXPECT_FALSE(toXmlStatus(R"({"resourceType":"Patient","id":"a\u0001b"})").isOk());
  EXPECT_FALSE(toXmlStatus(R"({"resourceType":"Patient","multipleBirthInteger":1.5})").isOk());
  EXPECT_FALSE(toXmlStatus(R"({"resourceType":"Patient","text":{"status":"generated","div":"<p>x</p>"}})").isOk());
  EXPECT_FALSE(toXmlStatus(R"({"resourceType":"Patient","text":{"status":"generated",
      "div":"<div xmlns=\"http://www.w3.org/1999/xhtml\"></div><script/>"}})").isOk());
  EXPECT_FALSE(toXmlStatus(R"({"resourceType":"Patient","text":{"status":"generated",
      "div":"<!DOCTYPE d [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><div xmlns=\"http://www.w3.org/1999/xhtml\">&e;</div>"}})")
                   .isOk());
  JsonDocument built;
  const JsonMember bad_members[] = {{"resourceType", built.makeString("Patient")}, {"id", built.makeString("a\xff")}};
  built.setRoot(built.makeObject(bad_members));
  EXPECT_FALSE(fhirJsonToXml(built.root(), false).isOk());
  const Status unknown = toXmlStatus(R"({"resourceType":"Patient","name":[{"family":"F"},{"bogus":true}]})");
  EXPECT_NE(unknown.message().find("unknown property 'bogus' at Patient.name[1]"), std::string::npos)
      << unknown.message();
}

TEST(FhirJsonToXml, DeeplyNestedBuiltTreeGivesStatusNotStackOverflow) {
  JsonDocument doc;
  JsonValue extension = doc.makeObject(std::vector<JsonMember>{{"url", doc.makeString("http://x")},
                                                               {"valueString", doc.makeString("v")}});
  for (int i = 0; i < 100000; ++i) {
    const JsonValue items[] = {extension};
    extension = doc.makeObject(std::vector<JsonMember>{{"url", doc.makeString("http://x")},
                                                       {"extension", doc.makeArray(items)}});
  }
  const JsonValue items[] = {extension};
  doc.setRoot(doc.makeObject(
      std::vector<JsonMember>{{"resourceType", doc.makeString("Basic")}, {"extension", doc.makeArray(items)}}));
  Result<std::string> xml = fhirJsonToXml(doc.root(), false);
  ASSERT_FALSE(xml.isOk());
  EXPECT_NE(xml.status().message().find("nesting deeper than"), std::string::npos) << xml.status().message();
}

std::vector<std::string> exampleFiles() {
  std::vector<std::string> files;
  const std::filesystem::path dir = sharedPath("fhir-r4/examples");
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().extension() == ".json") files.push_back(it->path().filename().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

class OfficialExample : public ::testing::TestWithParam<std::string> {};

TEST_P(OfficialExample, RoundTripsThroughXmlToEqualJson) {
  const std::string text = readFile(sharedPath("fhir-r4/examples/" + GetParam()));
  ASSERT_FALSE(text.empty());
  JsonDocument original = parseJson(text);
  for (bool pretty : {false, true}) {
    Result<std::string> xml = fhirJsonToXml(original.root(), pretty);
    ASSERT_TRUE(xml.isOk()) << xml.status().message();
    Result<JsonDocument> back = fhirXmlToJson(*xml);
    ASSERT_TRUE(back.isOk()) << back.status().message();
    // Exactly equal JSON except Narrative.div, which must be the same XML (canonical form).
    EXPECT_TRUE(fhirJsonEqual(original.root(), back->root())) << "pretty=" << pretty << "\n" << writeJson(back->root());
    // A second trip is exact: the div text is already in its serialised form.
    Result<std::string> xml2 = fhirJsonToXml(back->root(), pretty);
    ASSERT_TRUE(xml2.isOk()) << xml2.status().message();
    EXPECT_EQ(*xml, *xml2);
    Result<JsonDocument> back2 = fhirXmlToJson(*xml2);
    ASSERT_TRUE(back2.isOk()) << back2.status().message();
    EXPECT_TRUE(jsonEqual(back->root(), back2->root()));
  }
}

INSTANTIATE_TEST_SUITE_P(R4Examples, OfficialExample, ::testing::ValuesIn(exampleFiles()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param.substr(0, info.param.size() - 5);
                           std::replace_if(name.begin(), name.end(), [](char c) { return !std::isalnum(
                               static_cast<unsigned char>(c)); }, '_');
                           return name;
                         });

TEST(OfficialExamples, AreFound) { EXPECT_GE(exampleFiles().size(), 80u); }

}  // namespace
}  // namespace planbro::fhir
