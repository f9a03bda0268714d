// `planbro serve` with a rest-hook subscriber configured: writes through the REST API reach a real receiver in
// commit order, the metrics and /readyz show the subscriber, and the admin API lists it. No subscriber: no
// dispatcher (the quick start is unchanged).
#include <filesystem>
#include <fstream>
#include <sstream>

#include "../dispatch/test_receiver.h"
#include "planbro/gateway/rest/serve_setup.h"
#include "rest_fixture.h"

namespace planbro::gateway::rest::testing {
namespace {

const std::vector<std::pair<std::string, std::string>> kJson = {{"Content-Type", "application/fhir+json"}};

TEST(DispatchServe, WritesReachTheConfiguredSubscriberInOrderAndTheAdminApiSeesIt) {
  dispatch::testing::TestReceiver receiver;
  std::string dir = (std::filesystem::temp_directory_path() / "planbro-dispatch-serve-XXXXXX").string();
  ASSERT_NE(mkdtemp(dir.data()), nullptr);
  const std::string config = dir + "/planbro.yaml";
  std::ofstream(config) << "dispatch:\n"
                           "  admin_api: true\n"
                           "  poll_interval_ms: 5\n"
                           "  subscribers:\n"
                           "    - name: mirror\n"
                           "      endpoint: " << receiver.url() << "/fhir\n"
                           "      allow_plain_http: true\n"
                           "      start: beginning\n"
                           "      headers: [\"Authorization: Bearer mirror-token\"]\n";
  ServeOptions options;
  options.config_path = config;
  options.overrides.listen = "127.0.0.1:0";
  options.overrides.data_dir = dir;
  options.setup = makeRestServeSetup();
  std::string metrics, subscribers, readyz;
  int plan_status = 0;
  options.on_started = [&](uint16_t port, std::function<void()> stop) {
    request(port, "PUT", "/Patient/p1", R"({"resourceType":"Patient","id":"p1"})", kJson);
    plan_status = request(port, "PUT", "/CarePlan/plan1",
                          R"({"resourceType":"CarePlan","id":"plan1","status":"active","intent":"plan",)"
                          R"("subject":{"reference":"Patient/p1"}})",
                          kJson)
                      .status;
    request(port, "PUT", "/Goal/goal1",
            R"({"resourceType":"Goal","id":"goal1","lifecycleStatus":"active","description":{"text":"walk"},)"
            R"("subject":{"reference":"Patient/p1"}})",
            kJson);
    EXPECT_TRUE(receiver.waitForAccepted(3));
    readyz = request(port, "GET", "/readyz").body;
    // The receiver records a request before it answers; the dispatcher counts it once the answer is in.
    for (int i = 0; i < 2000; ++i) {
      metrics = request(port, "GET", "/metrics").body;
      if (metrics.find("planbro_dispatch_delivered_total{subscriber=\"mirror\"} 3") != std::string::npos) break;
    }
    subscribers = request(port, "GET", "/admin/dispatch/subscribers").body;
    stop();
  };
  std::ostringstream err;
  EXPECT_EQ(runServe(options, err), 0) << err.str();
  EXPECT_EQ(plan_status, 201);
  auto got = receiver.accepted();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].method + " " + got[0].path, "PUT /fhir/Patient/p1");
  EXPECT_EQ(got[1].method + " " + got[1].path, "PUT /fhir/CarePlan/plan1");
  EXPECT_EQ(got[2].method + " " + got[2].path, "PUT /fhir/Goal/goal1");
  EXPECT_EQ(got[1].headers["authorization"], "Bearer mirror-token");
  EXPECT_NE(got[1].body.find("\"subject\""), std::string::npos);
  EXPECT_NE(metrics.find("planbro_dispatch_delivered_total{subscriber=\"mirror\"} 3"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("planbro_dispatch_latency_seconds_count{subscriber=\"mirror\"} 3"), std::string::npos);
  EXPECT_NE(subscribers.find("\"mirror\""), std::string::npos) << subscribers;
  EXPECT_NE(readyz.find("\"ready\""), std::string::npos) << readyz;  // the dispatch check passes
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

}  // namespace
}  // namespace planbro::gateway::rest::testing
