#include "jose_util.h"

#include "jose.h"

#include <array>
#include <cstring>

namespace planbro::gateway::security::detail {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int decodeChar(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

}  // namespace

std::optional<std::string> base64UrlDecode(std::string_view in) {
  if (in.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(in.size() * 3 / 4);
  uint32_t bits = 0;
  int count = 0;
  for (char c : in) {
    int v = decodeChar(c);
    if (v < 0) return std::nullopt;
    bits = (bits << 6) | static_cast<uint32_t>(v);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out += static_cast<char>((bits >> count) & 0xff);
    }
  }
  return out;
}

std::string base64UrlEncode(std::string_view in) {
  std::string out;
  out.reserve((in.size() * 4 + 2) / 3);
  uint32_t bits = 0;
  int count = 0;
  for (unsigned char c : in) {
    bits = (bits << 8) | c;
    count += 8;
    while (count >= 6) {
      count -= 6;
      out += kAlphabet[(bits >> count) & 63];
    }
  }
  if (count > 0) out += kAlphabet[(bits << (6 - count)) & 63];
  return out;
}

JsonPtr parseObject(std::string_view text) {
  json_error_t error;
  // JSON_REJECT_DUPLICATES: a second "alg" or "aud" must not let two readers of one token see two values.
  JsonPtr j(json_loadb(text.data(), text.size(), JSON_REJECT_DUPLICATES, &error));
  if (!j || !json_is_object(j.get())) return nullptr;
  return j;
}

std::optional<std::string_view> stringMember(const json_t* object, const char* name) {
  const json_t* v = json_object_get(object, name);
  if (!json_is_string(v)) return std::nullopt;
  return std::string_view(json_string_value(v), json_string_length(v));
}

std::optional<int64_t> integerMember(const json_t* object, const char* name) {
  const json_t* v = json_object_get(object, name);
  if (json_is_integer(v)) return static_cast<int64_t>(json_integer_value(v));
  if (json_is_real(v)) {
    double d = json_real_value(v);
    if (d >= -9.2e18 && d <= 9.2e18 && static_cast<double>(static_cast<int64_t>(d)) == d) return static_cast<int64_t>(d);
  }
  return std::nullopt;
}

bool verifyJws(std::string_view header_b64, std::string_view payload_b64, std::string_view signature_b64,
               const json_t* jwk) {
  // libjose verifies the flattened JSON serialisation; the compact form maps onto it member for member.
  JsonPtr jws(json_pack("{s:s%,s:s%,s:s%}", "protected", header_b64.data(), header_b64.size(), "payload",
                        payload_b64.data(), payload_b64.size(), "signature", signature_b64.data(),
                        signature_b64.size()));
  if (!jws) return false;
  return jose_jws_ver(nullptr, jws.get(), nullptr, jwk, false);
}

bool publicKeyFits(const json_t* jwk, std::string_view alg) {
  if (!json_is_object(jwk)) return false;
  for (const char* secret : {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}) {
    if (json_object_get(jwk, secret) != nullptr) return false;
  }
  std::optional<std::string_view> kty = stringMember(jwk, "kty");
  if (!kty) return false;
  if (std::optional<std::string_view> key_alg = stringMember(jwk, "alg"); key_alg && *key_alg != alg) return false;
  if (std::optional<std::string_view> use = stringMember(jwk, "use"); use && *use != "sig") return false;
  if (alg == "RS256" || alg == "PS256") {
    if (*kty != "RSA") return false;
    std::optional<std::string_view> n = stringMember(jwk, "n");
    std::optional<std::string_view> e = stringMember(jwk, "e");
    if (!n || !e) return false;
    std::optional<std::string> modulus = base64UrlDecode(*n);
    return modulus && modulus->size() >= 256;  // 2048 bits at least
  }
  if (alg == "ES256") {
    std::optional<std::string_view> crv = stringMember(jwk, "crv");
    return *kty == "EC" && crv && *crv == "P-256" && stringMember(jwk, "x") && stringMember(jwk, "y");
  }
  return false;  // anything else (none, HS*, EdDSA, ...) is never accepted
}

}  // namespace planbro::gateway::security::detail
