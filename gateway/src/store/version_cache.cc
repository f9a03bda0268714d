#include "version_cache.h"

#include <algorithm>
#include <functional>
#include <memory>

namespace planbro::gateway::store::internal {
namespace {

// What an entry costs beyond its strings: the map node, the key and the bookkeeping, roughly.
constexpr size_t kEntryOverhead = 160;

size_t costOf(const std::string& key, const ResourceVersion& v) {
  return kEntryOverhead + key.size() + v.type.size() + v.id.size() + v.json.size() + v.actor.size() +
         v.source_system.size();
}

// type + '/' + id: built in place (no allocation) for lookups, which run on every cached read.
class Key {
 public:
  Key(std::string_view type, std::string_view id) {
    if (type.size() + 1 + id.size() > sizeof inline_) {
      long_.reserve(type.size() + 1 + id.size());
      long_.append(type).push_back('/');
      long_.append(id);
      view_ = long_;
      return;
    }
    std::copy(type.begin(), type.end(), inline_);
    inline_[type.size()] = '/';
    std::copy(id.begin(), id.end(), inline_ + type.size() + 1);
    view_ = std::string_view(inline_, type.size() + 1 + id.size());
  }
  Key(const Key&) = delete;
  Key& operator=(const Key&) = delete;
  std::string_view view() const { return view_; }

 private:
  char inline_[128];
  std::string long_;
  std::string_view view_;
};

}  // namespace

VersionCache::VersionCache(size_t max_bytes) : shard_budget_(max_bytes / kShards) {}

VersionCache::Shard& VersionCache::shardOf(std::string_view key) {
  return shards_[std::hash<std::string_view>{}(key) % kShards];
}

VersionCache::Lookup VersionCache::lookup(std::string_view type, std::string_view id) {
  const Key k(type, id);
  Shard& shard = shardOf(k.view());
  std::lock_guard lock(shard.mutex);
  Lookup out;
  out.ticket = shard.generation;
  if (auto it = shard.entries.find(k.view()); it != shard.entries.end()) out.hit = it->second;
  return out;
}

void VersionCache::offer(uint64_t ticket, const ResourceVersion& version) {
  if (version.deleted) return;
  std::string k(Key(version.type, version.id).view());
  const size_t cost = costOf(k, version);
  if (cost > shard_budget_) return;
  Shard& shard = shardOf(k);
  std::lock_guard lock(shard.mutex);
  if (shard.generation != ticket) return;  // a write to this shard since the lookup: what we read may be stale
  if (shard.bytes + cost > shard_budget_) {
    shard.entries.clear();
    shard.bytes = 0;
  }
  auto [it, inserted] = shard.entries.try_emplace(std::move(k), std::make_shared<const ResourceVersion>(version));
  if (inserted) shard.bytes += cost;
}

void VersionCache::invalidate(std::string_view type, std::string_view id) {
  const Key k(type, id);
  Shard& shard = shardOf(k.view());
  std::lock_guard lock(shard.mutex);
  ++shard.generation;
  if (auto it = shard.entries.find(k.view()); it != shard.entries.end()) {
    shard.bytes -= costOf(it->first, *it->second);
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
