#include <gtest/gtest.h>

#include <pthread.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "planbro/fhir-model/json.h"

namespace planbro::fhir {
namespace {

JsonDocument parseOk(std::string text) {
  auto result = JsonDocument::parse(std::move(text));
  EXPECT_TRUE(result.isOk()) << result.status().message();
  return std::move(result).value();
}

TEST(JsonDocument, KeepsExactNumberTextAndDistinguishesNumbersFromStrings) {
  JsonDocument doc = parseOk(R"({"a": 1.10, "b": "1.10", "c": -0.0e+5, "d": 12345678901234567890})");
  const JsonValue& root = doc.root();
  ASSERT_TRUE(root.isObject());
  EXPECT_TRUE(root.find("a")->isNumber());
  EXPECT_EQ(root.find("a")->text(), "1.10");
  EXPECT_TRUE(root.find("b")->isString());
  EXPECT_EQ(root.find("c")->text(), "-0.0e+5");
  EXPECT_EQ(root.find("d")->text(), "12345678901234567890");
  EXPECT_EQ(writeJson(root), R"({"a":1.10,"b":"1.10","c":-0.0e+5,"d":12345678901234567890})");
}

TEST(JsonDocument, KeepsMemberOrderAndUnicode) {
  JsonDocument doc = parseOk(R"({"z":"Bjørn Ærø \u00e5 \ud83d\ude00","a":[true,false,null],"m":{}})");
  ASSERT_EQ(doc.root().size(), 3u);
  EXPECT_EQ(doc.root().members()[0].key, "z");
  EXPECT_EQ(doc.root().members()[0].value.text(), "Bjørn Ærø å \xF0\x9F\x98\x80");
  EXPECT_EQ(writeJson(doc.root()), "{\"z\":\"Bjørn Ærø å \xF0\x9F\x98\x80\",\"a\":[true,false,null],\"m\":{}}");
}

TEST(JsonDocument, EscapesControlCharactersOnOutput) {
  JsonDocument doc = parseOk(R"(["a\"b\\c\n\u0001"])");
  EXPECT_EQ(writeJson(doc.root()), R"(["a\"b\\c\n\u0001"])");
}

TEST(JsonDocument, PrettyOutputIndentsByTwoSpaces) {
  JsonDocument doc = parseOk(R"({"a":[1,{"b":2}],"e":[]})");
  EXPECT_EQ(writeJson(doc.root(), {.pretty = true}),
            "{\n  \"a\": [\n    1,\n    {\n      \"b\": 2\n    }\n  ],\n  \"e\": []\n}");
}

TEST(JsonDocument, ReportsSyntaxErrorWithLineAndColumn) {
  JsonErrorPosition where;
  auto result = JsonDocument::parse("{\n  \"a\": \"x\\ny\",\n  \"b\": ,\n}", {}, &where);
  ASSERT_FALSE(result.isOk());
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(where.line, 3u);
  EXPECT_NE(result.status().message().find("line 3"), std::string::npos) << result.status().message();
}

TEST(JsonDocument, RejectsTruncatedEmptyAndTrailingInput) {
  EXPECT_FALSE(JsonDocument::parse(R"({"resourceType":"Patient","name":[{"family":"Ha)").isOk());
  EXPECT_FALSE(JsonDocument::parse("").isOk());
  EXPECT_FALSE(JsonDocument::parse("   ").isOk());
  EXPECT_FALSE(JsonDocument::parse("{} {}").isOk());
  EXPECT_FALSE(JsonDocument::parse("{\"a\":1,}").isOk());
  EXPECT_FALSE(JsonDocument::parse("{\"a\":1 /* c */}").isOk());
  EXPECT_FALSE(JsonDocument::parse("{\"a\":NaN}").isOk());
}

TEST(JsonDocument, RejectsInvalidUtf8) {
  auto result = JsonDocument::parse("{\"a\":\"\xC3\x28\"}");
  ASSERT_FALSE(result.isOk());
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(JsonDocument::parse("{\"a\":\"\xED\xA0\x80\"}").isOk());  // encoded surrogate
}

TEST(JsonDocument, NamesLineAndColumnOfInvalidUtf8AnywhereInTheText) {
  JsonErrorPosition where;
  auto result = JsonDocument::parse("{\n  \"a\": \"ok\\n\",\n  \"b\": \"xy\xF4\x90\x80\x80\"\n}", {}, &where);
  ASSERT_FALSE(result.isOk());
  EXPECT_EQ(where.line, 3u);
  EXPECT_EQ(where.column, 11u);
  EXPECT_NE(result.status().message().find("line 3, column 11"), std::string::npos) << result.status().message();
  EXPECT_NE(result.status().message().find("encoding"), std::string::npos) << result.status().message();
  // Outside strings too, and the strict forms: overlong, above U+10FFFF, a lone continuation byte.
  EXPECT_FALSE(JsonDocument::parse("{\"a\":1}\xC3\xA5").isOk());
  EXPECT_FALSE(JsonDocument::parse("[\"\xC0\xAF\"]").isOk());
  EXPECT_FALSE(JsonDocument::parse("[\"\xE0\x80\xAF\"]").isOk());
  EXPECT_FALSE(JsonDocument::parse("[\"\xF0\x80\x80\xAF\"]").isOk());
  EXPECT_FALSE(JsonDocument::parse("[\"" + std::string(20, 'a') + "\x80" + std::string(20, 'a') + "\"]").isOk());
  EXPECT_TRUE(JsonDocument::parse("[\"\xF4\x8F\xBF\xBF \xEF\xBF\xBD \xDF\xBF\"]").isOk());
}

TEST(JsonDocument, DecodesEscapesInsideLongStringsAtEveryOffset) {
  // Plain runs are moved 16 bytes at a time once an escape has shifted the text; every alignment of the escape and
  // every string length around the block size must come out right.
  for (size_t before = 0; before < 40; ++before) {
    for (size_t after = 0; after < 40; after += 3) {
      const std::string plain_before(before, 'b');
      const std::string plain_after = std::string(after, 'a') + "\xC3\xA5";
      auto doc = JsonDocument::parse("[\"" + plain_before + "\\n\\u00e5" + plain_after + "\\\"x\", \"" +
                                     plain_after + "\", 1]");
      ASSERT_TRUE(doc.isOk()) << doc.status().message();
      ASSERT_EQ(doc->root().size(), 3u);
      EXPECT_EQ(doc->root().items()[0].text(), plain_before + "\n\xC3\xA5" + plain_after + "\"x");
      EXPECT_EQ(doc->root().items()[1].text(), plain_after);
      EXPECT_EQ(doc->root().items()[2].text(), "1");
    }
  }
}

TEST(JsonDocument, RejectsControlCharactersInStringsAtTheirLine) {
  JsonErrorPosition where;
  auto result = JsonDocument::parse("{\n\"a\": \"" + std::string(30, 'x') + "\ty\"}", {}, &where);
  ASSERT_FALSE(result.isOk());
  EXPECT_EQ(where.line, 2u);
  EXPECT_FALSE(JsonDocument::parse("[\"a\nb\"]").isOk());
  EXPECT_FALSE(JsonDocument::parse(std::string("[\"a\0b\"]", 7)).isOk());
}

TEST(JsonDocument, RejectsANulByteAfterTheRootValue) {
  // RapidJSON stops at a NUL byte; what follows it must not be silently ignored.
  JsonErrorPosition where;
  auto result = JsonDocument::parse(std::string("{\"a\":1}\n\0garbage", 16), {}, &where);
  ASSERT_FALSE(result.isOk());
  EXPECT_EQ(where.line, 2u);
  EXPECT_EQ(where.offset, 8u);
  EXPECT_FALSE(JsonDocument::parse(std::string("[1]\0", 4)).isOk());
  EXPECT_TRUE(JsonDocument::parse("[1] \n").isOk());
}

TEST(JsonDocument, TruncatedMultiByteSequenceAtTheEndStaysInsideTheBuffer) {
  // Found by the fuzzer (fuzz/regressions/): an unterminated string ending in a UTF-8 lead byte.
  std::string text = "[\"" + std::string(40, 'a') + "\xE0";
  text.shrink_to_fit();
  EXPECT_FALSE(JsonDocument::parse(std::move(text)).isOk());
  EXPECT_FALSE(JsonDocument::parse(std::string("\"\xF0\x9F", 3)).isOk());
}

TEST(JsonDocument, RejectsDuplicateKeys) {
  auto result = JsonDocument::parse(R"({"id":"a","name":[],"id":"b"})");
  ASSERT_FALSE(result.isOk());
  EXPECT_NE(result.status().message().find("'id'"), std::string::npos) << result.status().message();
  std::string many = "{";
  for (int i = 0; i < 40; ++i) many += "\"k" + std::to_string(i) + "\":1,";
  many += "\"k7\":2}";
  EXPECT_FALSE(JsonDocument::parse(many).isOk());
  // Every object size up to past the pairwise/sort boundary, with keys that share sizes and first bytes.
  for (int n = 2; n < 40; ++n) {
    std::string distinct = "{";
    for (int i = 0; i < n; ++i) distinct += std::string(i == 0 ? "" : ",") + "\"k" + std::to_string(100 + i) + "\":1";
    EXPECT_TRUE(JsonDocument::parse(distinct + "}").isOk()) << n;
    EXPECT_FALSE(JsonDocument::parse(distinct + ",\"k" + std::to_string(100 + n / 2) + "\":2}").isOk()) << n;
  }
  EXPECT_FALSE(JsonDocument::parse(R"({"":1,"a":2,"":3})").isOk());
}

// The duplicate test has three regimes by object size (pairwise, a hash table of names, sorting): every size across
// both boundaries, with names that share their length and both end words (they differ only in the middle), empty
// names and one-byte names, a duplicate at many pairs of positions, each judged against a set of the names.
TEST(JsonDocument, DuplicateKeysAreFoundAtEveryObjectSizeAndPosition) {
  auto nameOf = [](int i) {
    switch (i % 4) {
      case 0: return "abcdefgh" + std::to_string(i) + "stuvwxyz";  // same ends, differ in the middle
      case 1: return std::string(1, static_cast<char>('a' + i % 26)) + std::to_string(i);
      case 2: return "x" + std::to_string(i);
      default: return "_" + std::to_string(i) + "extension";
    }
  };
  for (int n = 2; n <= 70; ++n) {
    std::vector<std::string> names;
    for (int i = 0; i < n; ++i) names.push_back(nameOf(i));
    if (n % 5 == 0) names[n / 3] = "";  // the empty name, once
    auto render = [](const std::vector<std::string>& keys) {
      std::string text = "{";
      for (size_t i = 0; i < keys.size(); ++i) text += (i == 0 ? "\"" : ",\"") + keys[i] + "\":" + std::to_string(i);
      return text + "}";
    };
    EXPECT_TRUE(JsonDocument::parse(render(names)).isOk()) << n;
    for (int a = 0; a < n; a += 1 + n / 7) {
      for (int b = a + 1; b < n; b += 1 + n / 5) {
        std::vector<std::string> keys = names;
        keys[b] = keys[a];
        const bool duplicate = std::set<std::string>(keys.begin(), keys.end()).size() != keys.size();
        auto result = JsonDocument::parse(render(keys));
        ASSERT_EQ(result.isOk(), !duplicate) << n << " " << a << " " << b;
        if (!keys[a].empty() && keys[a].size() <= 64 && keys[a][0] != '_') {
          EXPECT_NE(result.status().message().find("'" + keys[a] + "'"), std::string::npos)
              << result.status().message();
        }
      }
    }
  }
}

// The recursive reader runs up to kMaxRecursiveJsonDepth levels: at the deepest nesting the default limit allows,
// and on input far deeper than that, it must fit in a small thread stack (the gateway's threads have 8 MiB).
TEST(JsonDocument, RecursiveReaderFitsInASmallStackAtTheDepthLimit) {
  struct Job {
    bool at_limit_ok = false;
    bool deeper_rejected = false;
  } job;
  auto run = [](void* arg) -> void* {
    auto* j = static_cast<Job*>(arg);
    const uint32_t depth = kMaxRecursiveJsonDepth;
    j->at_limit_ok = JsonDocument::parse(std::string(depth, '[') + std::string(depth, ']')).isOk();
    const std::string deep(100000, '{');
    std::string objects;
    for (int i = 0; i < 5000; ++i) objects += "{\"a\":";
    j->deeper_rejected = !JsonDocument::parse(objects + "1" + std::string(5000, '}')).isOk() &&
                         !JsonDocument::parse(deep).isOk();
    return nullptr;
  };
  pthread_attr_t attr;
  ASSERT_EQ(pthread_attr_init(&attr), 0);
  // Sanitizer builds have much larger frames.
#if defined(__SANITIZE_ADDRESS__)
  constexpr size_t kStack = 2u << 20;
#else
  constexpr size_t kStack = 256u << 10;
#endif
  ASSERT_EQ(pthread_attr_setstacksize(&attr, kStack), 0);
  pthread_t thread;
  ASSERT_EQ(pthread_create(&thread, &attr, run, &job), 0);
  ASSERT_EQ(pthread_join(thread, nullptr), 0);
  pthread_attr_destroy(&attr);
  EXPECT_TRUE(job.at_limit_ok);
  EXPECT_TRUE(job.deeper_rejected);
}

TEST(JsonDocument, DeepNestingIsALimitNotACrash) {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  auto result = JsonDocument::parse(deep);
  ASSERT_FALSE(result.isOk());
  EXPECT_EQ(result.status().code(), StatusCode::kResourceExhausted);
  JsonLimits generous;
  generous.max_depth = 200000;
  EXPECT_TRUE(JsonDocument::parse(deep, generous).isOk());  // the iterative reader needs no deep C++ stack
}

TEST(JsonDocument, LongNumbersAndOversizedDocumentsAreLimits) {
  auto long_number = JsonDocument::parse("[" + std::string(500, '7') + "]");
  ASSERT_FALSE(long_number.isOk());
  EXPECT_EQ(long_number.status().code(), StatusCode::kResourceExhausted);
  JsonLimits small;
  small.max_bytes = 10;
  auto big = JsonDocument::parse(R"({"resourceType":"Patient"})", small);
  ASSERT_FALSE(big.isOk());
  EXPECT_EQ(big.status().code(), StatusCode::kResourceExhausted);
}

TEST(JsonDocument, BuildersMakeNewValuesThatOutliveTheirInputs) {
  JsonDocument doc = parseOk(R"({"resourceType":"Patient","id":"a"})");
  std::string key = "meta";
  JsonValue meta;
  {
    const JsonMember version[] = {{"versionId", doc.makeString("2")}};
    meta = doc.makeObject(version);
  }
  JsonValue root = doc.withMember(doc.root(), key, meta);
  root = doc.withMember(root, "id", doc.makeString("b"));
  key = "overwritten";
  doc.setRoot(doc.withoutMember(root, "resourceType"));
  EXPECT_EQ(writeJson(doc.root()), R"({"id":"b","meta":{"versionId":"2"}})");
}

TEST(JsonDocument, EqualityIgnoresMemberOrderButNotNumberText) {
  JsonDocument a = parseOk(R"({"x":[1,2],"y":{"p":1.0}})");
  JsonDocument b = parseOk(R"({"y":{"p":1.0},"x":[1,2]})");
  JsonDocument c = parseOk(R"({"y":{"p":1.00},"x":[1,2]})");
  EXPECT_TRUE(jsonEqual(a.root(), b.root()));
  EXPECT_FALSE(jsonEqual(a.root(), c.root()));
}

TEST(JsonDocument, ValuesStayValidAfterTheDocumentMoves) {
  JsonDocument doc = parseOk(R"({"a":"b"})");
  const JsonValue root = doc.root();
  JsonDocument moved = std::move(doc);
  EXPECT_EQ(root.find("a")->text(), "b");
  EXPECT_EQ(moved.root().find("a")->text(), "b");
}

TEST(JsonDocument, RoundTripsEveryOfficialExampleExactly) {
  const std::filesystem::path dir = std::filesystem::path(PLANBRO_SHARED_DIR) / "fhir-r4/examples";
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".json") continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream buffer;
    buffer << in.rdbuf();
    JsonDocument first = parseOk(buffer.str());
    JsonDocument second = parseOk(writeJson(first.root()));
    EXPECT_TRUE(jsonEqual(first.root(), second.root())) << entry.path();
    ++count;
  }
  EXPECT_GT(count, 50);
}

TEST(JsonDocument, RefusesALoneSurrogateEscapeAndKeepsSurrogatePairs) {
  // A lone low surrogate used to decode to bytes that are not UTF-8: stored, the resource no longer parsed.
  for (const char* text : {R"({"a":"x\uDD2Dy"})", R"({"a":"\uDFFF"})", R"({"x\uDC00":1})", R"({"a":"\uD83D"})"}) {
    auto doc = JsonDocument::parse(text);
    EXPECT_FALSE(doc.isOk()) << text;
  }
  // The check runs only on strings that had an escape: anywhere in a long string or key, and with the iterative
  // reader (a depth limit above kMaxRecursiveJsonDepth) too.
  JsonLimits iterative;
  iterative.max_depth = kMaxRecursiveJsonDepth + 1;
  const std::string pad(37, 'p');
  for (const std::string& text : {"{\"a\":\"" + pad + "\\uDC01" + pad + "\"}", "{\"" + pad + "\\uDFFE\":1}",
                                  "[\"\\n" + pad + "\\uDC00\"]"}) {
    EXPECT_FALSE(JsonDocument::parse(text).isOk()) << text;
    EXPECT_FALSE(JsonDocument::parse(text, iterative).isOk()) << text;
  }
  JsonDocument pair = parseOk(R"({"a":"\uD83D\uDE00 \u00E6"})");
  EXPECT_EQ(pair.root().find("a")->text(), "\xF0\x9F\x98\x80 \xC3\xA6");
  JsonDocument again = parseOk(writeJson(pair.root()));
  EXPECT_TRUE(jsonEqual(pair.root(), again.root()));
}


TEST(JsonDocument, FindComparesWholeNamesOfEveryLength) {
  // find compares names of up to 16 bytes by their end words: names that differ in any one byte, at any length,
  // must still be told apart.
  const std::string alphabet = "abcdefghijklmnopqrstuvwxyz";
  for (size_t n = 0; n <= 24; ++n) {
    const std::string name = alphabet.substr(0, n);
    std::string json = "{";
    for (size_t i = 0; i < n; ++i) {
      std::string other = name;
      other[i] = 'Z';
      json += "\"" + other + "\":0,";
    }
    json += "\"" + name + "\":1}";
    Result<JsonDocument> doc = JsonDocument::parse(json);
    ASSERT_TRUE(doc.isOk()) << json;
    const JsonValue* found = doc->root().find(name);
    ASSERT_NE(found, nullptr) << n;
    EXPECT_EQ(found->text(), "1") << n;
    EXPECT_EQ(doc->root().find(name + "y"), nullptr) << n;
    if (n > 0) {
      EXPECT_EQ(doc->root().find(name.substr(0, n - 1) + "Q"), nullptr) << n;
    }
  }
}

}  // namespace
}  // namespace planbro::fhir
