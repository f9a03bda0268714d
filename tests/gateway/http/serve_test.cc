#include "planbro/gateway/serve.h"

#include <CLI/CLI.hpp>
#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>

#include "test_client.h"

namespace planbro::gateway {
namespace {

const std::string kExamplePath = std::string(PLANBRO_TEST_DATA_DIR) + "/../../config/planbro.example.yaml";

TEST(Serve, ServesHealthMetricsAndAnswersFhirPathsWith501UntilTheRestLayerLands) {
  ServeOptions options;
  options.overrides.listen = "127.0.0.1:0";
  options.overrides.data_dir = ::testing::TempDir();
  std::promise<std::pair<uint16_t, std::function<void()>>> started;
  options.on_started = [&](uint16_t port, std::function<void()> stop) { started.set_value({port, stop}); };
  std::ostringstream err;
  std::future<int> exit_code = std::async(std::launch::async, [&] { return runServe(options, err); });
  auto future = started.get_future();
  ASSERT_EQ(future.wait_for(http::testing::kDeadline), std::future_status::ready) << err.str();
  auto [port, stop] = future.get();
  {
    http::testing::TestClient c(port);
    auto health = c.get("/healthz");
    ASSERT_TRUE(health);
    EXPECT_EQ(health->result_int(), 200u);
    auto ready = c.get("/readyz");
    ASSERT_TRUE(ready);
    EXPECT_EQ(ready->result_int(), 200u);
    auto metadata = c.get("/metadata");
    ASSERT_TRUE(metadata);
    EXPECT_EQ(metadata->result_int(), 501u);
    EXPECT_NE(metadata->body().find("OperationOutcome"), std::string::npos);
    auto patient = c.get("/Patient/1");
    ASSERT_TRUE(patient);
    EXPECT_EQ(patient->result_int(), 501u);
    auto other = c.get("/favicon.ico");
    ASSERT_TRUE(other);
    EXPECT_EQ(other->result_int(), 404u);
    auto metrics = c.get("/metrics");
    ASSERT_TRUE(metrics);
    EXPECT_NE(metrics->body().find("planbro_http_requests_total{interaction=\"not-implemented\",status=\"501\"} 2"),
              std::string::npos)
        << metrics->body();
  }
  stop();
  ASSERT_EQ(exit_code.wait_for(http::testing::kDeadline), std::future_status::ready);
  EXPECT_EQ(exit_code.get(), 0);
}

TEST(Serve, SigtermShutsDownGracefullyWithExitCodeZero) {
  ServeOptions options;
  options.overrides.listen = "127.0.0.1:0";
  std::promise<uint16_t> started;
  options.on_started = [&](uint16_t port, std::function<void()>) { started.set_value(port); };
  std::ostringstream err;
  std::future<int> exit_code = std::async(std::launch::async, [&] { return runServe(options, err); });
  auto future = started.get_future();
  ASSERT_EQ(future.wait_for(http::testing::kDeadline), std::future_status::ready) << err.str();
  {
    http::testing::TestClient c(future.get());
    auto health = c.get("/healthz");
    ASSERT_TRUE(health);
    EXPECT_EQ(health->result_int(), 200u);
  }
  ASSERT_EQ(::raise(SIGTERM), 0);  // handled by runServe's signal_set, not the default action
  ASSERT_EQ(exit_code.wait_for(http::testing::kDeadline), std::future_status::ready);
  EXPECT_EQ(exit_code.get(), 0);
}

TEST(Serve, InvalidConfigFileExitsWithOneAndNamesTheKey) {
  std::string path = ::testing::TempDir() + "/planbro_serve_bad.yaml";
  {
    std::ofstream out(path);
    out << "server:\n  io_threads: 0\n";
  }
  ServeOptions options;
  options.config_path = path;
  std::ostringstream err;
  EXPECT_EQ(runServe(options, err), 1);
  EXPECT_NE(err.str().find("server.io_threads: must be between 1 and 256 (got 0)"), std::string::npos) << err.str();
  std::ostringstream out;
  std::ostringstream err2;
  EXPECT_EQ(runValidateConfig(path, out, err2), 1);
  std::remove(path.c_str());
}

TEST(Serve, CommandLineRegistersServeAndValidateConfig) {
  CLI::App app{"planbro"};
  CommandHook serve = addServeCommand(app);
  CommandHook validate = addValidateConfigOption(app);
  std::string example = kExamplePath;
  const char* argv[] = {"planbro", "--validate-config", example.c_str()};
  app.parse(3, argv);
  EXPECT_FALSE(serve.selected());
  ASSERT_TRUE(validate.selected());
  std::ostringstream out;
  std::ostringstream err;
  EXPECT_EQ(validate.run(out, err), 0) << err.str();
  EXPECT_NE(out.str().find(": ok"), std::string::npos);

  CLI::App app2{"planbro"};
  CommandHook serve2 = addServeCommand(app2);
  const char* argv2[] = {"planbro", "serve", "--listen", "127.0.0.1:0", "--threads", "1"};
  app2.parse(6, argv2);
  EXPECT_TRUE(serve2.selected());
}

}  // namespace
}  // namespace planbro::gateway
