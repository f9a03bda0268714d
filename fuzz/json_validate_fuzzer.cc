// libFuzzer target: arbitrary bytes → JsonDocument::parse → validateResource → serialise, checking on the way that
// nothing crashes (ASan/UBSan) and that serialised JSON parses back to an equal tree. The same bytes, as they are and
// inside a root <div>, are also given to the narrative fast path (isPlainAcceptableXhtml), which must never accept
// what libxml2 and the narrative rules reject. Run by scripts/fuzz.sh.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "../fhir-model/src/validation/narrative.h"

#include "planbro/fhir-model/json.h"
#include "planbro/fhir-model/validator.h"

#if __has_include("planbro/fhir-model/resource_json.h")
#include "planbro/fhir-model/resource_json.h"
#define PLANBRO_FUZZ_HAVE_RESOURCE_JSON 1
#endif

namespace {

using planbro::fhir::JsonDocument;

// Limits tighter than the defaults keep each run fast; the parser's limit logic is exercised all the same.
planbro::fhir::JsonLimits fuzzLimits() {
  planbro::fhir::JsonLimits limits;
  limits.max_bytes = 1u << 20;
  limits.max_depth = 64;
  return limits;
}

// The fast path only ever answers "acceptable"; when it does, the authority must agree.
void checkNarrativeAgreement(std::string_view div) {
  using planbro::fhir::validation::checkNarrativeXhtmlWithLibxml2;
  using planbro::fhir::validation::isPlainAcceptableXhtml;
  if (isPlainAcceptableXhtml(div) && !checkNarrativeXhtmlWithLibxml2(div).empty()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  checkNarrativeAgreement(bytes);
  checkNarrativeAgreement(R"(<div xmlns="http://www.w3.org/1999/xhtml">)" + std::string(bytes) + "</div>");

  const auto limits = fuzzLimits();
  auto doc = JsonDocument::parse(std::string(reinterpret_cast<const char*>(data), size), limits);
  if (!doc.isOk()) return 0;

  planbro::fhir::ValidationOptions options;
  options.json_limits = limits;
  const auto outcome = planbro::fhir::validateResource(doc->root(), options);
  // The outcome itself must serialise to JSON that parses.
  if (!JsonDocument::parse(outcome.toJson()).isOk()) std::abort();

  // writeJson is lossless: its output must parse back to an equal tree.
  const std::string written = planbro::fhir::writeJson(doc->root());
  auto reparsed = JsonDocument::parse(written, limits);
  if (!reparsed.isOk() || !jsonEqual(doc->root(), reparsed->root())) std::abort();

#ifdef PLANBRO_FUZZ_HAVE_RESOURCE_JSON
  const std::string resource_json = planbro::fhir::writeResourceJson(doc->root());
  if (!resource_json.empty() && !JsonDocument::parse(resource_json, limits).isOk()) std::abort();
#endif
  return 0;
}
