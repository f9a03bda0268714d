// The invariant fast path's shortcuts must not change an answer: a where() whose predicate starts with
// `url = 'x'` drops an item by its url alone (Node::where_url), only exists() / empty() look up the `_name`
// twin of a leaf, equalities of one path or-ed together look the path up once (kEqualsAny), and `implies` evaluates
// its cheaper side first (Node::rhs_first). Each expression is evaluated on every shape below by the fast path and by the FHIRPath engine.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "../../../fhir-model/src/validation/simple_invariant.h"
#include "planbro/fhir-model/fhirpath.h"
#include "planbro/fhir-model/json.h"
#include "planbro/fhir-model/model_info.h"

namespace planbro::fhir::validation {
namespace {

TEST(InvariantShortcutShapes, AgreeWithTheEngine) {
  const ModelInfo& model = ModelInfo::r4();
  const auto children = model.type("CarePlan")->rootChildren();
  const std::vector<std::string> expressions = {
      "extension.where(url = 'u').exists()",
      "extension.where(url = 'u').empty()",
      "extension.where(url = 'u' and value.code = 'x').exists()",
      "extension.where(url = 'u' and (value.code = 'x' or value.code = 'y')).exists() implies status = 'active'",
      "extension.where(url = 'u' and value.code = 'x').count() = 1",
      "extension.where(url = 'u').count() >= 2",
      "extension.where(value.code = 'x' and url = 'u').exists()",
      "status = 'active'",
      "status != 'active'",
      "status.hasValue()",
      "status.exists()",
      "status.empty()",
      "intent = 'plan' or status = 'draft'",
      // Equalities of one path or-ed together are folded into one lookup with several literals (kEqualsAny).
      "status = 'active' or status = 'draft' or status = 'revoked'",
      "status = 'active' or intent = 'plan' or status = 'draft'",
      "extension.where(url = 'u' and (value.code = 'x' or value.code = 'y' or value.code = 'z')).exists()",
      "(status = 'active' or status = 'draft').not()",
      // implies with the cheaper side evaluated first (Node::rhs_first), both orders.
      "extension.where(url = 'u' and value.code = 'x').exists() implies (status = 'draft' or status = 'revoked')",
      "extension.where(url = 'u').exists() implies status.exists()",
      "status = 'active' implies extension.where(url = 'u').exists()",
      "status.empty() implies extension.where(url = 'u' and value.code = 'y').empty()",
  };
  const std::vector<std::string> extensions = {
      "",
      R"("extension":[])",
      R"("extension":[{"url":"u","valueCoding":{"code":"x"}}])",
      R"("extension":[{"url":"u","valueCoding":{"code":"y"}}])",
      R"("extension":[{"url":"v","valueCoding":{"code":"x"}}])",
      R"("extension":[{"url":"uu","valueCoding":{"code":"x"}},{"url":"u","valueCode":"x"}])",
      R"("extension":[{"url":"w","valueCoding":{"code":"x"}},{"url":"u","valueCoding":{"code":"x"}}])",
      R"("extension":[{"url":"u","valueCoding":{"code":"x"}},{"url":"u","valueCoding":{"code":"x"}}])",
      R"("extension":[{"valueCoding":{"code":"x"}}])",
      R"("extension":[{"_url":{"id":"a"},"valueCoding":{"code":"x"}}])",
      R"("extension":[{"url":"u","_url":{"id":"a"},"valueCoding":{"code":"x"}}])",
      R"("extension":[{"url":["u"],"valueCoding":{"code":"x"}}])",
      R"("extension":[{"url":1,"valueCoding":{"code":"x"}}])",
      R"("extension":[{"url":null,"valueCoding":{"code":"x"}}])",
      R"("extension":[{"url":"u","valueTiming":{"code":{"text":"x"}}}])",
      R"("extension":[{"url":"u","valueQuantity":{"code":"y"}}])",
      R"("extension":[{"url":"u","valueCoding":{"system":"s"}}])",
  };
  const std::vector<std::string> statuses = {
      "",
      R"("status":"active")",
      R"("status":"draft")",
      R"("_status":{"extension":[{"url":"z","valueString":"s"}]})",
      R"("status":"active","_status":{"id":"s"})",
      R"("status":null,"_status":{"id":"s"})",
      R"("intent":"plan","_intent":{"id":"i"})",
      R"("_intent":{"id":"i"},"status":"draft")",
  };
  size_t compared = 0;
  for (const std::string& expression : expressions) {
    auto simple = SimpleInvariant::compile(expression, children, model);
    ASSERT_NE(simple, nullptr) << expression;
    auto engine_expression = fhirpath::compile(expression);
    ASSERT_TRUE(engine_expression.isOk()) << expression;
    for (const std::string& extension : extensions) {
      for (const std::string& status : statuses) {
        std::string text = R"({"resourceType":"CarePlan")";
        for (const std::string* part : {&extension, &status}) {
          if (!part->empty()) text += "," + *part;
        }
        text += "}";
        // Known, and older than these shortcuts: a comparison of a primitive that has only its `_name` twin is
        // empty on the fast path and false in the engine. Left out here (docs/performance.md).
        const bool twin_only_status = status.find("_status") != std::string::npos &&
                                      status.find(R"("status":")") == std::string::npos;
        if (twin_only_status && expression.find("status =") != std::string::npos) continue;
        if (twin_only_status && expression.find("status !=") != std::string::npos) continue;
        auto doc = JsonDocument::parse(text);
        ASSERT_TRUE(doc.isOk()) << text;
        auto engine = fhirpath::evaluate(**engine_expression, doc->root());
        if (!engine.isOk()) continue;  // a shape the engine refuses (a url that is an array): no answer to match
        auto expected = fhirpath::toBoolean(engine.value());
        if (!expected.isOk()) continue;
        EXPECT_EQ(simple->evaluate(doc->root()), expected.value()) << expression << " on " << text;
        ++compared;
      }
    }
  }
  EXPECT_GT(compared, expressions.size() * extensions.size() * statuses.size() * 3 / 4);
}

}  // namespace
}  // namespace planbro::fhir::validation
