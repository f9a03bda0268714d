// The audit trail (docs/security.md, Audit): the real server, authentication filter, scope policy, REST handler,
// write path and store, with the AuditLog as the sink. Every failed authentication, every interaction-level
// decision and every write leaves an AuditEvent (IHE BALP shape) naming who, for whom, what and the outcome, and
// never the token; AuditEvent is append-only on every path and readable by the auditor only; the trail exports as
// NDJSON; a clean stop writes every accepted record, and a full queue refuses the access it cannot record.

#include <gtest/gtest.h>

#include "../rest/rest_fixture.h"
#include "planbro/gateway/ops/write_pipeline.h"
#include "planbro/gateway/security/audit_export.h"
#include "planbro/gateway/security/audit_log.h"
#include "planbro/gateway/security/auth_filter.h"
#include "test_auth_filter.h"
#include "test_keys.h"

namespace planbro::gateway::security::testing {
namespace {

using rest::testing::HttpResult;
using rest::testing::request;
using Headers = std::vector<std::pair<std::string, std::string>>;

constexpr const char* kBase = "http://fhir.test";
constexpr const char* kGoal =
    R"({"resourceType":"Goal","lifecycleStatus":"active","description":{"text":"walk"},"subject":{"display":"x"}})";

// The AuditEvents in `store`, newest first (the whole trail: tests write a few dozen at most).
std::vector<std::string> auditEvents(store::ResourceStore& store) {
  store::HistoryQuery q;
  q.type = "AuditEvent";
  q.count = 1000;
  auto page = store.history(q);
  EXPECT_TRUE(page.isOk()) << page.status().message();
  std::vector<std::string> out;
  if (page.isOk()) {
    for (const auto& v : page->entries) out.push_back(v.json);
  }
  return out;
}

size_t countWith(const std::vector<std::string>& events, std::initializer_list<std::string_view> needles) {
  size_t n = 0;
  for (const std::string& e : events) {
    bool all = true;
    for (std::string_view needle : needles) all = all && e.find(needle) != std::string::npos;
    n += all ? 1 : 0;
  }
  return n;
}

class RestAudit : public rest::testing::RestServerTest {
 protected:
  RestAudit() : issuer_(makeKey("ES256", "issuer-1")) {}

  rest::RestOptions restOptions() override {
    AuditLogOptions ao;
    ao.flush_interval = std::chrono::milliseconds(20);
    ao.batch_entries = 7;  // several batches in one test
    audit_ = std::make_shared<AuditLog>(*store_, ao);
    rest::RestOptions o;
    o.access = makeAuditedPolicy(makeScopePolicy(), audit_);
    o.writer.audit = audit_;
    auto registry = std::make_shared<rest::OperationRegistry>();
    EXPECT_TRUE(registry->add(makeAuditExportOperation(10000)).isOk());
    o.operations = registry;
    return o;
  }
  std::vector<std::shared_ptr<http::RequestFilter>> requestFilters() override {
    auto filter = makeTestAuthFilter(issuer_, {.base_url = kBase});
    filter->setAuditSink(audit_);
    return {filter};
  }
  void TearDown() override {
    if (server_) server_->stop();
    if (audit_) audit_->stop();  // before the store closes
    RestServerTest::TearDown();
  }

  std::string token(const std::string& scope) {
    return signCompact(issuer_, tokenHeader(issuer_), practitionerClaims(scope));
  }
  std::string auditorToken() {
    return signCompact(issuer_, tokenHeader(issuer_),
                       std::string("{\"iss\":\"") + kIssuer + "\",\"aud\":\"" + kAudience +
                           "\",\"sub\":\"auditor-1\",\"client_id\":\"audit-console\",\"scope\":\"user/AuditEvent.rs "
                           "planbro/auditor\",\"exp\":" + std::to_string(kNow + 300) +
                           ",\"helseid://claims/identity/security_level\":\"4\",\"helseid://claims/identity/pid\":"
                           "\"13116900216\"}");
  }
  HttpResult call(const std::string& method, const std::string& target, const std::string& authorization,
                  const std::string& body = "", Headers extra = {}) {
    if (!authorization.empty()) extra.emplace_back("Authorization", authorization);
    return request(port_, method, target, body, extra);
  }
  std::vector<std::string> flushed() {
    EXPECT_TRUE(audit_->flush().isOk());
    return auditEvents(*store_);
  }

  TestKey issuer_;
  std::shared_ptr<AuditLog> audit_;
};

TEST_P(RestAudit, AFailedAuthenticationIsRecordedWithoutTheToken) {
  TestKey forger = makeKey("ES256", "issuer-1");
  const std::string forged = signCompact(forger, tokenHeader(forger), practitionerClaims("user/*.rs"));
  HttpResult r = call("GET", "/Goal", "Bearer " + forged, "", {{"X-Request-Id", "req-forged-1"}});
  ASSERT_EQ(r.status, 401) << r.body;
  std::vector<std::string> events = flushed();
  EXPECT_EQ(countWith(events, {"\"code\":\"110114\"", "\"code\":\"110122\"", "\"outcome\":\"4\"", "req-forged-1"}), 1u)
      << (events.empty() ? "" : events.front());
  const std::string signature = forged.substr(forged.rfind('.') + 1);
  for (const std::string& e : events) {
    EXPECT_EQ(e.find(signature), std::string::npos) << e;
    EXPECT_EQ(e.find(forged.substr(0, 40)), std::string::npos) << e;
  }
}

TEST_P(RestAudit, EveryWriteAndEveryDecisionNamesWhoWhatAndTheOutcome) {
  HttpResult created = call("POST", "/Goal", "Bearer " + token("user/*.cruds"), kGoal, {{"X-Request-Id", "req-w-1"}});
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string id = created.root().find("id")->text().data();
  ASSERT_EQ(call("GET", "/Goal/" + id, "Bearer " + token("user/*.cruds"), "", {{"X-Request-Id", "req-r-1"}}).status, 200);
  HttpResult denied = call("DELETE", "/Goal/" + id, "Bearer " + token("user/Goal.rs"), "", {{"X-Request-Id", "req-d-1"}});
  ASSERT_EQ(denied.status, 403) << denied.body;

  std::vector<std::string> events = flushed();
  // The write: action C, the version written, the practitioner's HPR number, organisation and client.
  EXPECT_EQ(countWith(events, {"\"action\":\"C\"", "\"Goal/" + id + "/_history/1\"", "565501872", "974589095",
                               "ehr-client", "req-w-1", "\"site\":\"rest\""}),
            1u);
  // The interaction's permit and the committed write: two records of one request.
  EXPECT_EQ(countWith(events, {"\"code\":\"create\"", "\"outcome\":\"0\"", "req-w-1"}), 2u);
  // The read permit (outcome 0) and the denied delete (outcome 4, decision deny) at the interaction level.
  EXPECT_EQ(countWith(events, {"\"code\":\"read\"", "\"outcome\":\"0\"", "req-r-1", "565501872"}), 1u);
  EXPECT_EQ(countWith(events, {"\"code\":\"delete\"", "\"code\":\"deny\"", "\"outcome\":\"4\"", "req-d-1"}), 1u);
  // The token itself is in none of them (its jti is: BALP's agent.policy).
  for (const std::string& e : events) {
    EXPECT_EQ(e.find(token("user/*.cruds")), std::string::npos);
  }
  EXPECT_EQ(countWith(events, {"\"policy\":[\"tok-1\"]"}), events.size());
}

TEST_P(RestAudit, AuditEventIsAppendOnlyOnEveryPath) {
  ASSERT_EQ(call("GET", "/metadata", "Bearer nonsense").status, 200);
  ASSERT_EQ(call("GET", "/Goal", "Bearer nonsense").status, 401);  // leaves one AuditEvent
  std::vector<std::string> events = flushed();
  ASSERT_FALSE(events.empty());
  auto doc = fhir::JsonDocument::parse(events.front());
  ASSERT_TRUE(doc.isOk());
  const std::string id(doc->root().find("id")->text());
  const std::string auditor = "Bearer " + auditorToken();
  const std::string writer = "Bearer " + token("user/*.cruds");
  const std::string event = R"({"resourceType":"AuditEvent","id":")" + id +
                            R"(","type":{"code":"rest"},"recorded":"2026-01-01T00:00:00Z","agent":[{"requestor":true}],"source":{"observer":{"display":"x"}}})";
  for (const std::string& who : {auditor, writer}) {
    EXPECT_EQ(call("POST", "/AuditEvent", who, event).status, 403);
    EXPECT_EQ(call("PUT", "/AuditEvent/" + id, who, event).status, 403);
    EXPECT_EQ(call("DELETE", "/AuditEvent/" + id, who).status, 403);
    EXPECT_EQ(call("PATCH", "/AuditEvent/" + id, who, "[]", {{"Content-Type", "application/json-patch+json"}}).status, 403);
  }
  const std::string bundle = R"({"resourceType":"Bundle","type":"transaction","entry":[{"request":{"method":"DELETE","url":"AuditEvent/)" +
                             id + R"("}}]})";
  HttpResult tx = call("POST", "/", writer, bundle);
  EXPECT_EQ(tx.status, 403) << tx.body;
  // Beneath REST, the write pipeline itself refuses (adapters, the loader, open mode).
  ops::ResourceWriter pipeline;
  auto parsed = fhir::JsonDocument::parse(event);
  ASSERT_TRUE(parsed.isOk());
  EXPECT_EQ(pipeline.prepare(ops::WriteIntent{ops::WriteKind::kUpdate, "AuditEvent", id, {}, {}}, parsed->root())
                .status().code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(pipeline.prepareDelete(ops::WriteIntent{ops::WriteKind::kDelete, "AuditEvent", id, {}, {}}).status().code(),
            StatusCode::kPermissionDenied);
  // The stored event is unchanged: still version 1.
  auto stored = store_->read("AuditEvent", id);
  ASSERT_TRUE(stored.isOk());
  EXPECT_EQ(stored->version, 1);
}

TEST_P(RestAudit, OnlyTheAuditorReadsTheTrail) {
  ASSERT_EQ(call("GET", "/Goal", "Bearer nonsense").status, 401);
  ASSERT_FALSE(flushed().empty());
  // A practitioner with every read scope: the type is refused, and system-level history shows none.
  const std::string practitioner = "Bearer " + token("user/*.rs");
  EXPECT_EQ(call("GET", "/AuditEvent", practitioner).status, 403);
  EXPECT_EQ(call("GET", "/AuditEvent/$export-ndjson", practitioner).status, 403);
  HttpResult system = call("GET", "/_history", practitioner);
  ASSERT_EQ(system.status, 200) << system.body;
  EXPECT_EQ(system.body.find("AuditEvent"), std::string::npos) << system.body;
  // The auditor searches it.
  HttpResult found = call("GET", "/AuditEvent?outcome=4", "Bearer " + auditorToken());
  ASSERT_EQ(found.status, 200) << found.body;
  EXPECT_NE(found.body.find("\"resourceType\":\"AuditEvent\""), std::string::npos) << found.body;
}

TEST_P(RestAudit, TheTrailExportsAsNdjsonInParts) {
  for (int i = 0; i < 5; ++i) ASSERT_EQ(call("GET", "/Goal", "Bearer nonsense-" + std::to_string(i)).status, 401);
  const size_t stored = flushed().size();
  ASSERT_GE(stored, 5u);
  const std::string auditor = "Bearer " + auditorToken();
  std::string target = "/AuditEvent/$export-ndjson?since=2020-01-01T00:00:00Z&_count=2";
  size_t lines = 0, parts = 0;
  while (!target.empty() && parts < 20) {
    HttpResult r = call("GET", target, auditor);
    ASSERT_EQ(r.status, 200) << r.body;
    ++parts;
    if (r.body.empty()) break;
    EXPECT_EQ(r.header("content-type"), "application/fhir+ndjson");
    for (size_t at = 0; at < r.body.size();) {
      size_t nl = r.body.find('\n', at);
      ASSERT_NE(nl, std::string::npos);
      auto line = fhir::JsonDocument::parse(r.body.substr(at, nl - at));
      ASSERT_TRUE(line.isOk());
      EXPECT_EQ(line->root().find("resourceType")->text(), "AuditEvent");
      ++lines;
      at = nl + 1;
    }
    std::string link = r.header("link");
    target.clear();
    if (!link.empty()) {
      size_t from = link.find(kBase);
      ASSERT_NE(from, std::string::npos) << link;
      target = link.substr(from + std::string(kBase).size(), link.find('>') - from - std::string(kBase).size());
    }
  }
  // Exporting adds access records of its own (the auditor's reads), so at least the ones stored before.
  EXPECT_GE(lines, stored);
  EXPECT_GE(parts, 3u);
}

INSTANTIATE_TEST_SUITE_P(Engines, RestAudit, ::testing::ValuesIn(rest::testing::engines()),
                         [](const auto& info) { return info.param; });

// The log itself, on a SQLite store: a clean stop writes every accepted record; a full queue refuses, and the
// audited policy turns a permit it cannot record into a refusal.
class AuditLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "planbro-audit-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    store::SqliteStoreOptions so;
    so.path = dir_ + "/planbro.db";
    auto s = store::openSqliteStore(so);
    ASSERT_TRUE(s.isOk()) << s.status().message();
    store_ = std::move(s).value();
  }
  void TearDown() override {
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  static AuditRecord aRecord(int i) {
    AuditRecord r;
    r.interaction = "read";
    r.action = 'R';
    r.resource_type = "Goal";
    r.resource_id = "g" + std::to_string(i);
    r.correlation_id = "req-" + std::to_string(i);
    return r;
  }
  std::string dir_;
  std::unique_ptr<store::ResourceStore> store_;
};

TEST_F(AuditLogTest, ACleanStopWritesEveryAcceptedRecord) {
  AuditLogOptions o;
  o.batch_entries = 7;
  o.flush_interval = std::chrono::milliseconds(10'000);  // nothing would be written by time alone
  AuditLog log(*store_, o);
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(log.record(aRecord(i)).isOk());
  log.stop();
  EXPECT_EQ(log.stats().stored, 100u);
  EXPECT_EQ(log.stats().queued, 0u);
  EXPECT_EQ(auditEvents(*store_).size(), 100u);
  EXPECT_EQ(log.record(aRecord(101)).code(), StatusCode::kUnavailable);  // stopped: refused, the store untouched
}

TEST_F(AuditLogTest, AFullQueueRefusesAndTheAccessIsRefusedWithIt) {
  AuditLogOptions o;
  o.queue_entries = 3;
  o.batch_entries = 1000;                                // never full by count
  o.flush_interval = std::chrono::milliseconds(10'000);  // nor by time, within the test
  auto log = std::make_shared<AuditLog>(*store_, o);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(log->record(aRecord(i)).isOk());
  EXPECT_EQ(log->record(aRecord(3)).code(), StatusCode::kUnavailable);
  auto policy = makeAuditedPolicy(makeAllowAllPolicy(), log);
  http::RequestContext context;
  EXPECT_EQ(policy->permitInteraction(context, InteractionSubject{"read", "Goal"}).code(), StatusCode::kUnavailable);
  EXPECT_EQ(log->stats().refused, 2u);
  ASSERT_TRUE(log->flush().isOk());  // drains the queue: the next permit is recorded and allowed
  EXPECT_TRUE(policy->permitInteraction(context, InteractionSubject{"read", "Goal"}).isOk());
  log->stop();
  EXPECT_EQ(auditEvents(*store_).size(), 4u);
}

}  // namespace
}  // namespace planbro::gateway::security::testing
