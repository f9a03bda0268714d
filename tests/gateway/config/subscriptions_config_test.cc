// `dispatch.subscriptions.*`: stored Subscriptions as subscribers, their bounds and the notification receiver
// (docs/dispatch.md, "Subscriptions"; docs/configuration.md).
#include <gtest/gtest.h>

#include "planbro/gateway/config/gateway_config.h"

namespace planbro::gateway::config {
namespace {

TEST(SubscriptionsConfig, DefaultsAreTheDocumentedOnesAndTheExampleHasThem) {
  const DispatchSubscriptionsConfig d = defaultConfig().dispatch.subscriptions;
  EXPECT_FALSE(d.enabled);
  EXPECT_EQ(d.poll_interval_ms, 1000u);
  EXPECT_EQ(d.max_active, 1000u);
  EXPECT_FALSE(d.allow_plain_http);
  EXPECT_TRUE(d.allowed_endpoints.empty());
  EXPECT_EQ(d.max_headers, 10u);
  EXPECT_EQ(d.max_criteria_bytes, 4096u);
  EXPECT_EQ(d.min_heartbeat_s, 10u);
  EXPECT_EQ(d.timeout_ms, 10000u);
  EXPECT_EQ(d.connect_timeout_ms, 5000u);
  EXPECT_EQ(d.max_filters, 10u);
  EXPECT_FALSE(d.receive_notifications);
  EXPECT_EQ(d.receive_scope, "system/planbro.subscription-notify");
  EXPECT_EQ(d.receive_max_entries, 100u);
  EXPECT_EQ(d.max_pings_per_round, 32u);
  EXPECT_EQ(d.max_parallel_pings, 8u);
  auto example = loadConfig(std::string(PLANBRO_TEST_DATA_DIR) + "/../../config/planbro.example.yaml");
  ASSERT_TRUE(example.isOk()) << example.status().message();
  const DispatchSubscriptionsConfig& e = example->dispatch.subscriptions;
  EXPECT_EQ(e.max_pings_per_round, d.max_pings_per_round);
  EXPECT_EQ(e.receive_max_entries, d.receive_max_entries);
  EXPECT_EQ(e.receive_scope, d.receive_scope);
}

TEST(SubscriptionsConfig, KeysAreReadAndCheckedByName) {
  auto c = parseConfig("dispatch:\n  subscriptions:\n    enabled: true\n    allowed_endpoints: [\"https://hn.example/\"]\n"
                       "    receive_notifications: true\n    max_parallel_pings: 2\n");
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_TRUE(c->dispatch.subscriptions.enabled);
  EXPECT_EQ(c->dispatch.subscriptions.allowed_endpoints, std::vector<std::string>{"https://hn.example/"});
  EXPECT_TRUE(c->dispatch.subscriptions.receive_notifications);
  EXPECT_EQ(c->dispatch.subscriptions.max_parallel_pings, 2u);
  for (const char* bad : {"max_parallel_pings: 0", "max_pings_per_round: 5000", "receive_max_entries: 0",
                          "min_heartbeat_s: 0", "poll_interval_ms: 1"}) {
    auto r = parseConfig(std::string("dispatch:\n  subscriptions:\n    ") + bad + "\n");
    ASSERT_FALSE(r.isOk()) << bad;
    const std::string key = std::string(bad).substr(0, std::string(bad).find(':'));
    EXPECT_NE(r.status().message().find("dispatch.subscriptions." + key), std::string::npos) << r.status().message();
  }
  auto unknown = parseConfig("dispatch:\n  subscriptions:\n    heartbeat: 5\n");
  ASSERT_FALSE(unknown.isOk());
  EXPECT_NE(unknown.status().message().find("dispatch.subscriptions"), std::string::npos) << unknown.status().message();
}

}  // namespace
}  // namespace planbro::gateway::config
