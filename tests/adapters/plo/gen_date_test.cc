// A MsgHead GenDate as a FHIR dateTime (adapters/plo/src/msghead_reader.cc): Norwegian local time gets the
// Europe/Oslo offset of its date, summer time from the last Sunday of March 01:00 UTC to the last Sunday of October.

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "../../../adapters/plo/src/decoders.h"

namespace planbro::adapters::plo::internal {
namespace {

// GenDate in, FHIR dateTime out.
const std::vector<std::pair<std::string, std::string>> kCases = {
    {"2026-01-15T10:00:00", "2026-01-15T10:00:00+01:00"},
    {"2026-07-01T10:00:00", "2026-07-01T10:00:00+02:00"},
    // 2026: summer time from Sunday 29 March 02:00 local to Sunday 25 October 03:00 local.
    {"2026-03-29T01:59:00", "2026-03-29T01:59:00+01:00"},
    {"2026-03-29T02:00:00", "2026-03-29T02:00:00+02:00"},
    {"2026-10-25T02:59:00", "2026-10-25T02:59:00+02:00"},
    {"2026-10-25T03:00:00", "2026-10-25T03:00:00+01:00"},
    // A leap year's last Sundays: 2024-03-31 and 2024-10-27.
    {"2024-03-30T12:00:00", "2024-03-30T12:00:00+01:00"},
    {"2024-03-31T12:00:00", "2024-03-31T12:00:00+02:00"},
    {"2024-10-27T12:00:00", "2024-10-27T12:00:00+01:00"},
    {"2024-02-29T12:00:00.125", "2024-02-29T12:00:00.125+01:00"},
    // A zone or a date alone is kept; what is not a date is empty.
    {"2026-07-01T10:00:00Z", "2026-07-01T10:00:00Z"},
    {"2026-07-01T10:00:00+05:00", "2026-07-01T10:00:00+05:00"},
    {"2026-07-01", "2026-07-01"},
    {"2026-13-01T10:00:00", ""},
    {"yesterday", ""},
};

TEST(GenDate, LocalTimeGetsTheOsloOffsetOfItsDate) {
  for (const auto& [gen_date, expected] : kCases) EXPECT_EQ(fhirDateTime(gen_date), expected) << gen_date;
}

}  // namespace
}  // namespace planbro::adapters::plo::internal
