#pragma once
// Stored R4 Subscriptions as dispatcher subscribers (docs/dispatch.md, "Subscriptions"). The subscriber set is
// derived from the store: every round the manager reads the Subscriptions whose status is requested, active or
// error, and brings the dispatcher's runtime subscribers in line (added, replaced when criteria or channel changed,
// removed when deleted, off or ended). So every node on one database follows the same Subscriptions within one poll
// interval, and the dispatcher's guarantees (order per plan, idempotency key, backoff, dead letters, the access
// hook, leases shared between nodes) hold for them as for configured subscribers: they are the same subscribers.
//
// The lifecycle R4 defines, written back through the operations layer (source kSubscriptionsSource, If-Match, so two
// nodes never overwrite each other's step):
//   requested → the handshake (a ping, see ping.h) → active, or error with the failure in Subscription.error;
//   active    → error once the dispatcher gives up on a notification (a dead letter), back to active once a later
//               one is delivered; heartbeats every backport heartbeat-period while active;
//   end passed → off (delivery stops); off set by the client → delivery stops.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "planbro/fhir-model/status.h"
#include "planbro/gateway/dispatch/dispatcher.h"
#include "planbro/gateway/ops/operations.h"
#include "planbro/gateway/search/search_executor.h"
#include "planbro/gateway/store/resource_store.h"
#include "planbro/gateway/subscriptions/ping.h"
#include "planbro/gateway/subscriptions/subscription.h"

namespace planbro::gateway::subscriptions {

struct ManagerOptions {
  SubscriptionPolicy policy;
  std::chrono::milliseconds poll_interval{1000};  // how soon another node's Subscription change takes effect
  size_t max_active = 1000;                       // Subscriptions served at once; more are left requested (logged)
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds timeout{10000};
  size_t max_parallel = 4;                        // plans delivered at once per Subscription
  /** Handshakes per round (the rest wait for the next); heartbeats up to twice that. */
  size_t max_pings_per_round = 32;
  /** Handshakes and heartbeats sent at once: a round lasts about timeout × pings / this, whatever hangs. */
  size_t max_parallel_pings = 8;
  std::string own_base_url;                       // for criteria on absolute references to this server
  /** The base URL now (set once the server listens on port 0); empty: own_base_url. Topic-based notifications
   *  name the Subscription and the changed resources by absolute URL. */
  std::function<std::string()> base_url;
  store::Clock clock;                             // empty: the system clock
  /** Sends handshakes and heartbeats. Empty: sendPing (libcurl). */
  std::function<Status(const PingRequest&)> ping;
};

/** The subscriber name of Subscription/<id> in the dispatcher and the store's dispatch state. */
std::string subscriberName(std::string_view subscription_id);

class SubscriptionManager {
 public:
  /** The store, operations, executor and dispatcher must outlive the manager. Starts nothing. */
  SubscriptionManager(store::ResourceStore& store, ops::Operations& operations, search::SearchExecutor& executor,
                      dispatch::Dispatcher& dispatcher, ManagerOptions options);
  ~SubscriptionManager();  // stops

  /** One round on the caller's thread (tests, and the thread's loop): read, reconcile, handshakes, heartbeats,
   *  status. Returns the first failure; the other Subscriptions still got their round. */
  Status syncOnce();
  /** Writes the policy's topics (Basic resources) into the store, so they are read and searched as any resource;
   *  an unchanged topic is no new version. Every node does it at start. */
  Status seedTopics();
  void start();
  void stop();
  /** A Subscription was written: the next round starts now. */
  void wake();

 private:
  struct Running {
    std::string fingerprint;
    store::Timestamp last_sent{};  // the last handshake, heartbeat or notification
    int64_t delivered_seen = 0;
    int64_t dead_seen = 0;
  };
  Result<std::vector<store::ResourceVersion>> loadSubscriptions();
  /** A handshake or heartbeat of this round, sent after every Subscription was looked at. */
  struct PendingPing {
    SubscriptionSpec spec;
    PingRequest request;
    bool handshake = false;
    Status result;
  };
  Status reconcile(const SubscriptionSpec& spec, store::Timestamp now, std::map<std::string, bool>& wanted,
                   std::vector<PendingPing>& pings);
  void sendPings(std::vector<PendingPing>& pings) const;
  Status completeHandshake(const SubscriptionSpec& spec, const Status& handshake, store::Timestamp now,
                           std::map<std::string, bool>& wanted);
  Status writeStatus(const SubscriptionSpec& spec, std::string_view status, const std::string& error);
  Status addSubscriber(const SubscriptionSpec& spec);
  PingRequest pingOf(const SubscriptionSpec& spec, std::string_view type, std::string_view status) const;
  std::string baseUrl() const;
  void loop();

  store::ResourceStore& store_;
  ops::Operations& operations_;
  search::SearchExecutor& executor_;
  dispatch::Dispatcher& dispatcher_;
  ManagerOptions options_;
  std::map<std::string, Running> running_;  // by Subscription id; the loop thread's (or syncOnce's caller's)
  std::map<std::string, dispatch::SubscriberMetrics> metrics_;  // this round's, by subscriber name

  std::mutex wake_mutex_;
  std::condition_variable wake_cv_;
  bool woken_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace planbro::gateway::subscriptions
