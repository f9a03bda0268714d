// Two `planbro serve` nodes on one PostgreSQL database (PLANBRO_TEST_PG_URL; skipped without it): a Subscription
// created through node A is served by node B as well (B reads it from the store within its poll interval), the two
// share its partitions, and the receiver gets every change written through either node exactly once per change.
#include <libpq-fe.h>

#include <random>
#include <set>

#include "../dispatch/test_receiver.h"
#include "served_node.h"

namespace planbro::gateway::subscriptions::testing {
namespace {

using dispatch::testing::TestReceiver;

TEST(SubscriptionTwoNodes, ASubscriptionWrittenOnOneNodeIsServedByBothAndEachChangeArrivesOnce) {
  const char* pg = std::getenv("PLANBRO_TEST_PG_URL");
  if (pg == nullptr || *pg == '\0') GTEST_SKIP() << "PLANBRO_TEST_PG_URL is not set";
  std::mt19937_64 rng(std::random_device{}());
  const std::string schema = "subs_two_" + std::to_string(rng() % 1000000000ULL);
  {
    PGconn* c = PQconnectdb(pg);
    ASSERT_EQ(PQstatus(c), CONNECTION_OK) << PQerrorMessage(c);
    PQclear(PQexec(c, ("CREATE SCHEMA " + schema).c_str()));
    PQfinish(c);
  }
  TestReceiver receiver;
  auto config = [&](const std::string& node) {
    return "store:\n  engine: postgresql\n  postgres_url: \"" + std::string(pg) + " options='-c search_path=" + schema +
           "'\"\n"
           "dispatch:\n"
           "  node_id: " + node + "\n"
           "  poll_interval_ms: 5\n"
           "  lease_ttl_ms: 1000\n"
           "  admin_api: true\n"
           "  subscriptions:\n"
           "    enabled: true\n"
           "    poll_interval_ms: 20\n"
           "    allow_plain_http: true\n";
  };
  ServedNode a(config("node-a"));
  ASSERT_NE(a.port(), 0);
  ServedNode b(config("node-b"));
  ASSERT_NE(b.port(), 0);
  ASSERT_EQ(a.put("/Patient/p1", R"({"resourceType":"Patient","id":"p1"})").status, 201);
  auto created = a.post("/Subscription",
                        R"({"resourceType":"Subscription","status":"requested","reason":"two nodes","criteria":"Goal",)"
                        R"("channel":{"type":"rest-hook","endpoint":")" + receiver.url() + R"(/hook"}})");
  ASSERT_EQ(created.status, 201) << created.body;
  ASSERT_EQ(a.waitForStatus(created.str("id"), "active"), "active");
  // B serves it too: its dispatcher runs the Subscription's subscriber.
  auto on_b = b.getUntil("/metrics", [](const HttpResult& r) {
    return r.body.find("\nplanbro_dispatch_subscribers 1") != std::string::npos;
  });
  ASSERT_NE(on_b.body.find("\nplanbro_dispatch_subscribers 1"), std::string::npos) << on_b.body;

  constexpr int kGoals = 40;
  for (int i = 0; i < kGoals; ++i) {
    const ServedNode& via = i % 2 ? b : a;
    const std::string id = "g" + std::to_string(i);
    ASSERT_EQ(via.put("/Goal/" + id, R"({"resourceType":"Goal","id":")" + id +
                                         R"(","lifecycleStatus":"active","description":{"text":"walk"},)"
                                         R"("subject":{"reference":"Patient/p1"}})")
                  .status,
              201);
  }
  size_t handshakes = 0;
  for (auto& r : receiver.accepted()) handshakes += r.headers.contains("x-subscription-ping") ? 1 : 0;
  ASSERT_TRUE(receiver.waitForAccepted(handshakes + kGoals));
  std::set<std::string> keys;
  size_t notifications = 0;
  for (auto& r : receiver.accepted()) {
    if (r.headers.contains("x-subscription-ping")) continue;
    ++notifications;
    keys.insert(r.headers["idempotency-key"]);
  }
  EXPECT_EQ(keys.size(), static_cast<size_t>(kGoals));  // none lost
  EXPECT_EQ(notifications, static_cast<size_t>(kGoals));  // none twice (no failure, so no redelivery)
}

}  // namespace
}  // namespace planbro::gateway::subscriptions::testing
