// The cost of access control, in-process, single thread, one run:
//  1. reads by id through the real RestHandler on SQLite (read cache on, as served): the authentication filter
//     (Bearer token validated, cached after its first use) + the scope policy, against the same reads with access
//     control off; the ratio is the throughput kept (issue 11: at least 0.8).
//  2. the CPU of one DPoP proof check (a fresh proof each time: signature, claims, thumbprint, replay cache) against
//     one OpenSSL ES256 verification (EVP_DigestVerify over a JWS signing input) measured in the same run (issue 11:
//     at most 1.3).
//  3. consent: reads by id of an IP plan (CarePlan) and searches of its Goals by a practitioner in the patient's
//     CareTeam whom the sharing consent names, with token + scopes + the consent policy, against the same requests
//     with access control off (issue 11: at least 0.8).
//  Reads and searches run with the audit trail on (AuditLog on the same store, as served) when access control is.
//  Rates are requests per second of CPU: the request thread's CPU time (CLOCK_THREAD_CPUTIME_ID), so that other
//  processes on a shared machine do not move them; with the audit trail, also per second of the whole process's CPU
//  including the log's thread writing the AuditEvents (the phase ends with a flush), the full cost of access control.
// Keys are made at start with OpenSSL. See docs/performance.md (Access control cost).
//
//   auth_cost_driver [--reads N] [--proofs N]     (defaults: 20000 reads, 2000 proofs; searches: reads / 10)
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "../tests/gateway/security/test_keys.h"
#include "planbro/gateway/rest/rest_handler.h"
#include "planbro/gateway/security/audit_log.h"
#include "planbro/gateway/security/auth_filter.h"
#include "planbro/gateway/security/consent_policy.h"
#include "planbro/gateway/store/resource_store.h"

namespace {

using namespace planbro;
using namespace planbro::gateway;
using namespace planbro::gateway::security::testing;

double cpuSeconds(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

struct Rate {
  double thread = 0;   // requests per second of the request thread's CPU
  double process = 0;  // requests per second of the process's CPU (the audit log's thread too), after a flush
};

// Requests per second of GET `target` through `handler`, the filters first, as the server runs them.
Rate readsPerSecond(rest::RestHandler& handler, security::AuthFilter* filter, const std::string& target,
                    const std::string& authorization, int reads, security::AuditLog* audit = nullptr) {
  http::Request req;
  req.method = "GET";
  req.target = target;
  req.path = target.substr(0, target.find('?'));
  if (target.find('?') != std::string::npos) req.query = target.substr(target.find('?') + 1);
  if (!authorization.empty()) req.headers.add("Authorization", authorization);
  if (audit != nullptr) (void)audit->flush();  // the previous phase's records are not this one's cost
  const double thread_start = cpuSeconds(CLOCK_THREAD_CPUTIME_ID);
  const double process_start = cpuSeconds(CLOCK_PROCESS_CPUTIME_ID);
  for (int i = 0; i < reads; ++i) {
    http::RequestContext ctx;
    if (filter != nullptr && !filter->apply(req, ctx).isOk()) {
      std::fprintf(stderr, "refused\n");
      std::exit(1);
    }
    http::Response r = handler.handle(req, ctx);
    if (r.status != 200) {
      std::fprintf(stderr, "read answered %d: %s\n", r.status, r.body.c_str());
      std::exit(1);
    }
  }
  Rate rate;
  rate.thread = reads / (cpuSeconds(CLOCK_THREAD_CPUTIME_ID) - thread_start);
  if (audit != nullptr) (void)audit->flush();
  rate.process = reads / (cpuSeconds(CLOCK_PROCESS_CPUTIME_ID) - process_start);
  return rate;
}

// PUT `json` as `type`/`id` (the id member added) through `handler`; exits on anything but 200/201.
void put(rest::RestHandler& handler, const std::string& type, const std::string& id, std::string json) {
  json.insert(1, "\"id\":\"" + id + "\",");
  http::Request req;
  req.method = "PUT";
  req.target = req.path = "/" + type + "/" + id;
  req.headers.add("Content-Type", "application/fhir+json");
  req.body = std::move(json);
  http::RequestContext ctx;
  http::Response r = handler.handle(req, ctx);
  if (r.status != 200 && r.status != 201) {
    std::fprintf(stderr, "seeding %s/%s answered %d: %s\n", type.c_str(), id.c_str(), r.status, r.body.c_str());
    std::exit(1);
  }
}

// One IP plan as the consent tests have it: patient a, practitioner "member" (HPR 565501872, the bench token's) in
// a's CareTeam as coordinator and named in a's active sharing consent; patient b with a plan and team of their own.
void seedPlans(rest::RestHandler& handler, int goals) {
  const std::string fnr = "urn:oid:2.16.578.1.12.4.1.4.1";
  put(handler, "Organization", "nav",
      R"({"resourceType":"Organization","identifier":[{"system":"urn:oid:2.16.578.1.12.4.1.4.101","value":"974589095"}],"name":"NAV"})");
  put(handler, "Practitioner", "member",
      R"({"resourceType":"Practitioner","identifier":[{"system":"urn:oid:2.16.578.1.12.4.1.4.4","value":"565501872"}]})");
  put(handler, "Practitioner", "outsider",
      R"({"resourceType":"Practitioner","identifier":[{"system":"urn:oid:2.16.578.1.12.4.1.4.4","value":"565501901"}]})");
  for (auto [id, nr] : {std::pair{"a", "15038540189"}, {"b", "01818010083"}}) {
    put(handler, "Patient", id,
        R"({"resourceType":"Patient","identifier":[{"system":")" + fnr + R"(","value":")" + nr + R"("}]})");
    put(handler, "CarePlan", std::string("plan-") + id,
        R"({"resourceType":"CarePlan","status":"active","intent":"plan","subject":{"reference":"Patient/)" +
            std::string(id) + R"("},"period":{"start":"2026-03-01","end":"2027-02-28"},"description":"plan"})");
  }
  put(handler, "CareTeam", "team-a",
      R"({"resourceType":"CareTeam","status":"active","subject":{"reference":"Patient/a"},)"
      R"("participant":[{"role":[{"coding":[{"system":"urn:oid:2.16.578.1.12.4.1.1.9034","code":"8"}]}],)"
      R"("member":{"reference":"Practitioner/member"}},{"member":{"reference":"Organization/nav"}}]})");
  put(handler, "CareTeam", "team-b",
      R"({"resourceType":"CareTeam","status":"active","subject":{"reference":"Patient/b"},)"
      R"("participant":[{"member":{"reference":"Practitioner/outsider"}}]})");
  put(handler, "Consent", "share-a",
      R"({"resourceType":"Consent","status":"active","scope":{"text":"x"},"policyRule":{"text":"samtykke"},)"
      R"("category":[{"coding":[{"system":"http://planbro.no/fhir/CodeSystem/ip-consent-kind","code":"sharing"}]}],)"
      R"("patient":{"reference":"Patient/a"},"provision":{"type":"permit",)"
      R"("period":{"start":"2026-03-01","end":"2027-02-28"},)"
      R"("data":[{"meaning":"related","reference":{"reference":"CarePlan/plan-a"}}],)"
      R"("actor":[{"role":{"text":"r"},"reference":{"reference":"Practitioner/member"}}]}})");
  for (int i = 0; i < goals; ++i) {
    put(handler, "Goal", "goal-a" + std::to_string(i),
        R"({"resourceType":"Goal","lifecycleStatus":"active","description":{"text":"goal"},"subject":{"reference":"Patient/a"}})");
  }
}

double ratio(Rate on1, Rate on2, Rate off1, Rate off2, bool process) {
  return process ? (on1.process + on2.process) / (off1.process + off2.process)
                 : (on1.thread + on2.thread) / (off1.thread + off2.thread);
}

}  // namespace

int main(int argc, char** argv) {
  int reads = 20000;
  int proofs = 2000;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--reads") == 0) reads = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--proofs") == 0) proofs = std::atoi(argv[i + 1]);
  }
  std::string dir = (std::filesystem::temp_directory_path() / ("planbro-auth-bench-" + std::to_string(getpid()))).string();
  std::filesystem::create_directories(dir);
  store::SqliteStoreOptions so;
  so.path = dir + "/planbro.db";
  so.pool_size = 2;
  so.read_cache_bytes = 8 << 20;
  auto store = store::openSqliteStore(so);
  if (!store.isOk()) return 1;

  TestKey issuer = makeKey("ES256", "issuer-1");
  auto jwks = security::Jwks::parse(jwksJson({&issuer}));
  security::TokenValidatorOptions t;
  t.issuer = kIssuer;
  t.audience = kAudience;
  t.clock = [] { return kNow; };
  auto validator = std::make_shared<security::TokenValidator>(t, security::staticKeySource(*jwks));
  security::DpopOptions d;
  d.clock = [] { return kNow; };
  auto dpop = std::make_shared<security::DpopVerifier>(d, security::makeMemoryReplayCache(10'000'000));
  security::AuthFilterOptions fo;
  fo.base_url = "http://fhir.test";
  security::AuthFilter filter(fo, validator, dpop);
  security::AuthFilter plain_filter(fo, validator, dpop);  // the same, without the audit trail

  rest::RestOptions open_options;
  open_options.base_url = "http://fhir.test";
  rest::RestHandler open_handler(**store, open_options);
  // Access control on: token validation, the scope policy, and the audit trail (one AuditEvent per request,
  // queued and written in batches to the same store by the log's thread, as `planbro serve` runs it).
  security::AuditLog audit(**store, security::AuditLogOptions{});
  auto audit_sink = std::shared_ptr<security::AuditSink>(&audit, [](security::AuditSink*) {});
  filter.setAuditSink(audit_sink);
  rest::RestOptions scoped_options = open_options;
  scoped_options.access = security::makeAuditedPolicy(security::makeScopePolicy(), audit_sink);
  scoped_options.writer.audit = audit_sink;
  rest::RestHandler scoped_handler(**store, scoped_options);
  rest::RestOptions plain_options = open_options;
  plain_options.access = security::makeScopePolicy();
  rest::RestHandler plain_handler(**store, plain_options);

  http::Request create;
  create.method = "POST";
  create.target = create.path = "/Goal";
  create.headers.add("Content-Type", "application/fhir+json");
  create.body = R"({"resourceType":"Goal","lifecycleStatus":"active","description":{"text":"walk"},"subject":{"display":"x"}})";
  http::RequestContext cctx;
  http::Response created = open_handler.handle(create, cctx);
  std::string location = created.headers.get("Location").data();
  std::string id = location.substr(location.find("/Goal/") + 6);
  id = id.substr(0, id.find('/'));

  const std::string bearer = "Bearer " + signCompact(issuer, tokenHeader(issuer), practitionerClaims("user/*.rs"));
  for (int i = 0; i < 30; ++i) {  // a page of search results to read
    http::RequestContext more;
    (void)open_handler.handle(create, more);
  }
  const std::string read_target = "/Goal/" + id;
  const std::string search_target = "/Goal?lifecycle-status=active&_count=20";
  readsPerSecond(open_handler, nullptr, read_target, "", reads / 10);  // warm the cache and the code
  readsPerSecond(scoped_handler, &filter, read_target, bearer, reads / 10, &audit);
  Rate off = readsPerSecond(open_handler, nullptr, read_target, "", reads);
  Rate on = readsPerSecond(scoped_handler, &filter, read_target, bearer, reads, &audit);
  Rate off2 = readsPerSecond(open_handler, nullptr, read_target, "", reads);
  Rate on2 = readsPerSecond(scoped_handler, &filter, read_target, bearer, reads, &audit);
  Rate plain = readsPerSecond(plain_handler, &plain_filter, read_target, bearer, reads);
  Rate plain2 = readsPerSecond(plain_handler, &plain_filter, read_target, bearer, reads);
  std::printf("(requests per CPU second of the request thread; 'process' counts the audit log's thread as well)\n");
  std::printf("reads by id, access control off:     %.0f/s, %.0f/s\n", off.thread, off2.thread);
  std::printf("reads by id, token + scopes only:    %.0f/s, %.0f/s (ratio %.2f)\n", plain.thread, plain2.thread,
              ratio(plain, plain2, off, off2, false));
  std::printf("reads by id, token + scopes + audit: %.0f/s, %.0f/s (ratio %.2f; process %.0f/s, %.0f/s, ratio %.2f)\n",
              on.thread, on2.thread, ratio(on, on2, off, off2, false), on.process, on2.process,
              ratio(on, on2, off, off2, true));
  {
    // The audit record alone on the request thread: the same reads, with a log that writes nothing until the
    // phase's closing flush, so that its thread does not compete with the reads while they are timed; the process
    // rate still counts writing every AuditEvent (the flush). The difference between the two audit arms is the
    // log's thread competing for the cores.
    security::AuditLogOptions deferred_options;
    deferred_options.queue_entries = static_cast<size_t>(reads) * 2 + 16;
    deferred_options.batch_entries = static_cast<size_t>(reads) * 2 + 16;
    deferred_options.flush_interval = std::chrono::hours(1);
    security::AuditLog deferred(**store, deferred_options);
    auto deferred_sink = std::shared_ptr<security::AuditSink>(&deferred, [](security::AuditSink*) {});
    security::AuthFilter deferred_filter(fo, validator, dpop);
    deferred_filter.setAuditSink(deferred_sink);
    rest::RestOptions deferred_rest = open_options;
    deferred_rest.access = security::makeAuditedPolicy(security::makeScopePolicy(), deferred_sink);
    deferred_rest.writer.audit = deferred_sink;
    rest::RestHandler deferred_handler(**store, deferred_rest);
    Rate d1 = readsPerSecond(deferred_handler, &deferred_filter, read_target, bearer, reads, &deferred);
    Rate d2 = readsPerSecond(deferred_handler, &deferred_filter, read_target, bearer, reads, &deferred);
    std::printf("reads by id, audit written after:    %.0f/s, %.0f/s (ratio %.2f; process %.0f/s, %.0f/s; "
                "CPU per AuditEvent %.1f us)\n",
                d1.thread, d2.thread, ratio(d1, d2, off, off2, false), d1.process, d2.process,
                1e6 * (1.0 / d1.process + 1.0 / d2.process - 1.0 / d1.thread - 1.0 / d2.thread) / 2);
    deferred.stop();
  }
  const int searches = std::max(reads / 10, 1);
  Rate soff = readsPerSecond(open_handler, nullptr, search_target, "", searches);
  Rate son = readsPerSecond(scoped_handler, &filter, search_target, bearer, searches, &audit);
  Rate soff2 = readsPerSecond(open_handler, nullptr, search_target, "", searches);
  Rate son2 = readsPerSecond(scoped_handler, &filter, search_target, bearer, searches, &audit);
  std::printf("searches (20 per page), off:         %.0f/s, %.0f/s\n", soff.thread, soff2.thread);
  std::printf("searches, token + scopes + audit:    %.0f/s, %.0f/s (ratio %.2f; process %.0f/s, %.0f/s, ratio %.2f)\n",
              son.thread, son2.thread, ratio(son, son2, soff, soff2, false), son.process, son2.process,
              ratio(son, son2, soff, soff2, true));
  // Consent: the plan resources of patient a, read and searched by the practitioner the sharing consent names.
  std::string consent_dir = dir + "/consent";
  std::filesystem::create_directories(consent_dir);
  store::SqliteStoreOptions cso = so;
  cso.path = consent_dir + "/planbro.db";
  auto consent_store = store::openSqliteStore(cso);
  if (!consent_store.isOk()) return 1;
  rest::RestOptions seed_options = open_options;
  seed_options.check_references = false;
  rest::RestHandler seed_handler(**consent_store, seed_options);
  seedPlans(seed_handler, 30);
  rest::RestHandler consent_open_handler(**consent_store, open_options);
  rest::RestOptions consent_options = open_options;
  security::ConsentPolicyOptions cpo;
  cpo.clock = [] { return store::Timestamp(std::chrono::seconds(kNow)); };
  consent_options.access = security::makeConsentPolicy(**consent_store, cpo, security::makeScopePolicy());
  rest::RestHandler consent_handler(**consent_store, consent_options);
  security::AuthFilter consent_filter(fo, validator, dpop);
  const std::string plan_target = "/CarePlan/plan-a";
  const std::string goals_target = "/Goal?lifecycle-status=active&_count=20";
  readsPerSecond(consent_open_handler, nullptr, plan_target, "", reads / 10);
  readsPerSecond(consent_handler, &consent_filter, plan_target, bearer, reads / 10);
  Rate coff = readsPerSecond(consent_open_handler, nullptr, plan_target, "", reads);
  Rate con = readsPerSecond(consent_handler, &consent_filter, plan_target, bearer, reads);
  Rate coff2 = readsPerSecond(consent_open_handler, nullptr, plan_target, "", reads);
  Rate con2 = readsPerSecond(consent_handler, &consent_filter, plan_target, bearer, reads);
  std::printf("plan reads by id, off:               %.0f/s, %.0f/s\n", coff.thread, coff2.thread);
  std::printf("plan reads, token + scopes + consent: %.0f/s, %.0f/s (ratio %.2f)\n", con.thread, con2.thread,
              ratio(con, con2, coff, coff2, false));
  Rate gsoff = readsPerSecond(consent_open_handler, nullptr, goals_target, "", searches);
  Rate gson = readsPerSecond(consent_handler, &consent_filter, goals_target, bearer, searches);
  Rate gsoff2 = readsPerSecond(consent_open_handler, nullptr, goals_target, "", searches);
  Rate gson2 = readsPerSecond(consent_handler, &consent_filter, goals_target, bearer, searches);
  std::printf("plan Goal searches (20 per page), off: %.0f/s, %.0f/s\n", gsoff.thread, gsoff2.thread);
  std::printf("plan Goal searches, token + scopes + consent: %.0f/s, %.0f/s (ratio %.2f)\n", gson.thread, gson2.thread,
              ratio(gson, gson2, gsoff, gsoff2, false));

  std::printf("token signature checks:              %llu (one per token, the rest from the token cache)\n",
              static_cast<unsigned long long>(validator->signatureChecks()));
  audit.stop();
  std::printf("audit records written:               %llu (refused %llu)\n",
              static_cast<unsigned long long>(audit.stats().stored),
              static_cast<unsigned long long>(audit.stats().refused));

  // One ES256 verification with OpenSSL alone, over the signing input of a proof, as the reference.
  TestKey client = makeKey("ES256", "client");
  std::vector<std::string> fresh;
  fresh.reserve(proofs);
  const std::string token = signCompact(issuer, tokenHeader(issuer), practitionerClaims("user/*.rs"));
  for (int i = 0; i < proofs; ++i) {
    fresh.push_back(dpopProof(client, "GET", "http://fhir.test/Goal/" + id, token, kNow, "jti-" + std::to_string(i)));
  }
  EVP_PKEY* pkey = EVP_EC_gen("P-256");
  std::string input = fresh[0].substr(0, fresh[0].rfind('.'));
  unsigned char der[80];
  size_t der_len = sizeof der;
  EVP_MD_CTX* sign = EVP_MD_CTX_new();
  EVP_DigestSignInit(sign, nullptr, EVP_sha256(), nullptr, pkey);
  EVP_DigestSign(sign, der, &der_len, reinterpret_cast<const unsigned char*>(input.data()), input.size());
  EVP_MD_CTX_free(sign);
  double start = cpuSeconds(CLOCK_THREAD_CPUTIME_ID);  // CPU of this thread, as for the reads
  int ok = 0;
  for (int i = 0; i < proofs; ++i) {
    EVP_MD_CTX* v = EVP_MD_CTX_new();
    EVP_DigestVerifyInit(v, nullptr, EVP_sha256(), nullptr, pkey);
    ok += EVP_DigestVerify(v, der, der_len, reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
    EVP_MD_CTX_free(v);
  }
  double openssl_us = (cpuSeconds(CLOCK_THREAD_CPUTIME_ID) - start) * 1e6 / proofs;
  EVP_PKEY_free(pkey);
  start = cpuSeconds(CLOCK_THREAD_CPUTIME_ID);
  for (int i = 0; i < proofs; ++i) {
    auto jkt = dpop->verify(fresh[i], "GET", "http://fhir.test/Goal/" + id, token);
    ok += jkt.isOk();
  }
  double dpop_us = (cpuSeconds(CLOCK_THREAD_CPUTIME_ID) - start) * 1e6 / proofs;
  std::printf("OpenSSL ES256 verify:            %.1f us\n", openssl_us);
  std::printf("DPoP proof check:                %.1f us\n", dpop_us);
  std::printf("ratio (DPoP / ES256):            %.2f   (%d of %d checks ok)\n", dpop_us / openssl_us, ok, 2 * proofs);
  std::filesystem::remove_all(dir);
  return ok == 2 * proofs ? 0 : 1;
}
