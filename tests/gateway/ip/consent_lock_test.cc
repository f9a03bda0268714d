// The consent rule's race-freedom rests on WriteTransaction::readForUpdate: on PostgreSQL a locked read waits for a
// concurrent writer of the resource and returns what it committed, and a writer waits for the locked read's
// transaction. (SQLite needs no lock: one writer turn at a time.) Waits are observed in pg_stat_activity, every loop
// bounded, no sleeps.
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <atomic>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>

#include "planbro/gateway/store/resource_store.h"

namespace planbro::gateway::store {
namespace {

class ConsentLock : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* url = std::getenv("PLANBRO_TEST_PG_URL");
    if (!url || !*url) GTEST_SKIP() << "PLANBRO_TEST_PG_URL is not set";
    url_ = url;
    PostgresStoreOptions po;
    po.conninfo = url_;
    std::mt19937_64 rng(std::random_device{}());
    schema_ = "lock_test_" + std::to_string(rng() % 1000000000ULL);
    po.schema = schema_;
    po.pool_size = 4;
    auto s = openPostgresStore(po);
    ASSERT_TRUE(s.isOk()) << s.status().message();
    store_ = std::move(s).value();
    monitor_ = PQconnectdb(url_.c_str());
    ASSERT_EQ(PQstatus(monitor_), CONNECTION_OK);
    ASSERT_TRUE(store_->runTransaction({}, [](WriteTransaction& tx) {
      return tx.create("Consent", ResourceContent{R"({"resourceType":"Consent","status":"active"})", {}},
                       std::string_view("c")).status();
    }).isOk());
  }
  void TearDown() override {
    store_.reset();
    if (monitor_) {
      PQclear(PQexec(monitor_, ("DROP SCHEMA IF EXISTS " + schema_ + " CASCADE").c_str()));
      PQfinish(monitor_);
    }
  }

  // Bounded: true once some backend waits on a lock.
  bool someoneWaitsOnALock() {
    for (int i = 0; i < 20000; ++i) {
      PGresult* r = PQexec(monitor_, "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'");
      bool waiting = PQresultStatus(r) == PGRES_TUPLES_OK && std::string(PQgetvalue(r, 0, 0)) != "0";
      PQclear(r);
      if (waiting) return true;
    }
    return false;
  }

  std::string url_, schema_;
  std::unique_ptr<ResourceStore> store_;
  PGconn* monitor_ = nullptr;
};

TEST_F(ConsentLock, ALockedReadWaitsForAConcurrentWithdrawalAndSeesIt) {
  auto withdraw = store_->begin({});
  ASSERT_TRUE(withdraw.isOk());
  ASSERT_TRUE((*withdraw)->update("Consent", "c", ResourceContent{R"({"resourceType":"Consent","status":"inactive"})", {}})
                  .isOk());
  std::atomic<bool> read_done{false};
  std::string seen;
  std::thread start([&] {
    auto tx = store_->begin({});
    ASSERT_TRUE(tx.isOk());
    auto v = (*tx)->readForUpdate("Consent", "c");
    ASSERT_TRUE(v.isOk()) << v.status().message();
    seen = v->json;
    read_done = true;
    (*tx)->rollback();
  });
  ASSERT_TRUE(someoneWaitsOnALock());
  EXPECT_FALSE(read_done.load());
  ASSERT_TRUE((*withdraw)->commit().isOk());
  start.join();
  EXPECT_NE(seen.find("inactive"), std::string::npos) << seen;
}

TEST_F(ConsentLock, AWithdrawalWaitsForTheTransactionThatReadTheConsentLocked) {
  auto start = store_->begin({});
  ASSERT_TRUE(start.isOk());
  auto v = (*start)->readForUpdate("Consent", "c");
  ASSERT_TRUE(v.isOk());
  std::atomic<bool> withdrawn{false};
  std::thread withdraw([&] {
    Status s = store_->runTransaction({}, [](WriteTransaction& tx) {
      return tx.update("Consent", "c", ResourceContent{R"({"resourceType":"Consent","status":"inactive"})", {}})
          .status();
    });
    EXPECT_TRUE(s.isOk()) << s.message();
    withdrawn = true;
  });
  ASSERT_TRUE(someoneWaitsOnALock());
  EXPECT_FALSE(withdrawn.load());
  ASSERT_TRUE((*start)->commit().isOk());
  withdraw.join();
  EXPECT_TRUE(withdrawn.load());
}

}  // namespace
}  // namespace planbro::gateway::store
