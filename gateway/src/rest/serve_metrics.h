#pragma once
// The store, outbox and validation metrics of `planbro serve` (docs/server.md, "Metrics"): registers their
// families in the server's registry and hands the write path the callbacks (ops::WriteMetrics) that feed them.

#include <chrono>
#include <memory>

#include "planbro/gateway/http/metrics.h"
#include "planbro/gateway/ops/write_metrics.h"
#include "planbro/gateway/store/resource_store.h"

namespace planbro::gateway::rest {

/**
 * Registers in `registry`:
 *   planbro_store_commits_total, planbro_store_rollbacks_total (counters), planbro_store_commit_seconds (histogram);
 *   planbro_store_connections_in_use (read from the store's pool at scrape time: a lock, no I/O);
 *   planbro_outbox_backlog and planbro_outbox_newest_position (gauges, cached: see below);
 *   planbro_validation_total{type,result="accepted"|"rejected"} (counter), planbro_validation_seconds (histogram).
 *
 * A scrape never queries the database: the outbox gauges hold the store's outboxStats() as last read, which
 * refreshOutbox() does now (at start) and the write path does after a commit, at most once per
 * `outbox_refresh_interval` (0: after every commit) and by one thread at a time, on the write thread after its
 * transaction ended. A failed read keeps the previous values. Thread-safe.
 *
 * The registry may outlive the store: detach() (before the store goes) makes the scrape-time reads answer 0 and the
 * write callbacks stop touching the store.
 */
class ServeMetrics {
 public:
  ServeMetrics(http::MetricsRegistry& registry, store::ResourceStore& store,
               std::chrono::milliseconds outbox_refresh_interval);
  ~ServeMetrics();
  ServeMetrics(const ServeMetrics&) = delete;
  ServeMetrics& operator=(const ServeMetrics&) = delete;

  /** The callbacks for ops::WriterOptions::metrics. They stay valid after detach(). */
  std::shared_ptr<const ops::WriteMetrics> writeMetrics() const { return write_metrics_; }
  /** Reads the outbox stats into the gauges now, on this thread (one query). */
  void refreshOutbox();
  void detach();

 private:
  struct State;
  std::shared_ptr<State> state_;
  std::shared_ptr<const ops::WriteMetrics> write_metrics_;
};

}  // namespace planbro::gateway::rest
