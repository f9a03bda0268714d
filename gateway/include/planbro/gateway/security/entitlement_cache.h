#pragma once
// The consent entitlement cache: per requester identity (kind, pid, HPR number, organisation numbers, trusted
// client) the entitlement computeEntitlement() gave, so that a request does not repeat its index queries and reads.
//
// Never stale. An entry answers only while
// - no write of a type the entitlement is computed from (kEntitlementSourceTypes: Consent, CareTeam, the emergency
//   grants' Communication, CarePlan for its period, and the identities Patient, RelatedPerson, Practitioner,
//   Organization) has been committed since it was computed, by this process or any other on the same database. The
//   store's outbox is the generation: every committed change is in it, in commit order, on every engine, so each
//   lookup reads the outbox past the last position it saw (one query returning nothing in the steady state; on a
//   store that is the database's only writer, ResourceStore::localCommitCount() says without I/O when there is
//   nothing to read). A PostgreSQL gateway on another node writing a withdrawal ends this node's entries with the
//   next request here;
// - the clock is before its valid_until_us (the next consent, plan, participant or grant period boundary).
// Bounded by max_entries (least recently used out first); 0 disables the cache (every lookup computes).
//
// Each thread also keeps the last answer it gave (the front): the next lookup on that thread for the same identity
// is answered from it without building the identity key, hashing it or taking the cache's lock. The front answers
// under the same two conditions as an entry: it is this cache's and the principal's identity, and either the
// store's commit count is still the one at which its generation was known current (nothing committed since, so no
// withdrawal either), or the generation read from the outbox is its own.
#include <atomic>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "planbro/gateway/security/consent_policy.h"

namespace planbro::gateway::security {

/** The resource types an entitlement is computed from: a committed write of any of them ends every cached entry. */
bool isEntitlementSourceType(std::string_view type);

class EntitlementCache {
 public:
  struct Stats {
    uint64_t hits = 0;          // answered from an entry or the thread's front
    uint64_t front_hits = 0;    // of those, from the thread's front (no keyed lookup, no lock)
    uint64_t computations = 0;  // computeEntitlement() calls
    uint64_t outbox_reads = 0;  // readOutbox calls (the generation check)
    uint64_t generation = 0;    // outbox position of the newest entitlement-source change seen
    size_t entries = 0;
  };

  EntitlementCache(store::ResourceStore& store, size_t max_entries);
  EntitlementCache(const EntitlementCache&) = delete;
  EntitlementCache& operator=(const EntitlementCache&) = delete;

  /** `principal`'s entitlement now (options.clock), as computeEntitlement() would compute it from the store. */
  Result<std::shared_ptr<const Entitlement>> get(const Principal& principal, const ConsentPolicyOptions& options);

  Stats stats() const;

 private:
  struct Entry {
    std::shared_ptr<const Entitlement> entitlement;
    int64_t generation = 0;
    std::list<std::string>::iterator lru;
  };

  // The outbox position of the newest committed change to an entitlement-source type, reading the outbox past what
  // was seen before (bounded pages; beyond the bound every unread change counts as one).
  // nullopt: not known yet (the outbox's horizon has not reached its newest position); then nothing is cached.
  Result<std::optional<int64_t>> currentGeneration();
  // The thread's front when it is this cache's, for `principal`'s identity, of `generation` and valid at `now_us`.
  std::shared_ptr<const Entitlement> fromFront(const Principal& principal, int64_t generation, int64_t now_us) const;
  // Makes `entitlement` at `generation` this thread's front (commits: when that generation was known current).
  void setFront(const Principal& principal, std::shared_ptr<const Entitlement> entitlement, int64_t generation,
                std::optional<uint64_t> commits) const;

  store::ResourceStore& store_;
  const size_t max_entries_;
  const uint64_t id_;  // names this cache in the threads' fronts (never reused)
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
  std::list<std::string> lru_;  // most recently used first
  bool started_ = false;        // seen_position_ set from the outbox's newest position
  int64_t seen_position_ = 0;   // the outbox has been read up to here
  int64_t generation_ = 0;
  std::optional<uint64_t> seen_commit_count_;  // localCommitCount() before the last outbox read that caught up
  Stats stats_;  // but hits and front_hits: the atomics below
  std::atomic<uint64_t> hits_{0};
  std::atomic<uint64_t> front_hits_{0};
};

}  // namespace planbro::gateway::security
