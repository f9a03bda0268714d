#pragma once
// FHIRPath Patch (R4 fhirpatch.html): the PATCH interaction with a Parameters resource body.

#include "planbro/fhir-model/json.h"
#include "planbro/fhir-model/status.h"

namespace planbro::gateway::rest {

/**
 * Applies `parameters` (a Parameters resource of `operation` parameters: type add | insert | delete | replace |
 * move, with path, name, value, index, source, destination parts) to `resource`, in order, all or nothing,
 * building the result in `doc`'s arena (`resource` may live in any document that outlives the call). Paths are
 * FHIRPath expressions evaluated on the resource as each operation finds it. `value` is a `value[x]` part, or
 * `part`s for a complex value without a type of its own (a BackboneElement). Removing the last item of a list
 * removes the element, as FHIR JSON has no empty arrays.
 * Errors: kInvalidArgument when the Parameters are malformed (unknown type, a missing or extra part, a path that
 * does not compile); kUnprocessable when an operation cannot be applied (add/replace on a path that does not select
 * exactly one element, delete on one that selects several, an index out of range, add of a single element that
 * is already there); kResourceExhausted when the result of an operation is outside `limits` (it must stay inside
 * them as if it had been parsed: nesting, longest string, compact JSON size). Messages name the operation
 * (`Parameters.parameter[2]`). No recursion on the depth of the resource. The result still has to pass validation:
 * the write path checks it like any update.
 */
Result<fhir::JsonValue> applyFhirPathPatch(fhir::JsonDocument& doc, const fhir::JsonValue& resource,
                                           const fhir::JsonValue& parameters, const fhir::JsonLimits& limits = {});

}  // namespace planbro::gateway::rest
