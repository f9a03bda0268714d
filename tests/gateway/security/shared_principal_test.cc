// The authentication filter hands every request made with one token the token cache's one read-only Principal (no
// per-request copy), and a DPoP request's proven possession never leaks into that shared object: a replayed proof is
// still refused, and the cached entry still ends at `exp`.
#include <gtest/gtest.h>

#include "planbro/gateway/security/auth_filter.h"
#include "planbro/gateway/security/dpop.h"
#include "test_keys.h"

namespace planbro::gateway::security::testing {
namespace {

constexpr const char* kBase = "https://fhir.test";
constexpr const char* kHtu = "https://fhir.test/CarePlan/1";

class SharedPrincipalFilter : public ::testing::Test {
 protected:
  SharedPrincipalFilter() : issuer_(makeKey("ES256", "issuer-1")), client_(makeKey("ES256", "client-key")) {
    auto jwks = Jwks::parse(jwksJson({&issuer_}));
    EXPECT_TRUE(jwks.isOk());
    TokenValidatorOptions t;
    t.issuer = kIssuer;
    t.audience = kAudience;
    t.clock = [this] { return now_; };
    validator_ = std::make_shared<TokenValidator>(t, staticKeySource(*jwks));
    DpopOptions d;
    d.clock = [this] { return now_; };
    AuthFilterOptions f;
    f.dpop = DpopMode::kAllowed;
    f.base_url = kBase;
    filter_ = std::make_shared<AuthFilter>(f, validator_, std::make_shared<DpopVerifier>(d, makeMemoryReplayCache(1000)));
    bearer_token_ = signCompact(issuer_, tokenHeader(issuer_), practitionerClaims("user/*.rs"));
    bound_token_ = signCompact(issuer_, tokenHeader(issuer_),
                               practitionerClaims("user/*.rs", "\"cnf\":{\"jkt\":\"" + client_.thumbprint() + "\"}"));
  }

  Status bearer(http::RequestContext& context) {
    http::Request request;
    request.method = "GET";
    request.path = "/CarePlan/1";
    request.headers.add("Authorization", "Bearer " + bearer_token_);
    return filter_->apply(request, context);
  }

  Status dpop(const std::string& jti, http::RequestContext& context) {
    http::Request request;
    request.method = "GET";
    request.path = "/CarePlan/1";
    request.headers.add("Authorization", "DPoP " + bound_token_);
    request.headers.add("DPoP", dpopProof(client_, "GET", kHtu, bound_token_, now_, jti));
    return filter_->apply(request, context);
  }

  int64_t now_ = kNow;
  TestKey issuer_, client_;
  std::shared_ptr<TokenValidator> validator_;
  std::shared_ptr<AuthFilter> filter_;
  std::string bearer_token_, bound_token_;
};

TEST_F(SharedPrincipalFilter, RequestsWithOneTokenShareOnePrincipal) {
  http::RequestContext first, second;
  ASSERT_TRUE(bearer(first).isOk());
  ASSERT_TRUE(bearer(second).isOk());
  ASSERT_TRUE(first.principal && second.principal);
  EXPECT_EQ(first.principal.shared().get(), second.principal.shared().get());
  EXPECT_EQ(first.principal->hpr_number, "565501872");
  EXPECT_FALSE(first.principal->dpop);
  EXPECT_EQ(validator_->signatureChecks(), 1u);
}

TEST_F(SharedPrincipalFilter, ProvenPossessionIsTheRequestsOwnAndAReplayedProofIsStillRefused) {
  http::RequestContext proven;
  Status ok = dpop("proof-1", proven);
  ASSERT_TRUE(ok.isOk()) << ok.message();
  EXPECT_TRUE(proven.principal->dpop);
  auto cached = validator_->validateShared(bound_token_);
  ASSERT_TRUE(cached.isOk());
  EXPECT_FALSE((*cached)->dpop) << "the cache's shared Principal is never marked by one request's proof";
  EXPECT_NE(cached->get(), proven.principal.shared().get());

  http::RequestContext replayed;
  EXPECT_EQ(dpop("proof-1", replayed).code(), StatusCode::kUnauthenticated);
  EXPECT_FALSE(replayed.principal);

  // The token as Bearer is refused though its Principal is cached (a DPoP-bound token needs its proof).
  http::Request as_bearer;
  as_bearer.method = "GET";
  as_bearer.path = "/CarePlan/1";
  as_bearer.headers.add("Authorization", "Bearer " + bound_token_);
  http::RequestContext refused;
  EXPECT_EQ(filter_->apply(as_bearer, refused).code(), StatusCode::kUnauthenticated);
  EXPECT_FALSE(refused.principal);
}

TEST_F(SharedPrincipalFilter, ACachedTokenIsRefusedOnceItExpires) {
  http::RequestContext before;
  ASSERT_TRUE(bearer(before).isOk());
  now_ = kNow + 300 + 30;  // exp + the default clock skew
  http::RequestContext after;
  EXPECT_EQ(bearer(after).code(), StatusCode::kUnauthenticated);
  EXPECT_FALSE(after.principal);
  EXPECT_TRUE(before.principal) << "a request already authenticated keeps its Principal alive";
  EXPECT_EQ(before.principal->subject, "practitioner-1");
}

}  // namespace
}  // namespace planbro::gateway::security::testing
