// The audit queue and its flushing thread (audit_log.h). One mutex guards the queue and the counters; the thread
// copies a batch out, writes it without the lock, and pops it only once the store committed it, so a failed batch
// is written again rather than lost. Producers never wait: a full queue is a refusal the caller turns into 503.
#include "planbro/gateway/security/audit_log.h"

#include <spdlog/spdlog.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "planbro/fhir-model/json.h"
#include "planbro/fhir-model/resource_json.h"
#include "planbro/gateway/http/logging.h"
#include "planbro/gateway/search/indexer.h"
#include "planbro/gateway/store/resource_id.h"

namespace planbro::gateway::security {
namespace {

constexpr int kStopAttempts = 3;  // per batch at stop(), while the store keeps failing

int64_t systemMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

struct AuditLog::State {
  store::ResourceStore& store;
  AuditLogOptions options;
  mutable std::mutex mutex;
  std::condition_variable wake;     // the flusher: a batch is full, a flush or stop was asked for
  std::condition_variable written;  // flush() callers: a batch was stored or failed
  std::deque<AuditRecord> queue;
  uint64_t accepted = 0, stored = 0, refused = 0, failed_batches = 0, lost = 0;
  uint64_t flush_wanted = 0;  // the highest `accepted` some flush() waits for
  bool stopping = false, stopped = false;
  std::thread thread;

  State(store::ResourceStore& s, AuditLogOptions o) : store(s), options(std::move(o)) {
    if (options.queue_entries == 0) options.queue_entries = 1;
    if (options.batch_entries == 0) options.batch_entries = 1;
    if (!options.clock_us) options.clock_us = systemMicros;
  }

  // One store transaction for the batch: every AuditEvent and its index rows, or none.
  Status writeBatch(const std::vector<AuditRecord>& batch) {
    ASSIGN_OR_RETURN(std::unique_ptr<store::WriteTransaction> tx,
                     store.begin(store::WriteContext{"planbro-audit", "audit"}));
    for (const AuditRecord& r : batch) {
      const std::string id = store::newResourceId();
      auto doc = fhir::JsonDocument::parse(auditEventJson(r, id, options.observer));
      if (!doc.isOk()) {
        tx->rollback();
        return Status(StatusCode::kInternal, "an audit record made invalid JSON: " + doc.status().message());
      }
      const std::string json = fhir::writeResourceJson(doc->root());
      Result<store::WriteResult> created = tx->create("AuditEvent", store::ResourceContent{json, {}}, id);
      if (!created.isOk()) {
        tx->rollback();
        return created.status();
      }
      search::IndexOptions index;
      index.last_updated = created->last_updated;
      Result<std::vector<store::IndexRow>> rows = search::indexResource(doc->root(), nullptr, index);
      Status added = rows.isOk() ? tx->addIndex("AuditEvent", id, *rows) : rows.status();
      if (!added.isOk()) {
        tx->rollback();
        return added;
      }
    }
    return tx->commit();
  }

  void run() {
    std::unique_lock lock(mutex);
    int failures_in_a_row = 0;
    for (;;) {
      wake.wait_for(lock, options.flush_interval, [&] {
        return stopping || queue.size() >= options.batch_entries || (flush_wanted > stored && !queue.empty());
      });
      if (queue.empty()) {
        if (stopping) break;
        continue;
      }
      const size_t n = std::min(queue.size(), options.batch_entries);
      std::vector<AuditRecord> batch(queue.begin(), queue.begin() + static_cast<std::ptrdiff_t>(n));
      lock.unlock();
      Status s = writeBatch(batch);
      lock.lock();
      if (s.isOk()) {
        queue.erase(queue.begin(), queue.begin() + static_cast<std::ptrdiff_t>(n));
        stored += n;
        failures_in_a_row = 0;
      } else {
        ++failed_batches;
        ++failures_in_a_row;
        http::appLogger()->error("audit: writing {} AuditEvents failed ({} queued): {}", n, queue.size(), s.message());
        if (stopping && failures_in_a_row >= kStopAttempts) {
          lost += queue.size();
          http::appLogger()->error("audit: {} audit records lost at shutdown: the store kept failing", queue.size());
          queue.clear();
        } else if (!stopping) {
          // Back off one interval (the queue keeps filling, and refuses when full) before the batch is tried again.
          written.notify_all();
          wake.wait_for(lock, options.flush_interval, [&] { return stopping; });
        }
      }
      written.notify_all();
    }
    written.notify_all();
  }
};

AuditLog::AuditLog(store::ResourceStore& store, AuditLogOptions options)
    : state_(std::make_shared<State>(store, std::move(options))) {
  state_->thread = std::thread([state = state_] { state->run(); });
}

AuditLog::~AuditLog() { stop(); }

Status AuditLog::record(AuditRecord record) {
  if (record.recorded_us == 0) record.recorded_us = state_->options.clock_us();
  std::lock_guard lock(state_->mutex);
  if (state_->stopping || state_->queue.size() >= state_->options.queue_entries) {
    ++state_->refused;
    return Status(StatusCode::kUnavailable, "the audit trail cannot take more records now; try again");
  }
  state_->queue.push_back(std::move(record));
  ++state_->accepted;
  if (state_->queue.size() >= state_->options.batch_entries) state_->wake.notify_one();
  return Status::ok();
}

Status AuditLog::flush() {
  std::unique_lock lock(state_->mutex);
  const uint64_t target = state_->accepted;
  const uint64_t failures = state_->failed_batches;
  state_->flush_wanted = std::max(state_->flush_wanted, target);
  state_->wake.notify_one();
  state_->written.wait(lock, [&] {
    return state_->stored >= target || state_->failed_batches != failures || state_->stopped;
  });
  if (state_->stored >= target) return Status::ok();
  return Status(StatusCode::kUnavailable, "the audit trail could not be written to the store");
}

void AuditLog::stop() {
  {
    std::lock_guard lock(state_->mutex);
    if (state_->stopped) return;
    state_->stopping = true;
  }
  state_->wake.notify_one();
  if (state_->thread.joinable()) state_->thread.join();
  std::lock_guard lock(state_->mutex);
  state_->stopped = true;
  state_->written.notify_all();
}

AuditLogStats AuditLog::stats() const {
  std::lock_guard lock(state_->mutex);
  return AuditLogStats{state_->accepted, state_->stored, state_->refused, state_->failed_batches, state_->lost,
                       state_->queue.size()};
}

}  // namespace planbro::gateway::security
