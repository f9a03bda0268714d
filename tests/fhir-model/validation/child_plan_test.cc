// The validating walk's per-list plan must answer every JSON name as the model's own matchChild does (the
// definition-order scan the plan replaces), for every children list of the R4 model.

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "../../../fhir-model/src/validation/child_plan.h"
#include "planbro/fhir-model/model_info.h"

namespace planbro::fhir {
namespace {

using validation::ChildPlan;
using validation::ChildTarget;

// The names a list must answer, and near misses of each that it must answer exactly as the scan does.
std::vector<std::string> probesOf(std::span<const ElementDef* const> children) {
  std::vector<std::string> probes = {"", "x", "resourceType", "extension", "value", "valueX", "_value"};
  for (const ElementDef* child : children) {
    std::vector<std::string> names;
    if (child->is_choice) {
      for (const TypeRef& t : child->types) names.push_back(ModelInfo::jsonName(*child, t.code));
      names.push_back(child->name);
    } else {
      names.push_back(child->name);
    }
    for (const std::string& name : names) {
      probes.push_back(name);
      probes.push_back(name + "x");
      if (!name.empty()) {
        probes.push_back(name.substr(0, name.size() - 1));
        std::string flipped = name;
        flipped.back() = static_cast<char>(flipped.back() ^ 0x20);
        probes.push_back(flipped);
        std::string middle = name;  // names over 16 bytes differ from the model's only in their middle bytes
        middle[name.size() / 2] = static_cast<char>(middle[name.size() / 2] ^ 0x01);
        probes.push_back(middle);
        std::string lower = name;
        lower[0] = static_cast<char>(lower[0] | 0x20);
        probes.push_back(lower);
      }
    }
  }
  return probes;
}

size_t checkList(const ModelInfo& model, std::span<const ElementDef* const> children) {
  const ChildPlan& plan = ChildPlan::of(model, children);
  EXPECT_EQ(&ChildPlan::of(model, children), &plan) << "a list's plan is built once";
  EXPECT_EQ(plan.cardinalities().size(), children.size());
  std::vector<uint32_t> required;
  for (uint32_t i = 0; i < children.size(); ++i) {
    EXPECT_EQ(plan.cardinalities()[i].min, children[i]->min);
    EXPECT_EQ(plan.cardinalities()[i].max, children[i]->max);
    if (children[i]->min > 0) required.push_back(i);
  }
  EXPECT_EQ(std::vector<uint32_t>(plan.required().begin(), plan.required().end()), required);
  size_t checked = 0;
  for (const std::string& probe : probesOf(children)) {
    std::optional<ModelInfo::ChildMatch> scan;
    if (!probe.empty()) scan = model.matchChild(children, probe);
    const ChildTarget* target = probe.empty() ? nullptr : plan.match(probe);
    ++checked;
    if (!scan) {
      EXPECT_EQ(target, nullptr) << probe;
      continue;
    }
    if (target == nullptr) {
      ADD_FAILURE() << "the plan does not know '" << probe << "'";
      continue;
    }
    EXPECT_EQ(target->element, scan->element) << probe;
    EXPECT_EQ(children[target->child], scan->element) << probe;
    const ElementDef& eff = scan->element->content_reference != nullptr ? *scan->element->content_reference
                                                                        : *scan->element;
    std::string_view expected_code = scan->type_code;
    if (expected_code.empty() && eff.types.size() == 1) expected_code = eff.types.front().code;
    if (expected_code.empty() && !eff.children.empty()) expected_code = "BackboneElement";
    EXPECT_EQ(target->type_code, expected_code) << probe;
    EXPECT_EQ(target->is_array, scan->element->isArray()) << probe;
    EXPECT_EQ(target->choice_name, scan->element->is_choice ? scan->element->name : std::string()) << probe;
  }
  return checked;
}

TEST(ChildPlan, AnswersEveryNameOfEveryR4ChildrenListAsTheDefinitionOrderScan) {
  const ModelInfo& model = ModelInfo::r4();
  size_t lists = 0;
  size_t probes = 0;
  for (const TypeDef* type : model.types()) {
    for (const ElementDef& element : type->elements) {
      if (element.children.empty()) continue;
      probes += checkList(model, element.children);
      ++lists;
    }
  }
  EXPECT_GT(lists, 500u);
  EXPECT_GT(probes, 20000u);
}

TEST(ChildPlan, ResolvesWhatTheWalkNeedsOnceAtBuild) {
  const ModelInfo& model = ModelInfo::r4();
  const TypeDef* observation = model.type("Observation");
  ASSERT_NE(observation, nullptr);
  const ChildPlan& plan = ChildPlan::of(model, observation->rootChildren());

  const ChildTarget* quantity = plan.match("valueQuantity");
  ASSERT_NE(quantity, nullptr);
  EXPECT_EQ(quantity->type_code, "Quantity");
  EXPECT_EQ(quantity->choice_name, "value");
  EXPECT_FALSE(quantity->has_kind);
  ASSERT_NE(quantity->type, nullptr);
  EXPECT_EQ(quantity->type->name, "Quantity");
  EXPECT_EQ(quantity->children.data(), quantity->type->rootChildren().data());

  const ChildTarget* when = plan.match("effectiveDateTime");
  ASSERT_NE(when, nullptr);
  EXPECT_TRUE(when->has_kind);
  EXPECT_EQ(when->kind, validation::PrimitiveKind::kDateTime);

  const ChildTarget* status = plan.match("status");
  ASSERT_NE(status, nullptr);
  EXPECT_TRUE(status->has_kind);
  EXPECT_EQ(status->kind, validation::PrimitiveKind::kCode);
  ASSERT_NE(status->required_binding, nullptr);  // observation-status, required

  const ChildTarget* component = plan.match("component");
  ASSERT_NE(component, nullptr);
  EXPECT_EQ(component->type_code, "BackboneElement");
  EXPECT_TRUE(component->is_array);
  EXPECT_FALSE(component->children.empty());

  const ChildTarget* subject = plan.match("subject");
  ASSERT_NE(subject, nullptr);
  EXPECT_EQ(subject->rule, validation::ComplexRule::kReference);

  const ChildTarget* contained = plan.match("contained");
  ASSERT_NE(contained, nullptr);
  EXPECT_TRUE(contained->is_resource);
  EXPECT_TRUE(contained->is_contained);

  EXPECT_EQ(plan.match("valueFoo"), nullptr);
  EXPECT_EQ(plan.match("valuequantity"), nullptr);
}

TEST(ChildPlan, HashReadsOnlyTheNameAndSpreadsShortNames) {
  // Names of every length from 0 to 24 taken from the middle of a larger buffer: the hash must not depend on the
  // bytes around a name (ASan catches reads outside it), and equal names hash equally wherever they are.
  const std::string buffer = "aaaaaaaaaaaaidentifierExtensionModifierSubjectzzzzzzzzzzzz";
  for (size_t n = 0; n <= 24; ++n) {
    std::string copy = buffer.substr(12, n);
    EXPECT_EQ(ChildPlan::hash(std::string_view(buffer).substr(12, n)), ChildPlan::hash(copy)) << n;
  }
  std::vector<uint32_t> hashes;
  for (std::string_view name : {"id", "url", "use", "text", "code", "type", "value", "status", "subject", "system"}) {
    hashes.push_back(ChildPlan::hash(name) & 15);
  }
  std::sort(hashes.begin(), hashes.end());
  const size_t distinct = static_cast<size_t>(std::unique(hashes.begin(), hashes.end()) - hashes.begin());
  EXPECT_GE(distinct, 5u) << "ten common names spread over at least five of sixteen slots";
}

}  // namespace
}  // namespace planbro::fhir
