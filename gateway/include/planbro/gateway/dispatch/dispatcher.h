#pragma once
// The dispatcher: delivers the outbox (every committed change, in commit order) to each subscriber, in order per
// plan, at least once, with a stable idempotency key per event and receiver. See docs/dispatch.md.
//
// Per subscriber the outbox is split into partitions by a hash of each change's ordering key (the patient's
// compartment), so one plan's changes stay in order and in one partition while a slow plan never holds up another:
// within a partition an event waits only for earlier events of its own key. Positions, leases and delivery records
// live in the store (store/dispatch_state.h): a restart resumes where delivery stopped, and several nodes on one
// PostgreSQL database share the partitions (a lease each), a dead node's partitions taken over when its leases
// expire. A change never goes back to the system it came from. Failed deliveries are retried with exponential
// backoff and jitter; after max_attempts tries or max_age they become dead letters (admin API: list, inspect,
// retry, discard) and stop blocking their plan. Every event passes the AccessPolicy for its receiver first.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "planbro/fhir-model/status.h"
#include "planbro/gateway/dispatch/access_policy.h"
#include "planbro/gateway/dispatch/backoff.h"
#include "planbro/gateway/dispatch/transport.h"
#include "planbro/gateway/security/principal.h"
#include "planbro/gateway/store/resource_store.h"

namespace planbro::gateway::dispatch {

/** Which changes a subscriber wants beyond its resource types (Subscription criteria). */
class EventFilter {
 public:
  virtual ~EventFilter() = default;
  /** `resource` as for AccessPolicy::mayReceive. Called on the subscriber's worker thread. */
  virtual bool matches(const store::OutboxEvent& event, const std::string* resource) const = 0;
};

/** One receiver. */
struct SubscriberSpec {
  /** Stable name: the key of its positions and dead letters in the store. 1..200 bytes. */
  std::string name;
  /** The system the receiver writes through (WriteContext::source_system); changes it made are never sent back to
   *  it. Empty: none excluded. */
  std::string source_system;
  /** Resource types it receives; empty: every type. AuditEvent never (the audit trail is not shared). */
  std::vector<std::string> types;
  /** Null: every change of those types. */
  std::shared_ptr<const EventFilter> filter;
  std::shared_ptr<Transport> transport;
  /** Where a subscriber new to the store starts: at the newest change (it gets what happens from now on) or at the
   *  beginning of the outbox. A subscriber the store knows resumes at its position either way. */
  enum class Start { kNow, kBeginning };
  Start start = Start::kNow;
  /** Whose access the subscriber receives under (a stored Subscription's creator): the access policy checks each
   *  event as this principal. Null: the policy's own view of the subscriber (its configured receiver, if any). */
  std::shared_ptr<const security::Principal> acting_for;
};

struct DispatcherOptions {
  /** This node's lease owner name, unique among the nodes on one database. Empty: hostname, pid and random. */
  std::string node_id;
  int partitions = 16;                        // per new subscriber (a known one keeps its count)
  size_t max_in_flight = 64;                  // events handed to a subscriber's transport in one round
  size_t max_queued = 10'000;                 // events read ahead per subscriber (memory bound)
  size_t read_batch = 500;                    // outbox events per read (1..1000)
  int max_attempts = 10;                      // failed tries before a dead letter
  std::chrono::seconds max_age{86'400};       // or: time since the first failed try
  BackoffPolicy backoff;
  std::chrono::milliseconds lease_ttl{30'000};
  std::chrono::milliseconds poll_interval{50};  // idle wait between rounds (wake() cuts it short)
  /** Started workers write their positions at most this often (runOnce() and stop() always write): a round does
   *  not wait for a durable commit. Failure records and lease changes are written at once. A crash sends again at
   *  most this much, under the same idempotency keys. Less than lease_ttl / 3. */
  std::chrono::milliseconds commit_interval{100};
  store::Clock clock;                           // empty: the system clock
  RandomSource random;                          // empty: systemRandom()
  std::shared_ptr<const AccessPolicy> access;   // null: AllowAllPolicy
  /** Called on a worker's thread for each delivered event with the time from its commit (occurred_at) to the
   *  receiver's answer: for the latency histogram. May be empty. */
  std::function<void(const std::string& subscriber, std::chrono::microseconds latency)> on_delivered;
};

/** A subscriber's counters (since this process started) and its lag as this node sees it. */
struct SubscriberMetrics {
  std::string name;
  std::string transport;
  int64_t delivered = 0;
  int64_t failures = 0;      // failed tries (each one)
  int64_t retries = 0;       // failed tries that will be tried again
  int64_t dead_letters = 0;  // events given up on
  int64_t filtered = 0;      // events the access policy kept from it
  int64_t withheld = 0;      // receivers its transport picked per event that the access policy refused
  int held_partitions = 0;
  int64_t lag_events = 0;     // newest outbox position minus the lowest position of a partition this node holds
  double lag_seconds = 0;     // age of the oldest event this node holds undelivered (0: none)
  std::string last_error;
};

class SubscriberWorker;

class Dispatcher {
 public:
  /** Checks the options and subscribers (names unique and valid, a transport each). Starts nothing. */
  static Result<std::unique_ptr<Dispatcher>> create(store::ResourceStore& store, DispatcherOptions options,
                                                    std::vector<SubscriberSpec> subscribers);
  ~Dispatcher();  // stops

  /** One round of every subscriber on the caller's thread: leases, read ahead, deliver what is due, commit
   *  progress. For tests and tools; not while started. Returns the first failure (the others still ran). */
  Status runOnce();

  /** Starts one worker thread per subscriber. */
  void start();
  /** Stops the threads in bounded time: a delivery in progress is cut short (Transport::setCancelled; what it had
   *  not finished is sent again later under the same key), each worker writes its progress and gives up its
   *  leases so another node takes over at once. */
  void stop();
  /** New commits: workers start a round now instead of after the poll interval. Cheap; any thread. */
  void wake();

  std::vector<SubscriberMetrics> metrics() const;
  const std::string& nodeId() const { return options_.node_id; }

  /**
   * Adds a subscriber at runtime (a stored Subscription became active), checked as create() checks one; started at
   * once when the dispatcher runs. Its position and dead letters in the store are kept under its name, so a
   * subscriber removed and added again resumes where it stopped. kAlreadyExists when the name is taken.
   */
  Status addSubscriber(SubscriberSpec spec);
  /** Stops and removes a subscriber (its round finishes, its leases are handed back); its state in the store stays.
   *  False when there is none of that name. */
  bool removeSubscriber(const std::string& name);
  /** The names of the subscribers this dispatcher runs. */
  std::vector<std::string> subscriberNames() const;
  /**
   * Fixes where a subscriber new to the store starts: its partitions are created at the outbox's newest position now
   * (a subscriber the store knows keeps its positions). A Subscription is made active only after this, so no change
   * committed after its activation is missed, however late its worker's first round comes.
   */
  Status ensureSubscriberStartsNow(const std::string& name);

 private:
  Dispatcher(store::ResourceStore& store, DispatcherOptions options);
  static Status checkSpec(const SubscriberSpec& spec);
  store::ResourceStore& store_;
  DispatcherOptions options_;
  std::string idempotency_secret_;
  /** Guards workers_ and started_ (subscribers come and go at runtime); a worker's own round never takes it. */
  mutable std::mutex workers_mutex_;
  bool started_ = false;
  std::vector<std::unique_ptr<SubscriberWorker>> workers_;
};

}  // namespace planbro::gateway::dispatch
