// adapters.plo.msh (the MSH API v2 transport) and dispatch subscribers of kind plo: typed, bounded, validated whole;
// unknown keys rejected; every error names its key.
#include <gtest/gtest.h>

#include <string>

#include "planbro/gateway/config/gateway_config.h"

namespace planbro::gateway::config {
namespace {

const std::string kMsh =
    "adapters:\n"
    "  plo:\n"
    "    enabled: true\n"
    "    her_id: \"112375\"\n"
    "    msh:\n"
    "      base_url: https://api.example.nhn.no\n"
    "      token_endpoint: https://helseid.example.nhn.no/connect/token\n"
    "      client_id: planbro-trondheim\n"
    "      key_file: /etc/planbro/helseid.jwk\n";

std::string errorOf(const std::string& yaml) {
  Result<GatewayConfig> c = parseConfig(yaml, "test.yaml");
  EXPECT_FALSE(c.isOk()) << yaml;
  return c.isOk() ? "" : c.status().message();
}

TEST(PloMshConfig, AMinimalTransportParsesWithSafeDefaults) {
  auto c = parseConfig(kMsh, "test.yaml");
  ASSERT_TRUE(c.isOk()) << c.status().message();
  const PloMshConfig& m = c->adapters.plo.msh;
  EXPECT_EQ(m.base_url, "https://api.example.nhn.no");
  EXPECT_EQ(m.poll_interval_ms, 5000u);
  EXPECT_EQ(m.max_messages_per_poll, 100u);
  EXPECT_EQ(m.timeout_ms, 30000u);
  EXPECT_EQ(m.connect_timeout_ms, 5000u);
  EXPECT_EQ(m.max_attempts, 4u);
  EXPECT_FALSE(m.allow_plain_http);
  // With the message service configured the file spool is optional.
  EXPECT_TRUE(c->adapters.plo.spool.in_dir.empty());
}

TEST(PloMshConfig, AnUnknownKeyIsRejectedByName) {
  EXPECT_NE(errorOf(kMsh + "      password: x\n").find("adapters.plo.msh"), std::string::npos);
  EXPECT_NE(errorOf(kMsh + "      password: x\n").find("password"), std::string::npos);
}

TEST(PloMshConfig, PlainHttpAndMissingCredentialsAreErrorsNamingTheKey) {
  std::string yaml = kMsh;
  yaml.replace(yaml.find("https://api"), 8, "http://");
  EXPECT_NE(errorOf(yaml).find("adapters.plo.msh.base_url: must be an https:// URL"), std::string::npos);
  EXPECT_TRUE(parseConfig(yaml + "      allow_plain_http: true\n", "test.yaml").isOk());

  std::string no_key = kMsh;
  no_key.erase(no_key.find("      key_file"));
  EXPECT_NE(errorOf(no_key).find("adapters.plo.msh.key_file: must be set"), std::string::npos);

  std::string no_her = kMsh;
  no_her.erase(no_her.find("    her_id"), std::string("    her_id: \"112375\"\n").size());
  EXPECT_NE(errorOf(no_her).find("adapters.plo.her_id: must be set"), std::string::npos);
}

TEST(PloMshConfig, LimitsAreBounded) {
  EXPECT_NE(errorOf(kMsh + "      max_messages_per_poll: 101\n").find("adapters.plo.msh.max_messages_per_poll"),
            std::string::npos);
  EXPECT_NE(errorOf(kMsh + "      max_attempts: 0\n").find("adapters.plo.msh.max_attempts"), std::string::npos);
  EXPECT_NE(errorOf(kMsh + "      timeout_ms: 10\n").find("adapters.plo.msh.timeout_ms"), std::string::npos);
  EXPECT_NE(errorOf(kMsh + "      backoff_initial_ms: 5000\n      backoff_max_ms: 10\n")
                .find("adapters.plo.msh.backoff_max_ms"),
            std::string::npos);
}

TEST(PloMshConfig, APloSubscriberNeedsTheTransportAndNoEndpoint) {
  const std::string subscriber = "dispatch:\n  subscribers:\n    - name: plo-out\n      kind: plo\n";
  auto c = parseConfig(kMsh + subscriber, "test.yaml");
  ASSERT_TRUE(c.isOk()) << c.status().message();
  ASSERT_EQ(c->dispatch.subscribers.size(), 1u);
  EXPECT_EQ(c->dispatch.subscribers[0].kind, "plo");
  EXPECT_EQ(c->dispatch.subscribers[0].source_system, "adapter:plo");  // never echoes a message back

  EXPECT_NE(errorOf(subscriber).find("plo needs adapters.plo.enabled and adapters.plo.msh.base_url"),
            std::string::npos);
  EXPECT_NE(errorOf(kMsh + subscriber + "      endpoint: https://x.example\n")
                .find("dispatch.subscribers[0].endpoint: must be empty for kind plo"),
            std::string::npos);
  EXPECT_NE(errorOf(kMsh + "dispatch:\n  subscribers:\n    - name: x\n      kind: fax\n      endpoint: https://x\n")
                .find("dispatch.subscribers[0].kind: must be one of rest-hook, plo"),
            std::string::npos);
}

TEST(PloMshConfig, AppRecWaitingAndTheMailboxHeadAreBoundedKeys) {
  auto c = parseConfig(kMsh, "test.yaml");
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_EQ(c->adapters.plo.apprec_timeout_minutes, 60u);
  EXPECT_EQ(c->adapters.plo.apprec_max_resends, 2u);
  EXPECT_EQ(c->adapters.plo.apprec_max_per_sweep, 100u);
  EXPECT_EQ(c->adapters.plo.msh.max_failures_per_message, 5u);
  auto set = parseConfig(kMsh + "      max_failures_per_message: 3\n    apprec_timeout_minutes: 15\n"
                                "    apprec_max_resends: 0\n", "test.yaml");
  ASSERT_TRUE(set.isOk()) << set.status().message();
  EXPECT_EQ(set->adapters.plo.msh.max_failures_per_message, 3u);
  EXPECT_EQ(set->adapters.plo.apprec_timeout_minutes, 15u);
  EXPECT_EQ(set->adapters.plo.apprec_max_resends, 0u);
  EXPECT_NE(errorOf(kMsh + "    apprec_timeout_minutes: 0\n").find("adapters.plo.apprec_timeout_minutes"),
            std::string::npos);
  EXPECT_NE(errorOf(kMsh + "    apprec_max_resends: 11\n").find("adapters.plo.apprec_max_resends"), std::string::npos);
  EXPECT_NE(errorOf(kMsh + "    apprec_max_per_sweep: 0\n").find("adapters.plo.apprec_max_per_sweep"),
            std::string::npos);
  EXPECT_NE(errorOf(kMsh + "      max_failures_per_message: 0\n").find("adapters.plo.msh.max_failures_per_message"),
            std::string::npos);
}

TEST(PloMshConfig, AnUnknownAdapterNameIsAnErrorNamingTheKey) {
  EXPECT_NE(errorOf("adapters:\n  dips:\n    enabled: true\n").find("adapters.dips"), std::string::npos);
}

}  // namespace
}  // namespace planbro::gateway::config
