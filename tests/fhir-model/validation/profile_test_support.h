#pragma once
// Helpers for the profile validation tests: a ProfileSet built from StructureDefinition JSON written in the test,
// and issue lookups by text.

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "planbro/fhir-model/json.h"
#include "planbro/fhir-model/profile_set.h"
#include "planbro/fhir-model/validator.h"

namespace planbro::fhir::testing {

inline JsonDocument parseOrDie(std::string text) {
  Result<JsonDocument> doc = JsonDocument::parse(std::move(text));
  EXPECT_TRUE(doc.isOk()) << doc.status().message();
  return doc.isOk() ? std::move(doc).value() : JsonDocument();
}

/** A profile set of the core profiles plus the given resources (StructureDefinitions, ValueSets, CodeSystems). */
inline std::shared_ptr<const ProfileSet> profileSetOf(const std::vector<std::string>& resources) {
  ProfileSetBuilder builder;
  for (const std::string& text : resources) {
    JsonDocument doc = parseOrDie(text);
    Status added = builder.addResource(doc.root());
    EXPECT_TRUE(added.isOk()) << added.message();
  }
  Result<std::shared_ptr<const ProfileSet>> set = builder.build();
  EXPECT_TRUE(set.isOk()) << set.status().message();
  return set.isOk() ? std::move(set).value() : nullptr;
}

inline size_t errorCount(const OperationOutcome& out) {
  size_t n = 0;
  for (const Issue& i : out.issues()) n += (i.severity == Severity::kError || i.severity == Severity::kFatal);
  return n;
}

/** The issues as text, for failure messages. */
inline std::string describe(const OperationOutcome& out) {
  std::string s;
  for (const Issue& i : out.issues()) {
    s += (i.severity == Severity::kError ? "error " : i.severity == Severity::kWarning ? "warning " : "other ");
    s += i.location + ": " + i.diagnostics + "\n";
  }
  return s;
}

/** True when an issue of at least `severity` has `location` and a message containing `text`. */
inline bool hasIssue(const OperationOutcome& out, Severity severity, std::string_view location, std::string_view text) {
  for (const Issue& i : out.issues()) {
    if (i.severity == severity && i.location == location && i.diagnostics.find(text) != std::string::npos) return true;
  }
  return false;
}

inline OperationOutcome validateWith(const std::shared_ptr<const ProfileSet>& set, std::string text,
                                     ValidatorOptions options = {}) {
  Validator validator(set, std::move(options));
  return validator.validateJsonText(std::move(text));
}

}  // namespace planbro::fhir::testing
