// libFuzzer target: arbitrary bytes as a FHIRPath expression, compiled and evaluated over a fixed Patient (with a
// contained resource, extensions, long strings and numbers). Nothing may crash (ASan/UBSan), hang or blow memory:
// the step budget and size bounds (EvaluationLimits) and RE2 hold for whatever the expression does. A result must
// serialise with toJson(). Run by scripts/fuzz.sh fhirpath_fuzzer.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "planbro/fhir-model/fhirpath.h"
#include "planbro/fhir-model/json.h"

namespace {

using namespace planbro::fhir;  // NOLINT(google-build-using-namespace)

const JsonDocument& resource() {
  static const JsonDocument* doc = [] {
    std::string text = R"({"resourceType":"Patient","id":"p1","meta":{"profile":["http://example.org/p"]},
      "text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>"},
      "contained":[{"resourceType":"Organization","id":"o1","name":"Org","partOf":{"reference":"#o1"}}],
      "extension":[{"url":"http://example.org/e","valueQuantity":{"value":1.50,"unit":"mg","system":"http://unitsofmeasure.org","code":"mg"}},
        {"url":"http://example.org/n","extension":[{"url":"a","valueInteger":3},{"url":"b","valueDateTime":"2012-01-01T10:00:00+01:00"}]}],
      "identifier":[{"system":"urn:oid:2.16.578.1.12.4.1.4.1","value":"15076500565"},{"system":"urn:x","value":"a"},
        {"system":"urn:x","value":"a"}],
      "active":true,"name":[{"family":")" + std::string(2000, 'a') + R"(","given":["Kari","Ola"]},{"text":"x y"}],
      "birthDate":"1965-07-15","multipleBirthInteger":2,"managingOrganization":{"reference":"#o1"},
      "_gender":{"extension":[{"url":"http://example.org/g","valueCode":"x"}]}})";
    auto parsed = JsonDocument::parse(std::move(text));
    if (!parsed.isOk()) std::abort();
    return new JsonDocument(std::move(parsed).value());
  }();
  return *doc;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096) return 0;  // the parser bounds longer expressions by node count; keep runs quick
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto expression = fhirpath::compile(text);
  if (!expression.isOk()) return 0;
  fhirpath::Environment env;
  // Tighter than the defaults so that each run stays fast; the same code paths enforce them.
  env.limits.max_steps = 200'000;
  env.limits.max_collection_items = 20'000;
  env.limits.max_string_bytes = 256u << 10;
  fhirpath::EvaluationStats stats;
  env.stats = &stats;
  env.now = fhirpath::DateTime{2026, 1, 1, 0, 0, 0, 0, fhirpath::DateTime::kSecond, true, 0};
  auto result = fhirpath::evaluate(**expression, resource().root(), env);
  // The budget is a bound, not an estimate: a run may overshoot it by at most one node's output.
  if (stats.steps > env.limits.max_steps + 4 * env.limits.max_collection_items + env.limits.max_string_bytes) {
    std::abort();
  }
  if (result.isOk()) (void)fhirpath::toJson(*result);
  return 0;
}
