// The operations layer on a real SQLite store: the work a transaction does under the writer turn (none of its
// searches), each condition searched once, the writer budget, and the write context recorded per call.

#include "planbro/gateway/ops/operations.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "planbro/gateway/ops/identity_keys.h"
#include "planbro/gateway/search/indexer.h"
#include "planbro/gateway/search/search_executor.h"

namespace planbro::gateway::ops {
namespace {

using fhir::JsonDocument;
using fhir::OperationOutcome;

// Forwards to a real store and counts the index searches made while a write transaction of it is open.
class CountingStore : public store::ResourceStore {
 public:
  explicit CountingStore(store::ResourceStore& inner) : inner_(inner) {}

  std::atomic<int> open_transactions{0};
  std::atomic<int> searches{0};
  std::atomic<int> searches_under_writer{0};

  std::string_view engine() const override { return inner_.engine(); }
  Result<store::ResourceVersion> read(std::string_view type, std::string_view id) override { return inner_.read(type, id); }
  Result<store::ResourceVersion> vread(std::string_view type, std::string_view id, int64_t v) override {
    return inner_.vread(type, id, v);
  }
  Result<store::HistoryPage> history(const store::HistoryQuery& q) override { return inner_.history(q); }
  Result<std::vector<store::OutboxEvent>> readOutbox(int64_t after, size_t limit) override {
    return inner_.readOutbox(after, limit);
  }
  Result<std::optional<std::string>> findKeyOwner(const store::BusinessKey& key) override {
    return inner_.findKeyOwner(key);
  }
  Result<store::IndexPage> searchIndex(const store::IndexQuery& q) override {
    ++searches;
    if (open_transactions.load() > 0) ++searches_under_writer;
    return inner_.searchIndex(q);
  }
  Result<std::string> serverSecret(std::string_view name) override { return inner_.serverSecret(name); }
  Result<store::OutboxStats> outboxStats() override { return inner_.outboxStats(); }
  Result<std::unique_ptr<store::WriteTransaction>> begin(const store::WriteContext& context) override;

 private:
  store::ResourceStore& inner_;
};

class CountedTransaction : public store::WriteTransaction {
 public:
  CountedTransaction(std::unique_ptr<store::WriteTransaction> inner, CountingStore& owner)
      : inner_(std::move(inner)), owner_(owner) {
    ++owner_.open_transactions;
  }
  ~CountedTransaction() override { close(); }
  Result<store::WriteResult> create(std::string_view t, store::ResourceContent c, std::optional<std::string_view> id) override {
    return inner_->create(t, c, id);
  }
  Result<store::WriteResult> update(std::string_view t, std::string_view id, store::ResourceContent c,
                                    std::optional<int64_t> e) override {
    return inner_->update(t, id, c, e);
  }
  Result<store::WriteResult> remove(std::string_view t, std::string_view id, std::optional<int64_t> e) override {
    return inner_->remove(t, id, e);
  }
  Result<store::ClaimResult> claimKey(const store::BusinessKey& k, std::string_view id) override { return inner_->claimKey(k, id); }
  Status releaseKey(const store::BusinessKey& k) override { return inner_->releaseKey(k); }
  Status releaseKeyHeldBy(const store::BusinessKey& k, std::string_view id) override { return inner_->releaseKeyHeldBy(k, id); }
  Status replaceIndex(std::string_view t, std::string_view id, const std::vector<store::IndexRow>& r) override {
    return inner_->replaceIndex(t, id, r);
  }
  Status addIndex(std::string_view t, std::string_view id, const std::vector<store::IndexRow>& r) override {
    return inner_->addIndex(t, id, r);
  }
  Result<store::ResourceVersion> read(std::string_view t, std::string_view id) override { return inner_->read(t, id); }
  Status commit() override {
    Status s = inner_->commit();
    close();
    return s;
  }
  void rollback() override {
    inner_->rollback();
    close();
  }
  bool retryable() const override { return inner_->retryable(); }

 private:
  void close() {
    if (!closed_) --owner_.open_transactions;
    closed_ = true;
  }
  std::unique_ptr<store::WriteTransaction> inner_;
  CountingStore& owner_;
  bool closed_ = false;
};

Result<std::unique_ptr<store::WriteTransaction>> CountingStore::begin(const store::WriteContext& context) {
  auto tx = inner_.begin(context);
  if (!tx.isOk()) return tx.status();
  return std::unique_ptr<store::WriteTransaction>(std::make_unique<CountedTransaction>(std::move(tx).value(), *this));
}

std::string patientJson(const std::string& fnr) {
  return R"({"resourceType":"Patient","identifier":[{"system":"urn:oid:2.16.578.1.12.4.1.4.1","value":")" + fnr +
         R"("}],"gender":"female"})";
}
std::string goalJson(const std::string& subject, const std::string& key) {
  return R"({"resourceType":"Goal","identifier":[{"system":"urn:test:goal","value":")" + key +
         R"("}],"lifecycleStatus":"active","description":{"text":"x"},"subject":{"reference":")" + subject + R"("}})";
}

class OperationsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "planbro-ops-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    store::SqliteStoreOptions so;
    so.path = dir_ + "/planbro.db";
    auto s = store::openSqliteStore(so);
    ASSERT_TRUE(s.isOk()) << s.status().message();
    real_ = std::move(s).value();
    counting_ = std::make_unique<CountingStore>(*real_);
    executor_ = std::make_unique<search::SearchExecutor>(*counting_, search::ExecutorOptions{});
  }
  void TearDown() override {
    executor_.reset();
    counting_.reset();
    real_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  Operations make(OperationsOptions o = {}) {
    o.writer.hooks.push_back(makePatientIdentityHook());
    return Operations(*counting_, *executor_, std::move(o));
  }
  JsonDocument parse(const std::string& json) {
    auto d = JsonDocument::parse(json);
    EXPECT_TRUE(d.isOk());
    return std::move(d).value();
  }
  search::QueryParams params(const std::string& query) {
    auto p = search::decodeQuery(query, false);
    EXPECT_TRUE(p.isOk());
    return *p;
  }
  size_t historySize() {
    store::HistoryQuery q;
    q.count = 100;
    auto page = real_->history(q);
    return page.isOk() ? page->entries.size() : 0;
  }

  std::string dir_;
  std::unique_ptr<store::ResourceStore> real_;
  std::unique_ptr<CountingStore> counting_;
  std::unique_ptr<search::SearchExecutor> executor_;
};

TEST_F(OperationsTest, ATransactionSearchesEveryConditionOnceAndNoneUnderTheWriter) {
  Operations ops = make();
  WriteContext context;
  context.source_system = "test";
  // A Patient to refer to conditionally.
  JsonDocument existing = parse(patientJson("15058510170"));
  ASSERT_TRUE(ops.create(context, "Patient", existing.root(), {}, nullptr).isOk());

  // What one conditional search costs.
  JsonDocument one_goal = parse(goalJson("Patient?identifier=urn:oid:2.16.578.1.12.4.1.4.1|15058510170", "g0"));
  counting_->searches = 0;
  ASSERT_TRUE(ops.create(context, "Goal", one_goal.root(), params("identifier=urn:test:goal|g0"), nullptr).isOk());
  const int per_search = counting_->searches.load();
  ASSERT_GT(per_search, 0);

  // Six entries sharing one If-None-Exist, each with the same conditional reference: two conditions in all.
  std::vector<JsonDocument> docs;
  std::vector<TransactionEntry> entries;
  docs.reserve(6);
  for (int i = 0; i < 6; ++i) {
    docs.push_back(parse(goalJson("Patient?identifier=urn:oid:2.16.578.1.12.4.1.4.1|15058510170", "shared")));
    TransactionEntry e;
    e.kind = TransactionEntry::Kind::kCreate;
    e.type = "Goal";
    e.resource = &docs.back().root();
    e.condition = params("identifier=urn:test:goal|shared");
    entries.push_back(std::move(e));
  }
  counting_->searches = 0;
  counting_->searches_under_writer = 0;
  EntryFailure failure;
  auto done = ops.transaction(context, entries, nullptr, &failure);
  ASSERT_TRUE(done.isOk()) << done.status().message();
  EXPECT_EQ(counting_->searches_under_writer.load(), 0);
  EXPECT_EQ(counting_->searches.load(), 2 * per_search);
  // One Goal written, five entries answered with it.
  ASSERT_EQ(done->entries.size(), 6u);
  EXPECT_EQ(done->entries[0]->kind, WriteOutcome::Kind::kCreated);
  for (size_t i = 1; i < 6; ++i) {
    EXPECT_EQ(done->entries[i]->kind, WriteOutcome::Kind::kExisting);
    EXPECT_EQ(done->entries[i]->version.id, done->entries[0]->version.id);
  }
  EXPECT_EQ(historySize(), 3u);
}

TEST_F(OperationsTest, ATransactionOverTheWriterBudgetIsRolledBack) {
  OperationsOptions o;
  o.transaction_writer_budget = std::chrono::milliseconds(1000);
  auto ticks = std::make_shared<std::atomic<int64_t>>(0);
  // Every reading of the clock is two seconds later than the last: the first entry already overruns the budget.
  o.clock = [ticks] { return store::Timestamp(std::chrono::seconds(2 * ticks->fetch_add(1))); };
  Operations ops = make(o);
  JsonDocument a = parse(patientJson("15058510170"));
  JsonDocument b = parse(patientJson("15058510251"));
  std::vector<TransactionEntry> entries(2);
  for (size_t i = 0; i < 2; ++i) {
    entries[i].kind = TransactionEntry::Kind::kCreate;
    entries[i].type = "Patient";
  }
  entries[0].resource = &a.root();
  entries[1].resource = &b.root();
  EntryFailure failure;
  auto done = ops.transaction(WriteContext{}, entries, nullptr, &failure);
  ASSERT_FALSE(done.isOk());
  EXPECT_EQ(done.status().code(), StatusCode::kResourceExhausted) << done.status().message();
  EXPECT_EQ(historySize(), 0u);

  OperationsOptions roomy;
  Operations relaxed = make(roomy);
  EXPECT_TRUE(relaxed.transaction(WriteContext{}, entries, nullptr, &failure).isOk());
  EXPECT_EQ(historySize(), 2u);
}

// Outside probe (2026-12-07): the index rows of all entries of one transaction are bounded together, so splitting
// a resource that the per-resource bound refuses into many entries does not bring the gigabyte of rows back.
TEST_F(OperationsTest, ATransactionWhoseEntriesTogetherPassTheIndexRowBoundWritesNothing) {
  JsonDocument a = parse(patientJson("15058510170"));
  JsonDocument b = parse(patientJson("15058510251"));
  std::vector<TransactionEntry> entries(2);
  for (size_t i = 0; i < 2; ++i) {
    entries[i].kind = TransactionEntry::Kind::kCreate;
    entries[i].type = "Patient";
  }
  entries[0].resource = &a.root();
  entries[1].resource = &b.root();
  const size_t one = search::indexResource(a.root())->size();
  OperationsOptions o;
  o.writer.max_transaction_index_rows = one + one / 2;  // room for one entry, not for two
  Operations tight = make(o);
  EntryFailure failure;
  auto done = tight.transaction(WriteContext{}, entries, nullptr, &failure);
  ASSERT_FALSE(done.isOk());
  EXPECT_EQ(done.status().code(), StatusCode::kResourceExhausted) << done.status().message();
  EXPECT_NE(done.status().message().find("limits.max_index_rows_per_transaction"), std::string::npos);
  EXPECT_EQ(historySize(), 0u);

  o.writer.max_transaction_index_rows = 2 * one + 16;
  Operations roomy = make(o);
  EXPECT_TRUE(roomy.transaction(WriteContext{}, entries, nullptr, &failure).isOk());
  EXPECT_EQ(historySize(), 2u);
}

TEST_F(OperationsTest, TheSourceSystemIsRecordedPerCall) {
  Operations ops = make();
  WriteContext adapter;
  adapter.actor = "plo-adapter";
  adapter.source_system = "adapter:plo";
  JsonDocument p = parse(patientJson("15058510170"));
  auto created = ops.create(adapter, "Patient", p.root(), {}, nullptr);
  ASSERT_TRUE(created.isOk()) << created.status().message();
  auto stored = real_->read("Patient", created->version.id);
  ASSERT_TRUE(stored.isOk());
  EXPECT_EQ(stored->source_system, "adapter:plo");
  EXPECT_EQ(stored->actor, "plo-adapter");
}

TEST_F(OperationsTest, AnAuthorizerRefusalWritesNothing) {
  Operations ops = make();
  WriteContext context;
  int asked = 0;
  context.authorize = [&](const PreparedWrite& w) {
    ++asked;
    EXPECT_EQ(w.intent.type, "Patient");
    return Status(StatusCode::kPermissionDenied, "not yours");
  };
  JsonDocument p = parse(patientJson("15058510170"));
  auto created = ops.create(context, "Patient", p.root(), {}, nullptr);
  EXPECT_EQ(created.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(asked, 1);
  EXPECT_EQ(historySize(), 0u);
}

TEST_F(OperationsTest, PatientsStoredBeforeTheHookGetTheirKeysOnce) {
  // Written as an older planbro would have: versions without any person-number key.
  auto legacy = [&](const std::string& id, const std::string& fnr) {
    Status s = real_->runTransaction({"", "old"}, [&](store::WriteTransaction& tx) {
      std::string json = patientJson(fnr);
      json.insert(1, "\"id\":\"" + id + "\",");
      return tx.create("Patient", {json, {}}, id).status();
    });
    ASSERT_TRUE(s.isOk()) << s.message();
  };
  legacy("a", "15058510170");
  legacy("b", "15058510170");  // a duplicate registration from before
  legacy("c", "15058510251");
  auto first = claimStoredPersonNumbers(*real_, 2);  // two per transaction: the pages join up
  ASSERT_TRUE(first.isOk()) << first.status().message();
  EXPECT_FALSE(first->already_done);
  EXPECT_EQ(first->patients, 3u);
  EXPECT_EQ(first->claimed, 2u);
  ASSERT_EQ(first->duplicates.size(), 1u);
  EXPECT_EQ(first->duplicates[0], "Patient/b (fødselsnummer held by Patient/a)");
  EXPECT_EQ(first->duplicates[0].find("15058510170"), std::string::npos);

  Operations ops = make();
  OperationOutcome outcome;
  JsonDocument again = parse(patientJson("15058510251"));
  auto refused = ops.create(WriteContext{}, "Patient", again.root(), {}, &outcome);
  EXPECT_EQ(refused.status().code(), StatusCode::kConflict);
  EXPECT_NE(refused.status().message().find("Patient/c"), std::string::npos) << refused.status().message();

  auto second = claimStoredPersonNumbers(*real_);
  ASSERT_TRUE(second.isOk());
  EXPECT_TRUE(second->already_done);
}

TEST(IsValidId, RefusesPathSegmentsAndAcceptsTheR4Pattern) {
  EXPECT_FALSE(isValidId("."));
  EXPECT_FALSE(isValidId(".."));
  EXPECT_FALSE(isValidId(""));
  EXPECT_FALSE(isValidId(std::string(65, 'a')));
  EXPECT_TRUE(isValidId("..."));
  EXPECT_TRUE(isValidId("a.b-C9"));
}

TEST(LocalReferences, FindsTypeIdReferencesWithTheirElementPaths) {
  auto doc = JsonDocument::parse(
      R"({"resourceType":"CarePlan","subject":{"reference":"Patient/p1"},"goal":[{"reference":"Goal/g1"},)"
      R"({"reference":"#contained"},{"reference":"https://other.example/fhir/Goal/g2"},)"
      R"({"reference":"Goal/g3/_history/2"}],"activity":[{"detail":{"performer":[{"reference":"Unknown/x"}]}}]})");
  ASSERT_TRUE(doc.isOk());
  std::vector<LocalReference> refs = localReferences("CarePlan", doc->root());
  ASSERT_EQ(refs.size(), 3u);
  EXPECT_EQ(refs[0].location, "CarePlan.subject");
  EXPECT_EQ(refs[0].type + "/" + refs[0].id, "Patient/p1");
  EXPECT_EQ(refs[1].location, "CarePlan.goal[0]");
  EXPECT_EQ(refs[2].location, "CarePlan.goal[3]");
  EXPECT_EQ(refs[2].id, "g3");
}

TEST(LocalReferences, GivesEachNestedReferenceItsOwnPathAfterSiblingsWereWalked) {
  // The walk grows and cuts back one path buffer: a reference after a deeper sibling must not carry its path.
  auto doc = JsonDocument::parse(
      R"({"resourceType":"CarePlan","activity":[{"detail":{"performer":[{"display":"x"},{"reference":"Practitioner/a"}]}},)"
      R"({"outcomeReference":[{"reference":"Observation/o1"}],"detail":{"location":{"reference":"Location/l1"}}}],)"
      R"("author":{"reference":"Organization/org"},"note":[{"text":"no reference"}]})");
  ASSERT_TRUE(doc.isOk());
  std::vector<LocalReference> refs = localReferences("CarePlan", doc->root());
  ASSERT_EQ(refs.size(), 4u);
  EXPECT_EQ(refs[0].location, "CarePlan.activity[0].detail.performer[1]");
  EXPECT_EQ(refs[1].location, "CarePlan.activity[1].outcomeReference[0]");
  EXPECT_EQ(refs[2].location, "CarePlan.activity[1].detail.location");
  EXPECT_EQ(refs[3].location, "CarePlan.author");
  EXPECT_EQ(refs[3].type + "/" + refs[3].id, "Organization/org");
}

// A hook that watches CarePlan, so prepare() makes the tree the hooks get.
class WatchesCarePlan : public TransactionHook {
 public:
  bool watches(std::string_view type) const override { return type == "CarePlan"; }
};

TEST(ResourceWriter, GivesTheHooksTheTreeOfTheStoredBytesOwnedByThePreparedWrite) {
  WriterOptions options;
  options.hooks.push_back(std::make_shared<WatchesCarePlan>());
  ResourceWriter writer(options);
  WriteIntent intent;
  intent.kind = WriteKind::kCreate;
  intent.type = "CarePlan";
  std::optional<PreparedWrite> prepared;
  {
    // The body's document ends before the hooks would read the tree: the tree must not point into it.
    auto body = JsonDocument::parse(
        R"({"subject":{"reference":"Patient/p"},"status":"active","resourceType":"CarePlan","intent":"plan",)"
        R"("meta":{"versionId":"7","lastUpdated":"2026-01-01T00:00:00Z","tag":[{"code":"t"}]}})");
    ASSERT_TRUE(body.isOk());
    auto p = writer.prepare(intent, body->root());
    ASSERT_TRUE(p.isOk()) << p.status().message();
    prepared = std::move(p).value();
  }
  ASSERT_TRUE(prepared->parsed);
  auto reparsed = JsonDocument::parse(prepared->json);
  ASSERT_TRUE(reparsed.isOk());
  EXPECT_TRUE(jsonEqual(prepared->parsed->root(), reparsed->root())) << prepared->json;
  EXPECT_EQ(prepared->parsed->root().find("meta")->find("versionId"), nullptr);  // as stored: the store sets it
  EXPECT_EQ(prepared->parsed->root().find("id")->text(), prepared->intent.id);
}

TEST(PatientIdentityHook, ClaimsEveryPersonNumberKindAndReleasesWhatAnUpdateDrops) {
  auto hook = makePatientIdentityHook();
  EXPECT_TRUE(hook->watches("Patient"));
  EXPECT_FALSE(hook->watches("Practitioner"));
  auto before = JsonDocument::parse(
      R"({"resourceType":"Patient","identifier":[)"
      R"({"system":"http://hl7.no/fhir/NamingSystem/FNR","value":"15058510170"},)"
      R"({"type":{"coding":[{"system":"urn:oid:2.16.578.1.12.4.1.1.8327","code":"HNR"}]},)"
      R"("system":"urn:oid:2.16.578.1.12.4.1.2.99999","value":"15458510072"},)"
      R"({"system":"urn:oid:2.16.578.1.12.4.1.4.3","value":"81234510053"},)"
      R"({"system":"urn:oid:2.16.578.1.12.4.1.4.4","value":"9144900"}]})");
  auto after = JsonDocument::parse(
      R"({"resourceType":"Patient","identifier":[{"system":"urn:oid:2.16.578.1.12.4.1.4.1","value":"15058510170"}]})");
  ASSERT_TRUE(before.isOk() && after.isOk());
  auto created = hook->keys("Patient", nullptr, &before->root());
  ASSERT_TRUE(created.isOk());
  std::vector<std::string> values;
  for (const KeyClaim& c : created->claims) {
    EXPECT_EQ(c.key.kind, kPersonNumberKey);
    values.push_back(c.key.value + "@" + c.location);
  }
  // fødselsnummer (by its alias URL), H-nummer (by its type), felles hjelpenummer; not the HPR number.
  EXPECT_EQ(values, (std::vector<std::string>{"15058510170@Patient.identifier[0]", "15458510072@Patient.identifier[1]",
                                              "81234510053@Patient.identifier[2]"}));
  auto updated = hook->keys("Patient", &before->root(), &after->root());
  ASSERT_TRUE(updated.isOk());
  ASSERT_EQ(updated->claims.size(), 1u);
  std::vector<std::string> released;
  for (const auto& k : updated->releases) released.push_back(k.value);
  EXPECT_EQ(released, (std::vector<std::string>{"15458510072", "81234510053"}));
  auto deleted = hook->keys("Patient", &after->root(), nullptr);
  ASSERT_TRUE(deleted.isOk());
  EXPECT_TRUE(deleted->claims.empty());
  EXPECT_EQ(deleted->releases.size(), 1u);
}

TEST(ConditionalCreateKey, IsTheSameForTheOidAndTheNamingSystemUrl) {
  auto a = conditionalCreateKey("Patient", {{"identifier", "urn:oid:2.16.578.1.12.4.1.4.1|15058510170"}});
  auto b = conditionalCreateKey("Patient", {{"identifier", "http://hl7.no/fhir/NamingSystem/FNR|15058510170"}});
  EXPECT_EQ(a.value, b.value);
  EXPECT_EQ(canonicalIdentifierSystem("http://hl7.no/fhir/NamingSystem/DNR"), "urn:oid:2.16.578.1.12.4.1.4.2");
  EXPECT_EQ(canonicalIdentifierSystem("urn:test:other"), "urn:test:other");
}

}  // namespace
}  // namespace planbro::gateway::ops
