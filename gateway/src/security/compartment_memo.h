#pragma once
// The patient compartments of the resource versions the consent policy decides on, remembered by (type, id) with
// the exact content they were computed from: a read or search of a stored version asks again for the same bytes,
// and patientCompartmentsOf() parses them and evaluates the compartment's search parameters (FHIRPath) each time.
// An entry answers only for byte-identical content, so it can never be stale. Bounded by max_bytes (the contents
// and ids kept): when a new entry would pass it, all are dropped; 0 disables the memo.
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace planbro::gateway::security {

class CompartmentMemo {
 public:
  explicit CompartmentMemo(size_t max_bytes) : max_bytes_(max_bytes) {}

  /** patientCompartmentsOf(type, id, json), from memory when this content was seen before. */
  std::shared_ptr<const std::vector<std::string>> of(std::string_view type, std::string_view id,
                                                     std::string_view json);

  /**
   * Calls `use(compartments)` with patientCompartmentsOf(type, id, json). On a hit `use` runs under the memo's lock
   * on the entry itself (no shared_ptr copy: two atomic operations fewer per decision), so it must be short and must
   * not call back into the memo.
   */
  template <class Use>
  void visit(std::string_view type, std::string_view id, std::string_view json, Use&& use) {
    if (cacheable(id, json)) {
      std::lock_guard lock(mutex_);
      if (const std::vector<std::string>* hit = findLocked(type, id, json)) {
        use(*hit);
        return;
      }
    }
    use(*of(type, id, json));
  }

  size_t bytes() const;
  uint64_t hits() const;

 private:
  struct Entry {
    std::string json;
    std::shared_ptr<const std::vector<std::string>> compartments;
  };
  bool cacheable(std::string_view id, std::string_view json) const { return max_bytes_ != 0 && !id.empty() && !json.empty(); }
  // The entry of (type, id) when it holds exactly `json` (counting the hit); the caller holds mutex_.
  const std::vector<std::string>* findLocked(std::string_view type, std::string_view id, std::string_view json);

  const size_t max_bytes_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;  // "Type/id"
  size_t bytes_ = 0;
  uint64_t hits_ = 0;
};

}  // namespace planbro::gateway::security
