// Hostile expressions and inputs end in a result or an evaluation error, with work bounded: regular expressions run in
// linear time and constant stack (RE2), every evaluation has a step budget and size bounds, and the set functions
// (repeat, distinct, union, intersect, exclude, subsetOf, isDistinct) do linear work.
#include <string>

#include <gtest/gtest.h>

#include "planbro/fhir-model/fhirpath.h"
#include "planbro/fhir-model/regex.h"

namespace planbro::fhir::fhirpath {
namespace {

JsonDocument parseOrDie(std::string text) {
  JsonLimits limits;
  auto doc = JsonDocument::parse(std::move(text), limits);
  EXPECT_TRUE(doc.isOk()) << doc.status().message();
  return std::move(doc).value();
}

JsonDocument patientWithFamily(const std::string& family, const std::string& given = "x") {
  return parseOrDie(R"({"resourceType":"Patient","name":[{"family":")" + family + R"(","given":[")" + given +
                    R"("]}]})");
}

Result<Collection> run(const std::string& text, const JsonDocument& doc, const Environment& env = {}) {
  auto e = compile(text);
  if (!e.isOk()) return e.status();
  return evaluate(**e, doc.root(), env);
}

std::string runJson(const std::string& text, const JsonDocument& doc) {
  auto r = run(text, doc);
  return r.isOk() ? toJson(*r) : "error: " + r.status().message();
}

TEST(FhirPathRegex, MatchesOnFiftyThousandCharactersWithoutDeepStack) {
  JsonDocument doc = patientWithFamily(std::string(60000, 'a'));
  EXPECT_EQ(runJson("name.family.matches('^(a|b)*$')", doc), "[true]");
  EXPECT_EQ(runJson("name.family.matches('^(a|b)*c$')", doc), "[false]");
  EXPECT_EQ(runJson("name.family.matchesFull('a*')", doc), "[true]");
  EXPECT_EQ(runJson("name.family.replaceMatches('(a)a', '$1').length()", doc), "[30000]");
}

TEST(FhirPathRegex, NestedQuantifiersDoNotBacktrack) {
  // `^(a+)+$` needed 2^n steps in a backtracking engine: 28 characters took seconds. RE2 is linear.
  JsonDocument doc = patientWithFamily(std::string(100000, 'a') + "b");
  EXPECT_EQ(runJson("name.family.matches('^(a+)+$')", doc), "[false]");
  EXPECT_EQ(runJson("name.family.matches('^(a|aa)+$')", doc), "[false]");
  // The same with the pattern taken from the data (compiled at evaluation, through the cache).
  JsonDocument dynamic = patientWithFamily(std::string(100000, 'a') + "b", "^(a+)+$");
  EXPECT_EQ(runJson("name.family.matches(name.given.first())", dynamic), "[false]");
}

TEST(FhirPathRegex, UnsupportedOrOversizedPatternIsAnErrorNotACrash) {
  JsonDocument doc = patientWithFamily("abab", "(a)\\\\1");
  // A literal pattern is checked when compiling; one from the data when evaluating.
  EXPECT_FALSE(compile("name.family.matches('(a)\\\\1')").isOk());
  EXPECT_FALSE(compile("name.family.matches('(?=a)')").isOk());
  auto r = run("name.family.matches(name.given.first())", doc);
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("regular expression"), std::string::npos) << r.status().message();
  JsonDocument big = patientWithFamily("a", std::string(5000, 'a'));
  EXPECT_FALSE(run("name.family.matches(name.given.first())", big).isOk());
  EXPECT_FALSE(Regex::compile("((a{1000}){1000}){1000}").isOk());
}

TEST(FhirPathRegex, FollowsFhirPathSemantics) {
  JsonDocument doc = parseOrDie(R"({"resourceType":"Patient","id":"line1\nline2"})");
  EXPECT_EQ(runJson("id.matches('line1.line2')", doc), "[true]");  // single-line mode: '.' matches a newline
  EXPECT_EQ(runJson("id.matches('^line2')", doc), "[false]");
  EXPECT_EQ(runJson("'11/30/1972'.replaceMatches('\\\\b(?<month>\\\\d{1,2})/(?<day>\\\\d{1,2})/(?<year>\\\\d{2,4})\\\\b', "
                    "'${day}-${month}-${year}')", doc),
            "[\"30-11-1972\"]");
  EXPECT_EQ(runJson("'abc'.replaceMatches('(b)', '[$1$$]')", doc), "[\"a[b$]c\"]");
  EXPECT_EQ(runJson("'abc'.replaceMatches('x*', '-')", doc), "[\"-a-b-c-\"]");
  EXPECT_EQ(runJson("'abc'.replaceMatches('', '-')", doc), "[\"abc\"]");
  EXPECT_EQ(runJson("'ab[c'.matches('[[]')", doc), "[true]");
}

TEST(RegexLimitsDefault, ConfiguredDefaultAppliesToPatternsFromData) {
  JsonDocument doc = patientWithFamily("aaa", std::string(200, 'a'));
  EXPECT_EQ(runJson("name.family.matches(name.given.first())", doc), "[false]");
  RegexLimits tight;
  tight.max_pattern_bytes = 100;
  setDefaultRegexLimits(tight);
  auto r = run("name.family.matches(name.given.first())", doc);
  setDefaultRegexLimits(RegexLimits{});
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("exceeds the limit of 100"), std::string::npos) << r.status().message();
}

TEST(RegexCache, ReturnsTheSameCompilationAndStaysBounded) {
  auto a = Regex::compile("^cache-test-[0-9]+$");
  auto b = Regex::compile("^cache-test-[0-9]+$");
  ASSERT_TRUE(a.isOk() && b.isOk());
  EXPECT_EQ(a->get(), b->get());
  // More distinct patterns than the cache holds: every one still compiles and matches correctly.
  for (size_t i = 0; i < kRegexCacheEntries + 100; ++i) {
    auto r = Regex::compile("^p" + std::to_string(i) + "$");
    ASSERT_TRUE(r.isOk());
    EXPECT_TRUE((*r)->fullMatch("p" + std::to_string(i)));
  }
}

TEST(FhirPathBudget, ExplodingAggregateEndsInAnError) {
  JsonDocument doc = parseOrDie(R"({"resourceType":"Patient"})");
  EvaluationStats stats;
  Environment env;
  env.stats = &stats;
  // The total doubles per item: 2^40 items if nothing stopped it.
  std::string items = "1";
  for (int i = 2; i <= 40; ++i) items += " | " + std::to_string(i);
  auto r = run("(" + items + ").aggregate($total.combine($total), 1).count()", doc, env);
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("exceeds the limit"), std::string::npos) << r.status().message();
  EXPECT_LE(stats.steps, env.limits.max_steps + 2 * env.limits.max_collection_items);
}

TEST(FhirPathBudget, NestedSelectAndRepeatExhaustTheStepBudget) {
  JsonDocument doc = parseOrDie(R"({"resourceType":"Patient"})");
  std::string ten = "(1|2|3|4|5|6|7|8|9|10)";
  std::string nested = ten;
  for (int i = 0; i < 7; ++i) nested = ten + ".select(" + nested + ")";  // 10^8 items
  nested = "(" + nested + ").select($this.toString())";
  EvaluationStats stats;
  Environment env;
  env.stats = &stats;
  env.limits.max_steps = 1'000'000;  // the default is larger; a smaller one keeps the sanitizer build quick
  auto r = run(nested + ".count()", doc, env);
  ASSERT_FALSE(r.isOk());
  EXPECT_LE(stats.steps, env.limits.max_steps + env.limits.max_collection_items + 100);
}

TEST(FhirPathBudget, RepeatOverGrowingStringsEndsInAnError) {
  // repeat() over generated values keeps producing new strings: stopped by the limits, not by memory.
  JsonDocument doc = parseOrDie(R"({"resourceType":"Patient"})");
  EvaluationStats stats;
  Environment env;
  env.stats = &stats;
  auto rep = run("'a'.repeat($this & 'a').count()", doc, env);
  ASSERT_FALSE(rep.isOk());
  EXPECT_LE(stats.steps, env.limits.max_steps + 2 * env.limits.max_string_bytes);
}

TEST(FhirPathBudget, StringGrowthIsBounded) {
  JsonDocument doc = parseOrDie(R"({"resourceType":"Patient"})");
  std::string items = "1";
  for (int i = 2; i <= 40; ++i) items += " | " + std::to_string(i);
  auto r = run("(" + items + ").aggregate($total & $total, 'abcdefgh').length()", doc);
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("exceed"), std::string::npos) << r.status().message();
}

TEST(FhirPathBudget, ItemPerCharacterFunctionsRespectTheCollectionLimit) {
  JsonDocument doc = patientWithFamily(std::string(600000, 'a') + ",b");
  for (const char* e : {"name.family.toChars().count()", "name.family.split('').count()",
                        "name.family.replace('a', 'a,').split(',').count()"}) {
    auto r = run(e, doc);
    ASSERT_FALSE(r.isOk()) << e;
    EXPECT_NE(r.status().message().find("limit"), std::string::npos) << r.status().message();
  }
  EXPECT_EQ(runJson("name.family.split(',').count()", doc), "[2]");
}

TEST(FhirPathBudget, ConfiguredLimitsApply) {
  JsonDocument doc = parseOrDie(R"({"resourceType":"Patient"})");
  Environment tight;
  tight.limits.max_steps = 50;
  EXPECT_TRUE(run("(1|2|3).count()", doc).isOk());
  EXPECT_FALSE(run("(1|2|3|4|5|6|7|8|9|10).select((1|2|3|4|5|6|7|8|9|10)).count()", doc, tight).isOk());
  Environment small;
  small.limits.max_collection_items = 5;
  EXPECT_FALSE(run("(1|2|3|4|5|6).count()", doc, small).isOk());
  EXPECT_TRUE(run("(1|2|3|4|5).count()", doc, small).isOk());
}

// A resource with `n` distinct identifiers, each with `copies` equal copies.
JsonDocument patientWithIdentifiers(size_t n, size_t copies = 1) {
  std::string json = R"({"resourceType":"Patient","identifier":[)";
  for (size_t i = 0; i < n; ++i) {
    for (size_t c = 0; c < copies; ++c) {
      if (i + c > 0) json += ',';
      json += R"({"system":"urn:oid:2.16.578.1.12.4.1.4.1","value":")" + std::to_string(10000000000 + i) + "\"}";
    }
  }
  return parseOrDie(json + "]}");
}

uint64_t comparisonsFor(const std::string& expression, const JsonDocument& doc, std::string* result = nullptr) {
  EvaluationStats stats;
  Environment env;
  env.stats = &stats;
  auto r = run(expression, doc, env);
  EXPECT_TRUE(r.isOk()) << expression << ": " << r.status().message();
  if (result && r.isOk()) *result = toJson(*r);
  return stats.comparisons;
}

TEST(FhirPathSetFunctions, RepeatDoesLinearWork) {
  // 10,000 identifiers took 7.6 s when repeat() compared each new item with every one seen.
  JsonDocument small = patientWithIdentifiers(1000), large = patientWithIdentifiers(10000);
  std::string count;
  uint64_t c_small = comparisonsFor("repeat(identifier).count()", small);
  uint64_t c_large = comparisonsFor("repeat(identifier).count()", large, &count);
  EXPECT_EQ(count, "[10000]");
  EXPECT_LE(c_large, 2 * 10000u);
  EXPECT_LE(c_large, 12 * (c_small + 1));
}

TEST(FhirPathSetFunctions, DistinctUnionIntersectExcludeSubsetDoLinearWork) {
  const size_t n = 10000;
  JsonDocument doc = patientWithIdentifiers(n, 2);  // every identifier twice: equal JSON, distinct nodes
  std::string r;
  EXPECT_LE(comparisonsFor("identifier.distinct().count()", doc, &r), 4 * n);
  EXPECT_EQ(r, "[10000]");
  EXPECT_LE(comparisonsFor("identifier.isDistinct()", doc, &r), 4 * n);
  EXPECT_EQ(r, "[false]");
  EXPECT_LE(comparisonsFor("(identifier | identifier).count()", doc, &r), 8 * n);
  EXPECT_EQ(r, "[10000]");
  EXPECT_LE(comparisonsFor("identifier.union(identifier.value).count()", doc, &r), 8 * n);
  EXPECT_EQ(r, "[20000]");
  EXPECT_LE(comparisonsFor("identifier.intersect(identifier).count()", doc, &r), 8 * n);
  EXPECT_EQ(r, "[10000]");
  EXPECT_LE(comparisonsFor("identifier.exclude(identifier.skip(2)).count()", doc, &r), 8 * n);
  EXPECT_EQ(r, "[2]");  // the two copies of the first identifier
  EXPECT_LE(comparisonsFor("identifier.subsetOf(identifier.take(2))", doc, &r), 8 * n);
  EXPECT_EQ(r, "[false]");
  EXPECT_LE(comparisonsFor("identifier.value.distinct().count()", doc, &r), 4 * n);
  EXPECT_EQ(r, "[10000]");
}

TEST(FhirPathSetFunctions, HashingKeepsFhirPathEquality) {
  JsonDocument doc = parseOrDie(R"({"resourceType":"Patient"})");
  EXPECT_EQ(runJson("(1 | 1.0 | 1.00 | 2).count()", doc), "[2]");
  EXPECT_EQ(runJson("(1 'g' | 1000 'mg').count()", doc), "[1]");
  EXPECT_EQ(runJson("(@2012-01-01T10:00:00+01:00 | @2012-01-01T09:00:00Z).count()", doc), "[1]");
  EXPECT_EQ(runJson("('a' | 'a' | 'b').distinct().count()", doc), "[2]");
  EXPECT_EQ(runJson("(true | false | true).count()", doc), "[2]");
  JsonDocument p = parseOrDie(R"({"resourceType":"Patient","name":[{"family":"A","given":["B"]},
    {"given":["B"],"family":"A"}],"birthDate":"2000-01-01"})");
  EXPECT_EQ(runJson("name.distinct().count()", p), "[1]");  // equal JSON, members in another order
  EXPECT_EQ(runJson("(birthDate | @2000-01-01).count()", p), "[1]");
  EXPECT_EQ(runJson("(name.family | 'A').count()", p), "[1]");
}

}  // namespace
}  // namespace planbro::fhir::fhirpath
