// The validator's native fast paths for invariants give the FHIRPath result: per-1 (Period start <= end) on every
// shape, whether it is decided natively (same precision, same zone) or left to the engine (mixed precision, zones).

#include <gtest/gtest.h>

#include <string>

#include "../../../fhir-model/src/validation/primitive_checks.h"
#include "planbro/fhir-model/validator.h"
#include "test_files.h"

namespace planbro::fhir {
namespace {

using testing::describeErrors;

bool hasPer1(const OperationOutcome& out) {
  for (const auto& issue : out.issues()) {
    if (issue.diagnostics.starts_with("per-1")) return true;
  }
  return false;
}

OperationOutcome validatePeriod(const std::string& period) {
  return validateJsonText(R"({"resourceType": "Encounter", "status": "finished",
                              "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
                              "period": )" + period + "}");
}

TEST(Per1FastPath, PassesWhenEitherEndIsMissing) {
  EXPECT_FALSE(hasPer1(validatePeriod(R"({"start": "2020-01-02"})")));
  EXPECT_FALSE(hasPer1(validatePeriod(R"({"end": "2020-01-02"})")));
  EXPECT_FALSE(hasPer1(validatePeriod(
      R"({"start": "2020-01-02", "_end": {"extension": [{"url": "http://example.org/x", "valueString": "y"}]}})")));
}

TEST(Per1FastPath, ComparesDatesOfTheSamePrecision) {
  auto ok = validatePeriod(R"({"start": "2020-01-02", "end": "2020-01-02"})");
  EXPECT_FALSE(ok.hasErrors()) << describeErrors(ok);
  EXPECT_FALSE(hasPer1(validatePeriod(R"({"start": "2020-01", "end": "2020-02"})")));
  EXPECT_TRUE(hasPer1(validatePeriod(R"({"start": "2020-01-03", "end": "2020-01-02"})")));
  EXPECT_TRUE(hasPer1(validatePeriod(R"({"start": "2021", "end": "2020"})")));
}

TEST(Per1FastPath, ComparesDateTimesInTheSameZone) {
  EXPECT_FALSE(hasPer1(validatePeriod(R"({"start": "2020-01-02T10:00:00Z", "end": "2020-01-02T10:00:01Z"})")));
  EXPECT_TRUE(hasPer1(validatePeriod(R"({"start": "2020-01-02T10:00:01Z", "end": "2020-01-02T10:00:00Z"})")));
  EXPECT_TRUE(hasPer1(
      validatePeriod(R"({"start": "2020-01-02T10:00:00.5+01:00", "end": "2020-01-02T10:00:00.4+01:00"})")));
}

TEST(Per1FastPath, NormalisesDifferentZonesBeforeComparing) {
  // 10:00+02:00 is 08:00Z: before 09:00Z although its text sorts after it.
  EXPECT_FALSE(hasPer1(validatePeriod(R"({"start": "2020-01-02T10:00:00+02:00", "end": "2020-01-02T09:00:00Z"})")));
  EXPECT_TRUE(hasPer1(validatePeriod(R"({"start": "2020-01-02T10:00:00-02:00", "end": "2020-01-02T11:00:00Z"})")));
}

TEST(Per1FastPath, MixedPrecisionIsNotAFailure) {
  // FHIRPath: comparing values of different precision may be empty, and an empty invariant result passes.
  EXPECT_FALSE(hasPer1(validatePeriod(R"({"start": "2020-01-02", "end": "2020-01-02T10:00:00Z"})")));
  EXPECT_TRUE(hasPer1(validatePeriod(R"({"start": "2020-01-03", "end": "2020-01-02T10:00:00Z"})")));
}

// isValidBase64 checks 16-byte blocks at once before its exact loop: every position in and across blocks counts.
TEST(Base64FastPath, JudgesEveryPositionOfLongValues) {
  const std::string block = "QUJDREVGR0hJSktM";  // 16 alphabet characters
  std::string long_value;
  for (int i = 0; i < 8; ++i) long_value += block;
  EXPECT_TRUE(validation::isValidBase64(long_value));
  EXPECT_TRUE(validation::isValidBase64(long_value + "QQ=="));
  EXPECT_TRUE(validation::isValidBase64(long_value.substr(0, 40) + "\n" + long_value.substr(40)));
  for (size_t at : {size_t{0}, size_t{15}, size_t{16}, size_t{17}, size_t{63}, size_t{127}}) {
    std::string bad = long_value;
    bad[at] = '%';
    EXPECT_FALSE(validation::isValidBase64(bad)) << "invalid byte at " << at;
    std::string padded_inside = long_value;
    padded_inside[at] = '=';
    EXPECT_EQ(validation::isValidBase64(padded_inside), at >= 126) << "padding at " << at;
  }
  EXPECT_FALSE(validation::isValidBase64(long_value + "QQ===")) << "three padding characters";
}

}  // namespace
}  // namespace planbro::fhir
