// Development mode: the data-dir key, and tokens and proofs minted with it pass the same validation as HelseID's.

#include "planbro/gateway/security/dev_tokens.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "planbro/gateway/security/dpop.h"
#include "planbro/gateway/security/token_validator.h"

namespace planbro::gateway::security {
namespace {

namespace fs = std::filesystem;

TEST(DevTokens, AMintedTokenAndProofValidateAgainstTheDevKey) {
  fs::path dir = fs::temp_directory_path() / ("planbro-dev-" + std::to_string(getpid()));
  fs::create_directories(dir);
  auto key = loadOrCreateDevKey((dir / kDevKeyFile).string());
  ASSERT_TRUE(key.isOk()) << key.status().message();
  struct stat st {};
  ASSERT_EQ(::stat((dir / kDevKeyFile).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto again = loadOrCreateDevKey((dir / kDevKeyFile).string());
  ASSERT_TRUE(again.isOk());
  EXPECT_EQ(again->private_jwk, key->private_jwk);

  auto client = loadOrCreateDevKey((dir / "client.jwk").string());
  ASSERT_TRUE(client.isOk());
  MintRequest r;
  r.hpr_number = "565501872";
  r.organization_number = "974589095";
  r.scope = "user/CarePlan.rs";
  r.dpop_jkt = *keyThumbprint(*client);
  auto token = mintToken(*key, r);
  ASSERT_TRUE(token.isOk()) << token.status().message();
  TokenValidatorOptions o;
  o.issuer = kDevIssuer;
  o.audience = kDevAudience;
  TokenValidator validator(o, staticKeySource(*devJwks(*key)));
  auto p = validator.validate(*token);
  ASSERT_TRUE(p.isOk()) << p.status().message();
  EXPECT_EQ(p->kind, PrincipalKind::kPractitioner);
  EXPECT_EQ(p->cnf_jkt, r.dpop_jkt);
  DpopVerifier dpop(DpopOptions{}, makeMemoryReplayCache(1000));
  auto proof = mintDpopProof(*client, "GET", "http://127.0.0.1:8080/CarePlan", *token);
  ASSERT_TRUE(proof.isOk());
  auto jkt = dpop.verify(*proof, "GET", "http://127.0.0.1:8080/CarePlan", *token);
  ASSERT_TRUE(jkt.isOk()) << jkt.status().message();
  EXPECT_EQ(*jkt, r.dpop_jkt);

  // A key file others may read is refused.
  ::chmod((dir / kDevKeyFile).c_str(), 0644);
  EXPECT_FALSE(loadOrCreateDevKey((dir / kDevKeyFile).string()).isOk());
  fs::remove_all(dir);
}

}  // namespace
}  // namespace planbro::gateway::security
