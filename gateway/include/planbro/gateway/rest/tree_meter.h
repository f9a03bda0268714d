#pragma once
// Size and depth accounting for JSON trees a patch builds. A JSON Patch `copy` shares the copied subtree, so a few
// operations can make a tree whose serialised form is exponentially larger than the request (and whose nesting is
// far beyond the parser's limit): every tree the gateway builds must stay inside the limits parsed input has.

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "planbro/fhir-model/json.h"
#include "planbro/fhir-model/status.h"

namespace planbro::gateway::rest {

/** What a tree would cost once written: its compact JSON size in bytes and its nesting of arrays and objects. */
struct TreeMeasure {
  uint64_t bytes = 0;     // saturates at UINT64_MAX
  uint32_t depth = 0;     // a primitive is 0, `{}` is 1
  uint64_t longest_string = 0;
};

/**
 * Measures immutable JSON trees without recursion, remembering the containers (from 256 bytes written) and long
 * strings it has measured (values share subtrees, and a JSON value never changes), so measuring a tree that differs
 * from one measured before by one edit walks only the new nodes and their small children: cheap to call after
 * every patch operation, and a shared subtree is counted each time it appears without being walked again. The values measured must
 * outlive the meter (it keys on their addresses). Not thread-safe; one per patch.
 */
class TreeMeter {
 public:
  explicit TreeMeter(const fhir::JsonLimits& limits) : limits_(limits) {}

  TreeMeasure measure(const fhir::JsonValue& value);

  /**
   * Ok when `root` is within the limits: compact size at most JsonLimits::max_bytes, depth at most max_depth, no
   * string longer than max_string_bytes. Otherwise kResourceExhausted: "`where`: the result would be ..." (short,
   * whatever the size of the tree, naming the config key).
   */
  Status check(const fhir::JsonValue& root, std::string_view where);

  /** Containers walked so far (not looked up): the work done, for tests that bound it. */
  uint64_t containersWalked() const { return walked_; }

 private:
  struct Key {
    const void* data;
    uint32_t size;
    fhir::JsonKind kind;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const noexcept;
  };
  const TreeMeasure* remembered(const fhir::JsonValue& v) const;
  TreeMeasure leaf(const fhir::JsonValue& v);

  fhir::JsonLimits limits_;
  std::unordered_map<Key, TreeMeasure, KeyHash> memo_;
  uint64_t walked_ = 0;
};

}  // namespace planbro::gateway::rest
