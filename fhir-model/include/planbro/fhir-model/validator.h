#pragma once
// Validation of FHIR R4 JSON against the core definitions (ModelInfo): structure, cardinality, types, primitive
// formats, required bindings, references, narrative XHTML, FHIR's JSON rules, Norwegian identifiers, and the
// definitions' invariants through FHIRPath. Owner of the implementation: fhir-model/src/validation/.

#include <string>
#include <string_view>

#include "planbro/fhir-model/json.h"
#include "planbro/fhir-model/operation_outcome.h"

namespace planbro::fhir {

struct ValidationOptions {
  JsonLimits json_limits;
  bool check_invariants = true;        // FHIRPath constraint.expression
  bool check_narrative = true;         // XHTML rules of Narrative.div
  bool check_norwegian_identifiers = true;
  /** Reject markdown that contains what looks like an embedded HTML tag (the reference validator's
   * "noHtmlInMarkdown" mode). Off by default: FHIR markdown may legally carry such text. */
  bool markdown_no_html = false;
};

/**
 * Validates a parsed resource. Thread-safe; keeps no state between calls. Issues carry FHIRPath locations such as
 * "CarePlan.activity[1].detail.status".
 */
OperationOutcome validateResource(const JsonValue& resource, const ValidationOptions& options = {});

/** Parses then validates JSON text; a parse failure is reported as a fatal/error "structure" issue. */
OperationOutcome validateJsonText(std::string text, const ValidationOptions& options = {});

}  // namespace planbro::fhir
