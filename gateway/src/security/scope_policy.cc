#include <openssl/rand.h>

#include <filesystem>
#include <memory>

#include "planbro/gateway/security/auth_filter.h"
#include "planbro/gateway/security/dev_tokens.h"
#include "planbro/gateway/security/store_replay_cache.h"

namespace planbro::gateway::security {
namespace {

constexpr std::string_view kLetters = "cruds";
constexpr uint8_t kWriteBits = static_cast<uint8_t>(ScopePermission::kCreate) |
                               static_cast<uint8_t>(ScopePermission::kUpdate) |
                               static_cast<uint8_t>(ScopePermission::kDelete);

// Without an inner policy (as the gateway composes it: the scopes are the innermost step) nothing is asked after
// the scope checks: no call into an allow-all policy on every interaction and decision.
class ScopePolicy final : public AccessPolicy {
 public:
  explicit ScopePolicy(std::shared_ptr<AccessPolicy> inner) : inner_(std::move(inner)) {}

  Status permitInteraction(const http::RequestContext& context, const InteractionSubject& s) const override {
    const uint8_t needed = permissionsForInteraction(s.interaction);
    if (needed == 0) return Status::ok();
    if (!context.principal) return {StatusCode::kUnauthenticated, "authentication required: send an access token"};
    const Principal& p = *context.principal;
    if (s.type == "AuditEvent") {
      // The audit trail: append-only, and the auditor's alone (docs/security.md, Audit).
      if ((needed & kWriteBits) != 0) {
        return {StatusCode::kPermissionDenied, "AuditEvent is append-only: the gateway records it, nobody writes it"};
      }
      if (p.kind != PrincipalKind::kAuditor) {
        return {StatusCode::kPermissionDenied, "only an auditor may read AuditEvent"};
      }
    }
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
    return inner_ ? inner_->permitInteraction(context, s) : Status::ok();
  }

  Status decide(const http::RequestContext& context, const AccessSubject& subject) const override {
    // System-level searches and history (no type to check above) never show an AuditEvent to anyone else.
    if (subject.type == "AuditEvent" && (!context.principal || context.principal->kind != PrincipalKind::kAuditor)) {
      return {StatusCode::kPermissionDenied, "only an auditor may read AuditEvent"};
    }
    return inner_ ? inner_->decide(context, subject) : Status::ok();
  }
  bool mayBlock() const override { return inner_ && inner_->mayBlock(); }

 private:
  std::shared_ptr<AccessPolicy> inner_;
};

}  // namespace

std::shared_ptr<AccessPolicy> makeScopePolicy(std::shared_ptr<AccessPolicy> inner) {
  return std::make_shared<ScopePolicy>(std::move(inner));
}

Result<AuthComponents> makeAuthComponents(const config::GatewayConfig& config, std::string base_url,
                                          store::ResourceStore* store) {
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
  t.cache_bytes = static_cast<size_t>(a.token_cache_mb) << 20;
  DpopOptions d;
  d.algorithms = a.algorithms;
  d.max_age_s = a.dpop_max_age_s;
  d.clock_skew_s = a.clock_skew_s;
  d.max_proof_bytes = a.max_token_bytes;
  if (a.dpop_nonce == "required") {
    // The nonce key comes from the database's master secret, so every node on it issues and accepts the same
    // nonces; without a store (tests, tools) a random key of this process.
    std::string secret;
    if (store != nullptr) {
      auto stored = store->serverSecret("planbro:dpop-nonce");
      if (!stored.isOk()) return Status(stored.status().code(), "auth.dpop_nonce: " + stored.status().message());
      secret = std::move(stored).value();
    } else {
      secret.resize(32);
      if (RAND_bytes(reinterpret_cast<unsigned char*>(secret.data()), static_cast<int>(secret.size())) != 1) {
        return Status(StatusCode::kInternal, "auth.dpop_nonce: no random bytes for the nonce key");
      }
    }
    d.nonces = std::make_shared<DpopNonces>(std::move(secret), a.dpop_nonce_window_s);
  }
  AuthFilterOptions f;
  f.dpop = a.dpop == "required" ? DpopMode::kRequired : a.dpop == "off" ? DpopMode::kOff : DpopMode::kAllowed;
  f.base_url = std::move(base_url);
  f.max_header_bytes = a.max_token_bytes + 16;
  // Several nodes share a PostgreSQL database, so a proof id must be remembered there; one SQLite process may keep
  // it in memory (faster, and SQLite has one gateway per database).
  const bool shared_replay = a.dpop_replay_cache == "store" ||
                             (a.dpop_replay_cache == "auto" && config.store.engine == config::StoreEngine::kPostgresql);
  std::shared_ptr<ReplayCache> replay;
  if (shared_replay) {
    store::ReplayLedger* ledger = store ? store->replayLedger() : nullptr;
    if (ledger == nullptr) {
      return Status(StatusCode::kFailedPrecondition, "auth.dpop_replay_cache: the store keeps no replay claims");
    }
    StoreReplayCacheOptions r;
    r.purge_batch = a.dpop_replay_purge_batch;
    replay = makeStoreReplayCache(*ledger, r);
  } else {
    replay = makeMemoryReplayCache(a.replay_cache_entries);
  }
  AuthComponents out;
  out.filter = std::make_shared<AuthFilter>(f, std::make_shared<TokenValidator>(std::move(t), std::move(keys)),
                                            std::make_shared<DpopVerifier>(std::move(d), std::move(replay)));
  out.policy = makeScopePolicy();
  return out;
}

}  // namespace planbro::gateway::security
