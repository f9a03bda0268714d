#pragma once
// _summary and _elements for search results (R4 search.html#summary, #elements): which top-level elements of a
// resource go into a Bundle entry. Pure functions; thread-safe.

#include <string>
#include <string_view>
#include <vector>

#include "planbro/fhir-model/status.h"
#include "planbro/gateway/search/search_request.h"

namespace planbro::gateway::search {

/**
 * The resource JSON as a search entry should carry it:
 *   `elements` non-empty: those top-level elements plus resourceType, id and meta (it wins over `summary`);
 *   kTrue: the elements the R4 definition marks as summary (isSummary), plus id and meta;
 *   kText: text, id, meta and the mandatory (min ≥ 1) top-level elements;
 *   kData: everything but text;
 *   kNone / kFalse / kCount: unchanged (returned as given).
 * When anything was removed, meta.tag gets the SUBSETTED code (http://terminology.hl7.org/CodeSystem/v3-ObservationValue).
 * A primitive's `_name` twin follows its element. Errors: kInvalidArgument when `json` is not a resource object.
 */
Result<std::string> shapeResource(std::string_view json, SummaryMode summary, const std::vector<std::string>& elements);

}  // namespace planbro::gateway::search
