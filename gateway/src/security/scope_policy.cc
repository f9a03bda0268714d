#include <filesystem>
#include <memory>

#include "planbro/gateway/security/auth_filter.h"
#include "planbro/gateway/security/dev_tokens.h"

namespace planbro::gateway::security {
namespace {

constexpr std::string_view kLetters = "cruds";

class ScopePolicy : public AccessPolicy {
 public:
  explicit ScopePolicy(std::shared_ptr<AccessPolicy> inner) : inner_(inner ? std::move(inner) : makeAllowAllPolicy()) {}

  Status permitInteraction(const http::RequestContext& context, const InteractionSubject& s) const override {
    const uint8_t needed = permissionsForInteraction(s.interaction);
    if (needed == 0) return Status::ok();
    if (!context.principal) return {StatusCode::kUnauthenticated, "authentication required: send an access token"};
    const Principal& p = *context.principal;
    for (size_t i = 0; i < kLetters.size(); ++i) {
      const auto bit = static_cast<ScopePermission>(1u << i);
      if ((needed & static_cast<uint8_t>(bit)) != 0 && !p.scope_set.permits(bit, s.type)) {
        // Names the interaction and type only: nothing about any resource.
        return {StatusCode::kPermissionDenied, "the token's scopes do not permit " + std::string(s.interaction) +
                                                   (s.type.empty() ? std::string() : " on " + std::string(s.type))};
      }
    }
    constexpr uint8_t kWrites = static_cast<uint8_t>(ScopePermission::kCreate) |
                                static_cast<uint8_t>(ScopePermission::kUpdate) |
                                static_cast<uint8_t>(ScopePermission::kDelete);
    if ((needed & kWrites) != 0 && p.kind == PrincipalKind::kSystem && !p.trusted_client) {
      return {StatusCode::kPermissionDenied, "this system client may not write (not in auth.trusted_clients)"};
    }
    return inner_->permitInteraction(context, s);
  }

  Status decide(const http::RequestContext& context, const AccessSubject& subject) const override {
    return inner_->decide(context, subject);
  }
  bool mayBlock() const override { return inner_->mayBlock(); }

 private:
  std::shared_ptr<AccessPolicy> inner_;
};

}  // namespace

std::shared_ptr<AccessPolicy> makeScopePolicy(std::shared_ptr<AccessPolicy> inner) {
  return std::make_shared<ScopePolicy>(std::move(inner));
}

Result<AuthComponents> makeAuthComponents(const config::GatewayConfig& config, std::string base_url) {
  const config::AuthConfig& a = config.auth;
  std::shared_ptr<KeySource> keys;
  std::string issuer = a.issuer;
  std::string audience = a.audience;
  if (a.development()) {
    // The quick start's test tokens: the key `planbro token` signs with, in the data directory.
    std::error_code ec;
    std::filesystem::create_directories(config.store.data_dir, ec);
    auto key = loadOrCreateDevKey((std::filesystem::path(config.store.data_dir) / kDevKeyFile).string());
    if (!key.isOk()) return key.status();
    auto jwks = devJwks(*key);
    if (!jwks.isOk()) return jwks.status();
    keys = staticKeySource(std::move(jwks).value());
    if (issuer.empty()) issuer = kDevIssuer;
    if (audience.empty()) audience = kDevAudience;
  } else if (!a.jwks_file.empty()) {
    auto loaded = loadJwksFile(a.jwks_file);
    if (!loaded.isOk()) return loaded.status();
    keys = std::move(loaded).value();
  } else {
    JwksUrlOptions u;
    u.url = a.jwks_url;
    u.refresh_interval = std::chrono::seconds(a.jwks_refresh_interval_s);
    auto fetched = fetchJwksUrl(u);
    if (!fetched.isOk()) return fetched.status();
    keys = std::move(fetched).value();
  }
  TokenValidatorOptions t;
  t.issuer = issuer;
  t.audience = audience;
  t.algorithms = a.algorithms;
  t.clock_skew_s = a.clock_skew_s;
  t.max_token_bytes = a.max_token_bytes;
  t.min_security_level = static_cast<int>(a.min_security_level);
  t.trusted_clients = a.trusted_clients;
  t.cache_entries = a.token_cache_entries;
  DpopOptions d;
  d.algorithms = a.algorithms;
  d.max_age_s = a.dpop_max_age_s;
  d.clock_skew_s = a.clock_skew_s;
  d.max_proof_bytes = a.max_token_bytes;
  AuthFilterOptions f;
  f.dpop = a.dpop == "required" ? DpopMode::kRequired : a.dpop == "off" ? DpopMode::kOff : DpopMode::kAllowed;
  f.base_url = std::move(base_url);
  f.max_header_bytes = a.max_token_bytes + 16;
  AuthComponents out;
  out.filter = std::make_shared<AuthFilter>(
      f, std::make_shared<TokenValidator>(std::move(t), std::move(keys)),
      std::make_shared<DpopVerifier>(std::move(d), makeMemoryReplayCache(a.replay_cache_entries)));
  out.policy = makeScopePolicy();
  return out;
}

}  // namespace planbro::gateway::security
