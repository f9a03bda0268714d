// libFuzzer target: JSON Patch sequences. The input is one JSON object {"doc": ..., "patch": [...]} (the shape of the
// RFC 6902 test vectors, which seed it). Checks, besides ASan/UBSan: every failure is one of the documented codes;
// every result is inside the limits (written, it is at most max_bytes and parses back under the same limits to an
// equal tree), and the tree meter's size is exactly the written size. A meter that undercounts a shared subtree
// would make the writer run out of memory or time here. Run by scripts/fuzz.sh json_patch_meter_fuzzer.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "planbro/fhir-model/json.h"
#include "planbro/gateway/rest/json_patch.h"
#include "planbro/gateway/rest/tree_meter.h"

namespace {

using planbro::StatusCode;
using planbro::fhir::JsonDocument;
using planbro::fhir::JsonValue;

// Small limits keep each run fast and make the size and depth limits reachable in a few operations.
planbro::fhir::JsonLimits fuzzLimits() {
  planbro::fhir::JsonLimits limits;
  limits.max_bytes = 64u << 10;
  limits.max_depth = 48;
  limits.max_string_bytes = 16u << 10;
  return limits;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto limits = fuzzLimits();
  auto input = JsonDocument::parse(std::string(reinterpret_cast<const char*>(data), size), limits);
  if (!input.isOk()) return 0;
  const JsonValue* doc = input->root().find("doc");
  const JsonValue* patch = input->root().find("patch");
  if (!doc || !patch) return 0;
  // Only inputs the parser and writer agree on: a parser that accepts what its writer cannot give back (a lone
  // surrogate escape, today) is json_validate_fuzzer's finding, not this target's.
  if (!JsonDocument::parse(planbro::fhir::writeJson(input->root()), limits).isOk()) return 0;

  JsonDocument out;
  auto result = planbro::gateway::rest::applyJsonPatch(out, *doc, *patch, limits);
  if (!result.isOk()) {
    const StatusCode code = result.status().code();
    if (code != StatusCode::kInvalidArgument && code != StatusCode::kUnprocessable &&
        code != StatusCode::kResourceExhausted) {
      std::abort();
    }
    return 0;
  }
  const std::string written = planbro::fhir::writeJson(*result);
  if (written.size() > limits.max_bytes) std::abort();
  planbro::gateway::rest::TreeMeter meter(limits);
  if (meter.measure(*result).bytes != written.size()) std::abort();
  auto reparsed = JsonDocument::parse(written, limits);
  if (!reparsed.isOk() || !jsonEqual(*result, reparsed->root())) std::abort();
  return 0;
}
