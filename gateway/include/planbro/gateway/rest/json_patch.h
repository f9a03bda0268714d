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
 * of range, a failed `test`, moving a value into itself). Messages name the operation index. Thread-safe for
 * distinct documents; no I/O.
 */
Result<fhir::JsonValue> applyJsonPatch(fhir::JsonDocument& doc, const fhir::JsonValue& target,
                                       const fhir::JsonValue& patch);

}  // namespace planbro::gateway::rest
