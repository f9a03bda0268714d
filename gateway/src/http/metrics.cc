#include "planbro/gateway/http/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace planbro::gateway::http {
namespace {

void appendNumber(std::string& out, double v) {
  if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
    return;
  }
  if (std::isnan(v)) {
    out += "NaN";
    return;
  }
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, ec == std::errc() ? end : buf);
}

void appendEscaped(std::string& out, std::string_view s) {
  for (char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

// `{a="x",b="y"` without the closing brace, so a histogram can append `le`.
void appendLabels(std::string& out, const std::vector<std::string>& names, const std::vector<std::string>& values) {
  for (size_t i = 0; i < names.size() && i < values.size(); ++i) {
    out += i == 0 ? "{" : ",";
    out += names[i];
    out += "=\"";
    appendEscaped(out, values[i]);
    out += '"';
  }
}

void appendHeader(std::string& out, std::string_view name, std::string_view help, std::string_view type) {
  out += "# HELP ";
  out += name;
  out += ' ';
  for (char c : help) out += c == '\n' ? ' ' : c;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)) {
  std::sort(bounds_.begin(), bounds_.end());
  buckets_ = std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1);
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0, std::memory_order_relaxed);
}

void Histogram::observe(double v) {
  size_t i = static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin());
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

std::vector<uint64_t> Histogram::cumulativeCounts() const {
  std::vector<uint64_t> out(bounds_.size() + 1);
  uint64_t total = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    total += buckets_[i].load(std::memory_order_relaxed);
    out[i] = total;
  }
  return out;
}

std::vector<double> defaultLatencyBuckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

template <typename T>
T& Family<T>::withLabels(const std::vector<std::string>& values) {
  std::lock_guard lock(mutex_);
  auto it = children_.find(values);
  if (it != children_.end()) return *it->second;
  std::unique_ptr<T> child;
  if constexpr (std::is_same_v<T, Histogram>) {
    child = std::make_unique<Histogram>(bounds_);
  } else {
    child = std::make_unique<T>();
  }
  T& ref = *child;
  children_.emplace(values, std::move(child));
  return ref;
}

template <typename T>
void Family<T>::render(std::string& out, std::string_view type) const {
  appendHeader(out, name_, help_, type);
  std::lock_guard lock(mutex_);
  for (const auto& [values, child] : children_) {
    if constexpr (std::is_same_v<T, Histogram>) {
      std::vector<uint64_t> counts = child->cumulativeCounts();
      for (size_t i = 0; i < counts.size(); ++i) {
        out += name_;
        out += "_bucket";
        appendLabels(out, label_names_, values);
        out += values.empty() ? "{le=\"" : ",le=\"";
        if (i < child->bounds().size()) {
          appendNumber(out, child->bounds()[i]);
        } else {
          out += "+Inf";
        }
        out += "\"} ";
        out += std::to_string(counts[i]);
        out += '\n';
      }
      for (std::string_view suffix : {"_sum", "_count"}) {
        out += name_;
        out += suffix;
        appendLabels(out, label_names_, values);
        if (!values.empty()) out += '}';
        out += ' ';
        if (suffix == "_sum") {
          appendNumber(out, child->sum());
        } else {
          out += std::to_string(counts.back());
        }
        out += '\n';
      }
    } else {
      out += name_;
      appendLabels(out, label_names_, values);
      if (!values.empty()) out += '}';
      out += ' ';
      if constexpr (std::is_same_v<T, Counter>) {
        out += std::to_string(child->value());
      } else {
        appendNumber(out, child->value());
      }
      out += '\n';
    }
  }
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

MetricsRegistry::Entry* MetricsRegistry::find(const std::string& name) {
  for (auto& e : entries_) {
    if (e->name == name) return e.get();
  }
  return nullptr;
}

CounterFamily& MetricsRegistry::counter(const std::string& name, const std::string& help,
                                        std::vector<std::string> labels) {
  std::lock_guard lock(mutex_);
  if (Entry* e = find(name); e && e->counter) return *e->counter;
  auto e = std::make_unique<Entry>();
  e->kind = "counter";
  e->name = name;
  e->counter = std::make_unique<CounterFamily>(name, help, std::move(labels));
  CounterFamily& ref = *e->counter;
  entries_.push_back(std::move(e));
  return ref;
}

GaugeFamily& MetricsRegistry::gauge(const std::string& name, const std::string& help,
                                    std::vector<std::string> labels) {
  std::lock_guard lock(mutex_);
  if (Entry* e = find(name); e && e->gauge) return *e->gauge;
  auto e = std::make_unique<Entry>();
  e->kind = "gauge";
  e->name = name;
  e->gauge = std::make_unique<GaugeFamily>(name, help, std::move(labels));
  GaugeFamily& ref = *e->gauge;
  entries_.push_back(std::move(e));
  return ref;
}

HistogramFamily& MetricsRegistry::histogram(const std::string& name, const std::string& help,
                                            std::vector<std::string> labels, std::vector<double> bounds) {
  std::lock_guard lock(mutex_);
  if (Entry* e = find(name); e && e->histogram) return *e->histogram;
  auto e = std::make_unique<Entry>();
  e->kind = "histogram";
  e->name = name;
  e->histogram = std::make_unique<HistogramFamily>(name, help, std::move(labels), std::move(bounds));
  HistogramFamily& ref = *e->histogram;
  entries_.push_back(std::move(e));
  return ref;
}

void MetricsRegistry::gaugeCallback(const std::string& name, const std::string& help, std::function<double()> read) {
  std::lock_guard lock(mutex_);
  if (Entry* e = find(name); e && e->kind == "callback") {
    e->read = std::move(read);
    return;
  }
  auto e = std::make_unique<Entry>();
  e->kind = "callback";
  e->name = name;
  e->help = help;
  e->read = std::move(read);
  entries_.push_back(std::move(e));
}

std::string MetricsRegistry::render() const {
  std::string out;
  std::lock_guard lock(mutex_);
  for (const auto& e : entries_) {
    if (e->counter) {
      e->counter->render(out, "counter");
    } else if (e->gauge) {
      e->gauge->render(out, "gauge");
    } else if (e->histogram) {
      e->histogram->render(out, "histogram");
    } else if (e->read) {
      appendHeader(out, e->name, e->help, "gauge");
      out += e->name;
      out += ' ';
      appendNumber(out, e->read());
      out += '\n';
    }
  }
  return out;
}

}  // namespace planbro::gateway::http
