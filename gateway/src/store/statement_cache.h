#pragma once
// A per-connection cache of prepared statements keyed by their SQL text, bounded by bytes and by count: the least
// recently used statements are released first. Internal to planbro_store; one connection (one thread) uses it.
//
// Why bytes: a prepared statement's memory grows with its text and plan, so a count bound alone let a few hundred
// long statements (OR lists spelled out one predicate per value) hold gigabytes per connection. The store's search
// SQL no longer depends on list lengths, so the cache stays small; the bound is the guarantee.

#include <cstddef>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace planbro::gateway::store::internal {

template <typename Handle>
class StatementCache {
 public:
  StatementCache(size_t max_bytes, size_t max_count) : max_bytes_(max_bytes), max_count_(max_count == 0 ? 1 : max_count) {}
  StatementCache(const StatementCache&) = delete;
  StatementCache& operator=(const StatementCache&) = delete;

  /** The handle cached for `sql` (now the most recently used), or nullptr. */
  Handle* find(std::string_view sql) {
    auto it = index_.find(sql);
    if (it == index_.end()) return nullptr;
    entries_.splice(entries_.begin(), entries_, it->second);
    return &it->second->handle;
  }

  /**
   * Caches `handle` for `sql`, weighing `bytes`; then releases least recently used entries (never the new one)
   * through `release(Handle&)` until the cache is within both bounds. Returns the cached handle.
   */
  template <typename Release>
  Handle& insert(std::string sql, Handle handle, size_t bytes, Release&& release) {
    entries_.push_front(Entry{std::move(sql), std::move(handle), bytes});
    index_.emplace(std::string_view(entries_.front().sql), entries_.begin());
    bytes_ += bytes;
    while (entries_.size() > 1 && (bytes_ > max_bytes_ || entries_.size() > max_count_)) {
      Entry& victim = entries_.back();
      release(victim.handle);
      bytes_ -= victim.bytes;
      index_.erase(std::string_view(victim.sql));
      entries_.pop_back();
    }
    return entries_.front().handle;
  }

  /** Releases every entry through `release(Handle&)`. */
  template <typename Release>
  void clear(Release&& release) {
    for (Entry& e : entries_) release(e.handle);
    index_.clear();
    entries_.clear();
    bytes_ = 0;
  }

  size_t bytes() const { return bytes_; }
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    std::string sql;
    Handle handle;
    size_t bytes;
  };
  struct TextHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  const size_t max_bytes_;
  const size_t max_count_;
  size_t bytes_ = 0;
  std::list<Entry> entries_;  // most recently used first; nodes never move, so the index's views stay valid
  std::unordered_map<std::string_view, typename std::list<Entry>::iterator, TextHash, std::equal_to<>> index_;
};

}  // namespace planbro::gateway::store::internal
