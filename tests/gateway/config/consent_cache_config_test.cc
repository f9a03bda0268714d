// auth.consent_cache_entries and auth.consent_compartment_cache_mb: defaults, values, bounds naming the key.

#include <gtest/gtest.h>

#include "planbro/gateway/config/gateway_config.h"

namespace planbro::gateway::config {
namespace {

TEST(ConsentCacheConfig, DefaultsValuesAndBounds) {
  auto c = parseConfig("");
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_EQ(c->auth.consent_cache_entries, 10000u);
  EXPECT_EQ(c->auth.consent_compartment_cache_mb, 8u);
  c = parseConfig("auth:\n  consent_cache_entries: 0\n  consent_compartment_cache_mb: 0\n");
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_EQ(c->auth.consent_cache_entries, 0u);
  EXPECT_EQ(c->auth.consent_compartment_cache_mb, 0u);
  auto bad = parseConfig("auth:\n  consent_cache_entries: 2000000\n  consent_compartment_cache_mb: 5000\n");
  ASSERT_FALSE(bad.isOk());
  EXPECT_NE(bad.status().message().find("auth.consent_cache_entries"), std::string::npos) << bad.status().message();
  EXPECT_NE(bad.status().message().find("auth.consent_compartment_cache_mb"), std::string::npos)
      << bad.status().message();
}

}  // namespace
}  // namespace planbro::gateway::config
