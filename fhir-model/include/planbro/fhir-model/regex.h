#pragma once
// Regular expressions for everything that can see request data (FHIRPath matches()/replaceMatches(), invariants,
// definition patterns): RE2, whose matching is linear in the input and whose stack use does not grow with it, so
// neither a 50,000-character value nor a backtracking pattern such as `^(a+)+$` can crash or stall a worker.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "planbro/fhir-model/status.h"

namespace re2 {
class RE2;
}

namespace planbro::fhir {

/** Bounds on compiling one pattern. Defaults are safe for hostile patterns. */
struct RegexLimits {
  size_t max_pattern_bytes = 4096;          // longer patterns: kResourceExhausted
  int64_t max_memory_bytes = 8ll << 20;     // RE2 max_mem: the compiled program plus its DFA cache
  int max_program_size = 100000;            // RE2 instructions after compiling; larger: kResourceExhausted
};

/** The limits Regex::compile uses when none are given: RegexLimits{} unless setDefaultRegexLimits() changed them. */
RegexLimits defaultRegexLimits();
/** Sets the process-wide default (from the configuration, once at start-up). Thread-safe. */
void setDefaultRegexLimits(const RegexLimits& limits);

/**
 * One compiled regular expression with FHIRPath semantics (FHIRPath §5.6.9: PCRE syntax as far as a linear-time
 * engine allows, single-line mode so '.' matches a newline; `(?<name>...)` groups accepted). Backreferences and
 * lookaround are not supported and fail to compile. Immutable: any number of threads may match at once.
 */
class Regex {
 public:
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  /**
   * Compiles `pattern`, or returns the cached compilation of the same pattern. Thread-safe; the cache holds at
   * most kRegexCacheEntries patterns (least recently used evicted). Errors: kInvalidArgument with RE2's reason for
   * a syntax error or an unsupported construct; kResourceExhausted when a RegexLimits bound is crossed.
   */
  static Result<std::shared_ptr<const Regex>> compile(std::string_view pattern, const RegexLimits& limits);
  /** compile() with defaultRegexLimits(). */
  static Result<std::shared_ptr<const Regex>> compile(std::string_view pattern);

  /** True when some part of `text` matches (FHIRPath matches()). */
  bool search(std::string_view text) const;
  /** True when all of `text` matches (FHIRPath matchesFull()). */
  bool fullMatch(std::string_view text) const;
  /**
   * Replaces every non-overlapping match in `text` (FHIRPath replaceMatches()). In `substitution`, `$1`..`$99` and
   * `${name}` / `${1}` insert a group, `$&` the whole match, `$$` a dollar sign; other text is copied as is.
   * Fails with kResourceExhausted when the result would exceed `max_result_bytes`.
   */
  Result<std::string> replaceAll(std::string_view text, std::string_view substitution,
                                 size_t max_result_bytes = SIZE_MAX) const;

  const std::string& pattern() const { return pattern_; }

 private:
  Regex(std::string pattern, std::unique_ptr<re2::RE2> re);
  std::string pattern_;
  std::unique_ptr<re2::RE2> re_;
};

using RegexPtr = std::shared_ptr<const Regex>;

/** How many compiled patterns Regex::compile keeps. */
inline constexpr size_t kRegexCacheEntries = 512;

}  // namespace planbro::fhir
