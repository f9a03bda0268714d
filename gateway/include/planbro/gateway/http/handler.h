#pragma once
// The seam between the HTTP server and what answers requests (the FHIR REST layer): plain value types for a
// request and a response, a per-request context that carries the request id and (once authentication lands) the
// authenticated principal, and the RequestHandler / RequestFilter interfaces. No Beast types leak through here.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "planbro/fhir-model/status.h"
#include "planbro/gateway/security/principal.h"

namespace planbro::gateway::http {

/** Header fields in arrival order; names compare case-insensitively. */
class Headers {
 public:
  /** The first value of `name`, or nullptr. */
  const std::string* find(std::string_view name) const;
  /** The first value of `name`, or "" when absent. */
  std::string_view get(std::string_view name) const;
  /** Appends a field (repeated fields are kept). */
  void add(std::string name, std::string value);
  /** Replaces every field named `name` by one. */
  void set(std::string name, std::string value);
  void erase(std::string_view name);
  const std::vector<std::pair<std::string, std::string>>& fields() const { return fields_; }

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

/** One HTTP request as the handler sees it. The body has been read whole and is within limits.max_body_bytes. */
struct Request {
  std::string method;  // "GET", "POST", ... as sent
  std::string target;  // the request target as sent: path and query ("/Patient?name=x")
  std::string path;    // target before '?', percent-encoding kept ("/Patient/123")
  std::string query;   // target after '?', without it ("" when none)
  Headers headers;
  std::string body;
  unsigned version = 11;  // 10 or 11
};

/** One HTTP response. Content-Length, Connection, Date-free framing and gzip are the server's job. */
struct Response {
  int status = 200;
  Headers headers;  // e.g. Content-Type, ETag, Location
  std::string body;
};

/** Who is asking (defined by the security library; filled by the authentication filter). */
using Principal = security::Principal;

/**
 * What the pipeline knows about one request beyond its bytes. Created by the server per request, passed by
 * reference through the filters and the handler on one thread at a time.
 */
struct RequestContext {
  std::string request_id;               // from a sane X-Request-Id header, else generated; echoed in the response
  security::SharedPrincipal principal;  // the single place an access decision reads who is asking (shared, read-only)
  std::string interaction = "other";    // metrics/log label set by the handler: "read", "search-type", ...
  std::string remote_address;           // peer IP, for audit
  /** The SHA-256 of the client certificate's DER, base64url without padding (RFC 8705 `x5t#S256`), when the
   *  client presented one over mutual TLS that verified against server.tls.client_ca_file; "" otherwise. */
  std::string client_certificate_sha256;
  /** Headers a filter or policy adds to the response, whatever it is (`WWW-Authenticate` on a refusal,
   *  `DPoP-Nonce`). The server adds them to the response it sends. */
  Headers response_headers;
  /** The access policy's state for this one request (the consent policy's entitlement, computed once per request
   *  and never kept beyond it). Opaque to everything else. */
  mutable std::shared_ptr<const void> access_state;
};

/**
 * Answers requests. Implemented by the FHIR REST layer. handle() runs on a worker thread (or an I/O thread when
 * server.worker_threads is 0), concurrently for different requests: implementations must be thread-safe. It may
 * block (database calls). It returns every client error as a Response (an OperationOutcome body); an exception
 * escaping it is treated as a bug and answered 500.
 */
class RequestHandler {
 public:
  virtual ~RequestHandler() = default;
  virtual Response handle(const Request& request, RequestContext& context) = 0;

  /**
   * Answers `request` now if that needs no blocking call (no database or network: a read the store answers from
   * memory), exactly as handle() would; nullopt otherwise, and the server then calls handle() on a handler thread.
   * Runs on an I/O thread, for GET and HEAD only, after the filters. Must be thread-safe and must not block.
   */
  virtual std::optional<Response> handleWithoutBlocking(const Request& request, RequestContext& context) {
    (void)request;
    (void)context;
    return std::nullopt;
  }
};

/**
 * A stage run before the handler, in registration order: authentication fills context.principal; the access
 * decision for the whole request (coarse) lives here too. A non-ok Status stops the pipeline and is answered with
 * an OperationOutcome whose HTTP status comes from the Status code, carrying context.response_headers (e.g.
 * WWW-Authenticate). Thread-safe. It runs once per request, for GET and HEAD on the I/O thread (so that a handler
 * may answer from memory there) unless some registered filter's mayBlock() is true; then on a handler thread.
 */
class RequestFilter {
 public:
  virtual ~RequestFilter() = default;
  virtual Status apply(const Request& request, RequestContext& context) = 0;
  /** Whether apply() may block (fetch keys, ask a shared replay cache in a database). When any registered filter
   *  may, the server runs the filters of every request on a handler thread, never on an I/O thread. */
  virtual bool mayBlock() const { return false; }
};

/** A Response whose body is a one-issue OperationOutcome for `status` (HTTP status from the one mapping table). */
Response outcomeResponse(const Status& status);
/** A Response with an explicit HTTP status and OperationOutcome issue code (e.g. 501 "not-supported"). */
Response outcomeResponse(int http_status, std::string_view issue_code, std::string diagnostics);

}  // namespace planbro::gateway::http
