// checkTreeLimits holds a built tree to the parser's limits: deep nesting (a JSON Patch copying /extension into itself
// built 4,096 levels and crashed the server), a serialised size far beyond its memory (shared subtrees), long
// strings and numbers, with bounded work and the location of the first violation.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "planbro/fhir-model/json.h"
#include "planbro/fhir-model/json_tree_limits.h"

namespace planbro::fhir {
namespace {

// {"resourceType":"Patient","extension":[{"extension":[{ ... }]}]} nested `levels` times, built without recursion.
JsonValue nestedExtensions(JsonDocument& doc, size_t levels) {
  JsonValue inner = doc.makeObject({});
  for (size_t i = 0; i < levels; ++i) {
    JsonValue array = doc.makeArray(std::vector<JsonValue>{inner});
    std::vector<JsonMember> members{{"url", doc.makeString("http://example.org/x")}, {"extension", array}};
    inner = doc.makeObject(members);
  }
  std::vector<JsonMember> root{{"resourceType", doc.makeString("Patient")},
                               {"extension", doc.makeArray(std::vector<JsonValue>{inner})}};
  return doc.makeObject(root);
}

TEST(JsonTreeLimits, AcceptsATreeWithinTheLimits) {
  JsonDocument doc;
  JsonValue v = nestedExtensions(doc, 10);
  EXPECT_TRUE(checkTreeLimits(v, JsonLimits{}, 1 << 20).isOk());
  // The size check counts exactly what writeJson writes.
  std::string text = writeJson(v);
  EXPECT_TRUE(checkTreeLimits(v, JsonLimits{}, text.size()).isOk());
  EXPECT_FALSE(checkTreeLimits(v, JsonLimits{}, text.size() - 1).isOk());
  // Escapes count as written: quotes, backslashes, named and \u00XX control characters, in any position of a
  // string longer than the eight bytes the scan skips at a time.
  std::string tricky = "plain text, then \"quoted\" and a \\ back\nslash\t\x01\x1f and more plain text \x7f";
  for (size_t cut = 0; cut < tricky.size(); cut += 3) {
    std::vector<JsonMember> m{{"k\x02y", doc.makeString(tricky.substr(cut))}, {"n", doc.makeNumber("1.50")}};
    JsonValue object = doc.makeObject(m);
    std::string written = writeJson(object);
    EXPECT_TRUE(checkTreeLimits(object, JsonLimits{}, written.size()).isOk()) << cut;
    EXPECT_FALSE(checkTreeLimits(object, JsonLimits{}, written.size() - 1).isOk()) << cut;
  }
}

TEST(JsonTreeLimits, RejectsDeepNestingWithoutRecursionAndWithAShortPath) {
  JsonDocument doc;
  JsonValue v = nestedExtensions(doc, 100000);  // far deeper than any recursive walk survives
  std::string path;
  Status s = checkTreeLimits(v, JsonLimits{}, UINT64_MAX, &path);
  ASSERT_FALSE(s.isOk());
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted);
  EXPECT_NE(s.message().find("256"), std::string::npos) << s.message();
  EXPECT_EQ(path.rfind("Patient.extension[0].extension[0]", 0), 0u) << path;
  EXPECT_LT(path.size(), 400u);
  EXPECT_LT(s.message().size(), 500u);
}

TEST(JsonTreeLimits, BoundsTheSerialisedSizeOfSharedSubtrees) {
  // Each level holds the previous one twice: 2^60 leaves in a few KB of arena, as doubling `copy` ops make.
  JsonDocument doc;
  JsonValue v = doc.makeString(std::string(100, 'x'));
  for (int i = 0; i < 60; ++i) v = doc.makeArray(std::vector<JsonValue>{v, v});
  JsonLimits limits;
  limits.max_depth = 1000;
  Status s = checkTreeLimits(v, limits, 16u << 20);
  ASSERT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("size limit"), std::string::npos) << s.message();
}

TEST(JsonTreeLimits, RejectsLongStringsNumbersAndNames) {
  JsonDocument doc;
  JsonLimits limits;
  limits.max_string_bytes = 10;
  limits.max_number_length = 5;
  std::vector<JsonMember> ok{{"a", doc.makeString("0123456789")}, {"n", doc.makeNumber("12345")}};
  EXPECT_TRUE(checkTreeLimits(doc.makeObject(ok), limits, 1000).isOk());
  std::vector<JsonMember> long_string{{"a", doc.makeString("0123456789A")}};
  std::string path;
  EXPECT_FALSE(checkTreeLimits(doc.makeObject(long_string), limits, 1000, &path).isOk());
  EXPECT_EQ(path, "$.a");
  std::vector<JsonMember> long_number{{"n", doc.makeNumber("123456")}};
  EXPECT_FALSE(checkTreeLimits(doc.makeObject(long_number), limits, 1000).isOk());
  std::vector<JsonMember> long_name{{"abcdefghijk", doc.makeNumber("1")}};
  EXPECT_FALSE(checkTreeLimits(doc.makeObject(long_name), limits, 1000).isOk());
}


TEST(JsonTreeLimits, EveryLimitHoldsExactlyAtItsValueOnBothWalks) {
  // A max_depth up to kMaxRecursiveJsonDepth is settled by the quick recursive pass when the tree is within every
  // limit; deeper limits, and trees the quick pass cannot settle, take the framed walks. Both agree at the edges.
  for (uint32_t depth : {1u, 2u, 64u, kMaxRecursiveJsonDepth, kMaxRecursiveJsonDepth + 1, 600u}) {
    JsonDocument doc;
    JsonValue v = doc.makeNumber("1");
    for (uint32_t i = 0; i < depth; ++i) v = doc.makeArray(std::vector<JsonValue>{v});
    JsonLimits limits;
    limits.max_depth = depth;
    EXPECT_TRUE(checkTreeLimits(v, limits, UINT64_MAX).isOk()) << depth;
    limits.max_depth = depth - 1;
    EXPECT_FALSE(checkTreeLimits(v, limits, UINT64_MAX).isOk()) << depth;
    // The exact size of [[...[1]...]] is 2 * depth + 1: the quick pass's bound is exact here (no strings).
    limits.max_depth = depth;
    EXPECT_TRUE(checkTreeLimits(v, limits, 2 * depth + 1).isOk()) << depth;
    EXPECT_FALSE(checkTreeLimits(v, limits, 2 * depth).isOk()) << depth;
  }
  // Strings: the quick pass bounds a string by six bytes per byte, so a tree near its size limit is walked exactly.
  JsonDocument doc;
  std::vector<JsonMember> members{{"name", doc.makeString("abcdefgh")}};
  const JsonValue object = doc.makeObject(members);
  const uint64_t exact = std::string(R"({"name":"abcdefgh"})").size();
  EXPECT_TRUE(checkTreeLimits(object, JsonLimits{}, exact).isOk());
  EXPECT_FALSE(checkTreeLimits(object, JsonLimits{}, exact - 1).isOk());
}

}  // namespace
}  // namespace planbro::fhir
