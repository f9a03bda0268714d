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
    uint64_t hits = 0;          // answered from an entry
    uint64_t computations = 0;  // computeEntitlement() calls
    uint64_t outbox_reads = 0;  // readOutbox calls (the generation check)
    uint64_t generation = 0;    // outbox position of the newest entitlement-source change seen
    size_t entries = 0;
  };

  EntitlementCache(store::ResourceStore& store, size_t max_entries);

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

  store::ResourceStore& store_;
  const size_t max_entries_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
  std::list<std::string> lru_;  // most recently used first
  bool started_ = false;        // seen_position_ set from the outbox's newest position
  int64_t seen_position_ = 0;   // the outbox has been read up to here
  int64_t generation_ = 0;
  std::optional<uint64_t> seen_commit_count_;  // localCommitCount() before the last outbox read that caught up
  Stats stats_;
};

}  // namespace planbro::gateway::security
