// The AuditEvent the log's thread writes without a parse, a re-serialisation or FHIRPath (audit_event.cc,
// audit_index.cc): for records of every shape (each category and decision, with and without a principal, every
// optional part, text that needs escaping and normalising), the bytes are exactly what the canonical serialiser
// makes of them, the rows are exactly the indexer's rows for the same JSON, every parameter, and the event is a
// valid R4 AuditEvent in the BALP shape. The request-thread record shares the request's Principal.

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <set>
#include <tuple>

#include "planbro/fhir-model/json.h"
#include "planbro/fhir-model/resource_json.h"
#include "planbro/fhir-model/validator.h"
#include "planbro/gateway/search/indexer.h"
#include "planbro/gateway/security/access_policy.h"
#include "planbro/gateway/security/audit_log.h"
#include "planbro/gateway/store/resource_store.h"

namespace planbro::gateway::security {
namespace {

constexpr std::string_view kObserver = "planbro-node-1";
constexpr std::string_view kId = "0b6f3c1e-6a55-4d1f-9a8e-2f3c4d5e6f70";

std::shared_ptr<const Principal> practitioner() {
  Principal p;
  p.kind = PrincipalKind::kPractitioner;
  p.subject = "Ola Nordmann-sub-7f3a9c";
  p.client_id = "ehr-client-4711";
  p.token_id = "tok-8d7c6b5a4f3e2d1c";
  p.hpr_number = "565501872";
  p.organization_number = "974589095";
  p.child_organization_number = "974589109";
  return std::make_shared<const Principal>(std::move(p));
}

std::shared_ptr<const Principal> patient() {
  Principal p;
  p.kind = PrincipalKind::kPatient;
  p.subject = "sub-pasient";
  p.client_id = "helsenorge";
  p.token_id = "jti-2";
  p.pid = "13116900216";
  return std::make_shared<const Principal>(std::move(p));
}

std::vector<AuditRecord> records() {
  std::vector<AuditRecord> out;
  AuditRecord read;
  read.interaction = "read";
  read.action = 'R';
  read.principal = practitioner();
  read.resource_type = "CarePlan";
  read.resource_id = "plan-a";
  read.source_system = "rest";
  read.correlation_id = "f00d-12";
  read.remote_address = "10.0.0.7";
  read.recorded_us = 1'796'000'000'123'456;
  out.push_back(read);

  AuditRecord search = read;
  search.interaction = "search-type";
  search.resource_id.clear();
  search.resource_type = "Goal";
  search.decision = AuditDecision::kDeny;
  search.outcome = AuditOutcome::kMinorFailure;
  search.outcome_text = "search-type of Goal is not in the token's scopes";
  out.push_back(search);

  AuditRecord emergency = read;
  emergency.decision = AuditDecision::kEmergency;
  emergency.purpose_of_use = "ETREAT";
  emergency.patient = "Patient/p-1";
  out.push_back(emergency);

  AuditRecord redact = read;
  redact.principal = patient();
  redact.decision = AuditDecision::kRedact;
  redact.resource_type = "Patient";
  redact.resource_id = "p-1";
  redact.on_behalf_of = "barn-1";
  redact.remote_address = "2001:db8::1";
  out.push_back(redact);

  // A write recorded from an AuditAgent (no principal), with the version written and the patient it is about.
  AuditRecord write;
  write.category = AuditCategory::kWrite;
  write.interaction = "update";
  write.action = 'U';
  write.who.kind = "system";
  write.who.client_id = "adapter-plo";
  write.who.organization_number = "123456785";
  write.resource_type = "Goal";
  write.resource_id = "g-9";
  write.resource_version = 12;
  write.patient = "Patient/p-2";
  write.source_system = "adapter:plo";
  write.correlation_id = "msg-0042";
  write.recorded_us = 1'700'000'000'000'000;
  out.push_back(write);

  AuditRecord failed = write;
  failed.outcome = AuditOutcome::kSeriousFailure;
  failed.outcome_text = "the store is unavailable";
  failed.interaction = "delete";
  failed.action = 'D';
  failed.resource_version = 0;
  failed.who = {};
  failed.who.subject = "loader";
  out.push_back(failed);

  // A failed authentication: nobody known, from an address.
  AuditRecord login;
  login.category = AuditCategory::kAuthentication;
  login.decision = AuditDecision::kDeny;
  login.outcome = AuditOutcome::kMinorFailure;
  login.interaction = "login";
  login.outcome_text = "invalid token: the signature does not verify";
  login.source_system = "rest";
  login.correlation_id = "req-forged-1";
  login.remote_address = "192.0.2.44";
  login.recorded_us = 86'400'000'000;
  out.push_back(login);

  AuditRecord nothing;  // every optional part absent
  out.push_back(nothing);

  AuditRecord quoted = read;  // text that needs escaping and normalising
  quoted.principal.reset();
  quoted.who.kind = "practitioner";
  quoted.who.subject = "Åse \"Ærlig\" Øvrebø\tç\\";
  quoted.on_behalf_of = "ÅSE  Øvre ";
  quoted.purpose_of_use = "TREAT";
  out.push_back(quoted);
  return out;
}

// Records no request makes (the REST layer checks ids, HelseID's jti is a URI-safe string) but the writer must
// still store and index as the indexer would: control characters, blank values, references with extra segments.
std::vector<AuditRecord> oddRecords() {
  std::vector<AuditRecord> out;
  AuditRecord odd;
  odd.interaction = "$ip-status";
  odd.action = 'E';
  odd.who.kind = "practitioner";
  odd.who.subject = "Åse \"Ærlig\" Øvrebø\tç\\";
  odd.who.token_id = "jti \u00e9\u0301 \x01";
  odd.on_behalf_of = "ÅSE  Øvre ";
  odd.resource_type = "CarePlan";
  odd.resource_id = "a/b";
  odd.patient = "urn:uuid:6f1c2d3e-aaaa-bbbb-cccc-000011112222";
  odd.source_system = "rest";
  odd.correlation_id = "   ";
  odd.remote_address = "  ";
  odd.purpose_of_use = "TREAT";
  odd.recorded_us = 1'796'000'000'000'001;
  out.push_back(odd);

  AuditRecord absolute = odd;
  absolute.patient = "http://other.example/fhir/Patient/p-3/_history/2";
  absolute.resource_type = "Patient";
  absolute.resource_id = "p-3";
  absolute.resource_version = 2;
  absolute.who = {};
  absolute.who.client_id = "only-a-client";
  out.push_back(absolute);
  return out;
}

std::vector<AuditRecord> allRecords() {
  std::vector<AuditRecord> out = records();
  for (AuditRecord& r : oddRecords()) out.push_back(std::move(r));
  return out;
}

using RowKey = std::tuple<std::string, int, std::string, std::string, std::string, int64_t, int64_t, double,
                          std::string, std::string>;
std::vector<RowKey> keys(const std::vector<store::IndexRow>& rows) {
  std::vector<RowKey> out;
  for (const store::IndexRow& r : rows) {
    out.emplace_back(r.param, static_cast<int>(r.kind), r.text, r.system, r.code, r.date_low, r.date_high, r.number,
                     r.ref_type, r.ref_id);
  }
  return out;
}
std::string describe(const RowKey& k) {
  return std::get<0>(k) + " kind=" + std::to_string(std::get<1>(k)) + " text=" + std::get<2>(k) +
         " system=" + std::get<3>(k) + " code=" + std::get<4>(k) + " date=" + std::to_string(std::get<5>(k)) + ".." +
         std::to_string(std::get<6>(k)) + " ref=" + std::get<8>(k) + "/" + std::get<9>(k);
}

TEST(AuditEventJson, IsExactlyTheCanonicalSerialisation) {
  for (const AuditRecord& r : allRecords()) {
    const std::string json = auditEventJson(r, kId, kObserver);
    auto doc = fhir::JsonDocument::parse(json);
    ASSERT_TRUE(doc.isOk()) << doc.status().message() << "\n" << json;
    EXPECT_EQ(json, fhir::writeResourceJson(doc->root()));
    std::string appended = "x";
    writeAuditEventJson(r, kId, kObserver, appended);
    EXPECT_EQ(appended, "x" + json);
  }
}

TEST(AuditEventIndexRows, AreTheIndexersRowsForEveryParameter) {
  const store::Timestamp last_updated{std::chrono::microseconds(1'796'000'000'654'321)};
  search::IndexOptions options;
  options.last_updated = last_updated;
  std::set<std::string> params_seen;
  for (const AuditRecord& r : allRecords()) {
    const std::string json = auditEventJson(r, kId, kObserver);
    auto doc = fhir::JsonDocument::parse(json);
    ASSERT_TRUE(doc.isOk());
    std::vector<search::IndexIssue> issues;
    auto expected = search::indexResource(doc->root(), &issues, options);
    ASSERT_TRUE(expected.isOk()) << expected.status().message();
    EXPECT_TRUE(issues.empty()) << issues.front().param << ": " << issues.front().message;
    const std::vector<RowKey> want = keys(*expected);
    const std::vector<RowKey> got = keys(auditEventIndexRows(r, kId, kObserver, last_updated));
    EXPECT_EQ(got.size(), want.size()) << json;
    for (const RowKey& k : want) {
      EXPECT_NE(std::find(got.begin(), got.end(), k), got.end()) << "missing: " << describe(k) << "\n" << json;
      params_seen.insert(std::get<0>(k));
    }
    for (const RowKey& k : got) {
      EXPECT_NE(std::find(want.begin(), want.end(), k), want.end()) << "extra: " << describe(k) << "\n" << json;
    }
    EXPECT_EQ(got, want) << "the order differs\n" << json;
  }
  // The records reach every indexed parameter the AuditEvent's shape can fill (AuditEvent is indexed by the BALP /
  // ATNA parameters only: docs/search.md), and none of those left unindexed.
  for (const char* p : {"_id", "_lastUpdated", "action", "address", "address:exact", "agent:identifier",
                        "agent:present", "date", "entity", "entity:identifier", "entity-type", "entity-type:text",
                        "outcome", "patient", "policy", "site", "source:present", "subtype", "subtype:text", "type",
                        "type:text"}) {
    EXPECT_TRUE(params_seen.count(p)) << p;
  }
  for (const char* p : {"agent-role", "entity-role", "entity-role:text", "entity-name"}) {
    EXPECT_FALSE(params_seen.count(p)) << p;
  }
}

TEST(AuditEventJson, IsAValidR4AuditEventInTheBalpShape) {
  const fhir::Validator validator;
  for (const AuditRecord& r : records()) {
    const std::string json = auditEventJson(r, kId, kObserver);
    fhir::OperationOutcome outcome = validator.validateJsonText(json);
    EXPECT_FALSE(outcome.hasErrors()) << outcome.toJson(true) << "\n" << json;
    auto doc = fhir::JsonDocument::parse(json);
    ASSERT_TRUE(doc.isOk());
    const fhir::JsonValue& root = doc->root();
    // BALP: the user agent (requestor), the Source Role ID and the Destination Role ID agents, the source.
    const fhir::JsonValue* agents = root.find("agent");
    ASSERT_NE(agents, nullptr);
    size_t requestors = 0, source_role = 0, destination_role = 0;
    for (const fhir::JsonValue& a : agents->items()) {
      requestors += a.find("requestor")->boolean() ? 1 : 0;
      const std::string_view code = a.find("type")->find("coding")->items().begin()->find("code")->text();
      source_role += code == "110153" ? 1 : 0;
      destination_role += code == "110152" ? 1 : 0;
    }
    EXPECT_EQ(requestors, 1u);
    EXPECT_EQ(source_role, 1u);
    EXPECT_EQ(destination_role, 1u);
    EXPECT_EQ(root.find("source")->find("observer")->find("display")->text(), kObserver);
  }
}

TEST(AuditEventJson, AgentsFromTheSharedPrincipalEqualThoseFromItsCopy) {
  for (const AuditRecord& r : allRecords()) {
    if (!r.principal) continue;
    AuditRecord copied = r;
    copied.principal.reset();
    copied.who = auditAgentOf(*r.principal);
    EXPECT_EQ(auditEventJson(r, kId, kObserver), auditEventJson(copied, kId, kObserver));
  }
}

// The request thread's record shares the request's Principal (no copy of its strings), and the log lets go of it
// once the event is written.
TEST(AuditLogRecord, SharesTheRequestsPrincipalUntilWritten) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "planbro-audit-event-XXXXXX").string();
  ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
  {
    store::SqliteStoreOptions so;
    so.path = tmpl + "/planbro.db";
    auto store = store::openSqliteStore(so);
    ASSERT_TRUE(store.isOk()) << store.status().message();
    AuditLogOptions o;
    o.flush_interval = std::chrono::milliseconds(10'000);
    AuditLog log(**store, o);
    auto policy = makeAuditedPolicy(makeAllowAllPolicy(), std::shared_ptr<AuditSink>(&log, [](AuditSink*) {}));
    http::RequestContext context;
    context.principal = practitioner();
    context.request_id = "req-77";
    const long before = context.principal.shared().use_count();
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(policy->permitInteraction(context, InteractionSubject{"read", "Goal"}).isOk());
    EXPECT_EQ(context.principal.shared().use_count(), before + 3);  // queued: shared, not copied
    ASSERT_TRUE(log.flush().isOk());
    EXPECT_EQ(context.principal.shared().use_count(), before);  // written: released
    store::HistoryQuery q;
    q.type = "AuditEvent";
    auto page = (*store)->history(q);
    ASSERT_TRUE(page.isOk());
    ASSERT_EQ(page->entries.size(), 3u);
    for (const auto& v : page->entries) {
      EXPECT_NE(v.json.find("\"value\":\"565501872\""), std::string::npos) << v.json;
      EXPECT_NE(v.json.find("\"policy\":[\"tok-8d7c6b5a4f3e2d1c\"]"), std::string::npos) << v.json;
      EXPECT_NE(v.json.find("req-77"), std::string::npos) << v.json;
    }
    // The stored rows answer the auditor's searches as the indexer's would.
    log.stop();
  }
  std::error_code ec;
  std::filesystem::remove_all(tmpl, ec);
}


// The queue's slots come in chunks that are reused once emptied: rounds that fill it across many chunk boundaries,
// drained in batches that do not divide them, store every record exactly once.
TEST(AuditLogRecord, EveryRecordIsStoredOnceAcrossReusedSlots) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "planbro-audit-ring-XXXXXX").string();
  ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
  {
    store::SqliteStoreOptions so;
    so.path = tmpl + "/planbro.db";
    auto store = store::openSqliteStore(so);
    ASSERT_TRUE(store.isOk()) << store.status().message();
    AuditLogOptions o;
    o.batch_entries = 37;
    o.queue_entries = 300;
    o.flush_interval = std::chrono::milliseconds(10'000);
    AuditLog log(**store, o);
    int next = 0;
    for (int round = 0; round < 4; ++round) {
      for (int i = 0; i < 150 + 50 * round; ++i) {
        AuditRecord r;
        r.interaction = "read";
        r.action = 'R';
        r.correlation_id = "rec-" + std::to_string(next++);
        ASSERT_TRUE(log.record(std::move(r)).isOk()) << next;
      }
      ASSERT_TRUE(log.flush().isOk());
    }
    log.stop();
    EXPECT_EQ(log.stats().stored, static_cast<uint64_t>(next));
    store::HistoryQuery q;
    q.type = "AuditEvent";
    q.count = 1000;  // 900 records written
    auto page = (*store)->history(q);
    ASSERT_TRUE(page.isOk());
    std::set<std::string> seen;
    for (const auto& v : page->entries) {
      auto doc = fhir::JsonDocument::parse(v.json);
      ASSERT_TRUE(doc.isOk());
      for (const fhir::JsonValue& e : doc->root().find("entity")->items()) {
        if (const fhir::JsonValue* id = e.find("what")->find("identifier")) seen.insert(std::string(id->find("value")->text()));
      }
    }
    EXPECT_EQ(seen.size(), static_cast<size_t>(next));
    EXPECT_EQ(page->entries.size(), static_cast<size_t>(next));
  }
  std::error_code ec;
  std::filesystem::remove_all(tmpl, ec);
}

}  // namespace
}  // namespace planbro::gateway::security
