#pragma once
// The XHTML rules of Narrative.div (FHIR R4 §2.4 "Narrative", invariants txt-1 and txt-2): a well-formed <div> in
// the XHTML namespace, only the basic HTML formatting elements and attributes, no scripts, event handlers or
// javascript: links, no DTD or entities, and some non-whitespace content. Plain narratives are decided by a one-pass
// scanner; everything else by libxml2 (network off, no entity expansion), which is the authority. Thread-safe.

#include <cstddef>
#include <string>
#include <vector>
#include <string_view>

namespace planbro::fhir::validation {

struct NarrativeProblem {
  bool is_error = true;  // false: a warning
  std::string message;
};

/** Checks one Narrative.div value; returns the problems found (empty when the XHTML is acceptable). Decides plain
 *  narratives with isPlainAcceptableXhtml and everything else with checkNarrativeXhtmlWithLibxml2. */
std::vector<NarrativeProblem> checkNarrativeXhtml(std::string_view div);

/** The authority: the same check, always through libxml2's SAX parser. */
std::vector<NarrativeProblem> checkNarrativeXhtmlWithLibxml2(std::string_view div);

/** Inputs above this size always go to libxml2. */
inline constexpr size_t kMaxPlainScanBytes = size_t{1} << 20;

/** A one-pass scanner for the plain XHTML nearly all narratives are. True only when checkNarrativeXhtmlWithLibxml2
 *  would return no problem; false when it found a problem or met anything outside its grammar (comments, CDATA,
 *  prefixed names, entities other than the predefined ones, C0/C1 controls, nesting deeper than 64, ...). Never
 *  allocates. */
bool isPlainAcceptableXhtml(std::string_view div);

}  // namespace planbro::fhir::validation
