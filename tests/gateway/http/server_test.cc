#include "planbro/gateway/http/server.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <future>
#include <sstream>
#include <thread>

#include "planbro/gateway/http/logging.h"
#include "test_client.h"

namespace planbro::gateway::http {
namespace {

using testing::TestClient;
using testing::TestResponse;

// Answers /echo/... with the path, /big with a large compressible body, /throw by throwing, /slow by waiting for
// the test to release it.
class TestHandler : public RequestHandler {
 public:
  Response handle(const Request& request, RequestContext& context) override {
    Response r;
    r.headers.set("Content-Type", "text/plain");
    if (request.path.rfind("/echo/", 0) == 0) {
      context.interaction = "echo";
      r.body = request.path;
    } else if (request.path == "/big") {
      context.interaction = "big";
      for (int i = 0; i < 500; ++i) r.body += "{\"resourceType\":\"Patient\",\"id\":\"" + std::to_string(i) + "\"}\n";
    } else if (request.path == "/body") {
      r.body = std::to_string(request.body.size());
    } else if (request.path == "/whoami") {
      r.body = context.principal ? context.principal->subject : "nobody";
    } else if (request.path == "/inject") {
      r.headers.add("X-Evil", "a\r\nSet-Cookie: stolen=1");
      r.headers.add("Bad Name", "x");
      r.headers.add("X-Fine", "ok");
      r.body = "injected";
    } else if (request.path == "/nocontent") {
      r.status = 204;
      r.body = "ignored";
    } else if (request.path == "/throw") {
      throw std::runtime_error("handler bug");
    } else if (request.path == "/slow") {
      entered.set_value();
      release_future.wait_for(testing::kDeadline);
      r.body = "done";
    } else {
      r.status = 404;
    }
    handled.fetch_add(1);
    return r;
  }

  // /memory/... is answered from "memory" on the I/O thread; /memory-throw throws there; all else is declined.
  std::optional<Response> handleWithoutBlocking(const Request& request, RequestContext& context) override {
    without_blocking_calls.fetch_add(1);
    if (request.path == "/memory-throw") throw std::runtime_error("inline bug");
    if (request.path.rfind("/memory/", 0) != 0) return std::nullopt;
    context.interaction = "memory";
    Response r;
    r.headers.set("Content-Type", "text/plain");
    r.body = "from memory for " + (context.principal ? context.principal->subject : std::string("nobody"));
    return r;
  }

  std::atomic<int> handled{0};
  std::atomic<int> without_blocking_calls{0};
  std::promise<void> entered;
  std::promise<void> release;
  std::shared_future<void> release_future = release.get_future().share();
};

class DenyFilter : public RequestFilter {
 public:
  Status apply(const Request& request, RequestContext& context) override {
    if (request.path == "/echo/denied") return {StatusCode::kPermissionDenied, "not for you"};
    if (const std::string* user = request.headers.find("X-Test-User")) context.principal = Principal{*user, "", {}};
    return Status::ok();
  }
};

ServerOptions testOptions() {
  ServerOptions o;
  o.host = "127.0.0.1";
  o.port = 0;
  o.io_threads = 2;
  o.worker_threads = 2;
  o.access_log = false;
  o.gzip_min_bytes = 1024;
  return o;
}

class ServerTest : public ::testing::Test {
 protected:
  void start(ServerOptions options = testOptions()) {
    handler_ = std::make_shared<TestHandler>();
    server_ = std::make_unique<Server>(std::move(options), handler_);
    server_->addFilter(std::make_shared<DenyFilter>());
    Status s = server_->start();
    ASSERT_TRUE(s.isOk()) << s.message();
    ASSERT_NE(server_->port(), 0);
  }
  void TearDown() override {
    if (server_) server_->stop();
  }

  std::shared_ptr<TestHandler> handler_;
  std::unique_ptr<Server> server_;
};

bool isOperationOutcome(const TestResponse& r) {
  return r.body().find("\"resourceType\":\"OperationOutcome\"") != std::string::npos;
}

// GET and HEAD run the filters and then handleWithoutBlocking on the I/O thread; only a declined request goes on to
// handle() on a handler thread, with the filters' results and without running them again.
TEST_F(ServerTest, ReadsAnsweredFromMemoryNeverReachTheHandlerThreads) {
  start();
  TestClient c(server_->port());
  ASSERT_TRUE(c.connected());
  auto fast = c.get("/memory/a", "X-Test-User: kari\r\n");
  ASSERT_TRUE(fast);
  EXPECT_EQ(fast->result_int(), 200);
  EXPECT_EQ(fast->body(), "from memory for kari");
  EXPECT_EQ(handler_->handled.load(), 0);

  auto denied = c.get("/echo/denied");  // the filter refuses before anything else is asked
  ASSERT_TRUE(denied);
  EXPECT_EQ(denied->result_int(), 403);
  EXPECT_TRUE(isOperationOutcome(*denied));
  EXPECT_EQ(handler_->handled.load(), 0);

  const int asked = handler_->without_blocking_calls.load();
  auto slow = c.get("/whoami", "X-Test-User: ola\r\n");  // declined: the pool answers, the principal kept
  ASSERT_TRUE(slow);
  EXPECT_EQ(slow->result_int(), 200);
  EXPECT_EQ(slow->body(), "ola");
  EXPECT_EQ(handler_->handled.load(), 1);
  EXPECT_EQ(handler_->without_blocking_calls.load(), asked + 1);

  auto bug = c.get("/memory-throw");
  ASSERT_TRUE(bug);
  EXPECT_EQ(bug->result_int(), 500);
  EXPECT_TRUE(isOperationOutcome(*bug));
}

TEST_F(ServerTest, OnlyGetAndHeadAreOfferedToTheMemoryPath) {
  start();
  TestClient c(server_->port());
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.send("POST /memory/a HTTP/1.1\r\nHost: test\r\nContent-Length: 1\r\n\r\nx"));
  auto post = c.read();
  ASSERT_TRUE(post);
  EXPECT_EQ(post->result_int(), 404);  // handle() answered: it knows no /memory
  EXPECT_EQ(handler_->without_blocking_calls.load(), 0);
  EXPECT_EQ(handler_->handled.load(), 1);
}

TEST_F(ServerTest, HealthzAnswersOkAndKeepsTheConnectionOpen) {
  start();
  TestClient c(server_->port());
  ASSERT_TRUE(c.connected());
  for (int i = 0; i < 3; ++i) {
    auto r = c.get("/healthz");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->result_int(), 200u);
    EXPECT_TRUE(r->keep_alive());
    EXPECT_EQ(r->body(), R"({"status":"ok"})");
  }
}

TEST_F(ServerTest, PipelinedRequestsAreAnsweredInOrder) {
  start();
  TestClient c(server_->port());
  ASSERT_TRUE(c.send("GET /echo/first HTTP/1.1\r\nHost: t\r\n\r\nGET /echo/second HTTP/1.1\r\nHost: t\r\n\r\n"
                     "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"));
  auto a = c.read();
  auto b = c.read();
  auto h = c.read();
  ASSERT_TRUE(a && b && h);
  EXPECT_EQ(a->body(), "/echo/first");
  EXPECT_EQ(b->body(), "/echo/second");
  EXPECT_EQ(h->body(), R"({"status":"ok"})");
}

TEST_F(ServerTest, HandlerReceivesBodyWithinTheLimit) {
  start();
  TestClient c(server_->port());
  ASSERT_TRUE(c.send("POST /body HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello"));
  auto r = c.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body(), "5");
}

TEST_F(ServerTest, ExpectContinueGets100BeforeTheBodyIsSent) {
  start();
  TestClient c(server_->port());
  ASSERT_TRUE(c.send("POST /body HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n"));
  auto interim = c.read();
  ASSERT_TRUE(interim);
  EXPECT_EQ(interim->result_int(), 100u);
  ASSERT_TRUE(c.send("hello"));
  auto r = c.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 200u);
  EXPECT_EQ(r->body(), "5");
}

TEST_F(ServerTest, OversizeHeaderIsAnswered431) {
  ServerOptions o = testOptions();
  o.max_header_bytes = 1024;
  start(o);
  TestClient c(server_->port());
  ASSERT_TRUE(c.send("GET /echo/x HTTP/1.1\r\nHost: t\r\nX-Big: " + std::string(8000, 'a') + "\r\n\r\n"));
  auto r = c.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 431u);
  EXPECT_TRUE(isOperationOutcome(*r));
  EXPECT_FALSE(r->keep_alive());
}

TEST_F(ServerTest, OversizeContentLengthIsAnswered413BeforeTheBodyIsSent) {
  ServerOptions o = testOptions();
  o.max_body_bytes = 1024;
  start(o);
  TestClient c(server_->port());
  ASSERT_TRUE(c.send("POST /body HTTP/1.1\r\nHost: t\r\nContent-Length: 100000000\r\n\r\n"));
  auto r = c.read();  // no body byte was sent: the answer must come from the header alone
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 413u);
  EXPECT_TRUE(isOperationOutcome(*r));
  EXPECT_TRUE(c.waitClosed());
}

TEST_F(ServerTest, OversizeChunkedBodyIsAnswered413) {
  ServerOptions o = testOptions();
  o.max_body_bytes = 1024;
  start(o);
  TestClient c(server_->port());
  ASSERT_TRUE(c.send("POST /body HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n1000\r\n" +
                     std::string(4096, 'x') + "\r\n0\r\n\r\n"));
  auto r = c.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 413u);
}

TEST_F(ServerTest, MalformedRequestLineIsAnswered400WithOperationOutcome) {
  start();
  TestClient c(server_->port());
  ASSERT_TRUE(c.send("THIS IS NOT HTTP\r\n\r\n"));
  auto r = c.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 400u);
  EXPECT_TRUE(isOperationOutcome(*r));
  EXPECT_TRUE(c.waitClosed());
  TestClient after(server_->port());  // the server is still up
  auto ok = after.get("/healthz");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->result_int(), 200u);
}

TEST_F(ServerTest, BadHeaderSyntaxIsAnswered400) {
  start();
  TestClient c(server_->port());
  ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nHost t\r\n\r\n"));
  auto r = c.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 400u);
}

TEST_F(ServerTest, SlowClientIsCutByTheReadTimeout) {
  ServerOptions o = testOptions();
  o.read_timeout = std::chrono::milliseconds(200);
  start(o);
  TestClient c(server_->port());
  ASSERT_TRUE(c.send("GET /echo/x HTTP/1.1\r\nHost: t\r\nX-Slow: "));  // and never finishes the header
  EXPECT_TRUE(c.waitClosed());
}

TEST_F(ServerTest, IdleKeepAliveConnectionIsClosedByTheIdleTimeout) {
  ServerOptions o = testOptions();
  o.idle_timeout = std::chrono::milliseconds(200);
  start(o);
  TestClient c(server_->port());
  auto r = c.get("/healthz");
  ASSERT_TRUE(r);
  EXPECT_TRUE(c.waitClosed());
}

TEST_F(ServerTest, LargeBodyIsGzippedWhenTheClientAcceptsGzip) {
  start();
  TestClient c(server_->port());
  auto plain = c.get("/big");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->count(boost::beast::http::field::content_encoding), 0u);
  auto zipped = c.get("/big", "Accept-Encoding: br, gzip\r\n");
  ASSERT_TRUE(zipped);
  EXPECT_EQ((*zipped)[boost::beast::http::field::content_encoding], "gzip");
  EXPECT_LT(zipped->body().size(), plain->body().size());
  auto unzipped = testing::gunzip(zipped->body());
  ASSERT_TRUE(unzipped);
  EXPECT_EQ(*unzipped, plain->body());
  auto refused = c.get("/big", "Accept-Encoding: gzip;q=0\r\n");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->count(boost::beast::http::field::content_encoding), 0u);
  auto small = c.get("/echo/small", "Accept-Encoding: gzip\r\n");
  ASSERT_TRUE(small);
  EXPECT_EQ(small->count(boost::beast::http::field::content_encoding), 0u);
}

TEST_F(ServerTest, GracefulShutdownFinishesAnInFlightRequest) {
  start();
  auto c = std::make_unique<TestClient>(server_->port());
  ASSERT_TRUE(c->send("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n"));
  ASSERT_EQ(handler_->entered.get_future().wait_for(testing::kDeadline), std::future_status::ready);
  uint16_t port = server_->port();
  std::thread stopper([this] { server_->stop(); });
  // Once the server refuses new connections, shutdown has begun while /slow is still running.
  bool refusing = false;
  for (int i = 0; i < 100000 && !refusing; ++i) {
    TestClient probe(port);
    refusing = !probe.connected();
    std::this_thread::yield();
  }
  EXPECT_TRUE(refusing);
  handler_->release.set_value();
  auto r = c->read();
  c.reset();  // the client goes away, so the server's lingering close ends at once
  stopper.join();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 200u);
  EXPECT_EQ(r->body(), "done");
  EXPECT_FALSE(r->keep_alive());
}

TEST_F(ServerTest, MetricsCountRequestsByInteractionAndStatus) {
  start();
  TestClient c(server_->port());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(c.get("/echo/" + std::to_string(i)));
  ASSERT_TRUE(c.get("/nothing"));
  auto m = c.get("/metrics");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->result_int(), 200u);
  const std::string& body = m->body();
  EXPECT_NE(body.find("planbro_http_requests_total{interaction=\"echo\",status=\"200\"} 3\n"), std::string::npos)
      << body;
  EXPECT_NE(body.find("planbro_http_requests_total{interaction=\"other\",status=\"404\"} 1\n"), std::string::npos);
  EXPECT_NE(body.find("planbro_http_request_duration_seconds_count{interaction=\"echo\"} 3\n"), std::string::npos);
  EXPECT_NE(body.find("planbro_http_open_connections 1\n"), std::string::npos) << body;
}

TEST_F(ServerTest, ConnectionsBeyondTheLimitAreRefusedWith503) {
  ServerOptions o = testOptions();
  o.max_connections = 1;
  start(o);
  TestClient first(server_->port());
  ASSERT_TRUE(first.get("/healthz"));  // accepted and counted
  TestClient second(server_->port());
  auto r = second.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 503u);
  EXPECT_TRUE(isOperationOutcome(*r));
  auto still = first.get("/healthz");
  ASSERT_TRUE(still);
  EXPECT_EQ(still->result_int(), 200u);
}

TEST_F(ServerTest, ReadyzReflectsRegisteredChecks) {
  start();
  auto ready = std::make_shared<std::atomic<bool>>(false);
  server_->addReadinessCheck({"store", [ready] {
                                return ready->load() ? Status::ok() : unavailable("database not reachable");
                              }});
  TestClient c(server_->port());
  auto r = c.get("/readyz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 503u);
  EXPECT_NE(r->body().find("database not reachable"), std::string::npos);
  ready->store(true);
  r = c.get("/readyz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 200u);
}

// Issue 9: a readiness check that blocks (a database ping) must not hold the I/O thread: with one I/O thread, the
// other connections are served while a check waits.
TEST_F(ServerTest, ABlockingReadinessCheckDoesNotStallTheIoThread) {
  ServerOptions o = testOptions();
  o.io_threads = 1;
  start(o);
  auto entered = std::make_shared<std::promise<void>>();
  auto release = std::make_shared<std::promise<void>>();
  std::shared_future<void> released = release->get_future().share();
  server_->addReadinessCheck({"slow", [entered, released] {
                                entered->set_value();
                                released.wait_for(testing::kDeadline);
                                return Status::ok();
                              }});
  TestClient waiting(server_->port());
  ASSERT_TRUE(waiting.send("GET /readyz HTTP/1.1\r\nHost: t\r\n\r\n"));
  ASSERT_EQ(entered->get_future().wait_for(testing::kDeadline), std::future_status::ready);
  TestClient other(server_->port());
  auto r = other.get("/healthz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 200u);
  release->set_value();
  auto ready = waiting.read();
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->result_int(), 200u);
}

TEST_F(ServerTest, HandlerExceptionIsAnswered500AndTheServerStaysUp) {
  start();
  TestClient c(server_->port());
  auto r = c.get("/throw");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 500u);
  EXPECT_TRUE(isOperationOutcome(*r));
  auto ok = c.get("/healthz");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->result_int(), 200u);
}

TEST_F(ServerTest, FiltersRunBeforeTheHandlerAndCanDenyOrSetThePrincipal) {
  start();
  TestClient c(server_->port());
  auto denied = c.get("/echo/denied");
  ASSERT_TRUE(denied);
  EXPECT_EQ(denied->result_int(), 403u);
  EXPECT_TRUE(isOperationOutcome(*denied));
  auto anonymous = c.get("/whoami");
  ASSERT_TRUE(anonymous);
  EXPECT_EQ(anonymous->body(), "nobody");
  auto who = c.get("/whoami", "X-Test-User: kari\r\n");
  ASSERT_TRUE(who);
  EXPECT_EQ(who->body(), "kari");
}

TEST_F(ServerTest, RequestIdIsEchoedOrGenerated) {
  start();
  TestClient c(server_->port());
  auto given = c.get("/healthz", "X-Request-Id: abc-123\r\n");
  ASSERT_TRUE(given);
  EXPECT_EQ((*given)["X-Request-Id"], "abc-123");
  auto hostile = c.get("/healthz", "X-Request-Id: {\"x\"}\r\n");
  ASSERT_TRUE(hostile);
  EXPECT_NE((*hostile)["X-Request-Id"], "{\"x\"}");
  EXPECT_FALSE((*hostile)["X-Request-Id"].empty());
}

TEST_F(ServerTest, HeaderValuesThatWouldSplitTheResponseAreDropped) {
  start();
  TestClient c(server_->port());
  auto r = c.get("/inject");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->count("Set-Cookie"), 0u);
  EXPECT_EQ(r->count("X-Evil"), 0u);
  EXPECT_EQ((*r)["X-Fine"], "ok");
  EXPECT_EQ(r->body(), "injected");
  auto empty = c.get("/nocontent");  // 204 carries no body, and the connection stays usable
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->result_int(), 204u);
  EXPECT_TRUE(empty->body().empty());
  auto next = c.get("/echo/after");
  ASSERT_TRUE(next);
  EXPECT_EQ(next->body(), "/echo/after");
}

TEST_F(ServerTest, HeadOnHealthzSendsHeadersOnly) {
  start();
  TestClient c(server_->port());
  ASSERT_TRUE(c.send("HEAD /healthz HTTP/1.1\r\nHost: t\r\n\r\n"));
  auto r = c.read(/*head=*/true);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 200u);
  auto next = c.get("/echo/after-head");  // framing intact: no stray body bytes
  ASSERT_TRUE(next);
  EXPECT_EQ(next->body(), "/echo/after-head");
}

TEST_F(ServerTest, AccessLogHasNoQueryStringBodyOrFodselsnummer) {
  std::ostringstream captured;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(captured);
  auto logger = std::make_shared<spdlog::logger>("access-test", sink);
  logger->set_pattern("%v");
  ServerOptions o = testOptions();
  o.access_log = true;
  o.access_logger = logger;
  start(o);
  {
    TestClient c(server_->port());
    ASSERT_TRUE(c.get("/echo/12345678901?identifier=urn:oid:2.16.578.1.12.4.1.4.1%7C13097248022"));
    ASSERT_TRUE(c.send("POST /body HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nBODYSECRET"));
    ASSERT_TRUE(c.read());
  }
  server_->stop();
  logger->flush();
  std::string log = captured.str();
  EXPECT_NE(log.find("\"path\":\"/echo/***********\""), std::string::npos) << log;
  EXPECT_NE(log.find("\"method\":\"POST\""), std::string::npos) << log;
  EXPECT_NE(log.find("\"status\":200"), std::string::npos) << log;
  EXPECT_NE(log.find("\"request_id\":"), std::string::npos) << log;
  EXPECT_EQ(log.find("12345678901"), std::string::npos) << log;
  EXPECT_EQ(log.find("13097248022"), std::string::npos) << log;
  EXPECT_EQ(log.find("identifier"), std::string::npos) << log;
  EXPECT_EQ(log.find("BODYSECRET"), std::string::npos) << log;
}

TEST_F(ServerTest, ManyIdleConnectionsDoNotStopServiceBelowTheLimit) {
  start();
  std::vector<std::unique_ptr<TestClient>> idle;
  for (int i = 0; i < 200; ++i) idle.push_back(std::make_unique<TestClient>(server_->port()));
  TestClient c(server_->port());
  auto r = c.get("/healthz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 200u);
}

TEST_F(ServerTest, StartFailsCleanlyWhenTheAddressIsTaken) {
  start();
  ServerOptions o = testOptions();
  o.port = server_->port();
  Server second(o, std::make_shared<TestHandler>());
  Status s = second.start();
  EXPECT_FALSE(s.isOk());
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
}

// Issue 8: every field taken from the request is masked after percent-decoding and before it is cut.
TEST_F(ServerTest, AccessLogMasksFodselsnummerInEveryFieldAndEveryEncoding) {
  std::ostringstream captured;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(captured);
  auto logger = std::make_shared<spdlog::logger>("access-test", sink);
  logger->set_pattern("%v");
  ServerOptions o = testOptions();
  o.access_log = true;
  o.access_logger = logger;
  start(o);
  {
    TestClient c(server_->port());
    ASSERT_TRUE(c.get("/echo/15858%3512066"));                              // %35 is '5'
    ASSERT_TRUE(c.get("/echo/" + std::string(250, 'a') + "13097248022"));   // across the 256-byte cut
    ASSERT_TRUE(c.get("/echo/x", "X-Request-Id: req-28031561584\r\n"));     // a sane id holding one
    ASSERT_TRUE(c.send("28031561584 /echo/y HTTP/1.1\r\nHost: t\r\n\r\n"));  // the method token
    ASSERT_TRUE(c.read());
  }
  server_->stop();
  logger->flush();
  std::string log = captured.str();
  for (const char* leaked : {"15858512066", "15858%3512066", "1309724", "28031561584"}) {
    EXPECT_EQ(log.find(leaked), std::string::npos) << leaked << " in " << log;
  }
  EXPECT_NE(log.find("\"path\":\"/echo/***********\""), std::string::npos) << log;
  EXPECT_NE(log.find("\"request_id\":\"req-***********\""), std::string::npos) << log;
  EXPECT_NE(log.find("\"method\":\"***********\""), std::string::npos) << log;
}

// Issue 14: a 4xx/5xx line says why with the OperationOutcome's issue code, never its diagnostics (which may
// quote request data); logging.format: text gives text lines with the same fields.
TEST_F(ServerTest, AccessLogGivesTheIssueCodeOfErrorsAndHasATextForm) {
  for (bool text : {false, true}) {
    SCOPED_TRACE(text ? "text" : "json");
    std::ostringstream captured;
    auto logger = std::make_shared<spdlog::logger>("access-test",
                                                   std::make_shared<spdlog::sinks::ostream_sink_mt>(captured));
    logger->set_pattern("%v");
    ServerOptions o = testOptions();
    o.access_log = true;
    o.access_logger = logger;
    o.access_log_text = text;
    o.max_body_bytes = 10;
    start(o);
    {
      TestClient c(server_->port());
      ASSERT_TRUE(c.get("/echo/fine"));
      ASSERT_TRUE(c.get("/unknown"));  // 404 without an OperationOutcome
    }
    {
      TestClient c(server_->port());
      ASSERT_TRUE(c.send("POST /body HTTP/1.1\r\nHost: t\r\nContent-Length: 99\r\n\r\n"));
      ASSERT_TRUE(c.read());  // 413 too-long, whose diagnostics name the limit
    }
    server_->stop();
    logger->flush();
    std::string log = captured.str();
    if (text) {
      EXPECT_NE(log.find("GET /echo/fine 200 "), std::string::npos) << log;
      EXPECT_NE(log.find("GET /unknown 404 "), std::string::npos) << log;
      EXPECT_NE(log.find(" reason=-"), std::string::npos) << log;
      EXPECT_NE(log.find(" 413 "), std::string::npos) << log;
      EXPECT_NE(log.find(" reason=too-long"), std::string::npos) << log;
      EXPECT_EQ(log.find('{'), std::string::npos) << log;
    } else {
      EXPECT_NE(log.find(R"("status":404)"), std::string::npos) << log;
      EXPECT_NE(log.find(R"("reason":"-")"), std::string::npos) << log;
      EXPECT_NE(log.find(R"("reason":"too-long")"), std::string::npos) << log;
      EXPECT_EQ(log.find(R"("status":200,"duration_ms":)"), log.rfind(R"("status":200,"duration_ms":)")) << log;
    }
    EXPECT_EQ(log.find("max_body_bytes"), std::string::npos) << log;  // no diagnostics text
    EXPECT_EQ(log.find("fine 200 reason"), std::string::npos) << log;
    server_.reset();
  }
}

// Issue 14: CORS for configured origins only (helsenorge.no's web client); none configured means no CORS at all.
TEST_F(ServerTest, CorsAnswersListedOriginsOnly) {
  ServerOptions o = testOptions();
  o.cors_allowed_origins = {"https://www.helsenorge.no"};
  start(o);
  TestClient c(server_->port());
  auto r = c.get("/echo/x", "Origin: https://www.helsenorge.no\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)["Access-Control-Allow-Origin"], "https://www.helsenorge.no");
  EXPECT_NE((*r)["Access-Control-Expose-Headers"].find("ETag"), std::string::npos);
  EXPECT_EQ((*r)["Vary"], "Origin");
  r = c.get("/echo/x", "Origin: https://evil.example\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->count("Access-Control-Allow-Origin"), 0u);
  EXPECT_EQ((*r)["Vary"], "Origin");

  ASSERT_TRUE(c.send("OPTIONS /Patient HTTP/1.1\r\nHost: t\r\nOrigin: https://www.helsenorge.no\r\n"
                     "Access-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: content-type\r\n\r\n"));
  r = c.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 204u);
  EXPECT_EQ((*r)["Access-Control-Allow-Origin"], "https://www.helsenorge.no");
  EXPECT_NE((*r)["Access-Control-Allow-Methods"].find("POST"), std::string::npos);
  EXPECT_NE((*r)["Access-Control-Allow-Headers"].find("Content-Type"), std::string::npos);
  ASSERT_TRUE(c.send("OPTIONS /Patient HTTP/1.1\r\nHost: t\r\nOrigin: https://evil.example\r\n"
                     "Access-Control-Request-Method: DELETE\r\n\r\n"));
  r = c.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 403u);
  EXPECT_EQ(r->count("Access-Control-Allow-Origin"), 0u);
  EXPECT_EQ(handler_->handled.load(), 2);  // preflights never reach the handler

  server_->stop();
  start();  // no origins configured
  TestClient plain(server_->port());
  r = plain.get("/echo/x", "Origin: https://www.helsenorge.no\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->count("Access-Control-Allow-Origin"), 0u);
  EXPECT_EQ(r->count("Vary"), 0u);
}

// Issue 14: metrics optionally on a listener of their own, kept off the public port.
TEST_F(ServerTest, MetricsListenerServesMetricsOnlyAndTheMainPortNoLonger) {
  ServerOptions o = testOptions();
  o.metrics_listen = true;
  o.metrics_host = "127.0.0.1";
  o.metrics_port = 0;
  start(o);
  ASSERT_NE(server_->metricsPort(), 0);
  ASSERT_NE(server_->metricsPort(), server_->port());
  TestClient main_port(server_->port());
  auto r = main_port.get("/metrics");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 404u);
  r = main_port.get("/echo/x");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 200u);
  TestClient metrics_port(server_->metricsPort());
  r = metrics_port.get("/metrics");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 200u);
  EXPECT_NE(r->body().find("planbro_http_requests_total{interaction=\"echo\",status=\"200\"} 1"), std::string::npos)
      << r->body();
  r = metrics_port.get("/echo/x");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 404u);
  EXPECT_EQ(handler_->handled.load(), 1);
}

TEST(MaskForLog, DecodesThenMasksThenCuts) {
  EXPECT_EQ(maskForLog("/Patient/15858%3512066", 256), "/Patient/***********");
  EXPECT_EQ(maskForLog("/Patient/15858%253512066", 256), "/Patient/***********");  // encoded twice
  EXPECT_EQ(maskForLog("158585 12066 and 158585-12066", 256), "****** ***** and ******-*****");
  EXPECT_EQ(maskForLog(std::string(250, 'a') + "13097248022", 256), std::string(250, 'a') + "******");
  EXPECT_EQ(maskForLog("a\r\nb%0Ac\xc3", 256), "a??b?c?");
  EXPECT_EQ(maskForLog("100% and %zz and %4", 256), "100% and %zz and %4");  // not escapes: kept as they are
  EXPECT_EQ(maskForLog("%zz/x%2F13097248022", 256), "%zz/x/***********");     // an escape after a stray '%'
  EXPECT_EQ(maskForLog("1234567890123", 256), "1234567890123");  // 13 digits: not a person number
  EXPECT_EQ(maskForLog("100%", 256), "100%");
}

TEST(MaskPathForLog, DropsQueryAndMasksElevenDigitRuns) {
  EXPECT_EQ(maskPathForLog("/Patient/13097248022/_history/2?x=1"), "/Patient/***********/_history/2");
  EXPECT_EQ(maskPathForLog("/Patient/123456789012"), "/Patient/123456789012");  // 12 digits: not an fnr
  EXPECT_EQ(maskPathForLog("/Patient/abc"), "/Patient/abc");
}

}  // namespace
}  // namespace planbro::gateway::http
