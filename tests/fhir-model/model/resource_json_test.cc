#include "planbro/fhir-model/resource_json.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "planbro/fhir-model/json.h"

namespace planbro::fhir {
namespace {

JsonDocument parseOrDie(std::string text) {
  Result<JsonDocument> doc = JsonDocument::parse(std::move(text));
  EXPECT_TRUE(doc.isOk()) << doc.status().message();
  if (!doc.isOk()) return JsonDocument();
  return std::move(doc).value();
}

std::string ordered(std::string text, bool pretty = false) {
  JsonDocument doc = parseOrDie(std::move(text));
  return writeResourceJson(doc.root(), JsonWriteOptions{pretty});
}

TEST(ResourceJson, PutsResourceTypeFirstAndElementsInDefinitionOrder) {
  EXPECT_EQ(ordered(R"({"gender":"female","birthDate":"1974-12-25","id":"p1","resourceType":"Patient",)"
                    R"("name":[{"given":["Kari"],"family":"Nordmann","use":"official"}],"active":true})"),
            R"({"resourceType":"Patient","id":"p1","active":true,)"
            R"("name":[{"use":"official","family":"Nordmann","given":["Kari"]}],"gender":"female",)"
            R"("birthDate":"1974-12-25"})");
}

TEST(ResourceJson, PutsPrimitiveExtensionTwinRightAfterItsValue) {
  EXPECT_EQ(ordered(R"({"_birthDate":{"extension":[{"valueDateTime":"1974-12-25T14:35:45-05:00",)"
                    R"("url":"http://hl7.org/fhir/StructureDefinition/patient-birthTime"}]},)"
                    R"("resourceType":"Patient","deceasedBoolean":false,"birthDate":"1974-12-25","gender":"male"})"),
            R"({"resourceType":"Patient","gender":"male","birthDate":"1974-12-25",)"
            R"("_birthDate":{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/patient-birthTime",)"
            R"("valueDateTime":"1974-12-25T14:35:45-05:00"}]},"deceasedBoolean":false})");
  // A twin of a repeating primitive is an array too, and stays next to it.
  EXPECT_EQ(ordered(R"({"resourceType":"Patient","name":[{"_given":[null,{"id":"g2"}],"family":"X","given":["A","B"]}]})"),
            R"({"resourceType":"Patient","name":[{"family":"X","given":["A","B"],"_given":[null,{"id":"g2"}]}]})");
}

TEST(ResourceJson, KeepsNumbersExactTextAndPlacesChoiceElements) {
  EXPECT_EQ(ordered(R"({"valueQuantity":{"unit":"kg","value":72.50,"system":"http://unitsofmeasure.org","code":"kg"},)"
                    R"("status":"final","code":{"text":"weight"},"resourceType":"Observation","effectiveDateTime":"2020-01-01"})"),
            R"({"resourceType":"Observation","status":"final","code":{"text":"weight"},)"
            R"("effectiveDateTime":"2020-01-01",)"
            R"("valueQuantity":{"value":72.50,"unit":"kg","system":"http://unitsofmeasure.org","code":"kg"}})");
  EXPECT_EQ(ordered(R"({"resourceType":"Observation","valueInteger":1E+2,"status":"final"})"),
            R"({"resourceType":"Observation","status":"final","valueInteger":1E+2})");
}

TEST(ResourceJson, WritesUnknownMembersLastInInputOrder) {
  EXPECT_EQ(ordered(R"({"zeta":1,"resourceType":"Patient","alpha":{"b":1,"a":2},"_zeta":true,"active":true})"),
            R"({"resourceType":"Patient","active":true,"zeta":1,"alpha":{"b":1,"a":2},"_zeta":true})");
  // Without a known resourceType nothing is reordered.
  EXPECT_EQ(ordered(R"({"b":1,"resourceType":"NoSuchType","a":[1,2]})"), R"({"b":1,"resourceType":"NoSuchType","a":[1,2]})");
  EXPECT_EQ(ordered(R"([3,"x",null])"), R"([3,"x",null])");
}

TEST(ResourceJson, OrdersContainedResourcesAndBundleEntriesByTheirOwnType) {
  EXPECT_EQ(ordered(R"({"status":"active","contained":[{"name":[{"family":"Lege"}],"id":"pr","resourceType":"Practitioner"}],)"
                    R"("resourceType":"CarePlan","subject":{"reference":"Patient/1"},"intent":"plan"})"),
            R"({"resourceType":"CarePlan","contained":[{"resourceType":"Practitioner","id":"pr","name":[{"family":"Lege"}]}],)"
            R"("status":"active","intent":"plan","subject":{"reference":"Patient/1"}})");
  EXPECT_EQ(ordered(R"({"entry":[{"resource":{"status":"draft","resourceType":"Goal","lifecycleStatus":"active"},)"
                    R"("fullUrl":"urn:uuid:1"}],"type":"collection","resourceType":"Bundle"})"),
            R"({"resourceType":"Bundle","type":"collection","entry":[{"fullUrl":"urn:uuid:1",)"
            R"("resource":{"resourceType":"Goal","lifecycleStatus":"active","status":"draft"}}]})");
}

TEST(ResourceJson, FollowsContentReferencesIntoNestedQuestionnaireItems) {
  EXPECT_EQ(ordered(R"({"resourceType":"Questionnaire","status":"draft","item":[{"type":"group","linkId":"1",)"
                    R"("item":[{"text":"Q","type":"string","linkId":"1.1"}]}]})"),
            R"({"resourceType":"Questionnaire","status":"draft","item":[{"linkId":"1","type":"group",)"
            R"("item":[{"linkId":"1.1","text":"Q","type":"string"}]}]})");
}

TEST(ResourceJson, PrettyOutputIndentsTwoSpaces) {
  EXPECT_EQ(ordered(R"({"active":true,"resourceType":"Patient","name":[{"family":"X"}],"link":[]})", true),
            "{\n  \"resourceType\": \"Patient\",\n  \"active\": true,\n  \"name\": [\n    {\n      \"family\": \"X\"\n"
            "    }\n  ],\n  \"link\": []\n}");
}

// The official examples are published in definition order: writing them ordered must change nothing but spacing,
// and the output must parse back to the same tree and be a fixed point. Two examples are not in definition order
// at the source: Bundle-terminologies (members sorted alphabetically) and Patient-animal (one extension writes
// "url" before "extension"; 1301 other objects in the package put "extension" first, as the definition does).
TEST(ResourceJson, ReproducesTheOrderOfTheOfficialExamples) {
  const std::set<std::string> out_of_order_at_source = {"Bundle-terminologies.json", "Patient-animal.json"};
  const std::filesystem::path dir = std::filesystem::path(PLANBRO_SHARED_DIR) / "fhir-r4" / "examples";
  ASSERT_TRUE(std::filesystem::is_directory(dir)) << dir;
  int checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".json") continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream buffer;
    buffer << in.rdbuf();
    JsonDocument doc = parseOrDie(buffer.str());
    std::string out = writeResourceJson(doc.root());
    const std::string name = entry.path().filename().string();
    if (out_of_order_at_source.count(name) == 0) {
      EXPECT_EQ(out, writeJson(doc.root())) << name;
    } else {
      EXPECT_NE(out, writeJson(doc.root())) << name;
    }
    JsonDocument again = parseOrDie(out);
    EXPECT_TRUE(jsonEqual(doc.root(), again.root())) << name;
    EXPECT_EQ(writeResourceJson(again.root()), out) << name;
    ++checked;
  }
  EXPECT_GT(checked, 50);
}

}  // namespace
}  // namespace planbro::fhir
