// JWT access-token validation: each way a token can be wrong fails with 401's reason, and a good one becomes the
// Principal its HelseID claims describe. Keys are made at test time; the clock is fixed.

#include "planbro/gateway/security/token_validator.h"

#include <vector>

#include <gtest/gtest.h>

#include "test_keys.h"

namespace planbro::gateway::security::testing {
namespace {

class TokenValidatorTest : public ::testing::Test {
 protected:
  TokenValidatorTest() : es_(makeKey("ES256", "es-1")), rs_(makeKey("RS256", "rs-1")), ps_(makeKey("PS256", "ps-1")) {}

  std::shared_ptr<TokenValidator> validator(std::vector<std::string> algorithms = {"RS256", "PS256", "ES256"},
                                            size_t cache_entries = 10000, size_t cache_bytes = 16 << 20) {
    auto jwks = Jwks::parse(jwksJson({&es_, &rs_, &ps_}));
    EXPECT_TRUE(jwks.isOk()) << jwks.status().message();
    TokenValidatorOptions o;
    o.issuer = kIssuer;
    o.audience = kAudience;
    o.algorithms = std::move(algorithms);
    o.clock = [this] { return now_; };
    o.trusted_clients = {"integration-engine"};
    o.cache_entries = cache_entries;
    o.cache_bytes = cache_bytes;
    return std::make_shared<TokenValidator>(o, staticKeySource(std::move(jwks).value()));
  }

  Status failure(const std::string& token) {
    auto r = validator()->validate(token);
    EXPECT_FALSE(r.isOk());
    if (r.isOk()) return Status::ok();
    EXPECT_EQ(r.status().code(), StatusCode::kUnauthenticated) << r.status().message();
    EXPECT_EQ(r.status().message().find(token), std::string::npos) << "a reason must never quote the token";
    return r.status();
  }

  TestKey es_, rs_, ps_;
  int64_t now_ = kNow;
};

TEST_F(TokenValidatorTest, AcceptsEachConfiguredAlgorithmAndReadsTheHelseIdClaims) {
  for (const TestKey* key : {&es_, &rs_, &ps_}) {
    std::string token = signCompact(*key, tokenHeader(*key), practitionerClaims("user/CarePlan.rs openid"));
    auto p = validator()->validate(token);
    ASSERT_TRUE(p.isOk()) << key->alg << ": " << p.status().message();
    EXPECT_EQ(p->kind, PrincipalKind::kPractitioner);
    EXPECT_EQ(p->hpr_number, "565501872");
    EXPECT_EQ(p->organization_number, "974589095");
    EXPECT_EQ(p->security_level, 4);
    EXPECT_EQ(p->client_id, "ehr-client");
    EXPECT_EQ(p->token_id, "tok-1");
    EXPECT_TRUE(p->scope_set.permits(ScopePermission::kRead, "CarePlan"));
    EXPECT_FALSE(p->scope_set.permits(ScopePermission::kCreate, "CarePlan"));
    EXPECT_EQ(p->helseid_claims.count("helseid://claims/hpr/hpr_number"), 1u);
  }
}

TEST_F(TokenValidatorTest, ClassifiesPatientsAndSystemClients) {
  std::string patient = std::string("{\"iss\":\"") + kIssuer + "\",\"aud\":[\"other\",\"" + kAudience +
                        "\"],\"sub\":\"p\",\"exp\":" + std::to_string(kNow + 60) +
                        ",\"helseid://claims/identity/pid\":\"13116900216\","
                        "\"helseid://claims/identity/security_level\":4,\"scope\":[\"patient/CarePlan.rs\"]}";
  auto p = validator()->validate(signCompact(es_, tokenHeader(es_), patient));
  ASSERT_TRUE(p.isOk()) << p.status().message();
  EXPECT_EQ(p->kind, PrincipalKind::kPatient);
  EXPECT_EQ(p->pid, "13116900216");
  EXPECT_TRUE(p->scope_set.permits(ScopePermission::kSearch, "CarePlan"));

  std::string system = std::string("{\"iss\":\"") + kIssuer + "\",\"aud\":\"" + kAudience +
                       "\",\"client_id\":\"integration-engine\",\"exp\":" + std::to_string(kNow + 60) +
                       ",\"helseid://claims/client/claims/orgnr_parent\":\"974589095\",\"scope\":\"system/*.cruds\"}";
  auto s = validator()->validate(signCompact(es_, tokenHeader(es_), system));
  ASSERT_TRUE(s.isOk()) << s.status().message();
  EXPECT_EQ(s->kind, PrincipalKind::kSystem);
  EXPECT_TRUE(s->trusted_client);
}

TEST_F(TokenValidatorTest, RefusesExpiredNotYetValidWrongAudienceAndWrongIssuer) {
  auto token = [&](const std::string& claims) { return signCompact(es_, tokenHeader(es_), claims); };
  std::string base = practitionerClaims("user/*.rs");
  auto with = [&](const std::string& from, const std::string& to) {
    std::string c = base;
    c.replace(c.find(from), from.size(), to);
    return c;
  };
  EXPECT_NE(failure(token(with("\"exp\":" + std::to_string(kNow + 300), "\"exp\":" + std::to_string(kNow - 31))))
                .message().find("expired"), std::string::npos);
  // Within the clock skew (30 s) an expired token still passes; beyond it not.
  EXPECT_TRUE(validator()->validate(token(with("\"exp\":" + std::to_string(kNow + 300), "\"exp\":" + std::to_string(kNow - 29)))).isOk());
  EXPECT_NE(failure(token(base.substr(0, base.size() - 1) + ",\"nbf\":" + std::to_string(kNow + 31) + "}"))
                .message().find("not valid yet"), std::string::npos);
  EXPECT_NE(failure(token(with(kAudience, "nhn:someone-else"))).message().find("audience"), std::string::npos);
  EXPECT_NE(failure(token(with(kIssuer, "https://evil.example"))).message().find("issuer"), std::string::npos);
  EXPECT_NE(failure(token(with("\"iat\":" + std::to_string(kNow - 10), "\"iat\":" + std::to_string(kNow + 100))))
                .message().find("future"), std::string::npos);
  std::string no_exp = base;
  no_exp.replace(no_exp.find(",\"exp\":"), std::string(",\"exp\":") .size() + std::to_string(kNow + 300).size(), "");
  EXPECT_NE(failure(token(no_exp)).message().find("no expiry"), std::string::npos);
}

TEST_F(TokenValidatorTest, RefusesNoneHmacConfusionUnknownKidTamperingAndUnconfiguredAlgorithms) {
  std::string claims = practitionerClaims("user/*.rs");
  // alg none, with and without a signature part.
  std::string none = b64url("{\"alg\":\"none\",\"typ\":\"JWT\"}") + "." + b64url(claims);
  EXPECT_FALSE(validator()->validate(none + ".").isOk());
  EXPECT_NE(failure(none + ".AAAA").message().find("algorithm"), std::string::npos);
  // HS256 keyed with the RSA public key (as PEM-ish JSON text and as the modulus): never verifies.
  EXPECT_NE(failure(signHmac(rs_.publicJson(), "{\"alg\":\"HS256\",\"kid\":\"rs-1\"}", claims)).message().find("algorithm"),
            std::string::npos);
  // Unknown kid.
  TestKey stranger = makeKey("ES256", "stranger");
  EXPECT_NE(failure(signCompact(stranger, tokenHeader(stranger), claims)).message().find("unknown"), std::string::npos);
  // Right kid, wrong key (a forged signature).
  TestKey forger = makeKey("ES256", "es-1");
  EXPECT_NE(failure(signCompact(forger, tokenHeader(forger), claims)).message().find("signature"), std::string::npos);
  // Tampered claims under a good signature.
  std::string good = signCompact(es_, tokenHeader(es_), claims);
  size_t dot = good.find('.');
  std::string tampered = good.substr(0, dot + 1) + b64url(practitionerClaims("user/*.cruds")) + good.substr(good.rfind('.'));
  EXPECT_NE(failure(tampered).message().find("signature"), std::string::npos);
  // An algorithm the operator did not configure: a valid RS256 token to a validator that takes ES256 only.
  auto es_only = validator({"ES256"});
  auto r = es_only->validate(signCompact(rs_, tokenHeader(rs_), claims));
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("algorithm"), std::string::npos);
  // A kid naming an RSA key with alg ES256 in the header: no key fits.
  EXPECT_FALSE(validator()->validate(signCompact(es_, "{\"alg\":\"ES256\",\"kid\":\"rs-1\"}", claims)).isOk());
  // Garbage.
  EXPECT_FALSE(validator()->validate("not-a-token").isOk());
  EXPECT_FALSE(validator()->validate("a.b.c.d").isOk());
  EXPECT_FALSE(validator()->validate(std::string(20000, 'a')).isOk());
}

// Outside probe: an exp at INT64_MAX overflowed `exp + skew` (UBSan stopped the server); a cnf the gateway
// cannot read was ignored, so a token meant to be sender-constrained passed as a bearer token.
TEST_F(TokenValidatorTest, AnExpAtTheInt64LimitAndAnUnreadableCnf) {
  auto token = [&](const std::string& claims) { return signCompact(es_, tokenHeader(es_), claims); };
  std::string base = practitionerClaims("user/*.rs");
  auto with = [&](const std::string& from, const std::string& to) {
    std::string c = base;
    c.replace(c.find(from), from.size(), to);
    return c;
  };
  const std::string exp = "\"exp\":" + std::to_string(kNow + 300);
  auto far = validator()->validate(token(with(exp, "\"exp\":9223372036854775807")));
  EXPECT_TRUE(far.isOk()) << far.status().message();
  EXPECT_NE(failure(token(with(exp, "\"exp\":-9223372036854775808"))).message().find("expired"), std::string::npos);
  for (const std::string cnf : {"\"cnf\":{\"jkt\":1}", "\"cnf\":\"x\"", "\"cnf\":{}", "\"cnf\":{\"jkt\":\"\"}",
                                "\"cnf\":{\"jwk\":{\"kty\":\"EC\"}}", "\"cnf\":{\"x5t#S256\":[\"a\"]}", "\"cnf\":null"}) {
    EXPECT_NE(failure(token(with(exp, exp + "," + cnf))).message().find("cnf"), std::string::npos) << cnf;
  }
  auto bound = validator()->validate(token(with(exp, exp + ",\"cnf\":{\"jkt\":\"abc\"}")));
  ASSERT_TRUE(bound.isOk()) << bound.status().message();
  EXPECT_EQ(bound->cnf_jkt, "abc");
}

TEST_F(TokenValidatorTest, RefusesAPersonBelowTheSecurityLevel) {
  std::string claims = practitionerClaims("user/*.rs");
  claims.replace(claims.find("security_level\":\"4\""), std::string("security_level\":\"4\"").size(), "security_level\":\"3\"");
  EXPECT_NE(failure(signCompact(es_, tokenHeader(es_), claims)).message().find("security level"), std::string::npos);
}

TEST_F(TokenValidatorTest, AValidatedTokenIsCachedUntilItExpires) {
  auto v = validator();
  std::string token = signCompact(es_, tokenHeader(es_), practitionerClaims("user/*.rs"));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(v->validate(token).isOk());
  EXPECT_EQ(v->signatureChecks(), 1u);
  now_ = kNow + 300 + 30;  // past exp + skew: the cached entry no longer answers
  EXPECT_FALSE(v->validate(token).isOk());
}

TEST_F(TokenValidatorTest, EveryRequestWithOneTokenSharesOnePrincipal) {
  auto v = validator();
  std::string token = signCompact(es_, tokenHeader(es_), practitionerClaims("user/*.rs"));
  auto first = v->validateShared(token);
  auto second = v->validateShared(token);
  ASSERT_TRUE(first.isOk() && second.isOk());
  EXPECT_EQ(first->get(), second->get()) << "the cached Principal is shared, not copied per request";
  EXPECT_EQ((*first)->hpr_number, "565501872");
  EXPECT_EQ(v->signatureChecks(), 1u);
}

TEST_F(TokenValidatorTest, ATokenOneByteAwayFromACachedOneIsCheckedAndRefused) {
  auto v = validator();
  std::string token = signCompact(es_, tokenHeader(es_), practitionerClaims("user/*.rs"));
  ASSERT_TRUE(v->validate(token).isOk());
  std::string tampered = token;
  tampered[tampered.size() - 2] = tampered[tampered.size() - 2] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(v->validate(tampered).isOk());
  std::string shorter = token.substr(0, token.size() - 1);
  EXPECT_FALSE(v->validate(shorter).isOk());
  EXPECT_EQ(v->signatureChecks(), 3u) << "the cache answers only for the exact bytes it verified";
  EXPECT_TRUE(v->validate(token).isOk());
}

// The cache's key is a hash of the token's tail, so a token that keeps the cached one's tail and length but differs
// anywhere before it lands on the cached entry: the byte-for-byte comparison must refuse it wherever the difference
// is (each step of the vector comparison, the overlapping last 16 bytes), and the cached token still answers.
TEST_F(TokenValidatorTest, ATokenWithTheCachedOnesTailButOtherBytesIsRefused) {
  auto v = validator();
  const std::string token = signCompact(es_, tokenHeader(es_), practitionerClaims("user/*.rs"));
  ASSERT_TRUE(v->validate(token).isOk());
  const uint64_t checks = v->signatureChecks();
  std::vector<size_t> positions = {0, 1, 15, 16, 31, 32, 63, 64, 65, token.size() / 2, token.size() - 33,
                                   token.size() - 17, token.size() - 16, token.size() - 1};
  for (size_t at : positions) {
    if (token[at] == '.') continue;
    std::string other = token;
    other[at] = other[at] == 'A' ? 'B' : 'A';
    EXPECT_FALSE(v->validate(other).isOk()) << "a difference at byte " << at;
  }
  const uint64_t after = v->signatureChecks();
  EXPECT_GT(after, checks) << "the changed tokens were checked, not answered from the cache";
  EXPECT_TRUE(v->validate(token).isOk());
  EXPECT_EQ(v->signatureChecks(), after) << "the cached token itself still answers from the cache";
  EXPECT_EQ(v->cachedTokens(), 1u);
}

TEST_F(TokenValidatorTest, TheTokenCacheStaysWithinItsEntriesAndBytes) {
  auto by_entries = validator({"ES256"}, 3);
  for (int i = 0; i < 10; ++i) {
    std::string token = signCompact(es_, tokenHeader(es_), practitionerClaims("user/*.rs", "\"n\":" + std::to_string(i)));
    ASSERT_TRUE(by_entries->validate(token).isOk());
    EXPECT_LE(by_entries->cachedTokens(), 3u);
  }
  const size_t budget = 4096;
  auto by_bytes = validator({"ES256"}, 10000, budget);
  for (int i = 0; i < 10; ++i) {
    std::string token = signCompact(es_, tokenHeader(es_), practitionerClaims("user/*.rs", "\"n\":" + std::to_string(i)));
    ASSERT_TRUE(by_bytes->validate(token).isOk());
    EXPECT_LE(by_bytes->cachedBytes(), budget);
  }
  EXPECT_GT(by_bytes->cachedTokens(), 0u);
  // An entry larger than the whole budget is never cached: every use checks the signature again, and passes.
  auto tiny = validator({"ES256"}, 10000, 64);
  std::string token = signCompact(es_, tokenHeader(es_), practitionerClaims("user/*.rs"));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(tiny->validate(token).isOk());
  EXPECT_EQ(tiny->signatureChecks(), 3u);
  EXPECT_EQ(tiny->cachedTokens(), 0u);
}

TEST_F(TokenValidatorTest, AJwksWithoutUsableKeysIsRefusedAndSymmetricKeysAreIgnored) {
  EXPECT_FALSE(Jwks::parse("{\"keys\":[{\"kty\":\"oct\",\"k\":\"c2VjcmV0\"}]}").isOk());
  EXPECT_FALSE(Jwks::parse("{}").isOk());
  EXPECT_FALSE(Jwks::parse("[").isOk());
  auto mixed = Jwks::parse("{\"keys\":[{\"kty\":\"oct\",\"k\":\"c2VjcmV0\",\"kid\":\"h\"}," + es_.publicJson() + "]}");
  ASSERT_TRUE(mixed.isOk());
  EXPECT_EQ((*mixed)->size(), 1u);
  EXPECT_EQ((*mixed)->find("h", "HS256"), nullptr);
}

}  // namespace
}  // namespace planbro::gateway::security::testing
