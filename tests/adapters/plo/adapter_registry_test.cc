// The adapter registry: the shipped adapters registered by name and dispatch kind, a name or kind registered twice
// refused, an unknown name or kind not found.
#include "planbro/adapters/adapter_registry.h"

#include <gtest/gtest.h>

#include "planbro/adapters/plo/plo_registration.h"

namespace planbro::adapters {
namespace {

TEST(AdapterRegistry, PloIsRegisteredByNameAndKind) {
  const AdapterRegistry& builtin = builtinAdapters();
  const AdapterFactory* plo = builtin.find("plo");
  ASSERT_NE(plo, nullptr);
  EXPECT_EQ(builtin.forTransportKind("plo"), plo);
  EXPECT_EQ(builtin.find("dips"), nullptr);
  EXPECT_EQ(builtin.forTransportKind("rest-hook"), nullptr);
  gateway::config::GatewayConfig config;
  EXPECT_FALSE(plo->enabled(config));
  config.adapters.plo.enabled = true;
  EXPECT_TRUE(plo->enabled(config));
}

TEST(AdapterRegistry, ANameOrKindRegisteredTwiceIsRefused) {
  AdapterRegistry registry;
  ASSERT_TRUE(plo::registerPloAdapter(registry).isOk());
  EXPECT_FALSE(plo::registerPloAdapter(registry).isOk());
  AdapterFactory other;
  other.name = "other";
  other.transport_kind = "plo";
  other.enabled = [](const gateway::config::GatewayConfig&) { return false; };
  other.start = [](const AdapterContext&) -> Result<std::unique_ptr<RunningAdapter>> {
    return invalidArgument("not started in this test");
  };
  Status twice = registry.add(other);
  EXPECT_FALSE(twice.isOk());
  EXPECT_NE(twice.message().find("plo"), std::string::npos) << twice.message();
  other.transport_kind = "other";
  EXPECT_TRUE(registry.add(other).isOk());
  EXPECT_EQ(registry.all().size(), 2u);
  AdapterFactory unnamed = other;
  unnamed.name.clear();
  EXPECT_FALSE(registry.add(unnamed).isOk());
}

}  // namespace
}  // namespace planbro::adapters
