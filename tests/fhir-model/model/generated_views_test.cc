#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "planbro/fhir-model/generated/all.h"
#include "planbro/fhir-model/json.h"

namespace planbro::fhir::views {
namespace {

JsonDocument loadExample(const std::string& name) {
  std::ifstream in(std::filesystem::path(PLANBRO_SHARED_DIR) / "fhir-r4" / "examples" / name, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  Result<JsonDocument> doc = JsonDocument::parse(buffer.str());
  EXPECT_TRUE(doc.isOk()) << name << ": " << doc.status().message();
  if (!doc.isOk()) return JsonDocument();
  return std::move(doc).value();
}

TEST(GeneratedViews, ReadCarePlanElementsAndBackboneActivities) {
  JsonDocument doc = loadExample("CarePlan-example.json");
  CarePlanView plan(doc.root());
  ASSERT_TRUE(plan.exists());
  EXPECT_EQ(plan.id(), "example");
  EXPECT_EQ(plan.status(), "active");
  EXPECT_EQ(plan.intent(), "plan");
  EXPECT_EQ(plan.subject().reference(), "Patient/example");
  EXPECT_EQ(plan.subject().display(), "Peter James Chalmers");
  EXPECT_EQ(plan.period().end(), "2017-06-01");
  ASSERT_EQ(plan.contained().size(), 1u);
  EXPECT_EQ(plan.contained()[0].resourceType(), "Condition");
  ASSERT_EQ(plan.activity().size(), 1u);
  CarePlanActivityDetailView detail = plan.activity()[0].detail();
  ASSERT_TRUE(detail.exists());
  EXPECT_EQ(detail.status(), "completed");
  EXPECT_EQ(detail.doNotPerform(), std::optional<bool>(false));
  std::vector<std::string_view> codes;
  for (CodingView coding : detail.code().coding()) codes.push_back(coding.code());
  EXPECT_EQ(codes, (std::vector<std::string_view>{"3141-9", "27113001"}));
  // Choice elements read through their typed names; numbers keep their text.
  EXPECT_EQ(detail.scheduledTiming().repeat().periodUnit(), "d");
  EXPECT_EQ(detail.scheduledTiming().repeat().frequency(), std::optional<int64_t>(1));
  EXPECT_EQ(detail.scheduledTiming().repeat().period(), "1");
  EXPECT_FALSE(detail.scheduledPeriod().exists());
  EXPECT_EQ(plan.instantiatesUri()[0], "http://example.org/protocol-for-obesity");
}

TEST(GeneratedViews, AbsentElementsReadAsEmpty) {
  JsonDocument doc = loadExample("CarePlan-example.json");
  CarePlanView plan(doc.root());
  EXPECT_EQ(plan.title(), "");
  EXPECT_TRUE(plan.note().empty());
  EXPECT_FALSE(plan.note()[3].exists());
  EXPECT_EQ(plan.subject().identifier().value(), "");
  CarePlanView nothing;
  EXPECT_FALSE(nothing.exists());
  EXPECT_EQ(nothing.status(), "");
  EXPECT_TRUE(nothing.activity().empty());
  EXPECT_FALSE(nothing.subject().exists());
}

TEST(GeneratedViews, ReadPatientPrimitivesOfEveryKind) {
  JsonDocument doc = loadExample("Patient-f001.json");
  PatientView patient(doc.root());
  EXPECT_EQ(patient.active(), std::optional<bool>(true));
  EXPECT_EQ(patient.deceasedBoolean(), std::optional<bool>(false));
  EXPECT_EQ(patient.birthDate(), "1944-11-17");
  EXPECT_EQ(patient.gender(), "male");
  ASSERT_EQ(patient.name().size(), 1u);
  EXPECT_EQ(patient.name()[0].family(), "van de Heuvel");
  EXPECT_EQ(patient.name()[0].given()[0], "Pieter");
  ASSERT_EQ(patient.telecom().size(), 2u);
  EXPECT_EQ(patient.telecom()[1].system(), "email");
}

TEST(GeneratedViews, ReadBundleEntriesAsTypedResources) {
  JsonDocument doc = loadExample("Bundle-bundle-response-simplesummary.json");
  BundleView bundle(doc.root());
  EXPECT_EQ(bundle.type(), "batch-response");
  std::vector<std::string_view> types;
  for (BundleEntryView entry : bundle.entry()) {
    types.push_back(entry.resource().resourceType());
    EXPECT_EQ(entry.response().status(), "200");
  }
  EXPECT_EQ(types, (std::vector<std::string_view>{"Patient", "Bundle", "Bundle", "Bundle"}));
  PatientView patient(bundle.entry()[0].resource().json());
  EXPECT_EQ(patient.id(), "example");
  EXPECT_EQ(patient.meta().versionId(), "1");
}

TEST(GeneratedViews, ReadOperationOutcomeIssues) {
  JsonDocument doc = loadExample("OperationOutcome-101.json");
  OperationOutcomeView outcome(doc.root());
  ASSERT_EQ(outcome.issue().size(), 1u);
  OperationOutcomeIssueView issue = outcome.issue()[0];
  EXPECT_EQ(issue.severity(), "error");
  EXPECT_EQ(issue.code(), "code-invalid");
  EXPECT_EQ(issue.expression()[0], "Patient.gender");
}

}  // namespace
}  // namespace planbro::fhir::views
