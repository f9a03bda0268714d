// An explicit stack instead of recursion: the trees measured here are the ones that may be too deep to recurse on.
#include "planbro/gateway/rest/tree_meter.h"

#include <algorithm>
#include <functional>
#include <limits>
#include <vector>

namespace planbro::gateway::rest {
namespace {

using fhir::JsonKind;
using fhir::JsonValue;

// Strings at least this long are remembered: a copied long string is counted once, short ones are cheaper to
// count again than to look up.
constexpr size_t kRememberedStringBytes = 64;
// Containers at least this large (written) are remembered. Walking a smaller one again costs at most this many
// bytes' worth of nodes, while remembering every `{"system":..,"code":..}` of a large resource would cost more memory
// than its tree; every container a shared subtree can multiply is above it.
constexpr uint64_t kRememberedContainerBytes = 256;

uint64_t saturatingAdd(uint64_t a, uint64_t b) {
  return a > std::numeric_limits<uint64_t>::max() - b ? std::numeric_limits<uint64_t>::max() : a + b;
}

// The length writeJsonString gives `s`, quotes included.
uint64_t quotedBytes(std::string_view s) {
  uint64_t n = 2 + s.size();
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    n += (c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t' || c == '\b' || c == '\f') ? 1 : 5;
  }
  return n;
}

bool isContainer(const JsonValue& v) { return v.isArray() || v.isObject(); }

const void* dataOf(const JsonValue& v) {
  if (v.isArray()) return v.items().data();
  if (v.isObject()) return v.members().data();
  return v.text().data();
}

// The brackets and commas of a container before its children are counted.
TreeMeasure emptyContainer(const JsonValue& v) {
  TreeMeasure m;
  m.bytes = 2 + (v.size() > 0 ? v.size() - 1 : 0);
  m.depth = 1;
  return m;
}

void fold(TreeMeasure& parent, const TreeMeasure& child) {
  parent.bytes = saturatingAdd(parent.bytes, child.bytes);
  parent.depth = std::max(parent.depth, child.depth == std::numeric_limits<uint32_t>::max() ? child.depth : child.depth + 1);
  parent.longest_string = std::max(parent.longest_string, child.longest_string);
}

}  // namespace

size_t TreeMeter::KeyHash::operator()(const Key& k) const noexcept {
  return std::hash<const void*>()(k.data) ^ (static_cast<size_t>(k.size) * 0x9E3779B97F4A7C15ull) ^
         static_cast<size_t>(k.kind);
}

const TreeMeasure* TreeMeter::remembered(const JsonValue& v) const {
  auto it = memo_.find(Key{dataOf(v), isContainer(v) ? v.size() : static_cast<uint32_t>(v.text().size()), v.kind()});
  return it == memo_.end() ? nullptr : &it->second;
}

TreeMeasure TreeMeter::leaf(const JsonValue& v) {
  TreeMeasure m;
  switch (v.kind()) {
    case JsonKind::kNull:
    case JsonKind::kTrue: m.bytes = 4; break;
    case JsonKind::kFalse: m.bytes = 5; break;
    case JsonKind::kNumber: m.bytes = v.text().size(); break;
    case JsonKind::kString: {
      std::string_view s = v.text();
      if (s.size() >= kRememberedStringBytes) {
        if (const TreeMeasure* r = remembered(v)) return *r;
      }
      m.bytes = quotedBytes(s);
      m.longest_string = s.size();
      if (s.size() >= kRememberedStringBytes) memo_[Key{s.data(), static_cast<uint32_t>(s.size()), v.kind()}] = m;
      break;
    }
    case JsonKind::kArray:
    case JsonKind::kObject: m = emptyContainer(v); break;
  }
  return m;
}

TreeMeasure TreeMeter::measure(const JsonValue& root) {
  if (!isContainer(root) || root.size() == 0) return leaf(root);
  if (const TreeMeasure* r = remembered(root)) return *r;
  struct Frame {
    const JsonValue* value;
    uint32_t next;
    TreeMeasure sum;
  };
  std::vector<Frame> stack;
  stack.push_back({&root, 0, emptyContainer(root)});
  ++walked_;
  TreeMeasure result;
  while (!stack.empty()) {
    Frame& top = stack.back();
    if (top.next < top.value->size()) {
      const uint32_t i = top.next++;
      const JsonValue* child;
      if (top.value->isArray()) {
        child = &top.value->items()[i];
      } else {
        const fhir::JsonMember& m = top.value->members()[i];
        top.sum.bytes = saturatingAdd(top.sum.bytes, quotedBytes(m.key) + 1);  // the key and its ':'
        child = &m.value;
      }
      if (isContainer(*child) && child->size() > 0) {
        if (const TreeMeasure* r = remembered(*child)) {
          fold(top.sum, *r);
        } else {
          stack.push_back({child, 0, emptyContainer(*child)});  // `top` is not used after this
          ++walked_;
        }
        continue;
      }
      fold(top.sum, leaf(*child));
      continue;
    }
    TreeMeasure done = top.sum;
    if (done.bytes >= kRememberedContainerBytes || stack.size() == 1) {
      memo_[Key{dataOf(*top.value), top.value->size(), top.value->kind()}] = done;
    }
    stack.pop_back();
    if (stack.empty()) result = done;
    else fold(stack.back().sum, done);
  }
  return result;
}

Status TreeMeter::check(const JsonValue& root, std::string_view where) {
  const TreeMeasure m = measure(root);
  auto fail = [&](std::string what) { return Status(StatusCode::kResourceExhausted, std::string(where) + ": " + what); };
  if (m.depth > limits_.max_depth) {
    return fail("the result would nest " + std::to_string(m.depth) + " levels deep (limit " +
                std::to_string(limits_.max_depth) + ", limits.json.max_depth)");
  }
  if (m.longest_string > limits_.max_string_bytes) {
    return fail("the result would hold a string of " + std::to_string(m.longest_string) + " bytes (limit " +
                std::to_string(limits_.max_string_bytes) + ", limits.json.max_string_bytes)");
  }
  if (m.bytes > limits_.max_bytes) {
    std::string size = m.bytes == std::numeric_limits<uint64_t>::max() ? "more than 2^64" : std::to_string(m.bytes);
    return fail("the result would be " + size + " bytes as JSON (limit " + std::to_string(limits_.max_bytes) +
                ", limits.max_body_bytes)");
  }
  return Status::ok();
}

}  // namespace planbro::gateway::rest
