// Every official R4 example in tests/data/validation/examples/ (copied from ../shared/fhir-r4/examples/) must be
// judged valid: no error or fatal issue.

#include <gtest/gtest.h>

#include <filesystem>

#include "planbro/fhir-model/validator.h"
#include "test_files.h"

namespace planbro::fhir {
namespace {

TEST(ValidatorExamples, EveryOfficialExampleIsValid) {
  auto files = testing::jsonFilesIn(std::filesystem::path(PLANBRO_TEST_DATA_DIR) / "validation" / "examples");
  ASSERT_GE(files.size(), 80u);
  size_t valid = 0;
  for (const auto& file : files) {
    OperationOutcome outcome = validateJsonText(testing::readFile(file));
    if (!outcome.hasErrors()) {
      ++valid;
    } else {
      ADD_FAILURE() << file.filename().string() << " judged invalid:\n" << testing::describeErrors(outcome);
    }
  }
  std::printf("official examples judged valid: %zu/%zu\n", valid, files.size());
}

}  // namespace
}  // namespace planbro::fhir
