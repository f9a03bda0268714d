// `planbro validate` holds resources to profiles as `planbro serve` does: the R4 core and the individual-plan
// package are loaded by default and meta.profile claims are honoured; `--profile URL` requires a profile for every
// resource of its type (Bundle entries included); `--package DIR` loads further packages. A profile no package
// defines, or a package path that does not exist, is a wrong command line (exit 2).
#include <string>
#include <vector>

#include "cli_runner.h"

namespace planbro::gateway::cli {
namespace {

const std::string kIpExamples = std::string(PLANBRO_TEST_DATA_DIR) + "/../../conformance/ip/package/example/";
const std::string kIpCarePlan = "http://planbro.no/fhir/StructureDefinition/ip-careplan";

// A CarePlan the R4 base definitions accept (only the dom-6 narrative warning) but the IP profile does not: no
// category, no lifecycle extension, no subject identifier.
constexpr std::string_view kPlainCarePlan =
    R"({"resourceType":"CarePlan","status":"active","intent":"plan","subject":{"reference":"Patient/1"}})";

// A profile of Patient, differential only, that makes birthDate required.
constexpr std::string_view kBirthDateProfile = R"({"resourceType":"StructureDefinition",
  "url":"http://example.org/fhir/StructureDefinition/born-patient","name":"BornPatient","status":"active",
  "kind":"resource","abstract":false,"type":"Patient","derivation":"constraint",
  "baseDefinition":"http://hl7.org/fhir/StructureDefinition/Patient",
  "differential":{"element":[{"id":"Patient","path":"Patient"},
    {"id":"Patient.birthDate","path":"Patient.birthDate","min":1}]}})";
const std::string kBornPatient = "http://example.org/fhir/StructureDefinition/born-patient";

TEST_F(PlanbroCli, ValidateLoadsTheIpPackageByDefaultAndHonoursClaims) {
  auto good = run({"validate", kIpExamples + "CarePlan-ip-example-careplan.json"});
  EXPECT_EQ(good.exit_code, 0) << good.out << good.err;
  // The same plan claiming the IP profile without what the profile requires.
  const fs::path claiming = file("claiming.json", R"({"resourceType":"CarePlan","meta":{"profile":[")" +
                                                      kIpCarePlan + R"("]},"status":"active","intent":"plan",
      "subject":{"reference":"Patient/1"}})");
  auto bad = run({"validate", claiming.string()});
  EXPECT_EQ(bad.exit_code, 1) << bad.out;
  EXPECT_NE(bad.out.find("(profile " + kIpCarePlan + ")"), std::string::npos) << bad.out;
}

TEST_F(PlanbroCli, ValidateProfileRequiresTheProfileForResourcesOfItsType) {
  const fs::path plan = file("plan.json", kPlainCarePlan);
  auto without = run({"validate", plan.string()});
  EXPECT_EQ(without.exit_code, 0) << without.out << without.err;
  auto with = run({"validate", "--profile", kIpCarePlan, plan.string()});
  EXPECT_EQ(with.exit_code, 1) << with.out;
  EXPECT_NE(with.out.find("(profile " + kIpCarePlan + ")"), std::string::npos) << with.out;
  // A resource of another type is not held to it.
  const fs::path patient = file("patient.json", R"({"resourceType":"Patient","active":true})");
  auto other = run({"validate", "--profile", kIpCarePlan, patient.string()});
  EXPECT_EQ(other.exit_code, 0) << other.out << other.err;
  // Bundle entries are.
  const fs::path bundle = file("bundle.json", R"({"resourceType":"Bundle","type":"collection","entry":[
      {"fullUrl":"urn:uuid:0d5c2d1e-4b8e-4a55-9b55-8f6f3f1a2b3c","resource":)" + std::string(kPlainCarePlan) + "}]}");
  auto entries = run({"validate", "--profile", kIpCarePlan, bundle.string()});
  EXPECT_EQ(entries.exit_code, 1) << entries.out;
  EXPECT_NE(entries.out.find("Bundle.entry[0].resource"), std::string::npos) << entries.out;
}

TEST_F(PlanbroCli, ValidatePackageLoadsFurtherProfilesForClaimsAndProfile) {
  const fs::path package = dir_ / "package";
  fs::create_directories(package);
  writeFile(package / "StructureDefinition-born-patient.json", kBirthDateProfile);
  const fs::path unborn = file("unborn.json", R"({"resourceType":"Patient","active":true})");
  const fs::path born = file("born.json", R"({"resourceType":"Patient","birthDate":"1970-01-01"})");
  auto required = run({"validate", "--package", package.string(), "--profile", kBornPatient, unborn.string(),
                       born.string()});
  EXPECT_EQ(required.exit_code, 1) << required.out << required.err;
  EXPECT_NE(required.out.find("'birthDate': minimum required = 1"), std::string::npos) << required.out;
  EXPECT_NE(required.err.find("unborn.json"), std::string::npos) << required.err;
  EXPECT_EQ(required.err.find((dir_ / "born.json").string() + ": "), std::string::npos) << required.err;
  // Claimed, not required: the package alone makes the claim checkable.
  const fs::path claiming = file("claiming.json", R"({"resourceType":"Patient","meta":{"profile":[")" +
                                                      kBornPatient + R"("]}})");
  auto claimed = run({"validate", "--package", package.string(), claiming.string()});
  EXPECT_EQ(claimed.exit_code, 1) << claimed.out;
  // Without the package the claim is an unknown profile: a warning, not an error.
  auto unknown = run({"validate", claiming.string()});
  EXPECT_EQ(unknown.exit_code, 0) << unknown.out << unknown.err;
  EXPECT_NE(unknown.out.find(kBornPatient), std::string::npos) << unknown.out;
}

TEST_F(PlanbroCli, ValidateRejectsAProfileNoPackageDefinesAndAMissingPackage) {
  const fs::path plan = file("plan.json", kPlainCarePlan);
  auto unknown = run({"validate", "--profile", "http://example.org/fhir/StructureDefinition/nowhere", plan.string()});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("http://example.org/fhir/StructureDefinition/nowhere"), std::string::npos) << unknown.err;
  EXPECT_TRUE(unknown.out.empty()) << unknown.out;
  auto missing = run({"validate", "--package", (dir_ / "no-such-folder").string(), plan.string()});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("no-such-folder"), std::string::npos) << missing.err;
  const fs::path broken = dir_ / "broken";
  fs::create_directories(broken);
  writeFile(broken / "StructureDefinition-x.json", R"({"resourceType":"StructureDefinition",)");
  auto unreadable = run({"validate", "--package", broken.string(), plan.string()});
  EXPECT_EQ(unreadable.exit_code, 2);
  EXPECT_NE(unreadable.err.find("does not load"), std::string::npos) << unreadable.err;
  auto help = run({"validate", "--help"});
  EXPECT_NE(help.out.find("--profile"), std::string::npos) << help.out;
  EXPECT_NE(help.out.find("--package"), std::string::npos) << help.out;
}

}  // namespace
}  // namespace planbro::gateway::cli
