#include "primitive_checks.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <algorithm>
#include <array>
#include <cstring>
#include <utility>

namespace planbro::fhir::validation {
namespace {

bool isDigit(char c) { return c >= '0' && c <= '9'; }
bool isRegexSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// Reads exactly `n` digits at `pos` into `value`.
bool readDigits(std::string_view s, size_t pos, size_t n, int& value) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = 0; i < n; ++i) {
    char c = s[pos + i];
    if (!isDigit(c)) return false;
    v = v * 10 + (c - '0');
  }
  value = v;
  return true;
}

bool isLeapYear(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int daysInMonth(int y, int m) {
  static constexpr std::array<int, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m == 2 && isLeapYear(y)) return 29;
  return kDays[static_cast<size_t>(m - 1)];
}

// Parses the date part (YYYY, YYYY-MM or YYYY-MM-DD) at the start of `s`; returns the number of characters read
// and how many components were present, or 0 when invalid.
size_t parseDatePart(std::string_view s, int& components) {
  int year = 0;
  if (!readDigits(s, 0, 4, year) || year == 0) return 0;
  components = 1;
  if (s.size() == 4 || s[4] != '-') return 4;
  int month = 0;
  if (!readDigits(s, 5, 2, month) || month < 1 || month > 12) return 0;
  components = 2;
  if (s.size() == 7 || s[7] != '-') return 7;
  int day = 0;
  if (!readDigits(s, 8, 2, day) || day < 1 || day > daysInMonth(year, month)) return 0;
  components = 3;
  return 10;
}

// Parses hh:mm:ss(.fff)? at `pos`; returns the position after it, or 0 when invalid.
size_t parseTimePart(std::string_view s, size_t pos) {
  int h = 0;
  int m = 0;
  int sec = 0;
  if (!readDigits(s, pos, 2, h) || h > 23) return 0;
  if (pos + 2 >= s.size() || s[pos + 2] != ':') return 0;
  if (!readDigits(s, pos + 3, 2, m) || m > 59) return 0;
  if (pos + 5 >= s.size() || s[pos + 5] != ':') return 0;
  if (!readDigits(s, pos + 6, 2, sec) || sec > 60) return 0;
  size_t p = pos + 8;
  if (p < s.size() && s[p] == '.') {
    ++p;
    size_t start = p;
    while (p < s.size() && isDigit(s[p])) ++p;
    if (p == start) return 0;
  }
  return p;
}

// Z or (+|-)hh:mm with hh 00..13 or 14:00, ending the string.
bool isZoneAt(std::string_view s, size_t pos) {
  if (pos >= s.size()) return false;
  if (s[pos] == 'Z') return pos + 1 == s.size();
  if (s[pos] != '+' && s[pos] != '-') return false;
  int h = 0;
  int m = 0;
  if (pos + 6 != s.size()) return false;
  if (!readDigits(s, pos + 1, 2, h) || s[pos + 3] != ':' || !readDigits(s, pos + 4, 2, m)) return false;
  if (m > 59) return false;
  return h < 14 || (h == 14 && m == 0);
}

// Unsigned digits without leading zeros (except "0"), value <= max.
bool isBoundedUnsigned(std::string_view s, uint64_t max) {
  if (s.empty() || s.size() > 10) return false;
  if (s.size() > 1 && s[0] == '0') return false;
  uint64_t v = 0;
  for (char c : s) {
    if (!isDigit(c)) return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v <= max;
}

constexpr uint64_t kInt32Max = 2147483647ULL;

// firstByteAtOrBelow for fewer than 16 bytes, without a loop over them: a per-byte loop ended at a different byte of
// every short string (codes, ids, dates), one mispredicted branch per value checked. Two overlapping words (of eight
// or four bytes) cover the string; a byte at or below `limit` (at most 0x7F) sets the top bit of its byte lane in
// (w - ones * (limit + 1)) & ~w, exactly for the lowest such lane (a borrow only reaches lanes above it), so the
// lowest set bit gives the first hit. Loads stay inside the string.
size_t firstByteAtOrBelowShort(const char* p, size_t n, uint8_t limit) {
  if (limit >= 0x80) {
    for (size_t i = 0; i < n; ++i) {
      if (static_cast<unsigned char>(p[i]) <= limit) return i;
    }
    return n;
  }
  constexpr uint64_t kOnes = 0x0101010101010101ull;
  constexpr uint64_t kHighs = 0x8080808080808080ull;
  auto firstLane = [&](uint64_t w) -> size_t {
    const uint64_t hits = (w - kOnes * (uint64_t{limit} + 1)) & ~w & kHighs;
    return hits == 0 ? 8 : static_cast<size_t>(__builtin_ctzll(hits)) / 8;
  };
  if (n >= 8) {
    uint64_t a;
    uint64_t b;
    std::memcpy(&a, p, 8);
    std::memcpy(&b, p + n - 8, 8);
    if (const size_t lane = firstLane(a); lane < 8) return lane;
    const size_t lane = firstLane(b);
    return lane < 8 ? n - 8 + lane : n;
  }
  if (n >= 4) {
    uint32_t a;
    uint32_t b;
    std::memcpy(&a, p, 4);
    std::memcpy(&b, p + n - 4, 4);
    const size_t lane = firstLane(uint64_t{a} | uint64_t{b} << 32);
    if (lane < 4) return lane;
    return lane < 8 ? n - 8 + lane : n;  // lane 4..7 is byte n - 4 .. n - 1
  }
  if (n == 0) return 0;
  // Bytes 0, n / 2 and n - 1 (the whole string of one to three bytes, in order) and 0xFF lanes above them.
  const uint64_t w = static_cast<uint64_t>(static_cast<unsigned char>(p[0])) |
                     static_cast<uint64_t>(static_cast<unsigned char>(p[n / 2])) << 8 |
                     static_cast<uint64_t>(static_cast<unsigned char>(p[n - 1])) << 16 | 0xFFFFFFFFFF000000ull;
  const size_t lane = firstLane(w);
  const size_t at[4] = {0, n / 2, n - 1, n};
  return at[lane < 3 ? lane : 3];
}

// Position of the first byte at or below `limit` (unsigned), or s.size(). Whitespace and control characters are
// all <= 0x20, and the strings of a resource almost never hold one, so the text checks below scan for that class
// 16 bytes at a time and run their exact per-byte rules only from the first hit on.
[[gnu::always_inline]] inline size_t firstByteAtOrBelow(std::string_view s, uint8_t limit) {
  const size_t n = s.size();
  const char* p = s.data();
#if defined(__SSE2__)
  if (n >= 16) {
    const __m128i bound = _mm_set1_epi8(static_cast<char>(limit));
    // min(v, limit) == v exactly for the bytes <= limit.
    auto hitsAt = [&](size_t at) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + at));
      return static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_min_epu8(v, bound), v)));
    };
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
      if (const unsigned hits = hitsAt(i); hits != 0) return i + static_cast<size_t>(__builtin_ctz(hits));
    }
    if (i == n) return n;
    // The tail by one block ending at the last byte: the bytes it shares with the blocks before hold no hit.
    const unsigned hits = hitsAt(n - 16);
    return hits != 0 ? n - 16 + static_cast<size_t>(__builtin_ctz(hits)) : n;
  }
#endif
  return firstByteAtOrBelowShort(p, n, limit);
}

}  // namespace

std::optional<PrimitiveKind> primitiveKindFor(std::string_view t) {
  static constexpr std::array<std::pair<std::string_view, PrimitiveKind>, 20> kNames = {{
      {"base64Binary", PrimitiveKind::kBase64Binary}, {"boolean", PrimitiveKind::kBoolean},
      {"canonical", PrimitiveKind::kCanonical},       {"code", PrimitiveKind::kCode},
      {"date", PrimitiveKind::kDate},                 {"dateTime", PrimitiveKind::kDateTime},
      {"decimal", PrimitiveKind::kDecimal},           {"id", PrimitiveKind::kId},
      {"instant", PrimitiveKind::kInstant},           {"integer", PrimitiveKind::kInteger},
      {"markdown", PrimitiveKind::kMarkdown},         {"oid", PrimitiveKind::kOid},
      {"positiveInt", PrimitiveKind::kPositiveInt},   {"string", PrimitiveKind::kString},
      {"time", PrimitiveKind::kTime},                 {"unsignedInt", PrimitiveKind::kUnsignedInt},
      {"uri", PrimitiveKind::kUri},                   {"url", PrimitiveKind::kUrl},
      {"uuid", PrimitiveKind::kUuid},                 {"xhtml", PrimitiveKind::kXhtml},
  }};
  if (t.size() <= 12) {
    for (const auto& [name, kind] : kNames) {
      if (name.size() == t.size() && name[0] == t[0] && name == t) return kind;
    }
    return std::nullopt;
  }
  if (t == "base64Binary") return PrimitiveKind::kBase64Binary;
  constexpr std::string_view kSystem = "http://hl7.org/fhirpath/System.";
  if (t.starts_with(kSystem)) {
    std::string_view rest = t.substr(kSystem.size());
    if (rest == "String") return PrimitiveKind::kString;
    if (rest == "Boolean") return PrimitiveKind::kBoolean;
    if (rest == "Integer") return PrimitiveKind::kInteger;
    if (rest == "Decimal") return PrimitiveKind::kDecimal;
    if (rest == "Date") return PrimitiveKind::kDate;
    if (rest == "DateTime") return PrimitiveKind::kDateTime;
    if (rest == "Time") return PrimitiveKind::kTime;
    return PrimitiveKind::kString;
  }
  return std::nullopt;
}

bool isValidId(std::string_view s) {
  // One table load per character instead of five range tests: ids are checked on every reference and resource.
  static constexpr auto kIdChar = [] {
    std::array<bool, 256> t{};
    for (int c = 'A'; c <= 'Z'; ++c) t[static_cast<size_t>(c)] = true;
    for (int c = 'a'; c <= 'z'; ++c) t[static_cast<size_t>(c)] = true;
    for (int c = '0'; c <= '9'; ++c) t[static_cast<size_t>(c)] = true;
    t['-'] = true;
    t['.'] = true;
    return t;
  }();
  if (s.empty() || s.size() > 64) return false;
#if defined(__SSE2__)
  // Ids of 16 bytes or more (most: generated ids, UUIDs) 16 at a time, the last block overlapping the one before.
  if (s.size() >= 16) {
    const char* p = s.data();
    const size_t n = s.size();
    auto blockOk = [](const char* at) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(at));
      // Signed compares: bytes of 0x80 and above are negative, below every bound, and fail every range.
      const __m128i lower = _mm_or_si128(v, _mm_set1_epi8(0x20));
      const __m128i letter = _mm_and_si128(_mm_cmpgt_epi8(lower, _mm_set1_epi8('a' - 1)),
                                           _mm_cmplt_epi8(lower, _mm_set1_epi8('z' + 1)));
      const __m128i digit = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('0' - 1)),
                                          _mm_cmplt_epi8(v, _mm_set1_epi8('9' + 1)));
      const __m128i mark = _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('-')), _mm_cmpeq_epi8(v, _mm_set1_epi8('.')));
      return _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(letter, digit), mark)) == 0xFFFF;
    };
    bool ok = true;
    size_t i = 0;
    for (; i + 16 <= n; i += 16) ok &= blockOk(p + i);
    if (i < n) ok &= blockOk(p + n - 16);
    return ok;
  }
#endif
  bool ok = true;
  for (char c : s) ok &= kIdChar[static_cast<unsigned char>(c)];
  return ok;
}

bool isValidDate(std::string_view s) {
  int components = 0;
  size_t n = parseDatePart(s, components);
  return n != 0 && n == s.size();
}

bool isValidDateTime(std::string_view s) {
  int components = 0;
  size_t n = parseDatePart(s, components);
  if (n == 0) return false;
  if (n == s.size()) return true;
  if (components != 3 || s[n] != 'T') return false;
  size_t p = parseTimePart(s, n + 1);
  return p != 0 && isZoneAt(s, p);
}

bool isValidInstant(std::string_view s) {
  int components = 0;
  size_t n = parseDatePart(s, components);
  if (n == 0 || components != 3 || n == s.size() || s[n] != 'T') return false;
  size_t p = parseTimePart(s, n + 1);
  return p != 0 && isZoneAt(s, p);
}

bool isValidTime(std::string_view s) {
  size_t p = parseTimePart(s, 0);
  return p != 0 && p == s.size();
}

bool isValidDecimal(std::string_view s) {
  size_t p = 0;
  if (p < s.size() && s[p] == '-') ++p;
  if (p >= s.size() || !isDigit(s[p])) return false;
  if (s[p] == '0') {
    ++p;
  } else {
    while (p < s.size() && isDigit(s[p])) ++p;
  }
  if (p < s.size() && s[p] == '.') {
    ++p;
    size_t start = p;
    while (p < s.size() && isDigit(s[p])) ++p;
    if (p == start) return false;
  }
  if (p < s.size() && (s[p] == 'e' || s[p] == 'E')) {
    ++p;
    if (p < s.size() && (s[p] == '+' || s[p] == '-')) ++p;
    size_t start = p;
    while (p < s.size() && isDigit(s[p])) ++p;
    if (p == start) return false;
  }
  return p == s.size();
}

bool isValidInteger32(std::string_view s) {
  if (!s.empty() && s[0] == '-') return isBoundedUnsigned(s.substr(1), kInt32Max + 1);
  return isBoundedUnsigned(s, kInt32Max);
}

bool isValidOid(std::string_view s) {
  constexpr std::string_view kPrefix = "urn:oid:";
  if (!s.starts_with(kPrefix)) return false;
  s.remove_prefix(kPrefix.size());
  if (s.size() < 3 || s[0] < '0' || s[0] > '2' || s[1] != '.') return false;
  size_t p = 1;
  int arcs = 0;
  while (p < s.size()) {
    if (s[p] != '.') return false;
    ++p;
    size_t start = p;
    while (p < s.size() && isDigit(s[p])) ++p;
    if (p == start) return false;
    if (s[start] == '0' && p - start > 1) return false;
    ++arcs;
  }
  return arcs >= 1;
}

bool isValidUuid(std::string_view s) {
  constexpr std::string_view kPrefix = "urn:uuid:";
  if (!s.starts_with(kPrefix)) return false;
  s.remove_prefix(kPrefix.size());
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!isDigit(c) && !(c >= 'a' && c <= 'f')) {
      return false;
    }
  }
  return true;
}

bool isValidBase64(std::string_view s) {
  // 0: invalid, 1: alphabet, 2: '=', 3: whitespace. A table keeps this loop branch-light on large attachments.
  static constexpr auto kClass = [] {
    std::array<uint8_t, 256> t{};
    for (int c = 'A'; c <= 'Z'; ++c) t[static_cast<size_t>(c)] = 1;
    for (int c = 'a'; c <= 'z'; ++c) t[static_cast<size_t>(c)] = 1;
    for (int c = '0'; c <= '9'; ++c) t[static_cast<size_t>(c)] = 1;
    t['+'] = 1;
    t['/'] = 1;
    t['='] = 2;
    for (char c : {' ', '\t', '\n', '\r', '\f', '\v'}) t[static_cast<unsigned char>(c)] = 3;
    return t;
  }();
  size_t i = 0;
  const size_t n = s.size();
  // Bulk of an attachment: 16 alphabet bytes at a time, without a branch per byte (the flags are OR-ed, then tested
  // once). Stops at the first block holding anything else; the exact loop below takes over from there.
#if defined(__SSE2__)
  // With SSE2: byte ranges compared 16 at a time (signed compares: bytes above 0x7F are negative, below every range).
  {
    auto in = [](__m128i v, char lo, char hi) {
      return _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8(static_cast<char>(lo - 1))),
                           _mm_cmplt_epi8(v, _mm_set1_epi8(static_cast<char>(hi + 1))));
    };
    const __m128i plus = _mm_set1_epi8('+');
    const __m128i slash = _mm_set1_epi8('/');
    while (i + 16 <= n) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s.data() + i));
      const __m128i ok = _mm_or_si128(_mm_or_si128(_mm_or_si128(in(v, 'A', 'Z'), in(v, 'a', 'z')), in(v, '0', '9')),
                                      _mm_or_si128(_mm_cmpeq_epi8(v, plus), _mm_cmpeq_epi8(v, slash)));
      if (_mm_movemask_epi8(ok) != 0xFFFF) break;
      i += 16;
    }
  }
#endif
  while (i + 16 <= n) {
    uint8_t other = 0;
    for (size_t k = 0; k < 16; ++k) other |= static_cast<uint8_t>(kClass[static_cast<unsigned char>(s[i + k])] != 1);
    if (other != 0) break;
    i += 16;
  }
  size_t chars = i;
  for (; i < n; ++i) {
    uint8_t k = kClass[static_cast<unsigned char>(s[i])];
    if (k == 1) {
      ++chars;
    } else if (k == 2) {
      break;
    } else if (k == 0) {
      return false;
    }
  }
  size_t padding = 0;
  for (; i < n; ++i) {
    uint8_t k = kClass[static_cast<unsigned char>(s[i])];
    if (k == 2) {
      if (++padding > 2) return false;
    } else if (k != 3) {
      return false;  // data after padding
    }
  }
  return chars > 0 || padding == 0;
}

bool isValidCode(std::string_view s) {
  if (s.empty() || isRegexSpace(s.front()) || isRegexSpace(s.back())) return false;
  const size_t first_space = firstByteAtOrBelow(s, 0x20);
  for (size_t i = std::max<size_t>(first_space, 1); i < s.size(); ++i) {
    if (isRegexSpace(s[i]) && isRegexSpace(s[i - 1])) return false;
  }
  return true;
}

bool isValidStringChars(std::string_view s) {
  for (char c : s.substr(firstByteAtOrBelow(s, 0x1F))) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 && c != '\t' && c != '\r' && c != '\n') return false;
  }
  return true;
}

bool isAbsoluteUri(std::string_view s) {
  size_t colon = s.find(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  char first = s[0];
  if (!((first >= 'a' && first <= 'z') || (first >= 'A' && first <= 'Z'))) return false;
  for (size_t i = 1; i < colon; ++i) {
    char c = s[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || isDigit(c) || c == '+' || c == '-' || c == '.';
    if (!ok) return false;
  }
  if (colon + 1 >= s.size()) return false;
  for (char c : s.substr(firstByteAtOrBelow(s, 0x20))) {
    if (isRegexSpace(c)) return false;
  }
  return true;
}

const char* checkPrimitive(PrimitiveKind kind, std::string_view text) {
  switch (kind) {
    case PrimitiveKind::kBoolean:
      return (text == "true" || text == "false") ? nullptr : "is not a boolean";
    case PrimitiveKind::kInteger:
      return isValidInteger32(text) ? nullptr : "is not a valid integer (32-bit signed, no fraction or exponent)";
    case PrimitiveKind::kUnsignedInt:
      return isBoundedUnsigned(text, kInt32Max) ? nullptr : "is not a valid unsignedInt (0..2147483647)";
    case PrimitiveKind::kPositiveInt:
      return (isBoundedUnsigned(text, kInt32Max) && text != "0") ? nullptr
                                                                  : "is not a valid positiveInt (1..2147483647)";
    case PrimitiveKind::kDecimal:
      return isValidDecimal(text) ? nullptr : "is not a valid decimal";
    case PrimitiveKind::kDate:
      return isValidDate(text) ? nullptr : "is not a valid date (YYYY, YYYY-MM or YYYY-MM-DD, a real calendar date)";
    case PrimitiveKind::kDateTime:
      if (isValidDateTime(text)) return nullptr;
      if (text.size() > 10 && text[10] == 'T' && isValidDate(text.substr(0, 10))) {
        return "is not a valid dateTime: a dateTime with a time must have seconds and a timezone";
      }
      return "is not a valid dateTime";
    case PrimitiveKind::kInstant:
      return isValidInstant(text) ? nullptr : "is not a valid instant (full date, time with seconds, and timezone)";
    case PrimitiveKind::kTime:
      return isValidTime(text) ? nullptr : "is not a valid time (hh:mm:ss)";
    case PrimitiveKind::kId:
      return isValidId(text) ? nullptr : "is not a valid id (1-64 characters of A-Z, a-z, 0-9, '-' and '.')";
    case PrimitiveKind::kOid:
      return isValidOid(text) ? nullptr : "is not a valid oid (urn:oid:...)";
    case PrimitiveKind::kUuid:
      return isValidUuid(text) ? nullptr : "is not a valid uuid (urn:uuid: and lower-case hex)";
    case PrimitiveKind::kBase64Binary:
      return isValidBase64(text) ? nullptr : "is not a valid base64 value";
    case PrimitiveKind::kCode:
      return isValidCode(text) ? nullptr : "is not a valid code (no leading, trailing or repeated whitespace)";
    case PrimitiveKind::kUri:
    case PrimitiveKind::kUrl:
    case PrimitiveKind::kCanonical:
      for (char c : text.substr(firstByteAtOrBelow(text, 0x20))) {
        // Whitespace and control characters are all <= 0x20: the scan above skips to the first of them.
        if (static_cast<unsigned char>(c) <= 0x20) {
          return c == ' ' || isRegexSpace(c) ? "is not a valid URI (contains whitespace)"
                                             : "contains control characters";
        }
      }
      return nullptr;
    case PrimitiveKind::kString:
    case PrimitiveKind::kMarkdown:
      return isValidStringChars(text) ? nullptr : "contains control characters";
    case PrimitiveKind::kXhtml:
    case PrimitiveKind::kUnknown:
      return nullptr;
  }
  return nullptr;
}

}  // namespace planbro::fhir::validation
