// Invariants with regular expressions (eld-16, eld-19, eld-20 on StructureDefinition elements) over values of tens
// of thousands of characters: std::regex recursed per character until the stack overflowed. RE2 does not.
#include <gtest/gtest.h>

#include <string>

#include "planbro/fhir-model/validator.h"

namespace planbro::fhir {
namespace {

std::string structureDefinition(const std::string& path, const std::string& slice_name) {
  return R"({"resourceType":"StructureDefinition","url":"http://example.org/sd","name":"X","status":"draft",
    "kind":"resource","abstract":false,"type":"Patient","derivation":"constraint",
    "baseDefinition":"http://hl7.org/fhir/StructureDefinition/Patient",
    "differential":{"element":[{"id":"Patient.identifier","path":")" +
         path + R"(","sliceName":")" + slice_name + R"("}]}})";
}

bool hasIssueMentioning(const OperationOutcome& outcome, std::string_view text) {
  for (const auto& issue : outcome.issues()) {
    if (issue.diagnostics.find(text) != std::string::npos) return true;
  }
  return false;
}

TEST(ValidatorRegex, HugeSliceNameAndPathDoNotCrash) {
  // A valid slice name of 60,000 characters passes eld-16; one with a space anywhere fails it.
  OperationOutcome ok = validateJsonText(structureDefinition("Patient.identifier", std::string(60000, 'a')));
  EXPECT_FALSE(hasIssueMentioning(ok, "eld-16")) << ok.toJson();
  OperationOutcome bad = validateJsonText(structureDefinition("Patient.identifier", std::string(60000, 'a') + " b"));
  EXPECT_TRUE(hasIssueMentioning(bad, "eld-16")) << bad.toJson().substr(0, 2000);
  // eld-19 / eld-20 match the path with regular expressions: evaluated to an answer, not an evaluation failure.
  for (const std::string& path : {std::string(60000, 'P') + ".x", "Patient." + std::string(60000, 'x') + " "}) {
    OperationOutcome outcome = validateJsonText(structureDefinition(path, "s"));
    EXPECT_FALSE(hasIssueMentioning(outcome, "could not evaluate")) << outcome.toJson().substr(0, 2000);
  }
}

}  // namespace
}  // namespace planbro::fhir
