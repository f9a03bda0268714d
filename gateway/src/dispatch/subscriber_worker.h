#pragma once
// One subscriber's share of the dispatcher on this node: the partitions it holds a lease on, the events read ahead
// for them, and one round of work (dispatcher.h). Internal to planbro_dispatch.

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>

#include "planbro/gateway/dispatch/dispatcher.h"
#include "planbro/gateway/store/dispatch_state.h"

namespace planbro::gateway::dispatch {

class SubscriberWorker {
 public:
  SubscriberWorker(store::ResourceStore& store, const DispatcherOptions& options, SubscriberSpec spec,
                   std::string idempotency_secret);
  ~SubscriberWorker();

  /** One round: leases, read ahead, deliver what is due, commit. `persist`: write the positions now, else at most
   *  every commit_interval (failure records and lease changes always at once). */
  Status round(bool persist = true);

  void start();
  /** Tells the thread to stop and cuts a delivery in progress short; returns at once. */
  void requestStop();
  /** requestStop(), then waits for the thread: it writes its progress and releases its leases. */
  void stop();
  void wake();
  SubscriberMetrics metrics() const;
  const std::string& name() const { return spec_.name; }

 private:
  struct Item {
    store::OutboxEvent event;
    std::string key;
    std::shared_ptr<const std::string> resource;  // the version (delete: the last one before), null when unreadable
    int attempts = 0;
    store::Timestamp first_attempt{};
    store::Timestamp next_attempt{};
    bool has_record = false;  // a delivery record exists in the store
    bool redelivery = false;  // an operator's retry of a dead letter
    bool done = false;
  };
  struct Partition {
    int id = 0;
    int64_t position = 0;   // durable: everything of this partition at or below is delivered or dead-lettered
    int64_t seen_upto = 0;  // outbox events up to here are examined for it
    std::deque<Item> queue;  // its events after `position`, in outbox order
    std::deque<Item> redeliveries;
    std::unordered_map<int64_t, store::DeliveryRecord> records;  // records above `position` not yet applied
    std::vector<store::DeliveryRecord> upserts;  // to commit
    std::vector<int64_t> finished;               // records to delete at commit
  };

  Status ensureSubscriber();
  Status refreshLeases(store::Timestamp now);
  Status loadRedeliveries();
  Status readAhead(store::Timestamp now);
  Status deliverDue(store::Timestamp now);
  Status commit(bool persist);
  Result<Item> resolve(const store::OutboxEvent& event);
  bool wanted(const store::OutboxEvent& event) const;
  void finishFailed(Partition& part, Item& item, std::string error, store::Timestamp now);
  std::string idempotencyKey(int64_t position) const;
  void loop();

  store::ResourceStore& store_;
  store::DispatchState& state_;
  const DispatcherOptions& options_;
  const SubscriberSpec spec_;
  const std::string idempotency_secret_;

  bool ensured_ = false;
  int partitions_ = 0;
  std::map<int, Partition> held_;
  store::Timestamp leases_renewed_{};
  store::Timestamp last_commit_{};  // the last progress written
  bool force_lease_refresh_ = true;
  bool more_work_ = false;
  bool read_ahead_full_ = false;  // the last read-ahead stopped at max_queued

  // Metrics (read from other threads).
  std::atomic<int64_t> delivered_{0}, failures_{0}, retries_{0}, dead_letters_{0}, filtered_{0}, withheld_{0};
  std::atomic<int> held_count_{0};
  std::atomic<int64_t> lowest_position_{0};
  std::atomic<int64_t> newest_position_{0};  // the outbox's newest position as last seen (read, or outboxStats)
  store::Timestamp newest_checked_{};
  std::atomic<int64_t> oldest_pending_us_{0};  // occurred_at of the oldest undelivered event held, 0: none
  mutable std::mutex error_mutex_;
  std::string last_error_;
  std::string last_logged_failure_;  // the worker thread's own

  std::mutex wake_mutex_;
  std::condition_variable wake_cv_;
  bool woken_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace planbro::gateway::dispatch
