#pragma once
// System-type helpers shared by the parser and the evaluator: decimal arithmetic, date/time parsing, comparison and
// arithmetic with partial precision, and UCUM/calendar unit handling for quantities.

#include <optional>
#include <string>
#include <string_view>

#include "planbro/fhir-model/fhirpath.h"

namespace planbro::fhir::fhirpath {

// Decimal arithmetic. nullopt on overflow (more than ~36 significant digits) or division by zero.
std::optional<Decimal> decimalAdd(const Decimal& a, const Decimal& b);
std::optional<Decimal> decimalSub(const Decimal& a, const Decimal& b);
std::optional<Decimal> decimalMul(const Decimal& a, const Decimal& b);
std::optional<Decimal> decimalDiv(const Decimal& a, const Decimal& b);
Decimal decimalNormalize(Decimal d);           // strips trailing zeros of the fraction
Decimal decimalRound(const Decimal& d, int digits);  // half away from zero
Decimal decimalTruncate(const Decimal& d);     // toward zero, scale 0
Decimal decimalFloor(const Decimal& d);
Decimal decimalCeiling(const Decimal& d);
std::optional<Decimal> decimalFromDouble(double v);
bool decimalIsInteger(const Decimal& d);
/** Integer value of an integral decimal, if it fits in int64. */
std::optional<int64_t> decimalToInt64(const Decimal& d);

// Dates and times (text without the leading '@').
std::optional<DateTime> parseDate(std::string_view text);      // YYYY[-MM[-DD]]
std::optional<DateTime> parseDateTime(std::string_view text);  // YYYY[-MM[-DD[Thh[:mm[:ss[.fff]]]]]][Z|±hh:mm]
std::optional<DateTime> parseTime(std::string_view text);      // [T]hh[:mm[:ss[.fff]]]
std::string formatDate(const DateTime& d);
std::string formatDateTime(const DateTime& d);
std::string formatTime(const DateTime& d);

/** Compares two values of the same date kind per FHIRPath: -1/0/1, or nullopt when precision makes it unknown. */
std::optional<int> compareDateTimes(const DateTime& a, const DateTime& b, bool is_time);
/** Adds `amount` of `unit` (a calendar keyword or UCUM time unit). nullopt when the unit does not apply. */
std::optional<DateTime> addToDateTime(const DateTime& d, const Decimal& amount, std::string_view unit, bool is_date,
                                      bool is_time);

/** Normalises a calendar keyword or UCUM time unit to a canonical calendar word ("year", "second"), or "" when it
 * is not a time unit. `calendar_only` reports whether the text was a calendar keyword (not UCUM). */
std::string_view timeUnitOf(std::string_view unit, bool* calendar_keyword = nullptr);

/** Converts `q` to `target_unit` when both are known UCUM units of the same dimension; nullopt otherwise. */
std::optional<Quantity> convertQuantity(const Quantity& q, std::string_view target_unit);
/** Compares two quantities after unit conversion: -1/0/1, or nullopt when not comparable. */
std::optional<int> compareQuantities(const Quantity& a, const Quantity& b);

}  // namespace planbro::fhir::fhirpath
