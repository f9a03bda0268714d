#include "planbro/gateway/dispatch/dispatcher.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <set>

#include "planbro/gateway/store/dispatch_state.h"
#include "subscriber_worker.h"

namespace planbro::gateway::dispatch {
namespace {

std::string defaultNodeId(const RandomSource& random) {
  std::array<char, 256> host{};
  if (gethostname(host.data(), host.size() - 1) != 0) host[0] = '\0';
  const auto salt = static_cast<uint64_t>(random() * 4294967296.0);
  return std::string(host.data()) + ":" + std::to_string(getpid()) + ":" + std::to_string(salt);
}

}  // namespace

Dispatcher::Dispatcher(store::ResourceStore& store, DispatcherOptions options)
    : store_(store), options_(std::move(options)) {}

Dispatcher::~Dispatcher() { stop(); }

Result<std::unique_ptr<Dispatcher>> Dispatcher::create(store::ResourceStore& store, DispatcherOptions options,
                                                       std::vector<SubscriberSpec> subscribers) {
  if (store.dispatchState() == nullptr) return failedPrecondition("this store keeps no dispatcher state");
  if (options.partitions < 1 || options.partitions > 4096) return invalidArgument("dispatch: partitions must be 1..4096");
  if (options.max_in_flight < 1) return invalidArgument("dispatch: max_in_flight must be at least 1");
  if (options.read_batch < 1 || options.read_batch > store::kMaxPageSize) {
    return invalidArgument("dispatch: read_batch must be 1.." + std::to_string(store::kMaxPageSize));
  }
  if (options.max_queued < options.read_batch) return invalidArgument("dispatch: max_queued must be >= read_batch");
  if (options.max_attempts < 1) return invalidArgument("dispatch: max_attempts must be at least 1");
  if (options.lease_ttl < std::chrono::seconds(1)) return invalidArgument("dispatch: lease_ttl must be >= 1 s");
  if (options.commit_interval.count() < 0 || options.commit_interval >= options.lease_ttl / 3) {
    return invalidArgument("dispatch: commit_interval must be 0 or more and less than a third of lease_ttl");
  }
  if (!options.clock) options.clock = store::systemClock();
  if (!options.random) options.random = systemRandom();
  if (!options.access) options.access = std::make_shared<AllowAllPolicy>();
  if (options.node_id.empty()) options.node_id = defaultNodeId(options.random);
  std::set<std::string> names;
  for (const SubscriberSpec& s : subscribers) {
    RETURN_IF_ERROR(checkSpec(s));
    if (!names.insert(s.name).second) return invalidArgument("dispatch: subscriber '" + s.name + "' is named twice");
  }
  ASSIGN_OR_RETURN(std::string secret, store.serverSecret("dispatch:idempotency-key"));
  std::unique_ptr<Dispatcher> d(new Dispatcher(store, std::move(options)));
  d->idempotency_secret_ = secret;
  for (SubscriberSpec& s : subscribers) {
    d->workers_.push_back(std::make_unique<SubscriberWorker>(store, d->options_, std::move(s), secret));
  }
  return d;
}

Status Dispatcher::checkSpec(const SubscriberSpec& s) {
  if (s.name.empty() || s.name.size() > 200) return invalidArgument("dispatch: a subscriber name must be 1..200 bytes");
  if (!s.transport) return invalidArgument("dispatch: subscriber '" + s.name + "' has no transport");
  return Status::ok();
}

Status Dispatcher::addSubscriber(SubscriberSpec spec) {
  RETURN_IF_ERROR(checkSpec(spec));
  std::lock_guard lock(workers_mutex_);
  for (const auto& w : workers_) {
    if (w->name() == spec.name) return Status(StatusCode::kAlreadyExists, "dispatch: subscriber '" + spec.name + "' exists");
  }
  workers_.push_back(std::make_unique<SubscriberWorker>(store_, options_, std::move(spec), idempotency_secret_));
  if (started_) workers_.back()->start();
  return Status::ok();
}

bool Dispatcher::removeSubscriber(const std::string& name) {
  std::unique_ptr<SubscriberWorker> removed;
  {
    std::lock_guard lock(workers_mutex_);
    auto it = std::find_if(workers_.begin(), workers_.end(), [&](const auto& w) { return w->name() == name; });
    if (it == workers_.end()) return false;
    removed = std::move(*it);
    workers_.erase(it);
  }
  removed->stop();  // outside the lock: its last round may take a while
  return true;
}

std::vector<std::string> Dispatcher::subscriberNames() const {
  std::lock_guard lock(workers_mutex_);
  std::vector<std::string> out;
  for (const auto& w : workers_) out.push_back(w->name());
  return out;
}

Status Dispatcher::ensureSubscriberStartsNow(const std::string& name) {
  store::DispatchState* state = store_.dispatchState();
  if (state == nullptr) return invalidArgument("dispatch: the store keeps no dispatcher state");
  ASSIGN_OR_RETURN(store::OutboxStats stats, store_.outboxStats());
  return state->ensureSubscriber(name, options_.partitions, stats.newest_position).status();
}

Status Dispatcher::runOnce() {
  std::lock_guard lock(workers_mutex_);
  Status first = Status::ok();
  for (auto& w : workers_) {
    Status s = w->round();
    if (first.isOk() && !s.isOk()) first = s;
  }
  return first;
}

void Dispatcher::start() {
  std::lock_guard lock(workers_mutex_);
  started_ = true;
  for (auto& w : workers_) w->start();
}

void Dispatcher::stop() {
  std::lock_guard lock(workers_mutex_);
  started_ = false;
  // Every worker is told first, so their deliveries are cut short together rather than one after another.
  for (auto& w : workers_) w->requestStop();
  for (auto& w : workers_) w->stop();
}

void Dispatcher::wake() {
  std::lock_guard lock(workers_mutex_);
  for (auto& w : workers_) w->wake();
}

std::vector<SubscriberMetrics> Dispatcher::metrics() const {
  std::lock_guard lock(workers_mutex_);
  std::vector<SubscriberMetrics> out;
  for (const auto& w : workers_) out.push_back(w->metrics());
  return out;
}

}  // namespace planbro::gateway::dispatch
