#pragma once
// A set of FHIRPath items under `=` (itemsEqual), hashed so that distinct(), repeat(), union, intersect(),
// exclude(), isDistinct() and subsetOf() cost linear work instead of a scan per item.

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "evaluator.h"

namespace planbro::fhir::fhirpath {

/**
 * Items that are pairwise not equal. Every pair of items that itemsEqual() calls equal shares a bucket: a semantic
 * key (string text, numeric value, boolean; one bucket for dates, times and quantities, whose equality crosses
 * precisions, time zones and units) and, for tree nodes, a shallow structural key of their JSON (consistent with
 * jsonEqual). Only items in a shared bucket are compared. Each comparison counts as a step of `ctx` (and in
 * Context::comparisons); once the step budget is spent, lookups stop comparing and answer "not found", so a caller
 * looping over items must check `ctx.charge(0)` after each call and return its error.
 * Not thread-safe; holds copies of the items (tree nodes by pointer, so the tree must outlive the set).
 */
class ItemSet {
 public:
  explicit ItemSet(Context& ctx) : ctx_(ctx) {}

  /** True when an item equal to `v` is in the set. */
  bool contains(const Value& v) const;
  /** Adds `v` unless an equal item is present; true when added. */
  bool insert(const Value& v);
  size_t size() const { return items_.size(); }

 private:
  struct Keys {
    bool has_semantic = false;
    uint64_t semantic = 0;
    bool has_structural = false;
    uint64_t structural = 0;
  };
  static Keys keysOf(const Value& v);
  bool containsWithKeys(const Value& v, const Keys& keys) const;
  bool containsLinear(const Value& v) const;
  void index(uint32_t i, const Keys& keys);
  bool equalAt(uint32_t i, const Value& v) const;

  // Below this many items a scan is cheaper than hashing (most unions are of a few literals).
  static constexpr size_t kLinearItems = 8;
  bool indexed_ = false;

  Context& ctx_;
  std::vector<Value> items_;
  std::unordered_map<uint64_t, std::vector<uint32_t>> semantic_;
  std::unordered_map<uint64_t, std::vector<uint32_t>> structural_;
};

}  // namespace planbro::fhir::fhirpath
