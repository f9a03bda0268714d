#include "serve_metrics.h"

#include <atomic>
#include <mutex>
#include <shared_mutex>
#include <string>

namespace planbro::gateway::rest {

struct ServeMetrics::State {
  std::chrono::milliseconds interval{0};
  http::Counter* commits = nullptr;
  http::Counter* rollbacks = nullptr;
  http::Histogram* commit_seconds = nullptr;
  http::CounterFamily* validations = nullptr;
  http::Histogram* validation_seconds = nullptr;
  std::atomic<int64_t> backlog{0};
  std::atomic<int64_t> newest{0};

  // Guards `store` against detach() while a read uses it: shared, so a scrape never waits for an outbox read.
  std::shared_mutex store_mutex;
  store::ResourceStore* store = nullptr;

  std::mutex refresh_mutex;  // one outbox read at a time
  std::chrono::steady_clock::time_point last_refresh{};
  bool refreshed = false;

  void refresh() {
    std::shared_lock lock(store_mutex);
    if (store == nullptr) return;
    auto stats = store->outboxStats();
    if (!stats.isOk()) return;
    backlog.store(stats->events, std::memory_order_relaxed);
    newest.store(stats->newest_position, std::memory_order_relaxed);
  }

  // After a commit: refresh unless another thread is at it or the last refresh is recent.
  void maybeRefresh() {
    std::unique_lock guard(refresh_mutex, std::try_to_lock);
    if (!guard.owns_lock()) return;
    const auto now = std::chrono::steady_clock::now();
    if (refreshed && now - last_refresh < interval) return;
    refresh();
    last_refresh = now;
    refreshed = true;
  }

  double connectionsInUse() {
    std::shared_lock lock(store_mutex);
    return store ? static_cast<double>(store->connectionsInUse()) : 0.0;
  }
};

ServeMetrics::ServeMetrics(http::MetricsRegistry& registry, store::ResourceStore& store,
                           std::chrono::milliseconds outbox_refresh_interval)
    : state_(std::make_shared<State>()) {
  State& s = *state_;
  s.interval = outbox_refresh_interval;
  s.store = &store;
  s.commits = &registry.counter("planbro_store_commits_total", "Write transactions committed").get();
  s.rollbacks = &registry.counter("planbro_store_rollbacks_total",
                                  "Write transactions rolled back (failed, refused, retried or stale)").get();
  s.commit_seconds = &registry.histogram("planbro_store_commit_seconds", "Time a write transaction's commit took").get();
  s.validations = &registry.counter("planbro_validation_total",
                                    "Resources validated before a write, by type and result (rejected: 422)",
                                    {"type", "result"});
  s.validation_seconds = &registry.histogram("planbro_validation_seconds", "Time validating one resource took").get();
  std::weak_ptr<State> weak = state_;
  registry.gaugeCallback("planbro_store_connections_in_use", "Pooled database connections lent out now", [weak] {
    auto st = weak.lock();
    return st ? st->connectionsInUse() : 0.0;
  });
  registry.gaugeCallback("planbro_outbox_backlog",
                         "Outbox events not yet consumed (no consumer yet: every event); refreshed after commits",
                         [weak] {
                           auto st = weak.lock();
                           return st ? static_cast<double>(st->backlog.load(std::memory_order_relaxed)) : 0.0;
                         });
  registry.gaugeCallback("planbro_outbox_newest_position", "The newest outbox position; refreshed after commits",
                         [weak] {
                           auto st = weak.lock();
                           return st ? static_cast<double>(st->newest.load(std::memory_order_relaxed)) : 0.0;
                         });

  auto wm = std::make_shared<ops::WriteMetrics>();
  std::shared_ptr<State> shared = state_;
  wm->validated = [shared](std::string_view type, bool accepted, double seconds) {
    shared->validations->withLabels({std::string(type), accepted ? "accepted" : "rejected"}).inc();
    shared->validation_seconds->observe(seconds);
  };
  wm->transaction_ended = [shared](bool committed, double seconds) {
    if (!committed) {
      shared->rollbacks->inc();
      return;
    }
    shared->commits->inc();
    shared->commit_seconds->observe(seconds);
    shared->maybeRefresh();
  };
  write_metrics_ = std::move(wm);
}

ServeMetrics::~ServeMetrics() { detach(); }

void ServeMetrics::refreshOutbox() {
  std::lock_guard guard(state_->refresh_mutex);
  state_->refresh();
  state_->last_refresh = std::chrono::steady_clock::now();
  state_->refreshed = true;
}

void ServeMetrics::detach() {
  std::unique_lock lock(state_->store_mutex);
  state_->store = nullptr;
}

}  // namespace planbro::gateway::rest
