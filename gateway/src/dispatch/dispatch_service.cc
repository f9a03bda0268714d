#include "planbro/gateway/dispatch/dispatch_service.h"

#include <spdlog/spdlog.h>

#include "planbro/gateway/dispatch/admin_api.h"
#include "planbro/gateway/dispatch/rest_hook_transport.h"

namespace planbro::gateway::dispatch {
namespace {

RestHookOptions::Payload payloadOf(const std::string& name) {
  if (name == "empty") return RestHookOptions::Payload::kEmpty;
  if (name == "id-only") return RestHookOptions::Payload::kIdOnly;
  return RestHookOptions::Payload::kFull;
}

// Counters follow the workers' totals: each round adds what changed since the last look.
struct MetricFamilies {
  http::CounterFamily* delivered;
  http::CounterFamily* failures;
  http::CounterFamily* retries;
  http::CounterFamily* dead_letters;
  http::CounterFamily* filtered;
  http::CounterFamily* withheld;
  http::GaugeFamily* lag_events;
  http::GaugeFamily* lag_seconds;
  http::GaugeFamily* partitions;
  http::HistogramFamily* latency;
};

}  // namespace

Status dispatchReadiness(const std::vector<SubscriberMetrics>& metrics, std::chrono::seconds stuck_after) {
  for (const SubscriberMetrics& m : metrics) {
    if (m.lag_seconds > static_cast<double>(stuck_after.count())) {
      return unavailable("dispatch: subscriber " + m.name + " is stuck: its oldest undelivered change is " +
                         std::to_string(static_cast<int64_t>(m.lag_seconds)) + " s old (dispatch.stuck_after_s " +
                         std::to_string(stuck_after.count()) + ")" +
                         (m.last_error.empty() ? "" : "; last error: " + m.last_error));
    }
  }
  return Status::ok();
}

DispatchService::~DispatchService() {
  if (dispatcher_) dispatcher_->stop();
}

Result<std::shared_ptr<DispatchService>> DispatchService::start(const config::GatewayConfig& cfg,
                                                                store::ResourceStore& store,
                                                                http::MetricsRegistry& registry,
                                                                ServeComponents& components,
                                                                const TransportFactory& other_kinds,
                                                                std::shared_ptr<const AccessPolicy> access) {
  const config::DispatchConfig& d = cfg.dispatch;
  if (d.admin_api) {
    AdminApiOptions admin;
    admin.admin_scope = d.admin_scope;
    components.handler = makeAdminApiHandler(store, admin, components.handler);
  }
  if (d.subscribers.empty() && !d.subscriptions.enabled) {
    spdlog::info("dispatch: off (no subscribers configured, Subscriptions not enabled)");
    return std::shared_ptr<DispatchService>();
  }
  std::vector<SubscriberSpec> subscribers;
  for (const config::DispatchSubscriberConfig& s : d.subscribers) {
    // The transport by kind: rest-hook here, any other from the factory the serve setup passes (e.g. "plo").
    Result<std::shared_ptr<Transport>> transport = invalidArgument("no transport of kind " + s.kind);
    if (s.kind == "rest-hook") {
      RestHookOptions o;
      o.endpoint = s.endpoint;
      o.payload = payloadOf(s.payload);
      o.headers = s.headers;
      o.connect_timeout = std::chrono::milliseconds(s.connect_timeout_ms);
      o.timeout = std::chrono::milliseconds(s.timeout_ms);
      o.ca_file = s.ca_file;
      o.client_cert_file = s.client_cert_file;
      o.client_key_file = s.client_key_file;
      o.allow_plain_http = s.allow_plain_http;
      o.max_parallel = s.max_parallel;
      transport = makeRestHookTransport(std::move(o));
    } else if (other_kinds) {
      transport = other_kinds(s);
    }
    if (!transport.isOk()) {
      return Status(transport.status().code(), "dispatch.subscribers " + s.name + ": " + transport.status().message());
    }
    SubscriberSpec spec;
    spec.name = s.name;
    spec.source_system = s.source_system;
    spec.types = s.types;
    spec.transport = std::move(transport).value();
    spec.start = s.start == "beginning" ? SubscriberSpec::Start::kBeginning : SubscriberSpec::Start::kNow;
    subscribers.push_back(std::move(spec));
  }
  // Registered before the families it updates, so a scrape renders them after the update (registration order).
  auto refresh_holder = std::make_shared<std::function<size_t()>>([] { return size_t{0}; });
  registry.gaugeCallback("planbro_dispatch_subscribers", "Subscribers this node dispatches to",
                         [refresh_holder]() { return static_cast<double>((*refresh_holder)()); });
  MetricFamilies f{
      &registry.counter("planbro_dispatch_delivered_total", "Changes delivered, per subscriber", {"subscriber"}),
      &registry.counter("planbro_dispatch_failures_total", "Failed delivery tries, per subscriber", {"subscriber"}),
      &registry.counter("planbro_dispatch_retries_total", "Failed tries that will be tried again", {"subscriber"}),
      &registry.counter("planbro_dispatch_dead_letters_total", "Changes given up on (dead letters)", {"subscriber"}),
      &registry.counter("planbro_dispatch_filtered_total", "Changes the access policy kept from a subscriber",
                        {"subscriber"}),
      &registry.counter("planbro_dispatch_withheld_total",
                        "Receivers a transport picked per event that the access policy refused", {"subscriber"}),
      &registry.gauge("planbro_dispatch_lag_events", "Outbox changes not yet delivered to a subscriber (this node)",
                      {"subscriber"}),
      &registry.gauge("planbro_dispatch_lag_seconds", "Age of the oldest undelivered change (this node)",
                      {"subscriber"}),
      &registry.gauge("planbro_dispatch_partitions_held", "Subscriber partitions this node holds a lease on",
                      {"subscriber"}),
      &registry.histogram("planbro_dispatch_latency_seconds", "From commit to the receiver's answer", {"subscriber"}),
  };
  DispatcherOptions o;
  o.node_id = d.node_id;
  o.partitions = static_cast<int>(d.partitions);
  o.max_in_flight = d.max_in_flight;
  o.max_queued = d.max_queued;
  o.read_batch = d.read_batch;
  o.max_attempts = static_cast<int>(d.max_attempts);
  o.max_age = std::chrono::seconds(d.max_age_s);
  o.backoff.initial = std::chrono::milliseconds(d.backoff_initial_ms);
  o.backoff.max = std::chrono::milliseconds(d.backoff_max_ms);
  o.lease_ttl = std::chrono::milliseconds(d.lease_ttl_ms);
  o.poll_interval = std::chrono::milliseconds(d.poll_interval_ms);
  o.commit_interval = std::chrono::milliseconds(d.commit_interval_ms);
  if (access) o.access = std::move(access);
  o.on_delivered = [latency = f.latency](const std::string& subscriber, std::chrono::microseconds l) {
    latency->withLabels({subscriber}).observe(static_cast<double>(l.count()) / 1e6);
  };
  auto dispatcher = Dispatcher::create(store, std::move(o), std::move(subscribers));
  if (!dispatcher.isOk()) return dispatcher.status();
  auto service = std::shared_ptr<DispatchService>(new DispatchService());
  service->dispatcher_ = std::move(dispatcher).value();
  Dispatcher* raw = service->dispatcher_.get();
  // Counters and gauges are brought up to date when /readyz or a scrape asks: the readiness check runs the update.
  auto seen = std::make_shared<std::map<std::string, SubscriberMetrics>>();
  auto mutex = std::make_shared<std::mutex>();
  auto refresh = [raw, f, seen, mutex]() {
    std::lock_guard lock(*mutex);
    std::vector<SubscriberMetrics> now = raw->metrics();
    for (const SubscriberMetrics& m : now) {
      SubscriberMetrics& before = (*seen)[m.name];
      // A subscriber removed and added again at runtime (a stored Subscription) counts from zero again: its new
      // counts are all new, never a negative step.
      if (m.delivered < before.delivered || m.failures < before.failures || m.retries < before.retries ||
          m.dead_letters < before.dead_letters || m.filtered < before.filtered || m.withheld < before.withheld) {
        before = SubscriberMetrics{};
      }
      const std::vector<std::string> label{m.name};
      f.delivered->withLabels(label).inc(static_cast<uint64_t>(m.delivered - before.delivered));
      f.failures->withLabels(label).inc(static_cast<uint64_t>(m.failures - before.failures));
      f.retries->withLabels(label).inc(static_cast<uint64_t>(m.retries - before.retries));
      f.dead_letters->withLabels(label).inc(static_cast<uint64_t>(m.dead_letters - before.dead_letters));
      f.filtered->withLabels(label).inc(static_cast<uint64_t>(m.filtered - before.filtered));
      f.withheld->withLabels(label).inc(static_cast<uint64_t>(m.withheld - before.withheld));
      f.lag_events->withLabels(label).set(static_cast<double>(m.lag_events));
      f.lag_seconds->withLabels(label).set(m.lag_seconds);
      f.partitions->withLabels(label).set(m.held_partitions);
      before = m;
    }
    return now;
  };
  // The scrape-time callback keeps the per-subscriber families current without a thread of its own.
  *refresh_holder = [refresh]() { return refresh().size(); };
  const auto stuck_after = std::chrono::seconds(d.stuck_after_s);
  components.readiness.push_back(
      http::ReadinessCheck{"dispatch", [refresh, stuck_after]() { return dispatchReadiness(refresh(), stuck_after); }});
  service->dispatcher_->start();
  spdlog::info("dispatch: on, node {}, {} subscriber(s)", service->dispatcher_->nodeId(), d.subscribers.size());
  return service;
}

}  // namespace planbro::gateway::dispatch
