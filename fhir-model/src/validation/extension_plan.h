#pragma once
// A small check plan for the common shape of extension definition: a fixed url, no nested extensions and one
// value[x] whose type and binding the definition narrows. Made once per definition at load; ProfileChecker decides
// with it, in one pass over the extension's members, whether the extension conforms. When the plan does not hold (or
// the definition is of another shape) the checker walks the definition as before, so every issue is reported as the
// full walk reports it: the plan only ever answers "conforms".

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "planbro/fhir-model/profile_set.h"

namespace planbro::fhir::validation {

struct ExtensionPlan {
  std::string fixed_url;        // Extension.url's fixed value
  bool nested_forbidden = false;  // Extension.extension max 0
  struct ValueType {
    std::string json_suffix;  // "CodeableConcept", "Boolean": the JSON name is "value" + this
    std::string code;         // the FHIR type code
  };
  std::vector<ValueType> value_types;  // the types value[x] allows (all of them when it is not narrowed)
  bool value_required = false;         // value[x] min 1 where the core element has min 0
  const Binding* value_binding = nullptr;  // the binding the profile adds to value[x], when its value set is known
  const ValueSetCodes* value_set = nullptr;
};

/** The plan for `profile` (an extension definition whose precomputed elements are filled), or null when the
 * definition constrains more than the plan can decide (invariants, slices, type profiles, patterns, ...). */
std::shared_ptr<const ExtensionPlan> compileExtensionPlan(const Profile& profile);
/** The same for one element of type Extension (a slice of a complex extension's `extension`, such as
 * ip-measure-evaluation's "role"), judged with its children; null when the element itself has checks of its own. */
std::shared_ptr<const ExtensionPlan> compileExtensionPlan(const ProfileElement& element);

}  // namespace planbro::fhir::validation
