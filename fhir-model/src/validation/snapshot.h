#pragma once
// Snapshot generation: a profile's differential applied to its base definition's snapshot (a core type or another
// profile), giving a TypeDef in the shape ModelInfo uses. Data types are expanded where the differential constrains
// their children ("Patient.identifier:FNR.system"), slices are created from the sliced element where the
// differential names them, and a renamed choice ("Observation.valueQuantity") constrains "value[x]" to that type.

#include <memory>
#include <string>
#include <vector>

#include "planbro/fhir-model/json.h"
#include "planbro/fhir-model/model_info.h"

namespace planbro::fhir::validation {

/** Merges the given FHIR ElementDefinition JSON (a differential or snapshot element) into `element`. */
void mergeElement(const JsonValue& json, ElementDef& element);

/** Reads a whole snapshot (StructureDefinition.snapshot.element) into elements. */
std::vector<ElementDef> readSnapshot(const JsonValue& elements);

/**
 * Applies `differential` (StructureDefinition.differential.element) to a copy of `base`'s elements. Elements whose
 * path cannot be resolved are skipped with a message in `warnings` (prefixed by `url`).
 */
std::vector<ElementDef> generateSnapshot(const ModelInfo& model, const TypeDef& base, const JsonValue& differential,
                                         const std::string& url, std::vector<std::string>& warnings);

/** Links children to parents by element id (and content references); elements[0] is the root. False when an
 * element has no parent in the list (named in `warnings`). */
bool linkElements(TypeDef& def, std::vector<std::string>& warnings);

}  // namespace planbro::fhir::validation
