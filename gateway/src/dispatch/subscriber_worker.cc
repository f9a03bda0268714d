// One subscriber's round on this node. The invariant that makes restarts and take-overs safe: a partition's durable
// position only passes an event once it was delivered, dead-lettered (its record written in the same commit) or
// found not meant for this subscriber; everything above the position is read again by whoever holds the lease
// next, so a crash between sending and committing sends again (at least once) under the same idempotency key.
#include "subscriber_worker.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <limits>
#include <unordered_set>

#include "planbro/gateway/dispatch/ordering_key.h"

namespace planbro::gateway::dispatch {

using store::DeliveryRecord;
using store::DeliveryStatus;
using store::Timestamp;

SubscriberWorker::SubscriberWorker(store::ResourceStore& store, const DispatcherOptions& options, SubscriberSpec spec,
                                   std::string idempotency_secret)
    : store_(store),
      state_(*store.dispatchState()),
      options_(options),
      spec_(std::move(spec)),
      idempotency_secret_(std::move(idempotency_secret)) {}

SubscriberWorker::~SubscriberWorker() { stop(); }

Status SubscriberWorker::round(bool persist) {
  const Timestamp now = options_.clock();
  more_work_ = false;
  RETURN_IF_ERROR(ensureSubscriber());
  RETURN_IF_ERROR(refreshLeases(now));
  if (held_.empty()) return Status::ok();
  Status worked = loadRedeliveries();
  if (worked.isOk()) worked = readAhead(now);
  if (worked.isOk()) worked = deliverDue(now);
  // Commit what was done even when a later step failed: deliveries already made must not be sent again needlessly.
  Status committed = commit(persist);
  // The lag gauge needs the outbox's head even when the read-ahead is full: asked at most once a second.
  if (now - newest_checked_ >= std::chrono::seconds(1)) {
    newest_checked_ = now;
    if (auto stats = store_.outboxStats(); stats.isOk()) {
      newest_position_ = std::max<int64_t>(newest_position_, stats->newest_position);
    }
  }
  return worked.isOk() ? committed : worked;
}

Status SubscriberWorker::ensureSubscriber() {
  if (ensured_) return Status::ok();
  int64_t start = 0;
  if (spec_.start == SubscriberSpec::Start::kNow) {
    ASSIGN_OR_RETURN(store::OutboxStats stats, store_.outboxStats());
    start = stats.newest_position;
  }
  ASSIGN_OR_RETURN(partitions_, state_.ensureSubscriber(spec_.name, options_.partitions, start));
  ensured_ = true;
  return Status::ok();
}

Status SubscriberWorker::refreshLeases(Timestamp now) {
  // Leases are renewed a few times per lease period, not every round: each renewal is a write.
  if (!force_lease_refresh_ && now - leases_renewed_ < options_.lease_ttl / 3) return Status::ok();
  // Progress not yet written goes first: a partition given back (fair share) must not be sent again by its next
  // holder from an older position.
  if (!held_.empty()) RETURN_IF_ERROR(commit(true));
  ASSIGN_OR_RETURN(std::vector<store::HeldPartition> held,
                   state_.acquireLeases(spec_.name, options_.node_id, now,
                                        std::chrono::duration_cast<std::chrono::microseconds>(options_.lease_ttl)));
  leases_renewed_ = now;
  force_lease_refresh_ = false;
  std::map<int, Partition> next;
  for (const store::HeldPartition& h : held) {
    auto it = held_.find(h.partition);
    if (it != held_.end() && !h.taken) {
      next.emplace(h.partition, std::move(it->second));
      continue;
    }
    // Newly taken (or taken back after a replay): start from the durable position with its delivery records.
    Partition part;
    part.id = h.partition;
    part.position = h.position;
    part.seen_upto = h.position;
    ASSIGN_OR_RETURN(std::vector<DeliveryRecord> records, state_.deliveries(spec_.name, h.partition, h.position));
    for (DeliveryRecord& r : records) part.records.emplace(r.position, std::move(r));
    next.emplace(h.partition, std::move(part));
  }
  held_ = std::move(next);
  held_count_ = static_cast<int>(held_.size());
  return Status::ok();
}

Status SubscriberWorker::loadRedeliveries() {
  ASSIGN_OR_RETURN(std::vector<DeliveryRecord> requested,
                   state_.recordsWithStatus(spec_.name, DeliveryStatus::kRedeliverRequested, 0, store::kMaxPageSize));
  for (DeliveryRecord& r : requested) {
    auto found = held_.find(r.partition);
    if (found == held_.end()) continue;
    Partition& part = found->second;
    if (r.position > part.seen_upto) {  // not read yet: applied when it is
      part.records[r.position] = r;
      continue;
    }
    auto same = [&](const Item& i) { return i.event.position == r.position && !i.done; };
    if (std::any_of(part.redeliveries.begin(), part.redeliveries.end(), same) ||
        std::any_of(part.queue.begin(), part.queue.end(), same)) {
      continue;
    }
    ASSIGN_OR_RETURN(std::vector<store::OutboxEvent> events, store_.readOutbox(r.position - 1, 1));
    if (events.empty() || events[0].position != r.position) {
      part.finished.push_back(r.position);  // the event is gone: nothing left to send
      continue;
    }
    ASSIGN_OR_RETURN(Item item, resolve(events[0]));
    item.attempts = r.attempts;
    item.first_attempt = r.first_attempt;
    item.next_attempt = r.next_attempt;
    item.has_record = true;
    item.redelivery = true;
    part.redeliveries.push_back(std::move(item));
  }
  return Status::ok();
}

bool SubscriberWorker::wanted(const store::OutboxEvent& event) const {
  if (!spec_.source_system.empty() && event.source_system == spec_.source_system) return false;  // its own change
  // The audit trail is the auditor's to read (docs/security.md, Audit), never a change to share with receivers:
  // it names who looked at which patient.
  if (event.type == "AuditEvent") return false;
  return spec_.types.empty() || std::find(spec_.types.begin(), spec_.types.end(), event.type) != spec_.types.end();
}

Result<SubscriberWorker::Item> SubscriberWorker::resolve(const store::OutboxEvent& event) {
  Item item;
  item.event = event;
  // A delete has no content: its key (and what the access policy judges) comes from the last version before it.
  const int64_t version = event.kind == store::ChangeKind::kDelete ? event.version - 1 : event.version;
  if (version >= 1) {
    Result<store::ResourceVersion> read = store_.vread(event.type, event.id, version);
    if (read.isOk()) {
      item.resource = std::make_shared<const std::string>(std::move(read->json));
    } else if (read.status().code() != StatusCode::kNotFound && read.status().code() != StatusCode::kGone) {
      return read.status();  // the database failed: try the round again later
    }
  }
  item.key = orderingKey(event.type, event.id, item.resource ? std::string_view(*item.resource) : std::string_view());
  return item;
}

Status SubscriberWorker::readAhead(Timestamp now) {
  (void)now;
  size_t queued = 0;
  int64_t cursor = std::numeric_limits<int64_t>::max();
  for (const auto& [id, part] : held_) {
    queued += part.queue.size();
    cursor = std::min(cursor, part.seen_upto);
  }
  while (queued < options_.max_queued) {
    const size_t want = std::min(options_.read_batch, options_.max_queued - queued);
    ASSIGN_OR_RETURN(std::vector<store::OutboxEvent> events, store_.readOutbox(cursor, want));
    for (const store::OutboxEvent& e : events) {
      std::optional<Item> item;
      int partition = -1;
      if (wanted(e)) {
        ASSIGN_OR_RETURN(Item resolved, resolve(e));
        if (!spec_.filter || spec_.filter->matches(e, resolved.resource.get())) {
          partition = partitionOf(resolved.key, partitions_);
          item = std::move(resolved);
        }
      }
      for (auto& [id, part] : held_) {
        if (part.seen_upto >= e.position) continue;
        part.seen_upto = e.position;
        if (id != partition) continue;
        Item mine = *item;
        if (auto record = part.records.find(e.position); record != part.records.end()) {
          const bool dead = record->second.status == DeliveryStatus::kDead;
          mine.attempts = record->second.attempts;
          mine.first_attempt = record->second.first_attempt;
          mine.next_attempt = record->second.next_attempt;
          mine.has_record = true;
          part.records.erase(record);
          if (dead) continue;  // given up on earlier; waits in the dead letters for an operator
        }
        part.queue.push_back(std::move(mine));
        ++queued;
      }
      cursor = e.position;
    }
    if (!events.empty()) newest_position_ = std::max<int64_t>(newest_position_, events.back().position);
    if (events.size() < want) break;
  }
  read_ahead_full_ = queued >= options_.max_queued;
  for (auto& [id, part] : held_) {
    std::erase_if(part.records, [&](const auto& r) { return r.first <= part.seen_upto; });
  }
  return Status::ok();
}

Status SubscriberWorker::deliverDue(Timestamp now) {
  struct Picked {
    Partition* part;
    Item* item;
  };
  std::vector<Picked> picked;
  std::vector<Delivery> batch;
  const AccessPolicy& access = *options_.access;
  const bool with_resource = spec_.transport->needsResource();
  auto pick = [&](Partition& part, Item& item) {
    if (!access.mayReceive(spec_, item.event, item.resource.get())) {
      // Not for this receiver: nothing leaves, not even the id.
      item.done = true;
      ++filtered_;
      if (item.has_record) part.finished.push_back(item.event.position);
      return;
    }
    Delivery d;
    d.event = item.event;
    d.ordering_key = item.key;
    d.idempotency_key = idempotencyKey(item.event.position);
    if (with_resource && item.event.kind != store::ChangeKind::kDelete) d.resource = item.resource;
    d.access = &access;
    d.subscriber = &spec_;
    batch.push_back(std::move(d));
    picked.push_back({&part, &item});
  };
  for (auto& [id, part] : held_) {
    for (Item& item : part.redeliveries) {
      if (picked.size() >= options_.max_in_flight) break;
      if (!item.done && item.next_attempt <= now) pick(part, item);
    }
    // In order per key: an event goes only when no earlier event of its key is still waiting for a retry. Events
    // of one key may share a batch; the transport stops a key at its first failure.
    std::unordered_set<std::string_view> waiting;
    for (Item& item : part.queue) {
      if (picked.size() >= options_.max_in_flight) {
        more_work_ = true;
        break;
      }
      if (item.done || waiting.contains(item.key)) continue;
      if (item.next_attempt > now) {
        waiting.insert(item.key);
        continue;
      }
      pick(part, item);
    }
  }
  if (batch.empty()) return Status::ok();
  const int64_t delivered_before = delivered_;
  std::vector<DeliveryOutcome> outcomes = spec_.transport->deliver(batch);
  outcomes.resize(batch.size());  // a transport that answered short left the rest unattempted
  for (size_t i = 0; i < batch.size(); ++i) {
    Partition& part = *picked[i].part;
    Item& item = *picked[i].item;
    switch (outcomes[i].kind) {
      case DeliveryOutcome::Kind::kDelivered:
        item.done = true;
        ++delivered_;
        withheld_ += outcomes[i].withheld;
        if (options_.on_delivered) {
          options_.on_delivered(spec_.name, std::chrono::duration_cast<std::chrono::microseconds>(
                                                options_.clock() - item.event.occurred_at));
        }
        if (item.has_record) part.finished.push_back(item.event.position);
        break;
      case DeliveryOutcome::Kind::kFailed:
        finishFailed(part, item, outcomes[i].error.empty() ? "delivery failed" : outcomes[i].error, now);
        break;
      case DeliveryOutcome::Kind::kNotAttempted:
        break;
    }
  }
  // A full read-ahead that moved: more of the outbox may be read at once (one that moved nothing waits for backoff).
  if (read_ahead_full_ && delivered_ > delivered_before) more_work_ = true;
  return Status::ok();
}

void SubscriberWorker::finishFailed(Partition& part, Item& item, std::string error, Timestamp now) {
  ++failures_;
  ++item.attempts;
  if (item.first_attempt == Timestamp{}) item.first_attempt = now;
  {
    std::lock_guard lock(error_mutex_);
    last_error_ = error;
  }
  DeliveryRecord record{item.event.position, part.id, item.attempts, item.first_attempt, now,
                        item.redelivery ? DeliveryStatus::kRedeliverRequested : DeliveryStatus::kRetrying, error};
  if (item.attempts >= options_.max_attempts || now - item.first_attempt >= options_.max_age) {
    record.status = DeliveryStatus::kDead;
    item.done = true;  // no longer holds up its plan
    ++dead_letters_;
    spdlog::warn("dispatch: {} gave up on event {} ({}/{} v{}) after {} tries: {}", spec_.name, item.event.position,
                 item.event.type, item.event.id, item.event.version, item.attempts, error);
  } else {
    item.next_attempt = now + options_.backoff.delay(item.attempts, options_.random);
    record.next_attempt = item.next_attempt;
    ++retries_;
  }
  item.has_record = true;
  std::erase_if(part.finished, [&](int64_t p) { return p == item.event.position; });
  part.upserts.push_back(std::move(record));
}

Status SubscriberWorker::commit(bool persist) {
  std::vector<store::PartitionProgress> progress;
  bool records = false;
  for (auto& [id, part] : held_) {
    while (!part.queue.empty() && part.queue.front().done) part.queue.pop_front();
    std::erase_if(part.redeliveries, [](const Item& i) { return i.done; });
    const int64_t position = part.queue.empty() ? part.seen_upto : part.queue.front().event.position - 1;
    if (position == part.position && part.upserts.empty() && part.finished.empty()) continue;
    records = records || !part.upserts.empty() || !part.finished.empty();
    progress.push_back({spec_.name, id, options_.node_id, std::max(position, part.position), part.upserts,
                        part.finished});
  }
  // Positions alone may wait: a round that waited for a durable commit each time would add an fsync to every
  // event's latency, and losing them only sends again what the receiver already has (same idempotency keys).
  // Failure records go at once, so attempts and dead letters survive a crash.
  const Timestamp now = options_.clock();
  if (!persist && !records && now - last_commit_ < options_.commit_interval) progress.clear();
  Status result = Status::ok();
  if (!progress.empty()) {
    last_commit_ = now;
    Result<std::vector<bool>> committed = state_.commitProgress(progress);
    if (!committed.isOk()) {
      result = committed.status();  // kept: the same progress goes with the next commit
    } else {
      for (size_t i = 0; i < progress.size(); ++i) {
        auto part = held_.find(progress[i].partition);
        if (!(*committed)[i]) {
          // Taken over (this node stalled past its lease) or replayed: what it holds of the partition is stale.
          held_.erase(part);
          force_lease_refresh_ = true;
          continue;
        }
        part->second.position = progress[i].position;
        part->second.upserts.clear();
        part->second.finished.clear();
      }
    }
  }
  int64_t lowest = std::numeric_limits<int64_t>::max();
  int64_t oldest = 0;
  for (const auto& [id, part] : held_) {
    lowest = std::min(lowest, part.position);
    for (const Item& item : part.queue) {
      if (item.done) continue;
      const int64_t at = item.event.occurred_at.time_since_epoch().count();
      if (oldest == 0 || at < oldest) oldest = at;
      break;  // the queue is in outbox order: its first undelivered event is its oldest
    }
  }
  lowest_position_ = held_.empty() ? 0 : lowest;
  oldest_pending_us_ = oldest;
  held_count_ = static_cast<int>(held_.size());
  return result;
}

std::string SubscriberWorker::idempotencyKey(int64_t position) const {
  // HMAC of the receiver and the event's position under a deployment secret: stable across attempts, nodes and
  // restarts, different per receiver, and revealing nothing (not the outbox's size) to the receiver.
  const std::string message = spec_.name + '\n' + std::to_string(position);
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int length = 0;
  HMAC(EVP_sha256(), idempotency_secret_.data(), static_cast<int>(idempotency_secret_.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac.data(), &length);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < 16 && i < length; ++i) {
    out += kHex[mac[i] >> 4];
    out += kHex[mac[i] & 15];
  }
  return out;
}

void SubscriberWorker::start() {
  if (thread_.joinable()) return;
  {
    std::lock_guard lock(wake_mutex_);
    stopping_ = false;
  }
  spec_.transport->setCancelled(false);
  thread_ = std::thread([this] { loop(); });
}

void SubscriberWorker::requestStop() {
  {
    std::lock_guard lock(wake_mutex_);
    stopping_ = true;
  }
  wake_cv_.notify_all();
  // A delivery waiting on a slow receiver would hold the stop up to its timeout (seconds): cut it short.
  if (thread_.joinable()) spec_.transport->setCancelled(true);
}

void SubscriberWorker::stop() {
  requestStop();
  if (!thread_.joinable()) return;
  thread_.join();
  spec_.transport->setCancelled(false);  // runOnce() may follow
}

void SubscriberWorker::wake() {
  {
    std::lock_guard lock(wake_mutex_);
    woken_ = true;
  }
  wake_cv_.notify_all();
}

void SubscriberWorker::loop() {
  for (;;) {
    Status s = round(/*persist=*/false);
    // A database that is down fails every round: said once per distinct failure, and once when it recovers.
    if (!s.isOk()) {
      std::lock_guard lock(error_mutex_);
      last_error_ = s.message();
      if (s.message() != last_logged_failure_) {
        spdlog::warn("dispatch: round of {} failed: {}", spec_.name, s.message());
        last_logged_failure_ = s.message();
      }
    } else if (!last_logged_failure_.empty()) {
      spdlog::info("dispatch: {} works again", spec_.name);
      last_logged_failure_.clear();
    }
    std::unique_lock lock(wake_mutex_);
    if (stopping_) break;
    if (s.isOk() && more_work_) continue;
    wake_cv_.wait_for(lock, options_.poll_interval, [&] { return stopping_ || woken_; });
    woken_ = false;
    if (stopping_) break;
  }
  // A clean stop writes what it delivered and hands the partitions over at once instead of after the lease expires.
  if (Status s = commit(true); !s.isOk()) {
    spdlog::warn("dispatch: writing the progress of {} at stop failed: {}", spec_.name, s.message());
  }
  if (Status s = state_.releaseLeases(spec_.name, options_.node_id); !s.isOk()) {
    spdlog::warn("dispatch: releasing the leases of {} failed: {}", spec_.name, s.message());
  }
  held_.clear();
  force_lease_refresh_ = true;
}

SubscriberMetrics SubscriberWorker::metrics() const {
  SubscriberMetrics m;
  m.name = spec_.name;
  m.transport = std::string(spec_.transport->kind());
  m.delivered = delivered_;
  m.failures = failures_;
  m.retries = retries_;
  m.dead_letters = dead_letters_;
  m.filtered = filtered_;
  m.withheld = withheld_;
  m.held_partitions = held_count_;
  m.lag_events = m.held_partitions > 0 ? std::max<int64_t>(0, newest_position_ - lowest_position_) : 0;
  if (const int64_t oldest = oldest_pending_us_; oldest != 0) {
    const int64_t now = options_.clock().time_since_epoch().count();
    m.lag_seconds = std::max<double>(0, static_cast<double>(now - oldest) / 1e6);
  }
  std::lock_guard lock(error_mutex_);
  m.last_error = last_error_;
  return m;
}

}  // namespace planbro::gateway::dispatch
