#include "planbro/gateway/config/gateway_config.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

namespace planbro::gateway::config {
namespace {

const std::string kExamplePath = std::string(PLANBRO_TEST_DATA_DIR) + "/../../config/planbro.example.yaml";

std::string errorOf(std::string_view yaml) {
  Result<GatewayConfig> c = parseConfig(yaml, "test.yaml");
  EXPECT_FALSE(c.isOk()) << yaml;
  return c.isOk() ? "" : c.status().message();
}

TEST(GatewayConfig, EmbeddedDefaultListensOnLoopback8080WithSqliteUnderDataAndNoDemoData) {
  GatewayConfig c = defaultConfig();
  EXPECT_EQ(c.server.host, "127.0.0.1");
  EXPECT_EQ(c.server.port, 8080);
  EXPECT_EQ(c.store.engine, StoreEngine::kSqlite);
  EXPECT_EQ(c.store.data_dir, "./data");
  EXPECT_EQ(c.store.sqlitePath(), "./data/planbro.db");
  EXPECT_FALSE(c.demo_data.load_once);  // only when asked (--demo-data)
  EXPECT_FALSE(GatewayConfig{}.demo_data.load_once);
  EXPECT_TRUE(parseConfig(embeddedDefaultConfigYaml(), "embedded").isOk());
}

TEST(GatewayConfig, EmptyDocumentYieldsTheDefaults) {
  Result<GatewayConfig> c = parseConfig("", "empty.yaml");
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_EQ(c->server.port, 8080);
  EXPECT_EQ(c->limits.max_header_bytes, defaultConfig().limits.max_header_bytes);
}

TEST(GatewayConfig, AnnotatedExampleFileIsValidAndEqualsTheEmbeddedDefault) {
  ASSERT_TRUE(validateConfigFile(kExamplePath).isOk()) << validateConfigFile(kExamplePath).message();
  Result<GatewayConfig> c = loadConfig(kExamplePath);
  ASSERT_TRUE(c.isOk());
  GatewayConfig d = defaultConfig();
  EXPECT_EQ(c->server.host, d.server.host);
  EXPECT_EQ(c->server.port, d.server.port);
  EXPECT_EQ(c->server.io_threads, d.server.io_threads);
  EXPECT_EQ(c->server.worker_threads, d.server.worker_threads);
  EXPECT_EQ(c->limits.max_body_bytes, d.limits.max_body_bytes);
  EXPECT_EQ(c->limits.max_connections, d.limits.max_connections);
  EXPECT_EQ(c->limits.idle_timeout_ms, d.limits.idle_timeout_ms);
  EXPECT_EQ(c->limits.json_max_depth, d.limits.json_max_depth);
  EXPECT_EQ(c->store.sqlitePath(), d.store.sqlitePath());
  EXPECT_EQ(c->logging.level, d.logging.level);
  EXPECT_EQ(c->demo_data.load_once, d.demo_data.load_once);
  EXPECT_EQ(c->limits.max_bundle_response_bytes, d.limits.max_bundle_response_bytes);
  EXPECT_EQ(c->rest.check_references, d.rest.check_references);
  EXPECT_EQ(c->rest.transaction_writer_budget_ms, d.rest.transaction_writer_budget_ms);
}

TEST(GatewayConfig, ReadsEverySectionIntoTypedFields) {
  Result<GatewayConfig> c = parseConfig(R"(
server: {listen: "[::1]:0", io_threads: 3, worker_threads: 0, shutdown_timeout_ms: 500, gzip_min_bytes: 10}
limits:
  max_header_bytes: 8192
  max_body_bytes: 1000
  max_connections: 7
  read_timeout_ms: 200
  write_timeout_ms: 300
  idle_timeout_ms: 400
  json: {max_depth: 32, max_number_length: 20, max_string_bytes: 99}
store: {engine: postgresql, postgres_url: "postgresql://localhost/planbro", pool_size: 8}
logging: {level: debug, format: text, access_log: false}
demo_data: {load_once: true}
)");
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_EQ(c->server.host, "::1");
  EXPECT_EQ(c->server.port, 0);
  EXPECT_EQ(c->server.io_threads, 3u);
  EXPECT_EQ(c->server.worker_threads, 0u);
  EXPECT_EQ(c->limits.max_connections, 7u);
  EXPECT_EQ(c->limits.read_timeout_ms, 200u);
  EXPECT_EQ(c->store.engine, StoreEngine::kPostgresql);
  EXPECT_EQ(c->store.pool_size, 8u);
  EXPECT_EQ(c->logging.format, LogFormat::kText);
  EXPECT_FALSE(c->logging.access_log);
  EXPECT_TRUE(c->demo_data.load_once);
  fhir::JsonLimits j = c->jsonLimits();
  EXPECT_EQ(j.max_depth, 32u);
  EXPECT_EQ(j.max_number_length, 20u);
  EXPECT_EQ(j.max_string_bytes, 99u);
  EXPECT_EQ(j.max_bytes, 1000u);
}

TEST(GatewayConfig, ReadsTheWriteRulesAndTheBundleResponseLimit) {
  GatewayConfig d = defaultConfig();
  EXPECT_TRUE(d.rest.check_references);
  EXPECT_EQ(d.rest.transaction_writer_budget_ms, 10000u);
  EXPECT_EQ(d.limits.max_bundle_response_bytes, 4 * d.limits.max_body_bytes);
  Result<GatewayConfig> c = parseConfig(
      "rest:\n  check_references: false\n  transaction_writer_budget_ms: 250\nlimits:\n"
      "  max_bundle_response_bytes: 1048576\n");
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_FALSE(c->rest.check_references);
  EXPECT_EQ(c->rest.transaction_writer_budget_ms, 250u);
  EXPECT_EQ(c->limits.max_bundle_response_bytes, 1048576u);
  EXPECT_NE(errorOf("rest:\n  check_refs: true\n").find("rest.check_refs: unknown key"), std::string::npos);
  EXPECT_NE(errorOf("rest:\n  transaction_writer_budget_ms: 0\n").find("rest.transaction_writer_budget_ms"),
            std::string::npos);
  EXPECT_NE(errorOf("limits:\n  max_bundle_response_bytes: 10\n").find("limits.max_bundle_response_bytes"),
            std::string::npos);
}

TEST(GatewayConfig, OutOfRangeNamesKeyRuleAndValue) {
  EXPECT_EQ(errorOf("server:\n  io_threads: 0\n"), "server.io_threads: must be between 1 and 256 (got 0)");
}

TEST(GatewayConfig, SearchLimitsAndTheStatementCacheAreConfigKeysWithSafeDefaults) {
  GatewayConfig d = defaultConfig();
  EXPECT_EQ(d.limits.search.max_parameters, 100u);
  EXPECT_EQ(d.limits.search.max_or_values, 1000u);
  EXPECT_EQ(d.limits.search.max_work_rows, 250000u);
  EXPECT_EQ(d.store.statement_cache_kb, 4096u);
  auto c = parseConfig("limits:\n  search: {max_or_values: 50, max_work_rows: 1000, max_chain_depth: 2}\n"
                       "store: {statement_cache_kb: 512}\n");
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_EQ(c->limits.search.max_or_values, 50u);
  EXPECT_EQ(c->limits.search.max_work_rows, 1000u);
  EXPECT_EQ(c->limits.search.max_chain_depth, 2u);
  EXPECT_EQ(c->limits.search.max_parameters, 100u);
  EXPECT_EQ(c->store.statement_cache_kb, 512u);
  EXPECT_EQ(errorOf("limits: {search: {max_or_values: 0}}"),
            "limits.search.max_or_values: must be between 1 and 100000 (got 0)");
  EXPECT_NE(errorOf("limits: {search: {max_values: 5}}").find("limits.search.max_values"), std::string::npos);
}

TEST(GatewayConfig, TlsNeedsBothFilesAndAKnownMinimumVersion) {
  auto ok = parseConfig("server:\n  tls:\n    certificate_file: /etc/c.pem\n    private_key_file: /etc/k.pem\n"
                        "    min_version: \"1.3\"\n");
  ASSERT_TRUE(ok.isOk()) << ok.status().message();
  EXPECT_TRUE(ok->server.tls.enabled());
  EXPECT_EQ(ok->server.tls.min_version, "1.3");
  EXPECT_FALSE(parseConfig("server: {}").value().server.tls.enabled());
  EXPECT_EQ(errorOf("server: {tls: {certificate_file: /etc/c.pem}}"),
            "server.tls.private_key_file: must be set with server.tls.certificate_file (got \"\")");
  EXPECT_EQ(errorOf("server: {tls: {min_version: \"1.1\"}}"),
            "server.tls.min_version: must be \"1.2\" or \"1.3\" (got \"1.1\")");
  EXPECT_NE(errorOf("server: {tls: {cert: x}}").find("server.tls.cert: unknown key"), std::string::npos);
}

TEST(GatewayConfig, UnknownKeyIsRejectedWithItsPath) {
  std::string e = errorOf("server:\n  io_thread: 2\n");
  EXPECT_NE(e.find("server.io_thread: unknown key"), std::string::npos) << e;
  e = errorOf("sever: {}\n");
  EXPECT_NE(e.find("sever: unknown key"), std::string::npos) << e;
  e = errorOf("limits: {json: {depth: 3}}\n");
  EXPECT_NE(e.find("limits.json.depth: unknown key"), std::string::npos) << e;
}

TEST(GatewayConfig, WrongTypesAreRejected) {
  EXPECT_EQ(errorOf("limits: {max_body_bytes: lots}"),
            "limits.max_body_bytes: must be an integer between 1 and 4294967296 (got \"lots\")");
  EXPECT_EQ(errorOf("limits: {read_timeout_ms: -5}"),
            "limits.read_timeout_ms: must be an integer between 1 and 3600000 (got \"-5\")");
  EXPECT_EQ(errorOf("demo_data: {load_once: maybe}"), "demo_data.load_once: must be true or false (got \"maybe\")");
  EXPECT_EQ(errorOf("server: [1, 2]"), "server: must be a mapping of keys (got a list)");
  EXPECT_EQ(errorOf("store: {data_dir: [a]}"), "store.data_dir: must be a string (got a list)");
  EXPECT_EQ(errorOf("- a\n- b\n"), "(top level): must be a mapping of keys (got a list)");
}

TEST(GatewayConfig, EnumeratedValuesAreChecked) {
  EXPECT_EQ(errorOf("store: {engine: mysql}"), "store.engine: must be one of sqlite, postgresql (got \"mysql\")");
  EXPECT_EQ(errorOf("logging: {format: xml}"), "logging.format: must be one of json, text (got \"xml\")");
  EXPECT_NE(errorOf("logging: {level: loud}").find("logging.level: must be one of"), std::string::npos);
}

TEST(GatewayConfig, ListenMustBeHostColonPort) {
  EXPECT_EQ(errorOf("server: {listen: localhost}"),
            "server.listen: must be HOST:PORT or [IPv6]:PORT (got \"localhost\")");
  EXPECT_EQ(errorOf("server: {listen: \"127.0.0.1:70000\"}"),
            "server.listen: port must be an integer between 0 and 65535 (got \"127.0.0.1:70000\")");
  EXPECT_NE(errorOf("server: {listen: \":80\"}").find("server.listen: must name a host"), std::string::npos);
}

TEST(GatewayConfig, PostgresqlEngineRequiresAUrl) {
  EXPECT_EQ(errorOf("store: {engine: postgresql}"),
            "store.postgres_url: must be set when store.engine is postgresql (got \"\")");
}

TEST(GatewayConfig, ReportsAllErrorsAtOnce) {
  std::string e = errorOf("server: {io_threads: 0, worker_threads: x}\nlimits: {max_connections: 0}\nbogus: 1\n");
  EXPECT_NE(e.find("server.io_threads"), std::string::npos) << e;
  EXPECT_NE(e.find("server.worker_threads"), std::string::npos) << e;
  EXPECT_NE(e.find("limits.max_connections"), std::string::npos) << e;
  EXPECT_NE(e.find("bogus: unknown key"), std::string::npos) << e;
  EXPECT_EQ(std::count(e.begin(), e.end(), '\n'), 3) << e;
}

TEST(GatewayConfig, YamlSyntaxErrorIsReportedWithLineAndNeverThrows) {
  std::string e = errorOf("server:\n  listen: [unclosed\n");
  EXPECT_NE(e.find("test.yaml: invalid YAML at line"), std::string::npos) << e;
}

TEST(GatewayConfig, MissingFileIsNotFound) {
  Result<GatewayConfig> c = loadConfig("/nonexistent/planbro.yaml");
  ASSERT_FALSE(c.isOk());
  EXPECT_EQ(c.status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(validateConfigFile("/nonexistent/planbro.yaml").isOk());
}

TEST(GatewayConfig, CommandLineOverridesWinOverTheFile) {
  Result<GatewayConfig> c = parseConfig("server: {listen: \"0.0.0.0:9000\", io_threads: 8}\nstore: {data_dir: /a}\n");
  ASSERT_TRUE(c.isOk());
  ConfigOverrides o;
  o.listen = "127.0.0.1:0";
  o.data_dir = "/b";
  o.threads = 1;
  ASSERT_TRUE(applyOverrides(*c, o).isOk());
  EXPECT_EQ(c->server.host, "127.0.0.1");
  EXPECT_EQ(c->server.port, 0);
  EXPECT_EQ(c->server.io_threads, 1u);
  EXPECT_EQ(c->store.sqlitePath(), "/b/planbro.db");
}

TEST(GatewayConfig, InvalidOverridesNameTheOption) {
  GatewayConfig c = defaultConfig();
  ConfigOverrides o;
  o.listen = "nope";
  o.threads = 0;
  Status s = applyOverrides(c, o);
  ASSERT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("--listen: must be HOST:PORT"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("--threads: must be between 1 and 256 (got 0)"), std::string::npos) << s.message();
}

TEST(GatewayConfig, LoadsFromAFile) {
  std::string path = ::testing::TempDir() + "/planbro_config_test.yaml";
  {
    std::ofstream out(path);
    out << "server:\n  listen: 127.0.0.1:1234\n";
  }
  Result<GatewayConfig> c = loadConfig(path);
  std::remove(path.c_str());
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_EQ(c->server.port, 1234);
}

TEST(GatewayConfig, CorsOriginsAreExactOrigins) {
  Result<GatewayConfig> c = parseConfig(
      "server:\n  cors:\n    allowed_origins: [\"https://www.helsenorge.no\", \"http://localhost:3000\"]\n");
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_EQ(c->server.cors.allowed_origins,
            (std::vector<std::string>{"https://www.helsenorge.no", "http://localhost:3000"}));
  EXPECT_TRUE(defaultConfig().server.cors.allowed_origins.empty());
  Result<GatewayConfig> bad = parseConfig("server:\n  cors:\n    allowed_origins: [\"*\", \"https://a.no/path\"]\n");
  ASSERT_FALSE(bad.isOk());
  EXPECT_NE(bad.status().message().find("server.cors.allowed_origins[0]: must be an exact origin"), std::string::npos)
      << bad.status().message();
  EXPECT_NE(bad.status().message().find("server.cors.allowed_origins[1]"), std::string::npos);
}

TEST(GatewayConfig, MetricsListenIsHostColonPortOrEmpty) {
  EXPECT_TRUE(defaultConfig().server.metrics_listen.empty());
  Result<GatewayConfig> c = parseConfig("server:\n  metrics_listen: 127.0.0.1:9464\n");
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_EQ(c->server.metrics_host, "127.0.0.1");
  EXPECT_EQ(c->server.metrics_port, 9464);
  Result<GatewayConfig> bad = parseConfig("server:\n  metrics_listen: nope\n");
  ASSERT_FALSE(bad.isOk());
  EXPECT_NE(bad.status().message().find("server.metrics_listen:"), std::string::npos) << bad.status().message();
}

TEST(GatewayConfig, InflightBodyBudgetIsReadAndMustHoldOneMaximalBody) {
  Result<GatewayConfig> c = parseConfig("limits:\n  max_inflight_body_bytes: 33554432\n");
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_EQ(c->limits.max_inflight_body_bytes, 33554432u);
  EXPECT_EQ(defaultConfig().limits.max_inflight_body_bytes, 256ull << 20);
  Result<GatewayConfig> small = parseConfig("limits:\n  max_body_bytes: 2000\n  max_inflight_body_bytes: 1000\n");
  ASSERT_FALSE(small.isOk());
  EXPECT_NE(small.status().message().find("limits.max_inflight_body_bytes: must be at least limits.max_body_bytes"),
            std::string::npos)
      << small.status().message();
}

}  // namespace
}  // namespace planbro::gateway::config

namespace planbro::gateway::config {
namespace {

TEST(GatewayConfig, FhirModelLimitsAreReadAndChecked) {
  auto c = parseConfig("limits:\n  fhirpath: {max_steps: 20000, max_collection_items: 1000, max_string_bytes: 4096}\n"
                       "  xml: {max_attributes: 8, max_name_bytes: 64}\n  validation: {max_issues: 50}\n"
                       "  regex: {max_pattern_bytes: 128, max_program_size: 500}\n");
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_EQ(c->limits.fhirpath_max_steps, 20000u);
  EXPECT_EQ(c->limits.fhirpath_max_collection_items, 1000u);
  EXPECT_EQ(c->limits.fhirpath_max_string_bytes, 4096u);
  EXPECT_EQ(c->limits.xml_max_attributes, 8u);
  EXPECT_EQ(c->limits.xml_max_name_bytes, 64u);
  EXPECT_EQ(c->limits.validation_max_issues, 50u);
  EXPECT_EQ(c->limits.regex_max_pattern_bytes, 128u);
  EXPECT_EQ(c->limits.regex_max_program_size, 500u);
  GatewayConfig d = defaultConfig();
  EXPECT_EQ(d.limits.fhirpath_max_steps, 5'000'000u);
  EXPECT_EQ(d.limits.xml_max_attributes, 64u);
  EXPECT_EQ(d.limits.validation_max_issues, 1000u);
  auto bad = parseConfig("limits: {fhirpath: {max_steps: 0}, xml: {max_attrs: 3}}\n");
  ASSERT_FALSE(bad.isOk());
  EXPECT_NE(bad.status().message().find("limits.fhirpath.max_steps: must be between 1000"),
            std::string::npos) << bad.status().message();
  EXPECT_NE(bad.status().message().find("limits.xml.max_attrs: unknown key"), std::string::npos)
      << bad.status().message();
}

}  // namespace
}  // namespace planbro::gateway::config

namespace planbro::gateway::config {
namespace {

TEST(GatewayConfig, IpFiguresLimitsAreTypedBoundedAndNamed) {
  GatewayConfig d;
  EXPECT_EQ(d.ip_figures.max_work_rows, 2'000'000u);
  EXPECT_EQ(d.ip_figures.max_period_years, 10u);
  Result<GatewayConfig> c = parseConfig("ip_figures:\n  max_work_rows: 5000\n  max_period_years: 2\n", "test");
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_EQ(c->ip_figures.max_work_rows, 5000u);
  EXPECT_EQ(c->ip_figures.max_period_years, 2u);
  for (const char* bad : {"ip_figures:\n  max_work_rows: 0\n", "ip_figures:\n  max_period_years: 0\n",
                          "ip_figures:\n  max_period_years: 101\n"}) {
    Result<GatewayConfig> r = parseConfig(bad, "test");
    ASSERT_FALSE(r.isOk()) << bad;
    EXPECT_NE(r.status().message().find("ip_figures.max_"), std::string::npos) << r.status().message();
  }
  Result<GatewayConfig> unknown = parseConfig("ip_figures:\n  max_rows: 1\n", "test");
  ASSERT_FALSE(unknown.isOk());
  EXPECT_NE(unknown.status().message().find("ip_figures.max_rows: unknown key"), std::string::npos);
}

TEST(DispatchConfig, ReadsSubscribersAndRejectsUnsafeOnesNamingTheKeyButNeverAHeaderValue) {
  auto c = parseConfig(R"(
dispatch:
  partitions: 8
  max_attempts: 3
  subscribers:
    - name: helsenorge
      endpoint: https://fhir.example.no/fhir
      payload: id-only
      headers: ["Authorization: Bearer abc"]
      source_system: adapter:helsenorge
      types: [CarePlan, Goal]
      start: beginning
      receiver_organization: "974589095"
)");
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_EQ(c->dispatch.partitions, 8u);
  EXPECT_EQ(c->dispatch.max_attempts, 3u);
  ASSERT_EQ(c->dispatch.subscribers.size(), 1u);
  const DispatchSubscriberConfig& s = c->dispatch.subscribers[0];
  EXPECT_EQ(s.name, "helsenorge");
  EXPECT_EQ(s.payload, "id-only");
  EXPECT_EQ(s.headers, std::vector<std::string>{"Authorization: Bearer abc"});
  EXPECT_EQ(s.types, (std::vector<std::string>{"CarePlan", "Goal"}));
  EXPECT_EQ(s.start, "beginning");
  EXPECT_EQ(s.receiver_organization, "974589095");
  EXPECT_TRUE(defaultConfig().dispatch.subscribers.empty());  // off by default

  auto bad = parseConfig(R"(
dispatch:
  poll_interval_ms: 20000
  commit_interval_ms: 10000
  subscribers:
    - name: a
      endpoint: http://insecure.example.no/
      payload: everything
      headers: ["Authorization: Bearer top-secret\nX: y", "no-colon"]
    - name: a
      endpoint: https://x.example.no
      client_cert_file: /c.pem
      colour: blue
    - name: c
      endpoint: https://c.example.no
      receiver_organization: "12345"
      receiver_her_id: "HER-1"
)");
  ASSERT_FALSE(bad.isOk());
  const std::string& m = bad.status().message();
  EXPECT_NE(m.find("dispatch.subscribers[0].endpoint: must be an https:// URL"), std::string::npos) << m;
  EXPECT_NE(m.find("dispatch.subscribers[0].payload: must be one of full, id-only, empty"), std::string::npos) << m;
  EXPECT_NE(m.find("dispatch.subscribers[0].headers[0]: must be 'Name: value'"), std::string::npos) << m;
  EXPECT_NE(m.find("dispatch.subscribers[0].headers[1]"), std::string::npos) << m;
  EXPECT_NE(m.find("dispatch.subscribers[1].name: must be unique"), std::string::npos) << m;
  EXPECT_NE(m.find("dispatch.subscribers[1].client_cert_file"), std::string::npos) << m;
  EXPECT_NE(m.find("dispatch.subscribers[1].colour: unknown key"), std::string::npos) << m;
  EXPECT_NE(m.find("dispatch.subscribers[2].receiver_organization: must be a 9-digit organisation number"),
            std::string::npos) << m;
  EXPECT_NE(m.find("dispatch.subscribers[2].receiver_her_id: must be a HER-id"), std::string::npos) << m;
  EXPECT_NE(m.find("dispatch.poll_interval_ms: must be at most a third"), std::string::npos) << m;
  EXPECT_NE(m.find("dispatch.commit_interval_ms: must be less than a third"), std::string::npos) << m;
  EXPECT_EQ(m.find("top-secret"), std::string::npos) << "a credential leaked into the message: " << m;
}

TEST(GatewayConfig, IndexRowBoundPerResourceIsReadWithASafeDefault) {
  EXPECT_EQ(defaultConfig().limits.max_index_rows_per_resource, 10000u);
  Result<GatewayConfig> c = parseConfig("limits:\n  max_index_rows_per_resource: 500\n");
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_EQ(c->limits.max_index_rows_per_resource, 500u);
  Result<GatewayConfig> bad = parseConfig("limits:\n  max_index_rows_per_resource: 0\n");
  ASSERT_FALSE(bad.isOk());
  EXPECT_NE(bad.status().message().find("limits.max_index_rows_per_resource"), std::string::npos)
      << bad.status().message();
}

}  // namespace
}  // namespace planbro::gateway::config
