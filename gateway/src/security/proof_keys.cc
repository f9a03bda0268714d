#include "proof_keys.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/params.h>

#include "jose.h"
#include "jose_util.h"

namespace planbro::gateway::security::detail {
namespace {

EVP_PKEY* importP256(const std::string& x, const std::string& y) {
  std::string point = "\x04" + x + y;  // SEC 1 uncompressed form
  char group[] = "prime256v1";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
                         OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()),
                         OSSL_PARAM_construct_end()};
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr);
  EVP_PKEY* key = nullptr;
  if (ctx == nullptr || EVP_PKEY_fromdata_init(ctx) != 1 ||
      EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) != 1) {
    EVP_PKEY_CTX_free(ctx);
    return nullptr;
  }
  EVP_PKEY_CTX_free(ctx);
  // The point must be on the curve and not the point at infinity (invalid-curve keys); once per key, so the full
  // check costs nothing per proof.
  EVP_PKEY_CTX* check = EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr);
  const bool valid = check != nullptr && EVP_PKEY_public_check(check) == 1;
  EVP_PKEY_CTX_free(check);
  if (!valid) {
    EVP_PKEY_free(key);
    return nullptr;
  }
  return key;
}

}  // namespace

std::shared_ptr<const ProofKey> ProofKeyCache::es256(const json_t* jwk) {
  std::optional<std::string_view> x_b64 = stringMember(jwk, "x");
  std::optional<std::string_view> y_b64 = stringMember(jwk, "y");
  if (!x_b64 || !y_b64) return nullptr;
  std::string id = std::string(*x_b64) + "." + std::string(*y_b64);
  {
    std::lock_guard lock(mutex_);
    if (auto it = keys_.find(id); it != keys_.end()) return it->second;
  }
  std::optional<std::string> x = base64UrlDecode(*x_b64);
  std::optional<std::string> y = base64UrlDecode(*y_b64);
  if (!x || !y || x->size() != 32 || y->size() != 32) return nullptr;
  EVP_PKEY* raw = importP256(*x, *y);
  if (raw == nullptr) return nullptr;
  JsonPtr thumbprint(jose_jwk_thp(nullptr, jwk, "S256"));
  if (!json_is_string(thumbprint.get())) {
    EVP_PKEY_free(raw);
    return nullptr;
  }
  auto entry = std::make_shared<ProofKey>(ProofKey{std::shared_ptr<EVP_PKEY>(raw, EVP_PKEY_free),
                                                   std::string(json_string_value(thumbprint.get()))});
  std::lock_guard lock(mutex_);
  if (keys_.size() >= max_entries_) keys_.clear();  // a cache: the next proofs import again
  keys_.emplace(std::move(id), entry);
  return entry;
}

bool verifyEs256(EVP_PKEY* key, std::string_view signing_input, std::string_view signature_b64) {
  std::optional<std::string> raw = base64UrlDecode(signature_b64);
  if (!raw || raw->size() != 64) return false;
  const auto* bytes = reinterpret_cast<const unsigned char*>(raw->data());
  ECDSA_SIG* sig = ECDSA_SIG_new();
  BIGNUM* r = BN_bin2bn(bytes, 32, nullptr);
  BIGNUM* s = BN_bin2bn(bytes + 32, 32, nullptr);
  if (sig == nullptr || r == nullptr || s == nullptr || ECDSA_SIG_set0(sig, r, s) != 1) {
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(sig);
    return false;
  }
  unsigned char* der = nullptr;
  const int der_len = i2d_ECDSA_SIG(sig, &der);
  ECDSA_SIG_free(sig);
  if (der_len <= 0) return false;
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  const bool ok = md != nullptr && EVP_DigestVerifyInit(md, nullptr, EVP_sha256(), nullptr, key) == 1 &&
                  EVP_DigestVerify(md, der, static_cast<size_t>(der_len),
                                   reinterpret_cast<const unsigned char*>(signing_input.data()),
                                   signing_input.size()) == 1;
  EVP_MD_CTX_free(md);
  OPENSSL_free(der);
  return ok;
}

}  // namespace planbro::gateway::security::detail
