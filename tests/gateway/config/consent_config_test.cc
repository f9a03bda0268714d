// auth.emergency_access_minutes and auth.consent_max_entries: defaults, bounds, errors naming the key.

#include <gtest/gtest.h>

#include "planbro/gateway/config/gateway_config.h"

namespace planbro::gateway::config {
namespace {

std::string errorsOf(const std::string& yaml) {
  auto r = parseConfig(yaml);
  return r.isOk() ? std::string() : r.status().message();
}

TEST(ConsentConfig, DefaultsAndValues) {
  auto c = parseConfig("");
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_EQ(c->auth.emergency_access_minutes, 60u);
  EXPECT_EQ(c->auth.consent_max_entries, 1000u);
  c = parseConfig("auth:\n  emergency_access_minutes: 15\n  consent_max_entries: 200\n");
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_EQ(c->auth.emergency_access_minutes, 15u);
  EXPECT_EQ(c->auth.consent_max_entries, 200u);
}

TEST(ConsentConfig, OutOfBoundsIsRefusedNamingTheKey) {
  std::string e = errorsOf("auth:\n  emergency_access_minutes: 0\n  consent_max_entries: 100000\n");
  EXPECT_NE(e.find("auth.emergency_access_minutes"), std::string::npos) << e;
  EXPECT_NE(e.find("auth.consent_max_entries"), std::string::npos) << e;
  e = errorsOf("auth:\n  emergency_access_minutes: 1441\n");
  EXPECT_NE(e.find("auth.emergency_access_minutes"), std::string::npos) << e;
}

}  // namespace
}  // namespace planbro::gateway::config
