// Slicing: each R4 discriminator type (value, pattern, type, profile, exists), slice cardinality, and the slicing
// rules (closed, open, openAtEnd, ordered).

#include <gtest/gtest.h>

#include <string>

#include "profile_test_support.h"

namespace planbro::fhir {
namespace {

using testing::describe;
using testing::errorCount;
using testing::hasIssue;
using testing::profileSetOf;
using testing::validateWith;

constexpr const char* kUrl = "http://example.org/fhir/StructureDefinition/sliced";

std::string profile(const std::string& type, const std::string& elements, const std::string& url = kUrl,
                    const std::string& kind = "resource") {
  return R"({"resourceType":"StructureDefinition","url":")" + url + R"(","name":"S","status":"active","kind":")" +
         kind + R"(","abstract":false,"type":")" + type + R"(","baseDefinition":"http://hl7.org/fhir/StructureDefinition/)" +
         type + R"(","derivation":"constraint","differential":{"element":[)" + elements + "]}}";
}

std::string claiming(const std::string& type, const std::string& members) {
  return R"({"resourceType":")" + type + R"(","meta":{"profile":[")" + std::string(kUrl) + R"("]},)" + members + "}";
}

// identifier sliced by value of system: fnr (1..1, value required) and dnr (0..1).
std::string identifierSlicing(const std::string& rules, bool ordered) {
  return profile("Patient", R"(
    {"id":"Patient.identifier","path":"Patient.identifier","slicing":{"discriminator":[{"type":"value","path":"system"}],
      "rules":")" + rules + R"(","ordered":)" + (ordered ? "true" : "false") + R"(}},
    {"id":"Patient.identifier:fnr","path":"Patient.identifier","sliceName":"fnr","min":1,"max":"1"},
    {"id":"Patient.identifier:fnr.system","path":"Patient.identifier.system","fixedUri":"urn:oid:2.16.578.1.12.4.1.4.1"},
    {"id":"Patient.identifier:fnr.value","path":"Patient.identifier.value","min":1},
    {"id":"Patient.identifier:dnr","path":"Patient.identifier","sliceName":"dnr","max":"1"},
    {"id":"Patient.identifier:dnr.system","path":"Patient.identifier.system","fixedUri":"urn:oid:2.16.578.1.12.4.1.4.2"})");
}

constexpr const char* kFnr = R"({"system":"urn:oid:2.16.578.1.12.4.1.4.1","value":"13116900216"})";
constexpr const char* kDnr = R"({"system":"urn:oid:2.16.578.1.12.4.1.4.2","value":"53116900390"})";
constexpr const char* kOther = R"({"system":"http://example.org/mrn","value":"42"})";

std::string identifiers(std::initializer_list<const char*> items) {
  std::string s = R"("identifier":[)";
  bool first = true;
  for (const char* i : items) {
    if (!first) s += ",";
    s += i;
    first = false;
  }
  return s + "]";
}

TEST(ProfileSlicing, ValueDiscriminatorAssignsAndCountsSlices) {
  auto set = profileSetOf({identifierSlicing("open", false)});
  OperationOutcome good = validateWith(set, claiming("Patient", identifiers({kOther, kFnr, kDnr})));
  EXPECT_EQ(errorCount(good), 0u) << describe(good);

  OperationOutcome missing = validateWith(set, claiming("Patient", identifiers({kDnr})));
  EXPECT_TRUE(hasIssue(missing, Severity::kError, "Patient.identifier", "slice 'fnr' of 'identifier': minimum required = 1"))
      << describe(missing);
  OperationOutcome twice = validateWith(set, claiming("Patient", identifiers({kFnr, kFnr})));
  EXPECT_TRUE(hasIssue(twice, Severity::kError, "Patient.identifier", "slice 'fnr' of 'identifier': maximum allowed = 1"))
      << describe(twice);
  // The slice's own rules apply to the entries it holds: fnr needs a value.
  OperationOutcome no_value = validateWith(set, claiming("Patient",
      R"("identifier":[{"system":"urn:oid:2.16.578.1.12.4.1.4.1"}])"));
  EXPECT_TRUE(hasIssue(no_value, Severity::kError, "Patient.identifier[0].value", "minimum required = 1"))
      << describe(no_value);
}

TEST(ProfileSlicing, ClosedSlicingRejectsEntriesInNoSlice) {
  auto set = profileSetOf({identifierSlicing("closed", false)});
  OperationOutcome out = validateWith(set, claiming("Patient", identifiers({kFnr, kOther})));
  EXPECT_TRUE(hasIssue(out, Severity::kError, "Patient.identifier[1]", "matches none of the slices")) << describe(out);
  EXPECT_EQ(errorCount(out), 1u) << describe(out);
}

TEST(ProfileSlicing, OpenAtEndRequiresUnslicedEntriesLast) {
  auto set = profileSetOf({identifierSlicing("openAtEnd", false)});
  OperationOutcome good = validateWith(set, claiming("Patient", identifiers({kFnr, kOther})));
  EXPECT_EQ(errorCount(good), 0u) << describe(good);
  OperationOutcome bad = validateWith(set, claiming("Patient", identifiers({kOther, kFnr})));
  EXPECT_TRUE(hasIssue(bad, Severity::kError, "Patient.identifier[1]", "open at the end only")) << describe(bad);
}

TEST(ProfileSlicing, OrderedSlicingRequiresSliceOrder) {
  auto set = profileSetOf({identifierSlicing("open", true)});
  OperationOutcome good = validateWith(set, claiming("Patient", identifiers({kFnr, kDnr})));
  EXPECT_EQ(errorCount(good), 0u) << describe(good);
  OperationOutcome bad = validateWith(set, claiming("Patient", identifiers({kDnr, kFnr})));
  EXPECT_TRUE(hasIssue(bad, Severity::kError, "Patient.identifier[1]", "out of order")) << describe(bad);
  // Unordered slicing accepts either order.
  auto unordered = profileSetOf({identifierSlicing("open", false)});
  EXPECT_EQ(errorCount(validateWith(unordered, claiming("Patient", identifiers({kDnr, kFnr})))), 0u);
}

TEST(ProfileSlicing, PatternDiscriminator) {
  auto set = profileSetOf({profile("Observation", R"(
    {"id":"Observation.category","path":"Observation.category","slicing":{"discriminator":[{"type":"pattern","path":"$this"}],"rules":"open"}},
    {"id":"Observation.category:vs","path":"Observation.category","sliceName":"vs","min":1,"max":"1",
     "patternCodeableConcept":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs"}]}})")});
  std::string vital = R"({"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs"}],"text":"VS"})";
  std::string lab = R"({"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]})";
  OperationOutcome good = validateWith(set, claiming("Observation",
      R"("status":"final","code":{"text":"x"},"category":[)" + lab + "," + vital + "]"));
  EXPECT_EQ(errorCount(good), 0u) << describe(good);
  OperationOutcome bad = validateWith(set, claiming("Observation", R"("status":"final","code":{"text":"x"},"category":[)" + lab + "]"));
  EXPECT_TRUE(hasIssue(bad, Severity::kError, "Observation.category", "slice 'vs'")) << describe(bad);
}

TEST(ProfileSlicing, TypeDiscriminator) {
  // Bundle entries sliced by the type of their resource: exactly one Patient.
  auto set = profileSetOf({profile("Bundle", R"(
    {"id":"Bundle.entry","path":"Bundle.entry","slicing":{"discriminator":[{"type":"type","path":"resource"}],"rules":"open"}},
    {"id":"Bundle.entry:patient","path":"Bundle.entry","sliceName":"patient","min":1,"max":"1"},
    {"id":"Bundle.entry:patient.resource","path":"Bundle.entry.resource","min":1,"type":[{"code":"Patient"}]})")});
  auto bundle = [](const std::string& entries) {
    return claiming("Bundle", R"("type":"collection","entry":[)" + entries + "]");
  };
  std::string patient = R"({"fullUrl":"urn:uuid:0f1e1d8c-5a7e-4b5e-9c39-0e9a4f5d6a11","resource":{"resourceType":"Patient"}})";
  std::string org = R"({"fullUrl":"urn:uuid:1f1e1d8c-5a7e-4b5e-9c39-0e9a4f5d6a11","resource":{"resourceType":"Organization","name":"X"}})";
  OperationOutcome good = validateWith(set, bundle(org + "," + patient));
  EXPECT_EQ(errorCount(good), 0u) << describe(good);
  OperationOutcome none = validateWith(set, bundle(org));
  EXPECT_TRUE(hasIssue(none, Severity::kError, "Bundle.entry", "slice 'patient' of 'entry': minimum required = 1"))
      << describe(none);
  OperationOutcome two = validateWith(set, bundle(patient + "," + patient));
  EXPECT_TRUE(hasIssue(two, Severity::kError, "Bundle.entry", "maximum allowed = 1")) << describe(two);
}

TEST(ProfileSlicing, TypeDiscriminatorOnAChoice) {
  auto set = profileSetOf({profile("Observation", R"(
    {"id":"Observation.value[x]","path":"Observation.value[x]","slicing":{"discriminator":[{"type":"type","path":"$this"}],"rules":"closed"}},
    {"id":"Observation.value[x]:valueQuantity","path":"Observation.value[x]","sliceName":"valueQuantity","type":[{"code":"Quantity"}]},
    {"id":"Observation.value[x]:valueQuantity.unit","path":"Observation.value[x].unit","min":1})")});
  OperationOutcome unit = validateWith(set, claiming("Observation", R"("status":"final","code":{"text":"x"},"valueQuantity":{"value":1})"));
  EXPECT_TRUE(hasIssue(unit, Severity::kError, "Observation.valueQuantity.unit", "minimum required = 1")) << describe(unit);
  OperationOutcome closed = validateWith(set, claiming("Observation", R"("status":"final","code":{"text":"x"},"valueString":"a")"));
  EXPECT_TRUE(hasIssue(closed, Severity::kError, "Observation.valueString", "matches none of the slices")) << describe(closed);
}

TEST(ProfileSlicing, ProfileDiscriminator) {
  constexpr const char* kOfficial = "http://example.org/fhir/StructureDefinition/official-name";
  std::string official = R"({"resourceType":"StructureDefinition","url":")" + std::string(kOfficial) +
      R"(","name":"Official","status":"active","kind":"complex-type","abstract":false,"type":"HumanName",
      "baseDefinition":"http://hl7.org/fhir/StructureDefinition/HumanName","derivation":"constraint",
      "differential":{"element":[{"id":"HumanName.use","path":"HumanName.use","min":1,"fixedCode":"official"},
                                 {"id":"HumanName.family","path":"HumanName.family","min":1}]}})";
  auto set = profileSetOf({official, profile("Patient", R"(
    {"id":"Patient.name","path":"Patient.name","slicing":{"discriminator":[{"type":"profile","path":"$this"}],"rules":"open"}},
    {"id":"Patient.name:official","path":"Patient.name","sliceName":"official","min":1,"max":"1",
     "type":[{"code":"HumanName","profile":["http://example.org/fhir/StructureDefinition/official-name"]}]})")});
  OperationOutcome good = validateWith(set, claiming("Patient",
      R"("name":[{"use":"nickname","given":["Kari"]},{"use":"official","family":"Nordmann"}])"));
  EXPECT_EQ(errorCount(good), 0u) << describe(good);
  // An official name without family conforms to no slice: the slice is then missing.
  OperationOutcome bad = validateWith(set, claiming("Patient", R"("name":[{"use":"official","given":["Kari"]}])"));
  EXPECT_TRUE(hasIssue(bad, Severity::kError, "Patient.name", "slice 'official' of 'name': minimum required = 1"))
      << describe(bad);
}

TEST(ProfileSlicing, ExistsDiscriminator) {
  auto set = profileSetOf({profile("Patient", R"(
    {"id":"Patient.name","path":"Patient.name","slicing":{"discriminator":[{"type":"exists","path":"period"}],"rules":"open"}},
    {"id":"Patient.name:current","path":"Patient.name","sliceName":"current","max":"1"},
    {"id":"Patient.name:current.period","path":"Patient.name.period","max":"0"},
    {"id":"Patient.name:historic","path":"Patient.name","sliceName":"historic"},
    {"id":"Patient.name:historic.period","path":"Patient.name.period","min":1},
    {"id":"Patient.name:historic.period.end","path":"Patient.name.period.end","min":1})")});
  OperationOutcome good = validateWith(set, claiming("Patient",
      R"("name":[{"family":"A"},{"family":"B","period":{"end":"2001"}}])"));
  EXPECT_EQ(errorCount(good), 0u) << describe(good);
  OperationOutcome two_current = validateWith(set, claiming("Patient", R"("name":[{"family":"A"},{"family":"C"}])"));
  EXPECT_TRUE(hasIssue(two_current, Severity::kError, "Patient.name", "slice 'current' of 'name': maximum allowed = 1"))
      << describe(two_current);
  OperationOutcome open_period = validateWith(set, claiming("Patient", R"("name":[{"family":"B","period":{"start":"2001"}}])"));
  EXPECT_TRUE(hasIssue(open_period, Severity::kError, "Patient.name[0].period.end", "minimum required = 1"))
      << describe(open_period);
}

TEST(ProfileSlicing, ExtensionSlicesByUrl) {
  // Slicing extension by url with a core extension definition as the slice's type profile.
  auto set = profileSetOf({profile("Patient", R"(
    {"id":"Patient.extension","path":"Patient.extension","slicing":{"discriminator":[{"type":"value","path":"url"}],"rules":"open"}},
    {"id":"Patient.extension:birthPlace","path":"Patient.extension","sliceName":"birthPlace","min":1,
     "type":[{"code":"Extension","profile":["http://hl7.org/fhir/StructureDefinition/patient-birthPlace"]}]})")});
  OperationOutcome missing = validateWith(set, claiming("Patient", R"("gender":"female")"));
  EXPECT_TRUE(hasIssue(missing, Severity::kError, "Patient.extension", "slice 'birthPlace'")) << describe(missing);
  OperationOutcome good = validateWith(set, claiming("Patient",
      R"("extension":[{"url":"http://hl7.org/fhir/StructureDefinition/patient-birthPlace","valueAddress":{"city":"Bergen"}}])"));
  EXPECT_EQ(errorCount(good), 0u) << describe(good);
}

}  // namespace
}  // namespace planbro::fhir
