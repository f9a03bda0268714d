#pragma once
// HelseID client credentials for a machine client (../shared/domain/norwegian-standards.md §6): the token is asked
// for with a `private_key_jwt` client assertion (RFC 7523, signed with the client's private JWK through libjose)
// and bound to a DPoP key (RFC 9449); it is cached until shortly before it expires. Every API call carries a fresh
// DPoP proof (htm, htu, iat, jti, ath, and the server's nonce once it has asked for one). Thread-safe.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "planbro/fhir-model/status.h"

namespace planbro::adapters::plo {

struct HelseIdOptions {
  std::string token_endpoint;  // `adapters.plo.msh.token_endpoint`, e.g. https://helseid-sts.nhn.no/connect/token
  std::string client_id;       // `adapters.plo.msh.client_id`
  std::string key_file;        // `adapters.plo.msh.key_file`: the client's private JWK (RSA ≥ 2048 or EC P-256)
  std::string scope;           // `adapters.plo.msh.scope`, e.g. "nhn:msh/api"
  std::string ca_file;         // empty: the system trust store
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds timeout{10000};
  size_t max_response_bytes = 64 * 1024;  // a token answer is small; more is refused
  int64_t refresh_before_s = 30;          // a cached token is renewed this long before its exp
  std::function<int64_t()> now;           // unix seconds (default: the system clock)
};

class HelseIdClient {
 public:
  /** Reads the key file (a private JWK; the file must not be readable by group or others) and makes a fresh P-256
   *  DPoP key for this process. Errors: kInvalidArgument naming the file or the option. */
  static Result<std::unique_ptr<HelseIdClient>> create(HelseIdOptions options);
  ~HelseIdClient();

  /** The access token (cached; fetched when none or about to expire). Errors: kUnavailable (the token endpoint
   *  cannot be reached or fails), kUnauthenticated (it refused the client). */
  Result<std::string> accessToken();
  /** Forgets the cached token (after the API refused it). */
  void invalidate();

  /** A DPoP proof for `method` `url` (query and fragment dropped), with `ath` of `access_token` when non-empty
   *  and `nonce` when non-empty. */
  Result<std::string> dpopProof(const std::string& method, const std::string& url, const std::string& access_token,
                                const std::string& nonce) const;

  /** The RFC 7638 thumbprint of the DPoP key (a token bound to it carries it as cnf.jkt). */
  const std::string& dpopThumbprint() const { return dpop_jkt_; }
  /** Tokens fetched from the token endpoint so far (the cache's effect, for tests and metrics). */
  uint64_t tokensFetched() const;

  struct Keys;

 private:
  HelseIdClient() = default;
  Result<std::string> clientAssertion() const;

  HelseIdOptions options_;
  std::unique_ptr<Keys> keys_;
  std::string dpop_jkt_;
  mutable std::mutex mutex_;
  std::string token_;
  int64_t token_expires_at_ = 0;
  std::string token_nonce_;  // the token endpoint's last DPoP-Nonce
  uint64_t fetched_ = 0;
};

}  // namespace planbro::adapters::plo
