#pragma once
// FHIRPath (N1, as used by FHIR R4) over the JSON tree: compile once, evaluate many times from many threads.
// Owner of the implementation: fhir-model/src/fhirpath/. This header is the contract other parts code against.

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "planbro/fhir-model/json.h"
#include "planbro/fhir-model/model_info.h"
#include "planbro/fhir-model/status.h"

namespace planbro::fhir::fhirpath {

/** A parsed, type-checked-where-possible expression. Immutable and thread-safe. */
class Expression;
using ExpressionPtr = std::shared_ptr<const Expression>;

/** Compiles `text`. Errors: kInvalidArgument with the position and reason for a syntax error. */
Result<ExpressionPtr> compile(std::string_view text);

/** One item of a result collection: a FHIR element in the input tree or a system value made by the expression. */
class Value;
using Collection = std::vector<Value>;

/** How `resolve()` finds a referenced resource (e.g. inside a Bundle, or from the store). Optional. */
using Resolver = std::function<const JsonValue*(std::string_view reference)>;

struct Environment {
  Resolver resolver;  // when empty, resolve() finds only contained resources and Bundle entries
  // %resource, %rootResource, %context, %ucum, %sct, %loinc and %"vs-..." are provided by the engine.
};

/**
 * Evaluates `expression` with `resource` (a JSON object with resourceType) as %resource and the focus.
 * Errors: kInvalidArgument when the expression is not valid for the input (e.g. single() on many items).
 */
Result<Collection> evaluate(const Expression& expression, const JsonValue& resource, const Environment& env = {});

/** Serialises a result collection as a JSON array (FHIR elements as their JSON, system values as JSON scalars). */
std::string toJson(const Collection& collection);

}  // namespace planbro::fhir::fhirpath
