#include "item_set.h"

#include <functional>
#include <string_view>

namespace planbro::fhir::fhirpath {
namespace {

enum Tag : uint64_t { kStringTag = 1, kNumberTag, kBooleanTag, kTemporalTag, kQuantityTag };

uint64_t mix(uint64_t h, uint64_t v) { return h ^ (v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2)); }
uint64_t hashText(std::string_view s) { return std::hash<std::string_view>()(s); }

uint64_t hashNumber(Decimal d) {
  // 1, 1.0 and 1.00 are equal: hash the value with trailing zeros dropped.
  while (d.scale > 0 && d.mantissa % 10 == 0) {
    d.mantissa /= 10;
    --d.scale;
  }
  Int128 high = d.mantissa / (Int128(1) << 62);
  Int128 low = d.mantissa - high * (Int128(1) << 62);
  uint64_t h = mix(kNumberTag, static_cast<uint64_t>(low));
  h = mix(h, static_cast<uint64_t>(high));
  return mix(h, static_cast<uint64_t>(d.scale));
}

uint64_t hashJsonScalar(const JsonValue& v) {
  uint64_t h = static_cast<uint64_t>(v.kind()) + 17;
  if (v.isString() || v.isNumber()) h = mix(h, hashText(v.text()));
  if (v.isArray() || v.isObject()) h = mix(h, v.size());
  return h;
}

// Member order does not matter to jsonEqual, so members combine by addition; nested values count by kind and size,
// keeping the key O(members) instead of O(subtree).
uint64_t hashJsonShallow(const JsonValue& v) {
  uint64_t h = hashJsonScalar(v);
  if (v.isObject()) {
    uint64_t sum = 0;
    for (const JsonMember& m : v.members()) sum += mix(hashText(m.key), hashJsonScalar(m.value));
    h = mix(h, sum);
  } else if (v.isArray()) {
    for (const JsonValue& item : v.items()) h = mix(h, hashJsonScalar(item));
  }
  return h;
}

}  // namespace

ItemSet::Keys ItemSet::keysOf(const Value& v) {
  Keys k;
  if (v.isNode() && v.asNode().json) {
    k.has_structural = true;
    k.structural = hashJsonShallow(*v.asNode().json);
  }
  if (auto s = stringOf(v)) {
    k.has_semantic = true;
    k.semantic = mix(kStringTag, hashText(*s));
    return k;
  }
  std::optional<Value> sys = v.toSystem();
  if (!sys) return k;
  k.has_semantic = true;
  switch (sys->kind()) {
    case ValueKind::kString: k.semantic = mix(kStringTag, hashText(sys->asString())); break;
    case ValueKind::kInteger: k.semantic = hashNumber(Decimal::fromInt(sys->asInteger())); break;
    case ValueKind::kDecimal: k.semantic = hashNumber(sys->asDecimal()); break;
    case ValueKind::kBoolean: k.semantic = mix(kBooleanTag, sys->asBoolean() ? 1 : 0); break;
    case ValueKind::kQuantity: k.semantic = kQuantityTag; break;
    default: k.semantic = kTemporalTag; break;  // Date and DateTime compare with each other
  }
  return k;
}

bool ItemSet::equalAt(uint32_t i, const Value& v) const {
  ++ctx_.comparisons;
  if (++ctx_.steps > ctx_.env.limits.max_steps) return false;
  auto e = itemsEqual(items_[i], v);
  return e && *e;
}

bool ItemSet::containsLinear(const Value& v) const {
  for (uint32_t i = 0; i < items_.size(); ++i) {
    if (equalAt(i, v)) return true;
  }
  return false;
}

bool ItemSet::containsWithKeys(const Value& v, const Keys& keys) const {
  auto scan = [&](const std::unordered_map<uint64_t, std::vector<uint32_t>>& index, uint64_t key) {
    auto it = index.find(key);
    if (it == index.end()) return false;
    for (uint32_t i : it->second) {
      if (equalAt(i, v)) return true;
    }
    return false;
  };
  return (keys.has_semantic && scan(semantic_, keys.semantic)) ||
         (keys.has_structural && scan(structural_, keys.structural));
}

void ItemSet::index(uint32_t i, const Keys& keys) {
  if (keys.has_semantic) semantic_[keys.semantic].push_back(i);
  if (keys.has_structural) structural_[keys.structural].push_back(i);
}

bool ItemSet::contains(const Value& v) const {
  return indexed_ ? containsWithKeys(v, keysOf(v)) : containsLinear(v);
}

bool ItemSet::insert(const Value& v) {
  if (!indexed_) {
    if (containsLinear(v)) return false;
    items_.push_back(v);
    if (items_.size() >= kLinearItems) {
      for (uint32_t i = 0; i < items_.size(); ++i) index(i, keysOf(items_[i]));
      indexed_ = true;
    }
    return true;
  }
  Keys keys = keysOf(v);
  if (containsWithKeys(v, keys)) return false;
  auto i = static_cast<uint32_t>(items_.size());
  items_.push_back(v);
  index(i, keys);
  return true;
}

}  // namespace planbro::fhir::fhirpath
