#pragma once
// The XHTML rules of Narrative.div (FHIR R4 §2.4 "Narrative", invariants txt-1 and txt-2): a well-formed <div> in
// the XHTML namespace, only the basic HTML formatting elements and attributes, no scripts, event handlers or
// javascript: links, no DTD or entities, and some non-whitespace content. Parsed with libxml2, network off, no
// entity expansion. Thread-safe.

#include <string>
#include <vector>
#include <string_view>

namespace planbro::fhir::validation {

struct NarrativeProblem {
  bool is_error = true;  // false: a warning
  std::string message;
};

/** Checks one Narrative.div value; returns the problems found (empty when the XHTML is acceptable). */
std::vector<NarrativeProblem> checkNarrativeXhtml(std::string_view div);

}  // namespace planbro::fhir::validation
