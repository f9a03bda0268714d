// Token layout (before base64url without padding): 12-byte random nonce | ciphertext | 16-byte GCM tag. The
// plaintext is the expiry (8 bytes, big-endian microseconds since the epoch) followed by the parameters as a query
// string; the resource type is the GCM associated data, so a token cannot be replayed against another type.
#include "planbro/gateway/rest/page_token.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <memory>

#include "planbro/fhir-model/base64.h"

namespace planbro::gateway::rest {
namespace {

constexpr size_t kNonceSize = 12;
constexpr size_t kTagSize = 16;
constexpr size_t kExpirySize = 8;
// Far above any real search; bounds the work an attacker-chosen token can cause.
constexpr size_t kMaxTokenSize = 16 * 1024;

struct CipherContextFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CipherContext = std::unique_ptr<EVP_CIPHER_CTX, CipherContextFree>;

const unsigned char* bytes(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }
unsigned char* bytes(std::string& s) { return reinterpret_cast<unsigned char*>(s.data()); }

std::string base64UrlNoPadding(std::string_view in) {
  std::string out = fhir::base64Encode(in, true);
  while (!out.empty() && out.back() == '=') out.pop_back();
  return out;
}

Status badToken() {
  return invalidArgument("the page link is invalid or has expired; repeat the search");
}

}  // namespace

PageTokenSealer::PageTokenSealer(std::string key, std::chrono::seconds lifetime)
    : key_(std::move(key)), lifetime_(lifetime) {}

std::string PageTokenSealer::seal(std::string_view type, const search::QueryParams& params,
                                  store::Timestamp now) const {
  const auto expiry = static_cast<uint64_t>(
      (now + std::chrono::duration_cast<std::chrono::microseconds>(lifetime_)).time_since_epoch().count());
  std::string plain(kExpirySize, '\0');
  for (size_t i = 0; i < kExpirySize; ++i) plain[i] = static_cast<char>((expiry >> (8 * (kExpirySize - 1 - i))) & 0xFF);
  plain += search::encodeQuery(params);

  std::string out(kNonceSize + plain.size() + kTagSize, '\0');
  // A failure of the random source or the cipher here is a broken OpenSSL installation: abort loudly rather than
  // hand out a link that can never open (or, worse, a predictable nonce).
  if (RAND_bytes(bytes(out), static_cast<int>(kNonceSize)) != 1) std::abort();
  CipherContext ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, bytes(key_), bytes(out)) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, bytes(type), static_cast<int>(type.size())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), bytes(out) + kNonceSize, &len, bytes(plain), static_cast<int>(plain.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), bytes(out) + kNonceSize + len, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kTagSize),
                          bytes(out) + kNonceSize + plain.size()) != 1) {
    std::abort();
  }
  return base64UrlNoPadding(out);
}

Result<search::QueryParams> PageTokenSealer::open(std::string_view type, std::string_view token,
                                                  store::Timestamp now) const {
  if (token.size() > kMaxTokenSize) return badToken();
  for (char c : token) {
    const bool url_safe = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                          c == '_';
    if (!url_safe) return badToken();
  }
  std::optional<std::string> raw = fhir::base64Decode(token);
  if (!raw || raw->size() < kNonceSize + kExpirySize + kTagSize) return badToken();
  const size_t cipher_size = raw->size() - kNonceSize - kTagSize;
  std::string plain(cipher_size, '\0');
  std::string tag = raw->substr(kNonceSize + cipher_size);
  CipherContext ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  if (!ctx || EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, bytes(key_), bytes(*raw)) != 1 ||
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, bytes(type), static_cast<int>(type.size())) != 1 ||
      EVP_DecryptUpdate(ctx.get(), bytes(plain), &len, bytes(*raw) + kNonceSize, static_cast<int>(cipher_size)) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kTagSize), bytes(tag)) != 1 ||
      EVP_DecryptFinal_ex(ctx.get(), bytes(plain) + len, &len) != 1) {
    return badToken();  // altered, another key or another type
  }
  uint64_t expiry = 0;
  for (size_t i = 0; i < kExpirySize; ++i) expiry = (expiry << 8) | static_cast<unsigned char>(plain[i]);
  if (static_cast<int64_t>(expiry) < now.time_since_epoch().count()) return badToken();
  auto params = search::decodeQuery(std::string_view(plain).substr(kExpirySize), false);
  if (!params.isOk()) return badToken();
  return params;
}

}  // namespace planbro::gateway::rest
