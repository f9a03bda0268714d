// The binary's own commands and start-up: --version, the help listing serve, validate naming each file,
// --validate-config reporting every problem at once, and what `planbro serve` says first (the kind of start, and
// whether demo data was asked for).
#include <cstdlib>
#include <string>
#include <vector>

#include "cli_runner.h"
#include "planbro/fhir-model/json.h"

namespace planbro::gateway::cli {
namespace {

const std::string kExamples = std::string(PLANBRO_SHARED_DIR) + "/fhir-r4/examples/";

std::vector<std::string> linesOf(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  std::string line;
  for (int guard = 0; guard < 100000 && std::getline(in, line); ++guard) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

TEST_F(PlanbroCli, VersionPrintsTheProjectVersionAndBuildType) {
  auto r = run({"--version"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("planbro " PLANBRO_EXPECTED_VERSION " (", 0), 0u) << r.out;
  EXPECT_NE(r.out.find(PLANBRO_EXPECTED_BUILD_TYPE), std::string::npos) << r.out;
}

TEST_F(PlanbroCli, TopLevelHelpListsServeAndVersion) {
  auto r = run({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("\n  serve "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--version"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--validate-config"), std::string::npos) << r.out;
  auto s = run({"serve", "--help"});
  EXPECT_EQ(s.exit_code, 0);
  EXPECT_NE(s.out.find("--demo-data"), std::string::npos) << s.out;
}

TEST_F(PlanbroCli, ValidateNamesTheFileInEachOutcome) {
  const fs::path bad = file("bad.json", R"({"resourceType":"Patient","bogus":1})");
  const std::vector<std::string> files = {kExamples + "CarePlan-example.json", bad.string(), "-"};
  auto r = run({"validate", files[0], files[1], files[2]}, R"({"resourceType":"Goal"})");
  EXPECT_EQ(r.exit_code, 1);  // bad.json and the Goal (no lifecycleStatus, no description) have errors
  const std::vector<std::string> lines = linesOf(r.out);
  ASSERT_EQ(lines.size(), 3u) << r.out;
  for (size_t i = 0; i < lines.size(); ++i) {
    auto doc = fhir::JsonDocument::parse(lines[i]);
    ASSERT_TRUE(doc.isOk()) << lines[i];
    const fhir::JsonValue* extension = doc->root().find("extension");
    ASSERT_TRUE(extension && extension->size() == 1) << lines[i];
    const fhir::JsonValue& e = extension->items()[0];
    ASSERT_TRUE(e.find("url") && e.find("valueString"));
    EXPECT_EQ(e.find("url")->text(), "http://hl7.org/fhir/StructureDefinition/operationoutcome-file");
    EXPECT_EQ(e.find("valueString")->text(), i == 2 ? "stdin" : files[i]);
    EXPECT_TRUE(doc->root().find("issue"));
  }
  // The outcome stays a valid OperationOutcome.
  const fs::path outcome = file("outcome.json", lines[1]);
  auto v = run({"validate", outcome.string()});
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
  EXPECT_NE(r.err.find("planbro validate: " + bad.string() + ": "), std::string::npos) << r.err;
}

TEST_F(PlanbroCli, ValidateConfigReportsEveryProblemAtOnce) {
  const fs::path config = file("planbro.yaml",
                               "server:\n  io_threads: 0\n  tls:\n    certificate_file: /nonexistent/tls.crt\n"
                               "    private_key_file: /nonexistent/tls.key\nstore:\n  engine: postgresql\n"
                               "server:\n  io_threads: 2\n");
  auto r = run({"--validate-config", config.string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("server: must appear once in its mapping (got it again at line 8, first at line 1)"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("server.io_threads: must be between 1 and 256 (got 0)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("store.postgres_url: must be set when store.engine is postgresql"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("server.tls.certificate_file: must name a readable file (got \"/nonexistent/tls.crt\""),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("server.tls.private_key_file: must name a readable file (got \"/nonexistent/tls.key\""),
            std::string::npos)
      << r.err;
  EXPECT_EQ(linesOf(r.err).size(), 6u) << r.err;  // the heading and five problems
}

TEST_F(PlanbroCli, ValidateConfigWarnsOfAWorldReadableKeyButPasses) {
  // A real pair: --validate-config loads both and checks the key is the certificate's.
  const fs::path key = file("tls.key", "");
  const fs::path cert = file("tls.crt", "");
  const std::string make = "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost -keyout '" +
                           key.string() + "' -out '" + cert.string() + "' >/dev/null 2>&1";
  ASSERT_EQ(std::system(make.c_str()), 0) << "the openssl command is needed for this test";
  fs::permissions(key, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read);
  const fs::path config = file("tls.yaml", "server:\n  tls:\n    certificate_file: " + cert.string() +
                                               "\n    private_key_file: " + key.string() + "\n");
  auto r = run({"--validate-config", config.string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find(": ok"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("warning: server.tls.private_key_file: should be readable by the gateway's user only"),
            std::string::npos)
      << r.err;
}

TEST_F(PlanbroCli, ServeRefusesUnusableTlsFilesBeforeListening) {
  const fs::path key = file("tls.key", "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n");
  const fs::path cert = file("tls.crt", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
  const fs::path config = file("tls.yaml", "server:\n  listen: 127.0.0.1:0\n  tls:\n    certificate_file: " +
                                               cert.string() + "\n    private_key_file: " + key.string() +
                                               "\nstore:\n  data_dir: " + (dir_ / "data").string() + "\n");
  auto r = serve({"--config", config.string()});
  EXPECT_EQ(r.exit_code, 1) << r.log;
  EXPECT_FALSE(r.saw_line) << r.log;
  EXPECT_NE(r.log.find("server.tls.private_key_file: must be an unencrypted private key"), std::string::npos)
      << r.log;
}

TEST_F(PlanbroCli, EmbeddedDefaultStartSaysFirstItIsOpenAndLoopbackOnlyAndLoadsNoDemoData) {
  auto r = serve({"--listen", "127.0.0.1:0", "--data-dir", (dir_ / "data").string()});
  EXPECT_TRUE(r.saw_line) << r.log;
  EXPECT_EQ(r.exit_code, 0) << r.log;
  const std::vector<std::string> lines = linesOf(r.log);
  ASSERT_FALSE(lines.empty());
  EXPECT_NE(lines[0].find("on the embedded default: open (no authentication, no TLS), loopback only"),
            std::string::npos)
      << r.log;
  EXPECT_NE(lines[0].find("planbro " PLANBRO_EXPECTED_VERSION), std::string::npos) << r.log;
  EXPECT_NE(r.log.find("demo data: not requested"), std::string::npos) << r.log;
  EXPECT_EQ(r.log.find("demo data: loaded"), std::string::npos) << r.log;
}

TEST_F(PlanbroCli, EmbeddedDefaultOnANetworkAddressRefusesToStart) {
  // Open and without TLS: the quick start is for loopback only.
  auto r = serve({"--listen", "0.0.0.0:0", "--data-dir", (dir_ / "data").string()});
  EXPECT_EQ(r.exit_code, 1) << r.log;
  EXPECT_FALSE(r.saw_line) << r.log;
  EXPECT_NE(r.log.find("refusing to start on the network address 0.0.0.0:0 without TLS (server.tls) and without token "
                       "validation (auth.mode: open)"),
            std::string::npos)
      << r.log;
}

TEST_F(PlanbroCli, ConfigFileStartOnANetworkAddressWithoutTlsOrTokensRefusesUnlessAllowedInsecure) {
  const fs::path plain =
      file("plain.yaml", "server:\n  listen: 0.0.0.0:0\nstore:\n  data_dir: " + (dir_ / "data").string() + "\n");
  auto refused = serve({"--config", plain.string()});
  EXPECT_EQ(refused.exit_code, 1) << refused.log;
  EXPECT_FALSE(refused.saw_line) << refused.log;
  EXPECT_NE(refused.log.find("server.allow_insecure: true"), std::string::npos) << refused.log;

  const fs::path config = file("insecure.yaml", "server:\n  listen: 0.0.0.0:0\n  allow_insecure: true\nstore:\n"
                                                "  data_dir: " + (dir_ / "data").string() + "\n");
  auto r = serve({"--config", config.string()});
  EXPECT_TRUE(r.saw_line) << r.log;
  EXPECT_NE(r.log.find("starting with " + config.string()), std::string::npos) << r.log;
  EXPECT_NE(r.log.find("\"level\":\"warning\""), std::string::npos) << r.log;
  EXPECT_NE(r.log.find("TLS IS OFF on a network address"), std::string::npos) << r.log;
  EXPECT_NE(r.log.find("authentication is off (auth.mode: open)"), std::string::npos) << r.log;
}

TEST_F(PlanbroCli, DemoDataLoadsOnlyWhenAskedAndOnlyIntoAnEmptyStore) {
  const std::string data = (dir_ / "data").string();
  auto first = serve({"--listen", "127.0.0.1:0", "--data-dir", data, "--demo-data"});
  EXPECT_TRUE(first.saw_line) << first.log;
  EXPECT_EQ(first.exit_code, 0) << first.log;
  EXPECT_NE(first.log.find("demo data: loaded 32 resources"), std::string::npos) << first.log;
  auto second = serve({"--listen", "127.0.0.1:0", "--data-dir", data, "--demo-data"});
  EXPECT_TRUE(second.saw_line) << second.log;
  EXPECT_NE(second.log.find("demo data: requested; the store already holds data, nothing loaded"),
            std::string::npos)
      << second.log;
  const fs::path config = file("demo.yaml", "demo_data:\n  load_once: true\nstore:\n  data_dir: " +
                                                (dir_ / "data2").string() + "\nserver:\n  listen: 127.0.0.1:0\n");
  auto by_config = serve({"--config", config.string()});
  EXPECT_NE(by_config.log.find("demo data: loaded 32 resources"), std::string::npos) << by_config.log;
}

}  // namespace
}  // namespace planbro::gateway::cli
