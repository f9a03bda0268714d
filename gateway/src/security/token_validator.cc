#include "planbro/gateway/security/token_validator.h"

#include <openssl/sha.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <mutex>
#include <random>
#include <unordered_map>

#include "jose_util.h"

namespace planbro::gateway::security {

using detail::JsonPtr;

int64_t systemNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string sha256Base64Url(std::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  return detail::base64UrlEncode(std::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

Status splitCompactJws(std::string_view jws, std::string_view parts[3]) {
  size_t first = jws.find('.');
  size_t second = first == std::string_view::npos ? first : jws.find('.', first + 1);
  if (second == std::string_view::npos || jws.find('.', second + 1) != std::string_view::npos) {
    return {StatusCode::kUnauthenticated, "not a compact JWS (three base64url parts)"};
  }
  parts[0] = jws.substr(0, first);
  parts[1] = jws.substr(first + 1, second - first - 1);
  parts[2] = jws.substr(second + 1);
  for (int i = 0; i < 3; ++i) {
    if (parts[i].empty() ||
        parts[i].find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") !=
            std::string_view::npos) {
      return {StatusCode::kUnauthenticated, "not a compact JWS (three base64url parts)"};
    }
  }
  return Status::ok();
}

namespace {

Status unauthenticated(std::string reason) { return {StatusCode::kUnauthenticated, std::move(reason)}; }

constexpr const char* kPid = "helseid://claims/identity/pid";
constexpr const char* kHpr = "helseid://claims/hpr/hpr_number";
constexpr const char* kSecurityLevel = "helseid://claims/identity/security_level";
constexpr const char* kOrgParent = "helseid://claims/client/claims/orgnr_parent";
constexpr const char* kOrgChild = "helseid://claims/client/claims/orgnr_child";

// HelseID sends some claims as strings ("4"), others as numbers; both are accepted for the security level.
int securityLevel(const json_t* payload) {
  if (auto n = detail::integerMember(payload, kSecurityLevel)) return static_cast<int>(std::clamp<int64_t>(*n, 0, 9));
  if (auto s = detail::stringMember(payload, kSecurityLevel); s && s->size() == 1 && (*s)[0] >= '0' && (*s)[0] <= '9') {
    return (*s)[0] - '0';
  }
  return 0;
}

bool audienceHolds(const json_t* payload, std::string_view audience) {
  const json_t* aud = json_object_get(payload, "aud");
  if (json_is_string(aud)) return json_string_value(aud) == audience;
  if (!json_is_array(aud)) return false;
  for (size_t i = 0; i < json_array_size(aud); ++i) {
    const json_t* a = json_array_get(aud, i);
    if (json_is_string(a) && json_string_value(a) == audience) return true;
  }
  return false;
}

Result<Principal> principalOf(const json_t* payload, const TokenValidatorOptions& o) {
  Principal p;
  p.subject = std::string(detail::stringMember(payload, "sub").value_or(""));
  p.client_id = std::string(detail::stringMember(payload, "client_id").value_or(detail::stringMember(payload, "azp").value_or("")));
  p.token_id = std::string(detail::stringMember(payload, "jti").value_or(""));
  const json_t* scope = json_object_get(payload, "scope");
  if (json_is_string(scope)) {
    std::string_view all = json_string_value(scope);
    while (!all.empty()) {
      size_t space = all.find(' ');
      std::string_view one = all.substr(0, space);
      if (!one.empty()) p.scopes.emplace_back(one);
      if (space == std::string_view::npos) break;
      all.remove_prefix(space + 1);
    }
  } else if (json_is_array(scope)) {  // HelseID issues `scope` as an array
    for (size_t i = 0; i < json_array_size(scope); ++i) {
      if (const json_t* s = json_array_get(scope, i); json_is_string(s)) p.scopes.emplace_back(json_string_value(s));
    }
  }
  for (const std::string& s : p.scopes) p.scope_set.add(s);
  p.pid = std::string(detail::stringMember(payload, kPid).value_or(""));
  p.hpr_number = std::string(detail::stringMember(payload, kHpr).value_or(""));
  if (p.hpr_number.empty()) {
    if (auto n = detail::integerMember(payload, kHpr)) p.hpr_number = std::to_string(*n);
  }
  p.organization_number = std::string(detail::stringMember(payload, kOrgParent).value_or(""));
  p.child_organization_number = std::string(detail::stringMember(payload, kOrgChild).value_or(""));
  p.security_level = securityLevel(payload);
  p.expires_at = detail::integerMember(payload, "exp").value_or(0);
  if (const json_t* cnf = json_object_get(payload, "cnf"); cnf != nullptr) {
    // A confirmation the gateway cannot enforce is refused, not ignored: ignored, a sender-constrained token
    // (`cnf` with a non-string `jkt`, only a `jwk`, not an object) was accepted as a plain bearer token.
    const json_t* jkt = json_object_get(cnf, "jkt");
    const json_t* x5t = json_object_get(cnf, "x5t#S256");
    if (!json_is_object(cnf) || (jkt != nullptr && !json_is_string(jkt)) || (x5t != nullptr && !json_is_string(x5t)) ||
        (jkt == nullptr && x5t == nullptr)) {
      return unauthenticated("the token's cnf (confirmation) is not a jkt or x5t#S256 the gateway can check");
    }
    p.cnf_jkt = std::string(detail::stringMember(cnf, "jkt").value_or(""));
    p.cnf_x5t_s256 = std::string(detail::stringMember(cnf, "x5t#S256").value_or(""));
    if ((jkt != nullptr && p.cnf_jkt.empty()) || (x5t != nullptr && p.cnf_x5t_s256.empty())) {
      return unauthenticated("the token's cnf (confirmation) is empty");
    }
  }
  const char* key = nullptr;
  json_t* value = nullptr;
  json_object_foreach(const_cast<json_t*>(payload), key, value) {
    if (std::string_view(key).starts_with("helseid://")) {
      char* dumped = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
      if (dumped != nullptr) {
        p.helseid_claims.emplace(key, dumped);
        free(dumped);
      }
    }
  }
  p.trusted_client = !p.client_id.empty() && std::find(o.trusted_clients.begin(), o.trusted_clients.end(),
                                                       p.client_id) != o.trusted_clients.end();
  if (p.scope_set.has("planbro/auditor")) {
    p.kind = PrincipalKind::kAuditor;
  } else if (p.scope_set.has("planbro/ke-admin")) {
    p.kind = PrincipalKind::kKeAdministrator;
  } else if (!p.hpr_number.empty()) {
    p.kind = PrincipalKind::kPractitioner;
  } else if (!p.pid.empty()) {
    p.kind = PrincipalKind::kPatient;
  } else {
    p.kind = PrincipalKind::kSystem;
  }
  const bool person = !p.pid.empty() || !p.hpr_number.empty();
  if (person && p.security_level < o.min_security_level) {
    return unauthenticated("the token's security level is below " + std::to_string(o.min_security_level));
  }
  return p;
}

}  // namespace

namespace {

// The token cache's key: a keyed 64-bit hash of the token's last 16 bytes (its signature's tail: distinct for every
// token the issuer signs) and its length, a few instructions where a hash of the whole token (or a SHA-256 of it)
// costs hundreds. Only tokens whose signature verified are inserted, so the map holds nothing an attacker chose; a
// presented token is accepted from the cache only when it equals the one cached under its key byte for byte
// (constantTimeEqual), so a crafted token that shares a key costs one comparison and gains nothing.
uint64_t tokenKey(std::string_view token, uint64_t seed) {
  uint64_t h = seed ^ (token.size() * 0x9e3779b97f4a7c15ULL);
  if (token.size() >= 16) {
    uint64_t a, b;
    std::memcpy(&a, token.data() + token.size() - 16, 8);
    std::memcpy(&b, token.data() + token.size() - 8, 8);
    h = (h ^ a) * 0xff51afd7ed558ccdULL;
    h = (h ^ (h >> 32) ^ b) * 0xc4ceb9fe1a85ec53ULL;
  } else {
    for (unsigned char c : token) h = (h ^ c) * 0x100000001b3ULL;
  }
  return h ^ (h >> 29);
}

// Equality in time that depends on the length only (which is no secret), 64 bytes per step in vector registers:
// a lookup reveals nothing of the token it compares with. The word-by-word loop it replaces took about three times
// the instructions (docs/performance.md, "Consent checks: the token and entitlement lookups").
bool constantTimeEqual(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  const size_t n = a.size();
  if (n < 16) {
    unsigned diff = 0;
    for (size_t i = 0; i < n; ++i) diff |= static_cast<unsigned char>(a[i]) ^ static_cast<unsigned char>(b[i]);
    return diff == 0;
  }
  using Lanes = uint64_t __attribute__((vector_size(16)));
  Lanes diff0 = {0, 0}, diff1 = {0, 0}, diff2 = {0, 0}, diff3 = {0, 0};
  Lanes x0, y0, x1, y1, x2, y2, x3, y3;
  size_t i = 0;
  for (; i + 64 <= n; i += 64) {
    std::memcpy(&x0, a.data() + i, 16);
    std::memcpy(&y0, b.data() + i, 16);
    std::memcpy(&x1, a.data() + i + 16, 16);
    std::memcpy(&y1, b.data() + i + 16, 16);
    std::memcpy(&x2, a.data() + i + 32, 16);
    std::memcpy(&y2, b.data() + i + 32, 16);
    std::memcpy(&x3, a.data() + i + 48, 16);
    std::memcpy(&y3, b.data() + i + 48, 16);
    diff0 |= x0 ^ y0;
    diff1 |= x1 ^ y1;
    diff2 |= x2 ^ y2;
    diff3 |= x3 ^ y3;
  }
  for (; i + 16 <= n; i += 16) {
    std::memcpy(&x0, a.data() + i, 16);
    std::memcpy(&y0, b.data() + i, 16);
    diff0 |= x0 ^ y0;
  }
  // The last 16 bytes again (overlapping what was compared): covers any remainder without a byte loop.
  std::memcpy(&x1, a.data() + n - 16, 16);
  std::memcpy(&y1, b.data() + n - 16, 16);
  diff1 |= x1 ^ y1;
  diff0 |= diff1 | diff2 | diff3;
  return (diff0[0] | diff0[1]) == 0;
}

}  // namespace

struct TokenValidator::Cache {
  struct Entry {
    std::string token;
    std::shared_ptr<const Principal> principal;
    int64_t expires_at = 0;
    size_t bytes = 0;
  };
  Cache() {
    std::random_device rd;
    seed = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  }
  std::mutex mutex;
  std::unordered_map<uint64_t, Entry> entries;  // by tokenKey(token, seed); one token per key
  size_t bytes = 0;
  uint64_t seed = 0;
  std::atomic<uint64_t> signature_checks{0};
};

namespace {

// What one cached token is counted at: the key, the Principal's strings (claims repeat the payload), bookkeeping.
size_t entryBytes(std::string_view token, const Principal& p) {
  size_t n = token.size() + sizeof(Principal) + 128 + p.subject.size() + p.client_id.size() + p.token_id.size();
  for (const std::string& s : p.scopes) n += s.size() + sizeof(std::string) * 2;
  for (const auto& [k, v] : p.helseid_claims) n += k.size() + v.size() + 96;
  return n;
}

}  // namespace

TokenValidator::TokenValidator(TokenValidatorOptions options, std::shared_ptr<KeySource> keys)
    : options_(std::move(options)), keys_(std::move(keys)), cache_(std::make_unique<Cache>()) {}
TokenValidator::~TokenValidator() = default;

uint64_t TokenValidator::signatureChecks() const { return cache_->signature_checks.load(); }

size_t TokenValidator::cachedTokens() const {
  std::lock_guard lock(cache_->mutex);
  return cache_->entries.size();
}

size_t TokenValidator::cachedBytes() const {
  std::lock_guard lock(cache_->mutex);
  return cache_->bytes;
}

Result<Principal> TokenValidator::validate(std::string_view token) const {
  ASSIGN_OR_RETURN(std::shared_ptr<const Principal> p, validateShared(token));
  return *p;
}

Result<std::shared_ptr<const Principal>> TokenValidator::validateShared(std::string_view token) const {
  if (token.size() > options_.max_token_bytes) return unauthenticated("the token is too large");
  const int64_t now = options_.clock();
  const int64_t skew = options_.clock_skew_s;
  if (options_.cache_entries > 0) {
    const uint64_t key = tokenKey(token, cache_->seed);
    std::lock_guard lock(cache_->mutex);
    if (auto it = cache_->entries.find(key); it != cache_->entries.end() && constantTimeEqual(it->second.token, token)) {
      // Written as now - skew: an exp near INT64_MAX (the issuer signs what it likes) must not overflow.
      if (now - skew < it->second.expires_at) return it->second.principal;
      cache_->bytes -= it->second.bytes;
      cache_->entries.erase(it);
      return unauthenticated("the token has expired");
    }
  }

  std::string_view parts[3];
  if (Status s = splitCompactJws(token, parts); !s.isOk()) return s;
  std::optional<std::string> header_text = detail::base64UrlDecode(parts[0]);
  std::optional<std::string> payload_text = detail::base64UrlDecode(parts[1]);
  if (!header_text || !payload_text) return unauthenticated("the token is not base64url");
  JsonPtr header = detail::parseObject(*header_text);
  if (!header) return unauthenticated("the token header is not a JSON object");
  std::optional<std::string_view> alg = detail::stringMember(header.get(), "alg");
  if (!alg || std::find(options_.algorithms.begin(), options_.algorithms.end(), *alg) == options_.algorithms.end()) {
    return unauthenticated("the token's signature algorithm is not accepted");
  }
  if (json_object_get(header.get(), "crit") != nullptr) return unauthenticated("the token has critical header parameters");
  if (auto typ = detail::stringMember(header.get(), "typ"); typ) {
    std::string t(*typ);
    std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return std::tolower(c); });
    if (t != "jwt" && t != "at+jwt" && t != "application/at+jwt") return unauthenticated("the token's typ is not a JWT");
  }
  // Keys come from the issuer's JWKS only: a key embedded in the token (jwk, jku, x5u, x5c) is never used.
  std::string kid(detail::stringMember(header.get(), "kid").value_or(""));
  std::shared_ptr<const Jwks> keys = keys_->current();
  const void* key = keys ? keys->find(kid, *alg) : nullptr;
  if (key == nullptr) {
    keys = keys_->refreshForUnknownKid();
    key = keys ? keys->find(kid, *alg) : nullptr;
    if (key == nullptr) return unauthenticated("the token's signing key is unknown");
  }
  cache_->signature_checks.fetch_add(1, std::memory_order_relaxed);
  if (!detail::verifyJws(parts[0], parts[1], parts[2], static_cast<const json_t*>(key))) {
    return unauthenticated("the token's signature does not verify");
  }

  JsonPtr payload = detail::parseObject(*payload_text);
  if (!payload) return unauthenticated("the token's claims are not a JSON object");
  if (detail::stringMember(payload.get(), "iss").value_or("") != options_.issuer) {
    return unauthenticated("the token is from another issuer");
  }
  if (!audienceHolds(payload.get(), options_.audience)) return unauthenticated("the token is for another audience");
  std::optional<int64_t> exp = detail::integerMember(payload.get(), "exp");
  if (!exp) return unauthenticated("the token has no expiry");
  if (now - skew >= *exp) return unauthenticated("the token has expired");
  if (json_object_get(payload.get(), "nbf") != nullptr) {
    std::optional<int64_t> nbf = detail::integerMember(payload.get(), "nbf");
    if (!nbf || now + skew < *nbf) return unauthenticated("the token is not valid yet");
  }
  if (json_object_get(payload.get(), "iat") != nullptr) {
    std::optional<int64_t> iat = detail::integerMember(payload.get(), "iat");
    if (!iat || *iat > now + skew) return unauthenticated("the token is issued in the future");
  }
  auto validated = principalOf(payload.get(), options_);
  if (!validated.isOk()) return validated.status();
  auto principal = std::make_shared<const Principal>(std::move(validated).value());
  const size_t bytes = entryBytes(token, *principal);
  if (options_.cache_entries > 0 && bytes <= options_.cache_bytes) {
    std::lock_guard lock(cache_->mutex);
    if (cache_->entries.size() >= options_.cache_entries || cache_->bytes + bytes > options_.cache_bytes) {
      // Full: drop the expired ones, and everything if that frees too little (the cache only saves work).
      std::erase_if(cache_->entries, [&](const auto& e) {
        const bool expired = now - skew >= e.second.expires_at;
        if (expired) cache_->bytes -= e.second.bytes;
        return expired;
      });
      if (cache_->entries.size() >= options_.cache_entries || cache_->bytes + bytes > options_.cache_bytes) {
        cache_->entries.clear();
        cache_->bytes = 0;
      }
    }
    // Another token under the same key (a 64-bit keyed collision) is replaced: the cache only saves work.
    auto [it, inserted] = cache_->entries.try_emplace(tokenKey(token, cache_->seed));
    if (!inserted) cache_->bytes -= it->second.bytes;
    it->second = Cache::Entry{std::string(token), principal, principal->expires_at, bytes};
    cache_->bytes += bytes;
  }
  return principal;
}

}  // namespace planbro::gateway::security
