// Extensions with a known definition (the core package's, here) are checked wherever they occur, claimed profile or
// not: context, value type, cardinality and nested extensions. Unknown extensions pass.

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "profile_test_support.h"

namespace planbro::fhir {
namespace {

using testing::describe;
using testing::errorCount;
using testing::hasIssue;

OperationOutcome validate(const std::string& text) { return Validator().validateJsonText(text); }

TEST(KnownExtensions, ContextIsChecked) {
  OperationOutcome good = validate(R"({"resourceType":"Patient","extension":[
    {"url":"http://hl7.org/fhir/StructureDefinition/patient-birthPlace","valueAddress":{"city":"Bergen"}}]})");
  EXPECT_EQ(errorCount(good), 0u) << describe(good);
  OperationOutcome bad = validate(R"({"resourceType":"Organization","name":"X","extension":[
    {"url":"http://hl7.org/fhir/StructureDefinition/patient-birthPlace","valueAddress":{"city":"Bergen"}}]})");
  EXPECT_TRUE(hasIssue(bad, Severity::kError, "Organization.extension[0]", "is not allowed on Organization")) << describe(bad);
}

TEST(KnownExtensions, ContextOfADataTypeElementAndOfAPrimitive) {
  // iso21090-EN-use: context HumanName; humanname-own-prefix: context HumanName.family (on the primitive's twin).
  OperationOutcome good = validate(R"({"resourceType":"Patient","name":[{
    "extension":[{"url":"http://hl7.org/fhir/StructureDefinition/iso21090-EN-use","valueCode":"I"}],
    "family":"van Dyke","_family":{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/humanname-own-prefix","valueString":"van"}]}}]})");
  EXPECT_EQ(errorCount(good), 0u) << describe(good);
  OperationOutcome bad = validate(R"({"resourceType":"Patient","name":[{"given":["Kari"],
    "_given":[{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/humanname-own-prefix","valueString":"van"}]}]}]})");
  EXPECT_TRUE(hasIssue(bad, Severity::kError, "Patient.name[0].given[0].extension[0]", "is not allowed on Patient.name.given"))
      << describe(bad);
  // "Element" contexts allow any element.
  OperationOutcome anywhere = validate(R"({"resourceType":"Patient","_gender":{"extension":[
    {"url":"http://hl7.org/fhir/StructureDefinition/data-absent-reason","valueCode":"unknown"}]}})");
  EXPECT_EQ(errorCount(anywhere), 0u) << describe(anywhere);
}

TEST(KnownExtensions, ValueTypeIsChecked) {
  OperationOutcome bad = validate(R"({"resourceType":"Patient","extension":[
    {"url":"http://hl7.org/fhir/StructureDefinition/patient-birthPlace","valueString":"Bergen"}]})");
  EXPECT_TRUE(hasIssue(bad, Severity::kError, "Patient.extension[0].valueString", "type string is not allowed"))
      << describe(bad);
  OperationOutcome missing = validate(R"({"resourceType":"Patient","extension":[
    {"url":"http://hl7.org/fhir/StructureDefinition/patient-birthPlace","extension":[{"url":"x","valueString":"y"}]}]})");
  EXPECT_TRUE(hasIssue(missing, Severity::kError, "Patient.extension[0].value", "minimum required = 1")) << describe(missing);
  EXPECT_TRUE(hasIssue(missing, Severity::kError, "Patient.extension[0].extension", "maximum allowed = 0"))
      << describe(missing);
}

TEST(KnownExtensions, NestedExtensionsAndTheirCardinality) {
  OperationOutcome good = validate(R"({"resourceType":"Patient","extension":[
    {"url":"http://hl7.org/fhir/StructureDefinition/patient-citizenship","extension":[
      {"url":"code","valueCodeableConcept":{"coding":[{"system":"urn:iso:std:iso:3166","code":"NO"}]}},
      {"url":"period","valuePeriod":{"start":"2001"}}]}]})");
  EXPECT_EQ(errorCount(good), 0u) << describe(good);
  OperationOutcome bad = validate(R"({"resourceType":"Patient","extension":[
    {"url":"http://hl7.org/fhir/StructureDefinition/patient-citizenship","extension":[
      {"url":"code","valueString":"NO"},
      {"url":"period","valuePeriod":{"start":"2001"}},{"url":"period","valuePeriod":{"start":"2002"}}]}]})");
  EXPECT_TRUE(hasIssue(bad, Severity::kError, "Patient.extension[0].extension[0].valueString", "not allowed")) << describe(bad);
  EXPECT_TRUE(hasIssue(bad, Severity::kError, "Patient.extension[0].extension", "slice 'period' of 'extension': maximum allowed = 1"))
      << describe(bad);
  // A complex extension carries no value of its own.
  OperationOutcome valued = validate(R"({"resourceType":"Patient","extension":[
    {"url":"http://hl7.org/fhir/StructureDefinition/patient-citizenship","valueString":"NO"}]})");
  EXPECT_TRUE(hasIssue(valued, Severity::kError, "Patient.extension[0].value", "maximum allowed = 0")) << describe(valued);
}

TEST(KnownExtensions, ModifierExtensionsAndExtensionsInBundleEntries) {
  OperationOutcome bad = validate(R"({"resourceType":"Bundle","type":"collection","entry":[{
    "fullUrl":"urn:uuid:0f1e1d8c-5a7e-4b5e-9c39-0e9a4f5d6a11",
    "resource":{"resourceType":"Organization","name":"X","extension":[
      {"url":"http://hl7.org/fhir/StructureDefinition/patient-birthPlace","valueAddress":{"city":"Bergen"}}]}}]})");
  EXPECT_TRUE(hasIssue(bad, Severity::kError, "Bundle.entry[0].resource.extension[0]", "is not allowed on Organization"))
      << describe(bad);
}

TEST(KnownExtensions, UnknownExtensionsPass) {
  OperationOutcome out = validate(R"({"resourceType":"Patient","extension":[
    {"url":"http://hl7.no/fhir/StructureDefinition/no-basis-municipality","valueCoding":{"system":"urn:oid:2.16.578.1.12.4.1.1.3402","code":"0301"}},
    {"url":"http://vendor.example/ext","extension":[{"url":"a","valueString":"b"}]}]})");
  EXPECT_EQ(errorCount(out), 0u) << describe(out);
}

TEST(KnownExtensions, LoadedExtensionDefinitionsAreCheckedToo) {
  auto set = testing::profileSetOf({R"({"resourceType":"StructureDefinition","url":"http://example.org/ext/level",
    "name":"Level","status":"active","kind":"complex-type","abstract":false,"type":"Extension",
    "context":[{"type":"element","expression":"CarePlan.activity"}],
    "baseDefinition":"http://hl7.org/fhir/StructureDefinition/Extension","derivation":"constraint",
    "differential":{"element":[
      {"id":"Extension.url","path":"Extension.url","fixedUri":"http://example.org/ext/level"},
      {"id":"Extension.value[x]","path":"Extension.value[x]","min":1,"type":[{"code":"integer"}]}]}})"});
  OperationOutcome good = testing::validateWith(set, R"({"resourceType":"CarePlan","status":"active","intent":"plan",
    "subject":{"reference":"Patient/1"},"activity":[{"extension":[{"url":"http://example.org/ext/level","valueInteger":2}],
    "detail":{"status":"scheduled"}}]})");
  EXPECT_EQ(errorCount(good), 0u) << describe(good);
  OperationOutcome bad = testing::validateWith(set, R"({"resourceType":"CarePlan","status":"active","intent":"plan",
    "subject":{"reference":"Patient/1"},"extension":[{"url":"http://example.org/ext/level","valueString":"2"}]})");
  EXPECT_TRUE(hasIssue(bad, Severity::kError, "CarePlan.extension[0]", "is not allowed on CarePlan")) << describe(bad);
  EXPECT_TRUE(hasIssue(bad, Severity::kError, "CarePlan.extension[0].valueString", "not allowed")) << describe(bad);
}

}  // namespace
}  // namespace planbro::fhir

namespace planbro::fhir {
namespace {

// The R4 core package's own StructureDefinitions carry structuredefinition-fhir-type on ElementDefinition.type,
// outside its declared context (ElementDefinition.type.code): an erratum of the package, corrected at load so that
// definitions that follow the package (SUSHI's output: the IP package's snapshots) validate. Elsewhere the context
// still holds.
TEST(KnownExtensions, TheFhirTypeExtensionIsAllowedWhereTheCorePackageUsesIt) {
  const std::string package = std::string(PLANBRO_TEST_DATA_DIR) + "/../../conformance/ip/package/";
  for (const char* name : {"StructureDefinition-ip-situation-description.json", "StructureDefinition-ip-careplan.json"}) {
    std::ifstream file(package + name, std::ios::binary);
    std::stringstream bytes;
    bytes << file.rdbuf();
    ASSERT_FALSE(bytes.str().empty()) << name;
    ASSERT_NE(bytes.str().find("structuredefinition-fhir-type"), std::string::npos) << name;
    OperationOutcome out = Validator().validateJsonText(bytes.str());
    EXPECT_EQ(errorCount(out), 0u) << name << ": " << describe(out);
  }
  OperationOutcome misplaced = Validator().validateJsonText(R"({"resourceType":"Patient","extension":[
    {"url":"http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type","valueUrl":"string"}]})");
  EXPECT_TRUE(hasIssue(misplaced, Severity::kError, "Patient.extension[0]", "is not allowed on Patient"))
      << describe(misplaced);
}

}  // namespace
}  // namespace planbro::fhir

namespace planbro::fhir {
namespace {

using testing::describe;
using testing::errorCount;
using testing::hasIssue;

// Extension slices discriminated by url are matched through a URL → slice index made at load (profile_set.cc,
// indexSlicesByUrl), not by trying every slice: the index must decide as the slice-by-slice match does (the first
// slice of a URL wins, unknown URLs are in no slice, cardinality per slice, closed slicing).
TEST(KnownExtensions, ExtensionSlicesByUrlAreMatchedThroughAnIndexMadeAtLoad) {
  auto set = testing::profileSetOf({R"({"resourceType":"StructureDefinition","url":"http://example.org/sd/p",
    "name":"P","status":"active","kind":"resource","abstract":false,"type":"Patient",
    "baseDefinition":"http://hl7.org/fhir/StructureDefinition/Patient","derivation":"constraint",
    "differential":{"element":[
      {"id":"Patient.extension","path":"Patient.extension",
       "slicing":{"discriminator":[{"type":"value","path":"url"}],"rules":"closed"}},
      {"id":"Patient.extension:birthPlace","path":"Patient.extension","sliceName":"birthPlace","max":"1",
       "type":[{"code":"Extension","profile":["http://hl7.org/fhir/StructureDefinition/patient-birthPlace"]}]},
      {"id":"Patient.extension:nationality","path":"Patient.extension","sliceName":"nationality","min":1,"max":"1",
       "type":[{"code":"Extension","profile":["http://hl7.org/fhir/StructureDefinition/patient-nationality"]}]}]}})"});
  const Profile* p = set->find("http://example.org/sd/p");
  ASSERT_NE(p, nullptr);
  const ProfileElement* sliced = nullptr;
  for (const ProfileElement& e : p->elements) {
    if (e.def->id == "Patient.extension") sliced = &e;
  }
  ASSERT_NE(sliced, nullptr);
  EXPECT_TRUE(sliced->slices_by_url);
  ASSERT_EQ(sliced->slice_by_url.size(), 2u);
  EXPECT_EQ(sliced->slice_by_url.find("http://hl7.org/fhir/StructureDefinition/patient-nationality")->second, 1u);

  const std::string birth = R"({"url":"http://hl7.org/fhir/StructureDefinition/patient-birthPlace","valueAddress":{"city":"Bergen"}})";
  const std::string nationality = R"({"url":"http://hl7.org/fhir/StructureDefinition/patient-nationality",
    "extension":[{"url":"code","valueCodeableConcept":{"text":"NO"}}]})";
  auto patient = [&](const std::string& extensions) {
    return testing::validateWith(set, R"({"resourceType":"Patient","meta":{"profile":["http://example.org/sd/p"]},
      "extension":[)" + extensions + "]}");
  };
  OperationOutcome good = patient(birth + "," + nationality);
  EXPECT_EQ(errorCount(good), 0u) << describe(good);
  OperationOutcome twice = patient(birth + "," + birth + "," + nationality);
  EXPECT_TRUE(hasIssue(twice, Severity::kError, "Patient.extension", "slice 'birthPlace' of 'extension': maximum allowed = 1"))
      << describe(twice);
  OperationOutcome missing = patient(birth);
  EXPECT_TRUE(hasIssue(missing, Severity::kError, "Patient.extension", "slice 'nationality' of 'extension': minimum required = 1"))
      << describe(missing);
  OperationOutcome unknown = patient(nationality + R"(,{"url":"http://vendor.example/ext","valueString":"x"})");
  EXPECT_TRUE(hasIssue(unknown, Severity::kError, "Patient.extension[1]", "matches none of the slices"))
      << describe(unknown);
}

}  // namespace
}  // namespace planbro::fhir

namespace planbro::fhir {
namespace {

using testing::describe;
using testing::errorCount;
using testing::hasIssue;

// Extension definitions of the simple shape (fixed url, no nested extensions, one narrowed value[x]) and simple
// sub-extensions of a complex one are decided by a plan made at load (extension_plan.h); whenever the plan does not
// hold the definition is walked in full, so every issue below is the full walk's.
const char* kCodeSystem = R"({"resourceType":"CodeSystem","url":"http://example.org/cs/level","status":"active",
  "content":"complete","concept":[{"code":"low"},{"code":"high"}]})";
const char* kValueSet = R"({"resourceType":"ValueSet","url":"http://example.org/vs/level","status":"active",
  "compose":{"include":[{"system":"http://example.org/cs/level"}]}})";
const char* kSimple = R"({"resourceType":"StructureDefinition","url":"http://example.org/ext/level",
  "name":"Level","status":"active","kind":"complex-type","abstract":false,"type":"Extension",
  "context":[{"type":"element","expression":"Patient"}],
  "baseDefinition":"http://hl7.org/fhir/StructureDefinition/Extension","derivation":"constraint",
  "differential":{"element":[
    {"id":"Extension.extension","path":"Extension.extension","max":"0"},
    {"id":"Extension.url","path":"Extension.url","fixedUri":"http://example.org/ext/level"},
    {"id":"Extension.value[x]","path":"Extension.value[x]","min":1,"type":[{"code":"Coding"}],
     "binding":{"strength":"required","valueSet":"http://example.org/vs/level"}}]}})";
const char* kComplex = R"({"resourceType":"StructureDefinition","url":"http://example.org/ext/rating",
  "name":"Rating","status":"active","kind":"complex-type","abstract":false,"type":"Extension",
  "context":[{"type":"element","expression":"Patient"}],
  "baseDefinition":"http://hl7.org/fhir/StructureDefinition/Extension","derivation":"constraint",
  "differential":{"element":[
    {"id":"Extension.extension","path":"Extension.extension","min":1},
    {"id":"Extension.extension:level","path":"Extension.extension","sliceName":"level","min":1,"max":"1"},
    {"id":"Extension.extension:level.extension","path":"Extension.extension.extension","max":"0"},
    {"id":"Extension.extension:level.url","path":"Extension.extension.url","fixedUri":"level"},
    {"id":"Extension.extension:level.value[x]","path":"Extension.extension.value[x]","min":1,"type":[{"code":"Coding"}],
     "binding":{"strength":"required","valueSet":"http://example.org/vs/level"}},
    {"id":"Extension.url","path":"Extension.url","fixedUri":"http://example.org/ext/rating"},
    {"id":"Extension.value[x]","path":"Extension.value[x]","max":"0"}]}})";

std::string patientWith(const std::string& extension) {
  return R"({"resourceType":"Patient","extension":[)" + extension + "]}";
}

TEST(KnownExtensions, SimpleDefinitionsAreDecidedByAPlanAndReportedByTheFullWalk) {
  auto set = testing::profileSetOf({kCodeSystem, kValueSet, kSimple, kComplex});
  ASSERT_NE(set, nullptr);
  const Profile* simple = set->find("http://example.org/ext/level");
  ASSERT_NE(simple, nullptr);
  EXPECT_NE(simple->extension_plan, nullptr);
  const Profile* complex = set->find("http://example.org/ext/rating");
  ASSERT_NE(complex, nullptr);
  EXPECT_EQ(complex->extension_plan, nullptr);  // it has slices: walked in full, its simple slice by a plan
  size_t planned_slices = 0;
  for (const ProfileElement& e : complex->elements) planned_slices += e.extension_plan != nullptr;
  EXPECT_EQ(planned_slices, 1u);

  const std::string url = R"("url":"http://example.org/ext/level")";
  OperationOutcome good = testing::validateWith(set, patientWith(
      "{" + url + R"(,"valueCoding":{"system":"http://example.org/cs/level","code":"low"}})"));
  EXPECT_EQ(good.issues().size(), 1u) << describe(good);  // dom-6 only
  EXPECT_EQ(errorCount(good), 0u) << describe(good);

  OperationOutcome code = testing::validateWith(set, patientWith(
      "{" + url + R"(,"valueCoding":{"system":"http://example.org/cs/level","code":"middling"}})"));
  EXPECT_TRUE(hasIssue(code, Severity::kError, "Patient.extension[0].valueCoding", "is not in the value set"))
      << describe(code);
  OperationOutcome type = testing::validateWith(set, patientWith("{" + url + R"(,"valueString":"low"})"));
  EXPECT_TRUE(hasIssue(type, Severity::kError, "Patient.extension[0].valueString", "type string is not allowed"))
      << describe(type);
  OperationOutcome missing = testing::validateWith(set, patientWith(
      "{" + url + R"(,"extension":[{"url":"x","valueString":"y"}]})"));
  EXPECT_TRUE(hasIssue(missing, Severity::kError, "Patient.extension[0].value", "minimum required = 1"))
      << describe(missing);
  EXPECT_TRUE(hasIssue(missing, Severity::kError, "Patient.extension[0].extension", "maximum allowed = 0"))
      << describe(missing);

  const std::string rating = R"("url":"http://example.org/ext/rating")";
  OperationOutcome nested_good = testing::validateWith(set, patientWith(
      "{" + rating + R"(,"extension":[{"url":"level","valueCoding":{"system":"http://example.org/cs/level","code":"high"}}]})"));
  EXPECT_EQ(errorCount(nested_good), 0u) << describe(nested_good);
  OperationOutcome nested_bad = testing::validateWith(set, patientWith(
      "{" + rating + R"(,"extension":[{"url":"level","valueCoding":{"system":"http://example.org/cs/level","code":"none"}}]})"));
  EXPECT_TRUE(hasIssue(nested_bad, Severity::kError, "Patient.extension[0].extension[0].valueCoding",
                       "is not in the value set"))
      << describe(nested_bad);
  OperationOutcome nested_type = testing::validateWith(set, patientWith(
      "{" + rating + R"(,"extension":[{"url":"level","valueCode":"high"}]})"));
  EXPECT_TRUE(hasIssue(nested_type, Severity::kError, "Patient.extension[0].extension[0].valueCode", "not allowed"))
      << describe(nested_type);
}

}  // namespace
}  // namespace planbro::fhir

namespace planbro::fhir {
namespace {

using testing::describe;

// A slice of extensions by url held to nothing but its extension definition is not walked by the profile (its
// definition is checked by the base walk wherever the extension occurs: ProfileElement::only_its_extension_definition).
// The outcome must be the one with every slice walked, on conforming and broken extensions alike.
TEST(KnownExtensions, SlicesHeldOnlyToTheirDefinitionReportWhatWalkingThemReports) {
  const std::string profile = R"({"resourceType":"StructureDefinition","url":"http://example.org/sd/p2",
    "name":"P2","status":"active","kind":"resource","abstract":false,"type":"Patient",
    "baseDefinition":"http://hl7.org/fhir/StructureDefinition/Patient","derivation":"constraint",
    "differential":{"element":[
      {"id":"Patient.extension","path":"Patient.extension",
       "slicing":{"discriminator":[{"type":"value","path":"url"}],"rules":"open"}},
      {"id":"Patient.extension:birthPlace","path":"Patient.extension","sliceName":"birthPlace","max":"1",
       "type":[{"code":"Extension","profile":["http://hl7.org/fhir/StructureDefinition/patient-birthPlace"]}]},
      {"id":"Patient.extension:birthPlace.value[x]","path":"Patient.extension.value[x]",
       "patternAddress":{"country":"NO"}},
      {"id":"Patient.extension:nationality","path":"Patient.extension","sliceName":"nationality","min":1,"max":"1",
       "type":[{"code":"Extension","profile":["http://hl7.org/fhir/StructureDefinition/patient-nationality"]}]},
      {"id":"Patient.extension:religion","path":"Patient.extension","sliceName":"religion","max":"1",
       "type":[{"code":"Extension","profile":["http://hl7.org/fhir/StructureDefinition/patient-religion"]}]}]}})";
  auto planned = testing::profileSetOf({profile});
  auto walked = testing::profileSetOf({profile});
  ASSERT_NE(planned, nullptr);
  ASSERT_NE(walked, nullptr);
  std::map<std::string, bool> flags;
  for (const ProfileElement& e : planned->find("http://example.org/sd/p2")->elements) {
    if (!e.def->slice_name.empty()) flags[e.def->slice_name] = e.only_its_extension_definition;
  }
  EXPECT_FALSE(flags["birthPlace"]);  // its value has a pattern of the profile's own
  EXPECT_TRUE(flags["nationality"]);  // the cardinality is the slice count's, not the slice's walk
  EXPECT_TRUE(flags["religion"]);
  for (const ProfileElement& e : walked->find("http://example.org/sd/p2")->elements) {
    const_cast<ProfileElement&>(e).only_its_extension_definition = false;
  }
  const std::string birth_no =
      R"({"url":"http://hl7.org/fhir/StructureDefinition/patient-birthPlace","valueAddress":{"country":"NO"}})";
  const std::string birth_se =
      R"({"url":"http://hl7.org/fhir/StructureDefinition/patient-birthPlace","valueAddress":{"country":"SE"}})";
  const std::string nationality = R"({"url":"http://hl7.org/fhir/StructureDefinition/patient-nationality",
    "extension":[{"url":"code","valueCodeableConcept":{"text":"NO"}}]})";
  const std::string religion = R"({"url":"http://hl7.org/fhir/StructureDefinition/patient-religion",
    "valueCodeableConcept":{"text":"none"}})";
  const std::vector<std::pair<const char*, std::string>> cases = {
      {"every slice", birth_no + "," + nationality + "," + religion},
      {"the required slice only", nationality},
      {"the required slice missing", religion},
      {"a slice twice", nationality + "," + religion + "," + religion},
      {"a pattern not matched", birth_se + "," + nationality},
      {"a value the definition does not allow",
       nationality + R"(,{"url":"http://hl7.org/fhir/StructureDefinition/patient-religion","valueString":"x"})"},
      {"nested extensions the definition does not allow",
       nationality + R"(,{"url":"http://hl7.org/fhir/StructureDefinition/patient-religion",)"
                     R"("extension":[{"url":"a","valueString":"b"}]})"},
      {"a nationality without its code",
       R"({"url":"http://hl7.org/fhir/StructureDefinition/patient-nationality",)"
       R"("extension":[{"url":"period","valuePeriod":{"start":"2020"}}]})"},
      {"an extension no slice names", nationality + R"(,{"url":"http://vendor.example/ext","valueString":"x"})"},
  };
  for (const auto& [what, extensions] : cases) {
    const std::string text = R"({"resourceType":"Patient","meta":{"profile":["http://example.org/sd/p2"]},
      "extension":[)" + extensions + "]}";
    EXPECT_EQ(describe(testing::validateWith(planned, text)), describe(testing::validateWith(walked, text))) << what;
  }
  // The broken cases are reported at all (the comparison above is not between two empty outcomes).
  const std::string broken = R"({"resourceType":"Patient","meta":{"profile":["http://example.org/sd/p2"]},
      "extension":[)" + nationality + R"(,{"url":"http://hl7.org/fhir/StructureDefinition/patient-religion","valueString":"x"}]})";
  EXPECT_GT(testing::errorCount(testing::validateWith(planned, broken)), 0u);
}

TEST(KnownExtensions, TheIpCarePlansExtensionSlicesAreHeldOnlyToTheirDefinitions) {
  ProfileSetBuilder builder;
  ASSERT_TRUE(builder.addDirectory(std::string(PLANBRO_TEST_DATA_DIR) + "/../../conformance/ip/package").isOk());
  auto set = builder.build();
  ASSERT_TRUE(set.isOk()) << set.status().message();
  const Profile* careplan = (*set)->find("http://planbro.no/fhir/StructureDefinition/ip-careplan");
  ASSERT_NE(careplan, nullptr);
  size_t flagged = 0;
  for (const ProfileElement& e : careplan->elements) flagged += e.only_its_extension_definition;
  EXPECT_GE(flagged, 10u);
}

}  // namespace
}  // namespace planbro::fhir
