// Complex extension definitions of the common shape (fixed url, no value[x], nested extensions sliced by url) are
// decided by a plan made at load (extension_plan.h, Profile::complex_extension_plan): nested slices of the simple
// shape (a Reference with target profiles too) by their own plans, others by the full check of that one slice. The plan
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
    Profile* walked = const_cast<Profile*>(sets.walked->find(url));
    walked->complex_extension_plan.reset();
    walked->extension_plan.reset();
    for (ProfileElement& element : walked->elements) element.extension_plan.reset();  // the slices' plans too
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
    // A Reference with target profiles: decided by the plan, its targets as checkTargetProfiles decides them.
    ASSERT_NE(nested[1].plan, nullptr);
    ASSERT_EQ(nested[1].plan->value_types.size(), 1u);
    EXPECT_NE(nested[1].plan->value_types[0].reference, nullptr);
    EXPECT_EQ(nested[1].plan->value_types[0].targets.size(), 2u);
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
      {"a reference by its type only, allowed", kOpen,
       nested + kRole + R"(,{"url":"author","valueReference":{"type":"Patient","display":"x"}}])", true},
      {"a reference by its type only, not allowed", kOpen,
       nested + kRole + R"(,{"url":"author","valueReference":{"type":"Device","display":"x"}}])", false},
      {"a reference with a display only", kOpen,
       nested + kRole + R"(,{"url":"author","valueReference":{"display":"someone"}}])", true},
      {"an absolute reference to a type not allowed", kOpen,
       nested + kRole + R"(,{"url":"author","valueReference":{"reference":"http://example.org/fhir/Group/g1"}}])",
       false},
      {"a reference that is not an object", kOpen, nested + kRole + R"(,{"url":"author","valueReference":"x"}])",
       false},
      {"two author slices", kOpen, nested + kRole + "," + kAuthor + "," + kAuthor + "]", false},
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


// A simple extension whose value is a Reference with target profiles, one of them a profile of the set: the plan
// decides the target as checkTargetProfiles does (the type, and a resolved target's conformance to the profile).
const std::string kFemalePatient = "http://example.org/sd/female-patient";
const std::string kCaregiver = "http://example.org/ext/caregiver";
const char* kFemalePatientProfile = R"({"resourceType":"StructureDefinition","url":"http://example.org/sd/female-patient",
  "name":"FemalePatient","status":"active","kind":"resource","abstract":false,"type":"Patient",
  "baseDefinition":"http://hl7.org/fhir/StructureDefinition/Patient","derivation":"constraint",
  "differential":{"element":[{"id":"Patient.gender","path":"Patient.gender","min":1,"fixedCode":"female"}]}})";
const char* kCaregiverDefinition = R"({"resourceType":"StructureDefinition","url":"http://example.org/ext/caregiver",
  "name":"Caregiver","status":"active","kind":"complex-type","abstract":false,"type":"Extension",
  "context":[{"type":"element","expression":"Patient"}],
  "baseDefinition":"http://hl7.org/fhir/StructureDefinition/Extension","derivation":"constraint",
  "differential":{"element":[
    {"id":"Extension.extension","path":"Extension.extension","max":"0"},
    {"id":"Extension.url","path":"Extension.url","fixedUri":"http://example.org/ext/caregiver"},
    {"id":"Extension.value[x]","path":"Extension.value[x]","min":1,
     "type":[{"code":"Reference","targetProfile":["http://example.org/sd/female-patient",
                                                  "http://hl7.org/fhir/StructureDefinition/RelatedPerson"]}]}]}})";

std::string patientWithCaregiver(const std::string& value, const std::string& contained) {
  return R"({"resourceType":"Patient","text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>"},)" +
         (contained.empty() ? std::string() : R"("contained":[)" + contained + "],") +
         R"("extension":[{"url":"http://example.org/ext/caregiver",)" + value + "}]}";
}

TEST(SimpleExtensionPlans, DecideReferenceTargetsAsTheFullWalkDoes) {
  const std::vector<std::string> resources = {kFemalePatientProfile, kCaregiverDefinition};
  auto planned = testing::profileSetOf(resources);
  auto walked = testing::profileSetOf(resources);
  ASSERT_NE(planned, nullptr);
  ASSERT_NE(walked, nullptr);
  const Profile* definition = planned->find(kCaregiver);
  ASSERT_NE(definition, nullptr);
  ASSERT_NE(definition->extension_plan, nullptr);
  ASSERT_EQ(definition->extension_plan->value_types.size(), 1u);
  EXPECT_NE(definition->extension_plan->value_types[0].reference, nullptr);
  const_cast<Profile*>(walked->find(kCaregiver))->extension_plan.reset();
  const std::string female = R"({"resourceType":"Patient","id":"c1","gender":"female"})";
  const std::string male = R"({"resourceType":"Patient","id":"c1","gender":"male"})";
  struct Case {
    const char* what;
    std::string value;
    std::string contained;
    bool conforms;
  };
  const std::vector<Case> cases = {
      {"a contained target that conforms", R"("valueReference":{"reference":"#c1"})", female, true},
      {"a contained target that does not conform", R"("valueReference":{"reference":"#c1"})", male, false},
      {"an unresolved target of an allowed type", R"("valueReference":{"reference":"Patient/p9"})", "", true},
      {"a RelatedPerson (a core type)", R"("valueReference":{"reference":"RelatedPerson/r1"})", "", true},
      {"a type not allowed", R"("valueReference":{"reference":"Practitioner/d1"})", "", false},
      {"a type not allowed, by its type element", R"("valueReference":{"type":"Device","display":"x"})", "", false},
      {"no reference at all", R"("valueReference":{"display":"x"})", "", true},
      {"another value type", R"("valueString":"x")", "", false},
      {"no value", "", "", false},
  };
  for (const Case& c : cases) {
    std::string value = c.value;
    std::string text = patientWithCaregiver(value, c.contained);
    if (value.empty()) {
      text = R"({"resourceType":"Patient","text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>"},)"
             R"("extension":[{"url":"http://example.org/ext/caregiver","extension":[{"url":"a","valueString":"b"}]}]})";
    }
    const OperationOutcome with_plan = testing::validateWith(planned, text);
    const OperationOutcome full = testing::validateWith(walked, text);
    EXPECT_EQ(describe(with_plan), describe(full)) << c.what;
    EXPECT_EQ(errorCount(with_plan) == 0, c.conforms) << c.what << "\n" << describe(with_plan);
  }
}

}  // namespace
}  // namespace planbro::fhir
