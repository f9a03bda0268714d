// DPoP proofs (RFC 9449): signature, typ, public jwk, htm/htu, iat window, ath and jti replay.

#include "planbro/gateway/security/dpop.h"

#include <gtest/gtest.h>

#include "test_keys.h"

namespace planbro::gateway::security::testing {
namespace {

constexpr const char* kHtu = "https://fhir.test/CarePlan/1";

class DpopTest : public ::testing::Test {
 protected:
  DpopTest() : key_(makeKey("ES256", "client")) {
    DpopOptions o;
    o.clock = [this] { return now_; };
    verifier_ = std::make_unique<DpopVerifier>(o, makeMemoryReplayCache(1000));
  }
  Status refusal(const std::string& proof, const std::string& method = "GET", const std::string& htu = kHtu,
                 const std::string& token = "the-token") {
    auto r = verifier_->verify(proof, method, htu, token);
    EXPECT_FALSE(r.isOk());
    return r.isOk() ? Status::ok() : r.status();
  }
  TestKey key_;
  int64_t now_ = kNow;
  std::unique_ptr<DpopVerifier> verifier_;
};

TEST_F(DpopTest, AGoodProofYieldsTheKeyThumbprintOnce) {
  std::string proof = dpopProof(key_, "GET", kHtu, "the-token", kNow, "j1");
  auto jkt = verifier_->verify(proof, "GET", "https://FHIR.test:443/CarePlan/1?_format=json", "the-token");
  ASSERT_TRUE(jkt.isOk()) << jkt.status().message();
  EXPECT_EQ(*jkt, key_.thumbprint());
  EXPECT_NE(refusal(proof).message().find("replay"), std::string::npos);
}

TEST_F(DpopTest, RefusesAProofForAnotherMethodOrUrl) {
  EXPECT_NE(refusal(dpopProof(key_, "POST", kHtu, "the-token", kNow, "m")).message().find("method"), std::string::npos);
  EXPECT_NE(refusal(dpopProof(key_, "GET", "https://fhir.test/CarePlan/2", "the-token", kNow, "u")).message().find("URL"),
            std::string::npos);
  EXPECT_NE(refusal(dpopProof(key_, "GET", "https://evil.test/CarePlan/1", "the-token", kNow, "h")).message().find("URL"),
            std::string::npos);
}

// Outside probe: "host:PORT:80" lost its ":80" to the default-port rule and then equalled "host:PORT".
TEST(NormalizeHtu, DropsTheDefaultPortOnlyFromAnAuthorityWithOnePort) {
  EXPECT_EQ(normalizeHtu("HTTPS://Fhir.Test:443/CarePlan?x=1#f"), "https://fhir.test/CarePlan");
  EXPECT_EQ(normalizeHtu("http://127.0.0.1:80/Patient"), "http://127.0.0.1/Patient");
  EXPECT_EQ(normalizeHtu("http://[::1]:80/Patient"), "http://[::1]/Patient");
  EXPECT_NE(normalizeHtu("http://127.0.0.1:8080:80/Patient"), normalizeHtu("http://127.0.0.1:8080/Patient"));
  EXPECT_NE(normalizeHtu("https://fhir.test:8443:443/CarePlan"), normalizeHtu("https://fhir.test:8443/CarePlan"));
}

TEST_F(DpopTest, RefusesAProofTooOldOrFromTheFuture) {
  EXPECT_NE(refusal(dpopProof(key_, "GET", kHtu, "the-token", kNow - 60 - 31, "old")).message().find("too old"),
            std::string::npos);
  EXPECT_NE(refusal(dpopProof(key_, "GET", kHtu, "the-token", kNow + 31, "future")).message().find("future"),
            std::string::npos);
}

TEST_F(DpopTest, RefusesAthMismatchWrongTypPrivateJwkAndBadSignature) {
  EXPECT_NE(refusal(dpopProof(key_, "GET", kHtu, "another-token", kNow, "a")).message().find("ath"), std::string::npos);
  std::string payload = "{\"jti\":\"t\",\"htm\":\"GET\",\"htu\":\"" + std::string(kHtu) + "\",\"iat\":" +
                        std::to_string(kNow) + ",\"ath\":\"" + sha256Base64Url("the-token") + "\"}";
  EXPECT_NE(refusal(signCompact(key_, "{\"typ\":\"JWT\",\"alg\":\"ES256\",\"jwk\":" + key_.publicJson() + "}", payload))
                .message().find("typ"), std::string::npos);
  EXPECT_NE(refusal(signCompact(key_, "{\"typ\":\"dpop+jwt\",\"alg\":\"ES256\",\"jwk\":" + dump(key_.jwk.get()) + "}", payload))
                .message().find("public key"), std::string::npos);
  TestKey other = makeKey("ES256", "other");
  // Signed by one key, naming another in the header.
  std::string forged = signCompact(other, "{\"typ\":\"dpop+jwt\",\"alg\":\"ES256\",\"jwk\":" + key_.publicJson() + "}", payload);
  EXPECT_NE(refusal(forged).message().find("signature"), std::string::npos);
  EXPECT_NE(refusal(signHmac("k", "{\"typ\":\"dpop+jwt\",\"alg\":\"HS256\",\"jwk\":{\"kty\":\"oct\",\"k\":\"aw\"}}", payload))
                .message().find("algorithm"), std::string::npos);
}

// ES256 proof keys are imported once and then verified with OpenSSL per proof (proof_keys.h): a cached key still
// refuses a signature by another key or a tampered one, and a jwk whose point is not on P-256 is never imported.
TEST_F(DpopTest, TheProofKeyCacheRefusesForeignTamperedAndOffCurveKeys) {
  ASSERT_TRUE(verifier_->verify(dpopProof(key_, "GET", kHtu, "the-token", kNow, "c1"), "GET", kHtu, "the-token").isOk());
  std::string payload = "{\"jti\":\"c2\",\"htm\":\"GET\",\"htu\":\"" + std::string(kHtu) + "\",\"iat\":" +
                        std::to_string(kNow) + ",\"ath\":\"" + sha256Base64Url("the-token") + "\"}";
  const std::string header = "{\"typ\":\"dpop+jwt\",\"alg\":\"ES256\",\"jwk\":" + key_.publicJson() + "}";
  TestKey other = makeKey("ES256", "other");
  EXPECT_NE(refusal(signCompact(other, header, payload)).message().find("does not verify"), std::string::npos);
  std::string tampered = signCompact(key_, header, payload);
  const size_t sig = tampered.rfind('.') + 1;
  tampered[sig + 5] = tampered[sig + 5] == 'A' ? 'B' : 'A';
  EXPECT_NE(refusal(tampered).message().find("does not verify"), std::string::npos);
  // The same x with another key's y: not a point of the curve (an invalid-curve key).
  Json off(json_deep_copy(key_.public_jwk.get()));
  json_object_set(off.get(), "y", json_object_get(other.public_jwk.get(), "y"));
  const std::string off_header = "{\"typ\":\"dpop+jwt\",\"alg\":\"ES256\",\"jwk\":" + dump(off.get()) + "}";
  EXPECT_NE(refusal(signCompact(key_, off_header, payload)).message().find("not a public key"), std::string::npos);
  // The genuine proof with the cached key still passes.
  EXPECT_TRUE(verifier_->verify(signCompact(key_, header, payload), "GET", kHtu, "the-token").isOk());
}

TEST_F(DpopTest, TheMemoryReplayCacheIsBoundedAndFailsClosedWhenFullOfLiveIds) {
  auto cache = makeMemoryReplayCache(1000);
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(*cache->claimOnce("k" + std::to_string(i), kNow + 10, kNow));
  auto full = cache->claimOnce("one-more", kNow + 10, kNow);
  ASSERT_FALSE(full.isOk());
  EXPECT_EQ(full.status().code(), StatusCode::kResourceExhausted);
  // Once those ids expire they make room.
  auto later = cache->claimOnce("one-more", kNow + 100, kNow + 11);
  ASSERT_TRUE(later.isOk());
  EXPECT_TRUE(*later);
}

}  // namespace
}  // namespace planbro::gateway::security::testing
