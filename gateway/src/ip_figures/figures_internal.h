#pragma once
// Internal to the IP figures: calendar helpers (UTC days in microseconds) shared by the period parser, the
// computation and the MeasureReport writer.

#include <chrono>
#include <cstdint>
#include <string>

namespace planbro::gateway::ip::detail {

inline constexpr int64_t kMicrosPerDay = 86'400'000'000LL;

/** The first microsecond of a calendar day (UTC). */
inline int64_t dayStart(std::chrono::year_month_day day) {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::sys_days(day).time_since_epoch()).count();
}
/** The last microsecond of a calendar day (UTC). */
inline int64_t dayEnd(std::chrono::year_month_day day) { return dayStart(day) + kMicrosPerDay - 1; }

/** The UTC calendar day holding microsecond `us`. */
inline std::chrono::year_month_day dayOf(int64_t us) {
  auto tp = std::chrono::sys_time<std::chrono::microseconds>(std::chrono::microseconds(us));
  return std::chrono::year_month_day(std::chrono::floor<std::chrono::days>(tp));
}

/** "YYYY-MM-DD" of the day holding `us`. */
std::string dateText(int64_t us);
/** "YYYY-MM-DDThh:mm:ss.ffffffZ" of `us`. */
std::string instantText(int64_t us);

}  // namespace planbro::gateway::ip::detail
