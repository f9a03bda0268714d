// `server.base_url` and the base URL the gateway derives without it (issue 8, 14).

#include <gtest/gtest.h>

#include "planbro/gateway/config/gateway_config.h"

namespace planbro::gateway::config {
namespace {

std::string errorOf(std::string_view yaml) {
  Result<GatewayConfig> c = parseConfig(yaml, "test.yaml");
  EXPECT_FALSE(c.isOk()) << yaml;
  return c.isOk() ? "" : c.status().message();
}

TEST(BaseUrlConfig, AcceptsAbsoluteHttpAndHttpsUrlsWithOrWithoutPathPortAndTrailingSlash) {
  for (const char* url : {"https://fhir.example.no/fhir", "https://fhir.example.no/fhir/", "http://10.0.0.5:8080",
                          "https://[2001:db8::1]:8443/r4", "https://fhir-test.helse.example.no",
                          "http://localhost:8080/"}) {
    Result<GatewayConfig> c = parseConfig(std::string("server:\n  base_url: \"") + url + "\"\n");
    ASSERT_TRUE(c.isOk()) << url << ": " << c.status().message();
    EXPECT_EQ(c->server.base_url, url);
  }
}

TEST(BaseUrlConfig, RejectsWhatIsNotAnAbsoluteHttpUrlNamingTheKey) {
  EXPECT_EQ(errorOf("server: {base_url: fhir.example.no/fhir}"),
            "server.base_url: must be an absolute URL starting with http:// or https:// (got \"fhir.example.no/fhir\")");
  EXPECT_EQ(errorOf("server: {base_url: \"ftp://fhir.example.no\"}"),
            "server.base_url: must be an absolute URL starting with http:// or https:// (got \"ftp://fhir.example.no\")");
  EXPECT_EQ(errorOf("server: {base_url: \"https://fhir.example.no/fhir?x=1\"}"),
            "server.base_url: must not have a query or a fragment (got \"https://fhir.example.no/fhir?x=1\")");
  EXPECT_EQ(errorOf("server: {base_url: \"https://fhir.example.no/#top\"}"),
            "server.base_url: must not have a query or a fragment (got \"https://fhir.example.no/#top\")");
  EXPECT_EQ(errorOf("server: {base_url: \"https://user:pw@fhir.example.no\"}"),
            "server.base_url: must not carry user info (user@) (got \"https://user:pw@fhir.example.no\")");
  EXPECT_EQ(errorOf("server: {base_url: \"https:///fhir\"}"), "server.base_url: must name a host (got \"https:///fhir\")");
  EXPECT_EQ(errorOf("server: {base_url: \"https://fhir.example.no:0\"}"),
            "server.base_url: the port must be an integer between 1 and 65535 (got \"https://fhir.example.no:0\")");
  EXPECT_EQ(errorOf("server: {base_url: \"https://fhir.example.no:/x\"}"),
            "server.base_url: the port must be an integer between 1 and 65535 (got \"https://fhir.example.no:/x\")");
  EXPECT_EQ(errorOf("server: {base_url: \"https://fhir example.no\"}"),
            "server.base_url: must not contain spaces, control or non-ASCII characters (got \"https://fhir example.no\")");
  EXPECT_EQ(errorOf("server: {base_url: \"https://fhir_x!.no\"}"),
            "server.base_url: the host must be a host name or an IP address (got \"https://fhir_x!.no\")");
  EXPECT_EQ(errorOf("server: {base_url: [a]}"), "server.base_url: must be a string (got a list)");
}

TEST(BaseUrlConfig, EffectiveBaseIsTheConfiguredOneWithoutTrailingSlash) {
  GatewayConfig c = defaultConfig();
  c.server.base_url = "https://fhir.example.no/fhir//";
  EXPECT_EQ(effectiveBaseUrl(c, 8080), "https://fhir.example.no/fhir");
}

TEST(BaseUrlConfig, EffectiveBaseWithoutConfigurationIsTheListeningSchemeHostAndPort) {
  GatewayConfig c = defaultConfig();
  EXPECT_EQ(effectiveBaseUrl(c, 8080), "http://127.0.0.1:8080");
  EXPECT_EQ(effectiveBaseUrl(c, 80), "http://127.0.0.1");
  c.server.tls.certificate_file = "cert.pem";
  c.server.tls.private_key_file = "key.pem";
  EXPECT_EQ(effectiveBaseUrl(c, 8443), "https://127.0.0.1:8443");
  EXPECT_EQ(effectiveBaseUrl(c, 443), "https://127.0.0.1");
  c.server.host = "::1";
  EXPECT_EQ(effectiveBaseUrl(c, 8443), "https://[::1]:8443");
}

TEST(PatchLimitsConfig, ReadsMaxPatchOperationsWithinItsRange) {
  Result<GatewayConfig> c = parseConfig("limits: {max_patch_operations: 50}\n");
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_EQ(c->limits.max_patch_operations, 50u);
  EXPECT_EQ(defaultConfig().limits.max_patch_operations, 1000u);
  EXPECT_EQ(errorOf("limits: {max_patch_operations: 0}"), "limits.max_patch_operations: must be between 1 and 1000000 (got 0)");
}

}  // namespace
}  // namespace planbro::gateway::config
