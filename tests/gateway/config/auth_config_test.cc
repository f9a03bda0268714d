// auth.* and the mutual-TLS keys: typed, validated whole, every error naming its key.

#include "config_test_support.h"

namespace planbro::gateway::config {
namespace {

using testing::errorsOf;

TEST(AuthConfig, DefaultsAreOpenWithDpopAllowed) {
  auto c = parseConfig("");
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_FALSE(c->auth.enabled());
  EXPECT_EQ(c->auth.dpop, "allowed");
  EXPECT_EQ(c->auth.clock_skew_s, 30u);
  EXPECT_EQ(c->auth.algorithms, (std::vector<std::string>{"RS256", "PS256", "ES256"}));
  EXPECT_FALSE(c->server.allow_insecure);
  EXPECT_EQ(c->server.tls.client_certificates, "off");
}

TEST(AuthConfig, ATokenConfigurationReadsEveryKey) {
  auto c = parseConfig(
      "auth:\n  mode: token\n  issuer: https://helseid-sts.nhn.no\n  audience: nhn:planbro\n  jwks_file: /etc/jwks.json\n"
      "  dpop: required\n  clock_skew_s: 10\n  trusted_clients: [engine-a, engine-b]\n  algorithms: [ES256]\n"
      "  min_security_level: 3\n");
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_TRUE(c->auth.enabled());
  EXPECT_EQ(c->auth.issuer, "https://helseid-sts.nhn.no");
  EXPECT_EQ(c->auth.dpop, "required");
  EXPECT_EQ(c->auth.clock_skew_s, 10u);
  EXPECT_EQ(c->auth.trusted_clients, (std::vector<std::string>{"engine-a", "engine-b"}));
  EXPECT_EQ(c->auth.algorithms, (std::vector<std::string>{"ES256"}));
}

TEST(AuthConfig, ErrorsNameTheirKeys) {
  std::string e = errorsOf("auth:\n  mode: token\n");
  EXPECT_NE(e.find("auth.issuer: must be set"), std::string::npos) << e;
  EXPECT_NE(e.find("auth.audience: must be set"), std::string::npos) << e;
  EXPECT_NE(e.find("auth.jwks_file: exactly one of"), std::string::npos) << e;
  e = errorsOf("auth:\n  mode: closed\n  dpop: sometimes\n  algorithms: [none, HS256, RS256]\n  clock_skew_s: 3600\n"
               "  jwks_url: http://example.com/jwks\n  colour: blue\n");
  EXPECT_NE(e.find("auth.mode: must be"), std::string::npos) << e;
  EXPECT_NE(e.find("auth.dpop: must be"), std::string::npos) << e;
  EXPECT_NE(e.find("(got \"none\")"), std::string::npos) << e;
  EXPECT_NE(e.find("(got \"HS256\")"), std::string::npos) << e;
  EXPECT_NE(e.find("auth.clock_skew_s: must be between 0 and 300"), std::string::npos) << e;
  EXPECT_NE(e.find("auth.jwks_url: must be an https:// URL"), std::string::npos) << e;
  EXPECT_NE(e.find("auth.colour: unknown key"), std::string::npos) << e;
  e = errorsOf("auth:\n  jwks_url: http://localhost.evil.example/jwks\n");
  EXPECT_NE(e.find("auth.jwks_url: must be an https:// URL"), std::string::npos) << e;
  EXPECT_EQ(errorsOf("auth:\n  jwks_url: http://127.0.0.1:8081/jwks\n"), "");
  e = errorsOf("server:\n  tls:\n    client_certificates: require\n");
  EXPECT_NE(e.find("server.tls.client_ca_file: must be set"), std::string::npos) << e;
  e = errorsOf("server:\n  tls:\n    client_certificates: maybe\n");
  EXPECT_NE(e.find("server.tls.client_certificates: must be"), std::string::npos) << e;
}

}  // namespace
}  // namespace planbro::gateway::config
