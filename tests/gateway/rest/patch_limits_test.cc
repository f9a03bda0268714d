// The limits parsed input has hold for every tree a patch builds (issue 8): nesting, string size and the size of the
// whole resource, after every operation, for JSON Patch and FHIRPath Patch, alone and inside a transaction.

#include <gtest/gtest.h>

#include <string>

#include "planbro/fhir-model/base64.h"
#include "planbro/fhir-model/json.h"
#include "planbro/gateway/rest/fhirpath_patch.h"
#include "planbro/gateway/rest/json_patch.h"
#include "planbro/gateway/rest/tree_meter.h"
#include "rest_fixture.h"

namespace planbro::gateway::rest {
namespace {

using fhir::JsonDocument;
using fhir::JsonValue;

JsonDocument parse(std::string text) {
  auto d = JsonDocument::parse(std::move(text));
  EXPECT_TRUE(d.isOk()) << d.status().message();
  return d.isOk() ? std::move(d).value() : JsonDocument();
}

std::string repeat(std::string_view s, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += s;
  return out;
}

// Twelve `copy` operations, each copying Patient.extension to the end of its own chain: the chain doubles per
// operation, 4,096 extensions deep after the twelfth (the probe of issue 8).
std::string nestingCopyPatch(int ops = 12) {
  std::string patch = "[";
  for (int k = 0; k < ops; ++k) {
    if (k) patch += ',';
    patch += R"({"op":"copy","from":"/extension","path":")" + repeat("/extension/0", size_t{1} << k) + "/extension\"}";
  }
  return patch + "]";
}

// `copy` of /contact to its own end, 30 times: each doubles the resource (2^30 times the first contact).
std::string doublingCopyPatch(int ops = 30) {
  std::string patch = "[";
  for (int k = 0; k < ops; ++k) {
    if (k) patch += ',';
    patch += R"({"op":"copy","from":"/contact","path":"/contact/-"})";
  }
  return patch + "]";
}

constexpr std::string_view kNestable = R"({"resourceType":"Patient","id":"p","extension":[{"url":"http://example.org/x","valueString":"x"}]})";

TEST(TreeMeter, MeasuresCompactJsonSizeAndDepthExactly) {
  JsonDocument doc = parse(R"({"a":[1,"t\"x\n",{"b":null}],"c":true,"d":{}})");
  TreeMeter meter(fhir::JsonLimits{});
  TreeMeasure m = meter.measure(doc.root());
  EXPECT_EQ(m.bytes, fhir::writeJson(doc.root()).size());
  EXPECT_EQ(m.depth, 3u);
  EXPECT_EQ(m.longest_string, 4u);
}

TEST(TreeMeter, CountsASharedSubtreeOnceEachTimeItAppearsWithoutWalkingItAgain) {
  JsonDocument doc;
  JsonValue leaf = doc.makeString(std::string(100, 'x'));
  JsonValue v = doc.makeArray(std::span<const JsonValue>(&leaf, 1));
  for (int i = 0; i < 60; ++i) {  // 2^60 copies of the string: far beyond anything serialisable
    JsonValue pair[2] = {v, v};
    v = doc.makeArray(pair);
  }
  TreeMeter meter(fhir::JsonLimits{});
  TreeMeasure m = meter.measure(v);
  EXPECT_GT(m.bytes, uint64_t{1} << 60);
  EXPECT_EQ(m.depth, 61u);
  Status s = meter.check(v, "here");
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted);
  EXPECT_LT(s.message().size(), 300u) << s.message();
}

TEST(TreeMeter, MeasuringAfterOneEditWalksOnlyTheNewNodes) {
  std::string text = R"({"resourceType":"Patient","id":"p","extension":[)";
  for (int i = 0; i < 10000; ++i) {
    text += std::string(i ? "," : "") + R"({"url":"http://example.org/x","valueString":")" + std::string(300, 'a') + "\"}";
  }
  JsonDocument doc = parse(text + "]}");
  TreeMeter meter(fhir::JsonLimits{});
  const uint64_t first = meter.measure(doc.root()).bytes;
  EXPECT_EQ(first, fhir::writeJson(doc.root()).size());
  const uint64_t walked_once = meter.containersWalked();
  EXPECT_GE(walked_once, 10002u);
  // Replace one extension: a new root, a new list and a new extension; 9,999 extensions are shared.
  JsonDocument patch = parse(R"([{"op":"replace","path":"/extension/5000/valueString","value":"b"}])");
  auto edited = applyJsonPatch(doc, doc.root(), patch.root());
  ASSERT_TRUE(edited.isOk());
  EXPECT_EQ(meter.measure(*edited).bytes, first - 299);
  EXPECT_LE(meter.containersWalked() - walked_once, 3u);
}

TEST(PatchLimits, JsonPatchNestingCopiesStopAtTheDepthLimitNamingTheOperation) {
  JsonDocument doc = parse(std::string(kNestable));
  JsonDocument patch = parse(nestingCopyPatch());
  fhir::JsonLimits limits;  // max_depth 256
  auto r = applyJsonPatch(doc, doc.root(), patch.root(), limits);
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), StatusCode::kResourceExhausted);
  // After operation k the chain is 2^(k+1) extensions, 2 levels each: operation 6 (128 extensions) crosses 256.
  EXPECT_NE(r.status().message().find("operation 6 (copy)"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("limits.json.max_depth"), std::string::npos) << r.status().message();

  // One operation fewer stays inside, and the result is the chain the operations describe.
  JsonDocument doc2 = parse(std::string(kNestable));
  JsonDocument patch2 = parse(nestingCopyPatch(6));
  auto ok = applyJsonPatch(doc2, doc2.root(), patch2.root(), limits);
  ASSERT_TRUE(ok.isOk()) << ok.status().message();
  TreeMeter meter(limits);
  EXPECT_EQ(meter.measure(*ok).depth, 1u + 2u * 64u);
}

TEST(PatchLimits, JsonPatchDoublingCopiesStopAtTheSizeLimitBeforeTheTreeIsWritten) {
  JsonDocument doc = parse(R"({"resourceType":"Patient","id":"p","contact":[{"name":{"text":")" + std::string(1000, 'a') +
                           R"("}}]})");
  JsonDocument patch = parse(doublingCopyPatch());
  fhir::JsonLimits limits;
  limits.max_bytes = 1u << 20;
  limits.max_depth = 1000;  // only the size stops it
  auto r = applyJsonPatch(doc, doc.root(), patch.root(), limits);
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), StatusCode::kResourceExhausted);
  // 1,023 bytes of contact double to 1,047,552 after operation 9 and past 1 MiB at operation 10.
  EXPECT_NE(r.status().message().find("operation 10 (copy)"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("limits.max_body_bytes"), std::string::npos) << r.status().message();

  // The measure is the size the tree has when written: ten operations pass, and are below the limit as JSON.
  JsonDocument doc2 = parse(fhir::writeJson(doc.root()));
  JsonDocument patch2 = parse(doublingCopyPatch(10));
  auto ok = applyJsonPatch(doc2, doc2.root(), patch2.root(), limits);
  ASSERT_TRUE(ok.isOk()) << ok.status().message();
  size_t written = fhir::writeJson(*ok).size();
  EXPECT_LE(written, limits.max_bytes);
  EXPECT_GT(written, limits.max_bytes / 2);
}

TEST(PatchLimits, JsonPatchEditsADeepTreeWithoutRecursingOnItsDepth) {
  // 20,000 levels (beyond what recursion on a sanitizer stack survives), edited at the bottom.
  const size_t levels = 20000;
  std::string text = repeat(R"({"a":)", levels) + "1" + std::string(levels, '}');
  fhir::JsonLimits deep;
  deep.max_depth = 30000;
  auto parsed = JsonDocument::parse(text, deep);
  ASSERT_TRUE(parsed.isOk()) << parsed.status().message();
  JsonDocument doc = std::move(parsed).value();
  JsonDocument patch = parse(R"([{"op":"replace","path":")" + repeat("/a", levels) + R"(","value":2}])");
  auto r = applyJsonPatch(doc, doc.root(), patch.root(), deep);
  ASSERT_TRUE(r.isOk()) << r.status().message();
  const JsonValue* v = &*r;
  for (size_t i = 0; i < levels && v; ++i) v = v->find("a");
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->text(), "2");
}

// A FHIRPath Patch `add` whose value is `levels` extensions nested in one another.
std::string nestedExtension(size_t levels) {
  return repeat(R"({"url":"http://example.org/x","extension":[)", levels) + R"({"url":"http://example.org/x","valueString":"x"})" +
         repeat("]}", levels);
}

std::string fhirPathAdd(const std::string& path, const std::string& value_json) {
  return R"({"name":"operation","part":[{"name":"type","valueCode":"add"},{"name":"path","valueString":")" + path +
         R"("},{"name":"name","valueString":"extension"},{"name":"value","valueExtension":)" + value_json + "}]}";
}

TEST(PatchLimits, FhirPathPatchNestingStopsAtTheDepthLimitNamingTheOperation) {
  // Each add puts 50 more levels of extensions (100 JSON levels) under the deepest one so far.
  std::string params = R"({"resourceType":"Parameters","parameter":[)";
  for (int k = 0; k < 4; ++k) {
    if (k) params += ',';
    params += fhirPathAdd("Patient" + repeat(".extension", size_t(k) * 51), nestedExtension(50));
  }
  params += "]}";
  JsonDocument doc = parse(R"({"resourceType":"Patient","id":"p"})");
  JsonDocument patch = parse(params);
  auto r = applyFhirPathPatch(doc, doc.root(), patch.root(), fhir::JsonLimits{});
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(r.status().message().find("Parameters.parameter[2] (add)"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("limits.json.max_depth"), std::string::npos) << r.status().message();
}

TEST(PatchLimits, FhirPathPatchGrowthStopsAtTheSizeLimit) {
  std::string params = R"({"resourceType":"Parameters","parameter":[)";
  for (int k = 0; k < 20; ++k) {
    if (k) params += ',';
    params += fhirPathAdd("Patient", R"({"url":"http://example.org/x","valueString":")" + std::string(10000, 'a') + "\"}");
  }
  params += "]}";
  JsonDocument doc = parse(R"({"resourceType":"Patient","id":"p"})");
  JsonDocument patch = parse(params);
  fhir::JsonLimits limits;
  limits.max_bytes = 100000;
  auto r = applyFhirPathPatch(doc, doc.root(), patch.root(), limits);
  ASSERT_FALSE(r.isOk());
  // Ten 10 KB extensions pass 100,000 bytes at the tenth (parameter[9]).
  EXPECT_NE(r.status().message().find("Parameters.parameter[9] (add)"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("limits.max_body_bytes"), std::string::npos) << r.status().message();
}

TEST(PatchLimits, FhirPathPatchDeletesDeepInATreeWithoutRecursingOnItsDepth) {
  // 5,000 nested extensions (10,000 JSON levels); delete the innermost one's value.
  const size_t levels = 5000;
  fhir::JsonLimits deep;
  deep.max_depth = 20000;
  auto parsed = JsonDocument::parse(R"({"resourceType":"Patient","id":"p","extension":[)" + nestedExtension(levels) + "]}", deep);
  ASSERT_TRUE(parsed.isOk()) << parsed.status().message();
  JsonDocument doc = std::move(parsed).value();
  // The path itself is evaluated by the FHIRPath engine; delete what the first level holds, found by address.
  JsonDocument patch = parse(R"({"resourceType":"Parameters","parameter":[{"name":"operation","part":[
    {"name":"type","valueCode":"delete"},{"name":"path","valueString":"Patient.extension.url"}]}]})");
  auto r = applyFhirPathPatch(doc, doc.root(), patch.root(), deep);
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r->find("extension")->items()[0].find("url"), nullptr);
}

// ---------------------------------------------------------------------------------------------------------------
// Over HTTP: 422 with a short OperationOutcome, nothing stored, the server still answering.

class PatchLimitsOverHttp : public testing::RestServerTest {
 protected:
  RestOptions restOptions() override {
    RestOptions o;
    o.json_limits.max_bytes = 256 * 1024;
    o.max_patch_operations = 40;
    return o;
  }
  static std::string issueCode(const testing::HttpResult& r) {
    const fhir::JsonValue* issues = r.root().find("issue");
    const fhir::JsonValue* code = issues && issues->size() ? issues->items()[0].find("code") : nullptr;
    return code ? std::string(code->text()) : std::string();
  }
  std::string createNestable() {
    testing::HttpResult r = post("/Patient", R"({"resourceType":"Patient","extension":[{"url":"http://example.org/x","valueString":"x"}],
      "contact":[{"name":{"text":")" + std::string(1000, 'a') + R"("}}]})");
    EXPECT_EQ(r.status, 201) << r.body;
    return r.str("id");
  }
  testing::HttpResult jsonPatch(const std::string& id, const std::string& patch) {
    return testing::request(port_, "PATCH", "/Patient/" + id, patch, {{"Content-Type", "application/json-patch+json"}});
  }
  void expectUnchanged(const std::string& id) {
    testing::HttpResult now = get("/Patient/" + id);
    EXPECT_EQ(now.status, 200);
    EXPECT_EQ(now.header("etag"), "W/\"1\"");
  }
};

TEST_P(PatchLimitsOverHttp, TwelveNestingCopiesAnswer422NamingTheOperation) {
  std::string id = createNestable();
  testing::HttpResult r = jsonPatch(id, nestingCopyPatch());
  EXPECT_EQ(r.status, 422) << r.body.substr(0, 500);
  EXPECT_EQ(r.str("resourceType"), "OperationOutcome");
  EXPECT_NE(r.body.find("operation 6 (copy)"), std::string::npos) << r.body.substr(0, 500);
  EXPECT_EQ(issueCode(r), "too-costly");
  EXPECT_LT(r.body.size(), 2000u);
  expectUnchanged(id);
}

TEST_P(PatchLimitsOverHttp, MoreOperationsThanTheLimitAnswer422BeforeAnyIsApplied) {
  std::string id = createNestable();
  auto ops = [](int n) {
    std::string patch = "[";
    for (int k = 0; k < n; ++k) patch += std::string(k ? "," : "") + R"({"op":"test","path":"/resourceType","value":"Patient"})";
    return patch + "]";
  };
  EXPECT_EQ(jsonPatch(id, ops(40)).status, 200);
  testing::HttpResult r = jsonPatch(id, ops(41));
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_EQ(issueCode(r), "too-costly");
  EXPECT_NE(r.body.find("limits.max_patch_operations"), std::string::npos) << r.body;

  std::string params = R"({"resourceType":"Parameters","parameter":[)";
  for (int k = 0; k < 41; ++k) {
    params += std::string(k ? "," : "") +
              R"({"name":"operation","part":[{"name":"type","valueCode":"delete"},{"name":"path","valueString":"Patient.birthDate"}]})";
  }
  testing::HttpResult f = testing::request(port_, "PATCH", "/Patient/" + id, params + "]}");
  EXPECT_EQ(f.status, 422) << f.body;
  EXPECT_NE(f.body.find("limits.max_patch_operations"), std::string::npos) << f.body;
}

TEST_P(PatchLimitsOverHttp, DoublingCopiesAnswer422BeforeAnythingIsStored) {
  std::string id = createNestable();
  testing::HttpResult r = jsonPatch(id, doublingCopyPatch());
  EXPECT_EQ(r.status, 422) << r.body.substr(0, 500);
  EXPECT_NE(r.body.find("limits.max_body_bytes"), std::string::npos) << r.body.substr(0, 500);
  EXPECT_LT(r.body.size(), 2000u);
  expectUnchanged(id);
}

TEST_P(PatchLimitsOverHttp, FhirPathPatchBeyondTheLimitsAnswers422) {
  std::string id = createNestable();
  std::string params = R"({"resourceType":"Parameters","parameter":[)";
  for (int k = 0; k < 4; ++k) {
    if (k) params += ',';
    params += fhirPathAdd("Patient" + repeat(".extension", size_t(k) * 51 + 1), nestedExtension(50));
  }
  params += "]}";
  testing::HttpResult r = testing::request(port_, "PATCH", "/Patient/" + id, params);
  EXPECT_EQ(r.status, 422) << r.body.substr(0, 500);
  EXPECT_NE(r.body.find("Parameters.parameter["), std::string::npos) << r.body.substr(0, 500);
  EXPECT_NE(r.body.find("limits.json.max_depth"), std::string::npos) << r.body.substr(0, 500);
  expectUnchanged(id);
}

TEST_P(PatchLimitsOverHttp, APatchEntryBeyondTheLimitsFailsTheWholeTransaction) {
  std::string id = createNestable();
  std::string data = fhir::base64Encode(doublingCopyPatch());
  std::string tx = R"({"resourceType":"Bundle","type":"transaction","entry":[
    {"fullUrl":"urn:uuid:9d8f4c2e-0000-4000-8000-000000000001","resource":{"resourceType":"Goal","lifecycleStatus":"active",
     "description":{"text":"x"},"subject":{"reference":"Patient/)" + id + R"("}},"request":{"method":"POST","url":"Goal"}},
    {"resource":{"resourceType":"Binary","contentType":"application/json-patch+json","data":")" + data + R"("},
     "request":{"method":"PATCH","url":"Patient/)" + id + R"("}}]})";
  testing::HttpResult r = post("/", tx);
  EXPECT_EQ(r.status, 422) << r.body.substr(0, 500);
  EXPECT_NE(r.body.find("limits.max_body_bytes"), std::string::npos) << r.body.substr(0, 500);
  expectUnchanged(id);
  EXPECT_EQ(get("/Goal?subject=Patient/" + id + "&_summary=count").root().find("total")->text(), "0");
}

TEST_P(PatchLimitsOverHttp, AFhirPathPatchEntryBeyondTheLimitsFailsTheWholeTransaction) {
  std::string id = createNestable();
  std::string params = R"({"resourceType":"Parameters","parameter":[)";
  for (int k = 0; k < 4; ++k) {
    if (k) params += ',';
    params += fhirPathAdd("Patient" + repeat(".extension", size_t(k) * 51 + 1), nestedExtension(50));
  }
  params += "]}";
  std::string tx = R"({"resourceType":"Bundle","type":"transaction","entry":[
    {"fullUrl":"urn:uuid:9d8f4c2e-0000-4000-8000-000000000002","resource":{"resourceType":"Goal","lifecycleStatus":"active",
     "description":{"text":"x"},"subject":{"reference":"Patient/)" + id + R"("}},"request":{"method":"POST","url":"Goal"}},
    {"resource":)" + params + R"(,"request":{"method":"PATCH","url":"Patient/)" + id + R"("}}]})";
  testing::HttpResult r = post("/", tx);
  EXPECT_EQ(r.status, 422) << r.body.substr(0, 500);
  EXPECT_NE(r.body.find("limits.json.max_depth"), std::string::npos) << r.body.substr(0, 500);
  expectUnchanged(id);
  EXPECT_EQ(get("/Goal?subject=Patient/" + id + "&_summary=count").root().find("total")->text(), "0");
}

INSTANTIATE_TEST_SUITE_P(Engines, PatchLimitsOverHttp, ::testing::ValuesIn(testing::engines()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace planbro::gateway::rest
