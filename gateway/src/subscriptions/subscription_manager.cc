// The reconcile loop. State kept in memory is only what can be rebuilt (the last ping, the counters already seen):
// everything a node needs to serve a Subscription is in the store, so a restarted or second node serves the same set.
#include "planbro/gateway/subscriptions/subscription_manager.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>

#include "planbro/gateway/dispatch/rest_hook_transport.h"
#include "planbro/gateway/subscriptions/notification.h"

namespace planbro::gateway::subscriptions {
namespace {

constexpr size_t kPage = 100;

dispatch::RestHookOptions::Payload transportPayload(Payload p) {
  switch (p) {
    case Payload::kEmpty: return dispatch::RestHookOptions::Payload::kEmpty;
    case Payload::kIdOnly: return dispatch::RestHookOptions::Payload::kIdOnly;
    case Payload::kFull: return dispatch::RestHookOptions::Payload::kFull;
  }
  return dispatch::RestHookOptions::Payload::kEmpty;
}

}  // namespace

std::string subscriberName(std::string_view subscription_id) { return "Subscription/" + std::string(subscription_id); }

SubscriptionManager::SubscriptionManager(store::ResourceStore& store, ops::Operations& operations,
                                         search::SearchExecutor& executor, dispatch::Dispatcher& dispatcher,
                                         ManagerOptions options)
    : store_(store), operations_(operations), executor_(executor), dispatcher_(dispatcher), options_(std::move(options)) {
  if (!options_.clock) options_.clock = store::systemClock();
  if (!options_.ping) options_.ping = &sendPing;
}

SubscriptionManager::~SubscriptionManager() {
  stop();
  for (const auto& [id, running] : running_) dispatcher_.removeSubscriber(subscriberName(id));
}

Result<std::vector<store::ResourceVersion>> SubscriptionManager::loadSubscriptions() {
  std::vector<store::ResourceVersion> out;
  search::QueryParams params = {{"status", "requested,active,error"}, {"_count", std::to_string(kPage)}};
  ASSIGN_OR_RETURN(search::SearchRequest request, search::parseSearch("Subscription", params, search::Handling::kStrict));
  // Bounded: at most max_active Subscriptions (plus one page) are read per round.
  for (size_t pages = 0; pages <= options_.max_active / kPage + 1; ++pages) {
    ASSIGN_OR_RETURN(search::SearchResult page, executor_.execute(request));
    for (store::ResourceVersion& v : page.matches) out.push_back(std::move(v));
    if (!page.next_cursor || out.size() >= options_.max_active) break;
    request.cursor = page.next_cursor;
  }
  if (out.size() > options_.max_active) {
    spdlog::warn("subscriptions: {} stored, serving the first {} (dispatch.subscriptions.max_active)", out.size(),
                 options_.max_active);
    out.resize(options_.max_active);
  }
  return out;
}

std::string SubscriptionManager::baseUrl() const {
  std::string base = options_.base_url ? options_.base_url() : options_.own_base_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base;
}

namespace {
NotificationContext notificationContext(const SubscriptionSpec& spec, std::string base) {
  NotificationContext c;
  c.base_url = std::move(base);
  c.subscription = spec.id;
  c.topic_url = spec.topic ? spec.topic->url : std::string();
  c.payload = spec.payload;
  return c;
}
}  // namespace

PingRequest SubscriptionManager::pingOf(const SubscriptionSpec& spec, std::string_view type,
                                        std::string_view status) const {
  PingRequest p;
  p.subscription = subscriberName(spec.id);
  p.type = std::string(type);
  p.endpoint = spec.endpoint;
  // R4: with a full-resource payload the endpoint is a FHIR base (ping.h); topic-based: a notification Bundle.
  p.fhir_base = !spec.topic && spec.payload == Payload::kFull;
  p.headers = spec.headers;
  p.connect_timeout = options_.connect_timeout;
  p.timeout = options_.timeout;
  p.allow_plain_http = options_.policy.allow_plain_http;
  if (spec.topic) p.body = notificationBundleJson(notificationContext(spec, baseUrl()), status, type, nullptr);
  return p;
}

Status SubscriptionManager::writeStatus(const SubscriptionSpec& spec, std::string_view status,
                                        const std::string& error) {
  ASSIGN_OR_RETURN(store::ResourceVersion current, store_.read("Subscription", spec.id));
  if (current.version != spec.version) return Status::ok();  // changed meanwhile: the next round looks again
  ASSIGN_OR_RETURN(fhir::JsonDocument doc, fhir::JsonDocument::parse(current.json));
  fhir::JsonValue root = doc.withMember(doc.root(), "status", doc.makeString(status));
  root = error.empty() ? doc.withoutMember(root, "error") : doc.withMember(root, "error", doc.makeString(error));
  ops::WriteContext context;
  context.source_system = std::string(kSubscriptionsSource);
  context.correlation_id = "subscription-status";
  fhir::OperationOutcome outcome;
  auto written = operations_.update(context, "Subscription", spec.id, root, spec.version, &outcome);
  if (!written.isOk()) {
    // Another node (or the client) wrote it first: fine, the next round reads the new version.
    if (written.status().code() == StatusCode::kFailedPrecondition || written.status().code() == StatusCode::kConflict) {
      return Status::ok();
    }
    return Status(written.status().code(), "subscriptions: status of Subscription/" + spec.id + ": " +
                                               written.status().message());
  }
  spdlog::info("subscriptions: Subscription/{} is {}{}", spec.id, status, error.empty() ? "" : " (" + error + ")");
  return Status::ok();
}

Status SubscriptionManager::addSubscriber(const SubscriptionSpec& spec) {
  dispatch::SubscriberSpec s;
  s.name = subscriberName(spec.id);
  s.start = dispatch::SubscriberSpec::Start::kNow;  // notifications of what happens once it is active
  s.acting_for = spec.creator;  // each event as its creator may see it now (consent per event)
  if (spec.topic) {
    // Topic-based: every type the topic triggers on, in one subscriber (so one plan's changes stay in commit order
    // across types), notification Bundles.
    s.types = spec.topic->types;
    s.filter = makeFiltersFilter(spec.filters, options_.own_base_url);
    NotificationTransportOptions n;
    n.context = notificationContext(spec, baseUrl());
    n.base_url = [this] { return baseUrl(); };
    n.request = pingOf(spec, "event-notification", "active");
    n.request.body.clear();
    s.transport = makeNotificationTransport(std::move(n));
    return dispatcher_.addSubscriber(std::move(s));
  }
  dispatch::RestHookOptions o;
  o.endpoint = spec.endpoint;
  o.payload = transportPayload(spec.payload);
  o.headers = spec.headers;
  o.connect_timeout = options_.connect_timeout;
  o.timeout = options_.timeout;
  o.allow_plain_http = options_.policy.allow_plain_http;
  o.max_parallel = options_.max_parallel;
  ASSIGN_OR_RETURN(std::shared_ptr<dispatch::Transport> transport, dispatch::makeRestHookTransport(std::move(o)));
  s.types = {spec.criteria.type};
  s.filter = makeCriteriaFilter(spec.criteria, options_.own_base_url);
  s.transport = std::move(transport);
  return dispatcher_.addSubscriber(std::move(s));
}

Status SubscriptionManager::reconcile(const SubscriptionSpec& spec, store::Timestamp now,
                                      std::map<std::string, bool>& wanted, std::vector<PendingPing>& pings) {
  if (spec.end && *spec.end <= now) return writeStatus(spec, "off", "");  // R4: the server turns it off at end
  if (spec.status == "requested") {
    if (running_.contains(spec.id)) wanted[spec.id] = true;  // set back to requested: served until it shakes hands
    const size_t handshakes = static_cast<size_t>(
        std::count_if(pings.begin(), pings.end(), [](const PendingPing& p) { return p.handshake; }));
    if (handshakes >= options_.max_pings_per_round) return Status::ok();  // the next round takes it
    pings.push_back(PendingPing{spec, pingOf(spec, "handshake", "requested"), true, Status::ok()});
    return Status::ok();
  }
  wanted[spec.id] = true;
  auto [it, added] = running_.try_emplace(spec.id);
  Running& r = it->second;
  if (!added && r.fingerprint != spec.fingerprint) {
    dispatcher_.removeSubscriber(subscriberName(spec.id));  // criteria or channel changed: a new transport
    added = true;
  }
  if (added) {
    if (Status s = addSubscriber(spec); !s.isOk()) {
      running_.erase(it);
      return s;
    }
    r = Running{spec.fingerprint};  // a new worker counts from zero
    r.last_sent = now;
  }
  // error ⇄ active follows the dispatcher: a dead letter since the last look is an error, a delivery after it heals.
  dispatch::SubscriberMetrics m;
  if (auto it = metrics_.find(subscriberName(spec.id)); it != metrics_.end()) m = it->second;
  const bool new_dead = m.dead_letters > r.dead_seen;
  const bool new_delivered = m.delivered > r.delivered_seen;
  if (new_delivered) r.last_sent = now;
  r.dead_seen = m.dead_letters;
  r.delivered_seen = m.delivered;
  if (new_dead && spec.status != "error") {
    return writeStatus(spec, "error", "notifications failed and were given up on (dead letters); last error: " +
                                          (m.last_error.empty() ? std::string("unknown") : m.last_error));
  }
  if (spec.status == "error" && new_delivered && !new_dead) return writeStatus(spec, "active", "");
  if (spec.status == "active" && spec.heartbeat_period && now - r.last_sent >= *spec.heartbeat_period &&
      pings.size() < 2 * options_.max_pings_per_round) {
    r.last_sent = now;
    pings.push_back(PendingPing{spec, pingOf(spec, "heartbeat", "active"), false, Status::ok()});
  }
  return Status::ok();
}

void SubscriptionManager::sendPings(std::vector<PendingPing>& pings) const {
  // In waves of max_parallel_pings threads: a round takes about one timeout per wave however many receivers hang,
  // never one timeout per Subscription.
  const size_t wave = std::max<size_t>(1, options_.max_parallel_pings);
  for (size_t begin = 0; begin < pings.size(); begin += wave) {
    std::vector<std::thread> threads;
    for (size_t i = begin; i < std::min(pings.size(), begin + wave); ++i) {
      threads.emplace_back([this, &p = pings[i]] { p.result = options_.ping(p.request); });
    }
    for (std::thread& t : threads) t.join();
  }
}

Status SubscriptionManager::completeHandshake(const SubscriptionSpec& spec, const Status& handshake,
                                              store::Timestamp now, std::map<std::string, bool>& wanted) {
  if (!handshake.isOk()) return writeStatus(spec, "error", "handshake failed: " + handshake.message());
  // The start position is fixed before `active` commits: a client that sees it active and writes at once is
  // notified of that write, whenever the worker's first round comes.
  RETURN_IF_ERROR(dispatcher_.ensureSubscriberStartsNow(subscriberName(spec.id)));
  RETURN_IF_ERROR(writeStatus(spec, "active", ""));
  // Served from this round on: the status write is the resource's next version, read in the next round.
  wanted[spec.id] = true;
  auto [it, added] = running_.try_emplace(spec.id);
  if (!added && it->second.fingerprint != spec.fingerprint) {
    dispatcher_.removeSubscriber(subscriberName(spec.id));
    added = true;
  }
  if (added) {
    if (Status s = addSubscriber(spec); !s.isOk()) {
      running_.erase(it);
      return s;
    }
    it->second = Running{spec.fingerprint};  // a new worker counts from zero
  }
  it->second.last_sent = now;
  return Status::ok();
}

Status SubscriptionManager::syncOnce() {
  ASSIGN_OR_RETURN(std::vector<store::ResourceVersion> stored, loadSubscriptions());
  const store::Timestamp now = options_.clock();
  std::map<std::string, bool> wanted;
  std::vector<PendingPing> pings;
  Status first = Status::ok();
  // Read once per round (not per Subscription): the dispatcher's counters by subscriber name.
  metrics_.clear();
  for (dispatch::SubscriberMetrics& m : dispatcher_.metrics()) metrics_.emplace(m.name, std::move(m));
  for (const store::ResourceVersion& v : stored) {
    auto doc = fhir::JsonDocument::parse(v.json);
    if (!doc.isOk()) continue;
    auto spec = readSubscription(doc->root(), options_.policy);
    if (!spec.isOk()) {
      // Stored under another policy (or before this check existed): not served; said once per round.
      spdlog::warn("subscriptions: Subscription/{} is not served: {}", v.id, spec.status().message());
      continue;
    }
    spec->id = v.id;
    spec->version = v.version;
    if (Status s = reconcile(*spec, now, wanted, pings); !s.isOk() && first.isOk()) first = s;
  }
  sendPings(pings);
  for (const PendingPing& p : pings) {
    if (p.handshake) {
      if (Status s = completeHandshake(p.spec, p.result, now, wanted); !s.isOk() && first.isOk()) first = s;
    } else if (!p.result.isOk()) {
      spdlog::warn("subscriptions: heartbeat of Subscription/{} failed: {}", p.spec.id, p.result.message());
    }
  }
  for (auto it = running_.begin(); it != running_.end();) {
    if (wanted.contains(it->first)) {
      ++it;
      continue;
    }
    dispatcher_.removeSubscriber(subscriberName(it->first));  // deleted, off or ended
    spdlog::info("subscriptions: Subscription/{} no longer served", it->first);
    it = running_.erase(it);
  }
  return first;
}

Status SubscriptionManager::seedTopics() {
  if (!options_.policy.topics) return Status::ok();
  ops::WriteContext context;
  context.source_system = std::string(kSubscriptionsSource);
  context.correlation_id = "subscription-topics";
  for (const Topic& t : options_.policy.topics->topics()) {
    ASSIGN_OR_RETURN(fhir::JsonDocument doc, fhir::JsonDocument::parse(t.json));
    fhir::OperationOutcome outcome;
    auto written = operations_.update(context, "Basic", t.id, doc.root(), std::nullopt, &outcome);
    if (!written.isOk()) {
      return Status(written.status().code(), "subscriptions: topic " + t.url + ": " + written.status().message() +
                                                 (outcome.issues().empty() ? "" : " " + outcome.toJson()));
    }
  }
  return Status::ok();
}

void SubscriptionManager::start() {
  if (thread_.joinable()) return;
  {
    std::lock_guard lock(wake_mutex_);
    stopping_ = false;
  }
  thread_ = std::thread([this] { loop(); });
}

void SubscriptionManager::stop() {
  {
    std::lock_guard lock(wake_mutex_);
    stopping_ = true;
  }
  wake_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void SubscriptionManager::wake() {
  {
    std::lock_guard lock(wake_mutex_);
    woken_ = true;
  }
  wake_cv_.notify_all();
}

void SubscriptionManager::loop() {
  std::string last_failure;
  for (;;) {
    Status s = syncOnce();
    if (!s.isOk() && s.message() != last_failure) spdlog::warn("subscriptions: {}", s.message());
    last_failure = s.isOk() ? std::string() : s.message();
    std::unique_lock lock(wake_mutex_);
    if (stopping_) break;
    wake_cv_.wait_for(lock, options_.poll_interval, [&] { return stopping_ || woken_; });
    woken_ = false;
    if (stopping_) break;
  }
}

}  // namespace planbro::gateway::subscriptions
