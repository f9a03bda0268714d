#pragma once
// Development mode (auth.mode: development, loopback only): a local ES256 signing key generated into the data
// directory (mode 0600), and the minting of test tokens and DPoP proofs with it for `planbro token`. The server in
// development mode trusts exactly this key, with issuer and audience "planbro-dev". Never for production: the
// server refuses the mode on a network address, and `planbro token` refuses a configuration that listens on one.

#include <cstdint>
#include <memory>
#include <string>

#include "planbro/fhir-model/status.h"
#include "planbro/gateway/security/jwks.h"

namespace planbro::gateway::security {

inline constexpr const char* kDevIssuer = "planbro-dev";
inline constexpr const char* kDevAudience = "planbro-dev";
inline constexpr const char* kDevKeyFile = "dev-signing-key.jwk";

/** The private key as a JWK (JSON text). */
struct DevKey {
  std::string private_jwk;
};

/** Reads `path`, or creates it (0600, a fresh P-256 key) when absent. Errors: unreadable, not a private EC JWK,
 *  readable by group or others. */
Result<DevKey> loadOrCreateDevKey(const std::string& path);
/** The JWKS of the key's public half (kid "planbro-dev"). */
Result<std::shared_ptr<const Jwks>> devJwks(const DevKey& key);

struct MintRequest {
  std::string kind = "practitioner";  // practitioner | patient | system
  std::string hpr_number;             // practitioner
  std::string pid;                    // patient
  std::string organization_number;    // orgnr_parent (practitioner and system)
  std::string scope = "user/*.rs";
  std::string client_id = "planbro-dev-client";
  std::string issuer = kDevIssuer;
  std::string audience = kDevAudience;
  int64_t lifetime_s = 3600;
  std::string dpop_jkt;  // bind to this DPoP key thumbprint (cnf.jkt); "" = a Bearer token
  int64_t now = 0;       // 0: the system clock
};

/** A signed access token for `request`. Errors: kInvalidArgument naming the missing claim. */
Result<std::string> mintToken(const DevKey& key, const MintRequest& request);

/** The RFC 7638 thumbprint of a key's public half (for --dpop-key: the token's cnf.jkt). */
Result<std::string> keyThumbprint(const DevKey& key);

/** A DPoP proof signed by `key` for `method` on `url`, with `ath` of `access_token` when non-empty. */
Result<std::string> mintDpopProof(const DevKey& key, const std::string& method, const std::string& url,
                                  const std::string& access_token, int64_t now = 0);

}  // namespace planbro::gateway::security
