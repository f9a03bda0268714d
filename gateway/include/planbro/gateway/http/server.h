#pragma once
// The HTTP/1.1 server (Boost.Beast, asynchronous): N I/O threads run the sockets; handlers run on a separate worker
// pool so a slow database call never blocks I/O. Keep-alive; pipelined requests are answered one at a time in
// order; per-connection read/write/idle timeouts; header (431) and body (413) limits enforced by the parser before
// the body is read; a connection cap; gzip when asked; graceful shutdown. Built-in endpoints: GET /healthz (alive),
// GET /readyz (every readiness check passes), GET /metrics (Prometheus). Everything else goes through the
// RequestFilters and then the RequestHandler. See docs/server.md.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "planbro/fhir-model/status.h"
#include "planbro/gateway/config/gateway_config.h"
#include "planbro/gateway/http/handler.h"
#include "planbro/gateway/http/metrics.h"

namespace spdlog {
class logger;
}

namespace planbro::gateway::http {

/** Everything the server needs; fromConfig() fills it from the gateway config. */
struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;  // 0: any free port, read it back with Server::port()
  uint32_t io_threads = 1;
  uint32_t worker_threads = 2;  // GET and HEAD handlers; 0: they run on the I/O threads
  uint32_t write_threads = 0;   // every other method's handlers; 0: they share the worker threads (or I/O threads)
  uint32_t max_header_bytes = 16 * 1024;
  uint64_t max_body_bytes = 16ull << 20;
  uint32_t max_connections = 16384;
  /** Request bodies of all connections together; a body that does not fit is answered 503 (Retry-After). */
  uint64_t max_inflight_body_bytes = 256ull << 20;
  std::chrono::milliseconds read_timeout{30000};
  std::chrono::milliseconds write_timeout{30000};
  std::chrono::milliseconds idle_timeout{60000};
  std::chrono::milliseconds shutdown_timeout{10000};
  uint32_t gzip_min_bytes = 1024;
  bool access_log = true;
  bool access_log_text = false;  // logging.format: text (one line for people) rather than JSON members
  /** HTTPS when both are set (PEM files, read at start()); plain HTTP otherwise. */
  std::string tls_certificate_file;
  std::string tls_private_key_file;
  bool tls_min_version_1_3 = false;  // false: TLS 1.2 and 1.3
  std::string tls_client_ca_file;    // mutual TLS: client certificates must chain to this CA file ("" = off)
  bool tls_require_client_certificate = false;  // with a CA file: a client without a certificate is refused
  /** server.cors.allowed_origins: exact origins whose browsers may call; empty: no CORS headers at all. */
  std::vector<std::string> cors_allowed_origins;
  /** server.metrics_listen: when set, /metrics is served on this second, plain-HTTP listener only (404 on the main
   * port), and that listener serves nothing else. */
  bool metrics_listen = false;
  std::string metrics_host = "127.0.0.1";
  uint16_t metrics_port = 0;
  /** Where access lines go; nullptr: the logger named "access" if registered, else none. */
  std::shared_ptr<spdlog::logger> access_logger;

  static ServerOptions fromConfig(const config::GatewayConfig& config);
};

/** A named readiness check for /readyz; must be thread-safe. It runs on a worker thread (an I/O thread only when
 * worker_threads is 0), so it may block briefly (a database ping), never for long: /readyz waits for it. */
struct ReadinessCheck {
  std::string name;
  std::function<Status()> check;
};

/**
 * One listening server. Lifecycle: construct, add filters/readiness checks, start(), ..., stop() (or destroy).
 * start() and stop() are called from one controlling thread; everything else is thread-safe.
 */
class Server {
 public:
  /** `handler` answers everything but the built-in endpoints; `metrics` may be shared with other parts (nullptr:
   * the server makes its own). */
  Server(ServerOptions options, std::shared_ptr<RequestHandler> handler,
         std::shared_ptr<MetricsRegistry> metrics = nullptr);
  ~Server();  // stops (gracefully) when still running
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /** Runs before the handler, in order. Call before start(). */
  void addFilter(std::shared_ptr<RequestFilter> filter);
  /** Adds a check to /readyz. Thread-safe; may be called after start(). */
  void addReadinessCheck(ReadinessCheck check);

  /** Binds, listens and starts the threads. Non-blocking. Errors: kUnavailable (address in use, bad host). */
  Status start();
  /** The bound port (useful with port 0). 0 before start(). */
  uint16_t port() const;
  /** The metrics listener's bound port; 0 when there is none or before start(). */
  uint16_t metricsPort() const;
  MetricsRegistry& metrics();

  /**
   * Graceful shutdown, blocking: stops accepting, closes idle connections, lets in-flight requests finish and be
   * answered (with Connection: close) for at most options.shutdown_timeout, then closes everything and joins the
   * threads. Idempotent.
   */
  void stop();

  /** Open connections right now. */
  size_t openConnections() const;

  class Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

/**
 * Raises the soft RLIMIT_NOFILE to the hard limit (so 10,000+ idle connections fit). Returns the soft limit now in
 * force. Never fails the caller; on error returns the unchanged limit.
 */
uint64_t raiseFileDescriptorLimit();

}  // namespace planbro::gateway::http
