// Complex extension definitions of the common shape (fixed url, no value[x], nested extensions sliced by url) are
// decided by a plan made at load (extension_plan.h, Profile::complex_extension_plan): nested slices of the simple
// shape by their own plans, others (a Reference with target profiles) by the full check of that one slice. The plan
// only ever answers "reports nothing"; otherwise the definition is walked in full. So the outcome with the plan must
// be exactly the outcome of the full walk, on conforming and on broken extensions alike.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "../../../fhir-model/src/validation/extension_plan.h"
#include "profile_test_support.h"

namespace planbro::fhir {
namespace {

using testing::describe;
using testing::errorCount;

const char* kCodeSystem = R"({"resourceType":"CodeSystem","url":"http://example.org/cs/role","status":"active",
  "content":"complete","concept":[{"code":"user"},{"code":"professional"}]})";
const char* kValueSet = R"({"resourceType":"ValueSet","url":"http://example.org/vs/role","status":"active",
  "compose":{"include":[{"system":"http://example.org/cs/role"}]}})";

// `rules` is the slicing rule of the nested extensions ("open" or "closed").
std::string complexDefinition(const std::string& url, const std::string& rules) {
  return R"({"resourceType":"StructureDefinition","url":")" + url + R"(",
  "name":"Evaluation","status":"active","kind":"complex-type","abstract":false,"type":"Extension",
  "context":[{"type":"element","expression":"Patient"}],
  "baseDefinition":"http://hl7.org/fhir/StructureDefinition/Extension","derivation":"constraint",
  "differential":{"element":[
    {"id":"Extension.extension","path":"Extension.extension","min":1,
     "slicing":{"discriminator":[{"type":"value","path":"url"}],"rules":")" + rules + R"("}},
    {"id":"Extension.extension:role","path":"Extension.extension","sliceName":"role","min":1,"max":"1"},
    {"id":"Extension.extension:role.extension","path":"Extension.extension.extension","max":"0"},
    {"id":"Extension.extension:role.url","path":"Extension.extension.url","fixedUri":"role"},
    {"id":"Extension.extension:role.value[x]","path":"Extension.extension.value[x]","min":1,
     "type":[{"code":"Coding"}],"binding":{"strength":"required","valueSet":"http://example.org/vs/role"}},
    {"id":"Extension.extension:author","path":"Extension.extension","sliceName":"author","min":0,"max":"1"},
    {"id":"Extension.extension:author.extension","path":"Extension.extension.extension","max":"0"},
    {"id":"Extension.extension:author.url","path":"Extension.extension.url","fixedUri":"author"},
    {"id":"Extension.extension:author.value[x]","path":"Extension.extension.value[x]",
     "type":[{"code":"Reference","targetProfile":["http://hl7.org/fhir/StructureDefinition/Patient",
                                                  "http://hl7.org/fhir/StructureDefinition/Practitioner"]}]},
    {"id":"Extension.extension:note","path":"Extension.extension","sliceName":"note","min":0,"max":"1"},
    {"id":"Extension.extension:note.extension","path":"Extension.extension.extension","max":"0"},
    {"id":"Extension.extension:note.url","path":"Extension.extension.url","fixedUri":"note"},
    {"id":"Extension.extension:note.value[x]","path":"Extension.extension.value[x]","type":[{"code":"string"}]},
    {"id":"Extension.url","path":"Extension.url","fixedUri":")" + url + R"("},
    {"id":"Extension.value[x]","path":"Extension.value[x]","max":"0"}]}})";
}

const std::string kOpen = "http://example.org/ext/evaluation";
const std::string kClosed = "http://example.org/ext/evaluation-closed";

const std::string kRole = R"({"url":"role","valueCoding":{"system":"http://example.org/cs/role","code":"user"}})";
const std::string kAuthor = R"({"url":"author","valueReference":{"reference":"Patient/p1"}})";
const std::string kNote = R"({"url":"note","valueString":"it went well"})";

std::string patientWith(const std::string& url, const std::string& members) {
  return R"({"resourceType":"Patient","text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>"},
    "extension":[{"url":")" + url + "\"" + (members.empty() ? "" : "," + members) + "}]}";
}

struct Sets {
  std::shared_ptr<const ProfileSet> planned;
  std::shared_ptr<const ProfileSet> walked;  // the same definitions with the complex plans taken out
};

Sets buildSets() {
  const std::vector<std::string> resources = {kCodeSystem, kValueSet, complexDefinition(kOpen, "open"),
                                              complexDefinition(kClosed, "closed")};
  Sets sets{testing::profileSetOf(resources), testing::profileSetOf(resources)};
  for (const std::string& url : {kOpen, kClosed}) {
    // The baseline: the full walk, as before the plan existed. The set is immutable to the validator; the test
    // owns the second one and takes its plans out before any validation runs.
    const_cast<Profile*>(sets.walked->find(url))->complex_extension_plan.reset();
  }
  return sets;
}

TEST(ComplexExtensionPlans, AreMadeForTheCommonShapeWithEveryNestedSlice) {
  Sets sets = buildSets();
  ASSERT_NE(sets.planned, nullptr);
  for (const std::string& url : {kOpen, kClosed}) {
    const Profile* p = sets.planned->find(url);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(p->extension_plan, nullptr);  // not the simple shape
    ASSERT_NE(p->complex_extension_plan, nullptr) << url;
    const auto& nested = p->complex_extension_plan->nested_slices;
    ASSERT_EQ(nested.size(), 3u);
    EXPECT_EQ(nested[0].url, "role");
    EXPECT_NE(nested[0].plan, nullptr);
    EXPECT_EQ(nested[1].url, "author");
    EXPECT_EQ(nested[1].plan, nullptr);  // a Reference with target profiles: its slice is checked in full
    ASSERT_NE(nested[1].element, nullptr);
    EXPECT_EQ(nested[2].url, "note");
    EXPECT_EQ(p->complex_extension_plan->nested_closed, url == kClosed);
    EXPECT_EQ(p->complex_extension_plan->nested_min, 1u);
    EXPECT_TRUE(p->complex_extension_plan->value_forbidden);
  }
}

TEST(ComplexExtensionPlans, TheIpPackagesComplexExtensionsHaveOne) {
  ProfileSetBuilder builder;
  ASSERT_TRUE(builder.addDirectory(std::string(PLANBRO_TEST_DATA_DIR) + "/../../conformance/ip/package").isOk());
  auto set = builder.build();
  ASSERT_TRUE(set.isOk()) << set.status().message();
  const std::string ip = "http://planbro.no/fhir/StructureDefinition/ip-";
  for (const char* name : {"measure-evaluation", "measure-wish", "information-given"}) {
    const Profile* p = (*set)->find(ip + name);
    ASSERT_NE(p, nullptr) << name;
    EXPECT_NE(p->complex_extension_plan, nullptr) << name;
  }
}

TEST(ComplexExtensionPlans, ReportExactlyWhatTheFullWalkReports) {
  Sets sets = buildSets();
  ASSERT_NE(sets.planned, nullptr);
  ASSERT_NE(sets.walked, nullptr);
  struct Case {
    const char* what;
    std::string url;
    std::string members;
    bool conforms;
  };
  const std::string nested = R"("extension":[)";
  const std::vector<Case> cases = {
      {"every slice", kOpen, nested + kRole + "," + kAuthor + "," + kNote + "]", true},
      {"the required slice only", kOpen, nested + kRole + "]", true},
      {"slices in another order", kOpen, nested + kNote + "," + kAuthor + "," + kRole + "]", true},
      {"an extension no slice names (open)", kOpen, nested + kRole + R"(,{"url":"other","valueString":"x"}])", true},
      {"an extension no slice names (closed)", kClosed, nested + kRole + R"(,{"url":"other","valueString":"x"}])",
       false},
      {"no nested extension", kOpen, "", false},
      {"the required slice missing", kOpen, nested + kNote + "]", false},
      {"a slice twice", kOpen, nested + kRole + "," + kRole + "]", false},
      {"a code outside the value set", kOpen,
       nested + R"({"url":"role","valueCoding":{"system":"http://example.org/cs/role","code":"boss"}}])", false},
      {"a value type the slice does not allow", kOpen, nested + R"({"url":"role","valueString":"user"}])", false},
      {"a reference to a type the slice does not allow", kOpen,
       nested + kRole + R"(,{"url":"author","valueReference":{"reference":"Organization/o1"}}])", false},
      {"a reference to an allowed type", kOpen,
       nested + kRole + R"(,{"url":"author","valueReference":{"reference":"Practitioner/d1"}}])", true},
      {"a value on the complex extension", kOpen, nested + kRole + R"(],"valueString":"x")", false},
      {"a nested extension inside a slice", kOpen,
       nested + R"({"url":"role","extension":[{"url":"x","valueString":"y"}],)"
                R"("valueCoding":{"system":"http://example.org/cs/role","code":"user"}}])",
       false},
      {"a nested extension without a url", kOpen, nested + kRole + R"(,{"valueString":"x"}])", false},
      {"a nested extension that is not an object", kOpen, nested + kRole + R"(,"x"])", false},
  };
  for (const Case& c : cases) {
    const std::string text = patientWith(c.url, c.members);
    const OperationOutcome planned = testing::validateWith(sets.planned, text);
    const OperationOutcome walked = testing::validateWith(sets.walked, text);
    EXPECT_EQ(describe(planned), describe(walked)) << c.what;
    EXPECT_EQ(errorCount(planned) == 0, c.conforms) << c.what << "\n" << describe(planned);
  }
}

}  // namespace
}  // namespace planbro::fhir
