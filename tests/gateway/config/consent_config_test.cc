// The consent keys of auth.*: emergency_access_minutes, consent_max_entries, consent_cache_entries and
// consent_compartment_cache_mb; defaults, values read, bounds refused naming the key.

#include "config_test_support.h"

namespace planbro::gateway::config {
namespace {

using testing::expectNumericKey;

TEST(ConsentConfig, EmergencyAccessMinutes) {
  expectNumericKey({"auth.emergency_access_minutes", [](const GatewayConfig& c) { return c.auth.emergency_access_minutes; },
                    60, {1, 15, 1440}, {0, 1441}});
}

TEST(ConsentConfig, ConsentMaxEntries) {
  expectNumericKey({"auth.consent_max_entries", [](const GatewayConfig& c) { return c.auth.consent_max_entries; }, 1000,
                    {10, 200, 1000}, {9, 1001, 100000}});
}

TEST(ConsentCacheConfig, ConsentCacheEntries) {
  expectNumericKey({"auth.consent_cache_entries", [](const GatewayConfig& c) { return c.auth.consent_cache_entries; },
                    10000, {0, 1000000}, {1000001, 2000000}});
}

TEST(ConsentCacheConfig, ConsentCompartmentCacheMb) {
  expectNumericKey({"auth.consent_compartment_cache_mb",
                    [](const GatewayConfig& c) { return c.auth.consent_compartment_cache_mb; }, 8, {0, 4096}, {4097, 5000}});
}

}  // namespace
}  // namespace planbro::gateway::config
