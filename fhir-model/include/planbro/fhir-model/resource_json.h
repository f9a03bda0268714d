#pragma once
// FHIR JSON output in the order the definitions give: what the gateway returns and stores, so that a resource
// written twice is byte-identical whatever member order its sender used.

#include <string>

#include "planbro/fhir-model/json.h"
#include "planbro/fhir-model/model_info.h"

namespace planbro::fhir {

/**
 * Writes `resource` (a JSON object with "resourceType") with its members ordered as the R4 definitions order them:
 * resourceType first, then elements in snapshot order, each primitive's `_name` extension twin right after `name`,
 * choice elements (valueQuantity) at their definition's place; contained resources, Bundle entries and
 * Parameters resources are ordered by their own type; members the definitions do not know come last in input order.
 * Values are written as they are (numbers keep their exact text); nothing is validated, added or dropped, so the
 * output parses to a tree jsonEqual to the input. A non-object, or an object without a known resourceType, is
 * written in input order. Never fails; thread-safe (reads the immutable model only).
 */
std::string writeResourceJson(const JsonValue& resource, const JsonWriteOptions& options = {});
void writeResourceJson(const JsonValue& resource, std::string& out, const JsonWriteOptions& options = {});
/** As above, with the definitions of `model` (for tests or other model versions). */
void writeResourceJson(const ModelInfo& model, const JsonValue& resource, std::string& out,
                       const JsonWriteOptions& options = {});

/**
 * Writes `value`, an instance of the data type or backbone element whose child definitions are `children`
 * (e.g. ModelInfo::type("HumanName")->rootChildren()), in definition order as writeResourceJson does.
 */
void writeElementJson(const ModelInfo& model, const JsonValue& value, std::span<const ElementDef* const> children,
                      std::string& out, const JsonWriteOptions& options = {});

}  // namespace planbro::fhir
