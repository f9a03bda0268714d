#pragma once
// JSON Patch (RFC 6902) over planbro's immutable JSON tree: the PATCH interaction on application/json-patch+json.

#include "planbro/fhir-model/json.h"
#include "planbro/fhir-model/status.h"

namespace planbro::gateway::rest {

/**
 * Applies `patch` (a JSON array of operations) to `target`, building the result in `doc`'s arena (`target` may
 * live in any document that outlives the call). Operations are applied in order, all or nothing.
 * Errors: kInvalidArgument when the patch document is malformed (not an array, unknown op, missing member, bad
 * JSON Pointer); kUnprocessable when an operation cannot be applied (a path that does not exist, an array index out
 * of range, a failed `test`, moving a value into itself); kResourceExhausted for a result outside `limits`: after
 * every operation the result must stay inside `limits` as if it had been parsed: nesting at most max_depth, no string longer than
 * max_string_bytes, compact JSON at most max_bytes (a `copy` shares its subtree, so without this a few operations
 * build gigabytes). Messages name the operation index. Work per operation is proportional to the nodes it builds;
 * no recursion on the depth of the tree. Thread-safe for distinct documents; no I/O.
 */
Result<fhir::JsonValue> applyJsonPatch(fhir::JsonDocument& doc, const fhir::JsonValue& target,
                                       const fhir::JsonValue& patch, const fhir::JsonLimits& limits = {});

}  // namespace planbro::gateway::rest
