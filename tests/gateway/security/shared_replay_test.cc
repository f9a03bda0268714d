// The DPoP replay cache every node on one database shares (security/store_replay_cache.h): two gateway nodes, each
// with its own store connection and DPoP verifier on one database, and a proof that one accepted is a replay on the
// other. PostgreSQL when PLANBRO_TEST_PG_URL is set (the deployment this is for); SQLite (one file, two stores)
// always. Also: the configuration picks the store-backed cache on PostgreSQL by default.
#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <random>

#include <gtest/gtest.h>

#include "planbro/gateway/security/auth_filter.h"
#include "planbro/gateway/security/store_replay_cache.h"
#include "planbro/gateway/store/replay_ledger.h"
#include "planbro/gateway/store/resource_store.h"
#include "test_keys.h"
#include "../../support/test_store_place.h"

namespace planbro::gateway::security::testing {
namespace {

enum class Engine { kSqlite, kPostgres };
constexpr const char* kHtu = "https://fhir.test/CarePlan/1";

using planbro::testing::uniqueTestName;

class SharedReplayTest : public ::testing::TestWithParam<Engine> {
 protected:
  SharedReplayTest() : key_(makeKey("ES256", "client")) {}

  void SetUp() override {
    if (GetParam() == Engine::kPostgres) {
      const char* url = std::getenv("PLANBRO_TEST_PG_URL");
      if (url == nullptr || *url == '\0') GTEST_SKIP() << "PostgreSQL runs skipped: PLANBRO_TEST_PG_URL is not set";
      pg_url_ = url;
      schema_ = "shared_replay_test_" + uniqueTestName();
    } else {
      dir_ = std::filesystem::temp_directory_path() / ("planbro-shared-replay-" + uniqueTestName());
      std::filesystem::create_directories(dir_);
    }
    for (Node* node : {&a_, &b_}) {
      auto opened = open();
      ASSERT_TRUE(opened.isOk()) << opened.status().message();
      node->store = std::move(opened).value();
      DpopOptions o;
      o.clock = [this] { return now_; };
      StoreReplayCacheOptions r;
      r.purge_every = 4;
      r.purge_batch = 3;
      node->verifier = std::make_unique<DpopVerifier>(o, makeStoreReplayCache(*node->store->replayLedger(), r));
    }
  }

  void TearDown() override {
    a_ = {};
    b_ = {};
    planbro::testing::removeTestStorePlace(dir_, pg_url_, schema_);
  }

  Result<std::unique_ptr<store::ResourceStore>> open() {
    if (GetParam() == Engine::kPostgres) {
      store::PostgresStoreOptions o;
      o.conninfo = pg_url_;
      o.schema = schema_;
      return store::openPostgresStore(o);
    }
    store::SqliteStoreOptions o;
    o.path = (dir_ / "store.db").string();
    o.read_cache_bytes = 0;
    return store::openSqliteStore(o);
  }

  struct Node {
    std::unique_ptr<store::ResourceStore> store;
    std::unique_ptr<DpopVerifier> verifier;
  };

  TestKey key_;
  int64_t now_ = kNow;
  std::filesystem::path dir_;
  std::string pg_url_, schema_;
  Node a_, b_;
};

TEST_P(SharedReplayTest, TwoNodesOnOneDatabaseRefuseTheSameProof) {
  ASSERT_TRUE(a_.verifier->mayBlock());  // the filter then runs on handler threads, never on the I/O thread
  const std::string proof = dpopProof(key_, "GET", kHtu, "the-token", kNow, "once");
  auto first = a_.verifier->verify(proof, "GET", kHtu, "the-token");
  ASSERT_TRUE(first.isOk()) << first.status().message();
  auto replayed = b_.verifier->verify(proof, "GET", kHtu, "the-token");
  ASSERT_FALSE(replayed.isOk());
  EXPECT_EQ(replayed.status().code(), StatusCode::kUnauthenticated);
  EXPECT_NE(replayed.status().message().find("replay"), std::string::npos) << replayed.status().message();
  auto again = a_.verifier->verify(proof, "GET", kHtu, "the-token");
  EXPECT_FALSE(again.isOk());
  // A fresh proof passes on either node.
  EXPECT_TRUE(b_.verifier->verify(dpopProof(key_, "GET", kHtu, "the-token", kNow, "twice"), "GET", kHtu, "the-token").isOk());
}

TEST_P(SharedReplayTest, ExpiredProofIdsArePurgedWhileLiveOnesStay) {
  for (int i = 0; i < 12; ++i) {
    ASSERT_TRUE(a_.verifier->verify(dpopProof(key_, "GET", kHtu, "t", kNow, "p" + std::to_string(i)), "GET", kHtu, "t").isOk());
  }
  // Long after every id expired, the claims purge them a batch (3) at a time every fourth claim.
  now_ = kNow + 10'000;
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(b_.verifier->verify(dpopProof(key_, "GET", kHtu, "t", now_, "q" + std::to_string(i)), "GET", kHtu, "t").isOk());
  }
  // 5 purges of at most 3 rows: the 12 expired ones are gone, the 20 live ones stay.
  store::ReplayLedger& ledger = *a_.store->replayLedger();
  EXPECT_EQ(*ledger.purgeExpired(now_, 1000), 0u);
  EXPECT_EQ(*ledger.purgeExpired(now_ + 10'000, 1000), 20u);
}

// auth.dpop_replay_cache auto: the shared cache where several nodes may share the database (PostgreSQL), the
// in-process one on SQLite; "store" forces the shared one; without a store to hold it the start is refused.
TEST_P(SharedReplayTest, TheConfigurationPicksTheSharedCacheOnPostgresql) {
  if (GetParam() != Engine::kSqlite) GTEST_SKIP() << "one engine is enough: the choice is the configuration's";
  config::GatewayConfig c;
  c.auth.mode = "development";
  c.store.data_dir = dir_.string();
  auto memory = makeAuthComponents(c, "http://127.0.0.1:8080", a_.store.get());
  ASSERT_TRUE(memory.isOk()) << memory.status().message();
  EXPECT_FALSE(memory->filter->mayBlock());
  c.store.engine = config::StoreEngine::kPostgresql;
  auto shared = makeAuthComponents(c, "http://127.0.0.1:8080", a_.store.get());
  ASSERT_TRUE(shared.isOk()) << shared.status().message();
  EXPECT_TRUE(shared->filter->mayBlock());
  EXPECT_EQ(makeAuthComponents(c, "http://127.0.0.1:8080", nullptr).status().code(), StatusCode::kFailedPrecondition);
  c.store.engine = config::StoreEngine::kSqlite;
  c.auth.dpop_replay_cache = "store";
  auto forced = makeAuthComponents(c, "http://127.0.0.1:8080", a_.store.get());
  ASSERT_TRUE(forced.isOk()) << forced.status().message();
  EXPECT_TRUE(forced->filter->mayBlock());
}

std::string engineName(const ::testing::TestParamInfo<Engine>& info) {
  return info.param == Engine::kPostgres ? "postgresql" : "sqlite";
}
INSTANTIATE_TEST_SUITE_P(Engines, SharedReplayTest, ::testing::Values(Engine::kSqlite, Engine::kPostgres), engineName);

}  // namespace
}  // namespace planbro::gateway::security::testing
