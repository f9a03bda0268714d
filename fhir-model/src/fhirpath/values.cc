// Exact decimals (128-bit mantissa) because FHIR decimals keep their precision (1.10 ≠ 1.1 in text, = in value) and
// binary floating point cannot represent 0.1; partial-precision dates per FHIRPath §2.1.20; a small UCUM subset.
#include "values.h"

#include <cmath>
#include <cstdio>
#include <cstring>

namespace planbro::fhir::fhirpath {
namespace {

constexpr int kMaxScale = 36;

Int128 pow10(int n) {
  Int128 r = 1;
  for (int i = 0; i < n; ++i) r *= 10;
  return r;
}

Int128 absI(Int128 v) { return v < 0 ? -v : v; }

// Raises a's scale to `scale` (scale ≥ a.scale); false on overflow.
bool rescale(const Decimal& a, int scale, Int128& out) {
  Int128 m = a.mantissa;
  for (int i = a.scale; i < scale; ++i) {
    if (__builtin_mul_overflow(m, static_cast<Int128>(10), &m)) return false;
  }
  out = m;
  return true;
}

// Reduces scale by dropping digits with half-away-from-zero rounding until it fits kMaxScale.
Decimal clampScale(Decimal d, int max_scale = kMaxScale) {
  while (d.scale > max_scale) {
    Int128 q = d.mantissa / 10;
    Int128 r = d.mantissa % 10;
    if (r >= 5) ++q;
    if (r <= -5) --q;
    d.mantissa = q;
    --d.scale;
  }
  return d;
}

}  // namespace

std::optional<Decimal> Decimal::parse(std::string_view text) {
  if (text.empty()) return std::nullopt;
  size_t i = 0;
  bool neg = false;
  if (text[0] == '+' || text[0] == '-') {
    neg = text[0] == '-';
    ++i;
  }
  Decimal d;
  int digits = 0;
  bool seen_dot = false, seen_digit = false;
  for (; i < text.size(); ++i) {
    char c = text[i];
    if (c == '.') {
      if (seen_dot || !seen_digit) return std::nullopt;
      seen_dot = true;
      if (i + 1 >= text.size()) return std::nullopt;
      continue;
    }
    if (c < '0' || c > '9') return std::nullopt;
    seen_digit = true;
    if (d.mantissa != 0 || c != '0') ++digits;
    if (digits > kMaxScale) return std::nullopt;
    d.mantissa = d.mantissa * 10 + (c - '0');
    if (seen_dot) ++d.scale;
  }
  if (!seen_digit) return std::nullopt;
  if (neg) d.mantissa = -d.mantissa;
  return d;
}

std::string Decimal::toString() const {
  Int128 m = absI(mantissa);
  std::string digits;
  do {
    digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(m % 10)));
    m /= 10;
  } while (m != 0);
  while (static_cast<int>(digits.size()) <= scale) digits.insert(digits.begin(), '0');
  if (scale > 0) digits.insert(digits.end() - scale, '.');
  if (mantissa < 0) digits.insert(digits.begin(), '-');
  return digits;
}

double Decimal::toDouble() const {
  return static_cast<double>(mantissa) / std::pow(10.0, scale);
}

int compare(const Decimal& a, const Decimal& b) {
  int s = std::max(a.scale, b.scale);
  Int128 x, y;
  if (rescale(a, s, x) && rescale(b, s, y)) return x < y ? -1 : x > y ? 1 : 0;
  double dx = a.toDouble(), dy = b.toDouble();
  return dx < dy ? -1 : dx > dy ? 1 : 0;
}

std::optional<Decimal> decimalAdd(const Decimal& a, const Decimal& b) {
  int s = std::max(a.scale, b.scale);
  Int128 x, y, r;
  if (!rescale(a, s, x) || !rescale(b, s, y) || __builtin_add_overflow(x, y, &r)) return std::nullopt;
  return Decimal{r, s};
}

std::optional<Decimal> decimalSub(const Decimal& a, const Decimal& b) {
  Decimal nb{-b.mantissa, b.scale};
  return decimalAdd(a, nb);
}

std::optional<Decimal> decimalMul(const Decimal& a, const Decimal& b) {
  Int128 r;
  if (__builtin_mul_overflow(a.mantissa, b.mantissa, &r)) {
    // Drop precision and retry once with doubles' worth of digits.
    Decimal x = clampScale(a, std::min(a.scale, 12)), y = clampScale(b, std::min(b.scale, 12));
    if (__builtin_mul_overflow(x.mantissa, y.mantissa, &r)) return std::nullopt;
    return clampScale(Decimal{r, x.scale + y.scale});
  }
  return clampScale(Decimal{r, a.scale + b.scale});
}

std::optional<Decimal> decimalDiv(const Decimal& a, const Decimal& b) {
  if (b.mantissa == 0) return std::nullopt;
  // a/b = (a.m * 10^k / b.m) * 10^-(a.s + k - b.s); choose k for 16 fractional digits.
  constexpr int kResultScale = 16;
  int k = kResultScale + b.scale - a.scale;
  Int128 num = a.mantissa;
  int result_scale = kResultScale;
  if (k < 0) {
    Int128 den = b.mantissa;
    for (int i = 0; i < -k; ++i) {
      if (__builtin_mul_overflow(den, static_cast<Int128>(10), &den)) return std::nullopt;
    }
    Int128 q = num / den;
    return decimalNormalize(Decimal{q, result_scale});
  }
  for (int i = 0; i < k; ++i) {
    if (__builtin_mul_overflow(num, static_cast<Int128>(10), &num)) return std::nullopt;
  }
  Int128 q = num / b.mantissa;
  Int128 r = num % b.mantissa;
  if (absI(r) * 2 >= absI(b.mantissa)) q += ((num < 0) != (b.mantissa < 0)) ? -1 : 1;
  return decimalNormalize(Decimal{q, result_scale});
}

Decimal decimalNormalize(Decimal d) {
  while (d.scale > 0 && d.mantissa % 10 == 0) {
    d.mantissa /= 10;
    --d.scale;
  }
  return d;
}

Decimal decimalRound(const Decimal& d, int digits) {
  if (digits >= d.scale) return d;
  return clampScale(d, digits);
}

Decimal decimalTruncate(const Decimal& d) {
  return Decimal{d.mantissa / pow10(d.scale), 0};
}

Decimal decimalFloor(const Decimal& d) {
  Decimal t = decimalTruncate(d);
  if (d.mantissa < 0 && t.mantissa * pow10(d.scale) != d.mantissa) t.mantissa -= 1;
  return t;
}

Decimal decimalCeiling(const Decimal& d) {
  Decimal t = decimalTruncate(d);
  if (d.mantissa > 0 && t.mantissa * pow10(d.scale) != d.mantissa) t.mantissa += 1;
  return t;
}

std::optional<Decimal> decimalFromDouble(double v) {
  if (!std::isfinite(v)) return std::nullopt;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.15f", v);
  auto d = Decimal::parse(buf);
  if (!d) return std::nullopt;
  // Keep 15 significant digits at most: trim noise like 0.30000000000000004.
  return decimalNormalize(decimalRound(*d, 14));
}

bool decimalIsInteger(const Decimal& d) { return d.scale == 0 || d.mantissa % pow10(d.scale) == 0; }

std::optional<int64_t> decimalToInt64(const Decimal& d) {
  Int128 v = d.mantissa / pow10(d.scale);
  if (v > INT64_MAX || v < INT64_MIN) return std::nullopt;
  return static_cast<int64_t>(v);
}

// ---------------------------------------------------------------------------------------------- dates and times

namespace {

bool digitsAt(std::string_view s, size_t pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = 0; i < n; ++i) {
    char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  out = v;
  return true;
}

int daysInMonth(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return 29;
  return kDays[(m - 1) % 12];
}

// Howard Hinnant's days-from-civil algorithm (public domain description).
int64_t daysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void civilFromDays(int64_t z, int32_t& y, uint8_t& m, uint8_t& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t yy = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = static_cast<uint8_t>(doy - (153 * mp + 2) / 5 + 1);
  m = static_cast<uint8_t>(mp < 10 ? mp + 3 : mp - 9);
  y = static_cast<int32_t>(yy + (m <= 2));
}

// Parses "hh[:mm[:ss[.fff]]]" starting at pos into d; returns the position after it, or npos.
size_t parseClock(std::string_view s, size_t pos, DateTime& d) {
  int v;
  if (!digitsAt(s, pos, 2, v) || v > 23) return std::string_view::npos;
  d.hour = static_cast<uint8_t>(v);
  d.precision = DateTime::kHour;
  pos += 2;
  if (pos < s.size() && s[pos] == ':') {
    if (!digitsAt(s, pos + 1, 2, v) || v > 59) return std::string_view::npos;
    d.minute = static_cast<uint8_t>(v);
    d.precision = DateTime::kMinute;
    pos += 3;
    if (pos < s.size() && s[pos] == ':') {
      if (!digitsAt(s, pos + 1, 2, v) || v > 59) return std::string_view::npos;
      d.second = static_cast<uint8_t>(v);
      d.precision = DateTime::kSecond;
      pos += 3;
      if (pos < s.size() && s[pos] == '.') {
        size_t b = ++pos;
        int ms = 0, n = 0;
        while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
          if (n < 3) ms = ms * 10 + (s[pos] - '0');
          ++n;
          ++pos;
        }
        if (pos == b) return std::string_view::npos;
        while (n < 3) {
          ms *= 10;
          ++n;
        }
        d.millisecond = static_cast<uint16_t>(ms);
        d.precision = DateTime::kMillisecond;
      }
    }
  }
  return pos;
}

size_t parseDatePart(std::string_view s, DateTime& d) {
  int v;
  if (!digitsAt(s, 0, 4, v)) return std::string_view::npos;
  d.year = v;
  d.precision = DateTime::kYear;
  size_t pos = 4;
  if (pos < s.size() && s[pos] == '-') {
    if (!digitsAt(s, pos + 1, 2, v) || v < 1 || v > 12) return std::string_view::npos;
    d.month = static_cast<uint8_t>(v);
    d.precision = DateTime::kMonth;
    pos += 3;
    if (pos < s.size() && s[pos] == '-') {
      if (!digitsAt(s, pos + 1, 2, v) || v < 1 || v > daysInMonth(d.year, d.month)) return std::string_view::npos;
      d.day = static_cast<uint8_t>(v);
      d.precision = DateTime::kDay;
      pos += 3;
    }
  }
  return pos;
}

int64_t totalMinutesUtc(const DateTime& d) {
  int64_t days = daysFromCivil(d.year, d.month ? d.month : 1, d.day ? d.day : 1);
  return days * 1440 + d.hour * 60 + d.minute - (d.has_timezone ? d.tz_offset_minutes : 0);
}


}  // namespace

std::optional<DateTime> parseDate(std::string_view text) {
  DateTime d;
  size_t pos = parseDatePart(text, d);
  if (pos != text.size()) return std::nullopt;
  return d;
}

std::optional<DateTime> parseDateTime(std::string_view text) {
  DateTime d;
  size_t pos = parseDatePart(text, d);
  if (pos == std::string_view::npos) return std::nullopt;
  if (pos < text.size() && text[pos] == 'T') {
    if (d.precision != DateTime::kDay) return std::nullopt;
    ++pos;
    if (pos == text.size()) return d;
    pos = parseClock(text, pos, d);
    if (pos == std::string_view::npos) return std::nullopt;
  }
  if (pos < text.size()) {
    if (text[pos] == 'Z') {
      d.has_timezone = true;
      ++pos;
    } else if (text[pos] == '+' || text[pos] == '-') {
      int h, m;
      if (!digitsAt(text, pos + 1, 2, h) || pos + 3 >= text.size() || text[pos + 3] != ':' ||
          !digitsAt(text, pos + 4, 2, m) || h > 14 || m > 59) {
        return std::nullopt;
      }
      d.has_timezone = true;
      d.tz_offset_minutes = static_cast<int16_t>((h * 60 + m) * (text[pos] == '-' ? -1 : 1));
      pos += 6;
    }
  }
  if (pos != text.size()) return std::nullopt;
  return d;
}

std::optional<DateTime> parseTime(std::string_view text) {
  DateTime d;
  size_t pos = 0;
  if (!text.empty() && text[0] == 'T') pos = 1;
  pos = parseClock(text, pos, d);
  if (pos != text.size()) return std::nullopt;
  return d;
}

// Formatting goes through snprintf: GCC 12 at -O3 mis-warns (-Wrestrict) on chains of std::string operator+.
std::string formatDate(const DateTime& d) {
  char buf[32];
  if (d.precision >= DateTime::kDay) std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", d.year, d.month, d.day);
  else if (d.precision >= DateTime::kMonth) std::snprintf(buf, sizeof buf, "%04d-%02d", d.year, d.month);
  else std::snprintf(buf, sizeof buf, "%04d", d.year);
  return buf;
}

std::string formatTime(const DateTime& d) {
  char buf[32];
  if (d.precision >= DateTime::kMillisecond) {
    std::snprintf(buf, sizeof buf, "%02d:%02d:%02d.%03d", d.hour, d.minute, d.second, d.millisecond);
  } else if (d.precision >= DateTime::kSecond) {
    std::snprintf(buf, sizeof buf, "%02d:%02d:%02d", d.hour, d.minute, d.second);
  } else if (d.precision >= DateTime::kMinute) {
    std::snprintf(buf, sizeof buf, "%02d:%02d", d.hour, d.minute);
  } else {
    std::snprintf(buf, sizeof buf, "%02d", d.hour);
  }
  return buf;
}

std::string formatDateTime(const DateTime& d) {
  std::string s = formatDate(d);
  if (d.precision >= DateTime::kHour) {
    s += 'T';
    s += formatTime(d);
  }
  if (d.has_timezone && d.precision >= DateTime::kHour) {
    if (d.tz_offset_minutes == 0) {
      s += 'Z';
    } else {
      int off = d.tz_offset_minutes < 0 ? -d.tz_offset_minutes : d.tz_offset_minutes;
      char buf[16];
      std::snprintf(buf, sizeof buf, "%c%02d:%02d", d.tz_offset_minutes < 0 ? '-' : '+', off / 60, off % 60);
      s += buf;
    }
  }
  return s;
}

std::optional<int> compareDateTimes(const DateTime& a0, const DateTime& b0, bool is_time) {
  DateTime a = a0, b = b0;
  // Compare in UTC when both carry a zone and reach minute precision (otherwise shifting would invent precision).
  if (!is_time && a.has_timezone && b.has_timezone && a.precision >= DateTime::kHour &&
      b.precision >= DateTime::kHour) {
    auto shift = [](DateTime& d) {
      int64_t mins = totalMinutesUtc(d);
      int64_t days = mins >= 0 ? mins / 1440 : -((-mins + 1439) / 1440);
      int64_t rem = mins - days * 1440;
      civilFromDays(days, d.year, d.month, d.day);
      d.hour = static_cast<uint8_t>(rem / 60);
      d.minute = static_cast<uint8_t>(rem % 60);
      d.tz_offset_minutes = 0;
    };
    shift(a);
    shift(b);
  } else if (!is_time && a.has_timezone != b.has_timezone && a.precision >= DateTime::kHour &&
             b.precision >= DateTime::kHour) {
    return std::nullopt;
  }
  // Seconds and milliseconds form one precision level.
  auto level = [](uint8_t p) -> int { return p == DateTime::kMillisecond ? static_cast<int>(DateTime::kSecond) : static_cast<int>(p); };
  int pa = level(a.precision), pb = level(b.precision);
  int common = std::min(pa, pb);
  int first = is_time ? DateTime::kHour : DateTime::kYear;
  for (int p = first; p <= common; ++p) {
    int x = 0, y = 0;
    switch (p) {
      case DateTime::kYear: x = a.year; y = b.year; break;
      case DateTime::kMonth: x = a.month; y = b.month; break;
      case DateTime::kDay: x = a.day; y = b.day; break;
      case DateTime::kHour: x = a.hour; y = b.hour; break;
      case DateTime::kMinute: x = a.minute; y = b.minute; break;
      case DateTime::kSecond:
        x = a.second * 1000 + a.millisecond;
        y = b.second * 1000 + b.millisecond;
        break;
      default: break;
    }
    if (x != y) return x < y ? -1 : 1;
  }
  if (pa != pb) return std::nullopt;
  return 0;
}

std::string_view timeUnitOf(std::string_view u, bool* calendar_keyword) {
  struct Row {
    std::string_view text;
    std::string_view unit;
    bool calendar;
  };
  static constexpr Row kRows[] = {
      {"year", "year", true},   {"years", "year", true},     {"month", "month", true},
      {"months", "month", true}, {"week", "week", true},     {"weeks", "week", true},
      {"day", "day", true},     {"days", "day", true},       {"hour", "hour", true},
      {"hours", "hour", true},  {"minute", "minute", true},  {"minutes", "minute", true},
      {"second", "second", true}, {"seconds", "second", true}, {"millisecond", "millisecond", true},
      {"milliseconds", "millisecond", true}, {"a", "year", false}, {"mo", "month", false},
      {"wk", "week", false},    {"d", "day", false},         {"h", "hour", false},
      {"min", "minute", false}, {"s", "second", false},      {"ms", "millisecond", false},
  };
  for (const Row& r : kRows) {
    if (r.text == u) {
      if (calendar_keyword) *calendar_keyword = r.calendar;
      return r.unit;
    }
  }
  return {};
}

std::optional<DateTime> addToDateTime(const DateTime& d, const Decimal& amount, std::string_view unit_text,
                                      bool is_date, bool is_time) {
  bool calendar = false;
  std::string_view unit = timeUnitOf(unit_text, &calendar);
  if (unit.empty()) return std::nullopt;
  // UCUM 'a' and 'mo' are not calendar durations: adding them to a date is an error.
  if (!calendar && (unit == "year" || unit == "month")) return std::nullopt;
  auto whole = decimalToInt64(decimalTruncate(amount));
  if (!whole) return std::nullopt;
  int64_t n = *whole;
  DateTime r = d;
  if (unit == "year" || unit == "month") {
    if (is_time) return std::nullopt;
    int64_t months = unit == "year" ? n * 12 : n;
    if (r.precision == DateTime::kYear) {
      r.year += static_cast<int32_t>(months / 12);
      return r;
    }
    int64_t total = static_cast<int64_t>(r.year) * 12 + (r.month - 1) + months;
    r.year = static_cast<int32_t>(total >= 0 ? total / 12 : (total - 11) / 12);
    r.month = static_cast<uint8_t>(total - static_cast<int64_t>(r.year) * 12 + 1);
    if (r.precision >= DateTime::kDay) r.day = static_cast<uint8_t>(std::min<int>(r.day, daysInMonth(r.year, r.month)));
    return r;
  }
  int64_t ms_per = unit == "week" ? 604800000LL
                   : unit == "day" ? 86400000LL
                   : unit == "hour" ? 3600000LL
                   : unit == "minute" ? 60000LL
                   : unit == "second" ? 1000LL
                                      : 1LL;
  int64_t delta_ms = n * ms_per;
  if (is_time) {
    int64_t t = ((r.hour * 60LL + r.minute) * 60 + r.second) * 1000 + r.millisecond + delta_ms;
    t %= 86400000LL;
    if (t < 0) t += 86400000LL;
    r.hour = static_cast<uint8_t>(t / 3600000);
    r.minute = static_cast<uint8_t>(t / 60000 % 60);
    r.second = static_cast<uint8_t>(t / 1000 % 60);
    r.millisecond = static_cast<uint16_t>(t % 1000);
    return r;
  }
  if (r.precision < DateTime::kDay) {
    // Coarser than the quantity: whole years/months only.
    int64_t days = delta_ms / 86400000LL;
    if (r.precision == DateTime::kYear) {
      r.year += static_cast<int32_t>(days / 365);
    } else {
      int64_t total = static_cast<int64_t>(r.year) * 12 + (r.month - 1) + days / 30;
      r.year = static_cast<int32_t>(total / 12);
      r.month = static_cast<uint8_t>(total % 12 + 1);
    }
    return r;
  }
  (void)is_date;
  int64_t day_num = daysFromCivil(r.year, r.month, r.day);
  int64_t t = ((r.hour * 60LL + r.minute) * 60 + r.second) * 1000 + r.millisecond;
  int64_t total = day_num * 86400000LL + t + delta_ms;
  int64_t days = total >= 0 ? total / 86400000LL : -((-total + 86399999LL) / 86400000LL);
  int64_t rem = total - days * 86400000LL;
  civilFromDays(days, r.year, r.month, r.day);
  if (r.precision >= DateTime::kHour) {
    r.hour = static_cast<uint8_t>(rem / 3600000);
    r.minute = static_cast<uint8_t>(rem / 60000 % 60);
    r.second = static_cast<uint8_t>(rem / 1000 % 60);
    r.millisecond = static_cast<uint16_t>(rem % 1000);
  }
  return r;
}

// ---------------------------------------------------------------------------------------------- UCUM subset

namespace {

// Dimensions: length (m), mass (g), time (s), amount (mol) exponents.
struct UnitValue {
  Decimal factor{1, 0};
  int dims[4] = {0, 0, 0, 0};
  bool ok = true;
};

struct Atom {
  std::string_view symbol;
  const char* factor;
  int dims[4];
  bool prefixable;
};

constexpr Atom kAtoms[] = {
    {"1", "1", {0, 0, 0, 0}, false},
    {"%", "0.01", {0, 0, 0, 0}, false},
    {"m", "1", {1, 0, 0, 0}, true},
    {"g", "1", {0, 1, 0, 0}, true},
    {"s", "1", {0, 0, 1, 0}, true},
    {"mol", "1", {0, 0, 0, 1}, true},
    {"L", "0.001", {3, 0, 0, 0}, true},
    {"l", "0.001", {3, 0, 0, 0}, true},
    {"min", "60", {0, 0, 1, 0}, false},
    {"h", "3600", {0, 0, 1, 0}, false},
    {"d", "86400", {0, 0, 1, 0}, false},
    {"wk", "604800", {0, 0, 1, 0}, false},
    {"mo", "2629800", {0, 0, 1, 0}, false},
    {"a", "31557600", {0, 0, 1, 0}, false},
    {"[lb_av]", "453.59237", {0, 1, 0, 0}, false},
    {"[oz_av]", "28.349523125", {0, 1, 0, 0}, false},
    {"[in_i]", "0.0254", {1, 0, 0, 0}, false},
    {"[ft_i]", "0.3048", {1, 0, 0, 0}, false},
    {"[mi_i]", "1609.344", {1, 0, 0, 0}, false},
    {"mm[Hg]", "133322", {-1, 1, -2, 0}, false},
    {"Pa", "1000", {-1, 1, -2, 0}, true},
    {"[iU]", "1", {0, 0, 0, 0}, true},
    {"[IU]", "1", {0, 0, 0, 0}, true},
    {"U", "1", {0, 0, 0, 0}, true},
    {"cal", "4184", {2, 1, -2, 0}, true},
    {"J", "1000", {2, 1, -2, 0}, true},
};

struct Prefix {
  std::string_view symbol;
  const char* factor;
};
constexpr Prefix kPrefixes[] = {
    {"k", "1000"}, {"h", "100"}, {"da", "10"}, {"d", "0.1"}, {"c", "0.01"}, {"m", "0.001"},
    {"u", "0.000001"}, {"n", "0.000000001"}, {"p", "0.000000000001"}, {"M", "1000000"}, {"G", "1000000000"},
};

bool atomValue(std::string_view sym, UnitValue& out) {
  for (const Atom& a : kAtoms) {
    if (a.symbol == sym) {
      out.factor = *Decimal::parse(a.factor);
      std::memcpy(out.dims, a.dims, sizeof out.dims);
      return true;
    }
  }
  for (const Prefix& p : kPrefixes) {
    if (sym.size() > p.symbol.size() && sym.substr(0, p.symbol.size()) == p.symbol) {
      std::string_view rest = sym.substr(p.symbol.size());
      for (const Atom& a : kAtoms) {
        if (a.prefixable && a.symbol == rest) {
          out.factor = *decimalMul(*Decimal::parse(p.factor), *Decimal::parse(a.factor));
          std::memcpy(out.dims, a.dims, sizeof out.dims);
          return true;
        }
      }
    }
  }
  return false;
}

// Parses unit terms like "mg", "m2", "g/m", "cm.m", "kg/m2", "{score}", "10*3/uL" is not supported.
UnitValue parseUnit(std::string_view u) {
  UnitValue total;
  if (u.empty()) return total;
  size_t i = 0;
  bool divide = false;
  if (u[0] == '/') {
    divide = true;
    ++i;
  }
  while (i < u.size()) {
    size_t b = i;
    while (i < u.size() && u[i] != '.' && u[i] != '/') {
      if (u[i] == '[') {
        while (i < u.size() && u[i] != ']') ++i;
      } else if (u[i] == '{') {
        while (i < u.size() && u[i] != '}') ++i;
      }
      if (i < u.size()) ++i;
    }
    std::string_view comp = u.substr(b, i - b);
    // Strip an annotation; an annotation alone is dimensionless.
    size_t brace = comp.find('{');
    if (brace != std::string_view::npos) comp = comp.substr(0, brace);
    if (comp.empty()) comp = "1";
    // Trailing exponent digits (possibly signed).
    size_t e = comp.size();
    while (e > 0 && comp[e - 1] >= '0' && comp[e - 1] <= '9') --e;
    if (e > 0 && (comp[e - 1] == '-' || comp[e - 1] == '+')) --e;
    int exponent = 1;
    std::string_view sym = comp;
    if (e > 0 && e < comp.size() && comp != "1") {
      if (comp.size() - e > 3) {  // exponents beyond ±99 are not units anyone writes
        total.ok = false;
        return total;
      }
      exponent = std::atoi(std::string(comp.substr(e)).c_str());
      sym = comp.substr(0, e);
    }
    UnitValue a;
    if (!atomValue(sym, a)) {
      total.ok = false;
      return total;
    }
    for (int k = 0; k < std::abs(exponent); ++k) {
      bool inv = divide != (exponent < 0);
      auto f = inv ? decimalDiv(total.factor, a.factor) : decimalMul(total.factor, a.factor);
      if (!f) {
        total.ok = false;
        return total;
      }
      total.factor = *f;
      for (int d = 0; d < 4; ++d) total.dims[d] += inv ? -a.dims[d] : a.dims[d];
    }
    if (i < u.size()) {
      divide = u[i] == '/';
      ++i;
    }
  }
  return total;
}

// Calendar keywords compare like their UCUM twins except year and month, which are not definite durations.
std::string ucumOf(std::string_view unit, bool* indefinite) {
  bool calendar = false;
  std::string_view t = timeUnitOf(unit, &calendar);
  *indefinite = false;
  if (!calendar) return std::string(unit);
  if (t == "year" || t == "month") {
    *indefinite = true;
    return std::string(t);
  }
  if (t == "week") return "wk";
  if (t == "day") return "d";
  if (t == "hour") return "h";
  if (t == "minute") return "min";
  if (t == "second") return "s";
  return "ms";
}

}  // namespace

std::optional<Quantity> convertQuantity(const Quantity& q, std::string_view target_unit) {
  bool ia = false, ib = false;
  std::string ua = ucumOf(q.unit, &ia), ub = ucumOf(target_unit, &ib);
  if (ia || ib) {
    if (ua == ub) return Quantity{q.value, std::string(target_unit)};
    return std::nullopt;
  }
  if (ua == ub) return Quantity{q.value, std::string(target_unit)};
  UnitValue a = parseUnit(ua), b = parseUnit(ub);
  if (!a.ok || !b.ok || std::memcmp(a.dims, b.dims, sizeof a.dims) != 0) return std::nullopt;
  auto base = decimalMul(q.value, a.factor);
  if (!base) return std::nullopt;
  auto v = decimalDiv(*base, b.factor);
  if (!v) return std::nullopt;
  return Quantity{*v, std::string(target_unit)};
}

std::optional<int> compareQuantities(const Quantity& a, const Quantity& b) {
  bool ia = false, ib = false;
  std::string ua = ucumOf(a.unit, &ia), ub = ucumOf(b.unit, &ib);
  if (ua == ub) return compare(a.value, b.value);
  if (ia || ib) return std::nullopt;
  UnitValue x = parseUnit(ua), y = parseUnit(ub);
  if (!x.ok || !y.ok || std::memcmp(x.dims, y.dims, sizeof x.dims) != 0) return std::nullopt;
  auto va = decimalMul(a.value, x.factor), vb = decimalMul(b.value, y.factor);
  if (!va || !vb) return std::nullopt;
  return compare(*va, *vb);
}

}  // namespace planbro::fhir::fhirpath
