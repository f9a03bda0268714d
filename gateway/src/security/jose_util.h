#pragma once
// Internal to the security library: owning jansson handles and base64url helpers around libjose.

#include <jansson.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace planbro::gateway::security::detail {

struct JsonDecref {
  void operator()(json_t* j) const { json_decref(j); }
};
using JsonPtr = std::unique_ptr<json_t, JsonDecref>;

/** Decodes base64url without padding; nullopt on a character outside the alphabet or a bad length. */
std::optional<std::string> base64UrlDecode(std::string_view in);
std::string base64UrlEncode(std::string_view in);

/** Parses a JSON object of at most `max_bytes`; nullptr when it is not one (duplicate keys are refused). */
JsonPtr parseObject(std::string_view text);

/** A string member, or nullopt when absent or not a string. */
std::optional<std::string_view> stringMember(const json_t* object, const char* name);
/** An integer member (a JSON integer or a real with no fraction), or nullopt. */
std::optional<int64_t> integerMember(const json_t* object, const char* name);

/** Verifies the compact JWS `parts` (header, payload, signature; base64url) with `jwk` through libjose. */
bool verifyJws(std::string_view header_b64, std::string_view payload_b64, std::string_view signature_b64,
               const json_t* jwk);

/** Whether `jwk` is a public RSA (≥ 2048 bits) or EC P-256 key usable with `alg`, without private members. */
bool publicKeyFits(const json_t* jwk, std::string_view alg);

}  // namespace planbro::gateway::security::detail
