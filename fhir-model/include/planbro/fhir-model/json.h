#pragma once
// A lossless, arena-backed JSON tree for FHIR: numbers keep their exact source text (1.10 stays 1.10),
// member order is kept as read, strings are unescaped UTF-8. Parsing is bounded by JsonLimits, and its C++ stack
// use by the depth limit (see kMaxRecursiveJsonDepth), so hostile input (deep nesting, huge numbers, invalid UTF-8)
// yields a Status.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "planbro/fhir-model/status.h"

namespace planbro::fhir {

enum class JsonKind : uint8_t { kNull, kFalse, kTrue, kNumber, kString, kArray, kObject };

struct JsonMember;

/**
 * A JSON value: a 16-byte handle into the arena of the JsonDocument that made it. Copying a JsonValue copies the
 * handle, not the subtree. A JsonValue is valid while its document lives; it is immutable, so any number of threads
 * may read it. Build new values with the JsonDocument's make*() functions.
 */
class JsonValue {
 public:
  JsonValue() = default;  // null

  JsonKind kind() const { return kind_; }
  bool isNull() const { return kind_ == JsonKind::kNull; }
  bool isBool() const { return kind_ == JsonKind::kTrue || kind_ == JsonKind::kFalse; }
  bool isNumber() const { return kind_ == JsonKind::kNumber; }
  bool isString() const { return kind_ == JsonKind::kString; }
  bool isArray() const { return kind_ == JsonKind::kArray; }
  bool isObject() const { return kind_ == JsonKind::kObject; }
  bool isPrimitive() const { return kind_ != JsonKind::kArray && kind_ != JsonKind::kObject; }

  bool boolean() const { return kind_ == JsonKind::kTrue; }
  /** The unescaped string, or a number's exact source text; empty for other kinds. */
  std::string_view text() const {
    return (kind_ == JsonKind::kString || kind_ == JsonKind::kNumber) ? std::string_view(static_cast<const char*>(data_), size_)
                                                                     : std::string_view();
  }
  /** Number of array items or object members; 0 for other kinds. */
  uint32_t size() const { return (kind_ == JsonKind::kArray || kind_ == JsonKind::kObject) ? size_ : 0; }
  std::span<const JsonValue> items() const;
  std::span<const JsonMember> members() const;
  /** The first member named `key`, or nullptr (also when this is not an object). Linear scan. */
  const JsonValue* find(std::string_view key) const;

  /** Deep structural equality; object member order is ignored, numbers compare by exact text. */
  friend bool jsonEqual(const JsonValue& a, const JsonValue& b);

 private:
  friend class JsonDocument;
  friend class JsonTreeBuilder;
  JsonValue(JsonKind kind, const void* data, uint32_t size) : data_(data), size_(size), kind_(kind) {}
  const void* data_ = nullptr;
  uint32_t size_ = 0;
  JsonKind kind_ = JsonKind::kNull;
};

struct JsonMember {
  std::string_view key;
  JsonValue value;
};

inline std::span<const JsonValue> JsonValue::items() const {
  if (kind_ != JsonKind::kArray) return {};
  return {static_cast<const JsonValue*>(data_), size_};
}
inline std::span<const JsonMember> JsonValue::members() const {
  if (kind_ != JsonKind::kObject) return {};
  return {static_cast<const JsonMember*>(data_), size_};
}

/** Limits applied while parsing; every one is configurable (gateway config `limits.json.*`). */
struct JsonLimits {
  size_t max_bytes = 64u << 20;        // whole document
  uint32_t max_depth = 256;            // nesting of arrays and objects
  uint32_t max_number_length = 64;     // characters in one number's text
  uint32_t max_string_bytes = 32u << 20;
};

/** While JsonLimits::max_depth is at most this, JsonDocument::parse uses RapidJSON's faster recursive reader, whose
 *  C++ stack use grows with the nesting (bounded by the limit, about 128 KiB at 256 levels); above it, the
 *  iterative reader, whose stack use does not grow. */
inline constexpr uint32_t kMaxRecursiveJsonDepth = 256;

/** Where a parse failed: 1-based line and column (in bytes) and 0-based byte offset. */
struct JsonErrorPosition {
  size_t line = 0;
  size_t column = 0;
  size_t offset = 0;
};

/**
 * Owns the bytes and arena of one parsed (or built) JSON tree. Move-only; values handed out stay valid while it
 * lives, including after a move. Not thread-safe for make*() calls; reading is.
 */
class JsonDocument {
 public:
  JsonDocument();
  ~JsonDocument();
  JsonDocument(JsonDocument&&) noexcept;
  JsonDocument& operator=(JsonDocument&&) noexcept;
  JsonDocument(const JsonDocument&) = delete;
  JsonDocument& operator=(const JsonDocument&) = delete;

  /**
   * Parses `text` (taken over and parsed in place). Errors: kInvalidArgument for syntax errors, invalid UTF-8 and
   * duplicate member names (message gives line and column; `position` is filled when given), kResourceExhausted when
   * a JsonLimits bound is crossed.
   */
  static Result<JsonDocument> parse(std::string text, const JsonLimits& limits = {},
                                    JsonErrorPosition* position = nullptr);

  const JsonValue& root() const { return root_; }
  void setRoot(JsonValue value) { root_ = value; }

  // Builders: copy their inputs into this document's arena.
  JsonValue makeString(std::string_view s);
  JsonValue makeNumber(std::string_view exact_text);
  static JsonValue makeBool(bool b);
  JsonValue makeArray(std::span<const JsonValue> items);
  JsonValue makeObject(std::span<const JsonMember> members);
  /** A copy of `object` with member `key` set to `value` (replaced in place of the first match, else appended). */
  JsonValue withMember(const JsonValue& object, std::string_view key, JsonValue value);
  /** A copy of `object` without any member named `key`. */
  JsonValue withoutMember(const JsonValue& object, std::string_view key);
  /** Deep-copies a value from another document into this one. */
  JsonValue import(const JsonValue& value);

  struct Arena;  // defined in json_document.cc

 private:
  std::unique_ptr<Arena> arena_;
  JsonValue root_;
};

struct JsonWriteOptions {
  bool pretty = false;  // two-space indent, one member per line
};

/** Serialises `value` as JSON text, appending to `out`. Numbers are written with their exact text. */
void writeJson(const JsonValue& value, std::string& out, const JsonWriteOptions& options = {});
std::string writeJson(const JsonValue& value, const JsonWriteOptions& options = {});
/** Appends `s` as a quoted, escaped JSON string (for writers that order members themselves). */
void writeJsonString(std::string_view s, std::string& out);

}  // namespace planbro::fhir
