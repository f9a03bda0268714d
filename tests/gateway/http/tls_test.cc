// HTTPS: the server speaks TLS with the configured certificate and key, refuses what it should, and a client
// that does not speak TLS cannot take it down. The certificate is made here, per run (EC P-256, self-signed).
#include <openssl/ssl.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "planbro/gateway/http/server.h"
#include "planbro/gateway/http/tls_files.h"
#include "test_certificates.h"
#include "test_client.h"

namespace planbro::gateway::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace fs = std::filesystem;

class HelloHandler : public RequestHandler {
 public:
  Response handle(const Request& request, RequestContext&) override {
    Response r;
    r.headers.set("Content-Type", "text/plain");
    r.body = "hello " + request.path;
    return r;
  }
};

struct PemFiles {
  fs::path dir;
  fs::path cert;
  fs::path key;
};

// Writes a fresh key and a self-signed certificate for 127.0.0.1 into a temp directory of its own.
PemFiles makeSelfSignedCertificate(const std::string& name, long valid_seconds = 3600,
                                   const char* passphrase = nullptr) {
  PemFiles out;
  out.dir = fs::temp_directory_path() / ("planbro-tls-test-" + name + "-" + std::to_string(getpid()));
  fs::create_directories(out.dir);
  out.cert = out.dir / "cert.pem";
  out.key = out.dir / "key.pem";
  planbro::testing::SelfSignedCertificateOptions options;
  options.not_before_seconds = -7200;
  options.not_after_seconds = valid_seconds;
  if (passphrase) options.key_passphrase = passphrase;
  EXPECT_TRUE(planbro::testing::writeSelfSignedCertificate(out.cert.string(), out.key.string(), options)) << name;
  return out;
}

class TlsServerTest : public ::testing::Test {
 protected:
  void SetUp() override { pem_ = makeSelfSignedCertificate("server"); }
  void TearDown() override {
    if (server_) server_->stop();
    std::error_code ec;
    fs::remove_all(pem_.dir, ec);
  }

  Status start(bool min_1_3 = false) {
    ServerOptions o;
    o.tls_certificate_file = pem_.cert.string();
    o.tls_private_key_file = pem_.key.string();
    o.tls_min_version_1_3 = min_1_3;
    o.read_timeout = std::chrono::seconds(5);
    o.access_log = false;
    server_ = std::make_unique<Server>(o, std::make_shared<HelloHandler>());
    return server_->start();
  }

  // One HTTPS GET, verifying the server against the test certificate. status 0 when the exchange failed;
  // `max_version` caps the client's TLS version (0: no cap).
  std::pair<int, std::string> httpsGet(const std::string& target, int max_version = 0) {
    asio::io_context ioc;
    asio::ssl::context ctx(asio::ssl::context::tls_client);
    ctx.load_verify_file(pem_.cert.string());
    ctx.set_verify_mode(asio::ssl::verify_peer);
    if (max_version) SSL_CTX_set_max_proto_version(ctx.native_handle(), max_version);
    beast::ssl_stream<beast::tcp_stream> stream(ioc, ctx);
    beast::error_code ec;
    beast::get_lowest_layer(stream).expires_after(testing::kDeadline);
    beast::get_lowest_layer(stream).connect(
        asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), server_->port()), ec);
    if (ec) return {0, "connect: " + ec.message()};
    stream.handshake(asio::ssl::stream_base::client, ec);
    if (ec) return {0, "handshake: " + ec.message()};
    bhttp::request<bhttp::empty_body> req(bhttp::verb::get, target, 11);
    req.set(bhttp::field::host, "127.0.0.1");
    bhttp::write(stream, req, ec);
    if (ec) return {0, "write: " + ec.message()};
    beast::flat_buffer buffer;
    bhttp::response<bhttp::string_body> res;
    bhttp::read(stream, buffer, res, ec);
    if (ec) return {0, "read: " + ec.message()};
    return {static_cast<int>(res.result_int()), res.body()};
  }

  PemFiles pem_;
  std::unique_ptr<Server> server_;
};

TEST_F(TlsServerTest, AnswersOverHttpsWithTheConfiguredCertificate) {
  ASSERT_TRUE(start().isOk());
  auto [status, body] = httpsGet("/fhir/Patient");
  EXPECT_EQ(status, 200) << body;
  EXPECT_EQ(body, "hello /fhir/Patient");
  EXPECT_EQ(httpsGet("/healthz").first, 200);
}

TEST_F(TlsServerTest, APlainHttpClientGetsNoAnswerAndTheServerKeepsServing) {
  ASSERT_TRUE(start().isOk());
  {
    testing::TestClient plain(server_->port());
    ASSERT_TRUE(plain.connected());
    // The handshake fails on the HTTP bytes and the server closes the connection: no HTTP answer comes back.
    EXPECT_FALSE(plain.get("/healthz").has_value());
  }
  auto [status, body] = httpsGet("/healthz");
  EXPECT_EQ(status, 200) << body;
  EXPECT_NE(server_->metrics().render().find("planbro_http_tls_handshake_failures_total 1"), std::string::npos);
}

TEST_F(TlsServerTest, AMinimumOfTls13RefusesATls12Client) {
  ASSERT_TRUE(start(/*min_1_3=*/true).isOk());
  EXPECT_EQ(httpsGet("/healthz", TLS1_2_VERSION).first, 0);
  EXPECT_EQ(httpsGet("/healthz").first, 200);
}

TEST_F(TlsServerTest, StartFailsWithAClearMessageForAMissingOrMismatchedKey) {
  ServerOptions o;
  o.tls_certificate_file = (pem_.dir / "missing.pem").string();
  o.tls_private_key_file = pem_.key.string();
  Server missing(o, std::make_shared<HelloHandler>());
  Status s = missing.start();
  ASSERT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("missing.pem"), std::string::npos) << s.message();

  PemFiles other = makeSelfSignedCertificate("other");
  o.tls_certificate_file = pem_.cert.string();
  o.tls_private_key_file = other.key.string();
  Server mismatched(o, std::make_shared<HelloHandler>());
  s = mismatched.start();
  ASSERT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("is not the key of the certificate"), std::string::npos) << s.message();
  std::error_code ec;
  fs::remove_all(other.dir, ec);
}

// An encrypted key is refused with a message that says so, at once: no pass-phrase prompt (a terminal would wait).
TEST_F(TlsServerTest, AnEncryptedKeyIsRefusedWithoutAPrompt) {
  PemFiles encrypted = makeSelfSignedCertificate("encrypted", 3600, "secret-pass");
  ServerOptions o;
  o.tls_certificate_file = encrypted.cert.string();
  o.tls_private_key_file = encrypted.key.string();
  Server server(o, std::make_shared<HelloHandler>());
  Status s = server.start();
  ASSERT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("server.tls.private_key_file"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("is encrypted"), std::string::npos) << s.message();
  std::error_code ec;
  fs::remove_all(encrypted.dir, ec);
}

// checkTlsFiles (for --validate-config): every problem at once, each naming its key; nothing for a usable pair.
TEST_F(TlsServerTest, CheckTlsFilesReportsEveryProblemWithItsKey) {
  config::TlsConfig good;
  good.certificate_file = pem_.cert.string();
  good.private_key_file = pem_.key.string();
  EXPECT_TRUE(checkTlsFiles(good).empty());
  EXPECT_TRUE(checkTlsFiles(config::TlsConfig{}).empty());  // TLS off

  auto joined = [](const std::vector<std::string>& v) {
    std::string all;
    for (const auto& m : v) all += m + "\n";
    return all;
  };
  config::TlsConfig missing;
  missing.certificate_file = (pem_.dir / "nope-cert.pem").string();
  missing.private_key_file = (pem_.dir / "nope-key.pem").string();
  std::vector<std::string> problems = checkTlsFiles(missing);
  ASSERT_EQ(problems.size(), 2u) << joined(problems);
  EXPECT_EQ(problems[0].rfind("server.tls.certificate_file: cannot read", 0), 0u) << joined(problems);
  EXPECT_EQ(problems[1].rfind("server.tls.private_key_file: cannot read", 0), 0u) << joined(problems);

  config::TlsConfig swapped;  // the key file as certificate and the other way round: neither parses
  swapped.certificate_file = pem_.key.string();
  swapped.private_key_file = pem_.cert.string();
  problems = checkTlsFiles(swapped);
  ASSERT_EQ(problems.size(), 2u) << joined(problems);
  EXPECT_NE(problems[0].find("holds no PEM certificate"), std::string::npos) << joined(problems);
  EXPECT_NE(problems[1].find("holds no PEM private key"), std::string::npos) << joined(problems);

  PemFiles expired = makeSelfSignedCertificate("expired", -3600);
  PemFiles encrypted = makeSelfSignedCertificate("encrypted2", 3600, "secret-pass");
  config::TlsConfig old_and_locked;
  old_and_locked.certificate_file = expired.cert.string();
  old_and_locked.private_key_file = encrypted.key.string();
  problems = checkTlsFiles(old_and_locked);
  ASSERT_EQ(problems.size(), 2u) << joined(problems);
  EXPECT_NE(problems[0].find("has expired"), std::string::npos) << joined(problems);
  EXPECT_NE(problems[1].find("is encrypted"), std::string::npos) << joined(problems);

  config::TlsConfig mismatched;
  mismatched.certificate_file = pem_.cert.string();
  mismatched.private_key_file = expired.key.string();
  problems = checkTlsFiles(mismatched);
  ASSERT_EQ(problems.size(), 1u) << joined(problems);
  EXPECT_NE(problems[0].find("is not the key of the certificate"), std::string::npos) << joined(problems);
  std::error_code ec;
  fs::remove_all(expired.dir, ec);
  fs::remove_all(encrypted.dir, ec);
}

// A body of exactly `size` bytes whose content depends on the position, so a lost or repeated record shows.
std::string patternedBody(size_t size) {
  std::string body(size, ' ');
  for (size_t i = 0; i < size; ++i) body[i] = static_cast<char>('a' + (i * 7 + i / 4093) % 26);
  return body;
}

// GET /size/N answers N patterned bytes; the server gzips them when asked (gzip_min_bytes 1024).
class SizedHandler : public RequestHandler {
 public:
  Response handle(const Request& request, RequestContext&) override {
    Response r;
    r.headers.set("Content-Type", "text/plain");
    r.body = patternedBody(std::stoull(request.path.substr(std::string_view("/size/").size())));
    return r;
  }
};

// One keep-alive HTTPS connection. Every exchange is asynchronous under a deadline (kDeadline) on the TCP layer, so
// a server that stops sending fails the test instead of hanging it (Beast's timeouts apply to async operations only).
class TlsClient {
 public:
  TlsClient(uint16_t port, const std::string& ca_file) : ctx_(asio::ssl::context::tls_client), stream_(ioc_, ctx_) {
    ctx_.load_verify_file(ca_file);
    ctx_.set_verify_mode(asio::ssl::verify_peer);
    beast::get_lowest_layer(stream_).expires_after(testing::kDeadline);
    beast::get_lowest_layer(stream_).async_connect(
        asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), [this](beast::error_code ec) {
          if (ec) return fail("connect", ec);
          stream_.async_handshake(asio::ssl::stream_base::client, [this](beast::error_code hec) {
            if (hec) fail("handshake", hec);
          });
        });
    run();
  }

  const std::string& error() const { return error_; }

  /** One GET on this connection; nullopt (and error()) when the exchange failed or ran past the deadline. */
  std::optional<bhttp::response<bhttp::string_body>> get(const std::string& target, bool gzip) {
    if (!error_.empty()) return std::nullopt;
    auto req = std::make_shared<bhttp::request<bhttp::empty_body>>(bhttp::verb::get, target, 11);
    req->set(bhttp::field::host, "127.0.0.1");
    if (gzip) req->set(bhttp::field::accept_encoding, "gzip");
    parser_.emplace();
    parser_->body_limit(64u << 20);
    beast::get_lowest_layer(stream_).expires_after(testing::kDeadline);
    bhttp::async_write(stream_, *req, [this, req](beast::error_code ec, size_t) {
      if (ec) return fail("write", ec);
      bhttp::async_read(stream_, buffer_, *parser_, [this](beast::error_code rec, size_t) {
        if (rec) fail("read", rec);
      });
    });
    run();
    if (!error_.empty()) return std::nullopt;
    return parser_->release();
  }

 private:
  void fail(const char* what, const beast::error_code& ec) { error_ = std::string(what) + ": " + ec.message(); }
  void run() {
    ioc_.restart();
    ioc_.run();
  }

  asio::io_context ioc_;
  asio::ssl::context ctx_;
  beast::ssl_stream<beast::tcp_stream> stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::response_parser<bhttp::string_body>> parser_;
  std::string error_;
};

// The body as sent, decoded when the server gzipped it.
std::string decodedBody(const bhttp::response<bhttp::string_body>& res) {
  if (res[bhttp::field::content_encoding] == "gzip") return testing::gunzip(res.body()).value_or("<bad gzip>");
  return res.body();
}

class TlsSizeTest : public TlsServerTest, public ::testing::WithParamInterface<bool> {};

// Issue 14: every body above about 16 KB was lost over TLS (headers sent, then nothing). Every size class around
// the 16 KB TLS record and Beast's 16 KB flattening limit, gzip and not, TLS 1.2 and 1.3, on one keep-alive
// connection each so several large responses follow one another.
TEST_P(TlsSizeTest, EveryResponseSizeArrivesWholeOnOneKeepAliveConnection) {
  const bool tls13_only = GetParam();
  ServerOptions o;
  o.tls_certificate_file = pem_.cert.string();
  o.tls_private_key_file = pem_.key.string();
  o.tls_min_version_1_3 = tls13_only;
  o.access_log = false;
  server_ = std::make_unique<Server>(o, std::make_shared<SizedHandler>());
  ASSERT_TRUE(server_->start().isOk());
  const size_t sizes[] = {0, 1, 1024, 16383, 16384, 16385, 16 * 1024 * 2 + 7, 1u << 20, 16u << 20};
  for (bool gzip : {false, true}) {
    TlsClient client(server_->port(), pem_.cert.string());
    ASSERT_EQ(client.error(), "");
    for (size_t size : sizes) {
      SCOPED_TRACE("size " + std::to_string(size) + (gzip ? " gzip" : ""));
      auto res = client.get("/size/" + std::to_string(size), gzip);
      ASSERT_TRUE(res.has_value()) << client.error();
      EXPECT_EQ(res->result_int(), 200u);
      std::string body = decodedBody(*res);
      EXPECT_EQ(body.size(), size);
      EXPECT_TRUE(body == patternedBody(size));
      if (gzip && size >= 1024) {
        EXPECT_EQ((*res)[bhttp::field::content_encoding], "gzip");
      }
    }
    // And the same large body several times in a row on the same connection.
    for (int i = 0; i < 3; ++i) {
      auto res = client.get("/size/100000", gzip);
      ASSERT_TRUE(res.has_value()) << client.error();
      EXPECT_TRUE(decodedBody(*res) == patternedBody(100000));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Tls12And13, TlsSizeTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? std::string("Tls13Only") : std::string("Tls12Or13");
                         });

}  // namespace
}  // namespace planbro::gateway::http
