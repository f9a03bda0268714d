#pragma once
// Internal to the MSH transport: one bounded HTTPS exchange over libcurl (TLS verified, timeouts, the answer's
// size capped while it arrives), the jansson handles, and base64 for business documents.

#include <jansson.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "planbro/fhir-model/status.h"

namespace planbro::adapters::plo::detail {

struct HttpCall {
  std::string method;  // GET, POST, PUT
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::string body;
  std::string ca_file;  // empty: the system trust store
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds timeout{30000};
  size_t max_response_bytes = 1 << 20;
};

struct HttpAnswer {
  long status = 0;
  std::string body;
  std::string dpop_nonce;        // the DPoP-Nonce header, when sent
  std::string www_authenticate;  // the WWW-Authenticate header, when sent
};

/** Errors: kUnavailable (connect, TLS, timeout: the caller may retry), kResourceExhausted (the answer was larger
 *  than max_response_bytes; the transfer is cut). An HTTP error status is an answer, not an error. */
Result<HttpAnswer> exchange(const HttpCall& call);

/** Whether `status` is worth another try (the server was overloaded or failed in passing). */
inline bool retryableStatus(long status) { return status == 429 || status == 502 || status == 503 || status == 504; }

struct JsonDecref {
  void operator()(json_t* j) const { json_decref(j); }
};
using JsonPtr = std::unique_ptr<json_t, JsonDecref>;

/** Parses JSON text (any value); nullptr when it is not JSON. */
JsonPtr parseJson(std::string_view text);
std::string dumpJson(const json_t* value);
std::string stringMember(const json_t* object, const char* name);
int64_t integerMember(const json_t* object, const char* name, int64_t otherwise = 0);

std::string base64Encode(std::string_view bytes);
/** Standard base64 (padding optional, line breaks ignored); kInvalidArgument on anything else. */
Result<std::string> base64Decode(std::string_view text);
std::string base64UrlEncode(std::string_view bytes);
std::string base64UrlDecode(std::string_view text);  // "" on a bad input

/** Percent-encodes a URL component (RFC 3986 unreserved kept). */
std::string urlEncode(std::string_view text);

}  // namespace planbro::adapters::plo::detail
