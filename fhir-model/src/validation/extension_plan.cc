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

// Extension.extension sliced by url only (each slice decided by a plan of its own where it has one), the sliced
// element itself checking nothing but its cardinality: the nested extensions of a complex definition.
bool compileNestedSlices(const ProfileElement& sliced, ExtensionPlan& plan) {
  const ElementDef& def = *sliced.def;
  if (!sliced.slices_by_url || sliced.slices.size() > ExtensionPlan::kMaxNestedSlices) return false;
  if (sliced.fixed || sliced.pattern || sliced.binding != nullptr || sliced.types_narrowed ||
      !sliced.invariants.empty() || !def.slicing || def.slicing->ordered) {
    return false;
  }
  if (def.slicing->rules != "open" && def.slicing->rules != "closed") return false;
  for (const ProfileElement* c : sliced.children) {
    if (c->relevant) return false;
  }
  plan.nested_slices.resize(sliced.slices.size());
  for (const auto& [url, index] : sliced.slice_by_url) plan.nested_slices[index].url = url;
  for (size_t s = 0; s < sliced.slices.size(); ++s) {
    const ProfileElement& slice = *sliced.slices[s];
    ExtensionPlan::NestedSlice& nested = plan.nested_slices[s];
    // A slice no url selects (a later slice of the same url, or none) is never matched: left to the full walk.
    if (nested.url.empty()) return false;
    if (sliced.slice_by_url.find(nested.url)->second != s) return false;
    nested.min = slice.def->min;
    nested.max = slice.def->max;
    nested.plan = slice.extension_plan;
    nested.element = &slice;
  }
  plan.nested_closed = def.slicing->rules == "closed";
  plan.nested_min = def.min > sliced.core_min ? def.min : 0;  // as checkItems reports the cardinality
  plan.nested_max = def.max != kUnbounded && def.max < sliced.core_max ? def.max : kUnbounded;
  return true;
}

std::shared_ptr<const ExtensionPlan> compile(const ProfileElement& root, bool complex) {
  if (!root.invariants.empty() || root.fixed || root.pattern || root.binding != nullptr || root.types_narrowed ||
      !root.slices.empty()) {
    return nullptr;
  }
  auto plan = std::make_shared<ExtensionPlan>();
  bool has_url = false;
  for (const ProfileElement* child : root.children) {
    if (!child->relevant) continue;
    const ElementDef& def = *child->def;
    if (complex && def.name == "extension" && !def.is_choice && !child->slices.empty()) {
      if (!compileNestedSlices(*child, *plan)) return nullptr;
      continue;
    }
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
    } else if (complex && def.name == "value" && def.is_choice && def.max == 0) {
      if (child->fixed || child->binding != nullptr || def.min != 0) return nullptr;
      plan->value_forbidden = true;
    } else if (def.name == "value" && def.is_choice) {
      if (child->fixed || def.max == 0 || def.min > 1) return nullptr;
      for (size_t t = 0; t < def.types.size(); ++t) {
        const TypeRef& type = def.types[t];
        if (!type.profiles.empty() || type.code.empty()) return nullptr;
        ExtensionPlan::ValueType value_type;
        value_type.json_suffix = type.code;
        value_type.json_suffix[0] = upper(value_type.json_suffix[0]);
        value_type.code = type.code;
        if (!type.target_profiles.empty()) {
          // A Reference's targets are decided as checkType decides them; any other type with target profiles
          // (canonical) is left to the full walk.
          if (type.code != "Reference" || t >= child->target_profiles.size() ||
              child->target_profiles[t].size() != type.target_profiles.size() ||
              child->target_cores[t].size() != type.target_profiles.size()) {
            return nullptr;
          }
          value_type.reference = &type;
          value_type.targets = child->target_profiles[t];
          value_type.target_cores = child->target_cores[t];
        }
        plan->value_types.push_back(std::move(value_type));
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
  // The complex shape is nested slices and no value; anything else is the simple shape's (or neither).
  if (complex && (plan->nested_slices.empty() || !plan->value_forbidden)) return nullptr;
  return plan;
}

}  // namespace

std::shared_ptr<const ExtensionPlan> compileExtensionPlan(const Profile& profile) {
  if (!profile.isExtension() || profile.elements.empty()) return nullptr;
  return compile(profile.root(), /*complex=*/false);
}

std::shared_ptr<const ExtensionPlan> compileComplexExtensionPlan(const Profile& profile) {
  if (!profile.isExtension() || profile.elements.empty()) return nullptr;
  return compile(profile.root(), /*complex=*/true);
}

std::shared_ptr<const ExtensionPlan> compileExtensionPlan(const ProfileElement& element) {
  if (auto simple = compile(element, /*complex=*/false)) return simple;
  return compile(element, /*complex=*/true);
}

}  // namespace planbro::fhir::validation
