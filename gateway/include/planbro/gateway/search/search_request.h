#pragma once
// Parsing FHIR search parameters (GET query strings and POST _search form bodies) into a SearchRequest the
// SearchExecutor runs over the store's index (docs/search.md lists what is supported and what is not).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "planbro/fhir-model/model_info.h"
#include "planbro/fhir-model/status.h"
#include "planbro/gateway/store/resource_store.h"

namespace planbro::gateway::search {

using QueryParams = std::vector<std::pair<std::string, std::string>>;

/** `Prefer: handling=`: strict (the default) rejects unknown or unsupported parameters, lenient drops them with a
 *  warning. */
enum class Handling { kStrict, kLenient };
enum class SummaryMode { kNone, kTrue, kFalse, kCount, kData, kText };
enum class TotalMode { kNone, kEstimate, kAccurate };

struct Criterion;

/** `subject:Patient.identifier=…`: the searched type's reference parameter must point at a resource of one of the
 *  target types that matches the target predicates. */
struct ChainTarget {
  std::string type;                                // "Patient"
  std::vector<store::IndexPredicate> any_of;       // on `type`, OR-ed; empty when `nested` holds the condition
  std::vector<Criterion> nested;                   // a further chain level (`subject.organization.name`), AND-ed
};
struct Chain {
  std::string reference_param;                     // "subject"
  std::vector<ChainTarget> targets;
};

/** `_has:Observation:patient:code=1234`: some Observation whose `patient` references the match and whose `code`
 *  matches. */
struct ReverseChain {
  std::string source_type;                         // "Observation"
  std::string reference_param;                     // "patient"
  std::vector<store::IndexPredicate> any_of;       // on source_type, OR-ed; empty when `nested` holds the condition
  std::vector<Criterion> nested;                   // a nested `_has` on source_type, AND-ed
};

/** One AND-ed condition: exactly one of direct predicates (OR-ed), a chain, or a reverse chain. */
struct Criterion {
  std::string name;                                // the parameter as written, e.g. "subject:Patient.identifier"
  std::vector<store::IndexPredicate> any_of;
  std::optional<Chain> chain;
  std::optional<ReverseChain> has;
};

/** `_include=CarePlan:care-team[:CareTeam]`, `_revinclude=Provenance:target`, with `:iterate`. */
struct Include {
  std::string source_type;                         // the type that holds the reference parameter
  std::string param;                               // reference parameter code, or "*" (every reference parameter)
  std::optional<std::string> target_type;
  bool iterate = false;
};

struct SortKey {
  std::string param;                               // "_lastUpdated", "_id", "date", "name", ...
  bool descending = false;
};

inline constexpr size_t kDefaultPageSize = 20;

struct SearchRequest {
  std::string type;
  std::vector<Criterion> criteria;                 // AND
  size_t count = kDefaultPageSize;                 // bounded to 1..store::kMaxPageSize
  std::vector<SortKey> sort;
  std::vector<Include> includes;
  std::vector<Include> revincludes;
  SummaryMode summary = SummaryMode::kNone;
  std::vector<std::string> elements;               // _elements, passed through for the REST layer
  TotalMode total = TotalMode::kNone;
  std::optional<std::string> format;               // _format, passed through
  std::optional<std::string> pretty;               // _pretty, passed through
  std::optional<std::string> cursor;               // _cursor: the page token of a next/prev link
  /** Lenient handling: one message per dropped parameter, for an OperationOutcome warning in the Bundle. */
  std::vector<std::string> warnings;
  /** The accepted parameters in the order given, without _cursor: base for self/next/prev links. */
  QueryParams link_params;
};

struct ParseOptions {
  Handling handling = Handling::kStrict;
  size_t default_count = kDefaultPageSize;
  size_t max_count = store::kMaxPageSize;          // larger _count values are clamped to this
  size_t max_parameters = 100;                     // parameters in one search (more: kInvalidArgument)
  size_t max_or_values = 1000;                     // comma-separated values of one parameter (more: kInvalidArgument)
  size_t max_chain_depth = 3;                      // levels of a chain (`a.b.c`) or of nested `_has`
  /** "now" for the `ap` date prefix; the system clock when unset. */
  std::optional<store::Timestamp> now;
};

/**
 * Parses decoded search parameters for `type`. Errors: kInvalidArgument naming the parameter (ready for an
 * OperationOutcome) for an unknown type, a malformed value, or — under strict handling — an unknown or unsupported
 * parameter or modifier. Under lenient handling those are dropped and listed in SearchRequest::warnings; a malformed
 * value of a known parameter is still an error (never a silently unfiltered result). Control characters (U+0000 to
 * U+001F, U+007F) in a name or value, more than max_parameters parameters, more than max_or_values values of one
 * parameter or a chain deeper than max_chain_depth are kInvalidArgument under either handling.
 */
Result<SearchRequest> parseSearch(std::string_view type, const QueryParams& params, Handling handling);
Result<SearchRequest> parseSearch(std::string_view type, const QueryParams& params, const ParseOptions& options);

/** Whether parseSearch accepts `p` as a search parameter of `type` (for the CapabilityStatement): every parameter
 *  with an expression, except special ones and composites other than two components with a token or reference
 *  first. */
bool isSupportedSearchParam(std::string_view type, const fhir::SearchParamDef& p);

/**
 * Splits and percent-decodes a query string or an application/x-www-form-urlencoded body ("a=1&b=x%7Cy").
 * With `form`, '+' decodes as a space (HTML forms); in a URL query it is kept (FHIR servers see '+' in dates' time
 * zones). Errors: kInvalidArgument for a bad percent escape or invalid UTF-8.
 */
Result<QueryParams> decodeQuery(std::string_view text, bool form);

/** One percent-encoded component (a query name or value, a path segment) decoded as decodeQuery decodes it: the one
 *  decoder of the REST layer. kInvalidArgument for a bad escape or invalid UTF-8. */
Result<std::string> percentDecode(std::string_view s, bool form);

/** The value of `_summary` (true, false, count, data, text); kInvalidArgument naming the allowed values. The one
 *  parser of it, for searches and for reads, history and operations alike. */
Result<SummaryMode> parseSummaryParam(std::string_view value);

/** The value of `_elements`: the comma-separated element names, FHIR escapes (`\,`) removed, each trimmed of spaces,
 *  empty ones dropped. The one parser of it, for searches and reads alike. */
std::vector<std::string> parseElementsParam(std::string_view value);

/**
 * Percent-encodes parameters as a query string: every byte but ASCII letters, digits, '-', '.', '_', '~' and the
 * characters in `also_kept` becomes %XX.
 */
std::string encodeQueryKeeping(const QueryParams& params, std::string_view also_kept);

/** encodeQueryKeeping(params, ":|,/"): the canonical text of a conditional request's parameters. Its output is a
 *  stored business key (If-None-Exist) and the plaintext of page tokens: it must not change. */
std::string encodeQuery(const QueryParams& params);

}  // namespace planbro::gateway::search
