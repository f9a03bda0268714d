// One suite, run against both engines: SQLite on a real file, PostgreSQL on the cluster named by
// PLANBRO_TEST_PG_URL (scripts/postgres-test-cluster.sh start). Each test gets its own file / its own schema.
#include <libpq-fe.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "planbro/gateway/store/resource_store.h"
#include "statement_cache.h"
#include "../../support/test_store_place.h"

namespace planbro::gateway::store {
namespace {

enum class Engine { kSqlite, kPostgres };

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Official R4 examples, used as opaque resource bytes.
const std::string& patientJson() {
  static const std::string json = readFile(PLANBRO_SHARED_DIR "/fhir-r4/examples/Patient-f001.json");
  return json;
}
const std::string& carePlanJson() {
  static const std::string json = readFile(PLANBRO_SHARED_DIR "/fhir-r4/examples/CarePlan-example.json");
  return json;
}

std::string uniqueSuffix() {
  static std::atomic<int> counter{0};
  std::random_device rd;
  return std::to_string(getpid()) + "_" + std::to_string(counter++) + "_" + std::to_string(rd() % 1000000);
}

// A deterministic clock: each call is one millisecond after the previous one.
Clock steppingClock() {
  auto now = std::make_shared<std::atomic<int64_t>>(1'700'000'000'000'000);
  return [now] { return Timestamp(std::chrono::microseconds(now->fetch_add(1000))); };
}

class StoreTest : public ::testing::TestWithParam<Engine> {
 protected:
  void SetUp() override {
    if (GetParam() == Engine::kPostgres) {
      const char* url = std::getenv("PLANBRO_TEST_PG_URL");
      const char* ci = std::getenv("CI");
      if (url == nullptr || *url == '\0') {
        if (ci != nullptr && std::string(ci) == "true") {
          FAIL() << "CI=true but PLANBRO_TEST_PG_URL is not set: the PostgreSQL store runs must not be skipped in CI";
        }
        GTEST_SKIP() << "PostgreSQL store runs skipped: PLANBRO_TEST_PG_URL is not set "
                        "(export PLANBRO_TEST_PG_URL=$(scripts/postgres-test-cluster.sh start))";
      }
      pg_url_ = url;
      schema_ = "store_test_" + uniqueSuffix();
    } else {
      dir_ = std::filesystem::temp_directory_path() / ("planbro-store-test-" + uniqueSuffix());
      std::filesystem::create_directories(dir_);
    }
    clock_ = steppingClock();
    auto s = open();
    ASSERT_TRUE(s.isOk()) << s.status().message();
    store_ = std::move(s).value();
  }

  void TearDown() override {
    store_.reset();
    planbro::testing::removeTestStorePlace(dir_, pg_url_, schema_);
  }

  // Another store instance on the same database (file or schema): as a second gateway process would have.
  Result<std::unique_ptr<ResourceStore>> open(size_t pool_size = 4,
                                               std::chrono::milliseconds acquire_timeout = std::chrono::seconds(10)) {
    if (GetParam() == Engine::kPostgres) {
      PostgresStoreOptions o;
      o.conninfo = pg_url_;
      o.schema = schema_;
      o.pool_size = pool_size;
      o.acquire_timeout = acquire_timeout;
      o.clock = clock_;
      return openPostgresStore(o);
    }
    SqliteStoreOptions o;
    o.path = (dir_ / "store.db").string();
    o.pool_size = pool_size;
    o.acquire_timeout = acquire_timeout;
    o.clock = clock_;
    return openSqliteStore(o);
  }

  WriteContext ctx() const { return {"practitioner-1", "rest"}; }

  // Runs one write in its own transaction and commits it.
  WriteResult write(const std::function<Result<WriteResult>(WriteTransaction&)>& op, ResourceStore* store = nullptr) {
    WriteResult out;
    Status s = (store ? store : store_.get())->runTransaction(ctx(), [&](WriteTransaction& t) -> Status {
      auto r = op(t);
      if (!r.isOk()) return r.status();
      out = *r;
      return Status::ok();
    });
    EXPECT_TRUE(s.isOk()) << s.message();
    return out;
  }

  // Runs `text` on the database directly (as an older gateway version would have written it) and returns the
  // first cell of its result, or "error".
  std::string rawSql(const std::string& text) {
    return planbro::testing::rawTestStoreSql(GetParam() == Engine::kPostgres ? pg_url_ : std::string(), schema_,
                                             dir_ / "store.db", text);
  }

  // A database set back to a version before 8 has the shape that version wrote: no compartment columns (the
  // version-8 step adds them).
  void dropSchema8Columns() {
    ASSERT_NE(rawSql("ALTER TABLE resource DROP COLUMN patient_compartment"), "error");
    ASSERT_NE(rawSql("ALTER TABLE resource DROP COLUMN compartment_version"), "error");
  }

  std::vector<OutboxEvent> outbox() {
    auto events = store_->readOutbox(0, kMaxPageSize);
    EXPECT_TRUE(events.isOk()) << events.status().message();
    return events.isOk() ? *events : std::vector<OutboxEvent>{};
  }

  std::filesystem::path dir_;
  std::string pg_url_;
  std::string schema_;
  Clock clock_;
  std::unique_ptr<ResourceStore> store_;
};

TEST_P(StoreTest, CreateAssignsIdAndVersionOneAndReadReturnsTheSameBytes) {
  WriteResult w = write([](WriteTransaction& t) { return t.create("Patient", {patientJson(), {}}); });
  EXPECT_EQ(w.outcome, WriteResult::Outcome::kCreated);
  EXPECT_EQ(w.version, 1);
  EXPECT_EQ(w.id.size(), 36u);
  auto r = store_->read("Patient", w.id);
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r->json, patientJson());
  EXPECT_EQ(r->version, 1);
  EXPECT_EQ(r->last_updated, w.last_updated);
  EXPECT_EQ(r->actor, "practitioner-1");
  EXPECT_EQ(r->source_system, "rest");
  EXPECT_FALSE(r->deleted);
}

TEST_P(StoreTest, ReadOfUnknownResourceIsNotFound) {
  EXPECT_EQ(store_->read("Patient", "nobody").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->vread("Patient", "nobody", 1).status().code(), StatusCode::kNotFound);
}

TEST_P(StoreTest, InvalidTypeOrIdIsRejected) {
  EXPECT_EQ(store_->read("Patient", "bad/id").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->read("patient", "a").status().code(), StatusCode::kInvalidArgument);
  auto txn = store_->begin(ctx());
  ASSERT_TRUE(txn.isOk());
  EXPECT_EQ((*txn)->update("Patient", std::string(65, 'a'), {"{}", {}}).status().code(), StatusCode::kInvalidArgument);
}

TEST_P(StoreTest, UpdateWritesNewVersionAndVreadReturnsEachVersion) {
  WriteResult c = write([](WriteTransaction& t) { return t.create("CarePlan", {carePlanJson(), {}}); });
  WriteResult u = write([&](WriteTransaction& t) { return t.update("CarePlan", c.id, {R"({"v":2})", {}}, 1); });
  EXPECT_EQ(u.outcome, WriteResult::Outcome::kUpdated);
  EXPECT_EQ(u.version, 2);
  EXPECT_GT(u.last_updated, c.last_updated);
  auto v1 = store_->vread("CarePlan", c.id, 1);
  auto v2 = store_->vread("CarePlan", c.id, 2);
  ASSERT_TRUE(v1.isOk() && v2.isOk());
  EXPECT_EQ(v1->json, carePlanJson());
  EXPECT_EQ(v2->json, R"({"v":2})");
  EXPECT_EQ(store_->read("CarePlan", c.id)->version, 2);
  EXPECT_EQ(store_->vread("CarePlan", c.id, 3).status().code(), StatusCode::kNotFound);
}

TEST_P(StoreTest, UpdateOfMissingResourceCreatesItWithTheClientId) {
  WriteResult w = write([](WriteTransaction& t) { return t.update("Patient", "client-chosen.1", {"{}", {}}); });
  EXPECT_EQ(w.outcome, WriteResult::Outcome::kCreated);
  EXPECT_EQ(w.version, 1);
  EXPECT_TRUE(store_->read("Patient", "client-chosen.1").isOk());
  ASSERT_EQ(outbox().size(), 1u);
  EXPECT_EQ(outbox()[0].kind, ChangeKind::kCreate);
}

TEST_P(StoreTest, CreateWithAClientIdThatExistsFailsWithAlreadyExists) {
  write([](WriteTransaction& t) { return t.create("Patient", {"{}", {}}, "p1"); });
  auto txn = store_->begin(ctx());
  ASSERT_TRUE(txn.isOk());
  EXPECT_EQ((*txn)->create("Patient", {"{}", {}}, "p1").status().code(), StatusCode::kAlreadyExists);
  EXPECT_FALSE((*txn)->commit().isOk());
}

TEST_P(StoreTest, UpdateWithIdenticalCanonicalBytesCreatesNoVersionAndNoEvent) {
  WriteResult c = write([](WriteTransaction& t) { return t.create("Patient", {patientJson(), "canon-A"}); });
  // Different JSON bytes (e.g. whitespace), same canonical form: nothing changes.
  WriteResult u = write([&](WriteTransaction& t) { return t.update("Patient", c.id, {patientJson() + " ", "canon-A"}); });
  EXPECT_EQ(u.outcome, WriteResult::Outcome::kUnchanged);
  EXPECT_EQ(u.version, 1);
  EXPECT_EQ(u.last_updated, c.last_updated);
  EXPECT_EQ(store_->read("Patient", c.id)->version, 1);
  EXPECT_EQ(outbox().size(), 1u);
  // Without a canonical form the JSON itself is compared.
  WriteResult same = write([&](WriteTransaction& t) { return t.update("Patient", "q", {"{\"a\":1}", {}}); });
  WriteResult again = write([&](WriteTransaction& t) { return t.update("Patient", "q", {"{\"a\":1}", {}}); });
  EXPECT_EQ(same.outcome, WriteResult::Outcome::kCreated);
  EXPECT_EQ(again.outcome, WriteResult::Outcome::kUnchanged);
}

TEST_P(StoreTest, UpdateWithStaleExpectedVersionFailsPreconditionAndWritesNothing) {
  WriteResult c = write([](WriteTransaction& t) { return t.create("Patient", {"{\"v\":1}", {}}); });
  write([&](WriteTransaction& t) { return t.update("Patient", c.id, {"{\"v\":2}", {}}, 1); });
  auto txn = store_->begin(ctx());
  ASSERT_TRUE(txn.isOk());
  auto stale = (*txn)->update("Patient", c.id, {"{\"v\":3}", {}}, 1);
  EXPECT_EQ(stale.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ((*txn)->commit().code(), StatusCode::kFailedPrecondition);
  EXPECT_FALSE((*txn)->retryable());
  EXPECT_EQ(store_->read("Patient", c.id)->json, "{\"v\":2}");
  // If-Match on a resource that does not exist fails the same way.
  Status s = store_->runTransaction(ctx(), [](WriteTransaction& t) {
    return t.update("Patient", "missing", {"{}", {}}, 1).status();
  });
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
}

TEST_P(StoreTest, DeleteWritesTombstoneVersionAndReadIsGone) {
  WriteResult c = write([](WriteTransaction& t) { return t.create("Goal", {"{\"g\":1}", {}}); });
  WriteResult d = write([&](WriteTransaction& t) { return t.remove("Goal", c.id); });
  EXPECT_EQ(d.outcome, WriteResult::Outcome::kDeleted);
  EXPECT_EQ(d.version, 2);
  EXPECT_EQ(store_->read("Goal", c.id).status().code(), StatusCode::kGone);
  EXPECT_EQ(store_->vread("Goal", c.id, 2).status().code(), StatusCode::kGone);
  EXPECT_TRUE(store_->vread("Goal", c.id, 1).isOk());
  // Deleting again changes nothing; updating re-creates it as version 3.
  WriteResult again = write([&](WriteTransaction& t) { return t.remove("Goal", c.id); });
  EXPECT_EQ(again.outcome, WriteResult::Outcome::kUnchanged);
  WriteResult back = write([&](WriteTransaction& t) { return t.update("Goal", c.id, {"{\"g\":1}", {}}); });
  EXPECT_EQ(back.outcome, WriteResult::Outcome::kCreated);
  EXPECT_EQ(back.version, 3);
  std::vector<ChangeKind> kinds;
  for (const auto& e : outbox()) kinds.push_back(e.kind);
  EXPECT_EQ(kinds, (std::vector<ChangeKind>{ChangeKind::kCreate, ChangeKind::kDelete, ChangeKind::kCreate}));
}

TEST_P(StoreTest, DeleteWithStaleExpectedVersionFailsPrecondition) {
  WriteResult c = write([](WriteTransaction& t) { return t.create("Goal", {"{}", {}}); });
  Status s = store_->runTransaction(ctx(), [&](WriteTransaction& t) { return t.remove("Goal", c.id, 7).status(); });
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(store_->read("Goal", c.id).isOk());
}

TEST_P(StoreTest, TransactionWithOneFailingEntryWritesNothing) {
  WriteResult existing = write([](WriteTransaction& t) { return t.create("CareTeam", {"{}", {}}, "team"); });
  const size_t events_before = outbox().size();
  {
    auto txn = store_->begin(ctx());
    ASSERT_TRUE(txn.isOk());
    ASSERT_TRUE((*txn)->create("CarePlan", {carePlanJson(), {}}, "plan").isOk());
    ASSERT_TRUE((*txn)->claimKey({"Patient", "identifier", "urn:oid:2.16.578.1.12.4.1.4.1|13116900216"}, "p").isOk());
    ASSERT_TRUE((*txn)->replaceIndex("CarePlan", "plan", {{"status", IndexValueKind::kToken, "", "", "active"}}).isOk());
    auto failing = (*txn)->update("CareTeam", existing.id, {"{\"x\":1}", {}}, 5);
    EXPECT_EQ(failing.status().code(), StatusCode::kFailedPrecondition);
    // The transaction is poisoned: later entries and the commit report the first failure.
    EXPECT_EQ((*txn)->create("Goal", {"{}", {}}).status().code(), StatusCode::kFailedPrecondition);
    EXPECT_EQ((*txn)->commit().code(), StatusCode::kFailedPrecondition);
  }
  EXPECT_EQ(store_->read("CarePlan", "plan").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->read("CareTeam", existing.id)->version, 1);
  auto owner = store_->findKeyOwner({"Patient", "identifier", "urn:oid:2.16.578.1.12.4.1.4.1|13116900216"});
  ASSERT_TRUE(owner.isOk());
  EXPECT_FALSE(owner->has_value());
  EXPECT_EQ(outbox().size(), events_before);
}

TEST_P(StoreTest, RolledBackTransactionLeavesNoOutboxEvent) {
  {
    auto txn = store_->begin(ctx());
    ASSERT_TRUE(txn.isOk());
    ASSERT_TRUE((*txn)->create("Patient", {"{}", {}}).isOk());
    (*txn)->rollback();
  }
  {
    auto txn = store_->begin(ctx());
    ASSERT_TRUE(txn.isOk());
    ASSERT_TRUE((*txn)->create("Patient", {"{}", {}}).isOk());
    // Destroyed without commit: rolled back.
  }
  EXPECT_TRUE(outbox().empty());
}

TEST_P(StoreTest, OutboxHasExactlyOneEventPerCommittedChangeInCommitOrder) {
  WriteResult a = write([](WriteTransaction& t) { return t.create("Patient", {"{\"a\":1}", {}}); });
  write([&](WriteTransaction& t) { return t.update("Patient", a.id, {"{\"a\":2}", {}}); });
  write([&](WriteTransaction& t) { return t.update("Patient", a.id, {"{\"a\":2}", {}}); });  // unchanged
  Status multi = store_->runTransaction({"adapter-user", "adapter:plo"}, [&](WriteTransaction& t) -> Status {
    RETURN_IF_ERROR(t.create("CarePlan", {"{}", {}}, "cp").status());
    return t.remove("Patient", a.id).status();
  });
  ASSERT_TRUE(multi.isOk()) << multi.message();
  std::vector<OutboxEvent> events = outbox();
  ASSERT_EQ(events.size(), 4u);
  for (size_t i = 1; i < events.size(); ++i) EXPECT_LT(events[i - 1].position, events[i].position);
  EXPECT_EQ(events[0].kind, ChangeKind::kCreate);
  EXPECT_EQ(events[1].kind, ChangeKind::kUpdate);
  EXPECT_EQ(events[1].version, 2);
  EXPECT_EQ(events[1].actor, "practitioner-1");
  EXPECT_EQ(events[1].source_system, "rest");
  EXPECT_EQ(events[2].type, "CarePlan");
  EXPECT_EQ(events[2].source_system, "adapter:plo");
  EXPECT_EQ(events[3].kind, ChangeKind::kDelete);
  EXPECT_EQ(events[3].version, 3);
  EXPECT_EQ(events[3].id, a.id);
  // Reading after a position continues from there.
  auto rest = store_->readOutbox(events[1].position, 10);
  ASSERT_TRUE(rest.isOk());
  ASSERT_EQ(rest->size(), 2u);
  EXPECT_EQ((*rest)[0].position, events[2].position);
}

TEST_P(StoreTest, OutboxStatsCountCommittedEventsAndTheNewestPosition) {
  auto empty = store_->outboxStats();
  ASSERT_TRUE(empty.isOk()) << empty.status().message();
  EXPECT_EQ(empty->events, 0);
  EXPECT_EQ(empty->newest_position, 0);
  WriteResult a = write([](WriteTransaction& t) { return t.create("Patient", {"{\"a\":1}", {}}); });
  write([&](WriteTransaction& t) { return t.update("Patient", a.id, {"{\"a\":2}", {}}); });
  // A rolled-back change leaves no event.
  auto tx = store_->begin(ctx());
  ASSERT_TRUE(tx.isOk());
  ASSERT_TRUE((*tx)->create("Patient", {"{}", {}}, "gone").isOk());
  (*tx)->rollback();
  tx->reset();
  auto stats = store_->outboxStats();
  ASSERT_TRUE(stats.isOk()) << stats.status().message();
  std::vector<OutboxEvent> events = outbox();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(stats->events, 2);
  EXPECT_EQ(stats->newest_position, events.back().position);
  EXPECT_EQ(store_->connectionsInUse(), 0u);
}

TEST_P(StoreTest, HistoryIsNewestFirstAndPagesByKeysetWithoutGapsOrRepeats) {
  WriteResult p = write([](WriteTransaction& t) { return t.create("Patient", {"{\"v\":1}", {}}, "p"); });
  for (int v = 2; v <= 5; ++v) {
    write([&](WriteTransaction& t) { return t.update("Patient", "p", {"{\"v\":" + std::to_string(v) + "}", {}}); });
  }
  write([](WriteTransaction& t) { return t.remove("Patient", "p"); });
  write([](WriteTransaction& t) { return t.create("CarePlan", {"{}", {}}, "c1"); });
  write([](WriteTransaction& t) { return t.create("CarePlan", {"{}", {}}, "c2"); });

  // Instance history in pages of 2: versions 6..1, the tombstone first.
  std::vector<int64_t> versions;
  HistoryQuery q;
  q.type = "Patient";
  q.id = "p";
  q.count = 2;
  for (int page = 0; page < 10; ++page) {
    auto h = store_->history(q);
    ASSERT_TRUE(h.isOk()) << h.status().message();
    for (const auto& e : h->entries) versions.push_back(e.version);
    if (!h->next) break;
    auto token = HistoryCursor::fromToken(h->next->toToken());
    ASSERT_TRUE(token.isOk());
    q.after = *token;
  }
  EXPECT_EQ(versions, (std::vector<int64_t>{6, 5, 4, 3, 2, 1}));
  auto first = store_->history({"Patient", "p", std::nullopt, 1, std::nullopt});
  ASSERT_TRUE(first.isOk());
  EXPECT_TRUE(first->entries[0].deleted);
  EXPECT_TRUE(first->entries[0].json.empty());

  // Type history and system history.
  auto type = store_->history({"CarePlan", std::nullopt, std::nullopt, 10, std::nullopt});
  ASSERT_TRUE(type.isOk());
  ASSERT_EQ(type->entries.size(), 2u);
  EXPECT_EQ(type->entries[0].id, "c2");
  EXPECT_FALSE(type->next.has_value());
  HistoryQuery all;
  all.count = 3;
  size_t total = 0;
  std::set<std::string> seen;
  for (int page = 0; page < 10; ++page) {
    auto h = store_->history(all);
    ASSERT_TRUE(h.isOk());
    for (const auto& e : h->entries) seen.insert(e.type + "/" + e.id + "/" + std::to_string(e.version));
    total += h->entries.size();
    if (!h->next) break;
    all.after = h->next;
  }
  EXPECT_EQ(total, 8u);
  EXPECT_EQ(seen.size(), 8u);

  // _since keeps versions written at or after the given instant.
  auto v4 = store_->vread("Patient", "p", 4);
  ASSERT_TRUE(v4.isOk());
  auto since = store_->history({"Patient", "p", v4->last_updated, 10, std::nullopt});
  ASSERT_TRUE(since.isOk());
  EXPECT_EQ(since->entries.size(), 3u);
  EXPECT_EQ(p.version, 1);
}

TEST_P(StoreTest, HistoryRejectsBadPageSizesAndInstanceWithoutType) {
  EXPECT_EQ(store_->history({std::nullopt, std::nullopt, std::nullopt, 0, std::nullopt}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->history({std::nullopt, "x", std::nullopt, 10, std::nullopt}).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_P(StoreTest, BusinessKeyIsHeldByOneResourceAndReleasedByDelete) {
  const BusinessKey fnr{"Patient", "identifier", "urn:oid:2.16.578.1.12.4.1.4.1|13116900216"};
  Status first = store_->runTransaction(ctx(), [&](WriteTransaction& t) -> Status {
    auto claim = t.claimKey(fnr, "p1");
    if (!claim.isOk()) return claim.status();
    EXPECT_TRUE(claim->claimed);
    return t.create("Patient", {"{}", {}}, "p1").status();
  });
  ASSERT_TRUE(first.isOk()) << first.message();
  Status second = store_->runTransaction(ctx(), [&](WriteTransaction& t) -> Status {
    auto claim = t.claimKey(fnr, "p2");
    if (!claim.isOk()) return claim.status();
    EXPECT_FALSE(claim->claimed);
    EXPECT_EQ(claim->owner_id, "p1");
    auto own = t.claimKey(fnr, "p1");  // claiming one's own key again is fine
    EXPECT_TRUE(own.isOk() && own->claimed);
    return Status::ok();
  });
  ASSERT_TRUE(second.isOk());
  EXPECT_EQ(store_->findKeyOwner(fnr)->value_or(""), "p1");
  write([](WriteTransaction& t) { return t.remove("Patient", "p1"); });
  EXPECT_FALSE(store_->findKeyOwner(fnr)->has_value());
}

TEST_P(StoreTest, ReleaseKeyHeldByFreesOnlyTheHoldersKey) {
  const BusinessKey fnr{"Patient", "person-number", "13116900216"};
  auto run = [&](const std::function<Status(WriteTransaction&)>& body) {
    Status s = store_->runTransaction(ctx(), body);
    EXPECT_TRUE(s.isOk()) << s.message();
  };
  run([&](WriteTransaction& t) -> Status {
    auto claim = t.claimKey(fnr, "p1");
    if (!claim.isOk()) return claim.status();
    return t.create("Patient", {"{}", {}}, "p1").status();
  });
  // Another resource cannot free p1's key.
  run([&](WriteTransaction& t) { return t.releaseKeyHeldBy(fnr, "p2"); });
  EXPECT_EQ(store_->findKeyOwner(fnr)->value_or(""), "p1");
  // The holder can.
  run([&](WriteTransaction& t) { return t.releaseKeyHeldBy(fnr, "p1"); });
  EXPECT_FALSE(store_->findKeyOwner(fnr)->has_value());
  // Not held at all: ok, nothing changes.
  run([&](WriteTransaction& t) { return t.releaseKeyHeldBy(fnr, "p1"); });
  EXPECT_FALSE(store_->findKeyOwner(fnr)->has_value());
}

// Inside a transaction the key's holder is as the transaction sees it: its own claims and releases included.
TEST_P(StoreTest, AKeysHolderIsFoundInsideTheTransactionAsItSeesIt) {
  const BusinessKey fnr{"Patient", "person-number", "13116900216"};
  auto holder = [](WriteTransaction& t, const BusinessKey& k) {
    auto owner = t.findKeyOwner(k);
    EXPECT_TRUE(owner.isOk()) << owner.status().message();
    return owner.isOk() ? owner->value_or("(none)") : std::string("(error)");
  };
  Status s = store_->runTransaction(ctx(), [&](WriteTransaction& t) -> Status {
    EXPECT_EQ(holder(t, fnr), "(none)");
    auto claim = t.claimKey(fnr, "p1");
    if (!claim.isOk()) return claim.status();
    EXPECT_EQ(holder(t, fnr), "p1") << "its own claim";
    return t.create("Patient", {"{}", {}}, "p1").status();
  });
  ASSERT_TRUE(s.isOk()) << s.message();
  s = store_->runTransaction(ctx(), [&](WriteTransaction& t) -> Status {
    EXPECT_EQ(holder(t, fnr), "p1") << "committed before";
    EXPECT_EQ(holder(t, BusinessKey{"Patient", "person-number", "00000000000"}), "(none)");
    EXPECT_EQ(holder(t, BusinessKey{"Practitioner", "person-number", "13116900216"}), "(none)") << "another type";
    RETURN_IF_ERROR(t.releaseKeyHeldBy(fnr, "p1"));
    EXPECT_EQ(holder(t, fnr), "(none)") << "its own release";
    return Status::ok();
  });
  ASSERT_TRUE(s.isOk()) << s.message();
}

// The bar of issue 3: 20 concurrent identical conditional creates make exactly one resource.
TEST_P(StoreTest, TwentyConcurrentConditionalCreatesProduceExactlyOneResource) {
  constexpr int kThreads = 20;
  const BusinessKey key{"Patient", "if-none-exist", "identifier=urn:oid:2.16.578.1.12.4.1.4.1|13116900216"};
  std::vector<std::string> results(kThreads);
  std::vector<Status> statuses(kThreads);
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      ready.fetch_add(1);
      while (ready.load() < kThreads) std::this_thread::yield();  // start together; ends once all have started
      const std::string my_id = "cand-" + std::to_string(i);
      statuses[i] = store_->runTransaction(ctx(), [&](WriteTransaction& t) -> Status {
        auto claim = t.claimKey(key, my_id);
        if (!claim.isOk()) return claim.status();
        if (claim->claimed) RETURN_IF_ERROR(t.create("Patient", {patientJson(), {}}, my_id).status());
        results[i] = claim->owner_id;
        return Status::ok();
      });
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kThreads; ++i) EXPECT_TRUE(statuses[i].isOk()) << i << ": " << statuses[i].message();
  std::set<std::string> owners(results.begin(), results.end());
  ASSERT_EQ(owners.size(), 1u);
  auto type = store_->history({"Patient", std::nullopt, std::nullopt, 100, std::nullopt});
  ASSERT_TRUE(type.isOk());
  ASSERT_EQ(type->entries.size(), 1u);
  EXPECT_EQ(type->entries[0].id, *owners.begin());
  EXPECT_EQ(outbox().size(), 1u);
}

TEST_P(StoreTest, ConcurrentUpdatesOfOneResourceLoseNoVersion) {
  constexpr int kThreads = 6;
  constexpr int kUpdatesEach = 10;
  write([](WriteTransaction& t) { return t.create("CarePlan", {"{}", {}}, "shared"); });
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      for (int k = 0; k < kUpdatesEach; ++k) {
        const std::string body = "{\"t\":" + std::to_string(i) + ",\"k\":" + std::to_string(k) + "}";
        Status s = store_->runTransaction(ctx(), [&](WriteTransaction& t) {
          return t.update("CarePlan", "shared", {body, {}}).status();
        });
        if (!s.isOk()) failures.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  auto current = store_->read("CarePlan", "shared");
  ASSERT_TRUE(current.isOk());
  EXPECT_EQ(current->version, 1 + kThreads * kUpdatesEach);
  EXPECT_EQ(outbox().size(), static_cast<size_t>(1 + kThreads * kUpdatesEach));
}

// Concurrent writers share commits (SQLite group commit); a failing writer must not take the others with it.
TEST_P(StoreTest, ConcurrentFailingTransactionsDoNotUndoOthersCommittedWrites) {
  constexpr int kThreads = 12;
  std::vector<Status> statuses(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      statuses[i] = store_->runTransaction(ctx(), [&](WriteTransaction& t) -> Status {
        const std::string id = "w" + std::to_string(i);
        RETURN_IF_ERROR(t.create("Goal", {"{}", {}}, id).status());
        if (i % 2 == 1) return t.update("Goal", id, {"{\"x\":1}", {}}, 9).status();  // stale If-Match
        return Status::ok();
      });
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kThreads; ++i) {
    const auto read = store_->read("Goal", "w" + std::to_string(i));
    if (i % 2 == 0) {
      EXPECT_TRUE(statuses[i].isOk()) << statuses[i].message();
      EXPECT_TRUE(read.isOk()) << i;
    } else {
      EXPECT_EQ(statuses[i].code(), StatusCode::kFailedPrecondition);
      EXPECT_EQ(read.status().code(), StatusCode::kNotFound) << i;
    }
  }
  EXPECT_EQ(outbox().size(), static_cast<size_t>(kThreads / 2));
}

// The same with failing writers that change far more pages than SQLite keeps of a savepoint's undo log by default
// (64 KiB; the group-commit writer keeps it all in memory): rolling back that much must still leave exactly the
// others' writes.
TEST_P(StoreTest, ConcurrentLargeFailingTransactionsRollBackAllTheirPagesAndKeepOthersWrites) {
  constexpr int kThreads = 8;
  constexpr int kResourcesEach = 40;
  const std::string big = "{\"text\":\"" + std::string(4000, 'x') + "\"}";  // about one page per version
  std::vector<Status> statuses(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      statuses[i] = store_->runTransaction(ctx(), [&](WriteTransaction& t) -> Status {
        for (int k = 0; k < kResourcesEach; ++k) {
          RETURN_IF_ERROR(t.create("Goal", {big, {}}, "big" + std::to_string(i) + "-" + std::to_string(k)).status());
        }
        if (i % 2 == 1) return t.update("Goal", "big" + std::to_string(i) + "-0", {big, {}}, 9).status();
        return Status::ok();
      });
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kThreads; ++i) {
    for (int k = 0; k < kResourcesEach; ++k) {
      const auto read = store_->read("Goal", "big" + std::to_string(i) + "-" + std::to_string(k));
      if (i % 2 == 0) {
        ASSERT_TRUE(read.isOk()) << i << "-" << k << ": " << read.status().message();
        EXPECT_EQ(read->json, big) << i << "-" << k;
      } else {
        EXPECT_EQ(read.status().code(), StatusCode::kNotFound) << i << "-" << k;
      }
    }
    if (i % 2 == 0) {
      EXPECT_TRUE(statuses[i].isOk()) << statuses[i].message();
    } else {
      EXPECT_EQ(statuses[i].code(), StatusCode::kFailedPrecondition);
    }
  }
  EXPECT_EQ(outbox().size(), static_cast<size_t>(kThreads / 2 * kResourcesEach));
}

// A dispatcher polling while writers commit must see every event once, never skip one that commits late.
TEST_P(StoreTest, OutboxReaderPollingDuringConcurrentWritesSeesEveryEventOnceInOrder) {
  constexpr int kWriters = 4;
  constexpr int kWritesEach = 40;
  std::atomic<int> writers_done{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&] {
      for (int i = 0; i < kWritesEach; ++i) {
        Status s = store_->runTransaction(ctx(), [](WriteTransaction& t) { return t.create("Goal", {"{}", {}}).status(); });
        EXPECT_TRUE(s.isOk()) << s.message();
      }
      writers_done.fetch_add(1);
    });
  }
  std::vector<int64_t> seen;
  int64_t last = 0;
  // Bounded: stops once the writers are done and a read returns nothing, or after many polls.
  for (int poll = 0; poll < 100000; ++poll) {
    const bool finished = writers_done.load() == kWriters;
    auto batch = store_->readOutbox(last, 7);
    ASSERT_TRUE(batch.isOk()) << batch.status().message();
    for (const OutboxEvent& e : *batch) {
      EXPECT_GT(e.position, last);
      last = e.position;
      seen.push_back(e.position);
    }
    if (finished && batch->empty()) break;
  }
  for (auto& t : writers) t.join();
  std::vector<int64_t> all;
  for (const OutboxEvent& e : outbox()) all.push_back(e.position);
  EXPECT_EQ(all.size(), static_cast<size_t>(kWriters * kWritesEach));
  EXPECT_EQ(seen, all);
}

// A transaction held open must not block other writers forever: they give up with kUnavailable.
TEST_P(StoreTest, WriterWaitingBehindAnOpenTransactionGivesUpAfterTheAcquireTimeout) {
  auto small_or = open(1, std::chrono::milliseconds(50));
  ASSERT_TRUE(small_or.isOk()) << small_or.status().message();
  std::unique_ptr<ResourceStore> small = std::move(small_or).value();
  auto held = small->begin(ctx());
  ASSERT_TRUE(held.isOk());
  ASSERT_TRUE((*held)->create("Patient", {"{}", {}}, "held").isOk());
  std::optional<Status> second;
  std::thread other([&] {
    auto txn = small->begin(ctx());
    second = txn.isOk() ? Status::ok() : txn.status();
  });
  other.join();
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->code(), StatusCode::kUnavailable);
  EXPECT_TRUE((*held)->commit().isOk());
  EXPECT_TRUE(small->read("Patient", "held").isOk());
}

// Two store instances on one database: two gateway processes behind a load balancer.
TEST_P(StoreTest, TwoStoreInstancesSeeEachOthersWritesAndStaleVersionFailsFromEither) {
  auto other_or = open(2);
  ASSERT_TRUE(other_or.isOk()) << other_or.status().message();
  std::unique_ptr<ResourceStore> other = std::move(other_or).value();

  WriteResult c = write([](WriteTransaction& t) { return t.create("CarePlan", {"{\"v\":1}", {}}); });
  auto seen = other->read("CarePlan", c.id);
  ASSERT_TRUE(seen.isOk()) << seen.status().message();
  EXPECT_EQ(seen->version, 1);

  // `other` updates from version 1; `store_` still believes in version 1.
  write([&](WriteTransaction& t) { return t.update("CarePlan", c.id, {"{\"v\":2}", {}}, 1); }, other.get());
  EXPECT_EQ(store_->read("CarePlan", c.id)->version, 2);
  Status stale = store_->runTransaction(ctx(), [&](WriteTransaction& t) {
    return t.update("CarePlan", c.id, {"{\"v\":3}", {}}, 1).status();
  });
  EXPECT_EQ(stale.code(), StatusCode::kFailedPrecondition);
  write([&](WriteTransaction& t) { return t.update("CarePlan", c.id, {"{\"v\":3}", {}}, 2); });
  Status stale_other = other->runTransaction(ctx(), [&](WriteTransaction& t) {
    return t.update("CarePlan", c.id, {"{\"v\":4}", {}}, 2).status();
  });
  EXPECT_EQ(stale_other.code(), StatusCode::kFailedPrecondition);
  auto events = other->readOutbox(0, 100);
  ASSERT_TRUE(events.isOk());
  EXPECT_EQ(events->size(), 3u);
}

TEST_P(StoreTest, AServerSecretIsMadeOnceAndSharedByEveryStoreOnTheDatabase) {
  auto other = open();
  ASSERT_TRUE(other.isOk()) << other.status().message();
  // Both "nodes" ask at once, several times each: all answers are one secret of the promised size.
  std::vector<std::string> seen(8);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < seen.size(); ++i) {
    threads.emplace_back([&, i] {
      ResourceStore& s = i % 2 ? **other : *store_;
      auto r = s.serverSecret("page-token");
      seen[i] = r.isOk() ? *r : "error: " + r.status().message();
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& s : seen) EXPECT_EQ(s, seen[0]);
  EXPECT_EQ(seen[0].size(), kServerSecretSize);
  auto again = store_->serverSecret("page-token");
  ASSERT_TRUE(again.isOk());
  EXPECT_EQ(*again, seen[0]);
  auto another = store_->serverSecret("another-purpose");
  ASSERT_TRUE(another.isOk());
  EXPECT_NE(*another, seen[0]);
}

TEST_P(StoreTest, AddIndexGivesAFirstVersionItsRowsAndReplaceIndexSwapsThem) {
  auto gender = [](const std::string& code) {
    return IndexQuery{"Patient", {{IndexPredicate{"gender", IndexValueKind::kToken, IndexPredicate::Match::kExact,
                                                  false, std::nullopt, code}}}};
  };
  ASSERT_TRUE(store_->runTransaction(ctx(), [](WriteTransaction& t) -> Status {
                      RETURN_IF_ERROR(t.create("Patient", {patientJson(), {}}, "fresh").status());
                      return t.addIndex("Patient", "fresh", {{"gender", IndexValueKind::kToken, "", "", "female"}});
                    }).isOk());
  EXPECT_EQ(store_->searchIndex(gender("female"))->ids, std::vector<std::string>{"fresh"});
  ASSERT_TRUE(store_->runTransaction(ctx(), [](WriteTransaction& t) -> Status {
                      return t.replaceIndex("Patient", "fresh", {{"gender", IndexValueKind::kToken, "", "", "other"}});
                    }).isOk());
  EXPECT_TRUE(store_->searchIndex(gender("female"))->ids.empty());
  EXPECT_EQ(store_->searchIndex(gender("other"))->ids, std::vector<std::string>{"fresh"});
  Status bad = store_->runTransaction(ctx(), [](WriteTransaction& t) -> Status {
    return t.addIndex("Patient", "fresh", {{"", IndexValueKind::kToken, "", "", "x"}});
  });
  EXPECT_EQ(bad.code(), StatusCode::kInvalidArgument);
}

// A transaction inserts the index rows it is given together (several resources' rows per statement, at commit or
// when enough are waiting): what a search sees afterwards is what each call asked for, in every order of calls.
TEST_P(StoreTest, IndexRowsHeldByATransactionLandAsEachCallAsked) {
  auto with = [](const std::string& param, const std::string& code) {
    return IndexQuery{"Patient", {{IndexPredicate{param, IndexValueKind::kToken, IndexPredicate::Match::kExact, false,
                                                  std::nullopt, code}}}};
  };
  auto ids = [&](const std::string& param, const std::string& code) {
    auto page = store_->searchIndex(with(param, code));
    EXPECT_TRUE(page.isOk()) << page.status().message();
    return page.isOk() ? page->ids : std::vector<std::string>{};
  };
  // Two resources' rows, then the first's replaced and a third created and deleted, all in one transaction.
  ASSERT_TRUE(store_->runTransaction(ctx(), [](WriteTransaction& t) -> Status {
                      for (const char* id : {"held-a", "held-b", "held-c"}) {
                        RETURN_IF_ERROR(t.create("Patient", {patientJson(), {}}, std::string_view(id)).status());
                        RETURN_IF_ERROR(t.addIndex("Patient", id, {{"gender", IndexValueKind::kToken, "", "", "female"},
                                                                   {"tag", IndexValueKind::kToken, "", "", id}}));
                      }
                      RETURN_IF_ERROR(t.replaceIndex("Patient", "held-a", {{"gender", IndexValueKind::kToken, "", "", "male"}}));
                      return t.remove("Patient", "held-c").status();
                    }).isOk());
  EXPECT_EQ(ids("gender", "female"), std::vector<std::string>{"held-b"});
  EXPECT_EQ(ids("gender", "male"), std::vector<std::string>{"held-a"});
  EXPECT_TRUE(ids("tag", "held-a").empty()) << "replaced in the same transaction";
  EXPECT_EQ(ids("tag", "held-b"), std::vector<std::string>{"held-b"});
  EXPECT_TRUE(ids("tag", "held-c").empty()) << "deleted in the same transaction";
  // More rows than a transaction holds before inserting some (and than one statement takes): every one lands.
  constexpr int kResources = 40;
  constexpr int kRowsEach = 9;
  ASSERT_TRUE(store_->runTransaction(ctx(), [&](WriteTransaction& t) -> Status {
                      for (int i = 0; i < kResources; ++i) {
                        const std::string id = "many-" + std::to_string(i);
                        RETURN_IF_ERROR(t.create("Patient", {patientJson(), {}}, std::string_view(id)).status());
                        std::vector<IndexRow> rows;
                        for (int j = 0; j < kRowsEach; ++j) {
                          rows.push_back({"row" + std::to_string(j), IndexValueKind::kToken, "", "", "many"});
                        }
                        RETURN_IF_ERROR(t.addIndex("Patient", id, rows));
                      }
                      return Status::ok();
                    }).isOk());
  for (int j = 0; j < kRowsEach; ++j) {
    EXPECT_EQ(ids("row" + std::to_string(j), "many").size(), static_cast<size_t>(kResources)) << j;
  }
  // A transaction that fails after adding rows leaves none of them.
  Status failed = store_->runTransaction(ctx(), [](WriteTransaction& t) -> Status {
    RETURN_IF_ERROR(t.create("Patient", {patientJson(), {}}, std::string_view("rolled-back")).status());
    RETURN_IF_ERROR(t.addIndex("Patient", "rolled-back", {{"gender", IndexValueKind::kToken, "", "", "unknown"}}));
    return Status(StatusCode::kFailedPrecondition, "the caller gives up");
  });
  EXPECT_EQ(failed.code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(ids("gender", "unknown").empty());
  EXPECT_EQ(store_->read("Patient", "rolled-back").status().code(), StatusCode::kNotFound);
}

// A transaction reads its own writes at every step (index rows it holds change nothing there), and what commits is
// every version in order.
TEST_P(StoreTest, ATransactionReadsItsOwnVersionsAndAllOfThemCommit) {
  ASSERT_TRUE(store_->runTransaction(ctx(), [](WriteTransaction& t) -> Status {
                      RETURN_IF_ERROR(t.create("Patient", {"{\"v\":1}", {}}, std::string_view("own-a")).status());
                      RETURN_IF_ERROR(t.create("Patient", {"{\"v\":\"b\"}", {}}, std::string_view("own-b")).status());
                      ASSIGN_OR_RETURN(ResourceVersion a1, t.read("Patient", "own-a"));
                      if (a1.json != "{\"v\":1}" || a1.version != 1) return internalError("own-a v1: " + a1.json);
                      RETURN_IF_ERROR(t.update("Patient", "own-a", {"{\"v\":2}", {}}).status());
                      ASSIGN_OR_RETURN(ResourceVersion a2, t.readForUpdate("Patient", "own-a"));
                      if (a2.json != "{\"v\":2}" || a2.version != 2) return internalError("own-a v2: " + a2.json);
                      RETURN_IF_ERROR(t.remove("Patient", "own-b").status());
                      if (t.read("Patient", "own-b").status().code() != StatusCode::kGone) {
                        return internalError("own-b is not gone inside the transaction");
                      }
                      // Many versions of one resource in one transaction.
                      for (int i = 0; i < 40; ++i) {
                        RETURN_IF_ERROR(t.update("Patient", "own-a", {"{\"v\":" + std::to_string(3 + i) + "}", {}}).status());
                      }
                      return Status::ok();
                    }).isOk());
  EXPECT_EQ(store_->read("Patient", "own-a")->version, 42);
  EXPECT_EQ(store_->read("Patient", "own-a")->json, "{\"v\":42}");
  for (int64_t v = 1; v <= 42; ++v) {
    auto got = store_->vread("Patient", "own-a", v);
    ASSERT_TRUE(got.isOk()) << v << ": " << got.status().message();
    EXPECT_EQ(got->json, "{\"v\":" + std::to_string(v) + "}") << v;
  }
  EXPECT_EQ(store_->vread("Patient", "own-b", 1)->json, "{\"v\":\"b\"}");
  EXPECT_EQ(store_->vread("Patient", "own-b", 2).status().code(), StatusCode::kGone);
  EXPECT_EQ(outbox().size(), 44u);  // 2 creates, 41 updates, 1 delete
  // Rolled back: no version of it remains.
  Status failed = store_->runTransaction(ctx(), [](WriteTransaction& t) -> Status {
    RETURN_IF_ERROR(t.create("Patient", {"{}", {}}, std::string_view("own-gone")).status());
    return Status(StatusCode::kFailedPrecondition, "the caller gives up");
  });
  EXPECT_EQ(failed.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->vread("Patient", "own-gone", 1).status().code(), StatusCode::kNotFound);
}

TEST_P(StoreTest, ReopeningTheStoreKeepsResourcesHistoryKeysIndexAndOutbox) {
  WriteResult c = write([](WriteTransaction& t) { return t.create("Patient", {patientJson(), {}}, "keep"); });
  write([](WriteTransaction& t) { return t.update("Patient", "keep", {"{\"v\":2}", {}}); });
  ASSERT_TRUE(store_->runTransaction(ctx(), [](WriteTransaction& t) -> Status {
                      RETURN_IF_ERROR(t.claimKey({"Patient", "identifier", "x|1"}, "keep").status());
                      return t.replaceIndex("Patient", "keep", {{"gender", IndexValueKind::kToken, "", "", "male"}});
                    }).isOk());
  store_.reset();
  auto reopened = open();
  ASSERT_TRUE(reopened.isOk()) << reopened.status().message();
  store_ = std::move(reopened).value();
  EXPECT_EQ(store_->read("Patient", "keep")->version, 2);
  EXPECT_EQ(store_->vread("Patient", "keep", 1)->json, patientJson());
  EXPECT_EQ(store_->findKeyOwner({"Patient", "identifier", "x|1"})->value_or(""), "keep");
  IndexQuery q{"Patient", {{IndexPredicate{"gender", IndexValueKind::kToken, IndexPredicate::Match::kExact, false,
                            std::nullopt, "male"}}}};
  EXPECT_EQ(store_->searchIndex(q)->ids, std::vector<std::string>{"keep"});
  EXPECT_EQ(outbox().size(), 2u);
  EXPECT_EQ(c.version, 1);
}

class IndexSearchTest : public StoreTest {
 protected:
  void index(const std::string& type, const std::string& id, std::vector<IndexRow> rows) {
    Status s = store_->runTransaction(ctx(), [&](WriteTransaction& t) -> Status {
      RETURN_IF_ERROR(t.update(type, id, {"{\"id\":\"" + id + "\"}", {}}).status());
      return t.replaceIndex(type, id, rows);
    });
    ASSERT_TRUE(s.isOk()) << s.message();
  }

  std::vector<std::string> find(std::vector<std::vector<IndexPredicate>> all_of, size_t count = 100) {
    IndexQuery q;
    q.type = "CarePlan";
    q.all_of = std::move(all_of);
    q.count = count;
    auto page = store_->searchIndex(q);
    EXPECT_TRUE(page.isOk()) << page.status().message();
    return page.isOk() ? page->ids : std::vector<std::string>{};
  }

  static IndexRow token(std::string param, std::string system, std::string code) {
    IndexRow r;
    r.param = std::move(param);
    r.kind = IndexValueKind::kToken;
    r.system = std::move(system);
    r.code = std::move(code);
    return r;
  }
  static IndexRow reference(std::string param, std::string type, std::string id) {
    IndexRow r;
    r.param = std::move(param);
    r.kind = IndexValueKind::kReference;
    r.ref_type = std::move(type);
    r.ref_id = std::move(id);
    return r;
  }
  static IndexRow text(std::string param, std::string value) {
    IndexRow r;
    r.param = std::move(param);
    r.kind = IndexValueKind::kString;
    r.text = std::move(value);
    return r;
  }
  static IndexRow date(std::string param, int64_t low, int64_t high) {
    IndexRow r;
    r.param = std::move(param);
    r.kind = IndexValueKind::kDate;
    r.date_low = low;
    r.date_high = high;
    return r;
  }
  static IndexPredicate tokenIs(std::string param, std::optional<std::string> system, std::optional<std::string> code) {
    IndexPredicate p;
    p.param = std::move(param);
    p.kind = IndexValueKind::kToken;
    p.system = std::move(system);
    p.code = std::move(code);
    return p;
  }

  void SetUp() override {
    StoreTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    const std::string sct = "http://snomed.info/sct";
    index("CarePlan", "a", {token("status", "http://hl7.org/fhir/request-status", "active"),
                            reference("subject", "Patient", "p1"), text("title", "individuell plan 100%"),
                            date("period", 100, 200)});
    index("CarePlan", "b", {token("status", "http://hl7.org/fhir/request-status", "completed"),
                            reference("subject", "Patient", "p1"), text("title", "rehabilitering"),
                            date("period", 150, 400), token("category", sct, "734163000")});
    index("CarePlan", "c", {token("status", "http://hl7.org/fhir/request-status", "active"),
                            reference("subject", "Patient", "p2"), text("title", "plan_b"), date("period", 500, 600)});
    index("Goal", "g", {token("status", "", "active")});
  }
};

TEST_P(IndexSearchTest, TokenAndReferencePredicatesCombineWithAnd) {
  EXPECT_EQ(find({{tokenIs("status", std::nullopt, "active")}}), (std::vector<std::string>{"a", "c"}));
  IndexPredicate subject;
  subject.param = "subject";
  subject.kind = IndexValueKind::kReference;
  subject.ref_type = "Patient";
  subject.ref_id = "p1";
  EXPECT_EQ(find({{tokenIs("status", std::nullopt, "active")}, {subject}}), std::vector<std::string>{"a"});
  EXPECT_EQ(find({{tokenIs("status", "http://hl7.org/fhir/request-status", "active")}}),
            (std::vector<std::string>{"a", "c"}));
  EXPECT_TRUE(find({{tokenIs("status", "", "active")}}).empty());  // |code: only rows without a system
  EXPECT_EQ(find({{tokenIs("category", "http://snomed.info/sct", std::nullopt)}}), std::vector<std::string>{"b"});
}

TEST_P(IndexSearchTest, OrGroupsNegationAndStringMatches) {
  EXPECT_EQ(find({{tokenIs("status", std::nullopt, "completed"), tokenIs("status", std::nullopt, "active")}}),
            (std::vector<std::string>{"a", "b", "c"}));
  IndexPredicate not_active = tokenIs("status", std::nullopt, "active");
  not_active.negate = true;
  EXPECT_EQ(find({{not_active}}), std::vector<std::string>{"b"});
  IndexPredicate title;
  title.param = "title";
  title.kind = IndexValueKind::kString;
  title.match = IndexPredicate::Match::kPrefix;
  title.text = "plan";
  EXPECT_EQ(find({{title}}), std::vector<std::string>{"c"});
  title.match = IndexPredicate::Match::kContains;
  EXPECT_EQ(find({{title}}), (std::vector<std::string>{"a", "c"}));
  title.text = "100%";  // LIKE wildcards in the value are matched literally
  EXPECT_EQ(find({{title}}), std::vector<std::string>{"a"});
  title.text = "n_b";
  EXPECT_EQ(find({{title}}), std::vector<std::string>{"c"});
  title.match = IndexPredicate::Match::kExact;
  title.text = "rehabilitering";
  EXPECT_EQ(find({{title}}), std::vector<std::string>{"b"});
}

TEST_P(IndexSearchTest, AMatchWithSeveralMatchingRowsIsListedOnceAndPagesStayInIdOrder) {
  // "d" has two identifiers with one code: the query starts from the index and must not list it twice.
  for (const char* id : {"f", "d", "e"}) {
    index("CarePlan", id, {token("identifier", "urn:x", "dup"), token("identifier", "urn:y", "dup"),
                           token("status", "http://hl7.org/fhir/request-status", std::string(id) == "e" ? "draft" : "active")});
  }
  EXPECT_EQ(find({{tokenIs("identifier", std::nullopt, "dup")}}), (std::vector<std::string>{"d", "e", "f"}));
  EXPECT_EQ(find({{tokenIs("identifier", std::nullopt, "dup")}, {tokenIs("status", std::nullopt, "active")}}),
            (std::vector<std::string>{"d", "f"}));
  IndexQuery q;
  q.type = "CarePlan";
  q.all_of = {{tokenIs("identifier", std::nullopt, "dup")}};
  q.count = 1;
  std::vector<std::string> paged;
  for (int i = 0; i < 5; ++i) {
    auto page = store_->searchIndex(q);
    ASSERT_TRUE(page.isOk()) << page.status().message();
    paged.insert(paged.end(), page->ids.begin(), page->ids.end());
    if (!page->next_after_id) break;
    q.after_id = page->next_after_id;
  }
  EXPECT_EQ(paged, (std::vector<std::string>{"d", "e", "f"}));
}

TEST_P(IndexSearchTest, PrefixMatchesAreByteExactOnBothEngines) {
  index("CarePlan", "u", {text("title", "Plan"), text("title", "planlegging\xc3\xa6")});
  IndexPredicate title;
  title.param = "title";
  title.kind = IndexValueKind::kString;
  title.match = IndexPredicate::Match::kPrefix;
  title.text = "plan";
  EXPECT_EQ(find({{title}}), (std::vector<std::string>{"c", "u"}));  // "Plan" does not start with "plan"
  title.text = "planlegging\xc3\xa6";
  EXPECT_EQ(find({{title}}), std::vector<std::string>{"u"});
  title.text = "Pla";
  EXPECT_EQ(find({{title}}), std::vector<std::string>{"u"});
}

TEST_P(IndexSearchTest, DateBoundsSelectOverlappingAndContainedPeriods) {
  IndexPredicate within;
  within.param = "period";
  within.kind = IndexValueKind::kDate;
  within.low_ge = 90;
  within.high_le = 250;  // eq [90, 250]: the period lies inside
  EXPECT_EQ(find({{within}}), std::vector<std::string>{"a"});
  IndexPredicate after;
  after.param = "period";
  after.kind = IndexValueKind::kDate;
  after.high_ge = 300;  // gt 299
  EXPECT_EQ(find({{after}}), (std::vector<std::string>{"b", "c"}));
}

TEST_P(IndexSearchTest, PagesByIdAndDropsDeletedAndReplacedRows) {
  auto page1 = find({{tokenIs("status", std::nullopt, std::nullopt)}}, 2);
  EXPECT_EQ(page1, (std::vector<std::string>{"a", "b"}));
  IndexQuery q;
  q.type = "CarePlan";
  q.all_of = {{tokenIs("status", std::nullopt, std::nullopt)}};
  q.count = 2;
  auto p = store_->searchIndex(q);
  ASSERT_TRUE(p.isOk());
  ASSERT_TRUE(p->next_after_id.has_value());
  q.after_id = p->next_after_id;
  auto p2 = store_->searchIndex(q);
  ASSERT_TRUE(p2.isOk());
  EXPECT_EQ(p2->ids, std::vector<std::string>{"c"});
  EXPECT_FALSE(p2->next_after_id.has_value());

  write([](WriteTransaction& t) { return t.remove("CarePlan", "a"); });
  index("CarePlan", "c", {token("status", "", "revoked")});
  EXPECT_EQ(find({{tokenIs("status", std::nullopt, "active")}}), std::vector<std::string>{});
  EXPECT_EQ(find({{tokenIs("status", std::nullopt, "revoked")}}), std::vector<std::string>{"c"});
}

// Not parameterised: only PostgreSQL has a server that can drop connections under the store.
// ---- OR lists, statement caches, NUL and LIKE escaping (issue 8) -------------------------------------------------

// One index row set per CarePlan "n<i>": status, subject Patient/p<i % 50>.
void indexPlans(ResourceStore& store, int first, int last) {
  Status s = store.runTransaction({"t", "t"}, [&](WriteTransaction& t) -> Status {
    for (int i = first; i < last; ++i) {
      const std::string id = "n" + std::to_string(i);
      RETURN_IF_ERROR(t.update("CarePlan", id, {"{\"id\":\"" + id + "\"}", {}}).status());
      IndexRow status{"status", IndexValueKind::kToken, "", "http://hl7.org/fhir/request-status", "active"};
      IndexRow subject;
      subject.param = "subject";
      subject.kind = IndexValueKind::kReference;
      subject.ref_type = "Patient";
      subject.ref_id = "p" + std::to_string(i % 50);
      IndexRow own_id{"_id", IndexValueKind::kToken, "", "", id};
      RETURN_IF_ERROR(t.replaceIndex("CarePlan", id, {status, subject, own_id}));
    }
    return Status::ok();
  });
  ASSERT_TRUE(s.isOk()) << s.message();
}

std::vector<IndexPredicate> idList(int values, int offset = 0) {
  std::vector<IndexPredicate> group;
  for (int i = 0; i < values; ++i) {
    IndexPredicate p;
    p.param = "_id";
    p.kind = IndexValueKind::kToken;
    p.code = "n" + std::to_string(offset + i * 3);
    group.push_back(std::move(p));
  }
  return group;
}

TEST_P(IndexSearchTest, AnOrListIsOneIndexLookupWhateverItsLengthAndTheStoreSize) {
  indexPlans(*store_, 0, 300);
  IndexQuery q;
  q.type = "CarePlan";
  q.count = 1000;
  q.all_of = {idList(100)};
  auto small_store = store_->searchIndex(q);
  ASSERT_TRUE(small_store.isOk()) << small_store.status().message();
  EXPECT_EQ(small_store->ids.size(), 100u);
  // Three times the resources: an index-driven lookup does the same work; a walk over the type (one correlated
  // subquery per value and resource, as before) would do three times as much.
  indexPlans(*store_, 300, 900);
  auto large_store = store_->searchIndex(q);
  ASSERT_TRUE(large_store.isOk());
  EXPECT_EQ(large_store->ids, small_store->ids);
  if (GetParam() == Engine::kSqlite) {
    ASSERT_GT(small_store->engine_steps, 0);
    EXPECT_LT(large_store->engine_steps, small_store->engine_steps * 3 / 2)
        << small_store->engine_steps << " steps over 300 plans, " << large_store->engine_steps << " over 900";
    // And four times the values cost about four times the work (n log n), not sixteen.
    q.all_of = {idList(400)};
    auto four_times = store_->searchIndex(q);
    ASSERT_TRUE(four_times.isOk());
    EXPECT_EQ(four_times->ids.size(), 300u);  // n0, n3, ..., n897
    EXPECT_LT(four_times->engine_steps, large_store->engine_steps * 6);
  }
  // Lists of references (chains, _revinclude), with a type and without, and of mixed shapes in one group.
  IndexPredicate p7;
  p7.param = "subject";
  p7.kind = IndexValueKind::kReference;
  p7.ref_type = "Patient";
  p7.ref_id = "p7";
  IndexPredicate p8 = p7;
  p8.ref_id = "p8";
  IndexPredicate untyped = p7;
  untyped.ref_type.reset();
  untyped.ref_id = "p9";
  IndexPredicate untyped2 = untyped;
  untyped2.ref_id = "p10";
  q.all_of = {{p7, p8, untyped, untyped2}};
  auto refs = store_->searchIndex(q);
  ASSERT_TRUE(refs.isOk()) << refs.status().message();
  EXPECT_EQ(refs->ids.size(), 4u * 18);  // 900 plans over 50 patients
  // A list that does not drive (another group does) still filters correctly.
  q.all_of = {{p7}, idList(300)};
  auto both = store_->searchIndex(q);
  ASSERT_TRUE(both.isOk());
  for (const std::string& id : both->ids) EXPECT_EQ(std::stoi(id.substr(1)) % 50, 7) << id;
  EXPECT_EQ(both->ids.size(), 6u);  // ids divisible by 3 among 7, 57, 107, ... below 900
}

TEST_P(IndexSearchTest, AQueryPastItsEngineStepBudgetStopsWithInvalidArgumentOnSqlite) {
  indexPlans(*store_, 0, 600);
  IndexPredicate not_done = tokenIs("status", std::nullopt, "completed");
  not_done.negate = true;  // a negation walks every plan
  IndexQuery q;
  q.type = "CarePlan";
  q.count = 1000;
  q.all_of = {{not_done}};
  auto unbounded = store_->searchIndex(q);
  ASSERT_TRUE(unbounded.isOk());
  EXPECT_GE(unbounded->ids.size(), 600u);
  q.max_engine_steps = 5000;
  auto bounded = store_->searchIndex(q);
  if (GetParam() == Engine::kSqlite) {
    ASSERT_GT(unbounded->engine_steps, 5000);
    ASSERT_FALSE(bounded.isOk());
    EXPECT_EQ(bounded.status().code(), StatusCode::kInvalidArgument);
    // The connection is usable afterwards, and the bound is per query.
    q.max_engine_steps = 0;
    EXPECT_TRUE(store_->searchIndex(q).isOk());
  } else {
    EXPECT_TRUE(bounded.isOk());  // not enforced by the store on PostgreSQL
  }
}

TEST_P(IndexSearchTest, SearchSqlDoesNotDependOnListLengthsSoTheStatementCacheStaysSmall) {
  indexPlans(*store_, 0, 60);
  IndexQuery q;
  q.type = "CarePlan";
  q.count = 10;
  q.all_of = {idList(2)};
  ASSERT_TRUE(store_->searchIndex(q).isOk());
  const size_t after_first = store_->cachedStatementBytes();
  for (int n = 3; n <= 400; ++n) {
    q.all_of = {idList(n)};
    ASSERT_TRUE(store_->searchIndex(q).isOk()) << n;
  }
  EXPECT_EQ(store_->cachedStatementBytes(), after_first);
}

TEST_P(IndexSearchTest, StatementCachesAreBoundedByBytesEvenForSqlOfManyShapes) {
  store_.reset();
  std::unique_ptr<ResourceStore> store;
  constexpr size_t kBound = 1024 * 1024;
  if (GetParam() == Engine::kPostgres) {
    PostgresStoreOptions o;
    o.conninfo = pg_url_;
    o.schema = schema_;
    o.pool_size = 1;
    o.statement_cache_bytes = kBound;
    store = std::move(openPostgresStore(o)).value();
  } else {
    SqliteStoreOptions o;
    o.path = (dir_ / "store.db").string();
    o.pool_size = 1;
    o.statement_cache_bytes = kBound;
    store = std::move(openSqliteStore(o)).value();
  }
  // Prefix predicates are not lists: each OR length is a statement of its own.
  size_t largest = 0;
  for (int n = 1; n <= 150; ++n) {
    std::vector<IndexPredicate> group;
    for (int i = 0; i < n; ++i) {
      IndexPredicate p;
      p.param = "title";
      p.kind = IndexValueKind::kString;
      p.match = IndexPredicate::Match::kPrefix;
      p.text = "plan" + std::to_string(i);
      group.push_back(std::move(p));
    }
    IndexQuery q;
    q.type = "CarePlan";
    q.count = 10;
    q.all_of = {std::move(group)};
    ASSERT_TRUE(store->searchIndex(q).isOk()) << n;
    largest = std::max(largest, store->cachedStatementBytes());
  }
  EXPECT_GT(largest, kBound / 2);  // the bound was reached, so eviction ran
  // Unbounded, these 150 statements held about 20 MB (SQLite) / 3 MB (PostgreSQL estimate) per connection. The
  // cache may exceed its bound by the newest statement (the largest here is about 280 KB in SQLite).
  EXPECT_LE(largest, kBound + 320 * 1024);
}

TEST_P(IndexSearchTest, NulInASearchValueIsRejectedAndLikeMetacharactersMatchLiterally) {
  auto contains = [](std::string text) {
    IndexPredicate p;
    p.param = "title";
    p.kind = IndexValueKind::kString;
    p.match = IndexPredicate::Match::kContains;
    p.text = std::move(text);
    return p;
  };
  IndexQuery q;
  q.type = "CarePlan";
  q.all_of = {{contains(std::string("\0x", 2))}};
  auto nul = store_->searchIndex(q);
  ASSERT_FALSE(nul.isOk());
  EXPECT_EQ(nul.status().code(), StatusCode::kInvalidArgument);
  IndexPredicate token = tokenIs("status", std::nullopt, std::string("active\0", 7));
  q.all_of = {{token}};
  EXPECT_EQ(store_->searchIndex(q).status().code(), StatusCode::kInvalidArgument);
  index("CarePlan", "d", {text("title", "back\\slash and bang!")});
  EXPECT_EQ(find({{contains("%")}}), std::vector<std::string>{"a"});
  EXPECT_EQ(find({{contains("_")}}), std::vector<std::string>{"c"});
  EXPECT_EQ(find({{contains("\\")}}), std::vector<std::string>{"d"});
  EXPECT_EQ(find({{contains("!")}}), std::vector<std::string>{"d"});
  EXPECT_TRUE(find({{contains("0%x")}}).empty());
}

// Issue 8: on a fresh store a transaction that needed the page-token secret waited for the writer it held itself.
TEST_P(StoreTest, AServerSecretIsReadWithoutTheWriterEvenInsideAWriteTransaction) {
  store_.reset();
  auto fresh = open(/*pool_size=*/2, /*acquire_timeout=*/std::chrono::milliseconds(200));
  ASSERT_TRUE(fresh.isOk()) << fresh.status().message();
  auto txn = (*fresh)->begin(ctx());
  ASSERT_TRUE(txn.isOk()) << txn.status().message();
  auto secret = (*fresh)->serverSecret("search-page-token");
  ASSERT_TRUE(secret.isOk()) << secret.status().message();
  EXPECT_EQ(secret->size(), kServerSecretSize);
  (*txn)->rollback();
  auto second = open();
  ASSERT_TRUE(second.isOk());
  EXPECT_EQ(*(*second)->serverSecret("search-page-token"), *secret);
  EXPECT_FALSE((*fresh)->serverSecret("planbro:master").isOk()) << "the master secret itself is never handed out";
}

// Schema version 4 (presence rows for `:missing`): a store indexed by version 3 gets them derived at open.
TEST_P(StoreTest, MigrationToVersion4DerivesPresenceRowsFromEachResourcesIndexRows) {
  auto sql = [&](const std::string& text) { return rawSql(text); };
  IndexRow code_text{"code:text", IndexValueKind::kString, "blodsukker"};
  IndexRow subject;
  subject.param = "subject";
  subject.kind = IndexValueKind::kReference;
  subject.ref_type = "Patient";
  subject.ref_id = "p";
  IndexRow old_presence{"subject:present", IndexValueKind::kToken, "", "", "1"};
  IndexRow status{"status", IndexValueKind::kToken, "", "", "final"};
  ASSERT_TRUE(store_->runTransaction(ctx(), [&](WriteTransaction& t) -> Status {
                      RETURN_IF_ERROR(t.create("Observation", {"{}", {}}, std::string_view("o1")).status());
                      RETURN_IF_ERROR(t.create("Observation", {"{}", {}}, std::string_view("o2")).status());
                      RETURN_IF_ERROR(t.addIndex("Observation", "o1", {code_text, subject, old_presence}));
                      return t.addIndex("Observation", "o2", {status});
                    }).isOk());
  store_.reset();
  ASSERT_NE(sql("UPDATE schema_version SET version = 3"), "error");
  dropSchema8Columns();
  auto reopened = open();
  ASSERT_TRUE(reopened.isOk()) << reopened.status().message();
  EXPECT_EQ(sql("SELECT version FROM schema_version"), "8");  // the newest: every later step ran too (8: compartment)
  auto present = [&](const std::string& param) {
    IndexQuery q;
    q.type = "Observation";
    q.all_of = {{IndexPredicate{param + ":present", IndexValueKind::kToken, IndexPredicate::Match::kExact, false,
                                std::nullopt, "1"}}};
    auto page = (*reopened)->searchIndex(q);
    EXPECT_TRUE(page.isOk());
    return page.isOk() ? page->ids : std::vector<std::string>{};
  };
  EXPECT_EQ(present("code"), std::vector<std::string>{"o1"});
  EXPECT_EQ(present("subject"), std::vector<std::string>{"o1"});
  EXPECT_EQ(present("status"), std::vector<std::string>{"o2"});
  EXPECT_EQ(sql("SELECT COUNT(*) FROM search_index WHERE param = 'subject:present'"), "1");
}

// `_id` and `_lastUpdated` are answered from the resource head (schema version 7): their rows are not stored, and
// every form of predicate on them answers as their rows did (token_code = id with no system; date_low = date_high
// = the version's last-updated time).
class HeadParamTest : public StoreTest {
 protected:
  static IndexRow idRow(const std::string& id) { return IndexRow{"_id", IndexValueKind::kToken, "", "", id}; }
  static IndexRow lastUpdatedRow(int64_t micros) {
    IndexRow r{"_lastUpdated", IndexValueKind::kDate};
    r.date_low = r.date_high = micros;
    return r;
  }
  static IndexRow statusRow(const std::string& code) { return IndexRow{"status", IndexValueKind::kToken, "", "", code}; }
  static int64_t micros(Timestamp t) { return t.time_since_epoch().count(); }

  // Writes CarePlan/<id> with the rows the indexer gives it; its last-updated time.
  int64_t put(const std::string& id, const std::string& status) {
    int64_t at = 0;
    Status s = store_->runTransaction(ctx(), [&](WriteTransaction& t) -> Status {
      ASSIGN_OR_RETURN(WriteResult w, t.update("CarePlan", id, {"{\"id\":\"" + id + "\",\"s\":\"" + status + "\"}", {}}));
      at = micros(w.last_updated);
      return t.replaceIndex("CarePlan", id, {idRow(id), lastUpdatedRow(at), statusRow(status)});
    });
    EXPECT_TRUE(s.isOk()) << s.message();
    return at;
  }

  IndexPage page(std::vector<std::vector<IndexPredicate>> all_of, size_t count = 100,
                 std::optional<std::string> after = std::nullopt, ResourceStore* store = nullptr) {
    IndexQuery q;
    q.type = "CarePlan";
    q.all_of = std::move(all_of);
    q.count = count;
    q.after_id = std::move(after);
    auto p = (store ? store : store_.get())->searchIndex(q);
    EXPECT_TRUE(p.isOk()) << p.status().message();
    return p.isOk() ? *p : IndexPage{};
  }
  std::vector<std::string> find(std::vector<std::vector<IndexPredicate>> all_of, ResourceStore* store = nullptr) {
    return page(std::move(all_of), 100, std::nullopt, store).ids;
  }

  static IndexPredicate id(std::string code, std::optional<std::string> system = std::nullopt, bool negate = false) {
    IndexPredicate p;
    p.param = "_id";
    p.kind = IndexValueKind::kToken;
    p.code = std::move(code);
    p.system = std::move(system);
    p.negate = negate;
    return p;
  }
  static IndexPredicate idMissing(bool missing) {
    IndexPredicate p;
    p.param = "_id";
    p.kind = IndexValueKind::kToken;
    p.presence_param = "_id:present";
    p.negate = missing;
    return p;
  }
  static IndexPredicate updated(std::optional<int64_t> high_ge, std::optional<int64_t> low_le) {
    IndexPredicate p;
    p.param = "_lastUpdated";
    p.kind = IndexValueKind::kDate;
    p.high_ge = high_ge;
    p.low_le = low_le;
    return p;
  }
  static IndexPredicate status(const std::string& code) {
    IndexPredicate p;
    p.param = "status";
    p.kind = IndexValueKind::kToken;
    p.code = code;
    return p;
  }
  using Ids = std::vector<std::string>;
};

TEST_P(HeadParamTest, IdAndLastUpdatedAreAnsweredFromTheHeadWithoutIndexRows) {
  const int64_t t1 = put("x1", "active");
  const int64_t t2 = put("x2", "completed");
  const int64_t t3 = put("x3", "active");
  ASSERT_LT(t1, t2);
  ASSERT_LT(t2, t3);
  EXPECT_EQ(rawSql("SELECT COUNT(*) FROM search_index WHERE param LIKE '!_id%' ESCAPE '!' OR param LIKE '!_lastUpdated%' ESCAPE '!'"), "0");
  EXPECT_EQ(rawSql("SELECT COUNT(*) FROM search_index"), "3");  // the status rows

  EXPECT_EQ(find({{id("x2")}}), Ids{"x2"});
  EXPECT_EQ(find({{id("x1"), id("x3")}}), (Ids{"x1", "x3"}));
  EXPECT_EQ(find({{id("x1"), id("x2"), id("x3"), id("nope")}}), (Ids{"x1", "x2", "x3"}));
  EXPECT_EQ(find({{id("x2", "")}}), Ids{"x2"});  // |x2: an id has no system
  EXPECT_TRUE(find({{id("x2", "urn:sys")}}).empty());
  EXPECT_EQ(find({{id("x1", "urn:sys"), id("x3", "")}}), Ids{"x3"});
  EXPECT_EQ(find({{id("x1", "urn:sys"), id("x2", "urn:sys")}}), Ids{});
  EXPECT_EQ(find({{id("x1", ""), id("x2", "")}}), (Ids{"x1", "x2"}));
  EXPECT_EQ(find({{id("x2", std::nullopt, /*negate=*/true)}}), (Ids{"x1", "x3"}));
  EXPECT_EQ(find({{idMissing(false)}}), (Ids{"x1", "x2", "x3"}));
  EXPECT_TRUE(find({{idMissing(true)}}).empty());
  EXPECT_EQ(find({{id("x1"), id("x2")}, {status("active")}}), Ids{"x1"});
  EXPECT_EQ(find({{status("active")}, {id("x3")}}), Ids{"x3"});

  EXPECT_EQ(find({{updated(t2, std::nullopt)}}), (Ids{"x2", "x3"}));
  EXPECT_EQ(find({{updated(std::nullopt, t2)}}), (Ids{"x1", "x2"}));
  EXPECT_EQ(find({{updated(t2, t2)}}), Ids{"x2"});
  EXPECT_EQ(find({{updated(t1, std::nullopt)}, {status("active")}}), (Ids{"x1", "x3"}));
  EXPECT_EQ(find({{updated(t2, std::nullopt)}, {status("active")}}), Ids{"x3"});
  EXPECT_EQ(find({{updated(t3 + 1, std::nullopt), updated(std::nullopt, t1)}}), Ids{"x1"});  // an OR group
  IndexPredicate not_early = updated(std::nullopt, t1);
  not_early.negate = true;
  EXPECT_EQ(find({{not_early}}), (Ids{"x2", "x3"}));
  // Keyset pages in id order, driven by the range.
  IndexPage first = page({{updated(t1, std::nullopt)}}, 2);
  EXPECT_EQ(first.ids, (Ids{"x1", "x2"}));
  ASSERT_TRUE(first.next_after_id.has_value());
  EXPECT_EQ(page({{updated(t1, std::nullopt)}}, 2, first.next_after_id).ids, Ids{"x3"});
  EXPECT_EQ(page({{id("x1"), id("x2"), id("x3")}}, 1, std::string("x1")).ids, Ids{"x2"});

  // The current version decides: an update moves x1 past x3, a delete drops x3.
  const int64_t t4 = put("x1", "on-hold");
  ASSERT_GT(t4, t3);
  EXPECT_EQ(find({{updated(std::nullopt, t1)}}), Ids{});
  EXPECT_EQ(find({{updated(t4, std::nullopt)}}), Ids{"x1"});
  ASSERT_TRUE(store_->runTransaction(ctx(), [](WriteTransaction& t) { return t.remove("CarePlan", "x3", std::nullopt).status(); }).isOk());
  EXPECT_TRUE(find({{id("x3")}}).empty());
  EXPECT_EQ(find({{updated(t2, std::nullopt)}}), (Ids{"x1", "x2"}));
  EXPECT_EQ(find({{idMissing(false)}}), (Ids{"x1", "x2"}));
}

// SQLite counts the engine steps of a search: an `_id` lookup and a narrow `_lastUpdated` range must not walk the
// type's resources.
TEST_P(HeadParamTest, IdAndLastUpdatedSearchesDoNotWalkTheType) {
  if (GetParam() != Engine::kSqlite) GTEST_SKIP() << "engine steps are counted by SQLite only";
  constexpr int kResources = 300;
  std::vector<int64_t> at;
  for (int i = 0; i < kResources; ++i) {
    char name[16];
    std::snprintf(name, sizeof name, "r%03d", i);
    at.push_back(put(name, i % 2 ? "active" : "completed"));
  }
  const IndexPage by_id = page({{id("r150")}});
  EXPECT_EQ(by_id.ids, Ids{"r150"});
  EXPECT_LT(by_id.engine_steps, 100);
  const IndexPage by_ids = page({{id("r010"), id("r200"), id("r299")}});
  EXPECT_EQ(by_ids.ids, (Ids{"r010", "r200", "r299"}));
  EXPECT_LT(by_ids.engine_steps, 200);
  const IndexPage recent = page({{updated(at[kResources - 2], std::nullopt)}});
  EXPECT_EQ(recent.ids, (Ids{"r298", "r299"}));
  EXPECT_LT(recent.engine_steps, 200);
  const IndexPage id_and_status = page({{status("active")}, {id("r151")}});
  EXPECT_EQ(id_and_status.ids, Ids{"r151"});
  EXPECT_LT(id_and_status.engine_steps, 100);
}

// Schema version 7 on a database of version 6: the `_id` and `_lastUpdated` rows (and the presence rows version 4
// derived for them) are removed, and searches on them give the answers those rows gave.
TEST_P(HeadParamTest, MigrationToVersion7DropsTheHeadRowsAndSearchesAnswerTheSame) {
  const int64_t t1 = put("m1", "active");
  const int64_t t2 = put("m2", "completed");
  const std::string cols =
      "INSERT INTO search_index (res_type, res_id, param, kind, text_value, token_system, token_code, date_low, "
      "date_high, number_value, ref_type, ref_id) VALUES ";
  auto token = [](const std::string& id, const std::string& param, const std::string& code) {
    return "('CarePlan', '" + id + "', '" + param + "', 1, '', '', '" + code + "', 0, 0, 0, '', '')";
  };
  auto date = [](const std::string& id, int64_t t) {
    const std::string v = std::to_string(t);
    return "('CarePlan', '" + id + "', '_lastUpdated', 2, '', '', '', " + v + ", " + v + ", 0, '', '')";
  };
  store_.reset();
  // As version 6 wrote them.
  ASSERT_NE(rawSql(cols + token("m1", "_id", "m1") + ", " + token("m2", "_id", "m2") + ", " + date("m1", t1) + ", " +
                   date("m2", t2) + ", " + token("m1", "_id:present", "1") + ", " + token("m2", "_lastUpdated:present", "1")),
            "error");
  ASSERT_NE(rawSql("UPDATE schema_version SET version = 6"), "error");
  dropSchema8Columns();
  ASSERT_EQ(rawSql("SELECT COUNT(*) FROM search_index"), "8");
  auto reopened = open();
  ASSERT_TRUE(reopened.isOk()) << reopened.status().message();
  EXPECT_EQ(rawSql("SELECT version FROM schema_version"), "8");
  EXPECT_EQ(rawSql("SELECT COUNT(*) FROM search_index"), "2");  // the status rows
  ResourceStore* s = reopened->get();
  EXPECT_EQ(find({{id("m1")}}, s), Ids{"m1"});
  EXPECT_EQ(find({{id("m1"), id("m2")}}, s), (Ids{"m1", "m2"}));
  EXPECT_EQ(find({{updated(t2, std::nullopt)}}, s), Ids{"m2"});
  EXPECT_EQ(find({{updated(std::nullopt, t2)}}, s), (Ids{"m1", "m2"}));
  EXPECT_EQ(find({{idMissing(false)}}, s), (Ids{"m1", "m2"}));
  EXPECT_EQ(find({{status("active")}, {updated(t1, t1)}}, s), Ids{"m1"});
}

TEST(PostgresStore, RecoversWhenTheServerDropsItsConnections) {
  const char* url = std::getenv("PLANBRO_TEST_PG_URL");
  if (url == nullptr || *url == '\0') {
    const char* ci = std::getenv("CI");
    if (ci != nullptr && std::string(ci) == "true") FAIL() << "CI=true but PLANBRO_TEST_PG_URL is not set";
    GTEST_SKIP() << "PostgreSQL run skipped: PLANBRO_TEST_PG_URL is not set "
                    "(export PLANBRO_TEST_PG_URL=$(scripts/postgres-test-cluster.sh start))";
  }
  // Tests run in parallel on one database: tag this store's connections so that only they are dropped.
  const std::string tag = "store_test_" + uniqueSuffix();
  const std::string base = url;
  const bool uri = base.starts_with("postgres");
  PostgresStoreOptions o;
  o.conninfo = base + (uri ? (base.find('?') == std::string::npos ? "?" : "&") : " ") + "application_name=" + tag;
  o.schema = tag;
  o.pool_size = 3;
  auto store = openPostgresStore(o);
  ASSERT_TRUE(store.isOk()) << store.status().message();
  ASSERT_TRUE((*store)->runTransaction({}, [](WriteTransaction& t) {
                        return t.create("Patient", {"{}", {}}, "p").status();
                      }).isOk());
  ASSERT_TRUE((*store)->read("Patient", "p").isOk());

  PGconn* admin = PQconnectdb(url);
  ASSERT_EQ(PQstatus(admin), CONNECTION_OK);
  PGresult* killed = PQexec(admin, ("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                   "WHERE application_name = '" + tag + "'").c_str());
  ASSERT_EQ(PQresultStatus(killed), PGRES_TUPLES_OK);
  EXPECT_GE(PQntuples(killed), 1);  // the idle pooled connection(s)
  PQclear(killed);

  EXPECT_TRUE((*store)->read("Patient", "p").isOk());
  Status write = (*store)->runTransaction({}, [](WriteTransaction& t) {
    return t.update("Patient", "p", {"{\"v\":2}", {}}).status();
  });
  EXPECT_TRUE(write.isOk()) << write.message();
  auto events = (*store)->readOutbox(0, 10);
  ASSERT_TRUE(events.isOk()) << events.status().message();
  EXPECT_EQ(events->size(), 2u);

  PQclear(PQexec(admin, ("SET client_min_messages = warning; DROP SCHEMA IF EXISTS " + o.schema + " CASCADE").c_str()));
  PQfinish(admin);
}

std::string engineName(const ::testing::TestParamInfo<Engine>& info) {
  return info.param == Engine::kSqlite ? "Sqlite" : "Postgres";
}

INSTANTIATE_TEST_SUITE_P(Engines, StoreTest, ::testing::Values(Engine::kSqlite, Engine::kPostgres), engineName);
INSTANTIATE_TEST_SUITE_P(Engines, HeadParamTest, ::testing::Values(Engine::kSqlite, Engine::kPostgres), engineName);
INSTANTIATE_TEST_SUITE_P(Engines, IndexSearchTest, ::testing::Values(Engine::kSqlite, Engine::kPostgres), engineName);

TEST(HistoryCursor, TokenRoundTripsAndMalformedTokensAreRejected) {
  HistoryCursor c{Timestamp(std::chrono::microseconds(1700000000123456)), "CarePlan", "a.b-1", 42};
  auto back = HistoryCursor::fromToken(c.toToken());
  ASSERT_TRUE(back.isOk());
  EXPECT_EQ(back->last_updated, c.last_updated);
  EXPECT_EQ(back->type, "CarePlan");
  EXPECT_EQ(back->id, "a.b-1");
  EXPECT_EQ(back->version, 42);
  for (const char* bad : {"", "1~A~b", "x~A~b~1", "1~A~b~0", "1~~b~1", "1~A~b~1~2", "1~A~b~1z"}) {
    EXPECT_EQ(HistoryCursor::fromToken(bad).status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

TEST(SqliteStore, OpeningANewerSchemaFailsInsteadOfGuessing) {
  const auto dir = std::filesystem::temp_directory_path() / ("planbro-store-schema-" + uniqueSuffix());
  std::filesystem::create_directories(dir);
  SqliteStoreOptions o;
  o.path = (dir / "s.db").string();
  {
    auto s = openSqliteStore(o);
    ASSERT_TRUE(s.isOk()) << s.status().message();
    auto txn = (*s)->begin({});
    ASSERT_TRUE(txn.isOk());
  }
  // Reopening the same schema works; a version from the future is refused.
  ASSERT_TRUE(openSqliteStore(o).isOk());
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(o.path.c_str(), &db), SQLITE_OK);
  EXPECT_EQ(sqlite3_exec(db, "UPDATE schema_version SET version = 99", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  auto future = openSqliteStore(o);
  EXPECT_EQ(future.status().code(), StatusCode::kFailedPrecondition);
  std::filesystem::remove_all(dir);
}

// Issue 14: the database holds health data; its files must not be readable by other users, whatever the umask.
TEST(SqliteStore, DatabaseWalShmAndLockFilesAreTheOwnersOnly) {
  const auto dir = std::filesystem::temp_directory_path() / ("planbro-store-modes-" + uniqueSuffix());
  std::filesystem::create_directories(dir);
  const mode_t old_umask = ::umask(022);
  SqliteStoreOptions o;
  o.path = (dir / "s.db").string();
  auto modeOf = [](const std::string& path) {
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    return st.st_mode & 0777;
  };
  {
    auto s = openSqliteStore(o);
    ASSERT_TRUE(s.isOk()) << s.status().message();
    ASSERT_TRUE((*s)->runTransaction({}, [](WriteTransaction& t) {
                     return t.create("Patient", {"{}", {}}, std::string_view("x")).status();
                   }).isOk());
    for (const char* suffix : {"", "-wal", "-shm", ".lock"}) {
      EXPECT_EQ(modeOf(o.path + suffix), 0600u) << suffix;
    }
  }
  // A database an older version left world-readable is narrowed when it opens.
  ASSERT_EQ(::chmod(o.path.c_str(), 0644), 0);
  ASSERT_TRUE(openSqliteStore(o).isOk());
  EXPECT_EQ(modeOf(o.path), 0600u);
  ::umask(old_umask);
  std::filesystem::remove_all(dir);
}

TEST(StatementCache, EvictsLeastRecentlyUsedBeyondItsByteBoundAndReleasesEachOnce) {
  internal::StatementCache<int> cache(/*max_bytes=*/100, /*max_count=*/10);
  std::vector<int> released;
  auto release = [&](int& h) { released.push_back(h); };
  cache.insert("a", 1, 40, release);
  cache.insert("b", 2, 40, release);
  ASSERT_NE(cache.find("a"), nullptr);  // a is now the most recently used
  cache.insert("c", 3, 40, release);    // 120 bytes: b goes
  EXPECT_EQ(released, std::vector<int>{2});
  EXPECT_EQ(cache.find("b"), nullptr);
  EXPECT_EQ(cache.bytes(), 80u);
  cache.insert("huge", 4, 500, release);  // alone above the bound: kept, everything else goes
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_EQ(*cache.find("huge"), 4);
  for (int i = 0; i < 50; ++i) cache.insert("s" + std::to_string(i), 10 + i, 1, release);
  EXPECT_LE(cache.size(), 10u);
  cache.clear(release);
  EXPECT_EQ(released.size(), 54u);
  EXPECT_EQ(cache.bytes(), 0u);
}

// The read cache (SqliteStoreOptions::read_cache_bytes): reads by id from memory, coherent because the store is the
// database's only user.
class SqliteReadCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("planbro-store-cache-" + uniqueSuffix());
    std::filesystem::create_directories(dir_);
    auto s = openSqliteStore(options());
    ASSERT_TRUE(s.isOk()) << s.status().message();
    store_ = std::move(s).value();
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  SqliteStoreOptions options() const {
    SqliteStoreOptions o;
    o.path = (dir_ / "s.db").string();
    o.read_cache_bytes = 1 << 20;
    return o;
  }
  Status put(const std::string& id, const std::string& json, std::optional<int64_t> expected = std::nullopt) {
    return store_->runTransaction({"tester", "test"}, [&](WriteTransaction& t) {
      return t.update("Patient", id, {json, {}}, expected).status();
    });
  }

  std::filesystem::path dir_;
  std::unique_ptr<ResourceStore> store_;
};

TEST_F(SqliteReadCacheTest, ReadCachedAnswersOnlyWhatAReadBroughtInAndForgetsItOnAWrite) {
  ASSERT_TRUE(put("a", R"({"v":1})").isOk());
  EXPECT_FALSE(store_->readCached("Patient", "a"));  // writes do not fill the cache
  ASSERT_EQ(store_->read("Patient", "a")->version, 1);
  auto cached = store_->readCached("Patient", "a");
  ASSERT_TRUE(cached);
  EXPECT_EQ(cached->version, 1);
  EXPECT_EQ(cached->json, R"({"v":1})");

  ASSERT_TRUE(put("a", R"({"v":2})").isOk());
  EXPECT_FALSE(store_->readCached("Patient", "a"));
  EXPECT_EQ(store_->read("Patient", "a")->version, 2);
  EXPECT_EQ(store_->readCached("Patient", "a")->json, R"({"v":2})");

  ASSERT_TRUE(store_->runTransaction({"tester", "test"}, [](WriteTransaction& t) {
                      return t.remove("Patient", "a", std::nullopt).status();
                    }).isOk());
  EXPECT_FALSE(store_->readCached("Patient", "a"));
  EXPECT_EQ(store_->read("Patient", "a").status().code(), StatusCode::kGone);
  EXPECT_FALSE(store_->readCached("Patient", "a"));
}

TEST_F(SqliteReadCacheTest, ARolledBackWriteLeavesTheCachedVersion) {
  ASSERT_TRUE(put("a", R"({"v":1})").isOk());
  ASSERT_EQ(store_->read("Patient", "a")->version, 1);
  Status failed = store_->runTransaction({"tester", "test"}, [](WriteTransaction& t) -> Status {
    RETURN_IF_ERROR(t.update("Patient", "a", {R"({"v":2})", {}}).status());
    return invalidArgument("the caller gives up");
  });
  EXPECT_EQ(failed.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->read("Patient", "a")->version, 1);
}

TEST_F(SqliteReadCacheTest, ACachedStoreHasTheDatabaseToItself) {
  auto second = openSqliteStore(options());
  EXPECT_EQ(second.status().code(), StatusCode::kFailedPrecondition) << second.status().message();
  SqliteStoreOptions uncached = options();
  uncached.read_cache_bytes = 0;
  EXPECT_EQ(openSqliteStore(uncached).status().code(), StatusCode::kFailedPrecondition);
  store_.reset();
  // Stores without a cache share the database; a cached one cannot join them.
  auto one = openSqliteStore(uncached);
  auto two = openSqliteStore(uncached);
  ASSERT_TRUE(one.isOk()) << one.status().message();
  ASSERT_TRUE(two.isOk()) << two.status().message();
  EXPECT_EQ(openSqliteStore(options()).status().code(), StatusCode::kFailedPrecondition);
  one->reset();
  two->reset();
  auto after = openSqliteStore(options());
  EXPECT_TRUE(after.isOk()) << after.status().message();
}

// Readers hammer one resource while a writer updates it: once an update has returned, no read may answer an older
// version (the cache's invalidation before and after the commit).
TEST_F(SqliteReadCacheTest, NoReadAnswersAVersionOlderThanTheLastReturnedWrite) {
  ASSERT_TRUE(put("hot", R"({"v":0})").isOk());
  std::atomic<int64_t> committed{1};
  std::atomic<bool> done{false};
  std::atomic<int> stale{0};
  std::atomic<int> reads{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 4; ++r) {
    readers.emplace_back([&] {
      while (!done.load()) {
        const int64_t floor = committed.load();
        auto v = store_->read("Patient", "hot");
        if (!v.isOk() || v->version < floor) stale.fetch_add(1);
        reads.fetch_add(1);
      }
    });
  }
  for (int i = 1; i <= 200; ++i) {
    ASSERT_TRUE(put("hot", R"({"v":)" + std::to_string(i) + "}").isOk());
    committed.store(i + 1);
  }
  done.store(true);
  for (auto& t : readers) t.join();
  EXPECT_EQ(stale.load(), 0) << "of " << reads.load() << " reads";
  EXPECT_EQ(store_->read("Patient", "hot")->version, 201);
}

}  // namespace
}  // namespace planbro::gateway::store
