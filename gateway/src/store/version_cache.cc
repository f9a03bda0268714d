#include "version_cache.h"

#include <functional>

namespace planbro::gateway::store::internal {
namespace {

// What an entry costs beyond its strings: the map node, the key and the bookkeeping, roughly.
constexpr size_t kEntryOverhead = 160;

size_t costOf(const std::string& key, const ResourceVersion& v) {
  return kEntryOverhead + key.size() + v.type.size() + v.id.size() + v.json.size() + v.actor.size() +
         v.source_system.size();
}

}  // namespace

VersionCache::VersionCache(size_t max_bytes) : shard_budget_(max_bytes / kShards) {}

std::string VersionCache::key(std::string_view type, std::string_view id) {
  std::string k;
  k.reserve(type.size() + 1 + id.size());
  k.append(type).push_back('/');
  k.append(id);
  return k;
}

VersionCache::Shard& VersionCache::shardOf(std::string_view key) {
  return shards_[std::hash<std::string_view>{}(key) % kShards];
}

VersionCache::Lookup VersionCache::lookup(std::string_view type, std::string_view id) {
  const std::string k = key(type, id);
  Shard& shard = shardOf(k);
  std::lock_guard lock(shard.mutex);
  Lookup out;
  out.ticket = shard.generation;
  if (auto it = shard.entries.find(k); it != shard.entries.end()) out.hit = it->second;
  return out;
}

void VersionCache::offer(uint64_t ticket, const ResourceVersion& version) {
  if (version.deleted) return;
  std::string k = key(version.type, version.id);
  const size_t cost = costOf(k, version);
  if (cost > shard_budget_) return;
  Shard& shard = shardOf(k);
  std::lock_guard lock(shard.mutex);
  if (shard.generation != ticket) return;  // a write to this shard since the lookup: what we read may be stale
  if (shard.bytes + cost > shard_budget_) {
    shard.entries.clear();
    shard.bytes = 0;
  }
  auto [it, inserted] = shard.entries.try_emplace(std::move(k), version);
  if (inserted) shard.bytes += cost;
}

void VersionCache::invalidate(std::string_view type, std::string_view id) {
  const std::string k = key(type, id);
  Shard& shard = shardOf(k);
  std::lock_guard lock(shard.mutex);
  ++shard.generation;
  if (auto it = shard.entries.find(k); it != shard.entries.end()) {
    shard.bytes -= costOf(it->first, it->second);
    shard.entries.erase(it);
  }
}

size_t VersionCache::size() {
  size_t n = 0;
  for (Shard& s : shards_) {
    std::lock_guard lock(s.mutex);
    n += s.entries.size();
  }
  return n;
}

}  // namespace planbro::gateway::store::internal
