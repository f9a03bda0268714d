#include "planbro/fhir-model/json_tree_limits.h"

#include <vector>

namespace planbro::fhir {
namespace {

// Bytes writeJson() spends on a string: quotes, escapes (two bytes, or six for \u00XX) and the rest as is.
uint64_t serialisedStringBytes(std::string_view s) {
  uint64_t n = 2 + s.size();
  for (unsigned char c : s) {
    if (c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t' || c == '\b' || c == '\f') {
      n += 1;
    } else if (c < 0x20) {
      n += 5;
    }
  }
  return n;
}

uint64_t scalarBytes(const JsonValue& v) {
  switch (v.kind()) {
    case JsonKind::kNull: return 4;
    case JsonKind::kTrue: return 4;
    case JsonKind::kFalse: return 5;
    case JsonKind::kNumber: return v.text().size();
    case JsonKind::kString: return serialisedStringBytes(v.text());
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
std::string pathOf(const JsonValue& root, const std::vector<Frame>& frames) {
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

}  // namespace

Status checkTreeLimits(const JsonValue& value, const JsonLimits& limits, uint64_t max_bytes,
                       std::string* violation_path) {
  std::vector<Frame> frames;
  uint64_t bytes = 0;
  auto fail = [&](std::string what) {
    std::string path = pathOf(value, frames);
    if (violation_path) *violation_path = path;
    return resourceExhausted(what + " at " + path);
  };
  auto visit = [&](const JsonValue& v) -> Status {
    bytes += scalarBytes(v);
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
      bytes += serialisedStringBytes(m.key) + 1;  // the name and the colon
      RETURN_IF_ERROR(visit(m.value));
    }
  }
  return Status::ok();
}

}  // namespace planbro::fhir
