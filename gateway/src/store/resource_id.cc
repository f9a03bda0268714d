#include "planbro/gateway/store/resource_id.h"

#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <random>

namespace planbro::gateway::store {
namespace {

constexpr size_t kIdRandomBytes = 16;
// Ids drawn per RAND_bytes call. A call costs about 7,000 instructions whatever its size (the DRBG's lock, reseed
// check and AES set-up), as much as the rest of a search; every search response and every create needs an id. The
// bytes are not secret (they end up in public ids), so a per-thread stock of them is safe.
constexpr size_t kIdsPerDraw = 64;

// 16 random bytes. RAND_bytes does not fail once OpenSSL is seeded from the OS; should it ever, the id still needs
// its randomness (uniqueness across nodes), so the OS generator answers instead.
std::array<unsigned char, kIdRandomBytes> randomBytes() {
  struct Stock {
    std::array<unsigned char, kIdRandomBytes * kIdsPerDraw> bytes{};
    size_t next = kIdRandomBytes * kIdsPerDraw;  // empty
  };
  thread_local Stock stock;
  std::array<unsigned char, kIdRandomBytes> b{};
  if (stock.next == stock.bytes.size()) {
    if (RAND_bytes(stock.bytes.data(), static_cast<int>(stock.bytes.size())) != 1) {
      std::random_device rd;
      for (unsigned char& c : b) c = static_cast<unsigned char>(rd());
      return b;
    }
    stock.next = 0;
  }
  std::copy_n(stock.bytes.begin() + static_cast<std::ptrdiff_t>(stock.next), b.size(), b.begin());
  stock.next += b.size();
  return b;
}

}  // namespace

std::string newResourceId() {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(now).count();
  const uint64_t millis = static_cast<uint64_t>(micros / 1000);
  // The microseconds within the millisecond, scaled to 12 bits (RFC 9562 6.2, method 3).
  const uint64_t fraction = static_cast<uint64_t>(micros % 1000) * 4096 / 1000;
  std::array<unsigned char, 16> b = randomBytes();
  for (int i = 0; i < 6; ++i) b[i] = static_cast<unsigned char>(millis >> (40 - 8 * i));
  b[6] = static_cast<unsigned char>(0x70 | ((fraction >> 8) & 0x0f));  // version 7
  b[7] = static_cast<unsigned char>(fraction & 0xff);
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // RFC 9562 variant
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (size_t i = 0; i < b.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[b[i] >> 4]);
    out.push_back(kHex[b[i] & 0x0f]);
  }
  return out;
}

}  // namespace planbro::gateway::store
