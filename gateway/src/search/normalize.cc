// String normalisation and date ranges shared by the indexer and the query parser.
#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "planbro/fhir-model/model_info.h"
#include "planbro/fhir-model/norwegian_ids.h"
#include "planbro/gateway/search/indexer.h"

namespace planbro::gateway::search {
namespace {

// Lower-case base letter for U+00E0..U+00FF after case folding; '*' keeps the letter (æ ø å ð þ ÷ are letters or
// signs of their own in Nordic text, not accented forms).
constexpr std::string_view kLatin1Base = "aaaaa**ceeeeiiii*nooooo**uuuuy*y";
// U+0100..U+017F: the base letter of each; '*' marks the ligatures handled separately (Ĳ ĳ Œ œ).
constexpr std::string_view kLatinExtABase =
    "aaaaaa" "cccccccc" "dddd" "eeeeeeeeee" "gggggggg" "hhhh" "iiiiiiiiii" "**" "jj" "kkk" "llllllllll"
    "nnnnnnnnn" "oooooo" "**" "rrrrrr" "ssssssss" "tttttt" "uuuuuuuuuuuu" "ww" "yyy" "zzzzzz" "s";
static_assert(kLatin1Base.size() == 32);
static_assert(kLatinExtABase.size() == 128);

void appendUtf8(uint32_t cp, std::string& out) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Decodes one code point at text[i], advancing i. Invalid bytes decode as themselves (U+FFFD would lose them and the
// JSON parser has already rejected invalid UTF-8 in resources).
uint32_t nextCodePoint(std::string_view text, size_t& i) {
  auto b = static_cast<unsigned char>(text[i]);
  int len = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xE ? 3 : (b >> 3) == 0x1E ? 4 : 0;
  if (len == 0 || i + static_cast<size_t>(len) > text.size()) {
    ++i;
    return b;
  }
  uint32_t cp = len == 1 ? b : len == 2 ? (b & 0x1F) : len == 3 ? (b & 0x0F) : (b & 0x07);
  for (int k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3F);
  i += static_cast<size_t>(len);
  return cp;
}

bool isSpace(uint32_t cp) { return cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' || cp == 0xA0; }

bool parseDigits(std::string_view s, size_t pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (size_t k = 0; k < n; ++k) {
    char c = s[pos + k];
    if (c < '0' || c > '9') return false;
    out = out * 10 + (c - '0');
  }
  return true;
}

}  // namespace

std::string normalizeString(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool pending_space = false;
  size_t i = 0;
  while (i < text.size()) {
    uint32_t cp = nextCodePoint(text, i);
    if (isSpace(cp)) {
      pending_space = !out.empty();
      continue;
    }
    if (cp >= 0x300 && cp <= 0x36F) {
      // A combining ring above after a/A is the decomposed å, a letter of its own: compose it.
      if (cp == 0x30A && !out.empty() && out.back() == 'a') {
        out.pop_back();
        appendUtf8(0xE5, out);
      }
      continue;
    }
    if (pending_space) {
      out += ' ';
      pending_space = false;
    }
    if (cp < 0x80) {
      out += static_cast<char>(cp >= 'A' && cp <= 'Z' ? cp + 32 : cp);
    } else if (cp >= 0xC0 && cp <= 0xFF) {
      uint32_t lower = (cp <= 0xDE && cp != 0xD7) ? cp + 0x20 : cp;
      char base = lower >= 0xE0 ? kLatin1Base[lower - 0xE0] : '*';
      if (base == '*') {
        appendUtf8(lower, out);
      } else {
        out += base;
      }
    } else if (cp >= 0x100 && cp <= 0x17F) {
      char base = kLatinExtABase[cp - 0x100];
      if (base != '*') {
        out += base;
      } else {
        out += (cp == 0x132 || cp == 0x133) ? "ij" : "oe";
      }
    } else if ((cp >= 0x391 && cp <= 0x3A9 && cp != 0x3A2) || (cp >= 0x410 && cp <= 0x42F)) {
      appendUtf8(cp + 0x20, out);  // Greek and basic Cyrillic capitals
    } else if (cp >= 0x400 && cp <= 0x40F) {
      appendUtf8(cp + 0x50, out);
    } else {
      appendUtf8(cp, out);
    }
  }
  return out;
}

std::string ofTypeCode(std::string_view type_code, std::string_view value) {
  std::string out;
  out.reserve(type_code.size() + value.size() + 1);
  for (char c : type_code) {
    if (c == '|' || c == '\\') out += '\\';
    out += c;
  }
  out += '|';
  out += value;
  return out;
}

namespace {
void appendKeyPart(std::string& out, std::string_view part) {
  for (char c : part) {
    if (c == '|' || c == '$' || c == '\\') out += '\\';
    out += c;
  }
}
}  // namespace

std::string compositeParam(std::string_view code, std::string_view key) {
  std::string out(code);
  out += '$';
  out += key;
  return out;
}

std::vector<std::string> compositeKeys(const store::IndexRow& row) {
  std::vector<std::string> keys;
  std::string k;
  switch (row.kind) {
    case store::IndexValueKind::kToken:
      appendKeyPart(k, row.code);
      keys.push_back(k);
      k.clear();
      appendKeyPart(k, row.system);
      k += '|';
      appendKeyPart(k, row.code);
      keys.push_back(std::move(k));
      break;
    case store::IndexValueKind::kReference:
      if (!row.ref_id.empty()) {
        appendKeyPart(k, row.ref_type);
        k += '/';
        appendKeyPart(k, row.ref_id);
        keys.push_back(std::move(k));
        k.clear();
        appendKeyPart(k, row.ref_id);
        keys.push_back(std::move(k));
      } else if (!row.text.empty()) {
        appendKeyPart(k, row.text);
        keys.push_back(std::move(k));
      }
      break;
    default:
      break;  // other first components are not keys
  }
  return keys;
}

std::string_view canonicalTokenSystem(std::string_view system) {
  if (system.empty()) return system;
  std::optional<fhir::no::IdentifierSystem> kind = fhir::no::identifierSystemFor(system);
  if (!kind) return system;
  std::string_view preferred = fhir::no::preferredSystemUri(*kind);
  return preferred.empty() ? system : preferred;
}

std::optional<std::pair<std::string, std::string>> relativeToBase(std::string_view url, std::string_view base) {
  if (base.empty() || url.size() <= base.size() + 1 || !url.starts_with(base) || url[base.size()] != '/') {
    return std::nullopt;
  }
  std::string_view rest = url.substr(base.size() + 1);
  if (size_t h = rest.find("/_history/"); h != std::string_view::npos) rest = rest.substr(0, h);
  const size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  std::string_view type = rest.substr(0, slash);
  std::string_view id = rest.substr(slash + 1);
  if (!fhir::ModelInfo::r4().isResourceType(type) || id.empty() || id.find('/') != std::string_view::npos) {
    return std::nullopt;
  }
  return std::make_pair(std::string(type), std::string(id));
}

ReferenceRowShape referenceRowShape(std::string_view ref) {
  ReferenceRowShape shape;
  if (ref.empty() || ref[0] == '#') return shape;
  shape.kind = ReferenceRowShape::Kind::kText;
  if (ref.find("://") != std::string_view::npos || ref.starts_with("urn:")) return shape;
  if (size_t h = ref.find("/_history/"); h != std::string_view::npos) ref = ref.substr(0, h);
  const size_t slash = ref.find('/');
  if (slash == std::string_view::npos || ref.find('/', slash + 1) != std::string_view::npos) return shape;
  shape.type = ref.substr(0, slash);
  shape.id = ref.substr(slash + 1);
  shape.kind = shape.type.empty() || shape.id.empty() ? ReferenceRowShape::Kind::kNone : ReferenceRowShape::Kind::kTyped;
  return shape;
}

std::optional<DateRange> parseDateRange(std::string_view s) {
  using namespace std::chrono;
  int year = 0, month = 1, day = 1, hour = 0, minute = 0, second = 0;
  if (!parseDigits(s, 0, 4, year)) return std::nullopt;
  size_t pos = 4;
  enum { kYear, kMonth, kDay, kMinute, kSecond } precision = kYear;
  int64_t fraction_micros = 0;
  int64_t fraction_span = 1'000'000;
  if (pos < s.size()) {
    if (s[pos] != '-' || !parseDigits(s, pos + 1, 2, month)) return std::nullopt;
    pos += 3;
    precision = kMonth;
  }
  if (pos < s.size()) {
    if (s[pos] != '-' || !parseDigits(s, pos + 1, 2, day)) return std::nullopt;
    pos += 3;
    precision = kDay;
  }
  int64_t offset_minutes = 0;
  if (pos < s.size()) {
    if (s[pos] != 'T' || !parseDigits(s, pos + 1, 2, hour) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !parseDigits(s, pos + 4, 2, minute)) {
      return std::nullopt;
    }
    pos += 6;
    precision = kMinute;
    if (pos < s.size() && s[pos] == ':') {
      if (!parseDigits(s, pos + 1, 2, second)) return std::nullopt;
      pos += 3;
      precision = kSecond;
      if (pos < s.size() && s[pos] == '.') {
        ++pos;
        size_t digits = 0;
        int64_t value = 0;
        while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
          if (digits < 6) {
            value = value * 10 + (s[pos] - '0');
            fraction_span /= 10;
          }
          ++digits;
          ++pos;
        }
        if (digits == 0) return std::nullopt;
        fraction_micros = value * fraction_span;
      }
    }
    if (pos < s.size()) {
      if (s[pos] == 'Z' && pos + 1 == s.size()) {
        pos += 1;
      } else if ((s[pos] == '+' || s[pos] == '-') && pos + 6 == s.size() && s[pos + 3] == ':') {
        int oh = 0, om = 0;
        if (!parseDigits(s, pos + 1, 2, oh) || !parseDigits(s, pos + 4, 2, om) || oh > 14 || om > 59) {
          return std::nullopt;
        }
        offset_minutes = (oh * 60 + om) * (s[pos] == '-' ? -1 : 1);
        pos += 6;
      } else {
        return std::nullopt;
      }
    }
    if (hour > 23 || minute > 59 || second > 60) return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  year_month_day ymd{std::chrono::year(year), std::chrono::month(static_cast<unsigned>(month)),
                     std::chrono::day(static_cast<unsigned>(day))};
  if (!ymd.ok()) return std::nullopt;
  const int64_t kDayMicros = 86'400'000'000;
  auto daysOf = [](year_month_day d) { return static_cast<int64_t>(sys_days(d).time_since_epoch().count()); };
  int64_t start = daysOf(ymd) * kDayMicros;
  switch (precision) {
    case kYear: {
      year_month_day next{std::chrono::year(year + 1), January, std::chrono::day(1)};
      return DateRange{start, daysOf(next) * kDayMicros - 1};
    }
    case kMonth: {
      year_month_day next = ymd + months(1);
      return DateRange{start, daysOf(next) * kDayMicros - 1};
    }
    case kDay:
      return DateRange{start, start + kDayMicros - 1};
    case kMinute:
    case kSecond: {
      int64_t t = start + (int64_t{hour} * 3600 + int64_t{minute} * 60 + second) * 1'000'000 + fraction_micros -
                  offset_minutes * 60'000'000;
      int64_t span = precision == kMinute ? 60'000'000 : fraction_span;
      return DateRange{t, t + span - 1};
    }
  }
  return std::nullopt;
}

}  // namespace planbro::gateway::search
