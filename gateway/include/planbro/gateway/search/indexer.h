#pragma once
// The search indexer: turns a resource into the search-index rows the store keeps (docs/search.md). Every R4
// SearchParameter of the resource's type is evaluated with the project's FHIRPath engine; nothing is hand-kept per
// type. Pure functions over the JSON tree: no I/O, thread-safe (compiled expressions are cached process-wide).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "planbro/fhir-model/json.h"
#include "planbro/fhir-model/model_info.h"
#include "planbro/fhir-model/status.h"
#include "planbro/gateway/store/resource_store.h"

namespace planbro::gateway::search {

// Row parameter names the indexer derives from a parameter code (search parameter codes never contain ':').
/** Token rows of Reference.identifier, for `param:identifier=system|value`. */
inline constexpr std::string_view kIdentifierSuffix = ":identifier";
/** Raw (not normalised) string rows, for `param:exact=`. */
inline constexpr std::string_view kExactSuffix = ":exact";
/** Normalised string rows of CodeableConcept.text and Coding.display, for token `param:text=`. */
inline constexpr std::string_view kTextSuffix = ":text";
/** Token rows (system = Quantity.system, code = Quantity.code or unit) beside a quantity's number row. */
inline constexpr std::string_view kUnitSuffix = ":unit";
/** One token row (code "1") per reference parameter that has any value: `:missing` for references, which the
 *  store's reference predicate cannot express as "any value". */
inline constexpr std::string_view kPresentSuffix = ":present";

/** A parameter whose evaluation failed and was skipped (the write still succeeds). */
struct IndexIssue {
  std::string param;    // the search parameter code
  std::string message;  // compile or evaluation error
};

struct IndexOptions {
  /** When set, `_lastUpdated` is indexed from this instant (the store's version timestamp) instead of
   *  meta.lastUpdated in the JSON, which the store does not write into the bytes. */
  std::optional<store::Timestamp> last_updated;
};

/**
 * Every index row of `resource` (a JSON object with resourceType). Parameters whose expression fails to compile or
 * evaluate are skipped, logged, and reported in `issues` when given. Errors: kInvalidArgument when `resource` has
 * no known resourceType. Thread-safe.
 */
Result<std::vector<store::IndexRow>> indexResource(const fhir::JsonValue& resource,
                                                   std::vector<IndexIssue>* issues = nullptr,
                                                   const IndexOptions& options = {});

/** The rows of one parameter of `resource` (for _include, _has and sort keys); empty for an unknown code. */
Result<std::vector<store::IndexRow>> indexParameter(const fhir::JsonValue& resource, std::string_view code,
                                                    std::vector<IndexIssue>* issues = nullptr);

/** The search parameters of `type`, one per code (duplicate definitions such as the spec's `example` _id dropped),
 *  sorted by code. Empty for an unknown type. The reference stays valid for the process lifetime. */
const std::vector<const fhir::SearchParamDef*>& searchParamsFor(std::string_view type);
/** One parameter of `type` by code, or nullptr. */
const fhir::SearchParamDef* findSearchParam(std::string_view type, std::string_view code);

/**
 * The string-search normalisation, applied to indexed text and to query values alike: Unicode letters are
 * lower-cased (ASCII, Latin-1, Latin Extended-A), accents are stripped (é→e, ü→u, č→c, combining marks removed),
 * but the Norwegian letters æ, ø and å stay letters of their own (Å→å; "a" + combining ring is composed to å).
 * Whitespace runs collapse to one space; leading/trailing space is dropped.
 */
std::string normalizeString(std::string_view text);

/** An inclusive range of microseconds since the epoch, UTC. */
struct DateRange {
  int64_t low = 0;
  int64_t high = 0;
};

/**
 * The range a FHIR date, dateTime or instant covers at its precision: "2026" → the whole year, "2026-03" → the
 * month, "2026-03-05T10:00:00+01:00" → that second. A dateTime without a timezone is read as UTC. nullopt when the
 * text is not such a value.
 */
std::optional<DateRange> parseDateRange(std::string_view text);

}  // namespace planbro::gateway::search
