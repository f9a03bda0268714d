#pragma once
// The small FHIRPath subset that slicing discriminators use ("url", "coding.code", "$this", "extension('url')",
// "resolve()", "ofType(T)"), evaluated both on instance JSON and on a slice's element tree; plus the JSON pattern
// test of pattern[x] (the value holds at least every member and item of the pattern).

#include <optional>
#include <string_view>
#include <vector>

#include "planbro/fhir-model/json.h"
#include "planbro/fhir-model/model_info.h"
#include "planbro/fhir-model/profile_set.h"

namespace planbro::fhir::validation {

class ReferenceResolver;

/** True when `value` holds `pattern`: equal primitives; every pattern member present and holding its value; every
 * pattern array item held by some item of the value's array. */
bool jsonContains(const JsonValue& value, const JsonValue& pattern);

/** The resource type a literal reference names ("Patient/1", ".../Patient/1/_history/2"), or empty. */
std::string_view referenceTargetType(std::string_view reference);

struct PathValue {
  const JsonValue* json = nullptr;
  std::string_view type;  // FHIR type code when known ("Coding", "Patient"), else empty
};

/** Buffers evaluateSlicePath reuses, so that matching every item against every slice does not allocate once the
 * buffers have grown: after a call, `values` holds the result. */
struct SlicePathBuffers {
  std::vector<PathValue> values;
  std::vector<PathValue> next;
};

/** Evaluates a discriminator path on an instance value of type `type` into `buffers.values`. Unsupported steps give
 * an empty result. */
void evaluateSlicePath(const JsonValue* value, std::string_view type, std::string_view path, const ModelInfo& model,
                       const ReferenceResolver* resolver, const JsonValue* resource, SlicePathBuffers& buffers);

/** The same, returning a fresh vector. */
std::vector<PathValue> evaluateSlicePath(const JsonValue* value, std::string_view type, std::string_view path,
                                         const ModelInfo& model, const ReferenceResolver* resolver,
                                         const JsonValue* resource);

struct SliceTarget {
  const ProfileElement* element = nullptr;          // the slice's element the path ends at, or null
  std::optional<std::string_view> extension_url;    // extension('url') steps: the URL looked for
  bool through_resolve = false;                     // the path went through resolve(): use target profiles
};

/** Follows a discriminator path through a slice's element tree. */
SliceTarget sliceElementAt(const ProfileElement& slice, std::string_view path);

}  // namespace planbro::fhir::validation
