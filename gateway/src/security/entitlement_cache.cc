// The consent entitlement cache (entitlement_cache.h). The outbox is the generation because it is the one record of
// every committed change that every engine and every node shares, in commit order: PostgreSQL's readOutbox reads only
// up to its horizon (no transaction below it still running), so a change is never skipped, and a change committed
// before a request started is always seen by that request's lookup.
#include "planbro/gateway/security/entitlement_cache.h"

#include <algorithm>
#include <array>
#include <chrono>

namespace planbro::gateway::security {
namespace {

constexpr size_t kOutboxPage = store::kMaxPageSize;
constexpr int kMaxOutboxPages = 8;  // per lookup; beyond, the unread changes count as one and are read next time

void identityKey(const Principal& p, std::string& key) {
  // Everything computeEntitlement() reads of the principal, and nothing else (a new token of the same person shares).
  // Sized once and copied into (no append per part): this runs on every request with consent checks.
  const std::string* parts[] = {&p.pid, &p.hpr_number, &p.organization_number, &p.child_organization_number};
  size_t size = 2 + std::size(parts);
  for (const std::string* part : parts) size += part->size();
  key.resize(size);
  char* out = key.data();
  *out++ = static_cast<char>('0' + static_cast<int>(p.kind));
  *out++ = p.trusted_client ? '1' : '0';
  for (const std::string* part : parts) {
    *out++ = '\x1f';
    out = std::copy(part->begin(), part->end(), out);
  }
}

// Cache ids for the threads' fronts: a process-wide sequence, so that a front left by a destroyed cache never matches
// a new one at the same address.
uint64_t nextCacheId() {
  static std::atomic<uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

int64_t nowUs(const ConsentPolicyOptions& options) {
  if (options.clock) return options.clock().time_since_epoch().count();
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

bool isEntitlementSourceType(std::string_view type) {
  static constexpr std::array<std::string_view, 8> kTypes = {"Consent",   "CareTeam",      "Communication",
                                                             "CarePlan",  "Patient",       "RelatedPerson",
                                                             "Practitioner", "Organization"};
  return std::find(kTypes.begin(), kTypes.end(), type) != kTypes.end();
}

EntitlementCache::EntitlementCache(store::ResourceStore& store, size_t max_entries)
    : store_(store), max_entries_(max_entries), id_(nextCacheId()) {}

Result<std::optional<int64_t>> EntitlementCache::currentGeneration() {
  // Read before the outbox: a commit counted after this read is read again next time.
  const std::optional<uint64_t> commits = store_.localCommitCount();
  int64_t after = 0;
  bool started = false;
  {
    std::lock_guard lock(mutex_);
    if (started_ && commits && seen_commit_count_ && *commits == *seen_commit_count_) return std::optional<int64_t>(generation_);
    after = seen_position_;
    started = started_;
  }
  int reads = 0;
  if (!started) {
    // Start at the outbox's newest position, but only once the horizon has reached it (PostgreSQL: no transaction
    // still holds a lower one): then every later change is above it. Until then nothing is cached.
    ASSIGN_OR_RETURN(store::OutboxStats outbox, store_.outboxStats());
    if (outbox.newest_position > 0) {
      ASSIGN_OR_RETURN(std::vector<store::OutboxEvent> newest, store_.readOutbox(outbox.newest_position - 1, 1));
      ++reads;
      if (newest.empty() || newest[0].position != outbox.newest_position) {
        std::lock_guard lock(mutex_);
        stats_.outbox_reads += reads;
        return std::optional<int64_t>();
      }
    }
    std::lock_guard lock(mutex_);
    stats_.outbox_reads += reads;
    if (!started_) {
      started_ = true;
      seen_position_ = generation_ = outbox.newest_position;
      seen_commit_count_ = commits;
    }
    return std::optional<int64_t>(generation_);
  }
  int64_t position = after;
  int64_t generation = 0;
  bool caught_up = false;
  for (int page = 0; page < kMaxOutboxPages && !caught_up; ++page) {
    ASSIGN_OR_RETURN(std::vector<store::OutboxEvent> events, store_.readOutbox(position, kOutboxPage));
    ++reads;
    for (const store::OutboxEvent& e : events) {
      if (isEntitlementSourceType(e.type)) generation = e.position;
      position = e.position;
    }
    caught_up = events.size() < kOutboxPage;
  }
  if (!caught_up) generation = position;  // unread changes beyond: as if one of them were a source change
  std::lock_guard lock(mutex_);
  stats_.outbox_reads += reads;
  seen_position_ = std::max(seen_position_, position);
  generation_ = std::max(generation_, generation);
  if (caught_up && commits && (!seen_commit_count_ || *commits > *seen_commit_count_)) seen_commit_count_ = commits;
  return std::optional<int64_t>(generation_);
}

namespace {

// One thread's last answer (entitlement_cache.h). Reused in place: once its strings have grown to the identities it
// serves, replacing it allocates nothing.
struct ThreadFront {
  uint64_t cache_id = 0;  // 0: empty (cache ids start at 1)
  std::shared_ptr<const Entitlement> entitlement;
  int64_t generation = 0;
  std::optional<uint64_t> commits;  // localCommitCount() at a moment when `generation` was the current one
  // The identity it was computed for: everything computeEntitlement() reads of the principal.
  PrincipalKind kind = PrincipalKind::kUnknown;
  bool trusted_client = false;
  std::string pid, hpr_number, organization_number, child_organization_number;
};

ThreadFront& threadFront() {
  thread_local ThreadFront front;
  return front;
}

bool sameIdentity(const ThreadFront& f, const Principal& p) {
  return f.kind == p.kind && f.trusted_client == p.trusted_client && f.hpr_number == p.hpr_number &&
         f.pid == p.pid && f.organization_number == p.organization_number &&
         f.child_organization_number == p.child_organization_number;
}

}  // namespace

std::shared_ptr<const Entitlement> EntitlementCache::fromFront(const Principal& principal, int64_t generation,
                                                               int64_t now_us) const {
  const ThreadFront& f = threadFront();
  if (f.cache_id != id_ || f.generation != generation || now_us >= f.entitlement->valid_until_us ||
      !sameIdentity(f, principal)) {
    return nullptr;
  }
  return f.entitlement;
}

void EntitlementCache::setFront(const Principal& principal, std::shared_ptr<const Entitlement> entitlement,
                                int64_t generation, std::optional<uint64_t> commits) const {
  ThreadFront& f = threadFront();
  f.cache_id = id_;
  f.entitlement = std::move(entitlement);
  f.generation = generation;
  f.commits = commits;
  f.kind = principal.kind;
  f.trusted_client = principal.trusted_client;
  f.pid = principal.pid;
  f.hpr_number = principal.hpr_number;
  f.organization_number = principal.organization_number;
  f.child_organization_number = principal.child_organization_number;
}

Result<std::shared_ptr<const Entitlement>> EntitlementCache::get(const Principal& principal,
                                                                 const ConsentPolicyOptions& options) {
  if (max_entries_ == 0) {
    ASSIGN_OR_RETURN(Entitlement computed, computeEntitlement(store_, principal, options));
    std::lock_guard lock(mutex_);
    ++stats_.computations;
    return std::shared_ptr<const Entitlement>(std::make_shared<Entitlement>(std::move(computed)));
  }
  // The generation first, then the clock and the computation: whatever the entry reflects was committed by then.
  const std::optional<uint64_t> commits = store_.localCommitCount();
  if (commits) {
    const ThreadFront& f = threadFront();
    if (f.cache_id == id_ && f.commits == commits) {
      // Nothing committed through the store (the database's only writer) since the front's generation was current:
      // it still is, and the front answers without the cache's lock.
      if (auto e = fromFront(principal, f.generation, nowUs(options))) {
        hits_.fetch_add(1, std::memory_order_relaxed);
        front_hits_.fetch_add(1, std::memory_order_relaxed);
        return e;
      }
    }
  }
  // The key in a buffer of the thread's own: the lookup of an entry allocates nothing.
  thread_local std::string key_buffer;
  identityKey(principal, key_buffer);
  if (commits) {
    // The store is the database's only writer: when it has committed nothing since the outbox was last read up to
    // date, the generation is the one known, and entry and generation are checked under one lock.
    const int64_t now_us = nowUs(options);
    std::shared_ptr<const Entitlement> hit;
    int64_t generation = 0;
    {
      std::lock_guard lock(mutex_);
      if (started_ && seen_commit_count_ && *commits == *seen_commit_count_) {
        auto it = entries_.find(key_buffer);
        if (it != entries_.end() && it->second.generation == generation_ &&
            now_us < it->second.entitlement->valid_until_us) {
          lru_.splice(lru_.begin(), lru_, it->second.lru);
          hit = it->second.entitlement;
          generation = generation_;
        }
      }
    }
    if (hit) {
      hits_.fetch_add(1, std::memory_order_relaxed);
      setFront(principal, hit, generation, commits);
      return hit;
    }
  }
  ASSIGN_OR_RETURN(std::optional<int64_t> generation, currentGeneration());
  const int64_t now_us = nowUs(options);
  if (generation) {
    std::optional<uint64_t> current_commits;
    {
      std::lock_guard lock(mutex_);
      if (seen_commit_count_ && generation_ == *generation) current_commits = seen_commit_count_;
    }
    if (auto e = fromFront(principal, *generation, now_us)) {
      // Confirmed by the outbox (another node's writes included).
      hits_.fetch_add(1, std::memory_order_relaxed);
      front_hits_.fetch_add(1, std::memory_order_relaxed);
      if (current_commits) threadFront().commits = current_commits;
      return e;
    }
  }
  std::string key = key_buffer;
  if (generation) {
    std::shared_ptr<const Entitlement> hit;
    std::optional<uint64_t> hit_commits;
    {
      std::lock_guard lock(mutex_);
      auto it = entries_.find(key);
      if (it != entries_.end() && it->second.generation == *generation &&
          now_us < it->second.entitlement->valid_until_us) {
        lru_.splice(lru_.begin(), lru_, it->second.lru);
        hit = it->second.entitlement;
        if (seen_commit_count_ && generation_ == *generation) hit_commits = seen_commit_count_;
      }
    }
    if (hit) {
      hits_.fetch_add(1, std::memory_order_relaxed);
      setFront(principal, hit, *generation, hit_commits);
      return hit;
    }
  }
  ASSIGN_OR_RETURN(Entitlement computed, computeEntitlement(store_, principal, options));
  auto shared = std::shared_ptr<const Entitlement>(std::make_shared<Entitlement>(std::move(computed)));
  std::optional<uint64_t> shared_commits;
  {
    std::lock_guard lock(mutex_);
    ++stats_.computations;
    if (!generation) return shared;
    if (seen_commit_count_ && generation_ == *generation) shared_commits = seen_commit_count_;
    auto it = entries_.find(key);
    if (it != entries_.end()) {
      if (it->second.generation > *generation) return shared;  // a newer one is there already
      it->second.entitlement = shared;
      it->second.generation = *generation;
      lru_.splice(lru_.begin(), lru_, it->second.lru);
    } else {
      lru_.push_front(key);
      entries_.emplace(std::move(key), Entry{shared, *generation, lru_.begin()});
      while (entries_.size() > max_entries_) {
        entries_.erase(lru_.back());
        lru_.pop_back();
      }
    }
  }
  setFront(principal, shared, *generation, shared_commits);
  return shared;
}

EntitlementCache::Stats EntitlementCache::stats() const {
  std::lock_guard lock(mutex_);
  Stats s = stats_;
  s.hits = hits_.load(std::memory_order_relaxed);
  s.front_hits = front_hits_.load(std::memory_order_relaxed);
  s.generation = static_cast<uint64_t>(generation_);
  s.entries = entries_.size();
  return s;
}

}  // namespace planbro::gateway::security
