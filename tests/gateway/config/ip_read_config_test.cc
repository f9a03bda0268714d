// `ip_read.*`: the bounds of $ip-status, $ip-deadlines and the generated narrative (docs/ip-operations.md).
#include <gtest/gtest.h>

#include "planbro/gateway/config/gateway_config.h"

namespace planbro::gateway::config {
namespace {

TEST(IpReadConfig, DefaultsAreTheDocumentedOnes) {
  GatewayConfig c = defaultConfig();
  EXPECT_EQ(c.ip_read.max_plans_per_patient, 100u);
  EXPECT_EQ(c.ip_read.deadlines_max_within_days, 366u);
  EXPECT_EQ(c.ip_read.deadlines_max_plans, 10000u);
  EXPECT_EQ(c.ip_read.narrative_max_references, 200u);
}

TEST(IpReadConfig, TheAnnotatedExampleHasTheDefaults) {
  auto c = loadConfig(std::string(PLANBRO_TEST_DATA_DIR) + "/../../config/planbro.example.yaml");
  ASSERT_TRUE(c.isOk()) << c.status().message();
  GatewayConfig d = defaultConfig();
  EXPECT_EQ(c->ip_read.max_plans_per_patient, d.ip_read.max_plans_per_patient);
  EXPECT_EQ(c->ip_read.deadlines_max_within_days, d.ip_read.deadlines_max_within_days);
  EXPECT_EQ(c->ip_read.deadlines_max_plans, d.ip_read.deadlines_max_plans);
  EXPECT_EQ(c->ip_read.narrative_max_references, d.ip_read.narrative_max_references);
}

TEST(IpReadConfig, KeysAreReadAndCheckedByName) {
  auto c = parseConfig("ip_read:\n  max_plans_per_patient: 5\n  deadlines_max_within_days: 30\n"
                       "  deadlines_max_plans: 50\n  narrative_max_references: 7\n");
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_EQ(c->ip_read.max_plans_per_patient, 5u);
  EXPECT_EQ(c->ip_read.deadlines_max_within_days, 30u);
  EXPECT_EQ(c->ip_read.deadlines_max_plans, 50u);
  EXPECT_EQ(c->ip_read.narrative_max_references, 7u);

  auto zero = parseConfig("ip_read:\n  deadlines_max_plans: 0\n");
  ASSERT_FALSE(zero.isOk());
  EXPECT_NE(zero.status().message().find("ip_read.deadlines_max_plans"), std::string::npos) << zero.status().message();
  auto unknown = parseConfig("ip_read:\n  max_plans: 5\n");
  ASSERT_FALSE(unknown.isOk());
  EXPECT_NE(unknown.status().message().find("ip_read.max_plans"), std::string::npos) << unknown.status().message();
}

}  // namespace
}  // namespace planbro::gateway::config
