#include "extension_plan.h"

namespace planbro::fhir::validation {
namespace {

char upper(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }

// Nothing below the element and nothing on it but what `allowed` says: the plan decides only elements whose checks
// it knows exactly.
bool onlyCardinalityAndTypes(const ProfileElement& e) {
  if (e.pattern || !e.invariants.empty() || !e.slices.empty()) return false;
  // A slicing without slices (Extension.extension's in every snapshot) checks nothing unless it is closed.
  if (e.def->slicing && e.def->slicing->rules == "closed") return false;
  for (const ProfileElement* c : e.children) {
    if (c->relevant) return false;
  }
  return true;
}

}  // namespace

std::shared_ptr<const ExtensionPlan> compileExtensionPlan(const Profile& profile) {
  if (!profile.isExtension() || profile.elements.empty()) return nullptr;
  return compileExtensionPlan(profile.root());
}

std::shared_ptr<const ExtensionPlan> compileExtensionPlan(const ProfileElement& root) {
  if (!root.invariants.empty() || root.fixed || root.pattern || root.binding != nullptr || root.types_narrowed ||
      !root.slices.empty()) {
    return nullptr;
  }
  auto plan = std::make_shared<ExtensionPlan>();
  bool has_url = false;
  for (const ProfileElement* child : root.children) {
    if (!child->relevant) continue;
    const ElementDef& def = *child->def;
    if (!onlyCardinalityAndTypes(*child)) return nullptr;
    if (def.name == "url" && !def.is_choice) {
      // Present once (the base validation requires it), equal to the fixed value.
      if (!child->fixed || !child->fixed->root().isString() || child->binding != nullptr || child->types_narrowed) {
        return nullptr;
      }
      if (def.min > 1 || def.max == 0) return nullptr;
      plan->fixed_url = std::string(child->fixed->root().text());
      has_url = true;
    } else if (def.name == "extension" && !def.is_choice) {
      if (def.max != 0 || def.min != 0 || child->fixed || child->binding != nullptr || child->types_narrowed) {
        return nullptr;
      }
      plan->nested_forbidden = true;
    } else if (def.name == "value" && def.is_choice) {
      if (child->fixed || def.max == 0 || def.min > 1) return nullptr;
      for (size_t t = 0; t < def.types.size(); ++t) {
        const TypeRef& type = def.types[t];
        if (!type.profiles.empty() || !type.target_profiles.empty() || type.code.empty()) return nullptr;
        std::string suffix = type.code;
        suffix[0] = upper(suffix[0]);
        plan->value_types.push_back({std::move(suffix), type.code});
      }
      if (plan->value_types.empty()) return nullptr;
      plan->value_required = def.min > child->core_min;  // as checkItems reports a missing value
      plan->value_binding = child->binding;
      plan->value_set = child->value_set;
    } else {
      return nullptr;
    }
  }
  if (!has_url) return nullptr;
  return plan;
}

}  // namespace planbro::fhir::validation
