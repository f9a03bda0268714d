// Deep or hostile trees get a small OperationOutcome: a tree deeper than the limits is one issue (a JSON Patch built
// 4,096 levels and crashed the validator; at 1,024 levels the outcome was 13.8 MB), issues are capped, and locations
// cannot grow with the depth.
#include <gtest/gtest.h>

#include <pthread.h>

#include <string>
#include <vector>

#include "planbro/fhir-model/json.h"
#include "planbro/fhir-model/validator.h"

namespace planbro::fhir {
namespace {

// A Patient whose extension holds an extension ... `levels` deep; the innermost has `innermost` as its url.
JsonValue nestedExtensions(JsonDocument& doc, size_t levels, std::string_view innermost = "http://example.org/x") {
  JsonValue inner;
  for (size_t i = 0; i < levels; ++i) {
    std::vector<JsonMember> members{{"url", doc.makeString(i == 0 ? innermost : "http://example.org/x")}};
    if (i == 0) {
      members.push_back({"valueBoolean", doc.makeString("not a boolean")});
    } else {
      members.push_back({"extension", doc.makeArray(std::vector<JsonValue>{inner})});
    }
    inner = doc.makeObject(members);
  }
  std::vector<JsonMember> root{{"resourceType", doc.makeString("Patient")},
                               {"extension", doc.makeArray(std::vector<JsonValue>{inner})}};
  return doc.makeObject(root);
}

TEST(ValidatorLimits, BuiltTreeDeeperThanTheLimitIsOneSmallIssue) {
  for (size_t levels : {300u, 1024u, 4096u, 100000u}) {
    JsonDocument doc;
    JsonValue patient = nestedExtensions(doc, levels);
    OperationOutcome outcome = validateResource(patient);
    ASSERT_EQ(outcome.issues().size(), 1u) << levels;
    EXPECT_EQ(outcome.issues()[0].severity, Severity::kFatal);
    EXPECT_EQ(outcome.issues()[0].code, "too-costly");
    EXPECT_LT(outcome.toJson().size(), 2000u) << levels;
  }
}

TEST(ValidatorLimits, ConfiguredDepthAboveTheWalkBoundStillStops) {
  JsonDocument doc;
  JsonValue patient = nestedExtensions(doc, 2000);
  ValidationOptions options;
  options.json_limits.max_depth = 10000;
  OperationOutcome outcome = validateResource(patient, options);
  ASSERT_EQ(outcome.issues().size(), 1u);
  EXPECT_EQ(outcome.issues()[0].code, "too-costly");
}

// The Validator object's entry holds the tree contract itself: no caller has to run checkTreeLimits first.
TEST(ValidatorLimits, ValidatorObjectRefusesATooDeepBuiltTree) {
  const Validator validator;
  for (size_t levels : {300u, 4096u, 100000u}) {
    JsonDocument doc;
    JsonValue patient = nestedExtensions(doc, levels);
    OperationOutcome outcome = validator.validate(patient);
    ASSERT_EQ(outcome.issues().size(), 1u) << levels;
    EXPECT_EQ(outcome.issues()[0].severity, Severity::kFatal);
    EXPECT_EQ(outcome.issues()[0].code, "too-costly");
    EXPECT_EQ(outcome.issues()[0].location.rfind("Patient.extension[0]", 0), 0u) << outcome.issues()[0].location;
  }
}

TEST(ValidatorLimits, ValidatorObjectBoundsTheWalkAboveTheConfiguredDepth) {
  ValidatorOptions options;
  options.base.json_limits.max_depth = 10000;
  const Validator validator(nullptr, options);
  JsonDocument doc;
  OperationOutcome outcome = validator.validate(nestedExtensions(doc, 2000));
  ASSERT_EQ(outcome.issues().size(), 1u);
  EXPECT_EQ(outcome.issues()[0].code, "too-costly");
}

TEST(ValidatorLimits, ValidatorObjectRefusesATreeLargerThanTheByteLimit) {
  ValidatorOptions options;
  options.base.json_limits.max_bytes = 4096;
  const Validator validator(nullptr, options);
  JsonDocument doc;
  // One subtree shared 64 times: small in memory, 64 times its size when written.
  std::vector<JsonMember> family{{"family", doc.makeString(std::string(200, 'x'))}};
  std::vector<JsonValue> names(64, doc.makeObject(family));
  std::vector<JsonMember> root{{"resourceType", doc.makeString("Patient")}, {"name", doc.makeArray(names)}};
  OperationOutcome outcome = validator.validate(doc.makeObject(root));
  ASSERT_EQ(outcome.issues().size(), 1u) << outcome.toJson();
  EXPECT_EQ(outcome.issues()[0].code, "too-costly");
  // Within the limits the same validator walks it.
  std::vector<JsonMember> small{{"resourceType", doc.makeString("Patient")},
                                {"name", doc.makeArray(std::vector<JsonValue>(2, doc.makeObject(family)))}};
  EXPECT_FALSE(validator.validate(doc.makeObject(small)).hasErrors());
}

TEST(ValidatorLimits, LocationsAreCappedAtDepth) {
  // 120 levels (within the limit) with an error at the bottom: the location keeps its start and end.
  JsonDocument doc;
  JsonValue patient = nestedExtensions(doc, 120);
  OperationOutcome outcome = validateResource(patient);
  ASSERT_FALSE(outcome.issues().empty());
  bool found_deep = false;
  for (const Issue& issue : outcome.issues()) {
    EXPECT_LE(issue.location.size(), ValidationOptions{}.max_location_bytes);
    if (issue.location.find("value.ofType(boolean)") != std::string::npos) {
      found_deep = true;
      EXPECT_EQ(issue.location.rfind("Patient.extension[0]", 0), 0u) << issue.location;
    }
  }
  EXPECT_TRUE(found_deep) << outcome.toJson().substr(0, 3000);
}

TEST(ValidatorLimits, IssuesAreCappedWithAFinalNote) {
  JsonDocument doc;
  std::vector<JsonValue> names;
  for (int i = 0; i < 5000; ++i) {
    std::vector<JsonMember> m{{"family", doc.makeNumber("1")}};
    names.push_back(doc.makeObject(m));
  }
  std::vector<JsonMember> root{{"resourceType", doc.makeString("Patient")}, {"name", doc.makeArray(names)}};
  ValidationOptions options;
  options.max_issues = 100;
  OperationOutcome outcome = validateResource(doc.makeObject(root), options);
  ASSERT_EQ(outcome.issues().size(), 101u);
  EXPECT_NE(outcome.issues().back().diagnostics.find("not reported"), std::string::npos);
  OperationOutcome defaults = validateResource(doc.makeObject(root));
  EXPECT_LE(defaults.issues().size(), ValidationOptions{}.max_issues + 1);
}

TEST(ValidatorLimits, WalkAtTheDepthBoundFitsInAServerThreadStack) {
  struct Job {
    size_t issues = 0;
  } job;
  auto run = [](void* arg) -> void* {
    JsonDocument doc;
    JsonValue patient = nestedExtensions(doc, kMaxValidationDepth / 2 - 2);  // two JSON levels per extension
    ValidationOptions options;
    options.json_limits.max_depth = kMaxValidationDepth;
    static_cast<Job*>(arg)->issues = validateResource(patient, options).issues().size();
    return nullptr;
  };
  pthread_attr_t attr;
  ASSERT_EQ(pthread_attr_init(&attr), 0);
#if defined(__SANITIZE_ADDRESS__)
  constexpr size_t kStack = 8u << 20;  // sanitizer frames are several times larger
#else
  constexpr size_t kStack = 2u << 20;
#endif
  ASSERT_EQ(pthread_attr_setstacksize(&attr, kStack), 0);
  pthread_t thread;
  ASSERT_EQ(pthread_create(&thread, &attr, run, &job), 0);
  ASSERT_EQ(pthread_join(thread, nullptr), 0);
  pthread_attr_destroy(&attr);
  EXPECT_GT(job.issues, 0u);
}

}  // namespace
}  // namespace planbro::fhir
