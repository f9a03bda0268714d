// `planbro token`: development-mode tokens from the binary, refused for a configuration on a network address.

#include <sys/stat.h>

#include <algorithm>
#include <string>

#include "cli_runner.h"

namespace planbro::gateway::cli {
namespace {

TEST_F(PlanbroCli, TokenMintsATokenWithTheDataDirKeyMode0600) {
  const std::string data = (dir_ / "data").string();
  auto r = run({"token", "--data-dir", data, "--hpr", "565501872", "--org", "974589095", "--scope", "user/*.cruds"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string token = r.out.substr(0, r.out.find('\n'));
  EXPECT_EQ(std::count(token.begin(), token.end(), '.'), 2) << token;
  struct stat st {};
  ASSERT_EQ(::stat((dir_ / "data" / "dev-signing-key.jwk").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto proof = run({"token", "proof", "--dpop-key", (dir_ / "client.jwk").string(), "--url",
                    "http://127.0.0.1:8080/CarePlan", "--token", token});
  ASSERT_EQ(proof.exit_code, 0) << proof.err;
  EXPECT_EQ(std::count(proof.out.begin(), proof.out.end(), '.'), 2) << proof.out;
  auto missing = run({"token", "--data-dir", data, "--kind", "patient"});
  EXPECT_EQ(missing.exit_code, 2) << missing.err;
  EXPECT_NE(missing.err.find("needs a pid"), std::string::npos) << missing.err;
}

TEST_F(PlanbroCli, TokenIsRefusedForAConfigurationOnANetworkAddress) {
  const fs::path config = file("net.yaml", "server:\n  listen: 0.0.0.0:8080\nstore:\n  data_dir: " +
                                               (dir_ / "data").string() + "\n");
  auto r = run({"token", "--config", config.string(), "--hpr", "1"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("loopback only"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir_ / "data" / "dev-signing-key.jwk"));
}

TEST_F(PlanbroCli, DevelopmentModeRefusesANetworkAddress) {
  const fs::path config = file("dev.yaml", "server:\n  listen: 0.0.0.0:0\n  allow_insecure: true\nauth:\n  mode: development\n"
                                           "store:\n  data_dir: " + (dir_ / "data").string() + "\n");
  auto r = serve({"--config", config.string()});
  EXPECT_EQ(r.exit_code, 1) << r.log;
  EXPECT_NE(r.log.find("auth.mode development"), std::string::npos) << r.log;
}

}  // namespace
}  // namespace planbro::gateway::cli
