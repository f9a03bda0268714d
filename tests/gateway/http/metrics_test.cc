#include "planbro/gateway/http/metrics.h"

#include <gtest/gtest.h>

namespace planbro::gateway::http {
namespace {

TEST(MetricsRegistry, RendersCountersGaugesAndHistogramsInPrometheusTextFormat) {
  MetricsRegistry registry;
  auto& requests = registry.counter("planbro_test_requests_total", "Requests", {"interaction", "status"});
  requests.withLabels({"read", "200"}).inc();
  requests.withLabels({"read", "200"}).inc(2);
  requests.withLabels({"create", "201"}).inc();
  registry.gauge("planbro_test_open", "Open things").get().set(4);
  auto& latency = registry.histogram("planbro_test_seconds", "Latency", {}, {0.1, 1});
  latency.get().observe(0.05);
  latency.get().observe(0.5);
  latency.get().observe(5);
  registry.gaugeCallback("planbro_test_backlog", "Outbox backlog", [] { return 7.0; });

  std::string text = registry.render();
  EXPECT_NE(text.find("# TYPE planbro_test_requests_total counter\n"), std::string::npos) << text;
  EXPECT_NE(text.find("planbro_test_requests_total{interaction=\"read\",status=\"200\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("planbro_test_requests_total{interaction=\"create\",status=\"201\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("planbro_test_open 4\n"), std::string::npos) << text;
  EXPECT_NE(text.find("planbro_test_seconds_bucket{le=\"0.1\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("planbro_test_seconds_bucket{le=\"1\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("planbro_test_seconds_bucket{le=\"+Inf\"} 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("planbro_test_seconds_count 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("planbro_test_seconds_sum 5.55\n"), std::string::npos) << text;
  EXPECT_NE(text.find("# TYPE planbro_test_backlog gauge\nplanbro_test_backlog 7\n"), std::string::npos) << text;
}

TEST(MetricsRegistry, RegisteringTheSameNameTwiceSharesTheFamily) {
  MetricsRegistry registry;
  auto& a = registry.counter("planbro_x_total", "x", {"k"});
  auto& b = registry.counter("planbro_x_total", "x", {"k"});
  EXPECT_EQ(&a, &b);
  a.withLabels({"v"}).inc();
  EXPECT_EQ(b.withLabels({"v"}).value(), 1u);
}

TEST(MetricsRegistry, EscapesLabelValues) {
  MetricsRegistry registry;
  registry.counter("planbro_esc_total", "e", {"k"}).withLabels({"a\"b\\c\nd"}).inc();
  EXPECT_NE(registry.render().find(R"(planbro_esc_total{k="a\"b\\c\nd"} 1)"), std::string::npos)
      << registry.render();
}

}  // namespace
}  // namespace planbro::gateway::http
