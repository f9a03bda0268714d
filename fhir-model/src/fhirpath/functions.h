#pragma once
// The function table: names resolved to ids and arity checked at compile time, so evaluation never looks up a name.

#include <optional>
#include <string>
#include <string_view>

#include "ast.h"

namespace planbro::fhir::fhirpath {

enum class FunctionId : uint16_t {
  kEmpty, kExists, kAll, kAllTrue, kAnyTrue, kAllFalse, kAnyFalse, kSubsetOf, kSupersetOf, kCount, kDistinct,
  kIsDistinct, kWhere, kSelect, kRepeat, kOfType, kSingle, kFirst, kLast, kTail, kSkip, kTake, kIntersect, kExclude,
  kUnion, kCombine, kIif, kToBoolean, kConvertsToBoolean, kToInteger, kConvertsToInteger, kToDecimal,
  kConvertsToDecimal, kToString, kConvertsToString, kToDate, kConvertsToDate, kToDateTime, kConvertsToDateTime,
  kToTime, kConvertsToTime, kToQuantity, kConvertsToQuantity, kIndexOf, kLastIndexOf, kSubstring, kStartsWith,
  kEndsWith, kContains, kUpper, kLower, kReplace, kMatches, kMatchesFull, kReplaceMatches, kLength, kToChars, kAbs,
  kCeiling, kExp, kFloor, kLn, kLog, kPower, kRound, kSqrt, kTruncate, kChildren, kDescendants, kTrace, kNow,
  kToday, kTimeOfDay, kNot, kAs, kIs, kExtension, kHasValue, kGetValue, kResolve, kHtmlChecks, kConformsTo,
  kMemberOf, kTrim, kSplit, kJoin, kEncode, kDecode, kEscape, kUnescape, kAggregate, kLowBoundary, kHighBoundary,
  kPrecision, kSort, kType, kComparable, kSubsumes, kSubsumedBy, kCheckModifiers, kElementDefinition, kSlice,
  kDefineVariable, kHasExtension,
};

struct FunctionInfo {
  FunctionId id;
  int min_args;
  int max_args;
};

std::optional<FunctionInfo> lookupFunction(std::string_view name);

/** Compiles a FHIRPath regular expression (single-line mode: '.' matches newlines) with RE2, through its bounded
 * cache. Errors as Regex::compile. */
Result<RegexPtr> compileRegex(std::string_view pattern);

}  // namespace planbro::fhir::fhirpath
