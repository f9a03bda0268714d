// JsonDocument: parsing with RapidJSON's SAX reader into an arena-backed tree.
//
// Why SAX and not rapidjson::Document: FHIR needs numbers as their exact text (decimal precision is meaningful), a
// distinction between numbers and strings, duplicate-key detection and hard limits; the Document API gives up the
// first two. The reader recurses only as deep as the depth limit allows, and runs iteratively (kParseIterativeFlag)
// when that limit is above kMaxRecursiveJsonDepth, so hostile nesting never exhausts the C++ stack.

#include <algorithm>
#include <array>
#include <cstring>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <rapidjson/error/en.h>
#include <rapidjson/reader.h>

#include "name_words.h"
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
      // Not value-initialised: zeroing the first 64 KiB block cost more than parsing a small resource's structure.
      blocks.push_back(std::unique_ptr<char[]>(new char[size]));
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
// in-situ decoding has rewritten the bytes before it. Lines are counted in SkipWhitespace (below) only: outside
// whitespace a raw line feed is an error at its own position (in a string it is a control character), so a per-byte
// check in Take() would count nothing more. The text is valid UTF-8 before the reader starts (validateUtf8), so the
// reader runs without its per-byte encoding validation and stops at the terminating NUL like RapidJSON's own in-situ
// stream.
class LineCountingInsituStream {
 public:
  using Ch = char;
  // `text` must be followed by a NUL byte at `end` (std::string guarantees it).
  LineCountingInsituStream(char* text, const char* end) : src_(text), dst_(nullptr), head_(text), end_(end) {}

  Ch Peek() const { return *src_; }
  Ch Take() { return *src_++; }
  size_t Tell() const { return static_cast<size_t>(src_ - head_); }
  Ch* PutBegin() { return dst_ = src_; }
  // In-situ decoding never outruns the input: an escape decodes to fewer bytes than it spells.
  void Put(Ch c) { *dst_++ = c; }
  size_t PutEnd(Ch* begin) { return static_cast<size_t>(dst_ - begin); }
  Ch* Push(size_t count) { Ch* begin = dst_; dst_ += count; return begin; }
  void Pop(size_t count) { dst_ -= count; }
  void Flush() {}

  const Ch* position() const { return src_; }
  size_t line() const { return line_; }
  size_t lineStart() const { return line_start_; }

  // Pretty-printed FHIR is mostly indentation: runs of spaces are skipped 16 bytes at a time.
  void skipWhitespace() {
    char* p = src_;
    for (;;) {
      const char c = *p;
      if (c == '\n') {
        ++p;
        ++line_;
        line_start_ = static_cast<size_t>(p - head_);
      } else if (c == ' ' || c == '\t' || c == '\r') {
        ++p;
#if defined(__SSE2__)
        const __m128i space = _mm_set1_epi8(' ');
        while (end_ - p >= 16) {
          const __m128i block = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
          const unsigned spaces = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(block, space)));
          if (spaces != 0xFFFF) {
            p += __builtin_ctz(~spaces);
            break;
          }
          p += 16;
        }
#endif
      } else {
        break;
      }
    }
    src_ = p;
  }


  // Moves (and, once an escape has been decoded, copies) the run of string bytes up to the next '"', '\\' or
  // control character; the reader then handles that byte. 32 bytes per step (two SSE2 blocks, one branch): most
  // names and values of a resource end inside their first 32 bytes, so the loop's exit is predicted; with 16 it
  // varied at strings of 16 to 31 bytes (dates with a time, references, system URLs), the parse's most mispredicted
  // branch in callgrind's branch model.
  void scanCopyUnescaped() {
    char* p = src_;
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i backslash = _mm_set1_epi8('\\');
    const __m128i below_space = _mm_set1_epi8(0x1F);
    auto specials = [&](const char* at) {
      const __m128i s = _mm_loadu_si128(reinterpret_cast<const __m128i*>(at));
      const __m128i special = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(s, quote), _mm_cmpeq_epi8(s, backslash)),
                                           _mm_cmpeq_epi8(_mm_min_epu8(s, below_space), s));
      return static_cast<unsigned>(_mm_movemask_epi8(special));
    };
    while (end_ - p >= 32) {
      const uint32_t mask = specials(p) | specials(p + 16) << 16;
      const size_t run = mask != 0 ? static_cast<size_t>(__builtin_ctz(mask)) : 32;
      if (dst_ != nullptr && dst_ != p) std::memmove(dst_, p, run);
      if (dst_ != nullptr) dst_ += run;
      p += run;
      if (mask != 0) {
        src_ = p;
        return;
      }
    }
    while (end_ - p >= 16) {
      const unsigned mask = specials(p);
      const size_t run = mask != 0 ? static_cast<size_t>(__builtin_ctz(mask)) : 16;
      if (dst_ != nullptr && dst_ != p) std::memmove(dst_, p, run);
      if (dst_ != nullptr) dst_ += run;
      p += run;
      if (mask != 0) {
        src_ = p;
        return;
      }
    }
#endif
    while (p < end_) {
      const auto c = static_cast<unsigned char>(*p);
      if (c == '"' || c == '\\' || c < 0x20) break;
      if (dst_ != nullptr) *dst_++ = static_cast<char>(c);
      ++p;
    }
    src_ = p;
  }

 private:
  Ch* src_;
  Ch* dst_;
  Ch* head_;
  const Ch* end_;
  size_t line_ = 1;
  size_t line_start_ = 0;
};

// Found by argument-dependent lookup from the reader, and preferred to RapidJSON's generic template.
inline void SkipWhitespace(LineCountingInsituStream& is) { is.skipWhitespace(); }

// Strict UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF), 16 ASCII bytes at a time. Returns the
// offset of the first byte of the first bad sequence, or npos.
size_t firstInvalidUtf8(std::string_view text) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
#if defined(__SSE2__)
    while (n - i >= 16 &&
           _mm_movemask_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i))) == 0) {
      i += 16;
    }
    if (i >= n) break;
#endif
    const unsigned char b0 = s[i];
    if (b0 < 0x80) {
      ++i;
      continue;
    }
    auto cont = [&](size_t k) { return i + k < n && (s[i + k] & 0xC0) == 0x80; };
    size_t length = 0;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
      length = cont(1) ? 2 : 0;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
      if (cont(1) && cont(2) && !(b0 == 0xE0 && s[i + 1] < 0xA0) && !(b0 == 0xED && s[i + 1] >= 0xA0)) length = 3;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
      if (cont(1) && cont(2) && cont(3) && !(b0 == 0xF0 && s[i + 1] < 0x90) && !(b0 == 0xF4 && s[i + 1] >= 0x90)) {
        length = 4;
      }
    }
    if (length == 0) return i;
    i += length;
  }
  return std::string_view::npos;
}

}  // namespace
}  // namespace planbro::fhir

// The reader's hook for skipping a run of plain string bytes is a member template that does nothing for streams
// other than RapidJSON's own (and for those only with RAPIDJSON_SSE2); this stream gets its SIMD scan here. Reached
// only without kParseValidateEncodingFlag, hence the validation of the whole text up front.
template <>
template <>
inline void rapidjson::GenericReader<rapidjson::UTF8<>, rapidjson::UTF8<>, rapidjson::CrtAllocator>::
    ScanCopyUnescapedString(planbro::fhir::LineCountingInsituStream& is, planbro::fhir::LineCountingInsituStream&) {
  is.scanCopyUnescaped();
}

namespace planbro::fhir {
namespace {

enum class AbortReason { kNone, kDepth, kNumberLength, kStringLength, kDuplicateKey, kLoneSurrogate };

// The text is valid UTF-8 (checked up front), so the encoding of a UTF-16 surrogate (ED A0..BF ..) in a decoded
// string can only come from a \u escape. RapidJSON 1.1.0 refuses a lone high surrogate but decodes a lone low one
// (\uDC00-\uDFFF) to those three bytes, which are not UTF-8: stored, they would make the resource unreadable.
bool hasSurrogateBytes(const char* str, size_t length) {
  const char* end = str + length;
  for (const char* p = str; p < end; ++p) {
    p = static_cast<const char*>(std::memchr(p, 0xED, static_cast<size_t>(end - p)));
    if (p == nullptr) return false;
    if (p + 1 < end && static_cast<unsigned char>(p[1]) >= 0xA0) return true;
  }
  return false;
}

class TreeHandler : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, TreeHandler> {
 public:
  TreeHandler(JsonDocument::Arena& arena, const JsonLimits& limits, const LineCountingInsituStream& stream)
      : arena_(arena), limits_(limits), stream_(stream) {
    frames_.reserve(32);
    frames_.push_back(kArrayFrame);  // the root
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
    if (hadEscape(str, length) && hasSurrogateBytes(str, length)) return abort(AbortReason::kLoneSurrogate);
    return add(JsonTreeBuilder::scalar(JsonKind::kString, str, length));
  }
  bool Key(const char* str, rapidjson::SizeType length, bool /*copy*/) {
    if (length > limits_.max_string_bytes) return abort(AbortReason::kStringLength);
    if (hadEscape(str, length) && hasSurrogateBytes(str, length)) return abort(AbortReason::kLoneSurrogate);
    stack_[size_++] = JsonMember{std::string_view(str, length), JsonValue()};
    if (size_ == stack_.capacity()) [[unlikely]] stack_.grow();
    return true;
  }
  bool StartObject() { return open(true); }
  bool StartArray() { return open(false); }

  bool EndObject(rapidjson::SizeType count) {
    const size_t first = size_ - count;
    if (hasDuplicateKey(first)) return abort(AbortReason::kDuplicateKey);
    const JsonMember* members = arena_.copyArray(stack_.data() + first, count);
    close(first);
    return add(JsonTreeBuilder::container(JsonKind::kObject, members, count));
  }
  bool EndArray(rapidjson::SizeType count) {
    const size_t first = size_ - count;
    JsonValue* items = nullptr;
    if (count > 0) {
      items = static_cast<JsonValue*>(arena_.allocate(sizeof(JsonValue) * count));
      for (size_t i = 0; i < count; ++i) new (&items[i]) JsonValue(stack_[first + i].value);
    }
    close(first);
    return add(JsonTreeBuilder::container(JsonKind::kArray, items, count));
  }

  /** The parsed value; null before a value is complete. */
  JsonValue root() const { return size_ > 0 && frames_.size() == 1 ? stack_[0].value : JsonValue(); }
  AbortReason abortReason() const { return abort_reason_; }
  std::string_view duplicateKey() const { return duplicate_key_; }

 private:
  static constexpr uint8_t kObjectFrame = 0;
  static constexpr uint8_t kArrayFrame = 1;

  bool open(bool is_object) {
    if (frames_.size() - 1 >= limits_.max_depth) return abort(AbortReason::kDepth);  // the root's frame not counted
    in_array_ = is_object ? kObjectFrame : kArrayFrame;
    frames_.push_back(in_array_);
    return true;
  }

  void close(size_t first) {
    size_ = first;
    frames_.pop_back();
    in_array_ = frames_.back();
  }

  // Places a finished value: into the pending member of an object (the slot Key() filled, stack_[size_ - 1]), or as
  // an array item or the root into the next free slot, which then counts (stack_[size_]). The slot and the count
  // come from the 0/1 frame flag, with no branch on the kind of the enclosing container: that branch follows the
  // document's own pattern of arrays and objects (callgrind's branch model missed it on about 80 of 530 values of the
  // IP CarePlan example; docs/performance.md).
  bool add(JsonValue value) {
    stack_[size_ - 1 + in_array_].value = value;
    size_ += in_array_;
    if (size_ == stack_.capacity()) [[unlikely]] stack_.grow();
    return true;
  }

  // In situ, a string is decoded from where it starts in the text, and every escape decodes to fewer bytes than it
  // spells; the reader calls String()/Key() with the stream just past the closing quote. So the decoded string is
  // shorter than its source exactly when it had an escape, and only then can it hold a surrogate's bytes (the text
  // itself is valid UTF-8): most strings skip the scan.
  bool hadEscape(const char* str, size_t length) const {
    return static_cast<size_t>(stream_.position() - 1 - str) != length;
  }

  bool hasDuplicateKey(size_t first) {
    const size_t count = size_ - first;
    if (count < 2) return false;
    // Pairwise up to 8 members (a size and first-byte test rejects nearly every pair); a table of the names' words
    // up to 64, where the pairs (n² / 2) cost more than hashing each name once; sorting above.
    if (count <= kPairwiseMembers) {
      for (size_t i = first; i < size_; ++i) {
        const std::string_view a = stack_[i].key;
        for (size_t j = i + 1; j < size_; ++j) {
          // Sizes and first bytes first: most pairs differ there, without a call to memcmp.
          const std::string_view b = stack_[j].key;
          if (a.size() == b.size() && (a.empty() || a[0] == b[0]) && a == b) {
            duplicate_key_ = stack_[i].key;
            return true;
          }
        }
      }
      return false;
    }
    if (count <= kHashedMembers) return hasDuplicateKeyHashed(first);
    keys_.clear();
    for (size_t i = first; i < size_; ++i) keys_.push_back(stack_[i].key);
    std::sort(keys_.begin(), keys_.end());
    const auto it = std::adjacent_find(keys_.begin(), keys_.end());
    if (it == keys_.end()) return false;
    duplicate_key_ = *it;
    return true;
  }

  // The members from `first` (at most kHashedMembers) into an open-addressing table of twice as many slots, by the
  // hash of their length and end words; a name is compared in full only with the names in its probe sequence.
  bool hasDuplicateKeyHashed(size_t first) {
    constexpr size_t kSlots = 2 * kHashedMembers;
    std::array<uint8_t, kSlots> slots{};  // 1 + the member's position from `first`; 0 is empty
    for (size_t i = first; i < size_; ++i) {
      const std::string_view key = stack_[i].key;
      const NameWords words = nameWords(key);
      const uint64_t h = (words.first ^ (words.last * 0x9E3779B97F4A7C15ull) ^ key.size()) * 0xFF51AFD7ED558CCDull;
      for (size_t at = static_cast<size_t>(h >> 57);; at = (at + 1) % kSlots) {
        if (slots[at] == 0) {
          slots[at] = static_cast<uint8_t>(i - first + 1);
          break;
        }
        const std::string_view other = stack_[first + slots[at] - 1].key;
        if (other.size() == key.size() && other == key) {
          duplicate_key_ = other;
          return true;
        }
      }
    }
    return false;
  }

  static constexpr size_t kPairwiseMembers = 8;
  static constexpr size_t kHashedMembers = 64;  // the table's 128 slots are indexed by the hash's top 7 bits

  bool abort(AbortReason reason) {
    abort_reason_ = reason;
    return false;
  }

  JsonDocument::Arena& arena_;
  const JsonLimits& limits_;
  const LineCountingInsituStream& stream_;
  // Storage for the pending members: not value-initialised (a std::vector of 256 members zeroed 8 KiB per parse, a
  // tenth of a small resource's parse). JsonMember is an implicit-lifetime type, and the storage comes from an
  // allocation function, so members exist in it as they are written.
  class PendingStorage {
   public:
    PendingStorage() : data_(allocate(kInitial)), capacity_(kInitial) {}
    JsonMember& operator[](size_t i) { return data_.get()[i]; }
    const JsonMember& operator[](size_t i) const { return data_.get()[i]; }
    JsonMember* data() { return data_.get(); }
    size_t capacity() const { return capacity_; }
    // Doubles the storage, keeping every entry (the pending ones and the free one above them).
    [[gnu::noinline]] void grow() {
      Owned bigger = allocate(2 * capacity_);
      std::memcpy(static_cast<void*>(bigger.get()), data_.get(), capacity_ * sizeof(JsonMember));
      data_ = std::move(bigger);
      capacity_ *= 2;
    }

   private:
    static constexpr size_t kInitial = 256;
    struct Release {
      void operator()(JsonMember* p) const { ::operator delete(p); }
    };
    using Owned = std::unique_ptr<JsonMember, Release>;
    static Owned allocate(size_t n) { return Owned(static_cast<JsonMember*>(::operator new(n * sizeof(JsonMember)))); }
    Owned data_;
    size_t capacity_;
  };

  // Pending members (objects) and items (arrays; their keys are not read), innermost last: the first size_ entries,
  // and always at least one free entry above them.
  PendingStorage stack_;
  size_t size_ = 0;
  std::vector<uint8_t> frames_;  // kObjectFrame or kArrayFrame per open container, above the root's kArrayFrame
  uint8_t in_array_ = kArrayFrame;  // frames_.back()
  std::vector<std::string_view> keys_;
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

  if (const size_t bad = firstInvalidUtf8(arena.text); bad != std::string_view::npos) {
    JsonErrorPosition where;
    where.offset = bad;
    const std::string_view before(arena.text.data(), bad);
    const size_t last_newline = before.rfind('\n');
    where.line = static_cast<size_t>(std::count(before.begin(), before.end(), '\n')) + 1;
    where.column = (last_newline == std::string_view::npos ? bad : bad - last_newline - 1) + 1;
    if (position != nullptr) *position = where;
    return invalidArgument("JSON syntax error at " + positionText(where) + ": invalid UTF-8 encoding.");
  }
  LineCountingInsituStream stream(arena.text.data(), arena.text.data() + arena.text.size());
  TreeHandler handler(arena, limits, stream);
  rapidjson::Reader reader;
  constexpr unsigned kFlags = rapidjson::kParseInsituFlag | rapidjson::kParseNumbersAsStringsFlag;
  // RapidJSON's recursive reader is about a third faster than its iterative one. Its recursion is bounded by the
  // depth limit (the handler stops the parse one level past it), so it is used only while that bound keeps the C++
  // stack small (measured: 256 levels need 96-128 KiB in a release build; json_document_test.cc runs them on a
  // 256 KiB stack); a larger configured limit gets the iterative reader, whose stack use does not grow.
  const rapidjson::ParseResult result = limits.max_depth <= kMaxRecursiveJsonDepth
                                            ? reader.Parse<kFlags>(stream, handler)
                                            : reader.Parse<kFlags | rapidjson::kParseIterativeFlag>(stream, handler);
  if (!result.IsError()) {
    // The reader takes a NUL byte for the end of the text: anything after an embedded NUL would go unread.
    if (stream.Tell() != arena.text.size()) {
      JsonErrorPosition where;
      where.offset = stream.Tell();
      where.line = stream.line();
      where.column = where.offset - stream.lineStart() + 1;
      if (position != nullptr) *position = where;
      return invalidArgument("JSON syntax error at " + positionText(where) + ": a NUL byte in the text.");
    }
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
    case AbortReason::kLoneSurrogate:
      return invalidArgument("JSON syntax error at " + positionText(where) +
                             ": a \\u escape names a lone UTF-16 surrogate (not a character).");
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
  // Member names are short and mostly differ in length or first byte: those are compared first. Names of up to
  // 16 bytes are then their two end words (name_words.h): no memcmp call and no byte loop.
  if (key.empty()) {
    for (const JsonMember& m : members()) {
      if (m.key.empty()) return &m.value;
    }
    return nullptr;
  }
  const char first = key[0];
  if (key.size() <= 16) {
    const NameWords want = nameWords(key);
    for (const JsonMember& m : members()) {
      if (m.key.size() != key.size() || m.key[0] != first) continue;
      const NameWords have = nameWords(m.key);
      if (have.first == want.first && have.last == want.last) return &m.value;
    }
    return nullptr;
  }
  for (const JsonMember& m : members()) {
    if (m.key.size() == key.size() && m.key[0] == first && std::memcmp(m.key.data(), key.data(), key.size()) == 0) {
      return &m.value;
    }
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
