#pragma once
// Base64 (RFC 4648) for FHIR base64Binary, Binary.data and FHIRPath encode()/decode().

#include <optional>
#include <string>
#include <string_view>

namespace planbro::fhir {

/** Encodes `in`; `url_safe` uses the URL alphabet ('-', '_'). Always padded with '='. */
std::string base64Encode(std::string_view in, bool url_safe = false);

/** Decodes either alphabet. Whitespace is skipped (FHIR's base64Binary allows it) and decoding stops at the first
 * '='. nullopt when any other character appears. */
std::optional<std::string> base64Decode(std::string_view in);

}  // namespace planbro::fhir
