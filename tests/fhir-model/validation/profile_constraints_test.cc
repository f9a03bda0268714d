// Profile validation of the element rules: cardinality narrowing, fixed[x] and pattern[x], bindings to a package's
// value sets (required: error, extensible: warning), type narrowing of choice elements, targetProfile narrowing of
// references, and data-type profiles. The profiles are StructureDefinitions with differentials only, so every
// test also exercises snapshot generation.

#include <gtest/gtest.h>

#include <string>

#include <filesystem>

#include "profile_test_support.h"
#include "test_files.h"

namespace planbro::fhir {
namespace {

using testing::describe;
using testing::errorCount;
using testing::hasIssue;
using testing::profileSetOf;
using testing::validateWith;

// A constraint StructureDefinition with the given differential elements (JSON array items, without brackets).
std::string profile(const std::string& url, const std::string& type, const std::string& elements,
                    const std::string& base = "") {
  std::string base_url = base.empty() ? "http://hl7.org/fhir/StructureDefinition/" + type : base;
  return R"({"resourceType":"StructureDefinition","url":")" + url + R"(","name":"T","status":"active",
    "kind":"resource","abstract":false,"type":")" + type + R"(","baseDefinition":")" + base_url +
         R"(","derivation":"constraint","differential":{"element":[)" + elements + "]}}";
}

std::string claiming(const std::string& url, const std::string& type, const std::string& members) {
  return R"({"resourceType":")" + type + R"(","meta":{"profile":[")" + url + R"("]})" +
         (members.empty() ? "" : "," + members) + "}";
}

constexpr const char* kUrl = "http://example.org/fhir/StructureDefinition/test";

TEST(ProfileCardinality, NarrowedMinAndMaxAreEnforced) {
  auto set = profileSetOf({profile(kUrl, "Patient", R"(
    {"id":"Patient.name","path":"Patient.name","min":1,"max":"2"},
    {"id":"Patient.telecom","path":"Patient.telecom","max":"0"},
    {"id":"Patient.name.family","path":"Patient.name.family","min":1})")});
  OperationOutcome missing = validateWith(set, claiming(kUrl, "Patient", ""));
  EXPECT_TRUE(hasIssue(missing, Severity::kError, "Patient.name", "minimum required = 1")) << describe(missing);

  OperationOutcome too_many = validateWith(set, claiming(kUrl, "Patient",
      R"("name":[{"family":"A"},{"family":"B"},{"family":"C"}],"telecom":[{"system":"phone","value":"1"}])"));
  EXPECT_TRUE(hasIssue(too_many, Severity::kError, "Patient.name", "maximum allowed = 2")) << describe(too_many);
  EXPECT_TRUE(hasIssue(too_many, Severity::kError, "Patient.telecom", "maximum allowed = 0")) << describe(too_many);

  // Nested in a data type: name.family is required by the profile (0..1 in HumanName).
  OperationOutcome nested = validateWith(set, claiming(kUrl, "Patient", R"("name":[{"given":["Kari"]}])"));
  EXPECT_TRUE(hasIssue(nested, Severity::kError, "Patient.name[0].family", "minimum required = 1")) << describe(nested);

  OperationOutcome good = validateWith(set, claiming(kUrl, "Patient", R"("name":[{"family":"Nordmann"}])"));
  EXPECT_EQ(errorCount(good), 0u) << describe(good);
}

TEST(ProfileFixedAndPattern, FixedValuesMustBeExact) {
  auto set = profileSetOf({profile(kUrl, "Patient", R"(
    {"id":"Patient.gender","path":"Patient.gender","fixedCode":"female"},
    {"id":"Patient.maritalStatus","path":"Patient.maritalStatus",
     "fixedCodeableConcept":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-MaritalStatus","code":"M"}]}})")});
  OperationOutcome bad = validateWith(set, claiming(kUrl, "Patient",
      R"("gender":"male","maritalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-MaritalStatus","code":"M"}],"text":"gift"})"));
  EXPECT_TRUE(hasIssue(bad, Severity::kError, "Patient.gender", "must be exactly \"female\"")) << describe(bad);
  // Fixed means exactly: an extra member (text) breaks it.
  EXPECT_TRUE(hasIssue(bad, Severity::kError, "Patient.maritalStatus", "must be exactly")) << describe(bad);
  OperationOutcome good = validateWith(set, claiming(kUrl, "Patient",
      R"("gender":"female","maritalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-MaritalStatus","code":"M"}]})"));
  EXPECT_EQ(errorCount(good), 0u) << describe(good);
}

TEST(ProfileFixedAndPattern, PatternValuesMustBeContained) {
  auto set = profileSetOf({profile(kUrl, "Patient", R"(
    {"id":"Patient.maritalStatus","path":"Patient.maritalStatus",
     "patternCodeableConcept":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-MaritalStatus","code":"M"}]}})")});
  // A pattern allows more: another coding and a text.
  OperationOutcome good = validateWith(set, claiming(kUrl, "Patient",
      R"("maritalStatus":{"coding":[{"system":"http://example.org/x","code":"g"},{"system":"http://terminology.hl7.org/CodeSystem/v3-MaritalStatus","code":"M","display":"Married"}],"text":"gift"})"));
  EXPECT_EQ(errorCount(good), 0u) << describe(good);
  OperationOutcome bad = validateWith(set, claiming(kUrl, "Patient",
      R"("maritalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-MaritalStatus","code":"S"}]})"));
  EXPECT_TRUE(hasIssue(bad, Severity::kError, "Patient.maritalStatus", "must match the pattern")) << describe(bad);
}

constexpr const char* kCodeSystem = R"({"resourceType":"CodeSystem","url":"http://example.org/cs/colour",
  "status":"active","content":"complete","concept":[{"code":"red","concept":[{"code":"crimson"}]},{"code":"blue"}]})";
constexpr const char* kValueSet = R"({"resourceType":"ValueSet","url":"http://example.org/vs/colour","status":"active",
  "compose":{"include":[{"system":"http://example.org/cs/colour"}]}})";

TEST(ProfileBindings, RequiredIsAnErrorExtensibleAWarning) {
  auto set = profileSetOf({kCodeSystem, kValueSet, profile(kUrl, "Observation", R"(
    {"id":"Observation.code","path":"Observation.code","binding":{"strength":"required","valueSet":"http://example.org/vs/colour|1.0"}},
    {"id":"Observation.method","path":"Observation.method","binding":{"strength":"extensible","valueSet":"http://example.org/vs/colour"}})")});
  auto obs = [&](const std::string& code, const std::string& method) {
    return claiming(kUrl, "Observation", R"("status":"final","code":{"coding":[{"system":"http://example.org/cs/colour","code":")" +
                                             code + R"("}]},"method":{"coding":[{"system":"http://example.org/cs/colour","code":")" +
                                             method + R"("}]})");
  };
  OperationOutcome good = validateWith(set, obs("crimson", "blue"));  // nested concepts are in the code system
  EXPECT_EQ(errorCount(good), 0u) << describe(good);
  EXPECT_EQ(describe(good).find("value set"), std::string::npos) << describe(good);
  OperationOutcome bad = validateWith(set, obs("green", "green"));
  EXPECT_TRUE(hasIssue(bad, Severity::kError, "Observation.code", "are in the value set http://example.org/vs/colour"))
      << describe(bad);
  EXPECT_TRUE(hasIssue(bad, Severity::kWarning, "Observation.method", "are in the value set")) << describe(bad);
  EXPECT_EQ(errorCount(bad), 1u) << describe(bad);
}

TEST(ProfileBindings, ValueSetsNeedingATerminologyServerAreNotJudged) {
  constexpr const char* kSnomed = R"({"resourceType":"ValueSet","url":"http://example.org/vs/sct","status":"active",
    "compose":{"include":[{"system":"http://snomed.info/sct","filter":[{"property":"concept","op":"is-a","value":"404684003"}]}]}})";
  auto set = profileSetOf({kSnomed, profile(kUrl, "Observation", R"(
    {"id":"Observation.code","path":"Observation.code","binding":{"strength":"required","valueSet":"http://example.org/vs/sct"}})")});
  OperationOutcome out = validateWith(set, claiming(kUrl, "Observation",
      R"("status":"final","code":{"coding":[{"system":"http://snomed.info/sct","code":"1234"}]})"));
  EXPECT_EQ(errorCount(out), 0u) << describe(out);
}

TEST(ProfileTypes, ChoiceTypesNarrowed) {
  auto set = profileSetOf({profile(kUrl, "Observation", R"(
    {"id":"Observation.value[x]","path":"Observation.value[x]","type":[{"code":"Quantity"}]})")});
  OperationOutcome bad = validateWith(set, claiming(kUrl, "Observation",
      R"("status":"final","code":{"text":"x"},"valueString":"high")"));
  EXPECT_TRUE(hasIssue(bad, Severity::kError, "Observation.valueString", "type string is not allowed")) << describe(bad);
  OperationOutcome good = validateWith(set, claiming(kUrl, "Observation",
      R"("status":"final","code":{"text":"x"},"valueQuantity":{"value":1})"));
  EXPECT_EQ(errorCount(good), 0u) << describe(good);
}

TEST(ProfileTypes, RenamedChoiceInTheDifferentialNarrowsTheType) {
  auto set = profileSetOf({profile(kUrl, "Observation", R"(
    {"id":"Observation.valueQuantity","path":"Observation.valueQuantity","min":1},
    {"id":"Observation.valueQuantity.unit","path":"Observation.valueQuantity.unit","min":1})")});
  OperationOutcome bad = validateWith(set, claiming(kUrl, "Observation",
      R"("status":"final","code":{"text":"x"},"valueQuantity":{"value":1})"));
  EXPECT_TRUE(hasIssue(bad, Severity::kError, "Observation.valueQuantity.unit", "minimum required = 1")) << describe(bad);
  OperationOutcome other = validateWith(set, claiming(kUrl, "Observation",
      R"("status":"final","code":{"text":"x"},"valueBoolean":true)"));
  EXPECT_TRUE(hasIssue(other, Severity::kError, "Observation.valueBoolean", "not allowed")) << describe(other);
}

TEST(ProfileTypes, TargetProfilesNarrowReferences) {
  constexpr const char* kPatientProfile = "http://example.org/fhir/StructureDefinition/named-patient";
  auto set = profileSetOf({
      profile(kPatientProfile, "Patient", R"({"id":"Patient.name","path":"Patient.name","min":1})"),
      profile(kUrl, "Observation", R"(
        {"id":"Observation.subject","path":"Observation.subject","min":1,
         "type":[{"code":"Reference","targetProfile":["http://example.org/fhir/StructureDefinition/named-patient"]}]})")});
  OperationOutcome group = validateWith(set, claiming(kUrl, "Observation",
      R"("status":"final","code":{"text":"x"},"subject":{"reference":"Group/1"})"));
  EXPECT_TRUE(hasIssue(group, Severity::kError, "Observation.subject.reference", "a reference to a Group is not allowed"))
      << describe(group);
  OperationOutcome patient = validateWith(set, claiming(kUrl, "Observation",
      R"("status":"final","code":{"text":"x"},"subject":{"reference":"Patient/1"})"));
  EXPECT_EQ(errorCount(patient), 0u) << describe(patient);
  // A contained target is resolved and held to the target profile.
  OperationOutcome contained = validateWith(set, claiming(kUrl, "Observation",
      R"("contained":[{"resourceType":"Patient","id":"p"}],"status":"final","code":{"text":"x"},"subject":{"reference":"#p"})"));
  EXPECT_TRUE(hasIssue(contained, Severity::kError, "Observation.subject.reference", "does not conform to the target profile"))
      << describe(contained);
}

TEST(ProfileTypes, AReferenceResolvesToTheFirstMatchingBundleEntry) {
  // Bundle entries are indexed by fullUrl and by type and id; a reference that two entries match, one each way,
  // resolves to the earlier entry, versioned or not. Only the unnamed Patient fails the target profile.
  constexpr const char* kPatientProfile = "http://example.org/fhir/StructureDefinition/named-patient";
  auto set = profileSetOf({
      profile(kPatientProfile, "Patient", R"({"id":"Patient.name","path":"Patient.name","min":1})"),
      profile(kUrl, "Observation", R"(
        {"id":"Observation.subject","path":"Observation.subject","min":1,
         "type":[{"code":"Reference","targetProfile":["http://example.org/fhir/StructureDefinition/named-patient"]}]})")});
  const std::string unnamed = R"({"fullUrl":"urn:uuid:7c1f4c52-5d3a-4a38-9d3e-0c3a8e2b1a01","resource":{"resourceType":"Patient","id":"1"}})";
  const std::string named = R"({"fullUrl":"Patient/1","resource":{"resourceType":"Patient","id":"2","name":[{"family":"N"}]}})";
  for (const std::string reference : {"Patient/1", "Patient/1/_history/3"}) {
    const std::string observation = R"({"fullUrl":"urn:uuid:7c1f4c52-5d3a-4a38-9d3e-0c3a8e2b1a02","resource":{"resourceType":"Observation","id":"o",
        "meta":{"profile":["http://example.org/fhir/StructureDefinition/test"]},"status":"final","code":{"text":"x"},
        "subject":{"reference":")" + reference + R"("}}})";
    auto bundle = [&](const std::string& first, const std::string& second) {
      return R"({"resourceType":"Bundle","type":"collection","entry":[)" + observation + "," + first + "," + second + "]}";
    };
    OperationOutcome unnamed_first = validateWith(set, bundle(unnamed, named));
    EXPECT_TRUE(hasIssue(unnamed_first, Severity::kError, "Bundle.entry[0].resource.subject.reference",
                         "does not conform to the target profile"))
        << reference << "\n" << describe(unnamed_first);
    OperationOutcome named_first = validateWith(set, bundle(named, unnamed));
    EXPECT_FALSE(hasIssue(named_first, Severity::kError, "Bundle.entry[0].resource.subject.reference",
                          "does not conform to the target profile"))
        << reference << "\n" << describe(named_first);
  }
}

TEST(ProfileTypes, DataTypeProfilesApplyToTheValue) {
  constexpr const char* kName = "http://example.org/fhir/StructureDefinition/family-name";
  std::string name_profile = R"({"resourceType":"StructureDefinition","url":")" + std::string(kName) +
      R"(","name":"FamilyName","status":"active","kind":"complex-type","abstract":false,"type":"HumanName",
      "baseDefinition":"http://hl7.org/fhir/StructureDefinition/HumanName","derivation":"constraint",
      "differential":{"element":[{"id":"HumanName.family","path":"HumanName.family","min":1}]}})";
  auto set = profileSetOf({name_profile, profile(kUrl, "Patient", R"(
    {"id":"Patient.name","path":"Patient.name","type":[{"code":"HumanName","profile":["http://example.org/fhir/StructureDefinition/family-name"]}]})")});
  OperationOutcome bad = validateWith(set, claiming(kUrl, "Patient", R"("name":[{"family":"A"},{"given":["B"]}])"));
  EXPECT_TRUE(hasIssue(bad, Severity::kError, "Patient.name[1].family", "minimum required = 1")) << describe(bad);
  EXPECT_EQ(errorCount(bad), 1u) << describe(bad);
}

TEST(ProfileInvariants, ConstraintsDefinedInTheProfileAreEvaluated) {
  auto set = profileSetOf({profile(kUrl, "Patient", R"j(
    {"id":"Patient","path":"Patient","constraint":[{"key":"tst-1","severity":"error","human":"a name or an identifier","expression":"name.exists() or identifier.exists()"}]},
    {"id":"Patient.name","path":"Patient.name","constraint":[{"key":"tst-2","severity":"warning","human":"family is upper-case","expression":"family.exists() implies family.matches('^[A-Z]+$')"}]})j")});
  OperationOutcome bad = validateWith(set, claiming(kUrl, "Patient", ""));
  EXPECT_TRUE(hasIssue(bad, Severity::kError, "Patient", "tst-1")) << describe(bad);
  OperationOutcome warn = validateWith(set, claiming(kUrl, "Patient", R"("name":[{"family":"Hansen"}])"));
  EXPECT_EQ(errorCount(warn), 0u) << describe(warn);
  EXPECT_TRUE(hasIssue(warn, Severity::kWarning, "Patient.name[0]", "tst-2")) << describe(warn);
}

TEST(ProfileSetLoading, ProfileOnAProfileInheritsItsRules) {
  constexpr const char* kDerived = "http://example.org/fhir/StructureDefinition/derived";
  // Listed before its base: the builder orders them.
  auto set = profileSetOf({profile(kDerived, "Patient", R"({"id":"Patient.gender","path":"Patient.gender","min":1})", kUrl),
                           profile(kUrl, "Patient", R"({"id":"Patient.birthDate","path":"Patient.birthDate","min":1})")});
  OperationOutcome out = validateWith(set, claiming(kDerived, "Patient", ""));
  EXPECT_TRUE(hasIssue(out, Severity::kError, "Patient.birthDate", "minimum required = 1")) << describe(out);
  EXPECT_TRUE(hasIssue(out, Severity::kError, "Patient.gender", "minimum required = 1")) << describe(out);
}

TEST(ProfileSetLoading, CyclesAndUnknownBasesAreErrors) {
  ProfileSetBuilder cyclic;
  for (auto [url, base] : {std::pair{"http://e.org/a", "http://e.org/b"}, std::pair{"http://e.org/b", "http://e.org/a"}}) {
    JsonDocument doc = testing::parseOrDie(profile(url, "Patient", "", base));
    ASSERT_TRUE(cyclic.addResource(doc.root()).isOk());
  }
  EXPECT_FALSE(cyclic.build().isOk());
  ProfileSetBuilder unknown;
  JsonDocument doc = testing::parseOrDie(profile("http://e.org/c", "Patient", "", "http://e.org/none"));
  ASSERT_TRUE(unknown.addResource(doc.root()).isOk());
  EXPECT_FALSE(unknown.build().isOk());
  ProfileSetBuilder no_url;
  JsonDocument bad = testing::parseOrDie(R"({"resourceType":"StructureDefinition","derivation":"constraint","type":"Patient"})");
  EXPECT_FALSE(no_url.addResource(bad.root()).isOk());
}

TEST(ProfileSetLoading, UnresolvableDifferentialPathsAreWarnings) {
  auto set = profileSetOf({profile(kUrl, "Patient", R"({"id":"Patient.nonsense.deeper","path":"Patient.nonsense.deeper","min":1})")});
  ASSERT_NE(set, nullptr);
  ASSERT_EQ(set->warnings().size(), 1u);
  EXPECT_NE(set->warnings()[0].find("Patient.nonsense.deeper"), std::string::npos);
}

TEST(ProfileSetLoading, CoreProfilesAreEnforced) {
  // The core vital-signs profiles, compiled into the embedded definitions, apply through meta.profile.
  OperationOutcome out = Validator().validateJsonText(R"({"resourceType":"Observation",
    "meta":{"profile":["http://hl7.org/fhir/StructureDefinition/bodyweight"]},
    "status":"final","code":{"coding":[{"system":"http://loinc.org","code":"29463-7"}]},
    "subject":{"reference":"Patient/1"},"effectiveDateTime":"2020-01-01","valueQuantity":{"value":70,"unit":"kg","system":"http://unitsofmeasure.org","code":"kg"}})");
  // The category (VSCat slice, 1..1) is missing.
  EXPECT_TRUE(hasIssue(out, Severity::kError, "Observation.category", "minimum required = 1")) << describe(out);
  // The bench's body weight (after the specification's example) conforms.
  OperationOutcome good = Validator().validateJsonText(
      testing::readFile(std::filesystem::path(PLANBRO_TEST_DATA_DIR) / "bench" / "Observation-bodyweight.json"));
  EXPECT_EQ(errorCount(good), 0u) << describe(good);
}

}  // namespace
}  // namespace planbro::fhir

namespace planbro::fhir {
namespace {

TEST(ProfileNesting, ProfilesThatReferToEachOtherAreBounded) {
  // Two Patients linking to each other, both held to a profile whose link target must conform to the same profile:
  // checking one checks the other, which checks the first... The nesting bound (ValidatorOptions) ends it.
  auto set = testing::profileSetOf({profile(kUrl, "Patient", R"(
    {"id":"Patient.link.other","path":"Patient.link.other","type":[{"code":"Reference","targetProfile":["http://example.org/fhir/StructureDefinition/test"]}]})")});
  std::string bundle = R"({"resourceType":"Bundle","type":"collection","entry":[
    {"fullUrl":"http://example.org/fhir/Patient/a","resource":{"resourceType":"Patient","id":"a","meta":{"profile":["http://example.org/fhir/StructureDefinition/test"]},
     "link":[{"other":{"reference":"Patient/b"},"type":"seealso"}]}},
    {"fullUrl":"http://example.org/fhir/Patient/b","resource":{"resourceType":"Patient","id":"b","meta":{"profile":["http://example.org/fhir/StructureDefinition/test"]},
     "link":[{"other":{"reference":"Patient/a"},"type":"seealso"}]}}]})";
  ValidatorOptions options;
  options.max_profile_nesting = 4;
  OperationOutcome out = validateWith(set, bundle, options);
  EXPECT_EQ(errorCount(out), 0u) << describe(out);
  EXPECT_LT(out.issues().size(), 10u) << describe(out);
}

}  // namespace
}  // namespace planbro::fhir

namespace planbro::fhir {
namespace {

TEST(ProfileSetLoading, MalformedDifferentialsNeverCrash) {
  // Hostile or broken packages: wrong JSON kinds everywhere, paths outside the type, huge numbers, slices of
  // nothing. Building must succeed or fail with a Status, and validation with the result must not crash.
  const char* elements[] = {
      R"({"id":"Patient.name","path":"Patient.name","min":"one","max":7,"type":"HumanName"})",
      R"({"id":"Patient.name","path":"Patient.name","min":99999999999999999999,"max":"99999999999999999999"})",
      R"({"id":"Patient.name:","path":"Patient.name","sliceName":""})",
      R"({"id":"Patient.x:y.z","path":"Patient.x.z"})",
      R"({"id":"Patient.identifier","path":"Patient.identifier","slicing":{"discriminator":[{"type":"bogus","path":"((("}],"rules":7}})",
      R"({"id":"Patient.identifier:a","path":"Patient.identifier","sliceName":"a","min":1})",
      R"({"id":"Patient.identifier:a.value","path":"Patient.identifier.value","patternString":{"not":"a string"}})",
      R"({"id":"Patient","path":"Patient","constraint":[{"key":"x-1","severity":"error","human":"h","expression":"((("}]})",
      R"({"id":"Patient.contact.contact.contact","path":"Patient.contact.contact.contact","min":1})",
      R"({"path":"Patient.telecom","sliceName":"old-style","min":1})",
      R"("not an object")",
  };
  for (const char* e : elements) {
    auto set = testing::profileSetOf({profile(kUrl, "Patient", e)});
    ASSERT_NE(set, nullptr) << e;
    OperationOutcome out = validateWith(set, claiming(kUrl, "Patient",
        R"("identifier":[{"value":"a"}],"name":[{"family":"x"}],"contact":[{"name":{"family":"y"}}])"));
    (void)out;
  }
}

}  // namespace
}  // namespace planbro::fhir
