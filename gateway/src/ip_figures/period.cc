// The reporting period of $ip-figures: FHIR dates in, first and last microsecond out. Only date precisions are
// accepted (YYYY, YYYY-MM, YYYY-MM-DD): a dateTime bound would make "the last day of the period" depend on a time
// zone the figures do not report in.
#include <cstdio>

#include "figures_internal.h"
#include "planbro/gateway/ip/figures.h"
#include "planbro/gateway/search/indexer.h"

namespace planbro::gateway::ip {
namespace detail {

std::string dateText(int64_t us) {
  auto d = dayOf(us);
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(d.year()), static_cast<unsigned>(d.month()),
                static_cast<unsigned>(d.day()));
  return buf;
}

std::string instantText(int64_t us) {
  int64_t day_us = us - dayStart(dayOf(us));
  int64_t secs = day_us / 1'000'000;
  char buf[48];
  std::snprintf(buf, sizeof buf, "%sT%02lld:%02lld:%02lld.%06lldZ", dateText(us).c_str(),
                static_cast<long long>(secs / 3600), static_cast<long long>(secs / 60 % 60),
                static_cast<long long>(secs % 60), static_cast<long long>(day_us % 1'000'000));
  return buf;
}

}  // namespace detail

namespace {

bool digits(std::string_view s) {
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return !s.empty();
}

// A FHIR date of year, month or day precision: YYYY, YYYY-MM, YYYY-MM-DD.
bool isDateText(std::string_view s) {
  if (s.size() != 4 && s.size() != 7 && s.size() != 10) return false;
  if (!digits(s.substr(0, 4))) return false;
  if (s.size() >= 7 && (s[4] != '-' || !digits(s.substr(5, 2)))) return false;
  if (s.size() == 10 && (s[7] != '-' || !digits(s.substr(8, 2)))) return false;
  return true;
}

Result<search::DateRange> parseBound(std::string_view name, std::string_view text) {
  std::optional<search::DateRange> r = isDateText(text) ? search::parseDateRange(text) : std::nullopt;
  if (!r) {
    return invalidArgument("'" + std::string(name) + "' must be a date (YYYY, YYYY-MM or YYYY-MM-DD), not '" +
                           std::string(text) + "'");
  }
  return *r;
}

}  // namespace

Result<FiguresPeriod> figuresPeriod(std::optional<std::string_view> period_start,
                                    std::optional<std::string_view> period_end, store::Timestamp now,
                                    const FiguresOptions& options) {
  const auto year = detail::dayOf(now.time_since_epoch().count()).year();
  FiguresPeriod p;
  if (period_start) {
    auto r = parseBound("periodStart", *period_start);
    if (!r.isOk()) return r.status();
    p.start_us = r->low;
  } else {
    p.start_us = detail::dayStart(year / std::chrono::January / 1);
  }
  if (period_end) {
    auto r = parseBound("periodEnd", *period_end);
    if (!r.isOk()) return r.status();
    p.end_us = r->high;
  } else {
    p.end_us = detail::dayEnd(year / std::chrono::December / 31);
  }
  if (p.start_us > p.end_us) return invalidArgument("'periodStart' is after 'periodEnd'");
  const int64_t max_days = static_cast<int64_t>(options.max_period_years) * 366;
  if ((p.end_us - p.start_us) / detail::kMicrosPerDay >= max_days) {
    return invalidArgument("the period from 'periodStart' to 'periodEnd' is longer than " +
                           std::to_string(options.max_period_years) + " years (ip_figures.max_period_years)");
  }
  p.start_text = detail::dateText(p.start_us);
  p.end_text = detail::dateText(p.end_us);
  return p;
}

std::string measureUrl(std::string_view measure_id) {
  return "http://planbro.no/fhir/Measure/" + std::string(measure_id);
}

}  // namespace planbro::gateway::ip
