// Random expressions built from FHIRPath tokens must compile or fail cleanly and evaluate or fail cleanly: no crash,
// no hang, no sanitizer report. Deterministic (fixed seed) and bounded.
#include <random>

#include <gtest/gtest.h>

#include "planbro/fhir-model/fhirpath.h"

namespace planbro::fhir::fhirpath {
namespace {

TEST(FhirPathRobustness, SurvivesRandomTokenSequences) {
  auto doc = JsonDocument::parse(R"({"resourceType":"Patient","id":"x","active":true,
    "name":[{"family":"A","given":["B","C"]},{"given":["D"]}],"birthDate":"2000-01",
    "contained":[{"resourceType":"Patient","id":"c"}],"managingOrganization":{"reference":"#c"}})");
  ASSERT_TRUE(doc.isOk());
  static const char* kTokens[] = {
      "name", "given", "family", "Patient", "birthDate", "active", "contained", "id", ".", ".", ".", "(", ")", "[",
      "]", "{", "}", ",", "+", "-", "*", "/", "|", "&", "=", "!=", "~", "<", ">=", "and", "or", "xor", "implies",
      "div", "mod", "in", "contains", "is", "as", "Integer", "String", "FHIR.Patient", "1", "2.5", "0", "-1",
      "'a'", "''", "@2012", "@2012-01-01T10:00", "@T10:00", "5 'mg'", "3 days", "true", "false", "$this",
      "$index", "$total", "%resource", "%context", "where(", "select(", "exists(", "all(", "repeat(",
      "descendants()", "children()", "count()", "first()", "last()", "tail()", "skip(", "take(", "substring(",
      "iif(", "toString()", "toInteger()", "toDecimal()", "length()", "matches(", "replace(", "resolve()",
      "aggregate(", "ofType(", "union(", "combine(", "distinct()", "empty()", "not()", "single()", "sort(",
      "lowBoundary(", "highBoundary(", "split(", "join(", "power(", "round(", "sqrt()", "ln()", "trace(",
  };
  constexpr size_t kCount = sizeof(kTokens) / sizeof(kTokens[0]);
  std::mt19937 rng(12345);
  size_t compiled = 0, evaluated = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string expr;
    int len = 1 + static_cast<int>(rng() % 12);
    for (int k = 0; k < len; ++k) {
      expr += kTokens[rng() % kCount];
      if (rng() % 3 == 0) expr += ' ';
    }
    auto e = compile(expr);
    if (!e.isOk()) continue;
    ++compiled;
    auto r = evaluate(**e, doc->root());
    if (r.isOk()) {
      ++evaluated;
      (void)toJson(*r);
    }
  }
  EXPECT_GT(compiled, 100u);
  EXPECT_GT(evaluated, 50u);
}

TEST(FhirPathRobustness, StaysBoundedOnHugeArguments) {
  auto doc = JsonDocument::parse(R"({"resourceType":"Patient"})");
  ASSERT_TRUE(doc.isOk());
  auto run = [&](const char* text) {
    auto e = compile(text);
    if (!e.isOk()) return std::string("compile error");
    auto r = evaluate(**e, doc->root());
    return r.isOk() ? toJson(*r) : "error";
  };
  EXPECT_EQ(run("1.power(999999999999999999)"), "[1]");
  EXPECT_EQ(run("2.power(10)"), "[1024]");
  EXPECT_EQ(run("2.power(64)"), "[]");  // Integer overflow gives empty
  EXPECT_EQ(run("(-576460752303423488 * 16).abs()"), "[]");
  EXPECT_EQ(run("123456789012345678901234567890.1.lowBoundary(28)"), "[]");
  EXPECT_EQ(run("1 'm99999999999' = 1 'm'"), "[]");
  EXPECT_EQ(run("'a'.substring(999999999999)"), "[]");
  EXPECT_EQ(run("(1 | 2 | 3).skip(-5).count()"), "[3]");
}

TEST(FhirPathRobustness, BoundsRepeatOnCyclicResolution) {
  // A contained resource referring to itself: repeat() must stop at the items it has seen.
  auto doc = JsonDocument::parse(R"({"resourceType":"Patient","contained":[{"resourceType":"Patient","id":"c",
    "link":[{"other":{"reference":"#c"}}]}],"link":[{"other":{"reference":"#c"}}]})");
  ASSERT_TRUE(doc.isOk());
  auto e = compile("repeat(link.other.resolve()).count()");
  ASSERT_TRUE(e.isOk());
  auto r = evaluate(**e, doc->root());
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(toJson(*r), "[1]");
}

}  // namespace
}  // namespace planbro::fhir::fhirpath
