#include "planbro/gateway/security/dev_tokens.h"

#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "jose.h"
#include "jose_util.h"
#include "planbro/gateway/security/token_validator.h"

namespace planbro::gateway::security {

using detail::JsonPtr;

namespace {

std::string dumped(const json_t* j) {
  char* text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
  std::string out(text != nullptr ? text : "");
  free(text);
  return out;
}

Result<JsonPtr> privateJwk(const DevKey& key) {
  JsonPtr jwk = detail::parseObject(key.private_jwk);
  if (!jwk || detail::stringMember(jwk.get(), "kty").value_or("") != "EC" || !json_object_get(jwk.get(), "d")) {
    return invalidArgument("the development key is not a private EC JWK");
  }
  return jwk;
}

JsonPtr publicOf(const json_t* jwk) {
  JsonPtr pub(json_deep_copy(jwk));
  jose_jwk_pub(nullptr, pub.get());
  json_object_set_new(pub.get(), "kid", json_string("planbro-dev"));
  json_object_set_new(pub.get(), "alg", json_string("ES256"));
  json_object_set_new(pub.get(), "use", json_string("sig"));
  return pub;
}

Result<std::string> signCompact(const json_t* jwk, JsonPtr header, const std::string& payload) {
  const std::string p64 = detail::base64UrlEncode(payload);
  JsonPtr jws(json_pack("{s:s}", "payload", p64.c_str()));
  JsonPtr sig(json_pack("{s:O}", "protected", header.get()));
  if (!jws || !sig || !jose_jws_sig(nullptr, jws.get(), sig.get(), jwk)) return internalError("signing failed");
  auto protected64 = detail::stringMember(jws.get(), "protected");
  auto signature = detail::stringMember(jws.get(), "signature");
  if (!protected64 || !signature) return internalError("signing failed");
  return std::string(*protected64) + "." + p64 + "." + std::string(*signature);
}

std::string randomId() {
  unsigned char bytes[16];
  RAND_bytes(bytes, sizeof bytes);
  return detail::base64UrlEncode(std::string_view(reinterpret_cast<char*>(bytes), sizeof bytes));
}

}  // namespace

Result<DevKey> loadOrCreateDevKey(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    if ((st.st_mode & 077) != 0) return invalidArgument(path + ": the development key must be readable by its owner only (chmod 600)");
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    DevKey key{text.str()};
    if (auto jwk = privateJwk(key); !jwk.isOk()) return invalidArgument(path + ": " + jwk.status().message());
    return key;
  }
  JsonPtr jwk(json_pack("{s:s,s:s}", "kty", "EC", "crv", "P-256"));
  if (!jwk || !jose_jwk_gen(nullptr, jwk.get())) return internalError("cannot generate the development key");
  DevKey key{dumped(jwk.get())};
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) return invalidArgument(path + ": cannot create the development key");
  bool ok = ::write(fd, key.private_jwk.data(), key.private_jwk.size()) == static_cast<ssize_t>(key.private_jwk.size());
  ok = ::fchmod(fd, 0600) == 0 && ok;
  ok = ::close(fd) == 0 && ok;
  if (!ok) return invalidArgument(path + ": cannot write the development key");
  return key;
}

Result<std::shared_ptr<const Jwks>> devJwks(const DevKey& key) {
  auto jwk = privateJwk(key);
  if (!jwk.isOk()) return jwk.status();
  return Jwks::parse("{\"keys\":[" + dumped(publicOf(jwk->get()).get()) + "]}");
}

Result<std::string> keyThumbprint(const DevKey& key) {
  auto jwk = privateJwk(key);
  if (!jwk.isOk()) return jwk.status();
  JsonPtr t(jose_jwk_thp(nullptr, publicOf(jwk->get()).get(), "S256"));
  if (!json_is_string(t.get())) return internalError("no thumbprint");
  return std::string(json_string_value(t.get()));
}

Result<std::string> mintToken(const DevKey& key, const MintRequest& r) {
  auto jwk = privateJwk(key);
  if (!jwk.isOk()) return jwk.status();
  const int64_t now = r.now != 0 ? r.now : systemNow();
  JsonPtr claims(json_object());
  json_object_set_new(claims.get(), "iss", json_string(r.issuer.c_str()));
  json_object_set_new(claims.get(), "aud", json_string(r.audience.c_str()));
  json_object_set_new(claims.get(), "client_id", json_string(r.client_id.c_str()));
  json_object_set_new(claims.get(), "scope", json_string(r.scope.c_str()));
  json_object_set_new(claims.get(), "jti", json_string(randomId().c_str()));
  json_object_set_new(claims.get(), "iat", json_integer(now));
  json_object_set_new(claims.get(), "nbf", json_integer(now));
  json_object_set_new(claims.get(), "exp", json_integer(now + r.lifetime_s));
  if (r.kind == "practitioner") {
    if (r.hpr_number.empty()) return invalidArgument("a practitioner token needs an HPR number");
    json_object_set_new(claims.get(), "sub", json_string(("hpr-" + r.hpr_number).c_str()));
    json_object_set_new(claims.get(), "helseid://claims/hpr/hpr_number", json_string(r.hpr_number.c_str()));
    json_object_set_new(claims.get(), "helseid://claims/identity/security_level", json_string("4"));
  } else if (r.kind == "patient") {
    if (r.pid.empty()) return invalidArgument("a patient token needs a pid (fødselsnummer or D-nummer)");
    json_object_set_new(claims.get(), "sub", json_string(("pid-" + randomId()).c_str()));
    json_object_set_new(claims.get(), "helseid://claims/identity/pid", json_string(r.pid.c_str()));
    json_object_set_new(claims.get(), "helseid://claims/identity/security_level", json_string("4"));
  } else if (r.kind != "system") {
    return invalidArgument("the kind must be practitioner, patient or system");
  }
  if (!r.organization_number.empty()) {
    json_object_set_new(claims.get(), "helseid://claims/client/claims/orgnr_parent",
                        json_string(r.organization_number.c_str()));
  } else if (r.kind == "system") {
    return invalidArgument("a system token needs an organisation number");
  }
  if (!r.dpop_jkt.empty()) json_object_set_new(claims.get(), "cnf", json_pack("{s:s}", "jkt", r.dpop_jkt.c_str()));
  JsonPtr header(json_pack("{s:s,s:s,s:s}", "alg", "ES256", "typ", "at+jwt", "kid", "planbro-dev"));
  return signCompact(jwk->get(), std::move(header), dumped(claims.get()));
}

Result<std::string> mintDpopProof(const DevKey& key, const std::string& method, const std::string& url,
                                  const std::string& access_token, int64_t now) {
  auto jwk = privateJwk(key);
  if (!jwk.isOk()) return jwk.status();
  JsonPtr pub(json_deep_copy(jwk->get()));
  jose_jwk_pub(nullptr, pub.get());
  JsonPtr header(json_pack("{s:s,s:s,s:O}", "typ", "dpop+jwt", "alg", "ES256", "jwk", pub.get()));
  JsonPtr claims(json_object());
  json_object_set_new(claims.get(), "jti", json_string(randomId().c_str()));
  json_object_set_new(claims.get(), "htm", json_string(method.c_str()));
  json_object_set_new(claims.get(), "htu", json_string(url.c_str()));
  json_object_set_new(claims.get(), "iat", json_integer(now != 0 ? now : systemNow()));
  if (!access_token.empty()) json_object_set_new(claims.get(), "ath", json_string(sha256Base64Url(access_token).c_str()));
  return signCompact(jwk->get(), std::move(header), dumped(claims.get()));
}

}  // namespace planbro::gateway::security
