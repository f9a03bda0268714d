// libFuzzer target: arbitrary bytes as a JSON Patch document (RFC 6902), applied to a fixed Patient again and again
// (up to 8 rounds, each on the previous result), as hostile PATCH requests would. After every round the result is
// held to the tree limits (checkTreeLimits) the gateway applies, and a result within them must serialise and parse
// back to an equal tree. Nothing may crash, and a result past the limits is never walked further. Run by
// scripts/fuzz.sh json_patch_fuzzer.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "planbro/fhir-model/json.h"
#include "planbro/fhir-model/json_tree_limits.h"
#include "planbro/gateway/rest/json_patch.h"

namespace {

using namespace planbro::fhir;  // NOLINT(google-build-using-namespace)

constexpr const char* kPatient = R"({"resourceType":"Patient","id":"p1","active":true,
  "extension":[{"url":"http://example.org/e","valueString":"x"}],
  "name":[{"family":"Nordmann","given":["Kari","Ola"]}],"identifier":[{"system":"urn:x","value":"1"}]})";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  JsonLimits limits;
  limits.max_bytes = 64u << 10;
  limits.max_depth = 64;
  auto patch = JsonDocument::parse(std::string(reinterpret_cast<const char*>(data), size), limits);
  if (!patch.isOk()) return 0;
  auto base = JsonDocument::parse(kPatient);
  if (!base.isOk()) std::abort();
  JsonDocument doc = std::move(base).value();
  JsonValue current = doc.root();
  JsonLimits tree_limits;
  tree_limits.max_depth = 128;
  const uint64_t max_bytes = 256u << 10;
  for (int round = 0; round < 8; ++round) {
    auto patched = planbro::gateway::rest::applyJsonPatch(doc, current, patch->root());
    if (!patched.isOk()) break;
    current = *patched;
    if (!checkTreeLimits(current, tree_limits, max_bytes).isOk()) return 0;  // the gateway answers 4xx here
  }
  std::string text = writeJson(current);
  JsonLimits reparse_limits;
  reparse_limits.max_depth = 128;
  auto again = JsonDocument::parse(text, reparse_limits);
  if (!again.isOk() || !jsonEqual(again->root(), current)) std::abort();
  return 0;
}
