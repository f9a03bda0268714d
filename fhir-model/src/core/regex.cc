#include "planbro/fhir-model/regex.h"

#include <re2/re2.h>

#include <atomic>
#include <list>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace planbro::fhir {
namespace {

// RE2 2022 spells a named group `(?P<name>...)` only; FHIRPath's examples (and .NET/Java/PCRE) use `(?<name>...)`.
// Rewrites the latter outside character classes; lookbehind `(?<=` / `(?<!` is left for RE2 to reject.
std::string toRe2Syntax(std::string_view pattern) {
  std::string out;
  out.reserve(pattern.size() + 8);
  bool in_class = false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size()) {
      out += c;
      out += pattern[++i];
      continue;
    }
    if (in_class) {
      if (c == ']') in_class = false;
      out += c;
      continue;
    }
    if (c == '[') {
      in_class = true;
      out += c;
      if (i + 1 < pattern.size() && pattern[i + 1] == '^') out += pattern[++i];
      if (i + 1 < pattern.size() && pattern[i + 1] == ']') out += pattern[++i];  // a leading ']' is literal
      continue;
    }
    if (c == '(' && pattern.substr(i, 3) == "(?<" && i + 3 < pattern.size() && pattern[i + 3] != '=' &&
        pattern[i + 3] != '!') {
      out += "(?P<";
      i += 2;
      continue;
    }
    out += c;
  }
  return out;
}

struct CacheKey {
  std::string pattern;
  size_t max_pattern_bytes;
  int64_t max_memory_bytes;
  int max_program_size;
  bool operator==(const CacheKey&) const = default;
};

struct CacheKeyHash {
  size_t operator()(const CacheKey& k) const {
    size_t h = std::hash<std::string>()(k.pattern);
    h ^= std::hash<int64_t>()(k.max_memory_bytes) + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    h ^= std::hash<size_t>()(k.max_pattern_bytes) + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    h ^= std::hash<int>()(k.max_program_size) + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    return h;
  }
};

// A least-recently-used cache of compiled patterns. Patterns come from requests, so it is bounded: a client
// sending endless distinct patterns only evicts, never grows memory. Failed compilations are not cached.
class RegexCache {
 public:
  RegexPtr find(const CacheKey& key) {
    std::lock_guard lock(mutex_);
    auto it = index_.find(key);
    if (it == index_.end()) return nullptr;
    lru_.splice(lru_.begin(), lru_, it->second);
    return it->second->second;
  }
  void insert(CacheKey key, RegexPtr regex) {
    std::lock_guard lock(mutex_);
    if (index_.count(key) != 0) return;
    lru_.emplace_front(key, std::move(regex));
    index_.emplace(std::move(key), lru_.begin());
    while (lru_.size() > kRegexCacheEntries) {
      index_.erase(lru_.back().first);
      lru_.pop_back();
    }
  }

 private:
  using Entry = std::pair<CacheKey, RegexPtr>;
  std::mutex mutex_;
  std::list<Entry> lru_;
  std::unordered_map<CacheKey, std::list<Entry>::iterator, CacheKeyHash> index_;
};

RegexCache& cache() {
  static RegexCache* instance = new RegexCache();  // never destroyed: usable from other static destructors
  return *instance;
}

size_t utf8Length(unsigned char lead) {
  return lead < 0x80 ? 1 : (lead >> 5) == 6 ? 2 : (lead >> 4) == 14 ? 3 : (lead >> 3) == 30 ? 4 : 1;
}

// Appends `substitution` for one match, expanding group references.
void expandSubstitution(std::string_view substitution, const std::vector<re2::StringPiece>& groups,
                        const std::map<std::string, int>& names, std::string& out) {
  auto group = [&](size_t i) {
    if (i < groups.size() && groups[i].data() != nullptr) out.append(groups[i].data(), groups[i].size());
  };
  for (size_t i = 0; i < substitution.size(); ++i) {
    char c = substitution[i];
    if (c != '$' || i + 1 == substitution.size()) {
      out += c;
      continue;
    }
    char next = substitution[i + 1];
    if (next == '$') {
      out += '$';
      ++i;
    } else if (next == '&') {
      group(0);
      ++i;
    } else if (next >= '0' && next <= '9') {
      size_t n = static_cast<size_t>(next - '0');
      ++i;
      // Two digits when that names an existing group ($12 with 12 groups), as in ECMAScript.
      if (i + 1 < substitution.size() && substitution[i + 1] >= '0' && substitution[i + 1] <= '9') {
        size_t two = n * 10 + static_cast<size_t>(substitution[i + 1] - '0');
        if (two < groups.size()) {
          n = two;
          ++i;
        }
      }
      group(n);
    } else if (next == '{') {
      size_t close = substitution.find('}', i + 2);
      if (close == std::string_view::npos) {
        out += c;
        continue;
      }
      std::string name(substitution.substr(i + 2, close - i - 2));
      bool numeric = !name.empty() && name.find_first_not_of("0123456789") == std::string::npos && name.size() < 4;
      if (numeric) {
        group(static_cast<size_t>(std::stoi(name)));
      } else if (auto it = names.find(name); it != names.end()) {
        group(static_cast<size_t>(it->second));
      }
      i = close;
    } else {
      out += c;
    }
  }
}

}  // namespace

namespace {

std::atomic<size_t> default_max_pattern_bytes{RegexLimits{}.max_pattern_bytes};
std::atomic<int64_t> default_max_memory_bytes{RegexLimits{}.max_memory_bytes};
std::atomic<int> default_max_program_size{RegexLimits{}.max_program_size};

}  // namespace

RegexLimits defaultRegexLimits() {
  return {default_max_pattern_bytes.load(std::memory_order_relaxed),
          default_max_memory_bytes.load(std::memory_order_relaxed),
          default_max_program_size.load(std::memory_order_relaxed)};
}

void setDefaultRegexLimits(const RegexLimits& limits) {
  default_max_pattern_bytes.store(limits.max_pattern_bytes, std::memory_order_relaxed);
  default_max_memory_bytes.store(limits.max_memory_bytes, std::memory_order_relaxed);
  default_max_program_size.store(limits.max_program_size, std::memory_order_relaxed);
}

Result<RegexPtr> Regex::compile(std::string_view pattern) { return compile(pattern, defaultRegexLimits()); }

Regex::Regex(std::string pattern, std::unique_ptr<re2::RE2> re) : pattern_(std::move(pattern)), re_(std::move(re)) {}
Regex::~Regex() = default;

Result<RegexPtr> Regex::compile(std::string_view pattern, const RegexLimits& limits) {
  if (pattern.size() > limits.max_pattern_bytes) {
    return resourceExhausted("regular expression of " + std::to_string(pattern.size()) +
                             " bytes exceeds the limit of " + std::to_string(limits.max_pattern_bytes));
  }
  CacheKey key{std::string(pattern), limits.max_pattern_bytes, limits.max_memory_bytes, limits.max_program_size};
  if (RegexPtr hit = cache().find(key)) return hit;

  re2::RE2::Options options;
  options.set_log_errors(false);
  options.set_dot_nl(true);  // FHIRPath single-line mode
  options.set_max_mem(limits.max_memory_bytes);
  auto re = std::make_unique<re2::RE2>(toRe2Syntax(pattern), options);
  if (!re->ok()) {
    if (re->error_code() == re2::RE2::ErrorPatternTooLarge) {
      return resourceExhausted("regular expression too large to compile");
    }
    return invalidArgument("invalid or unsupported regular expression: " + re->error());
  }
  if (re->ProgramSize() > limits.max_program_size) {
    return resourceExhausted("regular expression compiles to " + std::to_string(re->ProgramSize()) +
                             " instructions, over the limit of " + std::to_string(limits.max_program_size));
  }
  RegexPtr compiled(new Regex(std::string(pattern), std::move(re)));
  cache().insert(std::move(key), compiled);
  return compiled;
}

bool Regex::search(std::string_view text) const { return re2::RE2::PartialMatch(text, *re_); }

bool Regex::fullMatch(std::string_view text) const { return re2::RE2::FullMatch(text, *re_); }

Result<std::string> Regex::replaceAll(std::string_view text, std::string_view substitution,
                                      size_t max_result_bytes) const {
  std::vector<re2::StringPiece> groups(static_cast<size_t>(re_->NumberOfCapturingGroups()) + 1);
  const auto& names = re_->NamedCapturingGroups();
  std::string out;
  size_t pos = 0;       // where the next match may start
  size_t copied = 0;    // text before this is in `out`
  while (pos <= text.size()) {
    if (!re_->Match(text, pos, text.size(), re2::RE2::UNANCHORED, groups.data(), static_cast<int>(groups.size()))) {
      break;
    }
    size_t start = static_cast<size_t>(groups[0].data() - text.data());
    size_t end = start + groups[0].size();
    out.append(text.substr(copied, start - copied));
    expandSubstitution(substitution, groups, names, out);
    copied = end;
    if (out.size() > max_result_bytes) break;
    // An empty match must not match again at the same place: step over one character, copying it.
    if (end == start) {
      if (end == text.size()) break;
      size_t step = std::min(utf8Length(static_cast<unsigned char>(text[end])), text.size() - end);
      pos = end + step;
    } else {
      pos = end;
    }
  }
  if (copied < text.size()) out.append(text.substr(copied));
  if (out.size() > max_result_bytes) {
    return resourceExhausted("replaceMatches() result exceeds " + std::to_string(max_result_bytes) + " bytes");
  }
  return out;
}

}  // namespace planbro::fhir
