#include "constraint_cache.h"

#include <algorithm>
#include <array>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace planbro::fhir::validation {

namespace {

// Constraints that the validator checks natively (exactly, and faster than FHIRPath could). Resolved here once per
// constraint, so the walk tests a flag instead of comparing keys at every element.
bool isNativeConstraint(std::string_view key) {
  static constexpr std::array<std::string_view, 9> kNative = {"dom-2", "dom-3", "dom-4", "dom-5", "ele-1",
                                                              "ext-1", "txt-1", "txt-2", "ref-1"};
  return std::find(kNative.begin(), kNative.end(), key) != kNative.end();
}

}  // namespace

const ConstraintCache& ConstraintCache::get() {
  static const ConstraintCache cache(ModelInfo::r4());
  return cache;
}

// ModelInfo lists resource types only; the data types are reached through the element types, so walk the type
// graph from every resource type once.
ConstraintCache::ConstraintCache(const ModelInfo& model) {
  std::vector<const TypeDef*> pending;
  std::unordered_set<const TypeDef*> seen;
  auto enqueue = [&](const TypeDef* t) {
    if (t != nullptr && seen.insert(t).second) pending.push_back(t);
  };
  for (const TypeDef* t : model.resourceTypes()) enqueue(t);
  for (const char* name : {"Resource", "DomainResource", "Element", "BackboneElement", "Extension"}) {
    enqueue(model.type(name));
  }
  while (!pending.empty()) {
    const TypeDef* type = pending.back();
    pending.pop_back();
    for (const ElementDef& el : type->elements) {
      for (const TypeRef& ref : el.types) enqueue(model.type(ref.code));
      if (el.constraints.empty()) continue;
      // The children of the focus the constraint is evaluated on (the element's own, or its single type's).
      std::span<const ElementDef* const> children = el.children;
      if (children.empty() && el.types.size() == 1) children = model.childrenOf(el, el.types.front().code);
      for (const Constraint& c : el.constraints) {
        if (c.expression.empty() || compiled_.count(&c) != 0) continue;
        Compiled compiled;
        Result<fhirpath::ExpressionPtr> expr = fhirpath::compile(c.expression);
        if (expr.isOk()) {
          compiled.expression = std::move(expr).value();
        } else {
          ++failed_;
        }
        compiled.simple = SimpleInvariant::compile(c.expression, children, model);
        if (compiled.simple) ++simple_;
        compiled.native = isNativeConstraint(c.key);
        compiled.per1 = c.key == "per-1";
        if (compiled.expression || compiled.simple) compiled_.emplace(&c, std::move(compiled));
      }
    }
  }
}

}  // namespace planbro::fhir::validation
