#pragma once
// Signing keys made at test time with OpenSSL (never checked in), their JWKs, and compact JWS signed with libjose:
// what an issuer (HelseID) and a DPoP client would send.

#include <gtest/gtest.h>
#include <jansson.h>
#include <openssl/evp.h>
extern "C" {  // libjose's headers lack it
#include <jose/jose.h>
#include <jose/openssl.h>
}
#include <openssl/hmac.h>
#include <openssl/rsa.h>

#include <memory>
#include <string>
#include <vector>

#include "planbro/gateway/security/token_validator.h"

namespace planbro::gateway::security::testing {

struct JsonFree {
  void operator()(json_t* j) const { json_decref(j); }
};
using Json = std::unique_ptr<json_t, JsonFree>;

inline std::string b64url(std::string_view s) {
  Json enc(jose_b64_enc(s.data(), s.size()));
  return json_string_value(enc.get());
}

inline std::string dump(const json_t* j) {
  char* text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
  std::string out(text);
  free(text);
  return out;
}

inline Json parse(const std::string& text) {
  json_error_t error;
  Json j(json_loads(text.c_str(), 0, &error));
  EXPECT_TRUE(j) << text;
  return j;
}

/** A private key with its JWK (private and public halves). */
struct TestKey {
  std::string alg;
  std::string kid;
  Json jwk;         // private
  Json public_jwk;  // kid and alg set

  std::string publicJson() const { return dump(public_jwk.get()); }
  std::string thumbprint() const {
    Json t(jose_jwk_thp(nullptr, public_jwk.get(), "S256"));
    return json_string_value(t.get());
  }
};

inline TestKey makeKey(const std::string& alg, const std::string& kid) {
  EVP_PKEY* pkey = alg == "ES256" ? EVP_EC_gen("P-256") : EVP_RSA_gen(2048);
  EXPECT_NE(pkey, nullptr);
  TestKey k;
  k.alg = alg;
  k.kid = kid;
  k.jwk.reset(jose_openssl_jwk_from_EVP_PKEY(nullptr, pkey));
  EVP_PKEY_free(pkey);
  EXPECT_TRUE(k.jwk);
  json_object_set_new(k.jwk.get(), "alg", json_string(alg.c_str()));
  k.public_jwk.reset(json_deep_copy(k.jwk.get()));
  jose_jwk_pub(nullptr, k.public_jwk.get());
  json_object_set_new(k.public_jwk.get(), "kid", json_string(kid.c_str()));
  json_object_set_new(k.public_jwk.get(), "use", json_string("sig"));
  return k;
}

inline std::string jwksJson(const std::vector<const TestKey*>& keys) {
  std::string out = "{\"keys\":[";
  for (size_t i = 0; i < keys.size(); ++i) out += (i ? "," : "") + keys[i]->publicJson();
  return out + "]}";
}

/** A compact JWS over `payload` with the protected header `header` (JSON), signed by `key` through libjose. */
inline std::string signCompact(const TestKey& key, const std::string& header, const std::string& payload) {
  const std::string p64 = b64url(payload);
  Json jws(json_pack("{s:s}", "payload", p64.c_str()));
  Json sig(json_pack("{s:o}", "protected", parse(header).release()));
  EXPECT_TRUE(jose_jws_sig(nullptr, jws.get(), sig.get(), key.jwk.get()));
  std::string protected64 = json_string_value(json_object_get(jws.get(), "protected"));
  std::string signature = json_string_value(json_object_get(jws.get(), "signature"));
  return protected64 + "." + p64 + "." + signature;
}

/** An HS256 token keyed with `secret` (the algorithm-confusion attack: the RSA public key used as HMAC secret). */
inline std::string signHmac(const std::string& secret, const std::string& header, const std::string& payload) {
  std::string input = b64url(header) + "." + b64url(payload);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &length);
  return input + "." + b64url(std::string(reinterpret_cast<char*>(mac), length));
}

inline constexpr int64_t kNow = 1'800'000'000;  // the tests' fixed clock
inline constexpr const char* kIssuer = "https://helseid-sts.test.nhn.no";
inline constexpr const char* kAudience = "nhn:planbro";

/** Claims of a practitioner's access token (HPR number, organisation, level 4), with `extra` members merged. */
inline std::string practitionerClaims(const std::string& scope, const std::string& extra = "") {
  return std::string("{\"iss\":\"") + kIssuer + "\",\"aud\":\"" + kAudience + "\",\"sub\":\"practitioner-1\"," +
         "\"client_id\":\"ehr-client\",\"scope\":\"" + scope + "\",\"jti\":\"tok-1\",\"iat\":" +
         std::to_string(kNow - 10) + ",\"exp\":" + std::to_string(kNow + 300) +
         ",\"helseid://claims/hpr/hpr_number\":\"565501872\",\"helseid://claims/identity/security_level\":\"4\"," +
         "\"helseid://claims/client/claims/orgnr_parent\":\"974589095\"" + (extra.empty() ? "" : "," + extra) + "}";
}

inline std::string tokenHeader(const TestKey& key) {
  return "{\"alg\":\"" + key.alg + "\",\"typ\":\"at+jwt\",\"kid\":\"" + key.kid + "\"}";
}

/** A DPoP proof for `method` on `htu`, signed by `key`, binding `access_token` (ath) when non-empty. */
inline std::string dpopProof(const TestKey& key, const std::string& method, const std::string& htu,
                             const std::string& access_token, int64_t iat, const std::string& jti,
                             const std::string& nonce = "") {
  std::string header = "{\"typ\":\"dpop+jwt\",\"alg\":\"" + key.alg + "\",\"jwk\":" + key.publicJson() + "}";
  std::string payload = "{\"jti\":\"" + jti + "\",\"htm\":\"" + method + "\",\"htu\":\"" + htu +
                        "\",\"iat\":" + std::to_string(iat);
  if (!access_token.empty()) payload += ",\"ath\":\"" + sha256Base64Url(access_token) + "\"";
  if (!nonce.empty()) payload += ",\"nonce\":\"" + nonce + "\"";
  return signCompact(key, header, payload + "}");
}

}  // namespace planbro::gateway::security::testing
