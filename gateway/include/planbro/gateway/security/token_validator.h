#pragma once
// Validates a JWT access token (RFC 7519, RFC 9068) from HelseID: the JWS signature with libjose over OpenSSL
// (RS256, PS256, ES256 — only those configured; `none` and HMAC never), `iss`, `aud`, `exp`, `nbf`, `iat` with a
// bounded clock skew, and turns the HelseID claims into a Principal. Validated tokens are cached (by the token's
// own bytes, compared in constant time) until `exp`, so a client that reuses its token pays one signature check and
// one Principal, not one per request: every request with that token shares the cached, read-only Principal. The
// cache is bounded by entries and by bytes; only tokens whose signature verified ever enter it. Tokens are never
// logged, and error messages never quote them.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "planbro/fhir-model/status.h"
#include "planbro/gateway/security/jwks.h"
#include "planbro/gateway/security/principal.h"

namespace planbro::gateway::security {

/** Seconds since the epoch; replaceable in tests. */
using Clock = std::function<int64_t()>;
int64_t systemNow();

struct TokenValidatorOptions {
  std::string issuer;
  std::string audience;
  std::vector<std::string> algorithms = {"RS256", "PS256", "ES256"};
  int64_t clock_skew_s = 30;
  size_t max_token_bytes = 16384;
  int min_security_level = 4;               // for tokens naming a person (pid or HPR number)
  std::vector<std::string> trusted_clients;  // Principal::trusted_client
  size_t cache_entries = 10000;              // 0: no cache
  size_t cache_bytes = 16 << 20;             // auth.token_cache_mb: bytes of cached tokens (and their Principals)
  Clock clock = systemNow;
};

class TokenValidator {
 public:
  TokenValidator(TokenValidatorOptions options, std::shared_ptr<KeySource> keys);
  ~TokenValidator();

  /** The Principal the token speaks for. Errors: kUnauthenticated with a reason fit for error_description
   *  (never the token). May block when the key source may (an unknown kid refetches the JWKS). */
  Result<Principal> validate(std::string_view token) const;
  /** The same, as the shared Principal the cache holds (no copy): what the authentication filter uses. */
  Result<std::shared_ptr<const Principal>> validateShared(std::string_view token) const;

  /** Signature checks done (cache misses that reached libjose); for the cost bench and tests. */
  uint64_t signatureChecks() const;
  /** Tokens cached now, and the bytes they are counted at (tests of the bounds). */
  size_t cachedTokens() const;
  size_t cachedBytes() const;

  bool mayBlock() const { return keys_->mayBlock(); }
  const TokenValidatorOptions& options() const { return options_; }

 private:
  struct Cache;
  TokenValidatorOptions options_;
  std::shared_ptr<KeySource> keys_;
  std::unique_ptr<Cache> cache_;
};

/** Splits a compact JWS into its three base64url parts and checks their alphabet (shared by tokens and proofs). */
Status splitCompactJws(std::string_view jws, std::string_view parts[3]);

/** base64url (no padding) of the SHA-256 of `data`: the DPoP `ath`, thumbprints, cache keys. */
std::string sha256Base64Url(std::string_view data);

}  // namespace planbro::gateway::security
