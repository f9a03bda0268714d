// One-time claims (store/replay_ledger.h) on both engines: a claim holds until it expires, two stores on one
// database (two gateway nodes) see each other's claims, concurrent claims of one key have one winner, and the purge
// deletes expired claims only, at most a batch at a time.
#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <random>
#include <thread>

#include <gtest/gtest.h>

#include "planbro/gateway/store/replay_ledger.h"
#include "planbro/gateway/store/resource_store.h"
#include "../../support/test_store_place.h"

namespace planbro::gateway::store {
namespace {

enum class Engine { kSqlite, kPostgres };
constexpr int64_t kNow = 1'800'000'000;

using planbro::testing::uniqueTestName;

class ReplayLedgerTest : public ::testing::TestWithParam<Engine> {
 protected:
  void SetUp() override {
    if (GetParam() == Engine::kPostgres) {
      const char* url = std::getenv("PLANBRO_TEST_PG_URL");
      if (url == nullptr || *url == '\0') GTEST_SKIP() << "PostgreSQL runs skipped: PLANBRO_TEST_PG_URL is not set";
      pg_url_ = url;
      schema_ = "replay_ledger_test_" + uniqueTestName();
    } else {
      dir_ = std::filesystem::temp_directory_path() / ("planbro-replay-ledger-" + uniqueTestName());
      std::filesystem::create_directories(dir_);
    }
    for (auto* s : {&a_, &b_}) {
      auto opened = open();
      ASSERT_TRUE(opened.isOk()) << opened.status().message();
      *s = std::move(opened).value();
      ASSERT_NE((*s)->replayLedger(), nullptr);
    }
  }

  void TearDown() override {
    a_.reset();
    b_.reset();
    planbro::testing::removeTestStorePlace(dir_, pg_url_, schema_);
  }

  // Two stores on one database, as two gateway nodes have (SQLite: without read caches, which need the file alone).
  Result<std::unique_ptr<ResourceStore>> open() {
    if (GetParam() == Engine::kPostgres) {
      PostgresStoreOptions o;
      o.conninfo = pg_url_;
      o.schema = schema_;
      o.pool_size = 8;
      return openPostgresStore(o);
    }
    SqliteStoreOptions o;
    o.path = (dir_ / "store.db").string();
    o.read_cache_bytes = 0;
    return openSqliteStore(o);
  }

  ReplayLedger& a() { return *a_->replayLedger(); }
  ReplayLedger& b() { return *b_->replayLedger(); }

  std::filesystem::path dir_;
  std::string pg_url_, schema_;
  std::unique_ptr<ResourceStore> a_, b_;
};

TEST_P(ReplayLedgerTest, AClaimHoldsUntilItExpiresOnEveryNode) {
  auto first = a().claimOnce("jkt:jti-1", kNow + 60, kNow);
  ASSERT_TRUE(first.isOk()) << first.status().message();
  EXPECT_TRUE(*first);
  EXPECT_FALSE(*a().claimOnce("jkt:jti-1", kNow + 60, kNow + 1));
  EXPECT_FALSE(*b().claimOnce("jkt:jti-1", kNow + 60, kNow + 59));  // the other node refuses it too
  EXPECT_TRUE(*b().claimOnce("jkt:jti-2", kNow + 60, kNow));
  // Expired: claimable again, and then held again.
  EXPECT_TRUE(*b().claimOnce("jkt:jti-1", kNow + 120, kNow + 60));
  EXPECT_FALSE(*a().claimOnce("jkt:jti-1", kNow + 120, kNow + 61));
}

TEST_P(ReplayLedgerTest, ConcurrentClaimsOfOneKeyOnTwoNodesHaveOneWinner) {
  constexpr int kThreads = 8;
  constexpr int kKeys = 25;
  std::atomic<int> wins{0}, errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      ReplayLedger& ledger = t % 2 == 0 ? a() : b();
      for (int k = 0; k < kKeys; ++k) {
        auto r = ledger.claimOnce("race:" + std::to_string(k), kNow + 60, kNow);
        if (!r.isOk()) ++errors;
        else if (*r) ++wins;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(wins.load(), kKeys);
}

TEST_P(ReplayLedgerTest, ThePurgeDeletesExpiredClaimsOnlyAndAtMostABatch) {
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(*a().claimOnce("old:" + std::to_string(i), kNow + 10, kNow));
  ASSERT_TRUE(*a().claimOnce("live", kNow + 1000, kNow));
  EXPECT_EQ(*a().purgeExpired(kNow + 5, 100), 0u);  // nothing has expired yet
  EXPECT_EQ(*b().purgeExpired(kNow + 10, 20), 20u);
  EXPECT_EQ(*b().purgeExpired(kNow + 10, 20), 20u);
  EXPECT_EQ(*a().purgeExpired(kNow + 10, 20), 10u);
  EXPECT_EQ(*a().purgeExpired(kNow + 10, 20), 0u);
  EXPECT_FALSE(*b().claimOnce("live", kNow + 1000, kNow + 10));  // the live claim survived every purge
}

TEST_P(ReplayLedgerTest, KeysAreBounded) {
  EXPECT_EQ(a().claimOnce("", kNow + 1, kNow).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(a().claimOnce(std::string(513, 'k'), kNow + 1, kNow).status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(*a().claimOnce(std::string(512, 'k'), kNow + 1, kNow));
}

std::string engineName(const ::testing::TestParamInfo<Engine>& info) {
  return info.param == Engine::kPostgres ? "postgresql" : "sqlite";
}
INSTANTIATE_TEST_SUITE_P(Engines, ReplayLedgerTest, ::testing::Values(Engine::kSqlite, Engine::kPostgres), engineName);

}  // namespace
}  // namespace planbro::gateway::store
