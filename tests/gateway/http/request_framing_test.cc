// How the server reads a request's body (issue 8): framing that a proxy could read otherwise is refused and the
// connection closed (request smuggling), encodings it does not decode are refused, one read deadline covers the
// whole request, and the bodies of all requests in flight share one memory budget.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <string>
#include <thread>

#include "planbro/gateway/http/server.h"
#include "test_client.h"

namespace planbro::gateway::http {
namespace {

using testing::TestClient;

// /hold blocks until the test releases it (its body stays in flight meanwhile); everything else answers with the
// body's size. Every request that reaches the handler is counted by path.
class BodyHandler : public RequestHandler {
 public:
  Response handle(const Request& request, RequestContext&) override {
    Response r;
    r.headers.set("Content-Type", "text/plain");
    if (request.path == "/smuggled") smuggled.fetch_add(1);
    if (request.path == "/hold") {
      entered.set_value();
      release_future.wait_for(testing::kDeadline);
    }
    r.body = std::to_string(request.body.size());
    handled.fetch_add(1);
    return r;
  }

  std::atomic<int> handled{0};
  std::atomic<int> smuggled{0};
  std::promise<void> entered;
  std::promise<void> release;
  std::shared_future<void> release_future = release.get_future().share();
};

class RequestFramingTest : public ::testing::Test {
 protected:
  void start(ServerOptions o = options()) {
    handler_ = std::make_shared<BodyHandler>();
    server_ = std::make_unique<Server>(std::move(o), handler_);
    Status s = server_->start();
    ASSERT_TRUE(s.isOk()) << s.message();
  }
  static ServerOptions options() {
    ServerOptions o;
    o.io_threads = 2;
    o.worker_threads = 2;
    o.access_log = false;
    return o;
  }
  void TearDown() override {
    if (server_) {
      handler_->release.set_value();
      server_->stop();
    }
  }
  std::string metrics() { return server_->metrics().render(); }

  std::shared_ptr<BodyHandler> handler_;
  std::unique_ptr<Server> server_;
};

// RFC 9112 §6.3: a Transfer-Encoding other than one final `chunked` must not be read as "no body", or the bytes
// after the header become a second request the server answers (and a proxy never saw).
TEST_F(RequestFramingTest, AnyTransferEncodingButChunkedIs400AndClosesBeforeASmuggledRequest) {
  start();
  const std::string smuggled = "GET /smuggled HTTP/1.1\r\nHost: t\r\n\r\n";
  for (std::string te : {"gzip", "identity", "xchunked", "chunked, identity", "gzip, chunked", "chunked, chunked",
                         "chunked,", "deflate"}) {
    SCOPED_TRACE("Transfer-Encoding: " + te);
    TestClient c(server_->port());
    ASSERT_TRUE(c.send("POST /count HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: " + te + "\r\n\r\n" + smuggled));
    auto r = c.read();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->result_int(), 400u);
    EXPECT_EQ((*r)[boost::beast::http::field::connection], "close");
    EXPECT_NE(r->body().find("OperationOutcome"), std::string::npos);
    EXPECT_TRUE(c.waitClosed());
  }
  {
    // Two Transfer-Encoding fields are one list: "chunked" then "gzip" does not end in chunked.
    TestClient c(server_->port());
    ASSERT_TRUE(c.send("POST /count HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n" +
                       smuggled));
    auto r = c.read();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->result_int(), 400u);
    EXPECT_TRUE(c.waitClosed());
  }
  EXPECT_EQ(handler_->smuggled.load(), 0);
  EXPECT_EQ(handler_->handled.load(), 0);
}

TEST_F(RequestFramingTest, TransferEncodingWithContentLengthIs400AndCloses) {
  start();
  TestClient c(server_->port());
  ASSERT_TRUE(c.send("POST /count HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"
                     "5\r\nhello\r\n0\r\n\r\n"));
  auto r = c.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 400u);
  EXPECT_TRUE(c.waitClosed());
  EXPECT_EQ(handler_->handled.load(), 0);
}

TEST_F(RequestFramingTest, ChunkedBodyIsStillReadAndTheConnectionKeptOpen) {
  start();
  TestClient c(server_->port());
  ASSERT_TRUE(c.send("POST /count HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: Chunked\r\n\r\n5\r\nhello\r\n2\r\n!!\r\n0\r\n\r\n"));
  auto r = c.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 200u);
  EXPECT_EQ(r->body(), "7");
  auto again = c.get("/count");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->result_int(), 200u);
}

// Outside probe (2026-12-07): a client that half-closes before its body is complete was cut without an answer;
// it gets 400 (its half of the connection is closed, it can still read), and the handler never runs.
TEST_F(RequestFramingTest, ARequestEndedBeforeItsBodyIsAnswered400) {
  start();
  for (std::string partial : {"POST /count HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n{",
                              "POST /count HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
                              "POST /count HTTP/1.1\r\nHost: t\r\nContent-Le"}) {
    SCOPED_TRACE(partial);
    TestClient c(server_->port());
    ASSERT_TRUE(c.send(partial));
    c.shutdownSend();
    auto r = c.read();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->result_int(), 400u);
    EXPECT_NE(r->body().find("ended before"), std::string::npos) << r->body();
    EXPECT_TRUE(c.waitClosed());
  }
  {
    // A connection closed between requests still just closes: there is nothing to answer.
    TestClient c(server_->port());
    c.shutdownSend();
    EXPECT_FALSE(c.read());
  }
  EXPECT_EQ(handler_->handled.load(), 0);
}

// planbro does not decode request bodies (no decompression bomb to bound): an encoded body is refused, unread.
TEST_F(RequestFramingTest, ContentEncodingOtherThanIdentityIs415) {
  start();
  for (std::string ce : {"gzip", "deflate, identity", "br"}) {
    SCOPED_TRACE("Content-Encoding: " + ce);
    TestClient c(server_->port());
    ASSERT_TRUE(c.send("POST /count HTTP/1.1\r\nHost: t\r\nContent-Encoding: " + ce + "\r\nContent-Length: 5\r\n\r\nhello"));
    auto r = c.read();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->result_int(), 415u);
    EXPECT_TRUE(c.waitClosed());
  }
  TestClient c(server_->port());
  ASSERT_TRUE(c.send("POST /count HTTP/1.1\r\nHost: t\r\nContent-Encoding: identity\r\nContent-Length: 5\r\n\r\nhello"));
  auto r = c.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 200u);
  EXPECT_EQ(handler_->handled.load(), 1);
}

TEST_F(RequestFramingTest, AnExpectationOtherThan100ContinueIs417) {
  start();
  TestClient c(server_->port());
  ASSERT_TRUE(c.send("POST /count HTTP/1.1\r\nHost: t\r\nExpect: 200-ok\r\nContent-Length: 5\r\n\r\nhello"));
  auto r = c.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 417u);
  EXPECT_EQ(handler_->handled.load(), 0);
}

// Issue 8: the read timeout restarted for the body, so a client could take twice the limit (or more, with
// 100-continue). Header and body are each trickled over about two thirds of the limit here: each alone fits, the
// request as a whole does not, and it must be cut. The pauses pace the trickle; nothing is asserted about time.
TEST_F(RequestFramingTest, OneReadDeadlineCoversHeaderAndBody) {
  ServerOptions o = options();
  o.read_timeout = std::chrono::milliseconds(600);
  start(o);
  TestClient c(server_->port());
  const std::string header = "POST /count HTTP/1.1\r\nHost: t\r\nContent-Length: 8\r\n\r\n";
  const auto pause = std::chrono::milliseconds(50);
  // First byte, then the rest of the header in 8 pieces over ~400 ms, then the body a byte per pause.
  bool sending = c.send(header.substr(0, 1));
  const size_t piece = header.size() / 8 + 1;
  for (size_t at = 1; sending && at < header.size(); at += piece) {
    std::this_thread::sleep_for(pause);
    sending = c.send(header.substr(at, piece));
  }
  for (int i = 0; sending && i < 8; ++i) {
    std::this_thread::sleep_for(pause);
    sending = c.send("x");
  }
  // Whatever of the trickle got through, the request never reached the handler and the connection was cut.
  EXPECT_FALSE(c.read().has_value());
  EXPECT_EQ(handler_->handled.load(), 0);
  EXPECT_NE(metrics().find("planbro_http_timeouts_total{kind=\"read\"} 1"), std::string::npos) << metrics();
}

// Issue 8: 60 connections each sending 15 MB took 946 MB. The bodies in flight share limits.max_inflight_body_bytes:
// a body that does not fit beside those being read or handled is refused (503, Retry-After, close) before it is
// read, whether its size is announced (Content-Length) or learnt chunk by chunk; the budget returns when a request
// is done.
TEST_F(RequestFramingTest, BodiesInFlightShareOneBudget) {
  ServerOptions o = options();
  o.max_body_bytes = 800;
  o.max_inflight_body_bytes = 1000;
  start(o);
  const std::string body(600, 'b');
  TestClient holder(server_->port());
  ASSERT_TRUE(holder.send("POST /hold HTTP/1.1\r\nHost: t\r\nContent-Length: 600\r\n\r\n" + body));
  ASSERT_EQ(handler_->entered.get_future().wait_for(testing::kDeadline), std::future_status::ready);

  {
    TestClient c(server_->port());
    ASSERT_TRUE(c.send("POST /count HTTP/1.1\r\nHost: t\r\nContent-Length: 600\r\n\r\n"));
    auto r = c.read();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->result_int(), 503u);
    EXPECT_EQ((*r)[boost::beast::http::field::retry_after], "1");
    EXPECT_TRUE(c.waitClosed());
  }
  {
    TestClient c(server_->port());
    ASSERT_TRUE(c.send("POST /count HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                       "100\r\n" + std::string(256, 'c') + "\r\n" + "100\r\n" + std::string(256, 'c') + "\r\n"));
    auto r = c.read();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->result_int(), 503u);
    EXPECT_TRUE(c.waitClosed());
  }
  {
    // What fits beside the held body is still read.
    TestClient c(server_->port());
    ASSERT_TRUE(c.send("POST /count HTTP/1.1\r\nHost: t\r\nContent-Length: 300\r\n\r\n" + std::string(300, 's')));
    auto r = c.read();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->result_int(), 200u);
    EXPECT_EQ(r->body(), "300");
  }
  handler_->release.set_value();
  auto held = holder.read();
  ASSERT_TRUE(held);
  EXPECT_EQ(held->body(), "600");
  // The held body's share is back once its request is done (the response is written after the request is freed
  // on the handler thread, so the retry is bounded rather than immediate).
  bool served = false;
  for (int attempt = 0; attempt < 100 && !served; ++attempt) {
    TestClient c(server_->port());
    ASSERT_TRUE(c.send("POST /count HTTP/1.1\r\nHost: t\r\nContent-Length: 600\r\n\r\n" + body));
    auto r = c.read();
    ASSERT_TRUE(r);
    served = r->result_int() == 200u;
  }
  EXPECT_TRUE(served);
  EXPECT_NE(metrics().find("planbro_http_body_budget_refusals_total 2"), std::string::npos) << metrics();
  handler_->release = std::promise<void>();  // TearDown releases again
}

}  // namespace
}  // namespace planbro::gateway::http
