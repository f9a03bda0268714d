// The Subscription manager on its own (a real SQLite store, operations, search and dispatcher; the ping injected so
// the test sees every handshake): handshakes are bounded per round and sent in parallel waves, so receivers that
// hang cost one timeout per wave, never one per Subscription.
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <mutex>
#include <random>

#include <gtest/gtest.h>

#include "planbro/gateway/subscriptions/subscription_manager.h"

namespace planbro::gateway::subscriptions {
namespace {

TEST(SubscriptionManager, HandshakesAreBoundedPerRoundAndSentInParallelWaves) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("planbro-subs-manager-" + std::to_string(getpid()) + "-" + std::to_string(std::random_device{}()));
  std::filesystem::create_directories(dir);
  {
    store::SqliteStoreOptions so;
    so.path = (dir / "store.db").string();
    auto opened = store::openSqliteStore(so);
    ASSERT_TRUE(opened.isOk()) << opened.status().message();
    auto& store = **opened;
    search::SearchExecutor executor(store);
    ops::Operations operations(store, executor);
    constexpr int kSubscriptions = 20;
    for (int i = 0; i < kSubscriptions; ++i) {
      const std::string id = "s" + std::to_string(i);
      auto doc = fhir::JsonDocument::parse(
          R"({"resourceType":"Subscription","id":")" + id +
          R"(","status":"requested","reason":"x","criteria":"Goal","channel":{"type":"rest-hook",)"
          R"("endpoint":"https://receiver.example/)" + id + R"("}})");
      ASSERT_TRUE(doc.isOk());
      ops::WriteContext client;
      client.source_system = "rest";
      auto written = operations.update(client, "Subscription", id, doc->root(), std::nullopt, nullptr);
      ASSERT_TRUE(written.isOk()) << written.status().message();
    }
    auto dispatcher = dispatch::Dispatcher::create(store, {}, {});
    ASSERT_TRUE(dispatcher.isOk()) << dispatcher.status().message();

    std::mutex mutex;
    int in_flight = 0, most_in_flight = 0, sent = 0;
    ManagerOptions o;
    o.policy.enabled = true;
    o.max_pings_per_round = 8;
    o.max_parallel_pings = 3;
    o.ping = [&](const PingRequest& p) {
      {
        std::lock_guard lock(mutex);
        EXPECT_EQ(p.type, "handshake");
        ++sent;
        most_in_flight = std::max(most_in_flight, ++in_flight);
      }
      // Hold the ping until this wave is full (or is the last, shorter one), so the waves' width is what we see.
      for (int i = 0; i < 10'000; ++i) {
        {
          std::lock_guard lock(mutex);
          if (in_flight >= 3 || sent % 8 == 0 || sent == kSubscriptions) break;
        }
        std::this_thread::yield();
      }
      std::lock_guard lock(mutex);
      --in_flight;
      return Status(StatusCode::kUnavailable, "transport: timeout");  // a receiver that never answers
    };
    SubscriptionManager manager(store, operations, executor, **dispatcher, o);
    ASSERT_TRUE(manager.syncOnce().isOk());
    EXPECT_EQ(sent, 8);              // at most max_pings_per_round handshakes in one round
    EXPECT_LE(most_in_flight, 3);    // at most max_parallel_pings at once
    EXPECT_GE(most_in_flight, 2);    // and really in parallel
    int errored = 0;
    for (int i = 0; i < kSubscriptions; ++i) {
      auto v = store.read("Subscription", "s" + std::to_string(i));
      ASSERT_TRUE(v.isOk());
      errored += v->json.find("\"status\":\"error\"") != std::string::npos ? 1 : 0;
    }
    EXPECT_EQ(errored, 8);  // each failed handshake is an error with its reason; the others wait for later rounds
    ASSERT_TRUE(manager.syncOnce().isOk());
    ASSERT_TRUE(manager.syncOnce().isOk());
    EXPECT_EQ(sent, kSubscriptions);  // every one shaken hands with, within three rounds
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace planbro::gateway::subscriptions
