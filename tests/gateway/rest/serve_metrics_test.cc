// `planbro serve` exposes the store, outbox and validation metrics at /metrics, and they move with writes.

#include <filesystem>
#include <sstream>

#include "planbro/gateway/rest/serve_setup.h"
#include "rest_fixture.h"

namespace planbro::gateway::rest::testing {
namespace {

// The value of the sample `series` (name and labels as rendered) in a text exposition; -1 when absent.
double sample(const std::string& exposition, const std::string& series) {
  std::istringstream in(exposition);
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 && line[series.size()] == ' ') {
      return std::stod(line.substr(series.size() + 1));
    }
  }
  return -1;
}

const std::vector<std::pair<std::string, std::string>> kJson = {{"Content-Type", "application/fhir+json"}};

TEST(ServeMetrics, StoreOutboxAndValidationMetricsMoveWithWrites) {
  std::string dir = (std::filesystem::temp_directory_path() / "planbro-serve-metrics-XXXXXX").string();
  ASSERT_NE(mkdtemp(dir.data()), nullptr);
  std::string before, after;
  int created = 0, rejected_status = 0;
  ServeOptions options;
  options.overrides.listen = "127.0.0.1:0";
  options.overrides.data_dir = dir;
  RestServeOptions rest;
  rest.outbox_refresh_interval = std::chrono::milliseconds(0);
  options.setup = makeRestServeSetup(rest);
  options.on_started = [&](uint16_t port, std::function<void()> stop) {
    before = request(port, "GET", "/metrics").body;
    for (int i = 0; i < 2; ++i) {
      HttpResult r = request(port, "POST", "/Patient", R"({"resourceType":"Patient","gender":"female"})", kJson);
      if (r.status == 201) ++created;
    }
    rejected_status =
        request(port, "POST", "/Patient", R"({"resourceType":"Patient","gender":"not-a-gender"})", kJson).status;
    after = request(port, "GET", "/metrics").body;
    stop();
  };
  std::ostringstream err;
  EXPECT_EQ(runServe(options, err), 0) << err.str();
  EXPECT_EQ(created, 2);
  EXPECT_EQ(rejected_status, 422);

  EXPECT_EQ(sample(before, "planbro_store_commits_total"), 0);
  EXPECT_EQ(sample(before, "planbro_outbox_backlog"), 0);
  EXPECT_EQ(sample(before, "planbro_outbox_newest_position"), 0);
  EXPECT_EQ(sample(before, "planbro_store_connections_in_use"), 0);

  EXPECT_EQ(sample(after, "planbro_store_commits_total"), 2) << after;
  EXPECT_EQ(sample(after, "planbro_store_rollbacks_total"), 0);
  EXPECT_EQ(sample(after, "planbro_store_commit_seconds_count"), 2);
  // The audit trail writes an AuditEvent per write from its own thread, on its own schedule, and those commits carry
  // outbox rows too (not counted as write-path commits): how many of them had landed when the gauges were last
  // refreshed depends on timing. With no consumer yet every event is backlog, so the two gauges agree.
  EXPECT_GE(sample(after, "planbro_outbox_backlog"), 2);
  EXPECT_EQ(sample(after, "planbro_outbox_backlog"), sample(after, "planbro_outbox_newest_position")) << after;
  EXPECT_EQ(sample(after, "planbro_store_connections_in_use"), 0);
  EXPECT_EQ(sample(after, R"(planbro_validation_total{type="Patient",result="accepted"})"), 2) << after;
  EXPECT_EQ(sample(after, R"(planbro_validation_total{type="Patient",result="rejected"})"), 1);
  EXPECT_EQ(sample(after, "planbro_validation_seconds_count"), 3);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

}  // namespace
}  // namespace planbro::gateway::rest::testing
