#pragma once
// A small Prometheus metrics registry: counters, gauges and histograms, optionally labelled, rendered in the text
// exposition format (version 0.0.4) at /metrics. Any part of the gateway (store, outbox, adapters) registers its
// own families here. Thread-safe throughout; updating a metric is lock-free once its labelled child is found.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace planbro::gateway::http {

/** A monotonically increasing count. */
class Counter {
 public:
  void inc(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

/** A value that goes up and down. */
class Gauge {
 public:
  void set(double v) { value_.store(v, std::memory_order_relaxed); }
  void inc(double d = 1) { value_.fetch_add(d, std::memory_order_relaxed); }
  void dec(double d = 1) { value_.fetch_sub(d, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

/** Observations counted into fixed upper bounds (plus +Inf), with their sum. */
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double v);
  const std::vector<double>& bounds() const { return bounds_; }
  /** Cumulative counts per bound, then the total count last. */
  std::vector<uint64_t> cumulativeCounts() const;
  double sum() const { return sum_.load(std::memory_order_relaxed); }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // one per bound, plus +Inf
  std::atomic<double> sum_{0};
};

/** Latency buckets in seconds, 0.5 ms .. 10 s. */
std::vector<double> defaultLatencyBuckets();

/**
 * A named metric with label names; withLabels() returns the child for one label-value tuple, creating it on first
 * use. The returned reference stays valid as long as the registry lives, so hot paths may cache it.
 */
template <typename T>
class Family {
 public:
  Family(std::string name, std::string help, std::vector<std::string> label_names, std::vector<double> bounds = {})
      : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)),
        bounds_(std::move(bounds)) {}
  T& withLabels(const std::vector<std::string>& values);
  T& get() { return withLabels({}); }
  const std::string& name() const { return name_; }
  void render(std::string& out, std::string_view type) const;

 private:
  std::string name_;
  std::string help_;
  std::vector<std::string> label_names_;
  std::vector<double> bounds_;
  mutable std::mutex mutex_;
  std::map<std::vector<std::string>, std::unique_ptr<T>> children_;
};

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

/**
 * Owns every metric family. Registering a name twice returns the existing family (same kind) so independent parts
 * may share one. Names must match [a-zA-Z_:][a-zA-Z0-9_:]*; label values are escaped when rendered.
 */
class MetricsRegistry {
 public:
  CounterFamily& counter(const std::string& name, const std::string& help, std::vector<std::string> labels = {});
  GaugeFamily& gauge(const std::string& name, const std::string& help, std::vector<std::string> labels = {});
  HistogramFamily& histogram(const std::string& name, const std::string& help, std::vector<std::string> labels = {},
                             std::vector<double> bounds = defaultLatencyBuckets());
  /** A gauge read at scrape time (e.g. the store's pool in use, the outbox backlog). `read` must be thread-safe. */
  void gaugeCallback(const std::string& name, const std::string& help, std::function<double()> read);

  /** The text exposition of every metric, families in registration order. */
  std::string render() const;

 private:
  struct Entry {
    std::string kind;  // "counter", "gauge", "histogram", "callback"
    std::unique_ptr<CounterFamily> counter;
    std::unique_ptr<GaugeFamily> gauge;
    std::unique_ptr<HistogramFamily> histogram;
    std::string name;
    std::string help;
    std::function<double()> read;
  };
  Entry* find(const std::string& name);
  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<Entry>> entries_;
};

}  // namespace planbro::gateway::http
