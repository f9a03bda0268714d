// The official examples and the reference validator's test vectors, validated by a Validator object over the core
// profiles: meta.profile claims of core profiles are enforced and every core extension met is checked against its
// definition. The examples must stay valid, and agreement with the reference validator must not drop below the
// free function's (docs/conformance.md, "Validator tests").

#include <gtest/gtest.h>

#include <filesystem>
#include <optional>

#include "planbro/fhir-model/validator.h"
#include "profile_test_support.h"
#include "test_files.h"

namespace planbro::fhir {
namespace {

std::filesystem::path dataDir() { return std::filesystem::path(PLANBRO_TEST_DATA_DIR) / "validation"; }

TEST(ProfileExamples, EveryOfficialExampleIsValidAgainstTheCoreProfiles) {
  auto files = testing::jsonFilesIn(dataDir() / "examples");
  ASSERT_GE(files.size(), 80u);
  Validator validator;
  for (const auto& file : files) {
    OperationOutcome outcome = validator.validateJsonText(testing::readFile(file));
    EXPECT_FALSE(outcome.hasErrors()) << file.filename().string() << ":\n" << testing::describe(outcome);
  }
}

TEST(ProfileExamples, TheCoreProfilesAddNoErrorsToFurtherOfficialExamples) {
  // tests/data/r4-examples-extra/: more official examples, a few with errata the base validation reports.
  auto files = testing::jsonFilesIn(std::filesystem::path(PLANBRO_TEST_DATA_DIR) / "r4-examples-extra");
  ASSERT_GE(files.size(), 100u);
  Validator validator;
  for (const auto& file : files) {
    std::string text = testing::readFile(file);
    size_t base = testing::errorCount(validateJsonText(text));
    OperationOutcome outcome = validator.validateJsonText(text);
    EXPECT_EQ(testing::errorCount(outcome), base) << file.filename().string() << ":\n" << testing::describe(outcome);
  }
}

// Whether the reference validator found errors in a case (nullopt when the copy has no expected outcome).
std::optional<bool> referenceHasErrors(const JsonValue& test_case, std::string name) {
  const JsonValue* java = test_case.find("java");
  std::optional<JsonDocument> doc;
  const JsonValue* outcome = java != nullptr ? java->find("outcome") : nullptr;
  if (outcome == nullptr) {
    for (char& c : name) c = c == '/' ? '-' : c;
    std::filesystem::path p = dataDir() / "validator-tests" / "outcomes-java" / ("R4." + name + "-base.json");
    if (!std::filesystem::exists(p)) return std::nullopt;
    Result<JsonDocument> parsed = JsonDocument::parse(testing::readFile(p));
    if (!parsed.isOk()) return std::nullopt;
    doc.emplace(std::move(parsed).value());
    outcome = &doc->root();
  }
  const JsonValue* issues = outcome->find("issue");
  if (issues == nullptr) return false;
  for (const JsonValue& issue : issues->items()) {
    std::string_view severity = issue.find("severity") != nullptr ? issue.find("severity")->text() : "";
    if (severity == "error" || severity == "fatal") return true;
  }
  return false;
}

TEST(ProfileExamples, AgreementWithTheReferenceValidatorHoldsWithProfiles) {
  Result<JsonDocument> manifest = JsonDocument::parse(testing::readFile(dataDir() / "validator-tests" / "manifest.json"));
  ASSERT_TRUE(manifest.isOk());
  Validator validator;
  size_t judged = 0, agreed_free = 0, agreed_profiles = 0;
  for (const JsonValue& test_case : manifest->root().find("test-cases")->items()) {
    std::string name(test_case.find("name")->text());
    std::optional<bool> expected = referenceHasErrors(test_case, name);
    if (!expected) continue;
    ValidationOptions options;
    if (const JsonValue* no_html = test_case.find("noHtmlInMarkdown"); no_html != nullptr && no_html->boolean()) {
      options.markdown_no_html = true;
    }
    std::string text = testing::readFile(dataDir() / "validator-tests" / "inputs" / std::string(test_case.find("file")->text()));
    ValidatorOptions with_profiles;
    with_profiles.base = options;
    bool free_errors = validateJsonText(text, options).hasErrors();
    OperationOutcome profiled = Validator(nullptr, with_profiles).validateJsonText(text);
    ++judged;
    agreed_free += free_errors == *expected;
    agreed_profiles += profiled.hasErrors() == *expected;
    if (profiled.hasErrors() != *expected) {
      std::printf("disagreement with profiles: %s (reference %s)\n%s", name.c_str(), *expected ? "errors" : "valid",
                  testing::describe(profiled).c_str());
    }
  }
  std::printf("agreement: %zu/%zu without profiles, %zu/%zu with the core profiles\n", agreed_free, judged,
              agreed_profiles, judged);
  EXPECT_GE(agreed_profiles, agreed_free);
}

}  // namespace
}  // namespace planbro::fhir
