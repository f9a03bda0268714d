// Every official R4 example in tests/data/validation/examples/ (copied from ../shared/fhir-r4/examples/) must be
// judged valid: no error or fatal issue.

#include <gtest/gtest.h>

#include <filesystem>
#include <thread>
#include <vector>

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

TEST(ValidatorExamples, ConcurrentValidationGivesTheSameOutcomes) {
  auto files = testing::jsonFilesIn(std::filesystem::path(PLANBRO_TEST_DATA_DIR) / "validation" / "examples");
  ASSERT_FALSE(files.empty());
  std::vector<std::string> texts;
  for (size_t i = 0; i < files.size() && i < 24; ++i) texts.push_back(testing::readFile(files[i]));
  std::vector<size_t> expected;
  for (const std::string& text : texts) expected.push_back(validateJsonText(text).issues().size());
  constexpr int kThreads = 2;
  std::vector<std::vector<size_t>> got(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (const std::string& text : texts) got[t].push_back(validateJsonText(text).issues().size());
    });
  }
  for (std::thread& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(got[t], expected);
}

}  // namespace
}  // namespace planbro::fhir
