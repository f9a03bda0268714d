// The dispatcher's consumer state (store/dispatch_state.h) on both engines: partitions and their positions, leases
// (fair share, take-over after expiry, fencing), delivery records, dead letters and replay.
#include <libpq-fe.h>
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <random>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "planbro/gateway/store/dispatch_state.h"
#include "planbro/gateway/store/resource_store.h"
#include "../../support/test_store_place.h"

namespace planbro::gateway::store {
namespace {

using std::chrono::seconds;
enum class Engine { kSqlite, kPostgres };

using planbro::testing::uniqueTestName;

Timestamp at(int64_t s) { return Timestamp(std::chrono::seconds(1'700'000'000 + s)); }

class DispatchStateTest : public ::testing::TestWithParam<Engine> {
 protected:
  void SetUp() override {
    if (GetParam() == Engine::kPostgres) {
      const char* url = std::getenv("PLANBRO_TEST_PG_URL");
      if (url == nullptr || *url == '\0') {
        const char* ci = std::getenv("CI");
        if (ci != nullptr && std::string(ci) == "true") FAIL() << "CI=true but PLANBRO_TEST_PG_URL is not set";
        GTEST_SKIP() << "PostgreSQL runs skipped: PLANBRO_TEST_PG_URL is not set";
      }
      pg_url_ = url;
      schema_ = "dispatch_state_test_" + uniqueTestName();
    } else {
      dir_ = std::filesystem::temp_directory_path() / ("planbro-dispatch-state-" + uniqueTestName());
      std::filesystem::create_directories(dir_);
    }
    auto s = open();
    ASSERT_TRUE(s.isOk()) << s.status().message();
    store_ = std::move(s).value();
    ASSERT_NE(store_->dispatchState(), nullptr);
  }

  void TearDown() override {
    store_.reset();
    planbro::testing::removeTestStorePlace(dir_, pg_url_, schema_);
  }

  Result<std::unique_ptr<ResourceStore>> open() {
    if (GetParam() == Engine::kPostgres) {
      PostgresStoreOptions o;
      o.conninfo = pg_url_;
      o.schema = schema_;
      return openPostgresStore(o);
    }
    SqliteStoreOptions o;
    o.path = (dir_ / "store.db").string();
    return openSqliteStore(o);
  }

  DispatchState& state() { return *store_->dispatchState(); }

  std::vector<int> partitionsOf(const std::vector<HeldPartition>& held) {
    std::vector<int> out;
    for (const HeldPartition& p : held) out.push_back(p.partition);
    return out;
  }

  std::filesystem::path dir_;
  std::string pg_url_;
  std::string schema_;
  std::unique_ptr<ResourceStore> store_;
};

TEST_P(DispatchStateTest, ASubscriberKeepsThePartitionCountItWasCreatedWith) {
  auto made = state().ensureSubscriber("helsenorge", 4, 17);
  ASSERT_TRUE(made.isOk()) << made.status().message();
  EXPECT_EQ(*made, 4);
  auto again = state().ensureSubscriber("helsenorge", 8, 99);
  ASSERT_TRUE(again.isOk());
  EXPECT_EQ(*again, 4);
  auto held = state().acquireLeases("helsenorge", "node-a", at(0), seconds(10));
  ASSERT_TRUE(held.isOk()) << held.status().message();
  ASSERT_EQ(held->size(), 4u);
  for (const HeldPartition& p : *held) {
    EXPECT_EQ(p.position, 17);  // the first start position, not the second
    EXPECT_TRUE(p.taken);
  }
  EXPECT_FALSE(state().ensureSubscriber("x", 0, 0).isOk());
  EXPECT_FALSE(state().ensureSubscriber("", 1, 0).isOk());
}

TEST_P(DispatchStateTest, TwoNodesShareThePartitionsAndAnExpiredLeaseIsTakenOver) {
  ASSERT_TRUE(state().ensureSubscriber("s", 4, 0).isOk());
  auto a = state().acquireLeases("s", "node-a", at(0), seconds(10));
  ASSERT_TRUE(a.isOk());
  EXPECT_EQ(a->size(), 4u);  // alone: everything
  auto b = state().acquireLeases("s", "node-b", at(1), seconds(10));
  ASSERT_TRUE(b.isOk());
  EXPECT_TRUE(b->empty());  // all held by a, whose leases have not expired
  a = state().acquireLeases("s", "node-a", at(2), seconds(10));
  ASSERT_TRUE(a.isOk());
  EXPECT_EQ(partitionsOf(*a), (std::vector<int>{0, 1}));  // two nodes live: a keeps its share, frees the rest
  for (const HeldPartition& p : *a) EXPECT_FALSE(p.taken);
  b = state().acquireLeases("s", "node-b", at(3), seconds(10));
  ASSERT_TRUE(b.isOk());
  EXPECT_EQ(partitionsOf(*b), (std::vector<int>{2, 3}));
  // a dies: b keeps renewing; once a's leases (renewed at 2, so until 12) and its node entry expire, b takes all.
  b = state().acquireLeases("s", "node-b", at(11), seconds(10));
  EXPECT_EQ(partitionsOf(*b), (std::vector<int>{2, 3}));
  b = state().acquireLeases("s", "node-b", at(13), seconds(10));
  ASSERT_TRUE(b.isOk());
  EXPECT_EQ(partitionsOf(*b), (std::vector<int>{0, 1, 2, 3}));
  EXPECT_TRUE((*b)[0].taken);
  EXPECT_FALSE((*b)[2].taken);
}

TEST_P(DispatchStateTest, ProgressIsFencedOnTheLease) {
  ASSERT_TRUE(state().ensureSubscriber("s", 1, 0).isOk());
  ASSERT_EQ(state().acquireLeases("s", "node-a", at(0), seconds(10))->size(), 1u);
  PartitionProgress progress{"s", 0, "node-a", 5, {}, {}};
  ASSERT_TRUE(state().commitProgress(progress).isOk());
  // a stalls past its lease; b takes the partition over and moves on.
  auto b = state().acquireLeases("s", "node-b", at(20), seconds(10));
  ASSERT_EQ(b->size(), 1u);
  EXPECT_EQ((*b)[0].position, 5);
  ASSERT_TRUE(state().commitProgress({"s", 0, "node-b", 9, {}, {}}).isOk());
  // a wakes up and tries to commit what it did: refused, nothing written.
  DeliveryRecord failed{7, 0, 1, at(1), at(2), DeliveryStatus::kRetrying, "HTTP 503"};
  Status stale = state().commitProgress({"s", 0, "node-a", 8, {failed}, {}});
  EXPECT_EQ(stale.code(), StatusCode::kFailedPrecondition);
  EXPECT_FALSE(state().record("s", 7)->has_value());
  // progress never moves a partition backwards
  ASSERT_TRUE(state().commitProgress({"s", 0, "node-b", 3, {}, {}}).isOk());
  EXPECT_EQ(state().summaries()->at(0).min_position, 9);
}

TEST_P(DispatchStateTest, DeliveryRecordsDeadLettersRedeliveryAndDiscard) {
  ASSERT_TRUE(state().ensureSubscriber("s", 2, 0).isOk());
  ASSERT_EQ(state().acquireLeases("s", "n", at(0), seconds(10))->size(), 2u);
  DeliveryRecord retrying{11, 1, 2, at(1), at(5), DeliveryStatus::kRetrying, "HTTP 500"};
  DeliveryRecord dead{12, 1, 8, at(1), at(9), DeliveryStatus::kDead, "HTTP 404"};
  ASSERT_TRUE(state().commitProgress({"s", 1, "n", 10, {retrying, dead}, {}}).isOk());
  auto records = state().deliveries("s", 1, 10);
  ASSERT_TRUE(records.isOk());
  ASSERT_EQ(records->size(), 2u);
  EXPECT_EQ((*records)[0].attempts, 2);
  EXPECT_EQ((*records)[0].next_attempt, at(5));
  EXPECT_EQ((*records)[0].last_error, "HTTP 500");
  EXPECT_EQ((*records)[1].status, DeliveryStatus::kDead);
  EXPECT_TRUE(state().deliveries("s", 0, 0)->empty());
  auto summary = state().summaries();
  ASSERT_EQ(summary->size(), 1u);
  EXPECT_EQ(summary->at(0).retrying, 1);
  EXPECT_EQ(summary->at(0).dead, 1);
  // delivered on a later try: the record goes
  ASSERT_TRUE(state().commitProgress({"s", 1, "n", 12, {}, {11}}).isOk());
  EXPECT_FALSE(state().record("s", 11)->has_value());
  // the dead letter: listed, retried (only once: a second request finds no dead letter), then discarded
  auto dead_letters = state().recordsWithStatus("s", DeliveryStatus::kDead, 0, 100);
  ASSERT_EQ(dead_letters->size(), 1u);
  EXPECT_EQ(dead_letters->at(0).position, 12);
  EXPECT_EQ(state().requestRedelivery("s", 11, at(3)).code(), StatusCode::kNotFound);
  ASSERT_TRUE(state().requestRedelivery("s", 12, at(3)).isOk());
  EXPECT_EQ(state().requestRedelivery("s", 12, at(3)).code(), StatusCode::kNotFound);
  auto requested = state().record("s", 12);
  ASSERT_TRUE(requested->has_value());
  EXPECT_EQ((*requested)->status, DeliveryStatus::kRedeliverRequested);
  EXPECT_EQ((*requested)->attempts, 0);
  EXPECT_EQ(state().discardDeadLetter("s", 12).code(), StatusCode::kNotFound);  // not dead any more
  ASSERT_TRUE(state().commitProgress({"s", 1, "n", 12, {dead}, {}}).isOk());     // failed again: dead again
  ASSERT_TRUE(state().discardDeadLetter("s", 12).isOk());
  EXPECT_FALSE(state().record("s", 12)->has_value());
  EXPECT_FALSE(state().recordsWithStatus("s", DeliveryStatus::kDead, 0, 0).isOk());
}

TEST_P(DispatchStateTest, RewindMovesEveryPartitionBackAndFencesTheHolder) {
  ASSERT_TRUE(state().ensureSubscriber("s", 2, 0).isOk());
  ASSERT_EQ(state().acquireLeases("s", "n", at(0), seconds(10))->size(), 2u);
  DeliveryRecord retrying{30, 0, 1, at(1), at(5), DeliveryStatus::kRetrying, "timeout"};
  DeliveryRecord dead{8, 0, 5, at(1), at(5), DeliveryStatus::kDead, "HTTP 400"};
  ASSERT_TRUE(state().commitProgress({"s", 0, "n", 25, {retrying, dead}, {}}).isOk());
  ASSERT_TRUE(state().commitProgress({"s", 1, "n", 40, {}, {}}).isOk());
  ASSERT_TRUE(state().rewind("s", 10).isOk());
  EXPECT_EQ(state().commitProgress({"s", 0, "n", 26, {}, {}}).code(), StatusCode::kFailedPrecondition);
  auto held = state().acquireLeases("s", "n", at(1), seconds(10));
  ASSERT_EQ(held->size(), 2u);
  for (const HeldPartition& p : *held) {
    EXPECT_EQ(p.position, 10);
    EXPECT_TRUE(p.taken);  // the holder must reload: its memory is from before the replay
  }
  EXPECT_FALSE(state().record("s", 30)->has_value());  // will be sent again anyway
  EXPECT_TRUE(state().record("s", 8)->has_value());    // dead letters stay for the operator
  EXPECT_EQ(state().rewind("nobody", 0).code(), StatusCode::kNotFound);
}

TEST_P(DispatchStateTest, PositionBeforeATimeFindsTheFirstEventAtOrAfterIt) {
  int64_t now_s = 0;
  store_.reset();
  auto clocked = [&]() -> Result<std::unique_ptr<ResourceStore>> {
    Clock clock = [&now_s] { return at(now_s); };
    if (GetParam() == Engine::kPostgres) {
      PostgresStoreOptions o;
      o.conninfo = pg_url_;
      o.schema = schema_;
      o.clock = clock;
      return openPostgresStore(o);
    }
    SqliteStoreOptions o;
    o.path = (dir_ / "store.db").string();
    o.clock = clock;
    return openSqliteStore(o);
  }();
  ASSERT_TRUE(clocked.isOk());
  store_ = std::move(clocked).value();
  for (int i = 0; i < 3; ++i) {
    now_s = i * 10;
    ASSERT_TRUE(store_->runTransaction({"a", "rest"}, [&](WriteTransaction& t) {
                      return t.create("Patient", {"{\"resourceType\":\"Patient\"}", {}}).status();
                    }).isOk());
  }
  auto events = store_->readOutbox(0, 10);
  ASSERT_EQ(events->size(), 3u);
  EXPECT_EQ(*state().positionBefore(at(0)), (*events)[0].position - 1);
  EXPECT_EQ(*state().positionBefore(at(5)), (*events)[0].position);
  EXPECT_EQ(*state().positionBefore(at(20)), (*events)[1].position);
  EXPECT_EQ(*state().positionBefore(at(21)), (*events)[2].position);
}

// Two nodes (two store instances, as two gateway processes) acquiring at the same moments never hold one partition
// both, and between them hold every partition.
TEST_P(DispatchStateTest, ConcurrentAcquiresNeverGiveOnePartitionToTwoNodes) {
  auto second = open();
  ASSERT_TRUE(second.isOk()) << second.status().message();
  ASSERT_TRUE(state().ensureSubscriber("s", 8, 0).isOk());
  for (int round = 0; round < 20; ++round) {
    std::vector<HeldPartition> a, b;
    Status sa, sb;
    std::thread ta([&] {
      auto r = state().acquireLeases("s", "node-a", at(round), seconds(10));
      sa = r.status();
      if (r.isOk()) a = *r;
    });
    std::thread tb([&] {
      auto r = (*second)->dispatchState()->acquireLeases("s", "node-b", at(round), seconds(10));
      sb = r.status();
      if (r.isOk()) b = *r;
    });
    ta.join();
    tb.join();
    ASSERT_TRUE(sa.isOk()) << sa.message();
    ASSERT_TRUE(sb.isOk()) << sb.message();
    std::set<int> both;
    for (const HeldPartition& p : a) both.insert(p.partition);
    for (const HeldPartition& p : b) EXPECT_TRUE(both.insert(p.partition).second) << "round " << round;
    if (round > 1) {
      EXPECT_EQ(both.size(), 8u) << "round " << round;  // after the first rounds, every partition is worked
    }
  }
}

// A database at schema version 4 (before the dispatcher) gains the consumer tables when it opens.
TEST_P(DispatchStateTest, AVersion4DatabaseIsMigrated) {
  store_.reset();
  const std::string downgrade =
      "DROP TABLE dispatch_delivery; DROP TABLE dispatch_node; DROP TABLE dispatch_partition; "
      "ALTER TABLE resource DROP COLUMN patient_compartment; ALTER TABLE resource DROP COLUMN compartment_version; "
      "UPDATE schema_version SET version = 4";
  if (GetParam() == Engine::kPostgres) {
    PGconn* conn = PQconnectdb(pg_url_.c_str());
    PGresult* r = PQexec(conn, ("SET search_path TO " + schema_ + "; " + downgrade).c_str());
    EXPECT_EQ(PQresultStatus(r), PGRES_COMMAND_OK) << PQerrorMessage(conn);
    PQclear(r);
    PQfinish(conn);
  } else {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir_ / "store.db").string().c_str(), &db), SQLITE_OK);
    EXPECT_EQ(sqlite3_exec(db, downgrade.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  auto reopened = open();
  ASSERT_TRUE(reopened.isOk()) << reopened.status().message();
  store_ = std::move(reopened).value();
  auto made = state().ensureSubscriber("s", 2, 0);
  ASSERT_TRUE(made.isOk()) << made.status().message();
  EXPECT_EQ(state().acquireLeases("s", "n", at(0), seconds(10))->size(), 2u);
}

std::string engineName(const ::testing::TestParamInfo<Engine>& info) {
  return info.param == Engine::kSqlite ? "SQLite" : "PostgreSQL";
}
INSTANTIATE_TEST_SUITE_P(Engines, DispatchStateTest, ::testing::Values(Engine::kSqlite, Engine::kPostgres), engineName);

}  // namespace
}  // namespace planbro::gateway::store
