#pragma once
// The handshake and heartbeat of a rest-hook Subscription (R4 "ping"), one synchronous libcurl request. Without a
// payload the endpoint is a notification URL: POST with no body (the R4 ping), headers and timeouts as for
// notifications. With the full-resource payload the endpoint is a FHIR base (R4), and a FHIR server answers an empty
// POST to its base with an error: the ping there is GET [endpoint]/metadata, which proves the same (reachable, the
// credentials accepted) without writing anything. HTTPS is verified; redirects are not followed.

#include <chrono>
#include <string>
#include <vector>

#include "planbro/fhir-model/status.h"

namespace planbro::gateway::subscriptions {

struct PingRequest {
  std::string subscription;  // Subscription/<id>, for the log
  std::string type;          // handshake | heartbeat
  std::string endpoint;
  bool fhir_base = false;    // full-resource payload: GET [endpoint]/metadata
  std::vector<std::string> headers;
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds timeout{10000};
  bool allow_plain_http = false;
  /** Non-empty: POSTed as application/fhir+json (a topic-based Subscription's handshake / heartbeat Bundle, or
   *  one notification), instead of the empty R4 ping. */
  std::string body;
};

/** Also the notification POST of topic-based Subscriptions (notification.h). Ok on a 2xx answer; else kUnavailable with "HTTP <code>" or the transport error (never a header value). */
Status sendPing(const PingRequest& request);

}  // namespace planbro::gateway::subscriptions
