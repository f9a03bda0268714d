#pragma once
// The once-per-database backfill of a transaction hook's business keys: when a hook that claims keys is added (one
// Patient per person number, one active IP per patient), the resources stored before it hold none. This claims
// them for every current resource of one type, by asking the hook itself, so the backfill cannot disagree with the
// rule it completes.

#include <cstddef>
#include <string>
#include <vector>

#include "planbro/gateway/ops/write_pipeline.h"

namespace planbro::gateway::ops {

/** What to backfill. */
struct StoredKeysBackfillSpec {
  std::string type;    // the resource type whose current versions are read ("Patient")
  std::string marker;  // the marker key's value, claimed when a run has finished ("person-number-keys-v1"):
                       // (type, "migration", marker), held by `source`
  std::string source;  // the writer named in the store transactions and as the marker's holder
  size_t page_size = 500;  // resources per store transaction; 0 or beyond store::kMaxPageSize: kMaxPageSize
};

/** What claimStoredKeys() did. */
struct StoredKeysBackfill {
  bool already_done = false;  // an earlier run (on any node) finished it: nothing read
  size_t resources = 0;       // current resources of the type read
  size_t claimed = 0;         // keys claimed now
  /** Resources whose key another resource already holds: "Patient/b (fødselsnummer held by Patient/a)", from the
   *  claim's description, never the key's value. They stay duplicates until someone resolves them; no new one can
   *  join them. */
  std::vector<std::string> duplicates;
};

/**
 * Claims the keys `hook` gives every current resource of `spec.type` (its keysInTransaction() with no stored
 * version and the resource as proposed; deferred checks are not run, a resource the hook refuses is skipped),
 * once per database: a marker key records that it ran, so two nodes running it at once agree. Each resource is read
 * inside the transaction that claims its keys, `spec.page_size` per transaction. Blocking; for start-up, before
 * serving.
 */
Result<StoredKeysBackfill> claimStoredKeys(store::ResourceStore& store, const TransactionHook& hook,
                                           const StoredKeysBackfillSpec& spec);

}  // namespace planbro::gateway::ops
