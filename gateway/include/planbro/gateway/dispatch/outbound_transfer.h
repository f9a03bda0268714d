#pragma once
// The settings every outbound HTTP transfer to a subscriber's endpoint starts from (the rest-hook delivery, the
// Subscription handshake and heartbeat ping): https only unless plain http is allowed, redirects never followed (a
// redirect could lead a notification to a host the endpoint allow-list never admitted), the peer's certificate and
// host name verified, both waits bounded, no signals. The caller adds its method, headers and body.

#include <curl/curl.h>

#include <chrono>
#include <string>

namespace planbro::gateway::dispatch {

struct OutboundTransferLimits {
  bool allow_plain_http = false;
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds timeout{10000};
};

/** Sets `url` (curl copies it) and the settings above on `easy`. */
void setOutboundTransferOptions(CURL* easy, const std::string& url, const OutboundTransferLimits& limits);

}  // namespace planbro::gateway::dispatch
