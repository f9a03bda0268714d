#include "planbro/gateway/store/time_format.h"

#include <ctime>

namespace planbro::gateway::store {

namespace {

std::tm toTm(Timestamp t, int64_t* micros) {
  int64_t us = t.time_since_epoch().count();
  int64_t secs = us / 1000000;
  int64_t frac = us % 1000000;
  if (frac < 0) {
    frac += 1000000;
    --secs;
  }
  *micros = frac;
  std::time_t tt = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  return tm;
}

constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

// `value` as exactly `width` decimal digits (zero-padded; value is in range). These formatters run for every read
// (meta.lastUpdated, Last-Modified), where snprintf was a twentieth of the server's CPU.
void appendDigits(std::string& out, int64_t value, int width) {
  char buf[20];
  for (int i = width - 1; i >= 0; --i) {
    buf[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  out.append(buf, static_cast<size_t>(width));
}

// hh:mm:ss
void appendClock(std::string& out, const std::tm& tm) {
  appendDigits(out, tm.tm_hour, 2);
  out += ':';
  appendDigits(out, tm.tm_min, 2);
  out += ':';
  appendDigits(out, tm.tm_sec, 2);
}

}  // namespace

std::string formatInstant(Timestamp t) {
  int64_t micros = 0;
  std::tm tm = toTm(t, &micros);
  // YYYY-MM-DDThh:mm:ss.ffffffZ
  std::string out;
  out.reserve(27);
  appendDigits(out, tm.tm_year + 1900, 4);
  out += '-';
  appendDigits(out, tm.tm_mon + 1, 2);
  out += '-';
  appendDigits(out, tm.tm_mday, 2);
  out += 'T';
  appendClock(out, tm);
  out += '.';
  appendDigits(out, micros, 6);
  out += 'Z';
  return out;
}

std::string formatHttpDate(Timestamp t) {
  int64_t micros = 0;
  std::tm tm = toTm(t, &micros);
  // IMF-fixdate (RFC 9110 5.6.7): Sun, 06 Nov 1994 08:49:37 GMT
  std::string out;
  out.reserve(29);
  out += kDays[tm.tm_wday % 7];
  out += ", ";
  appendDigits(out, tm.tm_mday, 2);
  out += ' ';
  out += kMonths[tm.tm_mon % 12];
  out += ' ';
  appendDigits(out, tm.tm_year + 1900, 4);
  out += ' ';
  appendClock(out, tm);
  out += " GMT";
  return out;
}

}  // namespace planbro::gateway::store
