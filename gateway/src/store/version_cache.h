#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "planbro/gateway/store/resource_store.h"

namespace planbro::gateway::store::internal {

/**
 * The current versions of recently read resources, so that a read by id can skip the database. It is coherent only
 * while every write to the database goes through this store instance, which openSqliteStore makes sure of with a
 * lock on the database (only SQLite uses it; several PostgreSQL nodes write the same database).
 *
 * Protocol: a reader calls lookup(); on a miss it reads the database and then offers what it read with the ticket
 * from its lookup. A writer calls invalidate() for each resource it wrote, once before its commit and once after.
 * An offer is dropped when a write to the same shard happened since its lookup, because the reader may have read
 * the version the commit replaced. So once a commit has returned, no older version of what it wrote is in the
 * cache or can enter it.
 *
 * Bounded by an estimate of the bytes held; a shard that outgrows its share is emptied (a cache of hot reads fills
 * again quickly). Thread-safe.
 */
class VersionCache {
 public:
  explicit VersionCache(size_t max_bytes);

  struct Lookup {
    std::shared_ptr<const ResourceVersion> hit;  // null: a miss
    uint64_t ticket = 0;                         // for offer() after a miss
  };
  Lookup lookup(std::string_view type, std::string_view id);

  /** Keeps `version` (the current, not deleted, version of its resource) unless its shard was written since
   * `ticket`. */
  void offer(uint64_t ticket, const ResourceVersion& version);

  /** Drops the resource and makes every offer taken before this call fail for its shard. */
  void invalidate(std::string_view type, std::string_view id);

  /** Entries held now (tests). */
  size_t size();

 private:
  static constexpr size_t kShards = 64;
  struct Shard {
    std::mutex mutex;
    // key: type + '/' + id, looked up by string_view. Shared so that a hit is handed out without a copy.
    struct KeyHash {
      using is_transparent = void;
      size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    };
    std::unordered_map<std::string, std::shared_ptr<const ResourceVersion>, KeyHash, std::equal_to<>> entries;
    uint64_t generation = 0;
    size_t bytes = 0;
  };

  Shard& shardOf(std::string_view key);

  const size_t shard_budget_;
  std::array<Shard, kShards> shards_;
};

}  // namespace planbro::gateway::store::internal
