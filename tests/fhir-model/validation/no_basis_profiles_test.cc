// HL7 Norway's no-basis profiles (conformance/no-basis/, the folder `planbro serve` loads; copied, like the example
// Patient in tests/data/validation/no-basis/, from ../shared/fhir-r4/norway/): loaded
// from their XML StructureDefinitions (differentials only, so snapshots are generated) and enforced on resources
// that claim them.

#include <gtest/gtest.h>

#include <filesystem>
#include <thread>
#include <vector>

#include "planbro/fhir-model/fhir_xml.h"
#include "planbro/fhir-model/profile_set.h"
#include "planbro/fhir-model/validator.h"
#include "profile_test_support.h"
#include "test_files.h"

namespace planbro::fhir {
namespace {

using testing::describe;
using testing::errorCount;
using testing::hasIssue;

std::filesystem::path noBasisDir() {
  return std::filesystem::path(PLANBRO_TEST_DATA_DIR).parent_path().parent_path() / "conformance" / "no-basis";
}
std::filesystem::path examplesDir() { return std::filesystem::path(PLANBRO_TEST_DATA_DIR) / "validation" / "no-basis"; }

std::shared_ptr<const ProfileSet> noBasis() {
  static std::shared_ptr<const ProfileSet> set = [] {
    ProfileSetBuilder builder;
    Status added = builder.addDirectory(noBasisDir());
    EXPECT_TRUE(added.isOk()) << added.message();
    auto built = builder.build();
    EXPECT_TRUE(built.isOk()) << built.status().message();
    return built.isOk() ? std::move(built).value() : nullptr;
  }();
  return set;
}

constexpr std::string_view kPatient = "http://hl7.no/fhir/StructureDefinition/no-basis-Patient";

TEST(NoBasisProfiles, LoadWithGeneratedSnapshots) {
  auto set = noBasis();
  ASSERT_NE(set, nullptr);
  for (std::string_view name : {"no-basis-Patient", "no-basis-Address", "no-basis-HumanName", "no-basis-Organization",
                                "no-basis-Practitioner", "no-basis-PractitionerRole", "no-basis-RelatedPerson",
                                "no-basis-HealthcareService"}) {
    const Profile* p = set->find("http://hl7.no/fhir/StructureDefinition/" + std::string(name));
    ASSERT_NE(p, nullptr) << name;
    EXPECT_GT(p->def->elements.size(), 10u) << name;
  }
  const Profile* patient = set->find(kPatient);
  ASSERT_NE(patient, nullptr);
  // The FNR slice of identifier, with its system fixed, came from the differential.
  bool found = false;
  for (const ElementDef& e : patient->def->elements) {
    if (e.id == "Patient.identifier:FNR.system") {
      found = true;
      EXPECT_EQ(e.fixed_json, "\"urn:oid:2.16.578.1.12.4.1.4.1\"");
      EXPECT_EQ(e.min, 1u);
    }
  }
  EXPECT_TRUE(found);
  for (const std::string& w : set->warnings()) ADD_FAILURE() << w;
}

TEST(NoBasisProfiles, TheOfficialExampleConformsApartFromItsMaskedFodselsnummer) {
  auto set = noBasis();
  ASSERT_NE(set, nullptr);
  Result<JsonDocument> doc = fhirXmlToJson(testing::readFile(examplesDir() / "no-basis-Patient-Espen-Eksempel.xml"));
  ASSERT_TRUE(doc.isOk()) << doc.status().message();
  OperationOutcome out = Validator(set).validate(doc->root());
  // "210377xxxxx" is masked in the example: the only error is the Norwegian identifier check.
  EXPECT_EQ(errorCount(out), 1u) << describe(out);
  EXPECT_TRUE(hasIssue(out, Severity::kError, "Patient.identifier[0].value", "Norwegian identifier")) << describe(out);
}

TEST(NoBasisProfiles, SliceRulesAreEnforcedOnAClaimingPatient) {
  auto set = noBasis();
  ASSERT_NE(set, nullptr);
  // A D-nummer identifier (DNR slice by system) without a value: the slice makes value required.
  OperationOutcome out = testing::validateWith(set, R"({"resourceType":"Patient",
    "meta":{"profile":["http://hl7.no/fhir/StructureDefinition/no-basis-Patient"]},
    "identifier":[{"system":"urn:oid:2.16.578.1.12.4.1.4.2"}]})");
  EXPECT_TRUE(hasIssue(out, Severity::kError, "Patient.identifier[0].value", "minimum required = 1")) << describe(out);
  // Without the claim the same resource is only held to the base definition.
  OperationOutcome plain = testing::validateWith(set, R"({"resourceType":"Patient",
    "identifier":[{"system":"urn:oid:2.16.578.1.12.4.1.4.2"}]})");
  EXPECT_EQ(errorCount(plain), 0u) << describe(plain);
}

TEST(NoBasisProfiles, RequiredPerResourceTypeWithoutAClaim) {
  auto set = noBasis();
  ASSERT_NE(set, nullptr);
  ValidatorOptions options;
  options.required_profiles["Patient"] = {std::string(kPatient)};
  auto validator = Validator::create(set, options);
  ASSERT_TRUE(validator.isOk()) << validator.status().message();
  OperationOutcome out = (*validator)->validateJsonText(R"({"resourceType":"Patient",
    "identifier":[{"system":"urn:oid:2.16.578.1.12.4.1.4.2"}]})");
  EXPECT_TRUE(hasIssue(out, Severity::kError, "Patient.identifier[0].value", "minimum required = 1")) << describe(out);

  options.required_profiles["Patient"] = {"http://example.org/unknown"};
  EXPECT_FALSE(Validator::create(set, options).isOk());
  options.required_profiles.clear();
  options.required_profiles["Organization"] = {std::string(kPatient)};
  EXPECT_FALSE(Validator::create(set, options).isOk());
}

TEST(NoBasisProfiles, UnknownClaimedProfileIsAWarning) {
  auto set = noBasis();
  OperationOutcome out = testing::validateWith(set, R"({"resourceType":"Patient",
    "meta":{"profile":["http://example.org/StructureDefinition/nowhere"]}})");
  EXPECT_EQ(errorCount(out), 0u) << describe(out);
  EXPECT_TRUE(hasIssue(out, Severity::kWarning, "Patient.meta.profile[0]", "not known")) << describe(out);
}

TEST(NoBasisProfiles, ClaimOfAProfileForAnotherType) {
  auto set = noBasis();
  OperationOutcome out = testing::validateWith(set, R"({"resourceType":"Organization",
    "meta":{"profile":["http://hl7.no/fhir/StructureDefinition/no-basis-Patient"]}})");
  EXPECT_TRUE(hasIssue(out, Severity::kError, "Organization.meta.profile[0]", "is for Patient")) << describe(out);
}

}  // namespace
}  // namespace planbro::fhir

namespace planbro::fhir {
namespace {

TEST(NoBasisProfiles, OneValidatorSharedByThreadsGivesTheSameOutcomes) {
  auto set = noBasis();
  ASSERT_NE(set, nullptr);
  ValidatorOptions options;
  options.required_profiles["Patient"] = {std::string(kPatient)};
  const Validator validator(set, options);
  const std::vector<std::string> texts = {
      R"({"resourceType":"Patient","identifier":[{"system":"urn:oid:2.16.578.1.12.4.1.4.2"}]})",
      R"({"resourceType":"Patient","identifier":[{"system":"urn:oid:2.16.578.1.12.4.1.4.1","value":"13116900216"}]})",
      R"({"resourceType":"Patient","extension":[{"url":"http://hl7.org/fhir/StructureDefinition/patient-citizenship",
          "extension":[{"url":"code","valueString":"NO"}]}]})"};
  std::vector<size_t> expected;
  for (const std::string& t : texts) expected.push_back(validator.validateJsonText(t).issues().size());
  std::vector<std::vector<size_t>> got(2);
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 20; ++round) {
        for (const std::string& text : texts) got[t].push_back(validator.validateJsonText(text).issues().size());
      }
    });
  }
  for (std::thread& th : threads) th.join();
  for (int t = 0; t < 2; ++t) {
    ASSERT_EQ(got[t].size(), texts.size() * 20);
    for (size_t i = 0; i < got[t].size(); ++i) EXPECT_EQ(got[t][i], expected[i % texts.size()]);
  }
}

}  // namespace
}  // namespace planbro::fhir
