#pragma once
// Internal helpers of the REST layer: time formats, ETags, resource output with meta, _summary/_elements.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "planbro/fhir-model/json.h"
#include "planbro/gateway/search/search_request.h"
#include "planbro/gateway/store/resource_store.h"
#include "planbro/gateway/store/time_format.h"

namespace planbro::gateway::rest::detail {

using store::formatHttpDate;  // store/time_format.h
using store::formatInstant;
/** Parses an HTTP-date (IMF-fixdate); nullopt when malformed. */
std::optional<store::Timestamp> parseHttpDate(std::string_view text);
/** `W/"3"`. */
std::string etagFor(int64_t version);
/** The version in an ETag (`W/"3"`, `"3"` or `3`); nullopt when malformed. */
std::optional<int64_t> parseEtag(std::string_view text);

/** What the client asked to see of each resource. */
struct Presentation {
  search::SummaryMode summary = search::SummaryMode::kNone;
  std::vector<std::string> elements;
  bool subsetting() const {
    return !elements.empty() || (summary != search::SummaryMode::kNone && summary != search::SummaryMode::kFalse);
  }
};

/**
 * The stored JSON of `v` with meta.versionId and meta.lastUpdated inserted (compact JSON, definition order), with
 * `presentation` applied. The fast path splices text; anything unusual is parsed and rebuilt.
 */
std::string renderResource(const store::ResourceVersion& v, const Presentation& presentation = {});

/** Applies _summary / _elements to a parsed resource (adding the SUBSETTED tag). */
fhir::JsonValue applyPresentation(fhir::JsonDocument& doc, const fhir::JsonValue& resource,
                                  const Presentation& presentation);

/**
 * The query string of a link the gateway generates (self, next, previous, history pages): every name and value
 * percent-encoded per RFC 3986 §3.4, leaving only unreserved characters and ':', '/', ',' and '@' as they are, so
 * strict URI parsers (Java's java.net.URI) accept it and search::decodeQuery gives back exactly `params`. Unlike
 * search::encodeQuery, which keeps '|' (and whose output is a stored key: it must not change).
 */
std::string encodeLinkQuery(const search::QueryParams& params);

/** Appends `s` as a JSON string literal. */
void appendJsonString(std::string& out, std::string_view s);

/** What a CapabilityStatement lists beyond the R4 tables: the loaded profiles and the registered operations. */
struct CapabilityExtras {
  std::map<std::string, std::vector<std::string>, std::less<>> supported_profiles;  // per resource type
  struct OperationEntry {
    std::string name;        // without '$'
    std::string definition;  // canonical URL of its OperationDefinition
    std::string type;        // empty: system level
  };
  std::vector<OperationEntry> operations;
  std::vector<std::string> read_only_types;  // served read-only (read, search-type)
};
/** The CapabilityStatement (compact JSON) for what the REST layer supports, with `extras`, dated `date` (built on
 *  every call; the handler builds its own once, at construction, dated by its injected clock). */
std::string capabilityStatementJson(const CapabilityExtras& extras, store::Timestamp date);

}  // namespace planbro::gateway::rest::detail
