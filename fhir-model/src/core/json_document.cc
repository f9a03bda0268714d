// JsonDocument: parsing with RapidJSON's SAX reader into an arena-backed tree.
//
// Why SAX and not rapidjson::Document: FHIR needs numbers as their exact text (decimal precision is meaningful), a
// distinction between numbers and strings, duplicate-key detection and hard limits; the Document API gives up the
// first two. The reader runs iteratively (kParseIterativeFlag), so nesting depth never grows the C++ stack.

#include <algorithm>
#include <cstring>
#include <vector>

#include <rapidjson/error/en.h>
#include <rapidjson/reader.h>

#include "planbro/fhir-model/json.h"

namespace planbro::fhir {

// A bump allocator: values are never freed one by one, only with their document.
struct JsonDocument::Arena {
  static constexpr size_t kBlockSize = 64 * 1024;

  std::string text;  // the parsed input; strings and numbers point into it
  std::vector<std::unique_ptr<char[]>> blocks;
  char* cursor = nullptr;
  size_t remaining = 0;

  void* allocate(size_t bytes) {
    bytes = (bytes + 7) & ~size_t{7};
    if (bytes > remaining) {
      const size_t size = std::max(bytes, kBlockSize);
      blocks.push_back(std::make_unique<char[]>(size));
      cursor = blocks.back().get();
      remaining = size;
    }
    void* result = cursor;
    cursor += bytes;
    remaining -= bytes;
    return result;
  }

  template <typename T>
  T* copyArray(const T* source, size_t count) {
    if (count == 0) return nullptr;
    auto* target = static_cast<T*>(allocate(sizeof(T) * count));
    std::uninitialized_copy(source, source + count, target);
    return target;
  }
};

// Builds JsonValues during a parse. Friend of JsonValue; lives only inside this file.
class JsonTreeBuilder {
 public:
  static JsonValue scalar(JsonKind kind, const char* data, uint32_t size) { return {kind, data, size}; }
  static JsonValue container(JsonKind kind, const void* data, uint32_t size) { return {kind, data, size}; }
};

namespace {

// An in-situ input stream that also counts lines, so a syntax error can name its line and column even though
// in-situ decoding has rewritten the bytes before it.
class LineCountingInsituStream {
 public:
  using Ch = char;
  // `text` must be followed by a NUL byte at `end` (std::string guarantees it).
  LineCountingInsituStream(char* text, const char* end) : src_(text), dst_(nullptr), head_(text), end_(end) {}

  Ch Peek() const { return *src_; }
  // At the end the stream keeps answering NUL without moving: RapidJSON's UTF-8 validation takes continuation bytes
  // without looking for the end, so a truncated multi-byte sequence would otherwise read past the buffer.
  Ch Take() {
    if (src_ >= end_) return '\0';
    const Ch c = *src_++;
    if (c == '\n') {
      ++line_;
      line_start_ = static_cast<size_t>(src_ - head_);
    }
    return c;
  }
  size_t Tell() const { return static_cast<size_t>(src_ - head_); }
  Ch* PutBegin() { return dst_ = src_; }
  // Bounded for the same reason as Take(): decoded output never outruns the input, except on that error path.
  void Put(Ch c) {
    if (dst_ < end_) *dst_++ = c;
  }
  size_t PutEnd(Ch* begin) { return static_cast<size_t>(dst_ - begin); }
  Ch* Push(size_t count) { Ch* begin = dst_; dst_ += count; return begin; }
  void Pop(size_t count) { dst_ -= count; }
  void Flush() {}

  const Ch* position() const { return src_; }
  size_t line() const { return line_; }
  size_t lineStart() const { return line_start_; }

 private:
  Ch* src_;
  Ch* dst_;
  Ch* head_;
  const Ch* end_;
  size_t line_ = 1;
  size_t line_start_ = 0;
};

enum class AbortReason { kNone, kDepth, kNumberLength, kStringLength, kDuplicateKey };

class TreeHandler : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, TreeHandler> {
 public:
  TreeHandler(JsonDocument::Arena& arena, const JsonLimits& limits, const LineCountingInsituStream& stream)
      : arena_(arena), limits_(limits), stream_(stream) {
    stack_.reserve(256);
    frames_.reserve(32);
  }

  bool Null() { return add(JsonValue()); }
  bool Bool(bool b) { return add(JsonDocument::makeBool(b)); }
  // The number is taken from the stream position, not from `str`: RapidJSON 1.1.0 passes a pointer past the number
  // in in-situ mode. The stream stands right after the number's last character when this is called.
  bool RawNumber(const char* /*str*/, rapidjson::SizeType length, bool /*copy*/) {
    if (length > limits_.max_number_length) return abort(AbortReason::kNumberLength);
    return add(JsonTreeBuilder::scalar(JsonKind::kNumber, stream_.position() - length, length));
  }
  bool String(const char* str, rapidjson::SizeType length, bool /*copy*/) {
    if (length > limits_.max_string_bytes) return abort(AbortReason::kStringLength);
    return add(JsonTreeBuilder::scalar(JsonKind::kString, str, length));
  }
  bool Key(const char* str, rapidjson::SizeType length, bool /*copy*/) {
    if (length > limits_.max_string_bytes) return abort(AbortReason::kStringLength);
    stack_.push_back(JsonMember{std::string_view(str, length), JsonValue()});
    return true;
  }
  bool StartObject() { return open(true); }
  bool StartArray() { return open(false); }

  bool EndObject(rapidjson::SizeType count) {
    const size_t first = stack_.size() - count;
    if (hasDuplicateKey(first)) return abort(AbortReason::kDuplicateKey);
    const JsonMember* members = arena_.copyArray(stack_.data() + first, count);
    stack_.resize(first);
    frames_.pop_back();
    return add(JsonTreeBuilder::container(JsonKind::kObject, members, count));
  }
  bool EndArray(rapidjson::SizeType count) {
    const size_t first = stack_.size() - count;
    JsonValue* items = nullptr;
    if (count > 0) {
      items = static_cast<JsonValue*>(arena_.allocate(sizeof(JsonValue) * count));
      for (size_t i = 0; i < count; ++i) new (&items[i]) JsonValue(stack_[first + i].value);
    }
    stack_.resize(first);
    frames_.pop_back();
    return add(JsonTreeBuilder::container(JsonKind::kArray, items, count));
  }

  JsonValue root() const { return root_; }
  AbortReason abortReason() const { return abort_reason_; }
  std::string_view duplicateKey() const { return duplicate_key_; }

 private:
  bool open(bool is_object) {
    if (frames_.size() >= limits_.max_depth) return abort(AbortReason::kDepth);
    frames_.push_back(is_object);
    return true;
  }

  // Places a finished value: into the pending member of an object, as an array item, or as the root.
  bool add(JsonValue value) {
    if (frames_.empty()) {
      root_ = value;
    } else if (frames_.back()) {
      stack_.back().value = value;
    } else {
      stack_.push_back(JsonMember{std::string_view(), value});
    }
    return true;
  }

  bool hasDuplicateKey(size_t first) {
    const size_t count = stack_.size() - first;
    if (count < 2) return false;
    if (count <= 12) {
      for (size_t i = first; i < stack_.size(); ++i) {
        for (size_t j = i + 1; j < stack_.size(); ++j) {
          if (stack_[i].key == stack_[j].key) {
            duplicate_key_ = stack_[i].key;
            return true;
          }
        }
      }
      return false;
    }
    keys_.clear();
    for (size_t i = first; i < stack_.size(); ++i) keys_.push_back(stack_[i].key);
    std::sort(keys_.begin(), keys_.end());
    const auto it = std::adjacent_find(keys_.begin(), keys_.end());
    if (it == keys_.end()) return false;
    duplicate_key_ = *it;
    return true;
  }

  bool abort(AbortReason reason) {
    abort_reason_ = reason;
    return false;
  }

  JsonDocument::Arena& arena_;
  const JsonLimits& limits_;
  const LineCountingInsituStream& stream_;
  std::vector<JsonMember> stack_;  // pending members (objects) and items (arrays, with empty keys)
  std::vector<bool> frames_;       // true for an open object, false for an open array
  std::vector<std::string_view> keys_;
  JsonValue root_;
  AbortReason abort_reason_ = AbortReason::kNone;
  std::string_view duplicate_key_;
};

std::string positionText(const JsonErrorPosition& p) {
  return "line " + std::to_string(p.line) + ", column " + std::to_string(p.column);
}

// A key is echoed in an error only when short and printable: error text must not carry health data.
std::string safeKey(std::string_view key) {
  const bool printable = key.size() <= 64 && std::all_of(key.begin(), key.end(), [](char c) {
                           return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                                  c == '_' || c == '-';
                         });
  if (!printable) return "(a name)";
  std::string quoted;
  quoted.reserve(key.size() + 2);
  quoted.append(1, '\'').append(key).append(1, '\'');
  return quoted;
}

}  // namespace

JsonDocument::JsonDocument() : arena_(std::make_unique<Arena>()) {}
JsonDocument::~JsonDocument() = default;
JsonDocument::JsonDocument(JsonDocument&&) noexcept = default;
JsonDocument& JsonDocument::operator=(JsonDocument&&) noexcept = default;

Result<JsonDocument> JsonDocument::parse(std::string text, const JsonLimits& limits, JsonErrorPosition* position) {
  if (text.size() > limits.max_bytes) {
    return resourceExhausted("JSON document of " + std::to_string(text.size()) + " bytes is larger than the limit of " +
                             std::to_string(limits.max_bytes) + " bytes");
  }
  JsonDocument document;
  Arena& arena = *document.arena_;
  arena.text = std::move(text);

  LineCountingInsituStream stream(arena.text.data(), arena.text.data() + arena.text.size());
  TreeHandler handler(arena, limits, stream);
  rapidjson::Reader reader;
  constexpr unsigned kFlags = rapidjson::kParseInsituFlag | rapidjson::kParseIterativeFlag |
                              rapidjson::kParseValidateEncodingFlag | rapidjson::kParseNumbersAsStringsFlag;
  const rapidjson::ParseResult result = reader.Parse<kFlags>(stream, handler);
  if (!result.IsError()) {
    document.root_ = handler.root();
    return document;
  }

  JsonErrorPosition where;
  where.offset = result.Offset();
  where.line = stream.line();
  where.column = (where.offset >= stream.lineStart() ? where.offset - stream.lineStart() : 0) + 1;
  if (position != nullptr) *position = where;

  switch (handler.abortReason()) {
    case AbortReason::kDepth:
      return resourceExhausted("JSON nesting deeper than the limit of " + std::to_string(limits.max_depth) + " at " +
                               positionText(where));
    case AbortReason::kNumberLength:
      return resourceExhausted("JSON number longer than the limit of " + std::to_string(limits.max_number_length) +
                               " characters at " + positionText(where));
    case AbortReason::kStringLength:
      return resourceExhausted("JSON string longer than the limit of " + std::to_string(limits.max_string_bytes) +
                               " bytes at " + positionText(where));
    case AbortReason::kDuplicateKey:
      return invalidArgument("JSON object has the property " + safeKey(handler.duplicateKey()) +
                             " more than once (object ending at " + positionText(where) + ")");
    case AbortReason::kNone:
      break;
  }
  if (result.Code() == rapidjson::kParseErrorNumberTooBig) {
    return resourceExhausted("JSON number too large at " + positionText(where));
  }
  if (result.Code() == rapidjson::kParseErrorDocumentEmpty) return invalidArgument("the JSON document is empty");
  return invalidArgument(std::string("JSON syntax error at ") + positionText(where) + ": " +
                         rapidjson::GetParseError_En(result.Code()));
}

JsonValue JsonDocument::makeString(std::string_view s) {
  char* copy = arena_->copyArray(s.data(), s.size());
  return JsonTreeBuilder::scalar(JsonKind::kString, copy, static_cast<uint32_t>(s.size()));
}

JsonValue JsonDocument::makeNumber(std::string_view exact_text) {
  char* copy = arena_->copyArray(exact_text.data(), exact_text.size());
  return JsonTreeBuilder::scalar(JsonKind::kNumber, copy, static_cast<uint32_t>(exact_text.size()));
}

JsonValue JsonDocument::makeBool(bool b) {
  return JsonTreeBuilder::scalar(b ? JsonKind::kTrue : JsonKind::kFalse, nullptr, 0);
}

JsonValue JsonDocument::makeArray(std::span<const JsonValue> items) {
  const JsonValue* copy = arena_->copyArray(items.data(), items.size());
  return JsonTreeBuilder::container(JsonKind::kArray, copy, static_cast<uint32_t>(items.size()));
}

JsonValue JsonDocument::makeObject(std::span<const JsonMember> members) {
  // Keys may point into another document or a temporary: copy them too.
  std::vector<JsonMember> owned(members.begin(), members.end());
  for (JsonMember& m : owned) m.key = std::string_view(arena_->copyArray(m.key.data(), m.key.size()), m.key.size());
  const JsonMember* copy = arena_->copyArray(owned.data(), owned.size());
  return JsonTreeBuilder::container(JsonKind::kObject, copy, static_cast<uint32_t>(owned.size()));
}

JsonValue JsonDocument::withMember(const JsonValue& object, std::string_view key, JsonValue value) {
  std::vector<JsonMember> members(object.members().begin(), object.members().end());
  auto it = std::find_if(members.begin(), members.end(), [&](const JsonMember& m) { return m.key == key; });
  if (it != members.end()) {
    it->value = value;
  } else {
    members.push_back(JsonMember{key, value});
  }
  return makeObject(members);
}

JsonValue JsonDocument::withoutMember(const JsonValue& object, std::string_view key) {
  std::vector<JsonMember> members;
  members.reserve(object.size());
  for (const JsonMember& m : object.members()) {
    if (m.key != key) members.push_back(m);
  }
  return makeObject(members);
}

JsonValue JsonDocument::import(const JsonValue& value) {
  switch (value.kind()) {
    case JsonKind::kString:
      return makeString(value.text());
    case JsonKind::kNumber:
      return makeNumber(value.text());
    case JsonKind::kArray: {
      std::vector<JsonValue> items;
      items.reserve(value.size());
      for (const JsonValue& item : value.items()) items.push_back(import(item));
      return makeArray(items);
    }
    case JsonKind::kObject: {
      std::vector<JsonMember> members;
      members.reserve(value.size());
      for (const JsonMember& m : value.members()) members.push_back(JsonMember{m.key, import(m.value)});
      return makeObject(members);
    }
    default:
      return value;
  }
}

const JsonValue* JsonValue::find(std::string_view key) const {
  for (const JsonMember& m : members()) {
    if (m.key == key) return &m.value;
  }
  return nullptr;
}

bool jsonEqual(const JsonValue& a, const JsonValue& b) {
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case JsonKind::kString:
    case JsonKind::kNumber:
      return a.text() == b.text();
    case JsonKind::kArray: {
      if (a.size() != b.size()) return false;
      for (uint32_t i = 0; i < a.size(); ++i) {
        if (!jsonEqual(a.items()[i], b.items()[i])) return false;
      }
      return true;
    }
    case JsonKind::kObject: {
      if (a.size() != b.size()) return false;
      for (const JsonMember& m : a.members()) {
        const JsonValue* other = b.find(m.key);
        if (other == nullptr || !jsonEqual(m.value, *other)) return false;
      }
      return true;
    }
    default:
      return true;
  }
}

}  // namespace planbro::fhir
