// The invariant fast path must give FHIRPath's answers (three-valued logic) on the expressions it accepts, and
// refuse what it cannot do exactly.

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
  EXPECT_EQ(SimpleInvariant::compile("entry.where(fullUrl.exists()).count() > 1", children, model), nullptr);
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
