// The audit queue and its flushing thread (audit_log.h). One mutex guards the queue and the counters. The queue
// keeps records in chunks of slots that are reused once emptied, so taking a record moves it into a slot and
// allocates nothing once the queue has reached its working depth (a std::deque<AuditRecord> allocates a node per
// record of this size). The thread moves a batch out under the lock into a batch of its own, writes it without the lock, and keeps
// it until the store committed it, so a failed batch is written again rather than lost; records in that batch still
// count against queue_entries. Producers never wait: a full queue is a refusal the caller turns into 503.
#include "planbro/gateway/security/audit_log.h"

#include <spdlog/spdlog.h>

#include <array>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "planbro/gateway/http/logging.h"
#include "planbro/gateway/store/resource_id.h"

namespace planbro::gateway::security {
namespace {

constexpr int kStopAttempts = 3;  // per batch at stop(), while the store keeps failing

int64_t systemMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

// A FIFO of records in chunks of slots. A chunk the reader has emptied is kept for reuse, so once the queue has
// reached its working depth pushing allocates nothing, and growing never moves a queued record.
class RecordRing {
 public:
  size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }
  void push(AuditRecord&& r) {
    if (chunks_.empty() || tail_ == kChunk) {
      if (spare_.empty()) {
        chunks_.push_back(std::make_unique<Chunk>());
      } else {
        chunks_.push_back(std::move(spare_.back()));
        spare_.pop_back();
      }
      tail_ = 0;
    }
    (*chunks_.back())[tail_++] = std::move(r);
    ++count_;
  }
  /** Moves the oldest `n` (at most size()) records to the end of `out`. */
  void popInto(size_t n, std::vector<AuditRecord>& out) {
    n = std::min(n, count_);
    for (size_t i = 0; i < n; ++i) {
      out.push_back(std::move((*chunks_.front())[head_++]));
      --count_;
      const bool last_chunk = chunks_.size() == 1;
      if (head_ == kChunk || (last_chunk && head_ == tail_)) {
        spare_.push_back(std::move(chunks_.front()));
        chunks_.pop_front();
        head_ = 0;
        if (last_chunk) tail_ = kChunk;  // the next push takes a chunk
      }
    }
  }
  void clear() {
    std::vector<AuditRecord> spent;
    popInto(count_, spent);
  }

 private:
  static constexpr size_t kChunk = 64;
  using Chunk = std::array<AuditRecord, kChunk>;
  std::deque<std::unique_ptr<Chunk>> chunks_;  // oldest first; reads from head_ of the front, writes at tail_ of the back
  std::vector<std::unique_ptr<Chunk>> spare_;  // emptied chunks, reused (at most the queue's bound in all)
  size_t head_ = 0, tail_ = 0, count_ = 0;
};

struct AuditLog::State {
  store::ResourceStore& store;
  AuditLogOptions options;
  mutable std::mutex mutex;
  std::condition_variable wake;     // the flusher: a batch is full, a flush or stop was asked for
  std::condition_variable written;  // flush() callers: a batch was stored or failed
  RecordRing queue;
  size_t in_flight = 0;  // records the thread holds in its batch (not yet committed): they count as queued
  uint64_t accepted = 0, stored = 0, refused = 0, failed_batches = 0, lost = 0;
  uint64_t flush_wanted = 0;  // the highest `accepted` some flush() waits for
  bool stopping = false, stopped = false;
  std::thread thread;

  State(store::ResourceStore& s, AuditLogOptions o) : store(s), options(std::move(o)) {
    if (options.queue_entries == 0) options.queue_entries = 1;
    if (options.batch_entries == 0) options.batch_entries = 1;
    if (!options.clock_us) options.clock_us = systemMicros;
  }

  size_t queued() const { return queue.size() + in_flight; }

  // One store transaction for the batch: every AuditEvent and its index rows, or none. The JSON is written in its
  // canonical form and the rows are derived from the record (audit_event.cc, audit_index.cc): no parse, no
  // re-serialisation, no FHIRPath.
  Status writeBatch(const std::vector<AuditRecord>& batch) {
    ASSIGN_OR_RETURN(std::unique_ptr<store::WriteTransaction> tx,
                     store.begin(store::WriteContext{"planbro-audit", "audit"}));
    std::string json;
    for (const AuditRecord& r : batch) {
      const std::string id = store::newResourceId();
      json.clear();
      writeAuditEventJson(r, id, options.observer, json);
      Result<store::WriteResult> created = tx->create("AuditEvent", store::ResourceContent{json, {}}, id);
      if (!created.isOk()) {
        tx->rollback();
        return created.status();
      }
      Status added = tx->addIndex("AuditEvent", id, auditEventIndexRows(r, id, options.observer, created->last_updated));
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
    std::vector<AuditRecord> batch;  // kept across a failure: written again first
    for (;;) {
      wake.wait_for(lock, options.flush_interval, [&] {
        return stopping || !batch.empty() || queue.size() >= options.batch_entries ||
               (flush_wanted > stored && !queue.empty());
      });
      if (batch.empty()) {
        if (queue.empty()) {
          if (stopping) break;
          continue;
        }
        queue.popInto(options.batch_entries, batch);
        in_flight = batch.size();
      }
      const size_t n = batch.size();
      lock.unlock();
      Status s = writeBatch(batch);
      lock.lock();
      if (s.isOk()) {
        batch.clear();
        in_flight = 0;
        stored += n;
        failures_in_a_row = 0;
      } else {
        ++failed_batches;
        ++failures_in_a_row;
        http::appLogger()->error("audit: writing {} AuditEvents failed ({} queued): {}", n, queued(), s.message());
        if (stopping && failures_in_a_row >= kStopAttempts) {
          lost += queued();
          http::appLogger()->error("audit: {} audit records lost at shutdown: the store kept failing", queued());
          batch.clear();
          in_flight = 0;
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
  if (state_->stopping || state_->queued() >= state_->options.queue_entries) {
    ++state_->refused;
    return Status(StatusCode::kUnavailable, "the audit trail cannot take more records now; try again");
  }
  state_->queue.push(std::move(record));
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
                       state_->queued()};
}

}  // namespace planbro::gateway::security
