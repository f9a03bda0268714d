#include "planbro/gateway/security/dpop_nonce.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "jose_util.h"

namespace planbro::gateway::security {

namespace {
constexpr size_t kNonceBytes = 16;  // 128 bits of the HMAC: unguessable, and short in a header
}

DpopNonces::DpopNonces(std::string secret, int64_t window_s, Clock clock)
    : secret_(std::move(secret)), window_s_(window_s < 1 ? 1 : window_s), clock_(clock ? std::move(clock) : systemNow) {}

std::string DpopNonces::forWindow(int64_t window) const {
  // Domain-separated, so this key's MACs can never be mistaken for another use of the same secret.
  const std::string message = "planbro:dpop-nonce:" + std::to_string(window);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), secret_.data(), static_cast<int>(secret_.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, &mac_len);
  return detail::base64UrlEncode(std::string_view(reinterpret_cast<const char*>(mac), kNonceBytes));
}

std::string DpopNonces::current() const { return forWindow(clock_() / window_s_); }

bool DpopNonces::accepts(std::string_view nonce) const {
  const int64_t window = clock_() / window_s_;
  bool ok = false;
  for (int64_t w : {window, window - 1}) {
    const std::string expected = forWindow(w);
    // Both checked, in constant time: the answer's timing says nothing about how close a guess came.
    ok |= nonce.size() == expected.size() && CRYPTO_memcmp(nonce.data(), expected.data(), expected.size()) == 0;
  }
  return ok;
}

}  // namespace planbro::gateway::security
