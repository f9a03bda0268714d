#include "planbro/gateway/security/dpop.h"

#include "jose.h"

#include <algorithm>
#include <cctype>
#include <mutex>
#include <unordered_map>

#include "jose_util.h"
#include "proof_keys.h"

namespace planbro::gateway::security {

using detail::JsonPtr;

namespace {

Status refused(std::string reason) { return {StatusCode::kUnauthenticated, std::move(reason)}; }

class MemoryReplayCache : public ReplayCache {
 public:
  explicit MemoryReplayCache(size_t max_entries) : max_entries_(max_entries) {}

  Result<bool> claimOnce(std::string_view key, int64_t expires_at, int64_t now) override {
    std::lock_guard lock(mutex_);
    if (auto it = seen_.find(std::string(key)); it != seen_.end()) {
      if (it->second > now) return false;
      seen_.erase(it);
    }
    if (seen_.size() >= max_entries_) {
      std::erase_if(seen_, [&](const auto& e) { return e.second <= now; });
      // Still full of live ids: refusing is safe, forgetting one would open a replay window.
      if (seen_.size() >= max_entries_) return Status(StatusCode::kResourceExhausted, "the DPoP replay cache is full");
    }
    seen_.emplace(std::string(key), expires_at);
    return true;
  }
  bool mayBlock() const override { return false; }

 private:
  size_t max_entries_;
  std::mutex mutex_;
  std::unordered_map<std::string, int64_t> seen_;
};

}  // namespace

std::shared_ptr<ReplayCache> makeMemoryReplayCache(size_t max_entries) {
  return std::make_shared<MemoryReplayCache>(max_entries);
}

std::string normalizeHtu(std::string_view url) {
  url = url.substr(0, url.find_first_of("?#"));
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return std::string(url);
  size_t host_end = url.find('/', scheme_end + 3);
  std::string out(url.substr(0, host_end));
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  // The default port goes, but only from an authority with one port: "host:8080:80" is malformed and stays as
  // written (stripping its ":80" made it equal to "host:8080").
  auto dropDefaultPort = [&out](std::string_view scheme, std::string_view port) {
    if (!out.starts_with(scheme) || !out.ends_with(port)) return;
    std::string_view host = std::string_view(out).substr(scheme.size(), out.size() - scheme.size() - port.size());
    const size_t bracket = host.rfind(']');
    const size_t colon = host.rfind(':');
    if (colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket)) return;
    out.resize(out.size() - port.size());
  };
  dropDefaultPort("https://", ":443");
  dropDefaultPort("http://", ":80");
  if (host_end != std::string_view::npos) out += url.substr(host_end);
  return out;
}

DpopVerifier::DpopVerifier(DpopOptions options, std::shared_ptr<ReplayCache> replay)
    : options_(std::move(options)), replay_(std::move(replay)), keys_(std::make_shared<detail::ProofKeyCache>()) {}

Result<std::string> DpopVerifier::verify(std::string_view proof, std::string_view method, std::string_view htu,
                                         std::string_view access_token) const {
  if (proof.size() > options_.max_proof_bytes) return refused("the DPoP proof is too large");
  std::string_view parts[3];
  if (Status s = splitCompactJws(proof, parts); !s.isOk()) return refused("the DPoP proof is not a compact JWS");
  std::optional<std::string> header_text = detail::base64UrlDecode(parts[0]);
  std::optional<std::string> payload_text = detail::base64UrlDecode(parts[1]);
  if (!header_text || !payload_text) return refused("the DPoP proof is not base64url");
  JsonPtr header = detail::parseObject(*header_text);
  JsonPtr payload = detail::parseObject(*payload_text);
  if (!header || !payload) return refused("the DPoP proof's header or claims are not a JSON object");
  if (detail::stringMember(header.get(), "typ").value_or("") != "dpop+jwt") return refused("the DPoP proof's typ is not dpop+jwt");
  std::optional<std::string_view> alg = detail::stringMember(header.get(), "alg");
  if (!alg || std::find(options_.algorithms.begin(), options_.algorithms.end(), *alg) == options_.algorithms.end()) {
    return refused("the DPoP proof's signature algorithm is not accepted");
  }
  if (json_object_get(header.get(), "crit") != nullptr) return refused("the DPoP proof has critical header parameters");
  const json_t* jwk = json_object_get(header.get(), "jwk");
  if (!detail::publicKeyFits(jwk, *alg)) return refused("the DPoP proof's jwk is not a public key for its algorithm");
  // ES256 (HelseID's): the key imported once per client key, one OpenSSL verification per proof; others: libjose.
  std::string jkt;
  if (*alg == "ES256") {
    std::shared_ptr<const detail::ProofKey> key = keys_->es256(jwk);
    if (!key) return refused("the DPoP proof's jwk is not a public key for its algorithm");
    const std::string_view signing_input = proof.substr(0, parts[0].size() + 1 + parts[1].size());
    if (!detail::verifyEs256(key->key.get(), signing_input, parts[2])) {
      return refused("the DPoP proof's signature does not verify");
    }
    jkt = key->thumbprint;
  } else if (!detail::verifyJws(parts[0], parts[1], parts[2], jwk)) {
    return refused("the DPoP proof's signature does not verify");
  }

  std::optional<std::string_view> jti = detail::stringMember(payload.get(), "jti");
  if (!jti || jti->empty() || jti->size() > 256) return refused("the DPoP proof has no usable jti");
  if (detail::stringMember(payload.get(), "htm").value_or("") != method) return refused("the DPoP proof is for another method");
  std::optional<std::string_view> proof_htu = detail::stringMember(payload.get(), "htu");
  if (!proof_htu || normalizeHtu(*proof_htu) != normalizeHtu(htu)) return refused("the DPoP proof is for another URL");
  const int64_t now = options_.clock();
  std::optional<int64_t> iat = detail::integerMember(payload.get(), "iat");
  if (!iat) return refused("the DPoP proof has no iat");
  if (*iat > now + options_.clock_skew_s) return refused("the DPoP proof is issued in the future");
  if (*iat < now - options_.max_age_s - options_.clock_skew_s) return refused("the DPoP proof is too old");
  if (!access_token.empty()) {
    if (detail::stringMember(payload.get(), "ath").value_or("") != sha256Base64Url(access_token)) {
      return refused("the DPoP proof's ath does not match the access token");
    }
  }
  if (options_.nonces) {
    std::optional<std::string_view> nonce = detail::stringMember(payload.get(), "nonce");
    if (!nonce || !options_.nonces->accepts(*nonce)) {
      return Status(StatusCode::kFailedPrecondition, "the DPoP proof must carry the server's current nonce");
    }
  }
  if (jkt.empty()) {
    JsonPtr thumbprint(jose_jwk_thp(nullptr, jwk, "S256"));
    if (!json_is_string(thumbprint.get())) return refused("the DPoP proof's jwk has no thumbprint");
    jkt = json_string_value(thumbprint.get());
  }
  // Checked last, so that a proof that fails any other test does not use up its jti. Keyed by key and jti: two
  // clients cannot collide, and an id is remembered until no proof carrying it could pass the iat window.
  auto fresh = replay_->claimOnce(jkt + ":" + std::string(*jti), *iat + options_.max_age_s + options_.clock_skew_s + 1, now);
  if (!fresh.isOk()) return fresh.status();
  if (!*fresh) return refused("the DPoP proof was used before (replay)");
  return jkt;
}

}  // namespace planbro::gateway::security
