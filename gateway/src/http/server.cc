#include "planbro/gateway/http/server.h"

#include <sys/resource.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <unordered_map>

#include "body_budget.h"
#include "gzip.h"
#include "planbro/fhir-model/json.h"
#include "planbro/fhir-model/operation_outcome.h"
#include "planbro/gateway/http/logging.h"
#include "planbro/gateway/http/tls_files.h"

namespace planbro::gateway::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
// A connection's executor: its event loop's. Every loop is run by exactly one thread (Impl::loops), so everything
// dispatched to a connection runs on that thread, one handler after another, without a strand; a handler thread
// hands its response back by dispatching to it. Concrete rather than the type-erased any_io_executor: every async
// operation copies its executor, and the type-erased copies showed up in profiles.
using LoopExecutor = asio::io_context::executor_type;
using Socket = tcp::socket::rebind_executor<LoopExecutor>::other;
using Stream = beast::basic_stream<tcp, LoopExecutor>;
using TlsStream = beast::ssl_stream<Stream>;

std::string verifiedPeerThumbprint(SSL* ssl);  // below, with the TLS context

namespace {

/** What the server needs of a connection, whatever its stream: the session map holds these. */
class SessionBase {
 public:
  virtual ~SessionBase() = default;
  virtual void shutdownSoft() = 0;
  virtual void forceClose() = 0;
};

bool isHttpParseError(const beast::error_code& ec) {
  return ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category();
}

bool saneRequestId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
              c == '.';
    if (!ok) return false;
  }
  return true;
}

bool iequals(std::string_view a, std::string_view b) { return beast::iequals(a, b); }

/**
 * A response's buffers (head, body) as a plain buffer sequence that is not a std::array, so asio::async_write takes
 * its generic path (consumed and empty buffers skipped) rather than its two-buffer special case; see sendResponse.
 */
class WriteBuffers {
 public:
  using value_type = asio::const_buffer;
  using const_iterator = const asio::const_buffer*;
  WriteBuffers(const asio::const_buffer* first, size_t count) : first_(first), count_(count) {}
  const_iterator begin() const { return first_; }
  const_iterator end() const { return first_ + count_; }

 private:
  const asio::const_buffer* first_;
  size_t count_;
};

// A header a handler set is written only if it cannot break the framing: a token name and no CR, LF or NUL.
bool safeHeader(std::string_view name, std::string_view value) {
  if (name.empty()) return false;
  for (char c : name) {
    bool token = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    if (!token) return false;
  }
  return value.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

// The comma-separated tokens of every `name` field of a request, trimmed, in order ("a, b" and a second field "c"
// give a, b, c). Empty tokens are kept, so "chunked," is not taken for "chunked".
template <typename Fields>
std::vector<std::string> headerTokens(const Fields& fields, bhttp::field name) {
  std::vector<std::string> tokens;
  for (auto it = fields.find(name); it != fields.end() && it->name() == name; ++it) {
    std::string_view value(it->value().data(), it->value().size());
    for (;;) {
      size_t comma = value.find(',');
      std::string_view token = value.substr(0, comma);
      while (!token.empty() && (token.front() == ' ' || token.front() == '\t')) token.remove_prefix(1);
      while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
      tokens.emplace_back(token);
      if (comma == std::string_view::npos) break;
      value.remove_prefix(comma + 1);
    }
  }
  return tokens;
}

// How a request's body is framed, judged on its header before any body byte is read. Framing the server and a
// proxy in front of it could read differently is how a second request is smuggled inside the first (RFC 9112
// §6.1, §6.3), so only one reading is accepted: no Transfer-Encoding, or exactly `chunked` without Content-Length.
// Returns the refusal, or nullopt when the framing is sound. The connection is closed after a refusal.
template <typename Fields>
std::optional<Response> framingRefusal(const Fields& req, unsigned version) {
  std::vector<std::string> codings = headerTokens(req, bhttp::field::transfer_encoding);
  if (!codings.empty()) {
    if (codings.size() != 1 || !beast::iequals(codings.front(), "chunked") || version < 11) {
      return outcomeResponse(400, "not-supported",
                             "Transfer-Encoding other than a single \"chunked\" (HTTP/1.1) is not accepted");
    }
    if (req.count(bhttp::field::content_length) > 0) {
      return outcomeResponse(400, "structure", "Transfer-Encoding and Content-Length together are not accepted");
    }
  }
  for (const std::string& coding : headerTokens(req, bhttp::field::content_encoding)) {
    if (!beast::iequals(coding, "identity")) {
      return outcomeResponse(415, "not-supported",
                             "Content-Encoding of a request body is not supported; send it unencoded (identity)");
    }
  }
  for (const std::string& expectation : headerTokens(req, bhttp::field::expect)) {
    if (!beast::iequals(expectation, "100-continue")) {
      return outcomeResponse(417, "not-supported", "Expect: only 100-continue is supported");
    }
  }
  return std::nullopt;
}

// The code of the first issue of an OperationOutcome body ("not-found", "invalid", "too-long", ...), for the
// access log: a token of FHIR's fixed IssueType value set, so it never carries data, unlike the diagnostics. ""
// when the body is not an OperationOutcome. Only the start of the body is scanned (the issue code comes first).
std::string outcomeIssueCode(const Response& r) {
  std::string_view body(r.body);
  body = body.substr(0, 64 * 1024);
  if (body.find(R"("resourceType":"OperationOutcome")") == std::string_view::npos) return {};
  size_t issue = body.find(R"("issue")");
  if (issue == std::string_view::npos) return {};
  size_t code = body.find(R"("code")", issue);
  if (code == std::string_view::npos) return {};
  size_t at = code + 6;
  while (at < body.size() && (body[at] == ' ' || body[at] == ':')) ++at;
  if (at >= body.size() || body[at] != '"') return {};
  size_t end = ++at;
  while (end < body.size() && end - at < 40 && ((body[end] >= 'a' && body[end] <= 'z') || body[end] == '-')) ++end;
  if (end == at || end >= body.size() || body[end] != '"') return {};
  return std::string(body.substr(at, end - at));
}

// Reads: the methods whose handlers may answer from memory on the I/O thread and otherwise run on the worker pool.
bool isRead(std::string_view method) { return method == "GET" || method == "HEAD"; }

// `micros` as milliseconds with three decimals ("12.345"), without snprintf: it runs for every access-log line.
void appendMillis(std::string& out, int64_t micros) {
  if (micros < 0) micros = 0;
  out += std::to_string(micros / 1000);
  const int64_t frac = micros % 1000;
  out += '.';
  out += static_cast<char>('0' + frac / 100);
  out += static_cast<char>('0' + frac / 10 % 10);
  out += static_cast<char>('0' + frac % 10);
}

// Fields the server owns: framing is computed from the body it actually sends.
bool serverOwnedField(std::string_view name) {
  return iequals(name, "Content-Length") || iequals(name, "Transfer-Encoding") || iequals(name, "Connection");
}

}  // namespace

class Server::Impl {
 public:
  Impl(ServerOptions o, std::shared_ptr<RequestHandler> h, std::shared_ptr<MetricsRegistry> m)
      : options(std::move(o)), handler(std::move(h)), metrics(m ? std::move(m) : std::make_shared<MetricsRegistry>()) {
    for (uint32_t i = 0; i < std::max<uint32_t>(1, options.io_threads); ++i) {
      loops.push_back(std::make_unique<asio::io_context>(1));  // concurrency hint: one thread runs it
    }
    requests = &metrics->counter("planbro_http_requests_total", "HTTP requests answered, by interaction and status",
                                 {"interaction", "status"});
    latency = &metrics->histogram("planbro_http_request_duration_seconds",
                                  "Time from a request's first byte to its response written, by interaction",
                                  {"interaction"});
    open_connections = &metrics->gauge("planbro_http_open_connections", "Open client connections").get();
    refused = &metrics->counter("planbro_http_connections_refused_total",
                                "Connections refused because limits.max_connections was reached")
                   .get();
    timeouts = &metrics->counter("planbro_http_timeouts_total", "Connections closed by a read, write or idle timeout",
                                 {"kind"});
    worker_queue = &metrics->gauge("planbro_http_worker_queue_depth",
                                   "Requests waiting for a worker thread").get();
    tls_failures = &metrics->counter("planbro_http_tls_handshake_failures_total",
                                     "TLS handshakes that failed or timed out (HTTPS only)").get();
    body_budget = std::make_unique<BodyBudget>(options.max_inflight_body_bytes);
    body_budget_refusals = &metrics->counter("planbro_http_body_budget_refusals_total",
                                             "Requests answered 503 because limits.max_inflight_body_bytes was "
                                             "taken by the bodies of other requests in flight").get();
    access_log = options.access_logger ? options.access_logger : spdlog::get("access");
    if (!options.access_log) access_log.reset();
    std::random_device rd;
    char prefix[16];
    std::snprintf(prefix, sizeof prefix, "%08x", rd());
    id_prefix = prefix;
  }

  void accept();
  void acceptMetrics();
  void onAccept(const beast::error_code& ec, Socket socket);
  void refuse(Socket socket);
  std::string nextRequestId() { return id_prefix + "-" + std::to_string(++request_counter); }
  template <typename AsyncStream, typename... StreamArgs>
  void openSession(bool metrics_only, StreamArgs&&... stream_args);
  void sessionOpened(uint64_t id, const std::shared_ptr<SessionBase>& s);
  void sessionClosed(uint64_t id);
  template <typename F>
  void forEachSession(F f);
  bool waitDrained(Clock::time_point deadline);
  Status makeTlsContext();

  // Shared state: declared before the io_context so it outlives every handler the io_context destroys.
  ServerOptions options;
  std::shared_ptr<RequestHandler> handler;
  std::shared_ptr<MetricsRegistry> metrics;
  std::vector<std::shared_ptr<RequestFilter>> filters;
  bool filters_may_block = false;  // some filter may block: filters never run on an I/O thread
  std::mutex readiness_mutex;
  std::vector<ReadinessCheck> readiness;
  std::shared_ptr<spdlog::logger> access_log;
  CounterFamily* requests = nullptr;
  HistogramFamily* latency = nullptr;
  Gauge* open_connections = nullptr;
  Counter* refused = nullptr;
  CounterFamily* timeouts = nullptr;
  Gauge* worker_queue = nullptr;
  Counter* tls_failures = nullptr;
  std::string id_prefix;
  std::atomic<uint64_t> request_counter{0};
  std::atomic<bool> stopping{false};
  std::atomic<uint16_t> bound_port{0};
  std::atomic<size_t> connections{0};
  std::unique_ptr<BodyBudget> body_budget;  // limits.max_inflight_body_bytes, shared by every connection
  Counter* body_budget_refusals = nullptr;
  std::mutex sessions_mutex;
  std::condition_variable drained;
  std::unordered_map<uint64_t, std::weak_ptr<SessionBase>> sessions;
  uint64_t next_session_id = 0;
  bool running = false;
  bool stopped = false;

  // One event loop per I/O thread, each run by its own thread; accepted connections are dealt round-robin. A
  // loop shared by all I/O threads made them wake each other and contend for its queue on every completion, which
  // cost a read served from memory a third of its CPU in the load benchmark. loops[0] also runs the acceptor.
  std::vector<std::unique_ptr<asio::io_context>> loops;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::atomic<size_t> next_loop{0};
  asio::io_context& nextLoop() { return *loops[next_loop.fetch_add(1, std::memory_order_relaxed) % loops.size()]; }
  // Destroyed before the loops: their pending tasks release their sessions.
  std::unique_ptr<asio::thread_pool> workers;  // GET and HEAD
  std::unique_ptr<asio::thread_pool> writers;  // every other method (see handlerPool)
  std::optional<asio::ssl::context> tls;  // set when the server speaks HTTPS
  std::optional<tcp::acceptor> acceptor;
  std::optional<asio::steady_timer> accept_retry;
  std::optional<tcp::acceptor> metrics_acceptor;  // server.metrics_listen: /metrics only, plain HTTP
  std::atomic<uint16_t> metrics_port{0};
  std::vector<std::thread> io_threads;
};

namespace {

/**
 * One connection over `AsyncStream`: Stream (plain TCP) or TlsStream. All members are touched only on the thread of
 * the session's event loop (the TCP stream's executor). Timeouts and socket operations go to the TCP layer
 * underneath either stream.
 */
template <typename AsyncStream>
class Session final : public SessionBase, public std::enable_shared_from_this<Session<AsyncStream>> {
 public:
  static constexpr bool kTls = std::is_same_v<AsyncStream, TlsStream>;

  template <typename... StreamArgs>
  Session(Server::Impl& server, uint64_t id, StreamArgs&&... stream_args)
      : server_(server), stream_(std::forward<StreamArgs>(stream_args)...), id_(id) {
    // A chunked body's size is known a chunk at a time: each chunk is reserved before it is read.
    chunk_header_ = [this](uint64_t size, beast::string_view, beast::error_code& cec) {
      if (!body_reservation_.grow(size)) cec = asio::error::no_buffer_space;
    };
    beast::error_code ec;
    auto ep = tcp_().socket().remote_endpoint(ec);
    if (!ec) remote_ = ep.address().to_string();
    server_.connections.fetch_add(1);
    server_.open_connections->inc();
  }
  ~Session() {
    server_.open_connections->dec();
    server_.sessionClosed(id_);
  }

  bool metrics_only = false;  // a connection to server.metrics_listen: answers /metrics, nothing else

  void start() {
    asio::dispatch(stream_.get_executor(), [self = this->shared_from_this()] {
      if constexpr (kTls) {
        self->handshake();
      } else {
        self->waitForRequest();
      }
    });
  }

  // Graceful shutdown: an idle connection closes now; a busy one closes after its current response.
  void shutdownSoft() override {
    asio::dispatch(stream_.get_executor(), [self = this->shared_from_this()] {
      if (self->state_ == State::kIdle) self->closeNow();
    });
  }
  void forceClose() override {
    asio::dispatch(stream_.get_executor(), [self = this->shared_from_this()] { self->closeNow(); });
  }

 private:
  enum class State { kIdle, kReading, kHandling, kWriting, kDraining, kClosed };

  Stream& tcp_() { return beast::get_lowest_layer(stream_); }

  // TLS only: the handshake must finish within the read timeout; a failed one (a plain-HTTP client, a bad
  // certificate on the client's side, a scanner) just closes the connection.
  void handshake() {
    state_ = State::kReading;
    tcp_().expires_after(server_.options.read_timeout);
    stream_.async_handshake(asio::ssl::stream_base::server, [self = this->shared_from_this()](beast::error_code ec) {
      if (ec) {
        if (ec == beast::error::timeout) self->server_.timeouts->withLabels({"tls_handshake"}).inc();
        self->server_.tls_failures->inc();
        return self->closeNow();
      }
      if constexpr (kTls) self->client_certificate_sha256_ = verifiedPeerThumbprint(self->stream_.native_handle());
      self->waitForRequest();
    });
  }

  void waitForRequest() {
    if (server_.stopping.load()) return closeNow();
    state_ = State::kIdle;
    if (buffer_.size() > 0) return readHeader();  // a pipelined request is already here
    tcp_().expires_after(server_.options.idle_timeout);
    stream_.async_read_some(buffer_.prepare(4096), [self = this->shared_from_this()](beast::error_code ec, size_t n) {
      self->buffer_.commit(n);
      if (ec) {
        if (ec == beast::error::timeout) self->server_.timeouts->withLabels({"idle"}).inc();
        return self->closeNow();
      }
      self->readHeader();
    });
  }

  void readHeader() {
    state_ = State::kReading;
    started_ = Clock::now();
    // One deadline from the request's first byte to its last, headers and body alike: a client that trickles its
    // body cannot restart the clock (issue 8: 45 s trickled in under a 30 s limit).
    read_deadline_ = started_ + server_.options.read_timeout;
    body_reservation_ = BodyReservation(server_.body_budget.get());
    method_ = "-";
    path_ = "-";
    cors_origin_.clear();
    interaction_ = "malformed";
    request_id_ = server_.nextRequestId();
    version_ = 11;
    parser_.emplace();
    parser_->header_limit(server_.options.max_header_bytes);
    parser_->body_limit(server_.options.max_body_bytes);
    parser_->on_chunk_header(chunk_header_);
    tcp_().expires_at(read_deadline_);
    bhttp::async_read_header(stream_, buffer_, *parser_, [self = this->shared_from_this()](beast::error_code ec, size_t) {
      self->onHeader(ec);
    });
  }

  // Maps a read error to an answer: limits and syntax get an OperationOutcome, transport errors just close.
  void onReadError(const beast::error_code& ec) {
    if (ec == bhttp::error::header_limit) {
      return sendError(outcomeResponse(431, "too-long", "request headers larger than limits.max_header_bytes (" +
                                                            std::to_string(server_.options.max_header_bytes) + ")"));
    }
    if (ec == bhttp::error::body_limit) {
      return sendError(outcomeResponse(413, "too-long", "request body larger than limits.max_body_bytes (" +
                                                            std::to_string(server_.options.max_body_bytes) + ")"));
    }
    if (ec == asio::error::no_buffer_space) return refuseForBodyBudget();
    if (ec == beast::error::timeout) {
      server_.timeouts->withLabels({"read"}).inc();
      return closeNow();
    }
    if (ec == bhttp::error::partial_message) {
      // The client closed its sending half inside a request (a header or body cut short): it may still read, so it
      // learns why nothing happened instead of seeing the connection vanish.
      return sendError(outcomeResponse(400, "incomplete", "the request ended before it was complete (the client "
                                                          "closed its side of the connection)"));
    }
    if (ec == bhttp::error::end_of_stream || !isHttpParseError(ec)) return closeNow();
    sendError(outcomeResponse(400, "structure", "malformed HTTP request: " + ec.message()));
  }

  void onHeader(const beast::error_code& ec) {
    const auto& req = parser_->get();
    if (parser_->is_header_done()) {  // also when the header announced a body too large: the log names the request
      method_ = maskForLog(std::string_view(req.method_string().data(), req.method_string().size()), 32);
      path_ = maskPathForLog(std::string_view(req.target().data(), req.target().size()));
    }
    if (ec) return onReadError(ec);
    version_ = req.version();
    if (std::optional<Response> refusal = framingRefusal(req, version_)) return sendError(std::move(*refusal));
    if (auto len = parser_->content_length(); len && *len > server_.options.max_body_bytes) {
      return onReadError(bhttp::error::body_limit);
    }
    if (auto len = parser_->content_length(); len && !body_reservation_.grow(*len)) return refuseForBodyBudget();
    if (parser_->is_done()) return onRequest();
    if (iequals(std::string_view(req[bhttp::field::expect].data(), req[bhttp::field::expect].size()),
                "100-continue")) {
      auto cont = std::make_shared<bhttp::response<bhttp::empty_body>>(bhttp::status::continue_, req.version());
      tcp_().expires_after(server_.options.write_timeout);
      bhttp::async_write(stream_, *cont, [self = this->shared_from_this(), cont](beast::error_code wec, size_t) {
        if (wec) return self->closeNow();
        self->readBody();
      });
      return;
    }
    readBody();
  }

  // The body would take memory the bodies of other requests in flight already hold: 503, and close (the body is
  // not read, so the stream cannot go on).
  void refuseForBodyBudget() {
    body_reservation_.reset();
    server_.body_budget_refusals->inc();
    Response r = outcomeResponse(503, "transient",
                                 "too many request bodies in flight (limits.max_inflight_body_bytes); try again later");
    r.headers.set("Retry-After", "1");
    sendError(std::move(r));
  }

  void readBody() {
    tcp_().expires_at(read_deadline_);
    bhttp::async_read(stream_, buffer_, *parser_, [self = this->shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return self->onReadError(ec);
      self->onRequest();
    });
  }

  void onRequest() {
    state_ = State::kHandling;
    bhttp::request<bhttp::string_body> raw = parser_->release();
    parser_.reset();
    keep_alive_ = raw.keep_alive();

    // The request owns its body's reservation: the budget gets it back when the last user of the body is done.
    struct RequestWithReservation {
      Request request;
      BodyReservation reservation;
    };
    auto owner = std::make_shared<RequestWithReservation>();
    owner->reservation = std::move(body_reservation_);
    std::shared_ptr<Request> request(owner, &owner->request);
    request->method = std::string(raw.method_string());
    request->target = std::string(raw.target());
    size_t q = request->target.find('?');
    request->path = request->target.substr(0, q);
    request->query = q == std::string::npos ? std::string() : request->target.substr(q + 1);
    request->version = raw.version();
    for (const auto& field : raw) request->headers.add(std::string(field.name_string()), std::string(field.value()));
    request->body = std::move(raw.body());

    if (const std::string* id = request->headers.find("X-Request-Id"); id && saneRequestId(*id)) request_id_ = *id;
    head_ = request->method == "HEAD";

    if (metrics_only || (server_.options.metrics_listen && request->path == "/metrics")) {
      // With a metrics listener, /metrics lives there only (kept off the public port); the listener serves nothing
      // else.
      std::optional<Response> r;
      if (metrics_only && request->path == "/metrics") r = builtinResponse(*request);
      if (!r) r = outcomeResponse(404, "not-found", metrics_only ? "the metrics listener serves /metrics only"
                                                                 : "/metrics is served on server.metrics_listen");
      interaction_ = "metrics";
      std::string reason = finishResponse(*r, request->headers.get("Accept-Encoding"), server_.options.gzip_min_bytes);
      return sendResponse(std::move(*r), std::move(reason));
    }
    if (!server_.options.cors_allowed_origins.empty()) {
      if (const std::string* origin = request->headers.find("Origin")) {
        const auto& allowed = server_.options.cors_allowed_origins;
        if (std::find(allowed.begin(), allowed.end(), *origin) != allowed.end()) cors_origin_ = *origin;
        if (request->method == "OPTIONS" && request->headers.find("Access-Control-Request-Method")) {
          interaction_ = "cors-preflight";
          return sendResponse(preflightResponse());
        }
      }
    }
    if (request->path == "/readyz" && isRead(request->method) && server_.workers) {
      // Readiness checks may touch the database: on a worker thread, never on the I/O thread whose other
      // connections would wait for them (issue 9).
      interaction_ = "readyz";
      tcp_().expires_never();
      server_.worker_queue->inc();
      asio::post(*server_.workers, [self = this->shared_from_this(), request, queue = server_.worker_queue] {
        queue->dec();
        Response r = self->readinessResponse();
        std::string reason = finishResponse(r, request->headers.get("Accept-Encoding"),
                                            self->server_.options.gzip_min_bytes);
        asio::dispatch(self->stream_.get_executor(), [self, r = std::move(r), reason = std::move(reason)]() mutable {
          self->sendResponse(std::move(r), std::move(reason));
        });
      });
      return;
    }
    if (std::optional<Response> builtin = builtinResponse(*request)) {
      std::string reason = finishResponse(*builtin, request->headers.get("Accept-Encoding"), server_.options.gzip_min_bytes);
      return sendResponse(std::move(*builtin), std::move(reason));
    }

    auto context = std::make_shared<RequestContext>();
    context->request_id = request_id_;
    context->remote_address = remote_;
    context->client_certificate_sha256 = client_certificate_sha256_;
    const bool read = isRead(request->method) && !server_.filters_may_block;
    if (read) {
      // Filters, then an answer from memory if the handler has one, right here on the I/O thread: a cached read
      // then costs no thread hop at all. Only what must block goes to a handler thread.
      std::optional<Response> now = guarded(*context, [&] { return runFilters(*request, *context); });
      if (!now && server_.handler) {
        now = guarded(*context, [&] { return server_.handler->handleWithoutBlocking(*request, *context); });
      }
      if (now) {
        addContextHeaders(*now, *context);
        std::string reason = finishResponse(*now, request->headers.get("Accept-Encoding"), server_.options.gzip_min_bytes);
        interaction_ = context->interaction;
        return sendResponse(std::move(*now), std::move(reason));
      }
    }
    tcp_().expires_never();  // the handler may take its time; the write timeout starts with the response
    auto work = [self = this->shared_from_this(), request, context, filtered = read] {
      Response response = self->guarded(*context, [&] {
        return std::optional<Response>(filtered ? self->runHandler(*request, *context)
                                                : self->runPipeline(*request, *context));
      }).value();
      addContextHeaders(response, *context);
      std::string reason = finishResponse(response, request->headers.get("Accept-Encoding"),
                                          self->server_.options.gzip_min_bytes);
      asio::dispatch(self->stream_.get_executor(),
                     [self, context, response = std::move(response), reason = std::move(reason)]() mutable {
                       self->interaction_ = context->interaction;
                       self->sendResponse(std::move(response), std::move(reason));
                     });
    };
    if (asio::thread_pool* pool = handlerPool(request->method)) {
      server_.worker_queue->inc();
      asio::post(*pool, [work = std::move(work), queue = server_.worker_queue] {
        queue->dec();
        work();
      });
    } else {
      work();
    }
  }

  // Where a request's handler runs. Reads (GET, HEAD) are short and never wait on a commit: a small pool, or the
  // I/O thread itself. Anything else may write and then waits for its group commit's fsync (SQLite) or its
  // transaction (PostgreSQL) while holding its thread, so writes get a pool of their own, large enough that many
  // writes share one fsync without adding threads (and switches) to the read path. nullptr: run inline.
  asio::thread_pool* handlerPool(std::string_view method) const {
    if (!isRead(method) && server_.writers) return server_.writers.get();
    return server_.workers.get();
  }

  // Headers the filters or the handler asked for on whatever response goes out (WWW-Authenticate, DPoP-Nonce).
  static void addContextHeaders(Response& response, const RequestContext& context) {
    for (const auto& [name, value] : context.response_headers.fields()) response.headers.add(name, value);
  }

  // The filters (authentication, coarse access) in order: the refusal of the first that refuses, else nullopt.
  std::optional<Response> runFilters(const Request& request, RequestContext& context) {
    for (const auto& filter : server_.filters) {
      Status s = filter->apply(request, context);
      if (!s.isOk()) return outcomeResponse(s);
    }
    return std::nullopt;
  }

  Response runHandler(const Request& request, RequestContext& context) {
    return server_.handler ? server_.handler->handle(request, context)
                           : outcomeResponse(404, "not-found", "no handler for " + maskPathForLog(request.path));
  }

  // Runs on a handler thread (see handlerPool): filters, then the handler.
  Response runPipeline(const Request& request, RequestContext& context) {
    if (std::optional<Response> refused = runFilters(request, context)) return std::move(*refused);
    return runHandler(request, context);
  }

  // Runs `stage` (which returns std::optional<Response>); an exception escaping it is a bug, logged and answered
  // 500 with the request id, never passed on to the I/O loop.
  template <typename Stage>
  std::optional<Response> guarded(const RequestContext& context, Stage&& stage) {
    try {
      return stage();
    } catch (const std::exception& e) {
      appLogger()->error("request {} failed with an exception: {}", maskForLog(context.request_id, 64), e.what());
    } catch (...) {
      appLogger()->error("request {} failed with an unknown exception", maskForLog(context.request_id, 64));
    }
    return outcomeResponse(500, "exception", "internal error; see the server log for request " + context.request_id);
  }

  std::optional<Response> builtinResponse(const Request& request) {
    std::string_view path = request.path;
    if (path != "/healthz" && path != "/readyz" && path != "/metrics") return std::nullopt;
    interaction_ = std::string(path.substr(1));
    if (request.method != "GET" && request.method != "HEAD") {
      Response r = outcomeResponse(405, "not-supported", "only GET and HEAD are allowed on " + std::string(path));
      r.headers.set("Allow", "GET, HEAD");
      return r;
    }
    Response r;
    if (path == "/metrics") {
      r.headers.set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
      r.body = server_.metrics->render();
      return r;
    }
    r.headers.set("Content-Type", "application/json");
    r.headers.set("Cache-Control", "no-store");
    if (path == "/healthz") {
      r.body = R"({"status":"ok"})";
      return r;
    }
    return readinessResponse();
  }

  // /readyz: every readiness check run now. Touches no session state, so it may run on a worker thread.
  Response readinessResponse() {
    Response r;
    r.headers.set("Content-Type", "application/json");
    r.headers.set("Cache-Control", "no-store");
    std::string failed;
    if (server_.stopping.load()) {
      failed = R"({"check":"server","message":"shutting down"})";
    } else {
      std::lock_guard lock(server_.readiness_mutex);
      for (const auto& c : server_.readiness) {
        Status s = c.check ? c.check() : Status::ok();
        if (s.isOk()) continue;
        failed += failed.empty() ? "" : ",";
        failed += R"({"check":)";
        fhir::writeJsonString(c.name, failed);
        failed += R"(,"message":)";
        fhir::writeJsonString(s.message(), failed);
        failed += "}";
      }
    }
    if (failed.empty()) {
      r.body = R"({"status":"ready"})";
    } else {
      r.status = 503;
      r.body = R"({"status":"not ready","failed":[)" + failed + "]}";
    }
    return r;
  }

  // A CORS preflight (RFC: Fetch standard): answered here, before filters, as it carries no credentials. A listed
  // origin learns what it may send; any other gets 403 and no CORS headers, so its browser refuses the call.
  Response preflightResponse() {
    if (cors_origin_.empty()) return outcomeResponse(403, "forbidden", "origin not in server.cors.allowed_origins");
    Response r;
    r.status = 204;
    r.headers.set("Access-Control-Allow-Methods", "GET, HEAD, POST, PUT, PATCH, DELETE");
    r.headers.set("Access-Control-Allow-Headers",
                  "Authorization, Content-Type, Accept, If-Match, If-None-Match, If-None-Exist, If-Modified-Since, "
                  "Prefer, X-Request-Id");
    r.headers.set("Access-Control-Max-Age", "600");
    return r;
  }

  // Before a response leaves the handler's thread: its reason for the access log is read while the body is still
  // plain, then the body is gzipped when the client asked. Returns the reason (see outcomeIssueCode).
  static std::string finishResponse(Response& r, std::string_view accept_encoding, uint32_t min_bytes) {
    std::string reason = r.status >= 400 ? outcomeIssueCode(r) : std::string();
    compressIfAsked(r, accept_encoding, min_bytes);
    return reason;
  }

  static void compressIfAsked(Response& r, std::string_view accept_encoding, uint32_t min_bytes) {
    if (r.body.size() < min_bytes || r.body.empty() || r.status == 204 || r.status == 304) return;
    if (r.headers.find("Content-Encoding")) return;
    r.headers.add("Vary", "Accept-Encoding");
    if (!acceptsGzip(accept_encoding)) return;
    if (std::optional<std::string> z = gzipCompress(r.body)) {
      r.body = std::move(*z);
      r.headers.set("Content-Encoding", "gzip");
    }
  }

  // An error found while reading: answer it and close, since the rest of the stream cannot be trusted.
  void sendError(Response response) {
    keep_alive_ = false;
    sendResponse(std::move(response));
  }

  void sendResponse(Response response, std::string log_reason = {}) {
    if (state_ == State::kClosed) return;
    state_ = State::kWriting;
    if (log_reason.empty() && response.status >= 400 && !response.headers.find("Content-Encoding")) {
      log_reason = outcomeIssueCode(response);
    }
    reason_ = std::move(log_reason);
    bool keep = keep_alive_ && !server_.stopping.load();
    status_ = response.status;
    bytes_out_ = response.body.size();
    // The head is serialised here rather than by Beast's serializer: one contiguous string is several times
    // cheaper per response, and it lets header values be checked for CR/LF (response splitting) in one place.
    bool no_body = status_ < 200 || status_ == 204 || status_ == 304;
    out_head_.clear();
    out_head_ += version_ == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
    out_head_ += std::to_string(status_);
    out_head_ += ' ';
    std::string_view reason = bhttp::obsolete_reason(bhttp::int_to_status(static_cast<unsigned>(status_)));
    out_head_ += reason.empty() || reason.front() == '<' ? std::string_view("Unknown") : reason;
    out_head_ += "\r\n";
    for (const auto& [name, value] : response.headers.fields()) {
      if (serverOwnedField(name) || !safeHeader(name, value)) continue;
      out_head_ += name;
      out_head_ += ": ";
      out_head_ += value;
      out_head_ += "\r\n";
    }
    if (!server_.options.cors_allowed_origins.empty()) {
      // Answers differ by Origin once CORS is on, so caches must key on it, listed origin or not.
      out_head_ += "Vary: Origin\r\n";
      if (!cors_origin_.empty() && safeHeader("Access-Control-Allow-Origin", cors_origin_)) {
        out_head_ += "Access-Control-Allow-Origin: ";
        out_head_ += cors_origin_;
        out_head_ += "\r\nAccess-Control-Expose-Headers: Location, Content-Location, ETag, Last-Modified, "
                     "X-Request-Id\r\n";
      }
    }
    out_head_ += "X-Request-Id: ";
    out_head_ += request_id_;
    out_head_ += "\r\n";
    if (!no_body) {
      out_head_ += "Content-Length: ";
      out_head_ += std::to_string(bytes_out_);
      out_head_ += "\r\n";
    }
    if (!keep) {
      out_head_ += "Connection: close\r\n";
    } else if (version_ == 10) {
      out_head_ += "Connection: keep-alive\r\n";
    }
    out_head_ += "\r\n";
    out_body_ = head_ || no_body ? std::string() : std::move(response.body);
    // Not a std::array of two buffers: asio's write loop for that type hands the stream an empty first buffer once
    // the head is out, Beast's ssl_stream (flat_stream) then writes a prefix of zero bytes, and asio takes a
    // zero-byte write as the end: every TLS body that did not fit one 16 KB flattened write was dropped (issue 14).
    // The generic sequence skips consumed buffers, so every write the stream sees starts with unsent bytes.
    out_buffers_[0] = asio::buffer(out_head_);
    out_buffers_[1] = asio::buffer(out_body_);
    const size_t expected = out_head_.size() + out_body_.size();
    tcp_().expires_after(server_.options.write_timeout);
    asio::async_write(stream_, WriteBuffers(out_buffers_.data(), out_buffers_.size()),
                      [self = this->shared_from_this(), keep, expected](beast::error_code ec, size_t written) {
                        // A write that ends short without an error must never pass for a response sent: the client
                        // would wait for the rest for ever. Close instead.
                        if (!ec && written != expected) {
                          appLogger()->error("response to request {} ended after {} of {} bytes; closing",
                                             maskForLog(self->request_id_, 64), written, expected);
                          ec = asio::error::broken_pipe;
                        }
                        self->onWritten(ec, keep);
                      });
  }

  void onWritten(const beast::error_code& ec, bool keep) {
    record();
    if (ec) {
      if (ec == beast::error::timeout) server_.timeouts->withLabels({"write"}).inc();
      return closeNow();
    }
    head_ = false;
    if (!keep) return lingeringClose();
    waitForRequest();
  }

  void record() {
    const auto elapsed = Clock::now() - started_;
    const double seconds = std::chrono::duration<double>(elapsed).count();
    // A keep-alive connection mostly repeats one interaction: the metric children of the last one are kept, so the
    // families' locks and label lookups are skipped then.
    if (!metrics_.requests || metrics_.interaction != interaction_ || metrics_.status != status_) {
      metrics_.interaction = interaction_;
      metrics_.status = status_;
      metrics_.requests = &server_.requests->withLabels({interaction_, std::to_string(status_)});
      metrics_.latency = &server_.latency->withLabels({interaction_});
    }
    metrics_.requests->inc();
    metrics_.latency->observe(seconds);
    if (!server_.access_log) return;
    if (server_.options.access_log_text) return recordText(elapsed);
    std::string line;
    line.reserve(256);
    line += R"("msg":"request","request_id":)";
    fhir::writeJsonString(maskForLog(request_id_, 64), line);
    line += R"(,"method":)";
    fhir::writeJsonString(method_, line);
    line += R"(,"path":)";
    fhir::writeJsonString(path_, line);
    line += R"(,"status":)" + std::to_string(status_);
    line += R"(,"duration_ms":)";
    appendMillis(line, std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count());
    line += R"(,"bytes":)" + std::to_string(bytes_out_);
    line += R"(,"interaction":)";
    fhir::writeJsonString(interaction_, line);
    line += R"(,"remote":)";
    fhir::writeJsonString(remote_, line);
    if (status_ >= 400) {
      line += R"(,"reason":)";
      fhir::writeJsonString(reason_.empty() ? std::string_view("-") : std::string_view(reason_), line);
    }
    server_.access_log->log(spdlog::level::info, spdlog::string_view_t(line.data(), line.size()));
  }

  // logging.format: text — the same fields as one line for people:
  //   GET /Patient/1 200 1.234ms 512B read 127.0.0.1 id=abc-1 [reason=not-found]
  void recordText(Clock::duration elapsed) {
    std::string line;
    line.reserve(160);
    line += method_;
    line += ' ';
    line += path_;
    line += ' ';
    line += std::to_string(status_);
    line += ' ';
    appendMillis(line, std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count());
    line += "ms ";
    line += std::to_string(bytes_out_);
    line += "B ";
    line += interaction_;
    line += ' ';
    line += remote_;
    line += " id=";
    line += maskForLog(request_id_, 64);
    if (status_ >= 400) {
      line += " reason=";
      line += reason_.empty() ? std::string_view("-") : std::string_view(reason_);
    }
    server_.access_log->log(spdlog::level::info, spdlog::string_view_t(line.data(), line.size()));
  }

  // Half-close, then read and discard what the client is still sending (bounded), so the kernel does not answer
  // unread bytes with a reset that would destroy the response we just wrote.
  void lingeringClose() {
    state_ = State::kDraining;
    beast::error_code ec;
    tcp_().socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return closeNow();
    drained_ = 0;
    drain();
  }

  void drain() {
    constexpr size_t kMaxDrainBytes = 1u << 20;
    tcp_().expires_after(std::min<std::chrono::milliseconds>(server_.options.read_timeout,
                                                              std::chrono::milliseconds(2000)));
    buffer_.consume(buffer_.size());
    stream_.async_read_some(buffer_.prepare(16384), [self = this->shared_from_this()](beast::error_code ec, size_t n) {
      self->drained_ += n;
      if (ec || self->drained_ > kMaxDrainBytes) return self->closeNow();
      self->buffer_.commit(n);
      self->drain();
    });
  }

  void closeNow() {
    if (state_ == State::kClosed) return;
    state_ = State::kClosed;
    beast::error_code ec;
    tcp_().socket().shutdown(tcp::socket::shutdown_both, ec);
    tcp_().close();
  }

  Server::Impl& server_;
  AsyncStream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  uint64_t id_;
  std::string remote_;
  std::string client_certificate_sha256_;  // mutual TLS: the verified client certificate's x5t#S256, else ""
  State state_ = State::kIdle;
  bool keep_alive_ = true;
  bool head_ = false;
  unsigned version_ = 11;
  Clock::time_point started_;
  Clock::time_point read_deadline_;
  BodyReservation body_reservation_;  // the body being read; moved into the Request in onRequest
  std::function<void(uint64_t, beast::string_view, beast::error_code&)> chunk_header_;
  std::string method_;
  std::string path_;
  struct MetricChildren {  // record(): the children for the last (interaction, status) on this connection
    std::string interaction;
    int status = 0;
    Counter* requests = nullptr;
    Histogram* latency = nullptr;
  } metrics_;
  std::string request_id_;
  std::string interaction_;
  std::string cors_origin_;  // the request's Origin when it is in server.cors.allowed_origins
  std::string reason_;  // the answer's OperationOutcome issue code (4xx/5xx), for the access log
  int status_ = 0;
  size_t bytes_out_ = 0;
  std::string out_head_;
  std::string out_body_;
  std::array<asio::const_buffer, 2> out_buffers_;
  size_t drained_ = 0;
};

}  // namespace

void Server::Impl::sessionOpened(uint64_t id, const std::shared_ptr<SessionBase>& s) {
  std::lock_guard lock(sessions_mutex);
  sessions.emplace(id, s);
}

void Server::Impl::sessionClosed(uint64_t id) {
  std::lock_guard lock(sessions_mutex);
  sessions.erase(id);
  connections.fetch_sub(1);
  drained.notify_all();
}

template <typename F>
void Server::Impl::forEachSession(F f) {
  std::vector<std::shared_ptr<SessionBase>> live;
  {
    std::lock_guard lock(sessions_mutex);
    for (auto& [id, weak] : sessions) {
      if (auto s = weak.lock()) live.push_back(std::move(s));
    }
  }
  for (auto& s : live) f(*s);
}

bool Server::Impl::waitDrained(Clock::time_point deadline) {
  std::unique_lock lock(sessions_mutex);
  return drained.wait_until(lock, deadline, [this] { return connections.load() == 0; });
}

// RFC 8705 x5t#S256 of the client certificate, when one was presented and verified against the client CA file;
// "" when none was (server.tls.client_certificates: request) or mutual TLS is off.
std::string verifiedPeerThumbprint(SSL* ssl) {
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (cert == nullptr) return {};
  std::string out;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (SSL_get_verify_result(ssl) == X509_V_OK && X509_digest(cert, EVP_sha256(), digest, &length) == 1) {
    static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    uint32_t bits = 0;
    int count = 0;
    for (unsigned int i = 0; i < length; ++i) {
      bits = (bits << 8) | digest[i];
      count += 8;
      while (count >= 6) {
        count -= 6;
        out += kAlphabet[(bits >> count) & 63];
      }
    }
    if (count > 0) out += kAlphabet[(bits << (6 - count)) & 63];
  }
  X509_free(cert);
  return out;
}

// TLS 1.2 at least (1.3 only when configured), OpenSSL's default cipher list at Debian's security level, no
// compression, no renegotiation, server cipher preference, session tickets off (no long-lived ticket keys to leak).
Status Server::Impl::makeTlsContext() {
  const std::string& cert = options.tls_certificate_file;
  const std::string& key = options.tls_private_key_file;
  if (cert.empty() || key.empty()) return invalidArgument("TLS needs both a certificate file and a private key file");
  // Every problem with the files at once, in the words --validate-config uses.
  config::TlsConfig files;
  files.certificate_file = cert;
  files.private_key_file = key;
  if (std::vector<std::string> problems = checkTlsFiles(files); !problems.empty()) {
    std::string message;
    for (const std::string& p : problems) message += (message.empty() ? "" : "; ") + p;
    return invalidArgument(message);
  }
  tls.emplace(asio::ssl::context::tls_server);
  SSL_CTX* ctx = tls->native_handle();
  // An encrypted key fails here rather than waiting at OpenSSL's pass-phrase prompt on a terminal.
  SSL_CTX_set_default_passwd_cb(ctx, refusePassphrase);
  SSL_CTX_set_min_proto_version(ctx, options.tls_min_version_1_3 ? TLS1_3_VERSION : TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                               SSL_OP_NO_TICKET);
  beast::error_code ec;
  tls->use_certificate_chain_file(cert, ec);
  if (ec) {
    tls.reset();
    return invalidArgument("cannot use TLS certificate file " + cert + ": " + ec.message());
  }
  tls->use_private_key_file(key, asio::ssl::context::pem, ec);
  if (!ec && SSL_CTX_check_private_key(ctx) != 1) ec = asio::error::invalid_argument;
  if (ec) {
    tls.reset();
    return invalidArgument("cannot use TLS private key file " + key + " (unreadable, encrypted, or not the "
                           "certificate's key): " + ec.message());
  }
  if (!options.tls_client_ca_file.empty()) {
    // Mutual TLS for system clients: a certificate is asked for (or required) and must chain to the CA file; the
    // authentication filter binds its thumbprint to the token (RFC 8705 cnf.x5t#S256).
    if (SSL_CTX_load_verify_locations(ctx, options.tls_client_ca_file.c_str(), nullptr) != 1) {
      tls.reset();
      return invalidArgument("cannot use TLS client CA file " + options.tls_client_ca_file);
    }
    if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(options.tls_client_ca_file.c_str())) {
      SSL_CTX_set_client_CA_list(ctx, names);
    }
    static constexpr unsigned char kSessionContext[] = "planbro";
    SSL_CTX_set_session_id_context(ctx, kSessionContext, sizeof(kSessionContext) - 1);
    // `request`: a certificate that does not verify fails the handshake just as with `require`; a client without
    // one still connects (and gets no thumbprint).
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | (options.tls_require_client_certificate ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0),
                       nullptr);
  }
  return Status::ok();
}

void Server::Impl::accept() {
  acceptor->async_accept(nextLoop().get_executor(), [this](beast::error_code ec, Socket socket) {
    onAccept(ec, std::move(socket));
  });
}

void Server::Impl::onAccept(const beast::error_code& ec, Socket socket) {
  if (stopping.load() || ec == asio::error::operation_aborted) return;
  if (ec) {
    // Out of descriptors (EMFILE/ENFILE) or buffers: back off briefly instead of spinning on the error.
    appLogger()->warn("accept failed: {}", ec.message());
    accept_retry->expires_after(std::chrono::milliseconds(50));
    accept_retry->async_wait([this](beast::error_code tec) {
      if (!tec && !stopping.load()) accept();
    });
    return;
  }
  if (connections.load() >= options.max_connections) {
    refuse(std::move(socket));
  } else {
    if (tls) {
      openSession<TlsStream>(false, std::move(socket), *tls);
    } else {
      openSession<Stream>(false, std::move(socket));
    }
  }
  accept();
}

// The metrics listener: few connections (a scraper), so no retry timer; an error other than closing is logged and
// the next accept is armed at once.
void Server::Impl::acceptMetrics() {
  metrics_acceptor->async_accept(nextLoop().get_executor(), [this](beast::error_code ec, Socket socket) {
    if (stopping.load() || ec == asio::error::operation_aborted) return;
    if (ec) {
      appLogger()->warn("metrics listener: accept failed: {}", ec.message());
    } else if (connections.load() >= options.max_connections) {
      refuse(std::move(socket));
    } else {
      openSession<Stream>(true, std::move(socket));
    }
    acceptMetrics();
  });
}

template <typename AsyncStream, typename... StreamArgs>
void Server::Impl::openSession(bool metrics_only, StreamArgs&&... stream_args) {
  uint64_t id;
  {
    std::lock_guard lock(sessions_mutex);
    id = ++next_session_id;
  }
  auto session = std::make_shared<Session<AsyncStream>>(*this, id, std::forward<StreamArgs>(stream_args)...);
  session->metrics_only = metrics_only;
  sessionOpened(id, session);
  session->start();
}

void Server::Impl::refuse(Socket socket) {
  refused->inc();
  static const std::string kResponse = [] {
    std::string body = fhir::outcomeFromStatus(unavailable("too many connections; try again later")).toJson();
    return "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/fhir+json; charset=utf-8\r\n"
           "Retry-After: 1\r\nConnection: close\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body;
  }();
  // A fresh socket's send buffer is empty, so a non-blocking write of a few hundred bytes completes at once.
  beast::error_code ec;
  socket.non_blocking(true, ec);
  asio::write(socket, asio::buffer(kResponse), ec);
  socket.shutdown(tcp::socket::shutdown_send, ec);
  socket.close(ec);
}

ServerOptions ServerOptions::fromConfig(const config::GatewayConfig& c) {
  ServerOptions o;
  o.host = c.server.host;
  o.port = c.server.port;
  o.io_threads = c.server.io_threads;
  o.worker_threads = c.server.worker_threads;
  o.write_threads = c.server.write_threads;
  o.max_header_bytes = c.limits.max_header_bytes;
  o.max_body_bytes = c.limits.max_body_bytes;
  o.max_connections = c.limits.max_connections;
  o.max_inflight_body_bytes = c.limits.max_inflight_body_bytes;
  o.read_timeout = std::chrono::milliseconds(c.limits.read_timeout_ms);
  o.write_timeout = std::chrono::milliseconds(c.limits.write_timeout_ms);
  o.idle_timeout = std::chrono::milliseconds(c.limits.idle_timeout_ms);
  o.shutdown_timeout = std::chrono::milliseconds(c.server.shutdown_timeout_ms);
  o.gzip_min_bytes = c.server.gzip_min_bytes;
  o.access_log = c.logging.access_log;
  o.access_log_text = c.logging.format == config::LogFormat::kText;
  o.tls_certificate_file = c.server.tls.certificate_file;
  o.tls_private_key_file = c.server.tls.private_key_file;
  o.tls_min_version_1_3 = c.server.tls.min_version == "1.3";
  o.tls_client_ca_file = c.server.tls.client_ca_file;
  o.tls_require_client_certificate = c.server.tls.client_certificates == "require";
  o.cors_allowed_origins = c.server.cors.allowed_origins;
  o.metrics_listen = !c.server.metrics_listen.empty();
  o.metrics_host = c.server.metrics_host;
  o.metrics_port = c.server.metrics_port;
  return o;
}

Server::Server(ServerOptions options, std::shared_ptr<RequestHandler> handler, std::shared_ptr<MetricsRegistry> metrics)
    : impl_(std::make_shared<Impl>(std::move(options), std::move(handler), std::move(metrics))) {}

Server::~Server() { stop(); }

void Server::addFilter(std::shared_ptr<RequestFilter> filter) {
  impl_->filters_may_block = impl_->filters_may_block || filter->mayBlock();
  impl_->filters.push_back(std::move(filter));
}

void Server::addReadinessCheck(ReadinessCheck check) {
  std::lock_guard lock(impl_->readiness_mutex);
  impl_->readiness.push_back(std::move(check));
}

uint16_t Server::port() const { return impl_->bound_port.load(); }
uint16_t Server::metricsPort() const { return impl_->metrics_port.load(); }
MetricsRegistry& Server::metrics() { return *impl_->metrics; }
size_t Server::openConnections() const { return impl_->connections.load(); }

Status Server::start() {
  Impl& s = *impl_;
  if (s.running || s.stopped) return failedPrecondition("server already started");
  beast::error_code ec;
  tcp::resolver resolver(*s.loops[0]);
  auto endpoints = resolver.resolve(s.options.host, std::to_string(s.options.port),
                                    tcp::resolver::numeric_service | tcp::resolver::passive, ec);
  std::string where = s.options.host + ":" + std::to_string(s.options.port);
  if (ec || endpoints.empty()) return unavailable("cannot resolve listen address " + where + ": " + ec.message());
  tcp::endpoint endpoint = endpoints.begin()->endpoint();
  if (!s.options.tls_certificate_file.empty() || !s.options.tls_private_key_file.empty()) {
    RETURN_IF_ERROR(s.makeTlsContext());
  }

  s.acceptor.emplace(*s.loops[0]);
  s.acceptor->open(endpoint.protocol(), ec);
  if (!ec) s.acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) s.acceptor->bind(endpoint, ec);
  if (!ec) s.acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    s.acceptor.reset();
    return unavailable("cannot listen on " + where + ": " + ec.message());
  }
  s.bound_port = s.acceptor->local_endpoint(ec).port();
  s.accept_retry.emplace(s.acceptor->get_executor());
  if (s.options.metrics_listen) {
    std::string mwhere = s.options.metrics_host + ":" + std::to_string(s.options.metrics_port);
    auto mends = resolver.resolve(s.options.metrics_host, std::to_string(s.options.metrics_port),
                                  tcp::resolver::numeric_service | tcp::resolver::passive, ec);
    if (ec || mends.empty()) {
      s.acceptor.reset();
      return unavailable("cannot resolve server.metrics_listen " + mwhere + ": " + ec.message());
    }
    s.metrics_acceptor.emplace(*s.loops[0]);
    s.metrics_acceptor->open(mends.begin()->endpoint().protocol(), ec);
    if (!ec) s.metrics_acceptor->set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) s.metrics_acceptor->bind(mends.begin()->endpoint(), ec);
    if (!ec) s.metrics_acceptor->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      s.metrics_acceptor.reset();
      s.acceptor.reset();
      return unavailable("cannot listen on server.metrics_listen " + mwhere + ": " + ec.message());
    }
    s.metrics_port = s.metrics_acceptor->local_endpoint(ec).port();
  }
  for (auto& loop : s.loops) s.work.push_back(asio::make_work_guard(*loop));
  if (s.options.worker_threads > 0) s.workers = std::make_unique<asio::thread_pool>(s.options.worker_threads);
  if (s.options.write_threads > 0) s.writers = std::make_unique<asio::thread_pool>(s.options.write_threads);
  s.running = true;
  s.accept();
  if (s.metrics_acceptor) s.acceptMetrics();
  for (auto& loop : s.loops) {
    s.io_threads.emplace_back([l = loop.get()] { l->run(); });
  }
  return Status::ok();
}

void Server::stop() {
  Impl& s = *impl_;
  if (!s.running || s.stopped) return;
  s.stopped = true;
  s.stopping = true;
  asio::dispatch(s.acceptor->get_executor(), [&s] {
    beast::error_code ec;
    s.acceptor->close(ec);
    s.accept_retry->cancel();
    if (s.metrics_acceptor) s.metrics_acceptor->close(ec);
  });
  s.forEachSession([](SessionBase& session) { session.shutdownSoft(); });
  if (!s.waitDrained(Clock::now() + s.options.shutdown_timeout)) {
    s.forEachSession([](SessionBase& session) { session.forceClose(); });
    // Closing wakes every pending operation; sessions whose handler is still running on a worker end when it does.
    (void)s.waitDrained(Clock::now() + std::chrono::seconds(1));
  }
  // Handlers in flight finish; their responses then go nowhere.
  if (s.workers) s.workers->join();
  if (s.writers) s.writers->join();
  s.work.clear();
  for (auto& loop : s.loops) loop->stop();
  for (auto& t : s.io_threads) t.join();
  s.io_threads.clear();
  s.running = false;
}

uint64_t raiseFileDescriptorLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) return raised.rlim_cur;
  }
  return limit.rlim_cur;
}

}  // namespace planbro::gateway::http
