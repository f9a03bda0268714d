#include "planbro/fhir-model/json_tree_limits.h"

#include <array>
#include <cstddef>
#include <cstring>
#include <memory_resource>
#include <span>
#include <vector>

namespace planbro::fhir {
namespace {

uint64_t escapedExtra(unsigned char c) {
  if (c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t' || c == '\b' || c == '\f') return 1;
  return c < 0x20 ? 5 : 0;
}

// Bytes writeJson() spends on a string: quotes, escapes (two bytes, or six for \u00XX) and the rest as is. Runs on
// every string of every validated resource, so it skips eight bytes at a time when none of them needs escaping.
uint64_t serialisedStringBytes(std::string_view s) {
  constexpr uint64_t kOnes = 0x0101010101010101ull, kHighs = 0x8080808080808080ull;
  auto hasZeroByte = [](uint64_t v) { return (v - kOnes) & ~v & kHighs; };
  uint64_t n = 2 + s.size();
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    const uint64_t control = (w - kOnes * 0x20) & ~w & kHighs;  // some byte < 0x20
    if ((control | hasZeroByte(w ^ (kOnes * '"')) | hasZeroByte(w ^ (kOnes * '\\'))) == 0) continue;
    for (size_t k = i; k < i + 8; ++k) n += escapedExtra(static_cast<unsigned char>(s[k]));
  }
  for (; i < s.size(); ++i) n += escapedExtra(static_cast<unsigned char>(s[i]));
  return n;
}

// A string's serialised size exactly, or (when not `exact`) an upper bound without reading its bytes: at most six
// bytes per byte (\u00XX) plus the quotes.
uint64_t stringBytes(std::string_view s, bool exact) { return exact ? serialisedStringBytes(s) : 2 + 6 * s.size(); }

uint64_t scalarBytes(const JsonValue& v, bool exact) {
  switch (v.kind()) {
    case JsonKind::kNull: return 4;
    case JsonKind::kTrue: return 4;
    case JsonKind::kFalse: return 5;
    case JsonKind::kNumber: return v.text().size();
    case JsonKind::kString: return stringBytes(v.text(), exact);
    default: return 2;  // the brackets of an array or object
  }
}

// One open array or object on the walk, with the position of the next child to visit.
struct Frame {
  const JsonValue* value;
  uint32_t next = 0;
};

// Renders the path of the frames, keeping the first and last segments when it is long: the location of a
// violation 4,000 levels down must not itself be a 60 KB string.
std::string pathOf(const JsonValue& root, std::span<const Frame> frames) {
  constexpr size_t kHead = 8, kTail = 8;
  std::string root_name = "$";
  if (root.isObject()) {
    if (const JsonValue* type = root.find("resourceType"); type && type->isString() && type->text().size() <= 64) {
      root_name = std::string(type->text());
    }
  }
  std::string out = root_name;
  // Frame i's `next - 1` is the child of frame i that frame i+1 (or the violation) sits in.
  size_t n = frames.size();
  for (size_t i = 0; i < n; ++i) {
    if (n > kHead + kTail && i == kHead) {
      out += ".(" + std::to_string(n - kHead - kTail) + " levels)";
      i = n - kTail - 1;
      continue;
    }
    const Frame& f = frames[i];
    if (f.next == 0) continue;
    uint32_t child = f.next - 1;
    if (f.value->isArray()) {
      out += '[' + std::to_string(child) + ']';
    } else if (f.value->isObject()) {
      std::string_view key = f.value->members()[child].key;
      out += '.';
      out += key.size() <= 64 ? key : key.substr(0, 64);
    }
  }
  return out;
}

// One walk. With `exact` false, sizes are upper bounds (no string is read byte by byte); crossing max_bytes then
// only sets `maybe_too_large` and stops, and the caller walks again exactly.
Status walk(const JsonValue& value, const JsonLimits& limits, uint64_t max_bytes, bool exact, bool& maybe_too_large,
            std::string* violation_path) {
  // The frames of an ordinary resource's depth live on this stack: every validation runs this walk, and it must not
  // add a heap allocation to it (deeper trees spill to the heap).
  constexpr size_t kInlineFrames = 64;
  alignas(Frame) std::array<std::byte, kInlineFrames * sizeof(Frame)> inline_frames;
  std::pmr::monotonic_buffer_resource frame_memory(inline_frames.data(), inline_frames.size());
  std::pmr::vector<Frame> frames(&frame_memory);
  frames.reserve(kInlineFrames);
  uint64_t bytes = 0;
  auto fail = [&](std::string what) {
    std::string path = pathOf(value, frames);
    if (violation_path) *violation_path = path;
    return resourceExhausted(what + " at " + path);
  };
  auto visit = [&](const JsonValue& v) -> Status {
    bytes += scalarBytes(v, exact);
    if (v.isString() && v.text().size() > limits.max_string_bytes) {
      return fail("a string of " + std::to_string(v.text().size()) + " bytes exceeds the limit of " +
                  std::to_string(limits.max_string_bytes));
    }
    if (v.isNumber() && v.text().size() > limits.max_number_length) {
      return fail("a number of " + std::to_string(v.text().size()) + " characters exceeds the limit of " +
                  std::to_string(limits.max_number_length));
    }
    if (v.isArray() || v.isObject()) {
      if (frames.size() + 1 > limits.max_depth) {
        return fail("nesting deeper than the limit of " + std::to_string(limits.max_depth));
      }
      frames.push_back({&v});
    }
    if (bytes > max_bytes) {
      if (!exact) {
        maybe_too_large = true;
        return resourceExhausted("");
      }
      return fail("the resource exceeds the size limit of " + std::to_string(max_bytes) + " bytes");
    }
    return Status::ok();
  };

  RETURN_IF_ERROR(visit(value));
  while (!frames.empty()) {
    Frame& top = frames.back();
    const JsonValue& v = *top.value;
    if (top.next >= v.size()) {
      frames.pop_back();
      continue;
    }
    uint32_t i = top.next++;
    if (i > 0) ++bytes;  // the comma
    if (v.isArray()) {
      RETURN_IF_ERROR(visit(v.items()[i]));
    } else {
      const JsonMember& m = v.members()[i];
      if (m.key.size() > limits.max_string_bytes) {
        return fail("a member name of " + std::to_string(m.key.size()) + " bytes exceeds the limit of " +
                    std::to_string(limits.max_string_bytes));
      }
      bytes += stringBytes(m.key, exact) + 1;  // the name and the colon
      RETURN_IF_ERROR(visit(m.value));
    }
  }
  return Status::ok();
}

// Adds a scalar's upper-bound size to `bytes`; false when its text is over its limit. Settled in its container's
// loop, with no call and no switch: a jump table on the kind of every value was a mispredicted indirect jump per
// value, a tenth of the base walk's mispredictions. Strings, the common leaf, are the first test.
[[gnu::always_inline]] inline bool scalarCertainlyWithin(const JsonValue& value, const JsonLimits& limits,
                                                         uint64_t& bytes) {
  const JsonKind kind = value.kind();
  if (kind == JsonKind::kString) {
    const size_t size = value.text().size();
    bytes += 2 + 6 * uint64_t{size};
    return size <= limits.max_string_bytes;
  }
  if (kind == JsonKind::kNumber) {
    const size_t size = value.text().size();
    bytes += size;
    return size <= limits.max_number_length;
  }
  bytes += kind == JsonKind::kFalse ? 5 : 4;  // null, true
  return true;
}

bool isContainer(const JsonValue& value) { return value.isArray() || value.isObject(); }

// True when the array or object `value` (below `depth` open arrays and objects) is certainly within every limit: its
// strings, names and numbers within theirs, its nesting within max_depth, and `bytes` plus an upper bound of its
// serialised size (six bytes per string byte) within max_bytes. False means "perhaps not": the framed walks below
// decide, and name the place. No frames, no paths, no string bytes read: the common case of a tree far inside its
// limits costs a few instructions per value. Recursive (one level per nested array or object), so only used where
// max_depth bounds the C++ stack (callers check); every value adds at least one byte to `bytes` and the walk stops
// when max_bytes is crossed, so shared subtrees cannot make it longer than min(tree size, max_bytes).
bool containerCertainlyWithin(const JsonValue& value, const JsonLimits& limits, uint64_t max_bytes, uint32_t depth,
                              uint64_t& bytes) {
  if (depth + 1 > limits.max_depth) return false;
  bytes += 2 + (value.size() > 0 ? value.size() - 1 : 0);  // the brackets and the commas
  if (value.isArray()) {
    for (const JsonValue& item : value.items()) {
      const bool within = isContainer(item) ? containerCertainlyWithin(item, limits, max_bytes, depth + 1, bytes)
                                            : scalarCertainlyWithin(item, limits, bytes);
      if (!within) return false;
    }
  } else {
    for (const JsonMember& m : value.members()) {
      if (m.key.size() > limits.max_string_bytes) return false;
      bytes += 3 + 6 * uint64_t{m.key.size()};  // quotes, escapes at most, the colon
      const bool within = isContainer(m.value)
                              ? containerCertainlyWithin(m.value, limits, max_bytes, depth + 1, bytes)
                              : scalarCertainlyWithin(m.value, limits, bytes);
      if (!within) return false;
    }
  }
  return bytes <= max_bytes;
}

bool certainlyWithin(const JsonValue& value, const JsonLimits& limits, uint64_t max_bytes) {
  uint64_t bytes = 0;
  const bool within = isContainer(value) ? containerCertainlyWithin(value, limits, max_bytes, 0, bytes)
                                         : scalarCertainlyWithin(value, limits, bytes);
  return within && bytes <= max_bytes;
}

}  // namespace

// Most trees are far below every limit: a recursive pass with upper bounds and no bookkeeping settles those (it cost
// a tenth of validating a resource when it kept frames for the violation's path). A tree it cannot settle is walked
// with frames and upper bounds, and only a tree that might be too large is walked exactly.
Status checkTreeLimits(const JsonValue& value, const JsonLimits& limits, uint64_t max_bytes,
                       std::string* violation_path) {
  if (limits.max_depth <= kMaxRecursiveJsonDepth) {
    if (certainlyWithin(value, limits, max_bytes)) return Status::ok();
  }
  bool maybe_too_large = false;
  Status bounded = walk(value, limits, max_bytes, /*exact=*/false, maybe_too_large, violation_path);
  if (!maybe_too_large) return bounded;
  return walk(value, limits, max_bytes, /*exact=*/true, maybe_too_large, violation_path);
}

}  // namespace planbro::fhir
