#pragma once
// The parser's limits, applied to a tree that was built rather than parsed (a JSON Patch result, a resource
// assembled from parts). A built tree can be nested deeper than any parsed one, or share subtrees so that its
// serialised form is exponentially larger than its memory: check it before validating, storing or writing it.

#include <cstdint>
#include <string>

#include "planbro/fhir-model/json.h"
#include "planbro/fhir-model/status.h"

namespace planbro::fhir {

/**
 * Checks `value` against `limits.max_depth` (nesting of arrays and objects), `limits.max_string_bytes` (one string or
 * member name), `limits.max_number_length`, and `max_bytes` (the length of its compact JSON serialisation, as
 * writeJson() would produce it; pass limits.max_bytes or the gateway's `limits.max_body_bytes`).
 *
 * Iterative (constant C++ stack whatever the depth) and stops at the first violation, so its work is bounded by
 * min(tree size, max_bytes) even for a tree whose shared subtrees make it exponentially large. Thread-safe; reads only.
 *
 * Errors: kResourceExhausted naming the limit, its value and the location of the first violation as a FHIRPath-style
 * path (`Patient.extension[0].extension[0]`, the root named by its resourceType; at most about 300 characters, the
 * middle elided). When `violation_path` is given, the path alone is written there.
 */
Status checkTreeLimits(const JsonValue& value, const JsonLimits& limits, uint64_t max_bytes,
                       std::string* violation_path = nullptr);

}  // namespace planbro::fhir
