#pragma once
// The DPoP replay cache every node on one database shares: each proof id is a claim in the store's ReplayLedger
// (a table with a unique key and an expiry), so a proof one node accepted is a replay on every other. Claims block
// on the database, so the authentication filter runs on handler threads (mayBlock). Expired claims are purged in
// bounded batches by the claims themselves: every `purge_every` claims, at most `purge_batch` rows, so the purge
// outpaces the inserts whenever purge_batch > purge_every and no request pays for more than one batch.

#include <cstddef>
#include <memory>

#include "planbro/gateway/security/dpop.h"
#include "planbro/gateway/store/replay_ledger.h"

namespace planbro::gateway::security {

struct StoreReplayCacheOptions {
  size_t purge_every = 256;   // claims between two purges
  size_t purge_batch = 1000;  // expired claims one purge deletes at most
};

/** `ledger` must outlive the cache (the store owns it). Errors from the database come back as kUnavailable, and
 *  the proof is then refused (503), never let through. */
std::shared_ptr<ReplayCache> makeStoreReplayCache(store::ReplayLedger& ledger, StoreReplayCacheOptions options = {});

}  // namespace planbro::gateway::security
