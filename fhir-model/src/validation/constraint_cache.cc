#include "constraint_cache.h"

#include <string>
#include <unordered_set>
#include <vector>

namespace planbro::fhir::validation {

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
      for (const Constraint& c : el.constraints) {
        if (c.expression.empty() || compiled_.count(&c) != 0) continue;
        Result<fhirpath::ExpressionPtr> expr = fhirpath::compile(c.expression);
        if (expr.isOk() && expr.value() != nullptr) {
          compiled_.emplace(&c, std::move(expr).value());
        } else {
          ++failed_;
        }
      }
    }
  }
}

}  // namespace planbro::fhir::validation
