#pragma once
// The search indexer: turns a resource into the search-index rows the store keeps (docs/search.md). Every R4
// SearchParameter of the resource's type is evaluated with the project's FHIRPath engine; nothing is hand-kept per
// type. Pure functions over the JSON tree: no I/O, thread-safe (compiled expressions are cached process-wide).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
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
/** What `:missing` asks: a parameter is present in a resource that has a row of it of its value kind
 *  (valueKindOf), or else this token row (code "1"), which the indexer writes only when the expression yields
 *  something with no such row (a CodeableConcept with text only, a reference to a contained resource, every
 *  composite). Most present parameters so cost no extra row per write. */
inline constexpr std::string_view kPresentSuffix = ":present";
/** Token rows of Identifier.type codings for `identifier:of-type=type-system|type-code|value`: system = the
 *  coding's system, code = ofTypeCode(coding code, identifier value). */
inline constexpr std::string_view kOfTypeSuffix = ":of-type";

/** A parameter whose evaluation failed and was skipped (the write still succeeds). */
struct IndexIssue {
  std::string param;    // the search parameter code
  std::string message;  // compile or evaluation error
};

struct IndexOptions {
  /** When set, `_lastUpdated` is indexed from this instant (the store's version timestamp) instead of
   *  meta.lastUpdated in the JSON, which the store does not write into the bytes. */
  std::optional<store::Timestamp> last_updated;
  /** The server's own base URL without a trailing slash (ExecutorOptions::own_base_url): absolute references under
   *  it are indexed as the relative references they stand for. Empty: none. */
  std::string own_base_url;
  /** At most this many rows before de-duplication (0: no bound). Beyond it indexResource() stops at once and fails
   *  with kResourceExhausted naming the parameter: a resource of 400,000 distinct names made 1.1 GB of index rows
   *  from a 16 MB body (WriterOptions::max_index_rows, `limits.max_index_rows_per_resource`). */
  size_t max_rows = 0;
};

/**
 * Every index row of `resource` (a JSON object with resourceType). Parameters whose expression fails to compile or
 * evaluate are skipped, logged, and reported in `issues` when given. Errors: kInvalidArgument when `resource` has
 * no known resourceType; kResourceExhausted when it yields more than `options.max_rows` rows. Thread-safe.
 */
Result<std::vector<store::IndexRow>> indexResource(const fhir::JsonValue& resource,
                                                   std::vector<IndexIssue>* issues = nullptr,
                                                   const IndexOptions& options = {});

/** The rows of one parameter of `resource` (for _include, _has and sort keys); empty for an unknown code. */
Result<std::vector<store::IndexRow>> indexParameter(const fhir::JsonValue& resource, std::string_view code,
                                                    std::vector<IndexIssue>* issues = nullptr);

/** The kind of the rows a parameter of `type` stores under its own code (string, token, date, reference, number
 *  for number and quantity, uri); nullopt for composite and special parameters, whose rows have other names. */
std::optional<store::IndexValueKind> valueKindOf(fhir::SearchParamType type);

/** The search parameters of `type`, one per code (duplicate definitions such as the spec's `example` _id dropped),
 *  sorted by code: the ones it is indexed and searchable by. That is every R4 parameter of the type, except for
 *  AuditEvent, which is indexed by the IHE BALP / ATNA parameters only (docs/search.md). Empty for an unknown type.
 *  The reference stays valid for the process lifetime. */
const std::vector<const fhir::SearchParamDef*>& searchParamsFor(std::string_view type);
/** True when R4 defines `code` for `type` but the type is not indexed by it (searchParamsFor): a search by it is
 *  refused rather than answered from rows that were never written. */
bool definedButNotIndexed(std::string_view type, std::string_view code);
/** One parameter of `type` by code, or nullptr. */
const fhir::SearchParamDef* findSearchParam(std::string_view type, std::string_view code);

/**
 * The string-search normalisation, applied to indexed text and to query values alike: Unicode letters are
 * lower-cased (ASCII, Latin-1, Latin Extended-A), accents are stripped (é→e, ü→u, č→c, combining marks removed),
 * but the Norwegian letters æ, ø and å stay letters of their own (Å→å; "a" + combining ring is composed to å).
 * Whitespace runs collapse to one space; leading/trailing space is dropped.
 */
std::string normalizeString(std::string_view text);

/** The token code of an `:of-type` row: the type code ('|' and '\\' escaped with '\\'), '|', the value. */
std::string ofTypeCode(std::string_view type_code, std::string_view value);

/** The system a token row and a token query use for `system`: the OID of a Norwegian identifier named by an alias
 *  (`http://hl7.no/fhir/NamingSystem/FNR` → `urn:oid:2.16.578.1.12.4.1.4.1`), else `system` itself. */
std::string_view canonicalTokenSystem(std::string_view system);

/** {type, id} of an absolute reference `base/Type/id[/_history/n]` when `base` (no trailing slash) is not empty
 *  and Type is a resource type; nullopt otherwise. */
std::optional<std::pair<std::string, std::string>> relativeToBase(std::string_view url, std::string_view base);

/** What a Reference.reference string (not on the server's own base: see relativeToBase) indexes as, the one rule
 *  every reference row follows: empty or `#local` (contained resources are not searchable on their own), or
 *  `Type/id` with an empty part: no row (kNone); an absolute URL, a `urn:` or any shape other than
 *  `Type/id[/_history/n]`: a text row of the whole string (kText); else a typed row of `type` and `id` (kTyped),
 *  the version cut off. The views point into `ref`. */
struct ReferenceRowShape {
  enum class Kind { kNone, kText, kTyped };
  Kind kind = Kind::kNone;
  std::string_view type, id;
};
ReferenceRowShape referenceRowShape(std::string_view ref);

/** The row parameter of a composite (`code-value-quantity`) whose first component has the key `key`
 *  (compositeKeys): "<code>$<key>". The second component's rows are stored under it, its derived suffixes kept. */
std::string compositeParam(std::string_view code, std::string_view key);
/** The keys a first-component row is found by: a token (s, c) by "c" and by "s|c" (or "|c" without a system); a
 *  reference by "Type/id" and "id", or its text. '|', '$' and '\\' inside values are escaped with '\\'. */
std::vector<std::string> compositeKeys(const store::IndexRow& first_component_row);

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
