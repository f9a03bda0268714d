#pragma once
// A small check plan for the common shapes of extension definition: a fixed url, no nested extensions and one
// value[x] whose type and binding the definition narrows (simple), or a fixed url, no value[x] and nested extensions
// sliced by url, each slice of the simple shape (complex, such as ip-measure-evaluation). Made once per definition at
// load; ProfileChecker decides
// with it, in one pass over the extension's members, whether the extension conforms. When the plan does not hold (or
// the definition is of another shape) the checker walks the definition as before, so every issue is reported as the
// full walk reports it: the plan only ever answers "conforms".

#include <memory>
#include <span>
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
    /** A Reference type with target profiles: the type (its target_profiles URLs) and the profile each URL names
     *  in the set, parallel to them (ProfileElement::target_profiles); the checker decides the reference's target
     *  as the full walk does (checkTargetProfiles), and the plan holds only when that reports nothing. */
    const TypeRef* reference = nullptr;
    std::span<const Profile* const> targets;
    std::span<const ProfileElement::TargetCore> target_cores;  // ProfileElement::target_cores, the same way
  };
  std::vector<ValueType> value_types;  // the types value[x] allows (all of them when it is not narrowed)
  bool value_required = false;         // value[x] min 1 where the core element has min 0
  const Binding* value_binding = nullptr;  // the binding the profile adds to value[x], when its value set is known
  const ValueSetCodes* value_set = nullptr;
  // The complex shape.
  bool value_forbidden = false;  // value[x] max 0: the nested extensions carry the content
  struct NestedSlice {
    std::string url;      // the nested extension's url (relative, such as "author", or absolute)
    uint32_t min = 0;     // the slice's cardinality
    uint32_t max = kUnbounded;
    /** The slice's own plan (simple shape); null when the slice has checks no plan decides (a type profile on its
     *  value, an invariant): the checker then runs the full check of `element` on that nested extension alone. */
    std::shared_ptr<const ExtensionPlan> plan;
    const ProfileElement* element = nullptr;  // the slice
  };
  /** Non-empty: Extension.extension is sliced by url into these slices (at most kMaxNestedSlices), in definition
   * order; a nested extension belongs to the first slice with its url. */
  std::vector<NestedSlice> nested_slices;
  bool nested_closed = false;                 // the slicing is closed: a nested url no slice names is an error
  uint32_t nested_min = 0;                    // Extension.extension's cardinality where narrowed from the core's
  uint32_t nested_max = kUnbounded;
  static constexpr size_t kMaxNestedSlices = 32;
};

/** The plan for `profile` (an extension definition whose precomputed elements are filled) of the simple shape, or
 * null when the definition constrains more than that plan can decide (invariants, slices, type profiles, patterns,
 * ...). */
std::shared_ptr<const ExtensionPlan> compileExtensionPlan(const Profile& profile);
/** The plan of the complex shape for `profile`, or null when it is of another shape. Needs the plans of the slices
 * of its Extension.extension made first (ProfileElement::extension_plan). */
std::shared_ptr<const ExtensionPlan> compileComplexExtensionPlan(const Profile& profile);
/** The same for one element of type Extension (a slice of a complex extension's `extension`, such as
 * ip-measure-evaluation's "role"), judged with its children; null when the element itself has checks of its own.
 * A slice of the complex shape (nested extensions of its own, their slices' plans made first) gets a complex plan. */
std::shared_ptr<const ExtensionPlan> compileExtensionPlan(const ProfileElement& element);

}  // namespace planbro::fhir::validation
