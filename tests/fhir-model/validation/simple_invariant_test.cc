// The invariant fast path must give FHIRPath's answers (three-valued logic) on the expressions it accepts, and
// refuse what it cannot do exactly.

#include <set>
#include <gtest/gtest.h>

#include "../../../fhir-model/src/validation/simple_invariant.h"
#include "planbro/fhir-model/json.h"
#include "planbro/fhir-model/model_info.h"

namespace planbro::fhir::validation {
namespace {

std::optional<bool> run(std::string_view type, std::string_view expression, std::string json) {
  const ModelInfo& model = ModelInfo::r4();
  const TypeDef* t = model.type(type);
  EXPECT_NE(t, nullptr);
  auto inv = SimpleInvariant::compile(expression, t->rootChildren(), model);
  EXPECT_NE(inv, nullptr) << expression;
  if (!inv) return std::nullopt;
  auto doc = JsonDocument::parse(std::move(json));
  EXPECT_TRUE(doc.isOk());
  return inv->evaluate(doc->root());
}

TEST(SimpleInvariant, ExistsAndEmptyFollowPresence) {
  EXPECT_EQ(run("Quantity", "code.empty() or system.exists()", R"({"value": 1})"), true);
  EXPECT_EQ(run("Quantity", "code.empty() or system.exists()", R"({"code": "mg"})"), false);
  EXPECT_EQ(run("Quantity", "code.empty() or system.exists()", R"({"code": "mg", "system": "http://unitsofmeasure.org"})"), true);
}

TEST(SimpleInvariant, PrimitiveWithOnlyExtensionExists) {
  EXPECT_EQ(run("Quantity", "code.empty() or system.exists()",
                R"({"code": "mg", "_system": {"extension": [{"url": "http://x", "valueString": "a"}]}})"), true);
}

TEST(SimpleInvariant, NestedPathsAndChoiceElements) {
  EXPECT_EQ(run("Patient", "text.`div`.exists()", R"({"text": {"status": "generated", "div": "<div/>"}})"), true);
  EXPECT_EQ(run("Patient", "text.`div`.exists()", R"({"id": "a"})"), false);
  EXPECT_EQ(run("Observation", "dataAbsentReason.empty() or value.empty()",
                R"({"valueQuantity": {"value": 1}, "dataAbsentReason": {"text": "x"}})"), false);
}

TEST(SimpleInvariant, ComparisonsUseThreeValuedLogic) {
  // Bundle.type absent: "type = 'document'" is empty, so "implies" is empty (not false).
  EXPECT_EQ(run("Bundle", "type = 'document' implies identifier.exists()", R"({"id": "a"})"), std::nullopt);
  EXPECT_EQ(run("Bundle", "type = 'document' implies identifier.exists()", R"({"type": "document"})"), false);
  EXPECT_EQ(run("Bundle", "type = 'document' implies identifier.exists()", R"({"type": "collection"})"), true);
  EXPECT_EQ(run("Bundle", "(type = 'document').not()", R"({"id": "a"})"), std::nullopt);
}

TEST(SimpleInvariant, RefusesWhatItCannotEvaluateExactly) {
  const ModelInfo& model = ModelInfo::r4();
  auto children = model.type("Bundle")->rootChildren();
  EXPECT_EQ(SimpleInvariant::compile("entry.count() > 1", children, model), nullptr);  // count() only after where()
  EXPECT_EQ(SimpleInvariant::compile("entry.where(fullUrl.exists()).count() > 1.5", children, model), nullptr);
  EXPECT_EQ(SimpleInvariant::compile("%resource.id.exists()", children, model), nullptr);
  EXPECT_EQ(SimpleInvariant::compile("nosuchelement.exists()", children, model), nullptr);
  EXPECT_EQ(SimpleInvariant::compile("entry.fullUrl = 'x'", children, model), nullptr);  // repeating path
}

}  // namespace
}  // namespace planbro::fhir::validation

#include <filesystem>

#include "../../../fhir-model/src/validation/constraint_cache.h"
#include "planbro/fhir-model/fhirpath.h"
#include "test_files.h"

namespace planbro::fhir::validation {
namespace {

// Differential check: on every official example, each resource-level constraint that has a fast-path form must give
// the FHIRPath engine's answer.
TEST(SimpleInvariant, AgreesWithFhirPathEngineOnOfficialExamples) {
  const ModelInfo& model = ModelInfo::r4();
  const ConstraintCache& cache = ConstraintCache::get();
  std::printf("constraints compiled: %zu, with a fast path: %zu, not compiled by the engine: %zu\n", cache.size(),
              cache.simpleCount(), cache.failedToCompile());
  auto files = testing::jsonFilesIn(std::filesystem::path(PLANBRO_TEST_DATA_DIR) / "validation" / "examples");
  size_t compared = 0;
  for (const auto& file : files) {
    auto doc = JsonDocument::parse(testing::readFile(file));
    ASSERT_TRUE(doc.isOk()) << file;
    const JsonValue& root = doc->root();
    const JsonValue* rt = root.find("resourceType");
    ASSERT_NE(rt, nullptr);
    const TypeDef* type = model.type(rt->text());
    ASSERT_NE(type, nullptr);
    for (const Constraint& c : type->root().constraints) {
      const ConstraintCache::Compiled* compiled = cache.find(c);
      if (compiled == nullptr || !compiled->simple || !compiled->expression) continue;
      auto engine = fhirpath::evaluate(*compiled->expression, root);
      if (!engine.isOk()) continue;
      auto expected = fhirpath::toBoolean(engine.value());
      if (!expected.isOk()) continue;
      EXPECT_EQ(compiled->simple->evaluate(root), expected.value())
          << file.filename().string() << " " << c.key << ": " << c.expression;
      ++compared;
    }
  }
  EXPECT_GT(compared, 50u);
}

}  // namespace
}  // namespace planbro::fhir::validation

#include "planbro/fhir-model/profile_set.h"

namespace planbro::fhir::validation {
namespace {

// where(...).exists() / .empty() and one step below a choice (value.code), as the individual-plan invariants use
// them: the items the criteria call true are kept; false and empty drop an item.
TEST(SimpleInvariant, WhereKeepsTheItemsItsCriteriaCallTrue) {
  const std::string lifecycle = "http://planbro.no/fhir/StructureDefinition/ip-plan-lifecycle";
  const std::string cp1 = "extension.where(url = '" + lifecycle +
                          "' and (value.code = 'need-reported' or value.code = 'consented')).exists() implies "
                          "status = 'draft'";
  auto plan = [&](std::string value, std::string status) {
    return R"({"resourceType":"CarePlan","status":")" + status + R"(","extension":[{"url":"http://x","valueCode":"consented"},
      {"url":")" + lifecycle + R"(",)" + value + "}]}";
  };
  EXPECT_EQ(run("CarePlan", cp1, plan(R"("valueCoding":{"code":"consented"})", "draft")), true);
  EXPECT_EQ(run("CarePlan", cp1, plan(R"("valueCoding":{"code":"consented"})", "active")), false);
  EXPECT_EQ(run("CarePlan", cp1, plan(R"("valueCoding":{"code":"started"})", "active")), true);
  // A valueCode has no `code`: value.code is empty, the item is dropped, so the left side is false.
  EXPECT_EQ(run("CarePlan", cp1, plan(R"("valueCode":"consented")", "active")), true);
  EXPECT_EQ(run("CarePlan", cp1, plan(R"("valueQuantity":{"code":"consented"})", "active")), false);
  EXPECT_EQ(run("CarePlan", cp1, R"({"resourceType":"CarePlan","status":"active"})"), true);
  // valueTiming.code is a CodeableConcept: unequal to a string, as the engine has it.
  EXPECT_EQ(run("CarePlan", "extension.where(value.code = 'x').exists()",
                R"({"extension":[{"url":"u","valueTiming":{"code":{"text":"x"}}}]})"), false);
  EXPECT_EQ(run("CarePlan", "extension.where(value.code != 'x').exists()",
                R"({"extension":[{"url":"u","valueTiming":{"code":{"text":"x"}}}]})"), true);
  EXPECT_EQ(run("Goal", "category.coding.where(code = 'delmal').exists() implies extension.where(url = 'u').exists()",
                R"({"category":[{"text":"x"},{"coding":[{"code":"a"},{"code":"delmal"}]}]})"), false);
  EXPECT_EQ(run("Goal", "category.coding.where(code = 'delmal').empty()",
                R"({"category":[{"coding":[{"code":"a"},{"system":"s"}]}]})"), true);
  const ModelInfo& model = ModelInfo::r4();
  auto children = model.type("CarePlan")->rootChildren();
  EXPECT_EQ(SimpleInvariant::compile("extension.where(value.code.id = 'x').exists()", children, model), nullptr);
  EXPECT_EQ(SimpleInvariant::compile("status.where(true).exists()", children, model), nullptr);
  EXPECT_EQ(SimpleInvariant::compile("extension.where(url = 'a').count() = 'one'", children, model), nullptr);
  EXPECT_EQ(SimpleInvariant::compile("extension.where($this.url = 'a').exists()", children, model), nullptr);
}

// where(...).count() compared with an integer (ip-cons-1's form): never empty, and the engine's answer.
TEST(SimpleInvariant, WhereCountAgreesWithTheEngine) {
  const ModelInfo& model = ModelInfo::r4();
  auto children = model.type("Consent")->rootChildren();
  const std::vector<std::string> expressions = {
      "category.coding.where(system = 'k').count() = 1", "category.coding.where(system = 'k').count() != 1",
      "category.coding.where(system = 'k').count() <= 1", "category.coding.where(system = 'k').count() < 2",
      "category.coding.where(system = 'k').count() >= 2", "category.coding.where(system = 'k').count() > 0",
      "category.coding.where(system = 'k').count() = 0 or status = 'active'"};
  const std::vector<std::string> documents = {
      R"({"resourceType":"Consent","status":"draft"})",
      R"({"resourceType":"Consent","status":"draft","category":[{"text":"x"}]})",
      R"({"resourceType":"Consent","status":"active","category":[{"coding":[{"system":"k","code":"a"}]}]})",
      R"({"resourceType":"Consent","status":"draft","category":[{"coding":[{"system":"k","code":"a"},{"system":"j"}]},
        {"coding":[{"system":"k","code":"b"}]}]})",
      R"({"resourceType":"Consent","status":"draft","category":[{"coding":[{"code":"a"},{"system":"k"},{"system":"k"},
        {"system":"k"}]}]})"};
  for (const std::string& expression : expressions) {
    auto simple = SimpleInvariant::compile(expression, children, model);
    ASSERT_NE(simple, nullptr) << expression;
    auto compiled = fhirpath::compile(expression);
    ASSERT_TRUE(compiled.isOk()) << expression;
    for (const std::string& text : documents) {
      auto doc = JsonDocument::parse(text);
      ASSERT_TRUE(doc.isOk());
      auto engine = fhirpath::evaluate(*compiled.value(), doc->root());
      ASSERT_TRUE(engine.isOk()) << expression;
      auto expected = fhirpath::toBoolean(engine.value());
      ASSERT_TRUE(expected.isOk());
      ASSERT_TRUE(expected.value().has_value()) << expression << " on " << text;
      EXPECT_EQ(simple->evaluate(doc->root()), expected.value()) << expression << " on " << text;
    }
  }
}

// A choice compared with a boolean (ip-ct-1's "value = true"): the engine's answer whatever type the value has.
TEST(SimpleInvariant, ChoiceComparedWithABooleanAgreesWithTheEngine) {
  const ModelInfo& model = ModelInfo::r4();
  auto children = model.type("CareTeam")->rootChildren();
  const std::vector<std::string> expressions = {
      "participant.extension.where(url = 'h' and value = true).exists()",
      "participant.extension.where(value != false).exists()",
      "participant.where(role.coding.where(system = 's' and code = '8').exists() and period.end.empty()).count() <= 1 "
      "or participant.extension.where(url = 'h' and value = true).exists()"};
  const std::vector<std::string> values = {R"("valueBoolean":true)", R"("valueBoolean":false)", R"("valueString":"true")",
                                           R"("valueCode":"true")", R"("valueInteger":1)", R"("valueDate":"2024")",
                                           R"("valueCoding":{"code":"true"})", R"("extension":[{"url":"x","valueBoolean":true}])"};
  std::vector<std::string> documents = {R"({"resourceType":"CareTeam"})"};
  for (const std::string& value : values) {
    const std::string coordinator = R"({"role":[{"coding":[{"system":"s","code":"8"}]}],"extension":[{"url":"h",)" + value + "}]}";
    documents.push_back(R"({"resourceType":"CareTeam","participant":[)" + coordinator + "]}");
    documents.push_back(R"({"resourceType":"CareTeam","participant":[)" + coordinator + "," + coordinator + "]}");
  }
  for (const std::string& expression : expressions) {
    auto simple = SimpleInvariant::compile(expression, children, model);
    ASSERT_NE(simple, nullptr) << expression;
    auto compiled = fhirpath::compile(expression);
    ASSERT_TRUE(compiled.isOk()) << expression;
    for (const std::string& text : documents) {
      auto doc = JsonDocument::parse(text);
      ASSERT_TRUE(doc.isOk()) << text;
      auto engine = fhirpath::evaluate(*compiled.value(), doc->root());
      ASSERT_TRUE(engine.isOk()) << expression;
      auto expected = fhirpath::toBoolean(engine.value());
      ASSERT_TRUE(expected.isOk());
      EXPECT_EQ(simple->evaluate(doc->root()), expected.value()) << expression << " on " << text;
    }
  }
  auto plan_children = model.type("Extension")->rootChildren();
  EXPECT_EQ(SimpleInvariant::compile("value = 'true'", plan_children, model), nullptr);  // only boolean literals
}

// Differential check on the individual-plan package: every invariant of its profiles with a fast-path form gives the
// engine's answer on each IP example and on variants of it with each status and each plan-lifecycle / measure-status
// code (both sides of every implication).
TEST(SimpleInvariant, AgreesWithFhirPathEngineOnTheIndividualPlanProfiles) {
  ProfileSetBuilder builder;
  const std::filesystem::path package = std::filesystem::path(PLANBRO_TEST_DATA_DIR) / ".." / ".." / "conformance" /
                                        "ip" / "package";
  ASSERT_TRUE(builder.addDirectory(package).isOk());
  auto set = builder.build();
  ASSERT_TRUE(set.isOk()) << set.status().message();
  std::vector<std::string> documents;
  for (const auto& file : testing::jsonFilesIn(package / "example")) documents.push_back(testing::readFile(file));
  const std::vector<std::string> codes = {"need-reported", "consented", "started", "finished", "under-revision",
                                          "on-hold", "ended", "wished", "planned", "applied-for", "hovedmal", "delmal",
                                          "livsomrade-mal", "sharing", "plan"};
  const std::vector<std::string> statuses = {"draft", "active", "on-hold", "completed", "revoked", "not-started",
                                             "in-progress", "stopped", "cancelled"};
  const size_t originals = documents.size();
  for (size_t d = 0; d < originals; ++d) {
    for (const std::string& code : codes) {
      for (const std::string& status : statuses) {
        std::string text = documents[d];
        for (const char* key : {"\"code\": \"", "\"code\":\""}) {
          for (size_t at = text.find(key); at != std::string::npos; at = text.find(key, at + 1)) {
            size_t start = at + std::string_view(key).size();
            size_t end = text.find('"', start);
            if (end != std::string::npos) text.replace(start, end - start, code);
          }
        }
        for (const char* key : {"\"status\": \"", "\"status\":\""}) {
          for (size_t at = text.find(key); at != std::string::npos; at = text.find(key, at + 1)) {
            size_t start = at + std::string_view(key).size();
            size_t end = text.find('"', start);
            if (end != std::string::npos) text.replace(start, end - start, status);
          }
        }
        documents.push_back(std::move(text));
      }
    }
  }
  size_t with_fast_path = 0;
  size_t compared = 0;
  size_t both_answers = 0;
  std::set<std::pair<std::string, bool>> answers;
  for (const Profile* profile : (*set)->profiles()) {
    if (profile->url.find("planbro.no") == std::string::npos || profile->isExtension()) continue;
    const ProfileElement& root = profile->root();
    for (const ProfileElement::Invariant& inv : root.invariants) {
      if (!inv.simple || !inv.expression) continue;
      ++with_fast_path;
      for (const std::string& text : documents) {
        auto doc = JsonDocument::parse(text);
        ASSERT_TRUE(doc.isOk());
        const JsonValue* rt = doc->root().find("resourceType");
        if (rt == nullptr || rt->text() != profile->type) continue;
        auto engine = fhirpath::evaluate(*inv.expression, doc->root());
        ASSERT_TRUE(engine.isOk()) << inv.constraint->key;
        auto expected = fhirpath::toBoolean(engine.value());
        ASSERT_TRUE(expected.isOk());
        EXPECT_EQ(inv.simple->evaluate(doc->root()), expected.value()) << inv.constraint->key << " on " << text;
        if (expected.value()) answers.emplace(inv.constraint->key, *expected.value());
        ++compared;
      }
    }
  }
  for (const auto& [key, answer] : answers) both_answers += answer == false && answers.count({key, true}) ? 1 : 0;
  EXPECT_GE(with_fast_path, 12u);  // ip-cp-1..5, ip-cons-1..3, ip-goal-1..3, ip-ct-1
  EXPECT_GT(compared, 1000u);
  EXPECT_GE(both_answers, 8u) << "the variants must make most invariants both true and false";
}

}  // namespace
}  // namespace planbro::fhir::validation
