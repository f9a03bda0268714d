#pragma once
// The authentication stage of the request pipeline (an http::RequestFilter): reads `Authorization: Bearer|DPoP`,
// validates the token and the DPoP proof, binds the token to the proof key (cnf.jkt) and to the client
// certificate (cnf.x5t#S256, mutual TLS), and fills RequestContext::principal. A refusal is 401 with a
// `WWW-Authenticate` challenge per RFC 6750 §3 and RFC 9449 §7.1 (error, error_description, algs). /metadata stays
// public (clients discover the server there). The interaction-level decision (scopes) is the ScopePolicy's.

#include <memory>
#include <mutex>
#include <string>

#include "planbro/gateway/config/gateway_config.h"
#include "planbro/gateway/http/handler.h"
#include "planbro/gateway/security/access_policy.h"
#include "planbro/gateway/security/audit_sink.h"
#include "planbro/gateway/security/dpop.h"
#include "planbro/gateway/security/token_validator.h"
#include "planbro/gateway/store/resource_store.h"

namespace planbro::gateway::security {

enum class DpopMode { kRequired, kAllowed, kOff };

struct AuthFilterOptions {
  DpopMode dpop = DpopMode::kAllowed;
  std::string base_url;  // the public base URL (config::effectiveBaseUrl): DPoP htu is base_url + request path
  size_t max_header_bytes = 16384;
};

class AuthFilter : public http::RequestFilter {
 public:
  AuthFilter(AuthFilterOptions options, std::shared_ptr<TokenValidator> tokens, std::shared_ptr<DpopVerifier> dpop);

  Status apply(const http::Request& request, http::RequestContext& context) override;
  bool mayBlock() const override;
  /** The base URL once known (a server on port 0 learns its port when it listens). Thread-safe. */
  void setBaseUrl(std::string base_url);
  /** Every refused authentication becomes an audit record in `sink` (never with the token). Set before the
   *  server starts; null: none. */
  void setAuditSink(std::shared_ptr<AuditSink> sink) { audit_ = std::move(sink); }

 private:
  Status authenticate(const http::Request& request, http::RequestContext& context);
  std::string challenge(std::string_view error, std::string_view description) const;
  Status refuse(http::RequestContext& context, std::string_view error, std::string description) const;
  std::string baseUrl() const;

  AuthFilterOptions options_;
  std::shared_ptr<TokenValidator> tokens_;
  std::shared_ptr<DpopVerifier> dpop_;
  mutable std::mutex base_mutex_;
  std::shared_ptr<AuditSink> audit_;
};

/**
 * The interaction-level policy: the token's SMART scopes must grant the interaction's permission on the type
 * (read/vread → r, search/history → s, create → c, update/patch → u, delete → d, operations → r); a system client
 * writes only when it is a trusted client (auth.trusted_clients). Per-resource decisions go to `inner` (consent,
 * next). A denial is 403 naming the interaction and type only.
 */
std::shared_ptr<AccessPolicy> makeScopePolicy(std::shared_ptr<AccessPolicy> inner = nullptr);

/** Everything `planbro serve` needs when auth.mode is token: the filter and the policy, from the configuration. */
struct AuthComponents {
  std::shared_ptr<AuthFilter> filter;
  std::shared_ptr<AccessPolicy> policy;
};
/** `store` (may be null) holds the shared DPoP replay cache (auth.dpop_replay_cache store, or auto on postgresql)
 *  and must outlive the components; a configuration that needs it without one is kFailedPrecondition. */
Result<AuthComponents> makeAuthComponents(const config::GatewayConfig& config, std::string base_url,
                                          store::ResourceStore* store = nullptr);

}  // namespace planbro::gateway::security
