#include "planbro/gateway/security/store_replay_cache.h"

#include <atomic>
#include <string>

namespace planbro::gateway::security {
namespace {

class StoreReplayCache final : public ReplayCache {
 public:
  StoreReplayCache(store::ReplayLedger& ledger, StoreReplayCacheOptions options)
      : ledger_(ledger), options_(options) {
    if (options_.purge_every == 0) options_.purge_every = 1;
  }

  Result<bool> claimOnce(std::string_view key, int64_t expires_at, int64_t now) override {
    if (claims_.fetch_add(1, std::memory_order_relaxed) % options_.purge_every == 0) {
      // A failed purge costs nothing but table size; the claim below still decides.
      (void)ledger_.purgeExpired(now, options_.purge_batch);
    }
    Result<bool> claimed = ledger_.claimOnce(key, expires_at, now);
    if (!claimed.isOk() && claimed.status().code() != StatusCode::kUnavailable &&
        claimed.status().code() != StatusCode::kResourceExhausted) {
      // Whatever went wrong, the proof is not known to be fresh: refuse it as a server-side failure.
      return Status(StatusCode::kUnavailable, "the DPoP replay cache failed: " + claimed.status().message());
    }
    return claimed;
  }

  bool mayBlock() const override { return true; }

 private:
  store::ReplayLedger& ledger_;
  StoreReplayCacheOptions options_;
  std::atomic<size_t> claims_{0};
};

}  // namespace

std::shared_ptr<ReplayCache> makeStoreReplayCache(store::ReplayLedger& ledger, StoreReplayCacheOptions options) {
  return std::make_shared<StoreReplayCache>(ledger, options);
}

}  // namespace planbro::gateway::security
