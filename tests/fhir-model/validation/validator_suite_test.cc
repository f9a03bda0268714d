// The R4 validator test vectors (tests/data/validation/validator-tests/, copied from
// ../shared/fhir-r4/validator-tests/): for each case, does planbro agree with the HL7 reference validator on whether
// the input has errors? Prints the agreement rate and every disagreement. Every case must agree except the known
// disagreements named in kKnownDisagreements (their reasons are in docs/conformance.md, "Validator tests"); a listed
// case that agrees fails too, so the list stays exact and one regression cannot hide behind a rate.

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <set>
#include <string>

#include "planbro/fhir-model/json.h"
#include "planbro/fhir-model/validator.h"
#include "test_files.h"

namespace planbro::fhir {
namespace {

// Each needs what planbro does not have or deliberately does otherwise (docs/conformance.md).
const std::set<std::string>& knownDisagreements() {
  static const std::set<std::string> names = {"target-ref-profile-empty", "encounter-period", "ips-nz-pj"};
  return names;
}

std::filesystem::path suiteDir() {
  return std::filesystem::path(PLANBRO_TEST_DATA_DIR) / "validation" / "validator-tests";
}

// Outcome files are named after the case: "R4.<name>-base.json", with '/' in the name written as '-'.
std::filesystem::path outcomePath(std::string name) {
  for (char& c : name) {
    if (c == '/') c = '-';
  }
  return suiteDir() / "outcomes-java" / ("R4." + name + "-base.json");
}

// nullopt when the expectation is missing.
std::optional<bool> expectedHasErrors(const JsonValue& test_case, const std::string& name) {
  const JsonValue* java = test_case.find("java");
  const JsonValue* outcome = nullptr;
  std::optional<JsonDocument> doc;
  if (java != nullptr && java->isObject()) outcome = java->find("outcome");
  if (outcome == nullptr) {
    std::filesystem::path p = outcomePath(name);
    if (!std::filesystem::exists(p)) return std::nullopt;
    Result<JsonDocument> parsed = JsonDocument::parse(testing::readFile(p));
    if (!parsed.isOk()) return std::nullopt;
    doc.emplace(std::move(parsed).value());
    outcome = &doc->root();
  }
  const JsonValue* issues = outcome->find("issue");
  if (issues == nullptr) return false;
  for (const JsonValue& issue : issues->items()) {
    const JsonValue* severity = issue.find("severity");
    if (severity != nullptr && (severity->text() == "error" || severity->text() == "fatal")) return true;
  }
  return false;
}

TEST(ValidatorSuite, AgreesWithReferenceValidatorOnErrorPresence) {
  Result<JsonDocument> manifest = JsonDocument::parse(testing::readFile(suiteDir() / "manifest.json"));
  ASSERT_TRUE(manifest.isOk()) << manifest.status().message();
  const JsonValue* cases = manifest->root().find("test-cases");
  ASSERT_NE(cases, nullptr);
  size_t judged = 0;
  size_t agreed = 0;
  std::string disagreements;
  for (const JsonValue& test_case : cases->items()) {
    const JsonValue* name_value = test_case.find("name");
    const JsonValue* file_value = test_case.find("file");
    ASSERT_TRUE(name_value != nullptr && file_value != nullptr);
    std::string name(name_value->text());
    std::optional<bool> expected = expectedHasErrors(test_case, name);
    if (!expected) {
      std::printf("skipped (no expected outcome): %s\n", name.c_str());
      continue;
    }
    ValidationOptions options;
    if (const JsonValue* no_html = test_case.find("noHtmlInMarkdown"); no_html != nullptr && no_html->boolean()) {
      options.markdown_no_html = true;
    }
    OperationOutcome outcome =
        validateJsonText(testing::readFile(suiteDir() / "inputs" / std::string(file_value->text())), options);
    ++judged;
    const bool known = knownDisagreements().count(name) != 0;
    if (outcome.hasErrors() == *expected) {
      ++agreed;
      EXPECT_FALSE(known) << name << " is listed as a known disagreement but agrees: remove it from the list";
    } else {
      EXPECT_TRUE(known) << "regression: " << name << ": reference says " << (*expected ? "errors" : "no errors")
                         << ", planbro says " << (outcome.hasErrors() ? "errors" : "no errors");
      disagreements += "  " + name + ": reference says " + (*expected ? "errors" : "no errors") + ", planbro says " +
                       (outcome.hasErrors() ? "errors:\n" + testing::describeErrors(outcome, 4) : "no errors\n");
    }
  }
  ASSERT_GT(judged, 0u);
  double rate = static_cast<double>(agreed) / static_cast<double>(judged);
  std::printf("validator-tests agreement: %zu/%zu (%.1f%%)\n", agreed, judged, rate * 100.0);
  if (!disagreements.empty()) std::printf("disagreements:\n%s", disagreements.c_str());
}

}  // namespace
}  // namespace planbro::fhir
