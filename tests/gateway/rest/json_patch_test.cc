// JSON Patch against the RFC 6902 test vectors in ../shared/fhir-r4/fhirpath-tests/json-patch-tests.json.

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "planbro/fhir-model/json.h"
#include "planbro/gateway/rest/json_patch.h"

namespace planbro::gateway::rest {
namespace {

using fhir::JsonDocument;

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(JsonPatch, PassesEveryRfc6902TestVector) {
  auto parsed = JsonDocument::parse(readFile(std::string(PLANBRO_SHARED_DIR) + "/fhir-r4/fhirpath-tests/json-patch-tests.json"));
  ASSERT_TRUE(parsed.isOk()) << parsed.status().message();
  ASSERT_TRUE(parsed->root().isArray());
  ASSERT_GT(parsed->root().size(), 10u);
  size_t checked = 0;
  for (const fhir::JsonValue& t : parsed->root().items()) {
    const fhir::JsonValue* comment = t.find("comment");
    std::string name = comment ? std::string(comment->text()) : "?";
    const fhir::JsonValue* doc = t.find("doc");
    const fhir::JsonValue* patch = t.find("patch");
    ASSERT_TRUE(doc && patch) << name;
    if (const fhir::JsonValue* disabled = t.find("disabled"); disabled && disabled->boolean()) continue;
    JsonDocument out;
    auto result = applyJsonPatch(out, *doc, *patch);
    if (const fhir::JsonValue* expected = t.find("expected")) {
      ASSERT_TRUE(result.isOk()) << name << ": " << result.status().message();
      EXPECT_TRUE(jsonEqual(*result, *expected)) << name << ": got " << fhir::writeJson(*result);
    } else if (t.find("error")) {
      EXPECT_FALSE(result.isOk()) << name << ": expected an error, got " << fhir::writeJson(*result);
    }
    ++checked;
  }
  EXPECT_GT(checked, 10u);
}

TEST(JsonPatch, RejectsMalformedPatchAsInvalidArgumentAndFailedTestAsUnprocessable) {
  auto doc = JsonDocument::parse(R"({"a":1})");
  ASSERT_TRUE(doc.isOk());
  JsonDocument out;
  auto notArray = JsonDocument::parse(R"({"op":"add"})");
  ASSERT_TRUE(notArray.isOk());
  EXPECT_EQ(applyJsonPatch(out, doc->root(), notArray->root()).status().code(), StatusCode::kInvalidArgument);
  auto failing = JsonDocument::parse(R"([{"op":"test","path":"/a","value":2}])");
  ASSERT_TRUE(failing.isOk());
  EXPECT_EQ(applyJsonPatch(out, doc->root(), failing->root()).status().code(), StatusCode::kUnprocessable);
  auto unknownOp = JsonDocument::parse(R"([{"op":"frobnicate","path":"/a"}])");
  ASSERT_TRUE(unknownOp.isOk());
  EXPECT_EQ(applyJsonPatch(out, doc->root(), unknownOp->root()).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace planbro::gateway::rest
