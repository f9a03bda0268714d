// Behaviour of the generic R4 validator on small resources, one rule at a time.

#include <gtest/gtest.h>

#include <string>

#include "planbro/fhir-model/validator.h"
#include "test_files.h"

namespace planbro::fhir {
namespace {

using testing::describeErrors;
using testing::hasIssueAt;

OperationOutcome validate(std::string json, ValidationOptions options = {}) {
  return validateJsonText(std::move(json), options);
}


TEST(Validator, AcceptsMinimalCarePlan) {
  auto out = validate(R"({"resourceType": "CarePlan", "status": "active", "intent": "plan",
                          "subject": {"reference": "Patient/1"}})");
  EXPECT_FALSE(out.hasErrors()) << describeErrors(out);
}

TEST(Validator, ReportsMissingRequiredPrimitiveAtItsPath) {
  auto out = validate(R"({"resourceType": "CarePlan", "intent": "plan", "subject": {"reference": "Patient/1"}})");
  EXPECT_TRUE(hasIssueAt(out, "CarePlan.status")) << describeErrors(out);
}

TEST(Validator, RequiredPrimitiveMaySatisfiedByExtensionTwin) {
  auto out = validate(R"({"resourceType": "CarePlan", "intent": "plan", "subject": {"reference": "Patient/1"},
    "_status": {"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason",
                               "valueCode": "unknown"}]}})");
  EXPECT_FALSE(out.hasErrors()) << describeErrors(out);
}

TEST(Validator, RejectsMissingOrUnknownResourceType) {
  EXPECT_TRUE(validate(R"({"id": "x"})").hasErrors());
  EXPECT_TRUE(validate(R"({"resourceType": "NoSuchThing", "id": "x"})").hasErrors());
  EXPECT_TRUE(validate(R"({"resourceType": "DomainResource", "id": "x"})").hasErrors());
}

TEST(Validator, ReportsUnknownPropertyAtItsLocation) {
  auto out = validate(R"({"resourceType": "Patient", "name": [{"family": "X", "nickname": "Y"}]})");
  EXPECT_TRUE(hasIssueAt(out, "Patient.name[0].nickname")) << describeErrors(out);
}

TEST(Validator, RejectsNullEmptyStringsArraysAndObjects) {
  EXPECT_TRUE(validate(R"({"resourceType": "Patient", "gender": null})").hasErrors());
  EXPECT_TRUE(validate(R"({"resourceType": "Patient", "gender": ""})").hasErrors());
  EXPECT_TRUE(validate(R"({"resourceType": "Patient", "name": []})").hasErrors());
  EXPECT_TRUE(validate(R"({"resourceType": "Patient", "name": [{}]})").hasErrors());
  auto out = validate(R"({"resourceType": "Patient", "name": [{"family": "X"}], "maritalStatus": {}})");
  EXPECT_TRUE(hasIssueAt(out, "Patient.maritalStatus")) << describeErrors(out);
}

TEST(Validator, AcceptsNullsThatAlignPrimitiveArraysWithTheirExtensions) {
  auto out = validate(R"({"resourceType": "Patient", "name": [{"given": ["A", null],
    "_given": [null, {"extension": [{"url": "http://example.org/x", "valueString": "B"}]}]}]})");
  EXPECT_FALSE(out.hasErrors()) << describeErrors(out);
  EXPECT_TRUE(validate(R"({"resourceType": "Patient", "name": [{"given": ["A", null]}]})").hasErrors());
}

TEST(Validator, EnforcesArrayShapeByCardinality) {
  EXPECT_TRUE(validate(R"({"resourceType": "Patient", "name": {"family": "X"}})").hasErrors());
  EXPECT_TRUE(validate(R"({"resourceType": "Patient", "gender": ["male"]})").hasErrors());
}

TEST(Validator, ChecksJsonTypeOfPrimitives) {
  EXPECT_TRUE(validate(R"({"resourceType": "Patient", "active": "true"})").hasErrors());
  EXPECT_TRUE(validate(R"({"resourceType": "Patient", "multipleBirthInteger": "2"})").hasErrors());
  EXPECT_TRUE(validate(R"({"resourceType": "Patient", "multipleBirthInteger": 2.5})").hasErrors());
  EXPECT_TRUE(validate(R"({"resourceType": "Patient", "gender": 1})").hasErrors());
  EXPECT_FALSE(validate(R"({"resourceType": "Patient", "multipleBirthInteger": 2})").hasErrors());
}

TEST(Validator, TwinOnlyForPrimitives) {
  EXPECT_TRUE(validate(R"({"resourceType": "Patient", "_maritalStatus": {"id": "a"}})").hasErrors());
}

TEST(Validator, ChoiceTypeAllowsExactlyOneAllowedType) {
  auto base = std::string(R"({"resourceType": "Observation", "status": "final", "code": {"text": "x"}, )");
  EXPECT_FALSE(validate(base + R"("valueString": "a"})").hasErrors());
  EXPECT_TRUE(validate(base + R"("valueString": "a", "valueBoolean": true})").hasErrors());
  auto out = validate(base + R"("valueAddress": {"text": "a"}})");
  EXPECT_TRUE(hasIssueAt(out, "Observation.valueAddress")) << describeErrors(out);
}

TEST(Validator, ChecksPrimitiveFormats) {
  EXPECT_TRUE(validate(R"({"resourceType": "Patient", "birthDate": "2023-02-29"})").hasErrors());
  EXPECT_TRUE(validate(R"({"resourceType": "Patient", "id": "bad_id"})").hasErrors());
  EXPECT_TRUE(validate(R"({"resourceType": "Patient", "deceasedDateTime": "2020-01-01T10:00:00"})").hasErrors());
  EXPECT_FALSE(validate(R"({"resourceType": "Patient", "deceasedDateTime": "2020-01-01T10:00:00Z"})").hasErrors());
}

TEST(Validator, RequiredBindingOnCode) {
  auto out = validate(R"({"resourceType": "CarePlan", "status": "bogus", "intent": "plan",
                          "subject": {"reference": "Patient/1"}})");
  EXPECT_TRUE(hasIssueAt(out, "CarePlan.status")) << describeErrors(out);
}

TEST(Validator, RequiredBindingOnCodeableConcept) {
  // Consent.scope is bound (extensible in R4) so use AllergyIntolerance.clinicalStatus (required).
  auto bad = validate(R"({"resourceType": "AllergyIntolerance", "patient": {"reference": "Patient/1"},
    "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
                                   "code": "nonsense"}]}})");
  EXPECT_TRUE(hasIssueAt(bad, "AllergyIntolerance.clinicalStatus")) << describeErrors(bad);
  auto good = validate(R"({"resourceType": "AllergyIntolerance", "patient": {"reference": "Patient/1"},
    "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
                                   "code": "active"}]}})");
  EXPECT_FALSE(good.hasErrors()) << describeErrors(good);
}

TEST(Validator, ReferenceFormatAndTargetType) {
  auto wrong_type = validate(R"({"resourceType": "CarePlan", "status": "active", "intent": "plan",
                                 "subject": {"reference": "Practitioner/1"}})");
  EXPECT_TRUE(hasIssueAt(wrong_type, "CarePlan.subject.reference")) << describeErrors(wrong_type);
  EXPECT_TRUE(validate(R"({"resourceType": "CarePlan", "status": "active", "intent": "plan",
                           "subject": {"reference": "not a reference"}})").hasErrors());
  EXPECT_FALSE(validate(R"({"resourceType": "CarePlan", "status": "active", "intent": "plan",
                            "subject": {"reference": "urn:uuid:a76d9bbf-f293-4fb7-ad4c-2851cac77162"}})").hasErrors());
  EXPECT_FALSE(validate(R"({"resourceType": "CarePlan", "status": "active", "intent": "plan",
                            "subject": {"reference": "http://example.org/fhir/Patient/1"}})").hasErrors());
}

TEST(Validator, ContainedResourcesMustBeReferencedAndResolvable) {
  auto unreferenced = validate(R"({"resourceType": "CarePlan", "status": "active", "intent": "plan",
    "contained": [{"resourceType": "Patient", "id": "p1"}], "subject": {"reference": "Patient/1"}})");
  EXPECT_TRUE(hasIssueAt(unreferenced, "CarePlan.contained[0]")) << describeErrors(unreferenced);
  auto referenced = validate(R"({"resourceType": "CarePlan", "status": "active", "intent": "plan",
    "contained": [{"resourceType": "Patient", "id": "p1", "active": true}], "subject": {"reference": "#p1"}})");
  EXPECT_FALSE(referenced.hasErrors()) << describeErrors(referenced);
  auto dangling = validate(R"({"resourceType": "CarePlan", "status": "active", "intent": "plan",
                               "subject": {"reference": "#nowhere"}})");
  EXPECT_TRUE(dangling.hasErrors());
  auto nested = validate(R"({"resourceType": "CarePlan", "status": "active", "intent": "plan",
    "contained": [{"resourceType": "Patient", "id": "p1",
                   "contained": [{"resourceType": "Patient", "id": "p2", "active": true}],
                   "link": [{"other": {"reference": "#p2"}, "type": "seealso"}]}],
    "subject": {"reference": "#p1"}})");
  EXPECT_TRUE(nested.hasErrors());
}

TEST(Validator, ContainedResourceLinkedFromNarrativeCountsAsReferenced) {
  auto out = validate(R"({"resourceType": "CarePlan", "status": "active", "intent": "plan",
    "text": {"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\"><a href=\"#p1\">p</a></div>"},
    "contained": [{"resourceType": "Patient", "id": "p1", "active": true}], "subject": {"reference": "Patient/1"}})");
  EXPECT_FALSE(out.hasErrors()) << describeErrors(out);
}

TEST(Validator, NarrativeMustBeSafeXhtml) {
  std::string head = R"({"resourceType": "Patient", "text": {"status": "generated", "div": ")";
  EXPECT_FALSE(validate(head + R"(<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>ok</p></div>"}})").hasErrors());
  EXPECT_TRUE(validate(head + R"(<div xmlns=\"http://www.w3.org/1999/xhtml\"><script>x</script></div>"}})").hasErrors());
  EXPECT_TRUE(validate(head + R"(<div xmlns=\"http://www.w3.org/1999/xhtml\" onclick=\"x()\">a</div>"}})").hasErrors());
  EXPECT_TRUE(validate(head + R"(<div>no namespace</div>"}})").hasErrors());
  EXPECT_TRUE(validate(head + R"(<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>unclosed</div>"}})").hasErrors());
  EXPECT_TRUE(validate(head + R"(<div xmlns=\"http://www.w3.org/1999/xhtml\">&reg;</div>"}})").hasErrors());
  auto out = validate(head + R"(<div xmlns=\"http://www.w3.org/1999/xhtml\"><a href=\"javascript:x()\">a</a></div>"}})");
  EXPECT_TRUE(hasIssueAt(out, "Patient.text.div")) << describeErrors(out);
}

TEST(Validator, ExtensionNeedsUrlAndValueXorExtensions) {
  EXPECT_TRUE(validate(R"({"resourceType": "Patient", "extension": [{"valueString": "a"}]})").hasErrors());
  EXPECT_TRUE(validate(R"({"resourceType": "Patient", "extension": [{"url": "http://x.org/a"}]})").hasErrors());
  EXPECT_TRUE(validate(R"({"resourceType": "Patient", "extension": [{"url": "http://x.org/a", "valueString": "a",
      "extension": [{"url": "b", "valueString": "c"}]}]})").hasErrors());
  EXPECT_FALSE(validate(R"({"resourceType": "Patient", "modifierExtension": [{"url": "http://x.org/a",
      "valueBoolean": true}]})").hasErrors());
}

TEST(Validator, NorwegianPersonNumberCheckDigits) {
  auto bad = validate(R"({"resourceType": "Patient", "identifier": [{"system": "urn:oid:2.16.578.1.12.4.1.4.1",
                                                                   "value": "13116900217"}]})");
  EXPECT_TRUE(hasIssueAt(bad, "Patient.identifier[0].value")) << describeErrors(bad);
  auto good = validate(R"({"resourceType": "Patient", "identifier": [{"system": "urn:oid:2.16.578.1.12.4.1.4.1",
                                                                    "value": "13116900216"}]})");
  EXPECT_FALSE(good.hasErrors()) << describeErrors(good);
}

TEST(Validator, BundleEntriesAreValidatedWithTheirLocation) {
  auto out = validate(R"({"resourceType": "Bundle", "type": "collection", "entry": [
      {"fullUrl": "http://example.org/Patient/1", "resource": {"resourceType": "Patient", "active": true}},
      {"fullUrl": "http://example.org/Patient/2", "resource": {"resourceType": "Patient", "name": [{"bogus": 1}]}}]})");
  EXPECT_TRUE(hasIssueAt(out, "Bundle.entry[1].resource.name[0].bogus")) << describeErrors(out);
  auto relative = validate(R"({"resourceType": "Bundle", "type": "collection", "entry": [
      {"fullUrl": "Patient/1", "resource": {"resourceType": "Patient", "active": true}}]})");
  EXPECT_TRUE(relative.hasErrors());
}

TEST(Validator, InvariantsAreEvaluatedWithFhirPath) {
  auto out = validate(R"({"resourceType": "Encounter", "status": "finished", "class": {"code": "AMB"},
                          "period": {"start": "2020-02-01", "end": "2020-01-01"}})");
  EXPECT_TRUE(hasIssueAt(out, "Encounter.period")) << describeErrors(out);
  ValidationOptions no_invariants;
  no_invariants.check_invariants = false;
  auto skipped = validate(R"({"resourceType": "Encounter", "status": "finished", "class": {"code": "AMB"},
                              "period": {"start": "2020-02-01", "end": "2020-01-01"}})", no_invariants);
  EXPECT_FALSE(skipped.hasErrors()) << describeErrors(skipped);
}

TEST(Validator, ReportsJsonSyntaxErrorsAsFatal) {
  auto out = validate(R"({"resourceType": "Patient", // comment
                          "active": true})");
  ASSERT_FALSE(out.issues().empty());
  EXPECT_EQ(out.issues().front().severity, Severity::kFatal);
}

TEST(Validator, NeverCrashesOnHostileShapes) {
  for (const char* json : {"[]", "1", "\"x\"", "null", R"({"resourceType": 1})", R"({"resourceType": "Patient",
       "contained": [1, null, []]})", R"({"resourceType": "Bundle", "entry": [{"resource": []}]})",
       R"({"resourceType": "Patient", "_gender": [null]})", R"({"resourceType": "Patient", "text": {"div": 5}})"}) {
    auto out = validate(json);
    EXPECT_TRUE(out.hasErrors()) << json;
  }
}

}  // namespace
}  // namespace planbro::fhir
