#pragma once
// Whether the two-step compartment plan (index_query_sql.h, IndexQueryPlan) is worth trying for a query shape, from
// how it went for that shape before. Internal to planbro_store; thread-safe.
//
// Its first step pays off when the other group's first candidates are mostly the requester's patients' resources
// (a selective criterion, or a store where the patient holds most of them), and costs a page of wasted rows and a
// statement when they are not (a practitioner with a few patients on a store of many). The store gathers no
// statistics that would tell these apart in advance, so each shape (type and driving parameter) remembers its
// recent outcomes: after a first step that did not fill its page the shape tries it only every 2nd query, then every
// 4th, ... up to every 64th, and a first step that did fill it brings the shape back to every query. Results never
// depend on it; only which statements find them.

#include <algorithm>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace planbro::gateway::store::internal {

class TwoStepAdvisor {
 public:
  static constexpr uint32_t kMaxBackoffShift = 6;     // at most one try in 64 queries
  static constexpr size_t kMaxShapes = 4096;          // shapes remembered (then forgotten all at once)

  /** Whether to run the first step for a query of `shape` now. */
  bool shouldTry(const std::string& shape) {
    std::lock_guard lock(mutex_);
    auto it = shapes_.find(shape);
    if (it == shapes_.end() || it->second.misses == 0) return true;
    Shape& s = it->second;
    if (++s.skipped < (1u << s.misses)) return false;
    s.skipped = 0;
    return true;
  }

  /** What the first step did: `filled` when it completed the page (or ran out of candidates) by itself. */
  void record(const std::string& shape, bool filled) {
    std::lock_guard lock(mutex_);
    if (filled) {
      auto it = shapes_.find(shape);
      if (it != shapes_.end()) it->second = Shape{};
      return;
    }
    if (shapes_.size() >= kMaxShapes && !shapes_.contains(shape)) shapes_.clear();
    Shape& s = shapes_[shape];
    s.misses = std::min(s.misses + 1, kMaxBackoffShift);
    s.skipped = 0;
  }

 private:
  struct Shape {
    uint32_t misses = 0;   // first steps in a row that did not fill their page (capped)
    uint32_t skipped = 0;  // queries since the last try
  };
  std::mutex mutex_;
  std::unordered_map<std::string, Shape> shapes_;
};

}  // namespace planbro::gateway::store::internal
