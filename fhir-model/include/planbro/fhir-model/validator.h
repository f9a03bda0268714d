#pragma once
// Validation of FHIR R4 JSON against the core definitions (ModelInfo): structure, cardinality, types, primitive
// formats, required bindings, references, narrative XHTML, FHIR's JSON rules, Norwegian identifiers, and the
// definitions' invariants through FHIRPath. Owner of the implementation: fhir-model/src/validation/.

#include <cstddef>
#include <cstdint>
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
  /** At most this many issues are reported; one more issue then says how many were left out (a hostile resource
   * must not make a many-megabyte OperationOutcome). */
  size_t max_issues = 1000;
  /** An issue location longer than this keeps its start and end with the middle elided. */
  size_t max_location_bytes = 512;
};

/**
 * Validates a parsed resource. Thread-safe; keeps no state between calls. Issues carry FHIRPath locations such as
 * "CarePlan.activity[1].detail.status". A tree that breaks `options.json_limits` (depth, string, number, size: it may
 * have been built, not parsed) gets one fatal "too-costly" issue at the first violation and is not walked, so the
 * walk's recursion is bounded by the depth limit.
 */
OperationOutcome validateResource(const JsonValue& resource, const ValidationOptions& options = {});

/** The deepest nesting validateResource walks, whatever `json_limits.max_depth` says (its recursion needs about
 * 1 KB of stack per level). */
inline constexpr uint32_t kMaxValidationDepth = 1024;

/** Parses then validates JSON text; a parse failure is reported as a fatal/error "structure" issue. */
OperationOutcome validateJsonText(std::string text, const ValidationOptions& options = {});

}  // namespace planbro::fhir
