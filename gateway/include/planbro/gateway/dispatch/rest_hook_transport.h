#pragma once
// The FHIR R4 rest-hook channel as a Transport, over libcurl. R4 (CodeSystem subscription-channel-type): without a
// payload the notification is a POST to the endpoint with no body; with one, the endpoint is a FHIR base and the
// change is applied there: PUT [endpoint]/[type]/[id] with the resource (create, update), DELETE for a delete. Every
// request carries `Idempotency-Key` (stable per event and receiver) and the configured headers (the consumer's
// credentials: Subscription.channel.header, e.g. `Authorization: Bearer ...`); mutual TLS with a client certificate.
// HTTPS is verified (peer and host name) against the system's or the configured CA; redirects are not followed;
// every request has a connect and a total timeout. A 2xx answer is delivered; anything else fails (and is retried).

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "planbro/fhir-model/status.h"
#include "planbro/gateway/dispatch/transport.h"

namespace planbro::gateway::dispatch {

struct RestHookOptions {
  std::string endpoint;  // https://... ; http:// only with allow_plain_http
  enum class Payload {
    kEmpty,   // POST, no body
    kIdOnly,  // POST, no body, Content-Location: [type]/[id]/_history/[version]
    kFull,    // PUT / DELETE [endpoint]/[type]/[id]
  };
  Payload payload = Payload::kEmpty;
  std::vector<std::string> headers;  // "Name: value"; no CR or LF
  std::chrono::milliseconds connect_timeout{5'000};
  std::chrono::milliseconds timeout{10'000};
  std::string ca_file;           // empty: the system's trust store
  std::string client_cert_file;  // PEM, for mutual TLS (with client_key_file)
  std::string client_key_file;
  bool allow_plain_http = false;  // loopback tests and closed networks only
  size_t max_parallel = 8;        // ordering keys delivered at once (each key's events one after another)
};

/** Checks the options (endpoint scheme, header syntax, both or neither of the client certificate files). */
Result<std::shared_ptr<Transport>> makeRestHookTransport(RestHookOptions options);

}  // namespace planbro::gateway::dispatch
