// Keys from a JWKS URL: fetched at start, refetched when a token names an unknown kid (a key rotation), and at most
// once per interval however many unknown kids arrive. The issuer is a real HTTP server on 127.0.0.1:0.

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>

#include "planbro/gateway/http/server.h"
#include "planbro/gateway/security/jwks.h"
#include "planbro/gateway/security/token_validator.h"
#include "test_keys.h"

namespace planbro::gateway::security::testing {
namespace {

class JwksEndpoint : public http::RequestHandler {
 public:
  http::Response handle(const http::Request&, http::RequestContext&) override {
    fetches.fetch_add(1);
    http::Response r;
    r.headers.set("Content-Type", "application/json");
    std::lock_guard lock(mutex);
    r.body = body;
    return r;
  }
  void set(std::string b) {
    std::lock_guard lock(mutex);
    body = std::move(b);
  }
  std::atomic<int> fetches{0};
  std::mutex mutex;
  std::string body;
};

TEST(JwksUrl, AnUnknownKidRefetchesAtMostOncePerInterval) {
  TestKey first = makeKey("ES256", "first");
  TestKey rotated = makeKey("ES256", "rotated");
  TestKey stranger = makeKey("ES256", "stranger");
  auto endpoint = std::make_shared<JwksEndpoint>();
  endpoint->set(jwksJson({&first}));
  http::ServerOptions o;
  o.port = 0;
  o.access_log = false;
  http::Server server(o, endpoint);
  ASSERT_TRUE(server.start().isOk());

  JwksUrlOptions u;
  u.url = "http://127.0.0.1:" + std::to_string(server.port()) + "/jwks";
  u.refresh_interval = std::chrono::hours(1);
  auto source = fetchJwksUrl(u);
  ASSERT_TRUE(source.isOk()) << source.status().message();
  EXPECT_EQ(endpoint->fetches.load(), 1);
  TokenValidatorOptions t;
  t.issuer = kIssuer;
  t.audience = kAudience;
  t.clock = [] { return kNow; };
  TokenValidator validator(t, *source);
  auto tokenBy = [](const TestKey& k) { return signCompact(k, tokenHeader(k), practitionerClaims("user/*.rs")); };
  EXPECT_TRUE(validator.validate(tokenBy(first)).isOk());
  EXPECT_EQ(endpoint->fetches.load(), 1);

  endpoint->set(jwksJson({&first, &rotated}));
  auto after_rotation = validator.validate(tokenBy(rotated));
  EXPECT_TRUE(after_rotation.isOk()) << after_rotation.status().message();
  EXPECT_EQ(endpoint->fetches.load(), 2);
  for (int i = 0; i < 20; ++i) EXPECT_FALSE(validator.validate(tokenBy(stranger)).isOk());
  EXPECT_EQ(endpoint->fetches.load(), 2) << "unknown kids must not make the gateway hammer the issuer";
  server.stop();
}

TEST(JwksUrl, AStartWithoutReachableKeysFails) {
  JwksUrlOptions u;
  u.url = "http://127.0.0.1:1/jwks";
  u.timeout = std::chrono::milliseconds(2000);
  EXPECT_FALSE(fetchJwksUrl(u).isOk());
}

}  // namespace
}  // namespace planbro::gateway::security::testing
