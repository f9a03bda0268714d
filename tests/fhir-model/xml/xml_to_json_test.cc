// XML -> JSON by the FHIR rules, on the official examples that the FHIRPath suite uses as inputs.

#include <gtest/gtest.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include <cctype>
#include <filesystem>
#include <string>

#include "planbro/fhir-model/fhir_xml.h"
#include "planbro/fhir-model/json.h"
#include "xml_test_util.h"

namespace planbro::fhir {
namespace {

using testing::readFile;
using testing::sharedPath;

JsonDocument convert(const std::string& xml) {
  Result<JsonDocument> doc = fhirXmlToJson(xml);
  EXPECT_TRUE(doc.isOk()) << doc.status().message();
  if (!doc.isOk()) return JsonDocument();
  return std::move(doc).value();
}

JsonDocument parseJson(const std::string& text) {
  Result<JsonDocument> doc = JsonDocument::parse(text);
  EXPECT_TRUE(doc.isOk()) << doc.status().message();
  if (!doc.isOk()) return JsonDocument();
  return std::move(doc).value();
}

const JsonValue& at(const JsonValue& object, std::string_view key) {
  static const JsonValue kNull;
  const JsonValue* found = object.find(key);
  return found != nullptr ? *found : kNull;
}

const JsonValue& item(const JsonValue& array, size_t i) {
  static const JsonValue kNull;
  return i < array.items().size() ? array.items()[i] : kNull;
}

// XML -> JSON must succeed, give valid JSON, and survive JSON -> XML -> JSON unchanged.
void expectConvertsAndRoundTrips(const std::string& path) {
  const std::string xml = readFile(path);
  ASSERT_FALSE(xml.empty()) << path;
  JsonDocument doc = convert(xml);
  ASSERT_TRUE(doc.root().isObject()) << path;
  EXPECT_TRUE(at(doc.root(), "resourceType").isString());
  JsonDocument again = parseJson(writeJson(doc.root()));
  EXPECT_TRUE(jsonEqual(doc.root(), again.root()));
  Result<std::string> xml2 = fhirJsonToXml(doc.root(), true);
  ASSERT_TRUE(xml2.isOk()) << xml2.status().message();
  JsonDocument back = convert(*xml2);
  EXPECT_TRUE(jsonEqual(doc.root(), back.root())) << path << "\n" << *xml2;
}

class FhirpathSuiteInput : public ::testing::TestWithParam<const char*> {};

TEST_P(FhirpathSuiteInput, ConvertsToJsonAndRoundTripsThroughXml) {
  expectConvertsAndRoundTrips(sharedPath(std::string("fhir-r4/fhirpath-tests/") + GetParam()));
}

INSTANTIATE_TEST_SUITE_P(AllResourceInputs, FhirpathSuiteInput,
                         ::testing::Values("patient-example.xml", "patient-example-period.xml",
                                           "observation-example.xml", "questionnaire-example.xml",
                                           "valueset-example-expansion.xml", "parameters-example-types.xml"),
                         [](const ::testing::TestParamInfo<const char*>& info) {
                           std::string name = info.param;
                           name.resize(name.size() - 4);  // ".xml"
                           for (char& c : name) {
                             if (std::isalnum(static_cast<unsigned char>(c)) == 0) c = '_';
                           }
                           return name;
                         });

// HL7 Norway's no-basis profiles, NamingSystems, CodeSystems and example patient, as published in XML.
TEST(FhirXmlToJson, ConvertsEveryNorwegianBasisXmlFileAndRoundTrips) {
  int files = 0;
  std::error_code ec;
  for (std::filesystem::recursive_directory_iterator it(sharedPath("fhir-r4/norway"), ec), end;
       !ec && it != end && files < 1000; it.increment(ec)) {
    if (it->path().extension() != ".xml") continue;
    SCOPED_TRACE(it->path().string());
    expectConvertsAndRoundTrips(it->path().string());
    ++files;
  }
  EXPECT_GE(files, 20);
}

TEST(FhirXmlToJson, PatientExampleHasTheSpecifiedJsonShape) {
  JsonDocument doc = convert(readFile(sharedPath("fhir-r4/fhirpath-tests/patient-example.xml")));
  const JsonValue& patient = doc.root();
  EXPECT_EQ(at(patient, "resourceType").text(), "Patient");
  EXPECT_EQ(at(patient, "id").text(), "example");
  EXPECT_TRUE(at(patient, "active").isBool());
  EXPECT_TRUE(at(patient, "active").boolean());
  ASSERT_TRUE(at(patient, "name").isArray());
  EXPECT_EQ(at(patient, "name").size(), 3u);
  const JsonValue& given = at(item(at(patient, "name"), 0), "given");
  ASSERT_EQ(given.size(), 2u);
  EXPECT_EQ(item(given, 1).text(), "James");
  EXPECT_TRUE(at(item(at(patient, "name"), 0), "family").isString());  // max 1: not an array
  const JsonValue& rank = at(item(at(patient, "telecom"), 1), "rank");
  EXPECT_TRUE(rank.isNumber());
  EXPECT_EQ(rank.text(), "1");
  EXPECT_EQ(at(patient, "birthDate").text(), "1974-12-25");
  const JsonValue& birth_ext = item(at(at(patient, "_birthDate"), "extension"), 0);
  EXPECT_EQ(at(birth_ext, "url").text(), "http://hl7.org/fhir/StructureDefinition/patient-birthTime");
  EXPECT_EQ(at(birth_ext, "valueDateTime").text(), "1974-12-25T14:35:45-05:00");
  EXPECT_TRUE(at(patient, "deceasedBoolean").isBool());
  EXPECT_FALSE(at(patient, "deceasedBoolean").boolean());
  const std::string_view div = at(at(patient, "text"), "div").text();
  EXPECT_TRUE(div.starts_with("<div xmlns=\"http://www.w3.org/1999/xhtml\">")) << div;
  EXPECT_TRUE(div.ends_with("</div>")) << div;
  EXPECT_NE(div.find("<b>Chalmers</b>"), std::string_view::npos);
  // &#xE9; arrives as UTF-8.
  const JsonValue& contact_family = at(at(item(at(patient, "contact"), 0), "name"), "family");
  EXPECT_EQ(contact_family.text(), "du March\xC3\xA9");
}

TEST(FhirXmlToJson, NumbersKeepTheirExactText) {
  JsonDocument doc = convert(readFile(sharedPath("fhir-r4/fhirpath-tests/parameters-example-types.xml")));
  const JsonValue& params = at(doc.root(), "parameter");
  ASSERT_EQ(params.size(), 4u);
  EXPECT_TRUE(at(item(params, 1), "valueInteger").isNumber());
  EXPECT_EQ(at(item(params, 1), "valueInteger").text(), "1");
  EXPECT_TRUE(at(item(params, 3), "valueDecimal").isNumber());
  EXPECT_EQ(at(item(params, 3), "valueDecimal").text(), "1.0");
  EXPECT_TRUE(at(item(params, 2), "valueUuid").isString());
}

TEST(FhirXmlToJson, ChoiceElementsKeepTheirTypedName) {
  JsonDocument doc = convert(readFile(sharedPath("fhir-r4/fhirpath-tests/observation-example.xml")));
  const JsonValue& quantity = at(doc.root(), "valueQuantity");
  ASSERT_TRUE(quantity.isObject());
  EXPECT_TRUE(at(quantity, "value").isNumber());
  EXPECT_EQ(at(quantity, "unit").text(), "lbs");
}

TEST(FhirXmlToJson, PrimitiveArrayExtensionsGoToAlignedTwinWithNulls) {
  JsonDocument doc = convert(R"(<Patient xmlns="http://hl7.org/fhir"><name><given value="A"/>
      <given id="g2"><extension url="http://x/e"><valueString value="x"/></extension></given>
      <given value="C"/></name></Patient>)");
  const JsonValue& name = item(at(doc.root(), "name"), 0);
  JsonDocument expected = parseJson(R"({"given":["A",null,"C"],
      "_given":[null,{"id":"g2","extension":[{"url":"http://x/e","valueString":"x"}]},null]})");
  EXPECT_TRUE(jsonEqual(name, expected.root())) << writeJson(name);
}

TEST(FhirXmlToJson, ElementIdIsAnAttributeButResourceIdIsAnElement) {
  JsonDocument doc = convert(R"(<Patient xmlns="http://hl7.org/fhir"><id value="p1"/>
      <name id="n1"><family value="F"/></name></Patient>)");
  JsonDocument expected = parseJson(R"({"resourceType":"Patient","id":"p1","name":[{"id":"n1","family":"F"}]})");
  EXPECT_TRUE(jsonEqual(doc.root(), expected.root())) << writeJson(doc.root());
}

TEST(FhirXmlToJson, ResourceContainersUnwrapTheInnerResource) {
  JsonDocument doc = convert(R"(<Bundle xmlns="http://hl7.org/fhir"><type value="collection"/>
      <entry><fullUrl value="urn:uuid:1"/><resource><Patient><id value="a"/>
        <contained><Organization><id value="o"/><name value="Org"/></Organization></contained>
        <managingOrganization><reference value="#o"/></managingOrganization></Patient></resource></entry>
      <entry><resource><Parameters><parameter><name value="p"/><resource><Basic><id value="b"/>
        <code><text value="t"/></code></Basic></resource></parameter></Parameters></resource></entry></Bundle>)");
  JsonDocument expected = parseJson(R"({"resourceType":"Bundle","type":"collection","entry":[
      {"fullUrl":"urn:uuid:1","resource":{"resourceType":"Patient","id":"a",
        "contained":[{"resourceType":"Organization","id":"o","name":"Org"}],
        "managingOrganization":{"reference":"#o"}}},
      {"resource":{"resourceType":"Parameters","parameter":[{"name":"p",
        "resource":{"resourceType":"Basic","id":"b","code":{"text":"t"}}}]}}]})");
  EXPECT_TRUE(jsonEqual(doc.root(), expected.root())) << writeJson(doc.root());
}

TEST(FhirXmlToJson, NestedQuestionnaireItemsFollowTheContentReference) {
  JsonDocument doc = convert(readFile(sharedPath("fhir-r4/fhirpath-tests/questionnaire-example.xml")));
  const JsonValue& inner = item(at(item(at(doc.root(), "item"), 0), "item"), 0);
  EXPECT_TRUE(at(inner, "linkId").isString()) << writeJson(doc.root());
}

TEST(FhirXmlToJson, UnknownElementNamesPathAndLine) {
  Result<JsonDocument> doc = fhirXmlToJson(
      "<Patient xmlns=\"http://hl7.org/fhir\">\n<name>\n<foo value=\"x\"/>\n</name>\n</Patient>");
  ASSERT_FALSE(doc.isOk());
  EXPECT_EQ(doc.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(doc.status().message().find("unknown element 'foo' at Patient.name[0]"), std::string::npos)
      << doc.status().message();
  EXPECT_NE(doc.status().message().find("line 3"), std::string::npos) << doc.status().message();
}

TEST(FhirXmlToJson, ElementIdAndExtensionUrlAsElementsAreRejected) {
  EXPECT_FALSE(fhirXmlToJson("<Patient xmlns=\"http://hl7.org/fhir\"><name><id value=\"n\"/></name></Patient>").isOk());
  EXPECT_FALSE(fhirXmlToJson("<Patient xmlns=\"http://hl7.org/fhir\"><extension><url value=\"http://x\"/>"
                             "<valueString value=\"v\"/></extension></Patient>")
                   .isOk());
  EXPECT_FALSE(fhirXmlToJson("<Patient xmlns=\"http://hl7.org/fhir\"><active><value value=\"true\"/></active></Patient>")
                   .isOk());
}

TEST(FhirXmlToJson, IgnoresForeignNamespaceAttributesCommentsAndBlanks) {
  JsonDocument doc = convert(
      "<?xml version=\"1.0\"?>\n<!-- c --><Patient xmlns=\"http://hl7.org/fhir\" "
      "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:schemaLocation=\"http://hl7.org/fhir x.xsd\">\n"
      "  <!-- c --><?pi x?>\n  <active value=\"true\"/>\n</Patient>");
  JsonDocument expected = parseJson(R"({"resourceType":"Patient","active":true})");
  EXPECT_TRUE(jsonEqual(doc.root(), expected.root())) << writeJson(doc.root());
}

TEST(FhirXmlToJson, AcceptsPrefixedNamespacesAndWritesTheDivWithTheDefaultNamespace) {
  JsonDocument doc = convert(
      "<f:Patient xmlns:f=\"http://hl7.org/fhir\" xmlns:h=\"http://www.w3.org/1999/xhtml\"><f:text>"
      "<f:status value=\"generated\"/><h:div><h:p class=\"c\">x<h:br/></h:p></h:div></f:text></f:Patient>");
  EXPECT_EQ(at(at(doc.root(), "text"), "div").text(),
            "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p class=\"c\">x<br/></p></div>");
}

TEST(FhirXmlToJson, RejectsWrongNamespaceUnknownTypeAndBadPrimitives) {
  EXPECT_FALSE(fhirXmlToJson("<Patient><id value=\"x\"/></Patient>").isOk());
  EXPECT_FALSE(fhirXmlToJson("<Nonsense xmlns=\"http://hl7.org/fhir\"/>").isOk());
  EXPECT_FALSE(fhirXmlToJson("<Patient xmlns=\"http://hl7.org/fhir\"><active value=\"yes\"/></Patient>").isOk());
  EXPECT_FALSE(fhirXmlToJson("<Patient xmlns=\"http://hl7.org/fhir\"><multipleBirthInteger value=\"1.5\"/></Patient>")
                   .isOk());
  EXPECT_FALSE(fhirXmlToJson("<Patient xmlns=\"http://hl7.org/fhir\"><gender value=\"male\"/><gender value=\"male\"/>"
                             "</Patient>")
                   .isOk());
  EXPECT_FALSE(fhirXmlToJson("<Patient xmlns=\"http://hl7.org/fhir\"><active value=\"true\">text</active></Patient>")
                   .isOk());
  EXPECT_FALSE(
      fhirXmlToJson("<Patient xmlns=\"http://hl7.org/fhir\"><text><status value=\"generated\"/><div>x</div></text>"
                    "</Patient>")
          .isOk());
}

// The FHIR Patch vectors embed resources (input, diff, output) inside a non-FHIR wrapper: each converts alone.
TEST(FhirXmlToJson, ConvertsEveryResourceEmbeddedInTheFhirPatchVectors) {
  const std::string text = readFile(sharedPath("fhir-r4/fhirpath-tests/fhir-patch-tests.xml"));
  ASSERT_FALSE(text.empty());
  xmlDocPtr suite = xmlReadMemory(text.data(), static_cast<int>(text.size()), nullptr, nullptr, XML_PARSE_NONET);
  ASSERT_NE(suite, nullptr);
  int converted = 0;
  for (xmlNode* test_case = xmlDocGetRootElement(suite)->children; test_case != nullptr; test_case = test_case->next) {
    for (xmlNode* part = test_case->children; part != nullptr; part = part->next) {
      for (xmlNode* resource = part->children; resource != nullptr; resource = resource->next) {
        if (resource->type != XML_ELEMENT_NODE || resource->ns == nullptr) continue;
        xmlBufferPtr buffer = xmlBufferCreate();
        ASSERT_GE(xmlNodeDump(buffer, suite, resource, 0, 0), 0);
        const std::string xml(reinterpret_cast<const char*>(xmlBufferContent(buffer)),
                              static_cast<size_t>(xmlBufferLength(buffer)));
        xmlBufferFree(buffer);
        Result<JsonDocument> doc = fhirXmlToJson(xml);
        EXPECT_TRUE(doc.isOk()) << doc.status().message() << "\n" << xml;
        ++converted;
      }
    }
  }
  xmlFreeDoc(suite);
  EXPECT_GE(converted, 60);
}

// --- hostile input: each yields a clear Status, never a crash, a hang or a file read ---

TEST(FhirXmlHostile, BillionLaughsIsRejectedAsDoctype) {
  std::string xml = "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n<!ENTITY lol \"lol\">\n";
  for (int i = 1; i <= 9; ++i) {
    xml += "<!ENTITY lol" + std::to_string(i) + " \"";
    for (int j = 0; j < 10; ++j) xml += "&lol" + (i == 1 ? std::string() : std::to_string(i - 1)) + ";";
    xml += "\">\n";
  }
  xml += "]>\n<Patient xmlns=\"http://hl7.org/fhir\"><id value=\"&lol9;\"/></Patient>";
  Result<JsonDocument> doc = fhirXmlToJson(xml);
  ASSERT_FALSE(doc.isOk());
  EXPECT_EQ(doc.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(doc.status().message().find("DOCTYPE"), std::string::npos) << doc.status().message();
}

TEST(FhirXmlHostile, ExternalEntityIsRejectedAndNeverRead) {
  const std::string xml =
      "<?xml version=\"1.0\"?>\n<!DOCTYPE Patient [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\n"
      "<Patient xmlns=\"http://hl7.org/fhir\"><id value=\"&xxe;\"/></Patient>";
  Result<JsonDocument> doc = fhirXmlToJson(xml);
  ASSERT_FALSE(doc.isOk());
  EXPECT_NE(doc.status().message().find("DOCTYPE"), std::string::npos) << doc.status().message();
  EXPECT_EQ(doc.status().message().find("root:"), std::string::npos);

  Result<JsonDocument> external = fhirXmlToJson(
      "<!DOCTYPE Patient SYSTEM \"file:///etc/passwd\"><Patient xmlns=\"http://hl7.org/fhir\"/>");
  ASSERT_FALSE(external.isOk());
  EXPECT_NE(external.status().message().find("DOCTYPE"), std::string::npos) << external.status().message();
}

TEST(FhirXmlHostile, XIncludeIsNeverProcessed) {
  Result<JsonDocument> doc = fhirXmlToJson(
      "<Patient xmlns=\"http://hl7.org/fhir\" xmlns:xi=\"http://www.w3.org/2001/XInclude\">"
      "<xi:include href=\"file:///etc/passwd\" parse=\"text\"/></Patient>");
  ASSERT_FALSE(doc.isOk());
  EXPECT_NE(doc.status().message().find("not in the FHIR namespace"), std::string::npos) << doc.status().message();
}

TEST(FhirXmlHostile, UndeclaredEntityIsMalformed) {
  Result<JsonDocument> doc = fhirXmlToJson("<Patient xmlns=\"http://hl7.org/fhir\"><id value=\"&xxe;\"/></Patient>");
  ASSERT_FALSE(doc.isOk());
  EXPECT_EQ(doc.status().code(), StatusCode::kInvalidArgument);
}

TEST(FhirXmlHostile, HundredThousandDeepNestingHitsTheDepthLimit) {
  constexpr int kDepth = 100000;
  std::string xml = "<Patient xmlns=\"http://hl7.org/fhir\">";
  xml.reserve(static_cast<size_t>(kDepth) * 14 + 64);
  for (int i = 0; i < kDepth; ++i) xml += "<extension>";
  for (int i = 0; i < kDepth; ++i) xml += "</extension>";
  xml += "</Patient>";
  Result<JsonDocument> doc = fhirXmlToJson(xml);
  ASSERT_FALSE(doc.isOk());
  EXPECT_EQ(doc.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(doc.status().message().find("deeper than 128"), std::string::npos) << doc.status().message();
}

TEST(FhirXmlHostile, ConfiguredDepthLimitApplies) {
  XmlLimits limits;
  limits.max_depth = 2;
  Result<JsonDocument> doc =
      fhirXmlToJson("<Patient xmlns=\"http://hl7.org/fhir\"><name><family value=\"x\"/></name></Patient>", limits);
  ASSERT_FALSE(doc.isOk());
  EXPECT_EQ(doc.status().code(), StatusCode::kResourceExhausted);
}

TEST(FhirXmlHostile, MalformedXmlGivesLineNumber) {
  Result<JsonDocument> doc = fhirXmlToJson("<Patient xmlns=\"http://hl7.org/fhir\">\n<id value=\"x\">\n</Patient>");
  ASSERT_FALSE(doc.isOk());
  EXPECT_EQ(doc.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(doc.status().message().find("malformed XML at line 3"), std::string::npos) << doc.status().message();
  for (const char* bad : {"", "<", "not xml", "<Patient xmlns=\"http://hl7.org/fhir\">", "<a></b>", "\xff\xfe<a/>"}) {
    Result<JsonDocument> r = fhirXmlToJson(bad);
    EXPECT_FALSE(r.isOk()) << bad;
  }
}

TEST(FhirXmlHostile, OversizedDocumentIsRefusedBeforeParsing) {
  XmlLimits limits;
  limits.max_bytes = 64;
  Result<JsonDocument> doc = fhirXmlToJson(std::string(65, ' '), limits);
  ASSERT_FALSE(doc.isOk());
  EXPECT_EQ(doc.status().code(), StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace planbro::fhir
