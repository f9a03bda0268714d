// Every FHIRPath expression the R4 core definitions carry (search parameters and element invariants) must compile,
// evaluate without error on the official examples, and the invariants must hold on them.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

#include "planbro/fhir-model/fhirpath.h"

namespace planbro::fhir::fhirpath {
namespace {

std::string readFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<const TypeDef*> allTypes(const ModelInfo& model) {
  std::vector<const TypeDef*> out(model.resourceTypes().begin(), model.resourceTypes().end());
  for (const char* name : {"Element", "BackboneElement", "Extension", "Narrative", "Reference", "Quantity", "Period",
                           "Range", "Ratio", "HumanName", "Address", "ContactPoint", "Identifier", "Timing",
                           "Attachment", "Coding", "CodeableConcept", "Dosage", "Meta", "Money", "SampledData",
                           "Signature", "Age", "Duration", "Count", "Distance", "ElementDefinition"}) {
    if (const TypeDef* t = model.type(name)) out.push_back(t);
  }
  return out;
}

TEST(FhirPathDefinitions, CompilesEverySearchParameterExpression) {
  const ModelInfo& model = ModelInfo::r4();
  size_t compiled = 0;
  for (const TypeDef* type : model.resourceTypes()) {
    for (const SearchParamDef* sp : model.searchParams(type->name)) {
      if (sp->expression.empty()) continue;
      auto e = compile(sp->expression);
      EXPECT_TRUE(e.isOk()) << sp->url << ": " << sp->expression << ": " << e.status().message();
      ++compiled;
    }
  }
  EXPECT_GT(compiled, 1000u);
}

TEST(FhirPathDefinitions, CompilesEveryInvariant) {
  const ModelInfo& model = ModelInfo::r4();
  size_t compiled = 0;
  for (const TypeDef* type : allTypes(model)) {
    for (const ElementDef& el : type->elements) {
      for (const Constraint& c : el.constraints) {
        if (c.expression.empty()) continue;
        auto e = compile(c.expression);
        EXPECT_TRUE(e.isOk()) << c.key << " on " << el.path << ": " << c.expression << ": " << e.status().message();
        ++compiled;
      }
    }
  }
  EXPECT_GT(compiled, 500u);
}

// Walks a resource and evaluates each invariant at every element it is declared on.
class InvariantChecker {
 public:
  explicit InvariantChecker(const JsonValue& resource) : resource_(resource), model_(ModelInfo::r4()) {}

  void check(const Value& node, int depth, std::vector<std::string>& failures) {
    if (depth > 40 || !node.isNode()) return;
    const Node& n = node.asNode();
    std::vector<const Constraint*> constraints;
    if (n.element) {
      for (const Constraint& c : n.element->constraints) constraints.push_back(&c);
    } else if (const TypeDef* t = model_.type(n.type)) {
      for (const Constraint& c : t->root().constraints) constraints.push_back(&c);
    }
    for (const Constraint* c : constraints) {
      if (c->expression.empty() || c->severity != Severity::kError) continue;
      auto it = cache_.find(c->expression);
      if (it == cache_.end()) {
        auto e = compile(c->expression);
        if (!e.isOk()) continue;
        it = cache_.emplace(c->expression, *e).first;
      }
      auto r = evaluateBoolean(*it->second, n, resource_);
      if (!r.isOk()) failures.push_back(c->key + " error: " + r.status().message());
      else if (!*r) failures.push_back(c->key + " false at " + std::string(n.name) + ": " + c->expression);
      ++evaluated_;
    }
    static const ExpressionPtr children = *compile("children()");
    auto kids = evaluateAt(*children, n, resource_);
    if (!kids.isOk()) return;
    for (const Value& k : *kids) check(k, depth + 1, failures);
  }

  size_t evaluated() const { return evaluated_; }

 private:
  const JsonValue& resource_;
  const ModelInfo& model_;
  size_t evaluated_ = 0;
  std::map<std::string, ExpressionPtr> cache_;
};

TEST(FhirPathDefinitions, InvariantsHoldOnOfficialExamples) {
  std::filesystem::path dir = std::filesystem::path(PLANBRO_SHARED_DIR) / "fhir-r4" / "examples";
  size_t files = 0, evaluated = 0;
  std::vector<std::string> failures;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".json") continue;
    auto doc = JsonDocument::parse(readFile(entry.path()));
    ASSERT_TRUE(doc.isOk()) << entry.path();
    InvariantChecker checker(doc->root());
    std::vector<std::string> f;
    checker.check(Value::node(resourceNode(doc->root())), 0, f);
    for (auto& s : f) failures.push_back(entry.path().filename().string() + ": " + s);
    evaluated += checker.evaluated();
    ++files;
  }
  for (const auto& f : failures) ADD_FAILURE() << f;
  std::cout << "invariants evaluated: " << evaluated << " on " << files << " examples\n";
  EXPECT_GT(evaluated, 1000u);
}

TEST(FhirPathDefinitions, SearchParametersEvaluateOnOfficialExamples) {
  const ModelInfo& model = ModelInfo::r4();
  std::filesystem::path dir = std::filesystem::path(PLANBRO_SHARED_DIR) / "fhir-r4" / "examples";
  size_t evaluated = 0, non_empty = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".json") continue;
    auto doc = JsonDocument::parse(readFile(entry.path()));
    ASSERT_TRUE(doc.isOk()) << entry.path();
    const JsonValue* rt = doc->root().find("resourceType");
    ASSERT_NE(rt, nullptr);
    for (const SearchParamDef* sp : model.searchParams(rt->text())) {
      if (sp->expression.empty()) continue;
      auto e = compile(sp->expression);
      ASSERT_TRUE(e.isOk()) << sp->expression;
      auto r = evaluate(**e, doc->root());
      EXPECT_TRUE(r.isOk()) << entry.path().filename() << " " << sp->code << ": " << sp->expression << ": "
                            << r.status().message();
      ++evaluated;
      if (r.isOk() && !r->empty()) ++non_empty;
    }
  }
  std::cout << "search parameters evaluated: " << evaluated << ", with values: " << non_empty << "\n";
  EXPECT_GT(non_empty, 300u);
}

}  // namespace
}  // namespace planbro::fhir::fhirpath
