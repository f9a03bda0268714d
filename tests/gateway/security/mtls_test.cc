// Mutual TLS for system clients: the server asks for (or requires) a client certificate that chains to the
// configured CA, and a token bound to a certificate (RFC 8705 cnf.x5t#S256) passes only over a connection that
// presented that certificate. Certificates are made here, per run.

#include <unistd.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <gtest/gtest.h>

#include <filesystem>

#include "planbro/gateway/http/server.h"
#include "planbro/gateway/security/auth_filter.h"
#include "test_certificates.h"
#include "test_keys.h"

namespace planbro::gateway::security::testing {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace fs = std::filesystem;

struct Pem {
  fs::path cert;
  fs::path key;
  std::string x5t_s256;  // base64url SHA-256 of the certificate's DER
};

Pem selfSigned(const fs::path& dir, const std::string& name, const std::string& cn) {
  Pem out{dir / (name + ".crt"), dir / (name + ".key"), ""};
  planbro::testing::SelfSignedCertificateOptions options;
  options.common_name = cn;
  options.subject_alt_name.clear();
  planbro::testing::SelfSignedCertificate made;
  EXPECT_TRUE(planbro::testing::writeSelfSignedCertificate(out.cert.string(), out.key.string(), options, &made)) << name;
  out.x5t_s256 = b64url(made.der_sha256);
  return out;
}

// Answers with what the filter found: the principal's client id.
class WhoAmI : public http::RequestHandler {
 public:
  http::Response handle(const http::Request&, http::RequestContext& context) override {
    http::Response r;
    r.headers.set("Content-Type", "text/plain");
    r.body = context.principal ? context.principal->client_id : "nobody";
    return r;
  }
};

class MutualTls : public ::testing::Test {
 protected:
  MutualTls() : issuer_(makeKey("ES256", "issuer-1")) {}

  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("planbro-mtls-" + std::to_string(getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    server_pem_ = selfSigned(dir_, "server", "127.0.0.1");
    client_pem_ = selfSigned(dir_, "client", "integration-engine");
    other_pem_ = selfSigned(dir_, "other", "integration-engine");
  }
  void TearDown() override {
    if (server_) server_->stop();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  void start(bool require) {
    http::ServerOptions o;
    o.port = 0;
    o.tls_certificate_file = server_pem_.cert.string();
    o.tls_private_key_file = server_pem_.key.string();
    o.tls_client_ca_file = client_pem_.cert.string();  // the client's self-signed certificate is its own CA
    o.tls_require_client_certificate = require;
    o.read_timeout = std::chrono::seconds(5);
    o.access_log = false;
    server_ = std::make_unique<http::Server>(o, std::make_shared<WhoAmI>());
    auto jwks = Jwks::parse(jwksJson({&issuer_}));
    ASSERT_TRUE(jwks.isOk());
    TokenValidatorOptions t;
    t.issuer = kIssuer;
    t.audience = kAudience;
    t.clock = [] { return kNow; };
    server_->addFilter(std::make_shared<AuthFilter>(AuthFilterOptions{},
                                                    std::make_shared<TokenValidator>(t, staticKeySource(*jwks)),
                                                    std::make_shared<DpopVerifier>(DpopOptions{}, makeMemoryReplayCache(1000))));
    ASSERT_TRUE(server_->start().isOk());
  }

  std::string token(const std::string& x5t) {
    return signCompact(issuer_, tokenHeader(issuer_),
                       std::string("{\"iss\":\"") + kIssuer + "\",\"aud\":\"" + kAudience +
                           "\",\"client_id\":\"integration-engine\",\"exp\":" + std::to_string(kNow + 60) +
                           ",\"scope\":\"system/*.rs\",\"cnf\":{\"x5t#S256\":\"" + x5t + "\"}}");
  }

  // One HTTPS GET with `client` as the client certificate (none when null). 0: the handshake or exchange failed.
  int get(const Pem* client, const std::string& bearer) {
    asio::io_context ioc;
    asio::ssl::context ctx(asio::ssl::context::tls_client);
    ctx.load_verify_file(server_pem_.cert.string());
    ctx.set_verify_mode(asio::ssl::verify_peer);
    if (client != nullptr) {
      ctx.use_certificate_file(client->cert.string(), asio::ssl::context::pem);
      ctx.use_private_key_file(client->key.string(), asio::ssl::context::pem);
    }
    beast::ssl_stream<beast::tcp_stream> stream(ioc, ctx);
    beast::error_code ec;
    beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(10));
    beast::get_lowest_layer(stream).connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), server_->port()), ec);
    if (ec) return 0;
    stream.handshake(asio::ssl::stream_base::client, ec);
    if (ec) return 0;
    bhttp::request<bhttp::empty_body> req(bhttp::verb::get, "/Basic", 11);
    req.set(bhttp::field::host, "127.0.0.1");
    req.set(bhttp::field::authorization, "Bearer " + bearer);
    bhttp::write(stream, req, ec);
    if (ec) return 0;
    beast::flat_buffer buffer;
    bhttp::response<bhttp::string_body> res;
    bhttp::read(stream, buffer, res, ec);  // TLS 1.3: a refused certificate surfaces here
    if (ec) return 0;
    return static_cast<int>(res.result_int());
  }

  TestKey issuer_;
  fs::path dir_;
  Pem server_pem_, client_pem_, other_pem_;
  std::unique_ptr<http::Server> server_;
};

TEST_F(MutualTls, ACertificateBoundTokenPassesOnlyWithItsCertificate) {
  start(false);
  const std::string bound = token(client_pem_.x5t_s256);
  EXPECT_EQ(get(&client_pem_, bound), 200);
  EXPECT_EQ(get(nullptr, bound), 401) << "no certificate on the connection";
  EXPECT_EQ(get(&client_pem_, token(other_pem_.x5t_s256)), 401) << "bound to another certificate";
  // A certificate that does not chain to the CA fails the handshake, even in `request` mode.
  EXPECT_EQ(get(&other_pem_, token(other_pem_.x5t_s256)), 0);
}

TEST_F(MutualTls, RequireRefusesAConnectionWithoutACertificate) {
  start(true);
  EXPECT_EQ(get(nullptr, token(client_pem_.x5t_s256)), 0);
  EXPECT_EQ(get(&client_pem_, token(client_pem_.x5t_s256)), 200);
}

}  // namespace
}  // namespace planbro::gateway::security::testing
