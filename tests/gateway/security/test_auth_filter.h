#pragma once
// The AuthFilter the security tests put in front of a server: tokens from the test issuer (kIssuer, kAudience, the
// clock fixed at kNow, test_keys.h) and DPoP proofs checked against an in-memory replay cache. What differs from one
// test to the next is in TestAuthFilterSetup.

#include <memory>
#include <string>
#include <vector>

#include "planbro/gateway/security/auth_filter.h"
#include "test_keys.h"

namespace planbro::gateway::security::testing {

struct TestAuthFilterSetup {
  std::string base_url;                      // what DPoP proofs' htu is checked against
  DpopMode dpop = DpopMode::kAllowed;
  std::vector<std::string> trusted_clients;  // auth.trusted_clients
  std::shared_ptr<const DpopNonces> nonces;  // null: no server nonces
  size_t replay_entries = 10000;
};

/** An AuthFilter that accepts what `issuer` signs, set up as `setup` says. */
inline std::shared_ptr<AuthFilter> makeTestAuthFilter(const TestKey& issuer, const TestAuthFilterSetup& setup) {
  auto jwks = Jwks::parse(jwksJson({&issuer}));
  EXPECT_TRUE(jwks.isOk());
  TokenValidatorOptions t;
  t.issuer = kIssuer;
  t.audience = kAudience;
  t.clock = [] { return kNow; };
  t.trusted_clients = setup.trusted_clients;
  DpopOptions d;
  d.clock = [] { return kNow; };
  d.nonces = setup.nonces;
  AuthFilterOptions f;
  f.dpop = setup.dpop;
  f.base_url = setup.base_url;
  return std::make_shared<AuthFilter>(f, std::make_shared<TokenValidator>(t, staticKeySource(*jwks)),
                                      std::make_shared<DpopVerifier>(d, makeMemoryReplayCache(setup.replay_entries)));
}

}  // namespace planbro::gateway::security::testing
