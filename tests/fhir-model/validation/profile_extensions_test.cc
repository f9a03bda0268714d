// Extensions with a known definition (the core package's, here) are checked wherever they occur, claimed profile or
// not: context, value type, cardinality and nested extensions. Unknown extensions pass.

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

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
