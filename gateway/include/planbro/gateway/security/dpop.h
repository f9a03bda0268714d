#pragma once
// DPoP proofs (RFC 9449): a JWS the client signs per request with a key it holds, naming the method (`htm`) and
// URL (`htu`) and, with an access token, its hash (`ath`). Verified with libjose against the public key in the
// proof's own header; `jti` is remembered for the proof's lifetime so a captured proof cannot be replayed. The
// token's `cnf.jkt` binds it to the key (checked by the authentication filter).

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "planbro/fhir-model/status.h"
#include "planbro/gateway/security/dpop_nonce.h"
#include "planbro/gateway/security/token_validator.h"

namespace planbro::gateway::security {

namespace detail {
class ProofKeyCache;  // proof_keys.h: ES256 proof keys imported once
}

/** Remembers proof ids until they expire. Shared by every node when backed by the database. Thread-safe. */
class ReplayCache {
 public:
  virtual ~ReplayCache() = default;
  /** True when `key` was not seen before (and is now remembered until `expires_at`); false for a replay.
   *  Errors (kResourceExhausted when full, kUnavailable when the database is down): the proof is refused. */
  virtual Result<bool> claimOnce(std::string_view key, int64_t expires_at, int64_t now) = 0;
  virtual bool mayBlock() const = 0;
};

/** In-process replay cache holding at most `max_entries` live ids (expired ones are dropped when it fills). */
std::shared_ptr<ReplayCache> makeMemoryReplayCache(size_t max_entries);

struct DpopOptions {
  std::vector<std::string> algorithms = {"RS256", "PS256", "ES256"};
  int64_t max_age_s = 60;   // a proof whose iat is older is refused
  int64_t clock_skew_s = 30;
  size_t max_proof_bytes = 8192;
  Clock clock = systemNow;
  // Server-provided nonces (auth.dpop_nonce required): a proof must carry a current one. Null: not checked.
  std::shared_ptr<const DpopNonces> nonces;
};

class DpopVerifier {
 public:
  DpopVerifier(DpopOptions options, std::shared_ptr<ReplayCache> replay);

  /** Verifies `proof` for `method` on `htu` (scheme, host, path; no query). When `access_token` is non-empty its
   *  hash must be the proof's `ath`. Returns the JWK SHA-256 thumbprint (RFC 7638) of the proof key, to compare
   *  with the token's cnf.jkt. Errors: kUnauthenticated with a reason (kResourceExhausted/kUnavailable from the
   *  replay cache); kFailedPrecondition when nonces are on and the proof carries no current one (answer
   *  `use_dpop_nonce` with currentNonce()). */
  Result<std::string> verify(std::string_view proof, std::string_view method, std::string_view htu,
                             std::string_view access_token) const;

  bool mayBlock() const { return replay_->mayBlock(); }
  /** The nonce a client should put in its next proof; empty when nonces are off. */
  std::string currentNonce() const { return options_.nonces ? options_.nonces->current() : std::string(); }
  const DpopOptions& options() const { return options_; }

 private:
  DpopOptions options_;
  std::shared_ptr<ReplayCache> replay_;
  std::shared_ptr<detail::ProofKeyCache> keys_;
};

/** `htu` normalised for comparison: query and fragment cut, scheme and host lower-cased, default port dropped. */
std::string normalizeHtu(std::string_view url);

}  // namespace planbro::gateway::security
