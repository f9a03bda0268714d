#pragma once
// Server-provided DPoP nonces (RFC 9449 §8). A nonce is the HMAC-SHA256 of a time window's number under a server
// secret, so every node that holds the secret (all nodes on one database: ResourceStore::serverSecret) issues and
// accepts the same nonces without sharing any state. A nonce is accepted in the window it was issued in and the
// next one, so it lives between one and two windows; a proof carrying an older one (or none) is answered
// `use_dpop_nonce` with the current nonce in a `DPoP-Nonce` header, and the client retries once with it.

#include <cstdint>
#include <string>
#include <string_view>

#include "planbro/gateway/security/token_validator.h"

namespace planbro::gateway::security {

class DpopNonces {
 public:
  /** `secret`: at least 16 bytes; `window_s` ≥ 1. */
  DpopNonces(std::string secret, int64_t window_s, Clock clock = systemNow);

  /** The nonce of the current window (base64url, 22 characters). */
  std::string current() const;
  /** Whether `nonce` is the current window's or the previous one's (compared in constant time). */
  bool accepts(std::string_view nonce) const;

 private:
  std::string forWindow(int64_t window) const;

  std::string secret_;
  int64_t window_s_;
  Clock clock_;
};

}  // namespace planbro::gateway::security
