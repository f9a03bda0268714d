// The negative-security suite at the REST level: the real server with the authentication filter and the scope
// policy in front of the real RestHandler and store. Every bad credential is 401 with a WWW-Authenticate challenge
// (RFC 6750 / RFC 9449); every interaction outside the token's scopes is 403 before the body is even validated,
// with an OperationOutcome that says nothing about any resource.

#include <gtest/gtest.h>

#include "../http/test_client.h"
#include "../rest/rest_fixture.h"
#include "planbro/gateway/security/auth_filter.h"
#include "test_auth_filter.h"
#include "test_keys.h"

namespace planbro::gateway::security::testing {
namespace {

using rest::testing::HttpResult;
using rest::testing::request;
using Headers = std::vector<std::pair<std::string, std::string>>;

constexpr const char* kBase = "http://fhir.test";  // the fixture's base URL: DPoP htu is checked against it
constexpr const char* kGoal =
    R"({"resourceType":"Goal","lifecycleStatus":"active","description":{"text":"walk"},"subject":{"display":"x"}})";

class RestAuth : public rest::testing::RestServerTest {
 protected:
  RestAuth() : issuer_(makeKey("ES256", "issuer-1")), client_(makeKey("ES256", "client-key")) {}

  rest::RestOptions restOptions() override {
    rest::RestOptions o;
    o.access = makeScopePolicy();
    return o;
  }
  std::vector<std::shared_ptr<http::RequestFilter>> requestFilters() override {
    return {makeTestAuthFilter(issuer_, {.base_url = kBase, .trusted_clients = {"integration-engine"}})};
  }

  std::string token(const std::string& scope, const std::string& extra = "") {
    return signCompact(issuer_, tokenHeader(issuer_), practitionerClaims(scope, extra));
  }
  std::string boundToken(const std::string& scope) {
    return token(scope, "\"cnf\":{\"jkt\":\"" + client_.thumbprint() + "\"}");
  }
  HttpResult call(const std::string& method, const std::string& target, const std::string& authorization,
                  const std::string& body = "", Headers extra = {}) {
    if (!authorization.empty()) extra.emplace_back("Authorization", authorization);
    return request(port_, method, target, body, extra);
  }
  HttpResult dpopCall(const std::string& method, const std::string& target, const std::string& tok,
                      const std::string& proof, const std::string& body = "") {
    return call(method, target, "DPoP " + tok, body, {{"DPoP", proof}});
  }
  std::string proof(const std::string& method, const std::string& path, const std::string& tok,
                    int64_t iat = kNow, const std::string& jti = "") {
    return dpopProof(client_, method, std::string(kBase) + path, tok, iat, jti.empty() ? "jti-" + std::to_string(++jti_) : jti);
  }
  static void expectChallenge(const HttpResult& r, const std::string& error) {
    EXPECT_EQ(r.status, 401) << r.body;
    const std::string challenge = r.header("www-authenticate");
    EXPECT_NE(challenge.find("Bearer realm=\"planbro\""), std::string::npos) << challenge;
    EXPECT_NE(challenge.find("DPoP realm=\"planbro\""), std::string::npos) << challenge;
    EXPECT_NE(challenge.find("algs=\"RS256 PS256 ES256\""), std::string::npos) << challenge;
    if (error.empty()) {
      EXPECT_EQ(challenge.find("error="), std::string::npos) << challenge;
    } else {
      EXPECT_NE(challenge.find("error=\"" + error + "\""), std::string::npos) << challenge;
    }
    EXPECT_NE(r.body.find("OperationOutcome"), std::string::npos) << r.body;
  }

  std::string createGoal() {
    auto r = call("POST", "/Goal", "Bearer " + token("user/*.cruds"), kGoal);
    EXPECT_EQ(r.status, 201) << r.body;
    std::string location = r.header("location");
    size_t at = location.find("/Goal/");
    std::string id = location.substr(at + 6);
    return id.substr(0, id.find('/'));
  }

  TestKey issuer_;
  TestKey client_;
  int jti_ = 0;
};

TEST_P(RestAuth, NoTokenIs401WithABareChallengeButMetadataIsPublic) {
  expectChallenge(call("GET", "/Goal", ""), "");
  expectChallenge(call("POST", "/Goal", "", kGoal), "");
  EXPECT_EQ(call("GET", "/metadata", "").status, 200);
  expectChallenge(call("GET", "/Goal", "Basic dXNlcjpwYXNz"), "invalid_request");
}

TEST_P(RestAuth, BadTokensAre401InvalidToken) {
  std::string claims = practitionerClaims("user/*.rs");
  auto replace = [&](std::string c, const std::string& from, const std::string& to) {
    c.replace(c.find(from), from.size(), to);
    return c;
  };
  const std::string exp = "\"exp\":" + std::to_string(kNow + 300);
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"expired", signCompact(issuer_, tokenHeader(issuer_), replace(claims, exp, "\"exp\":" + std::to_string(kNow - 100)))},
      {"not yet valid", signCompact(issuer_, tokenHeader(issuer_), replace(claims, exp, exp + ",\"nbf\":" + std::to_string(kNow + 100)))},
      {"wrong audience", signCompact(issuer_, tokenHeader(issuer_), replace(claims, kAudience, "nhn:other"))},
      {"wrong issuer", signCompact(issuer_, tokenHeader(issuer_), replace(claims, kIssuer, "https://evil.example"))},
      {"alg none", b64url("{\"alg\":\"none\"}") + "." + b64url(claims) + ".AAAA"},
      {"hmac confusion", signHmac(issuer_.publicJson(), "{\"alg\":\"HS256\",\"kid\":\"issuer-1\"}", claims)},
  };
  TestKey stranger = makeKey("ES256", "unknown-kid");
  TestKey forger = makeKey("ES256", "issuer-1");
  std::vector<std::pair<std::string, std::string>> all = bad;
  all.emplace_back("unknown kid", signCompact(stranger, tokenHeader(stranger), claims));
  all.emplace_back("tampered signature", signCompact(forger, tokenHeader(forger), claims));
  for (const auto& [what, tok] : all) {
    SCOPED_TRACE(what);
    HttpResult r = call("GET", "/Goal", "Bearer " + tok);
    expectChallenge(r, "invalid_token");
  }
  EXPECT_EQ(call("GET", "/Goal", "Bearer " + token("user/*.rs")).status, 200);
}

// Outside probe (2026-12-07): with two Authorization headers the first was used and the second ignored (200), so
// a proxy or policy reading the other saw a different caller. Now: 401 invalid_request, whichever comes first.
// Raw requests: the fixture's client keeps one field per name.
TEST_P(RestAuth, TwoAuthorizationHeadersAreRefusedWhateverTheirOrder) {
  const std::string good = "Bearer " + token("user/*.rs");
  const std::vector<std::pair<std::string, std::string>> pairs = {{good, "Bearer other"}, {"Bearer other", good}, {good, good}};
  for (const auto& [first, second] : pairs) {
    http::testing::TestClient c(port_);
    ASSERT_TRUE(c.send("GET /Goal HTTP/1.1\r\nHost: fhir.test\r\nAuthorization: " + first + "\r\nauthorization: " + second +
                       "\r\n\r\n"));
    auto r = c.read();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->result_int(), 401u) << r->body();
    const std::string challenge((*r)[boost::beast::http::field::www_authenticate]);
    EXPECT_NE(challenge.find("error=\"invalid_request\""), std::string::npos) << challenge;
  }
  EXPECT_EQ(call("GET", "/Goal", good).status, 200);
}

TEST_P(RestAuth, DpopBoundTokensNeedAFreshProofForThisMethodAndUrl) {
  const std::string tok = boundToken("user/*.cruds");
  HttpResult ok = dpopCall("GET", "/Goal", tok, proof("GET", "/Goal", tok, kNow, "once"));
  EXPECT_EQ(ok.status, 200) << ok.body;
  // Replayed proof.
  expectChallenge(dpopCall("GET", "/Goal", tok, proof("GET", "/Goal", tok, kNow, "once")), "invalid_dpop_proof");
  // Proof for another URL, another method, too old, for another token.
  expectChallenge(dpopCall("GET", "/Goal", tok, proof("GET", "/CarePlan", tok)), "invalid_dpop_proof");
  expectChallenge(dpopCall("GET", "/Goal", tok, proof("POST", "/Goal", tok)), "invalid_dpop_proof");
  expectChallenge(dpopCall("GET", "/Goal", tok, proof("GET", "/Goal", tok, kNow - 600)), "invalid_dpop_proof");
  expectChallenge(dpopCall("GET", "/Goal", tok, proof("GET", "/Goal", "another-token")), "invalid_dpop_proof");
  // No proof at all, or two.
  expectChallenge(call("GET", "/Goal", "DPoP " + tok), "invalid_dpop_proof");
  // A DPoP-bound token sent as Bearer.
  expectChallenge(call("GET", "/Goal", "Bearer " + tok), "invalid_token");
  // An unbound token with a valid proof: the proof key is not the token's.
  const std::string unbound = token("user/*.cruds");
  expectChallenge(dpopCall("GET", "/Goal", unbound, proof("GET", "/Goal", unbound)), "invalid_token");
  // Bound to another key.
  TestKey thief = makeKey("ES256", "thief");
  std::string stolen_proof = dpopProof(thief, "GET", std::string(kBase) + "/Goal", tok, kNow, "thief-1");
  expectChallenge(dpopCall("GET", "/Goal", tok, stolen_proof), "invalid_token");
  // A write with a proof, and the query string is not part of htu.
  HttpResult created = dpopCall("POST", "/Goal", tok, proof("POST", "/Goal", tok), kGoal);
  EXPECT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(dpopCall("GET", "/Goal?_count=1", tok, proof("GET", "/Goal", tok)).status, 200);
}

TEST_P(RestAuth, ACertificateBoundTokenNeedsThatCertificate) {
  // The connection carries no client certificate: a token bound to one (RFC 8705) is refused.
  const std::string tok = token("user/*.rs", "\"cnf\":{\"x5t#S256\":\"bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2\"}");
  expectChallenge(call("GET", "/Goal", "Bearer " + tok), "invalid_token");
}

TEST_P(RestAuth, AWriteWithoutScopeIs403BeforeValidationAndRevealsNothing) {
  const std::string id = createGoal();
  const std::string read_only = "Bearer " + token("user/*.rs");
  // An invalid body: with the scope it would be 400/422; without it the client learns nothing about it.
  HttpResult bad_body = call("POST", "/Goal", read_only, R"({"resourceType":"Goal","status":"bogus"})");
  EXPECT_EQ(bad_body.status, 403) << bad_body.body;
  EXPECT_NE(bad_body.header("www-authenticate").find("error=\"insufficient_scope\""), std::string::npos);
  HttpResult update = call("PUT", "/Goal/" + id, read_only, std::string(kGoal).insert(1, "\"id\":\"" + id + "\","));
  EXPECT_EQ(update.status, 403) << update.body;
  HttpResult update_missing = call("PUT", "/Goal/no-such-goal", read_only, kGoal);
  EXPECT_EQ(update_missing.status, 403) << update_missing.body;
  EXPECT_EQ(update.body.find(id), std::string::npos) << "a denial must not name the resource";
  EXPECT_EQ(call("DELETE", "/Goal/" + id, read_only).status, 403);
  EXPECT_EQ(call("PATCH", "/Goal/" + id, read_only, "[]", {{"Content-Type", "application/json-patch+json"}}).status, 403);
  // The same denial for a resource that exists and one that does not: no existence probe.
  EXPECT_EQ(call("DELETE", "/Goal/no-such-goal", read_only).body, call("DELETE", "/Goal/" + id, read_only).body);
  // Create-only scope may create but not read back or search.
  const std::string create_only = "Bearer " + token("user/Goal.c");
  EXPECT_EQ(call("POST", "/Goal", create_only, kGoal).status, 201);
  EXPECT_EQ(call("GET", "/Goal/" + id, create_only).status, 403);
  EXPECT_EQ(call("GET", "/Goal", create_only).status, 403);
}

TEST_P(RestAuth, AReadOfATypeOutsideTheScopesIs403) {
  const std::string id = createGoal();
  const std::string careplan_only = "Bearer " + token("user/CarePlan.rs");
  EXPECT_EQ(call("GET", "/CarePlan", careplan_only).status, 200);
  for (const std::string& target : {"/Goal/" + id, std::string("/Goal"), "/Goal/" + id + "/_history",
                                    "/Goal/" + id + "/_history/1", std::string("/Goal/_history"), std::string("/_history")}) {
    HttpResult r = call("GET", target, careplan_only);
    EXPECT_EQ(r.status, 403) << target << ": " << r.body;
    EXPECT_EQ(r.body.find("walk"), std::string::npos) << target;
  }
  EXPECT_EQ(call("GET", "/Goal/" + id, "Bearer " + token("patient/Goal.r")).status, 200);
  EXPECT_EQ(call("GET", "/Goal/" + id, "Bearer " + token("user/Goal.read")).status, 200);
}

TEST_P(RestAuth, BatchAndTransactionEntriesAreDecidedOneByOne) {
  const std::string id = createGoal();
  const std::string goal_read = "Bearer " + token("user/Goal.rs");
  std::string transaction = R"({"resourceType":"Bundle","type":"transaction","entry":[{"resource":)" +
                            std::string(kGoal) + R"(,"request":{"method":"POST","url":"Goal"}}]})";
  HttpResult t = call("POST", "/", goal_read, transaction);
  EXPECT_EQ(t.status, 403) << t.body;
  std::string batch = R"({"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"GET","url":"Goal/)" + id +
                      R"("}},{"request":{"method":"GET","url":"CarePlan"}},{"resource":)" + std::string(kGoal) +
                      R"(,"request":{"method":"POST","url":"Goal"}}]})";
  HttpResult b = call("POST", "/", goal_read, batch);
  ASSERT_EQ(b.status, 200) << b.body;
  const fhir::JsonValue* entries = b.root().find("entry");
  ASSERT_TRUE(entries && entries->isArray() && entries->size() == 3) << b.body;
  auto statusOf = [&](size_t i) {
    const fhir::JsonValue* resp = entries->items()[i].find("response");
    const fhir::JsonValue* s = resp ? resp->find("status") : nullptr;
    return s && s->isString() ? std::string(s->text()) : std::string();
  };
  EXPECT_EQ(statusOf(0).substr(0, 3), "200");
  EXPECT_EQ(statusOf(1).substr(0, 3), "403");
  EXPECT_EQ(statusOf(2).substr(0, 3), "403");
}

TEST_P(RestAuth, ASystemClientWritesOnlyWhenTrusted) {
  auto system = [&](const std::string& client) {
    return signCompact(issuer_, tokenHeader(issuer_),
                       std::string("{\"iss\":\"") + kIssuer + "\",\"aud\":\"" + kAudience + "\",\"client_id\":\"" + client +
                           "\",\"exp\":" + std::to_string(kNow + 60) +
                           ",\"helseid://claims/client/claims/orgnr_parent\":\"974589095\",\"scope\":\"system/*.cruds\"}");
  };
  EXPECT_EQ(call("POST", "/Goal", "Bearer " + system("integration-engine"), kGoal).status, 201);
  HttpResult untrusted = call("POST", "/Goal", "Bearer " + system("some-app"), kGoal);
  EXPECT_EQ(untrusted.status, 403) << untrusted.body;
  EXPECT_EQ(call("GET", "/Goal", "Bearer " + system("some-app")).status, 200);
}

INSTANTIATE_TEST_SUITE_P(Engines, RestAuth, ::testing::ValuesIn(rest::testing::engines()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace planbro::gateway::security::testing
