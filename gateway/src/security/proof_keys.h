#pragma once
// The DPoP proof keys already seen, imported once (internal to the security library). A client signs every proof
// with the same key, so importing its `jwk` into OpenSSL (with the point checks) and computing its RFC 7638
// thumbprint once, then verifying each proof with one EVP_DigestVerify, makes a proof check cost one ES256
// verification plus parsing — instead of an import, a JSON wrapping and a thumbprint per proof through libjose.
// ES256 only (HelseID's DPoP algorithm); other algorithms keep the libjose path. Bounded; thread-safe.

#include <jansson.h>
#include <openssl/evp.h>

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace planbro::gateway::security::detail {

struct ProofKey {
  std::shared_ptr<EVP_PKEY> key;
  std::string thumbprint;  // RFC 7638, SHA-256, base64url
};

class ProofKeyCache {
 public:
  explicit ProofKeyCache(size_t max_entries = 10000) : max_entries_(max_entries) {}
  /** The imported EC P-256 public key of `jwk` (already checked by publicKeyFits for ES256), or null when its
   *  coordinates are not a point of the curve. */
  std::shared_ptr<const ProofKey> es256(const json_t* jwk);

 private:
  size_t max_entries_;
  std::mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<const ProofKey>> keys_;  // by "x.y"
};

/** Whether `signature_b64` (JWS ES256: base64url of r‖s, 64 bytes) signs `signing_input` under `key`. */
bool verifyEs256(EVP_PKEY* key, std::string_view signing_input, std::string_view signature_b64);

}  // namespace planbro::gateway::security::detail
