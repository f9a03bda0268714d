// Server-provided DPoP nonces (RFC 9449 §8): HMAC of a time window, accepted for that window and the next, the same
// on every node holding the secret; a proof without a current nonce is answered use_dpop_nonce with a DPoP-Nonce
// header, at the verifier and through the authentication filter.
#include "planbro/gateway/security/dpop_nonce.h"

#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "planbro/gateway/security/auth_filter.h"
#include "planbro/gateway/security/dpop.h"
#include "test_auth_filter.h"
#include "test_keys.h"

namespace planbro::gateway::security::testing {
namespace {

constexpr const char* kBase = "https://fhir.test";
constexpr const char* kHtu = "https://fhir.test/CarePlan/1";
const std::string kSecret(32, 's');

TEST(DpopNonces, AcceptedInTheirWindowAndTheNextOnEveryNodeWithTheSecret) {
  int64_t now = 1'000'000;
  DpopNonces node_a(kSecret, 300, [&] { return now; });
  DpopNonces node_b(kSecret, 300, [&] { return now; });
  DpopNonces other(std::string(32, 'x'), 300, [&] { return now; });
  const std::string nonce = node_a.current();
  EXPECT_EQ(nonce.size(), 22u);
  EXPECT_EQ(node_b.current(), nonce);  // no shared state: the same secret makes the same nonce
  EXPECT_TRUE(node_b.accepts(nonce));
  EXPECT_FALSE(other.accepts(nonce));
  EXPECT_FALSE(node_a.accepts(""));
  EXPECT_FALSE(node_a.accepts(nonce.substr(0, 21)));
  now += 300;  // the next window: still accepted, and a new current one
  EXPECT_TRUE(node_a.accepts(nonce));
  EXPECT_NE(node_a.current(), nonce);
  now += 300;  // two windows on: stale
  EXPECT_FALSE(node_a.accepts(nonce));
}

class DpopNonceFilter : public ::testing::Test {
 protected:
  DpopNonceFilter() : issuer_(makeKey("ES256", "issuer-1")), client_(makeKey("ES256", "client-key")) {
    nonces_ = std::make_shared<DpopNonces>(kSecret, 300, [] { return kNow; });
    filter_ = makeTestAuthFilter(issuer_, {.base_url = kBase, .dpop = DpopMode::kRequired, .nonces = nonces_,
                                           .replay_entries = 1000});
    token_ = signCompact(issuer_, tokenHeader(issuer_),
                         practitionerClaims("user/*.rs", "\"cnf\":{\"jkt\":\"" + client_.thumbprint() + "\"}"));
  }

  Status apply(const std::string& proof, http::RequestContext& context) {
    http::Request request;
    request.method = "GET";
    request.path = "/CarePlan/1";
    request.headers.add("Authorization", "DPoP " + token_);
    request.headers.add("DPoP", proof);
    return filter_->apply(request, context);
  }

  TestKey issuer_, client_;
  std::shared_ptr<const DpopNonces> nonces_;
  std::shared_ptr<AuthFilter> filter_;
  std::string token_;
};

TEST_F(DpopNonceFilter, AProofWithoutTheNonceIsUseDpopNonceWithTheNonceToRetryWith) {
  http::RequestContext refused;
  Status s = apply(dpopProof(client_, "GET", kHtu, token_, kNow, "j1"), refused);
  ASSERT_EQ(s.code(), StatusCode::kUnauthenticated);
  const std::string* challenge = refused.response_headers.find("WWW-Authenticate");
  ASSERT_NE(challenge, nullptr);
  EXPECT_NE(challenge->find("DPoP realm=\"planbro\", error=\"use_dpop_nonce\""), std::string::npos) << *challenge;
  const std::string* nonce = refused.response_headers.find("DPoP-Nonce");
  ASSERT_NE(nonce, nullptr);
  EXPECT_EQ(*nonce, nonces_->current());
  EXPECT_FALSE(refused.principal.has_value());

  // A wrong nonce is refused the same way; the retry with the nonce passes and names the next one.
  http::RequestContext wrong;
  EXPECT_EQ(apply(dpopProof(client_, "GET", kHtu, token_, kNow, "j2", "AAAAAAAAAAAAAAAAAAAAAA"), wrong).code(),
            StatusCode::kUnauthenticated);
  ASSERT_NE(wrong.response_headers.find("DPoP-Nonce"), nullptr);
  http::RequestContext retried;
  Status ok = apply(dpopProof(client_, "GET", kHtu, token_, kNow, "j1", *nonce), retried);
  ASSERT_TRUE(ok.isOk()) << ok.message();
  ASSERT_TRUE(retried.principal.has_value());
  ASSERT_NE(retried.response_headers.find("DPoP-Nonce"), nullptr);
  // The refused proof did not use up its jti (nonce is checked before the replay cache), the accepted one did.
  http::RequestContext replay;
  EXPECT_EQ(apply(dpopProof(client_, "GET", kHtu, token_, kNow, "j1", *nonce), replay).code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(replay.response_headers.find("DPoP-Nonce"), nullptr);
}

TEST(DpopNonceConfig, RequiredNoncesComeFromTheConfiguration) {
  config::GatewayConfig c;
  c.auth.mode = "development";
  c.store.data_dir = (std::filesystem::temp_directory_path() / ("planbro-nonce-" + std::to_string(getpid()))).string();
  c.auth.dpop_nonce = "required";
  auto on = makeAuthComponents(c, "http://127.0.0.1:8080");
  ASSERT_TRUE(on.isOk()) << on.status().message();
  EXPECT_EQ(config::validateConfig(c).size(), 0u);
  c.auth.dpop = "off";
  EXPECT_FALSE(config::validateConfig(c).empty());
  std::filesystem::remove_all(c.store.data_dir);
}

}  // namespace
}  // namespace planbro::gateway::security::testing
