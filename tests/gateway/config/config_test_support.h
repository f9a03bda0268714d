#pragma once
// What the config tests share: the errors a YAML text parses to, and one table-driven check of a numeric key's
// contract (its default, a value it takes, the values it refuses with an error naming the key).

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "planbro/gateway/config/gateway_config.h"

namespace planbro::gateway::config::testing {

/** The error message parsing `yaml` gives, or empty when it parses. */
inline std::string errorsOf(const std::string& yaml) {
  auto r = parseConfig(yaml);
  return r.isOk() ? std::string() : r.status().message();
}

/** `key` ("auth.consent_cache_entries") set to `value`, as nested YAML. */
inline std::string yamlSetting(const std::string& key, const std::string& value) {
  std::string yaml;
  std::string indent;
  size_t start = 0;
  for (size_t dot = key.find('.'); dot != std::string::npos; dot = key.find('.', start)) {
    yaml += indent + key.substr(start, dot - start) + ":\n";
    indent += "  ";
    start = dot + 1;
  }
  return yaml + indent + key.substr(start) + ": " + value + "\n";
}

/** One unsigned key: where it is, how to read it from a parsed config, and what it must do. */
struct NumericKey {
  std::string key;                                  // dotted, as errors name it
  std::function<uint64_t(const GatewayConfig&)> read;
  uint64_t default_value;
  std::vector<uint64_t> accepted;                   // values that parse and are read back as given
  std::vector<uint64_t> refused;                    // values refused with an error naming `key`
};

/** Checks `k`'s default (an empty config), each accepted value read back, each refused value's error naming it. */
inline void expectNumericKey(const NumericKey& k) {
  SCOPED_TRACE(k.key);
  auto defaults = parseConfig("");
  ASSERT_TRUE(defaults.isOk()) << defaults.status().message();
  EXPECT_EQ(k.read(*defaults), k.default_value);
  for (uint64_t value : k.accepted) {
    auto c = parseConfig(yamlSetting(k.key, std::to_string(value)));
    ASSERT_TRUE(c.isOk()) << value << ": " << c.status().message();
    EXPECT_EQ(k.read(*c), value);
  }
  for (uint64_t value : k.refused) {
    const std::string e = errorsOf(yamlSetting(k.key, std::to_string(value)));
    EXPECT_NE(e.find(k.key), std::string::npos) << value << ": " << e;
  }
}

}  // namespace planbro::gateway::config::testing
