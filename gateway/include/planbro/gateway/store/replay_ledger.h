#pragma once
// A table of one-time claims with an expiry (schema version 6): the DPoP `jti` replay cache shared by every node
// on one database. A claim is a key (unique) and the time until which it stays claimed; once expired it may be
// claimed again and is purged in bounded batches. Every call blocks on the database (handler threads only).
// Thread-safe.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "planbro/fhir-model/status.h"

namespace planbro::gateway::store {

class ReplayLedger {
 public:
  virtual ~ReplayLedger() = default;
  /** True when `key` (at most 512 bytes) was not claimed, or its claim expired by `now`, and is now claimed until
   *  `expires_at`; false when a live claim holds it (a replay). Times are in seconds. Atomic across nodes: of two
   *  concurrent claims of one key exactly one is true. Errors: kInvalidArgument (key), kUnavailable (database). */
  virtual Result<bool> claimOnce(std::string_view key, int64_t expires_at, int64_t now) = 0;
  /** Deletes at most `limit` claims that expired by `now`; returns how many it deleted. */
  virtual Result<size_t> purgeExpired(int64_t now, size_t limit) = 0;
};

}  // namespace planbro::gateway::store
