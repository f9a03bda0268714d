// Throughput of parse + validate against profiles (a Validator over a ProfileSet), beside a bare RapidJSON DOM
// parse and parse + base validation (the free validateResource) of the same bytes. Prints, per input, the ratio of
// each to the bare parse (target for parse + profile validation: >= 0.5). Profiles: the core package's, HL7 Norway's
// no-basis (conformance/no-basis/) and the individual-plan package (conformance/ip/package/). Inputs:
//   NoBasisPatient  tests/data/bench/no-basis-Patient-Espen.json, claiming HL7 Norway's no-basis-Patient
//   IPDemo          conformance/demo/individual-plan-demo.json (the IP transaction Bundle), with the IP profiles
//                   required for its Goal, CareTeam and Consent and no-basis-Patient, -Organization and
//                   -Practitioner for the others; its CarePlans are held to what they claim, as the gateway holds
//                   them: every CarePlan the gateway recognises as an IP by its category claims ip-careplan (checked
//                   before the run), and the crisis plan, which is no IP, is not held to the IP profile
//   VitalSigns      tests/data/bench/Observation-bodyweight.json, claiming the core bodyweight profile
//   IPCarePlan, IPGoal, IPCareTeam, IPConsent
//                   each IP profile's example (conformance/ip/package/example/), claiming its profile
// See docs/performance.md.
#include <benchmark/benchmark.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "planbro/fhir-model/json.h"
#include "planbro/fhir-model/profile_set.h"
#include "planbro/fhir-model/validator.h"

namespace {

using planbro::fhir::JsonDocument;
using planbro::fhir::Validator;

struct Input {
  std::string label;
  std::string bytes;
  std::shared_ptr<const Validator> validator;
};

std::string readFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::stringstream buffer;
  buffer << file.rdbuf();
  return buffer.str();
}

void bareRapidJson(benchmark::State& state, const Input* input) {
  for (auto _ : state) {
    rapidjson::Document doc;
    doc.Parse(input->bytes.data(), input->bytes.size());
    benchmark::DoNotOptimize(doc);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * input->bytes.size()));
}

void parseOnly(benchmark::State& state, const Input* input) {
  for (auto _ : state) {
    auto doc = JsonDocument::parse(input->bytes);
    benchmark::DoNotOptimize(doc);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * input->bytes.size()));
}

void parseValidateBase(benchmark::State& state, const Input* input) {
  for (auto _ : state) {
    auto doc = JsonDocument::parse(input->bytes);
    if (!doc.isOk()) {
      state.SkipWithError(doc.status().message().c_str());
      break;
    }
    auto outcome = planbro::fhir::validateResource(doc->root());
    benchmark::DoNotOptimize(outcome);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * input->bytes.size()));
}

void parseValidateProfiles(benchmark::State& state, const Input* input) {
  for (auto _ : state) {
    auto doc = JsonDocument::parse(input->bytes);
    if (!doc.isOk()) {
      state.SkipWithError(doc.status().message().c_str());
      break;
    }
    auto outcome = input->validator->validate(doc->root());
    benchmark::DoNotOptimize(outcome);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * input->bytes.size()));
}

// For counting instructions (valgrind --tool=callgrind --toggle-collect='fixed*' ... --fixed-iterations=N
// --input=LABEL): each kind of work N times over one input, in functions of its own, with no timing around them.
[[gnu::noinline]] void fixedBare(const Input& input, int n) {
  for (int i = 0; i < n; ++i) {
    rapidjson::Document doc;
    doc.Parse(input.bytes.data(), input.bytes.size());
    benchmark::DoNotOptimize(doc);
  }
}
[[gnu::noinline]] void fixedParse(const Input& input, int n) {
  for (int i = 0; i < n; ++i) {
    auto doc = JsonDocument::parse(input.bytes);
    benchmark::DoNotOptimize(doc);
  }
}
[[gnu::noinline]] void fixedParseValidateBase(const Input& input, int n) {
  for (int i = 0; i < n; ++i) {
    auto doc = JsonDocument::parse(input.bytes);
    if (doc.isOk()) benchmark::DoNotOptimize(planbro::fhir::validateResource(doc->root()));
  }
}
[[gnu::noinline]] void fixedParseValidateProfiles(const Input& input, int n) {
  for (int i = 0; i < n; ++i) {
    auto doc = JsonDocument::parse(input.bytes);
    if (doc.isOk()) benchmark::DoNotOptimize(input.validator->validate(doc->root()));
  }
}

class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const auto& run : runs) {
      if (run.error_occurred || run.run_type != Run::RT_Iteration) continue;
      seconds_[run.benchmark_name()].push_back(run.GetAdjustedCPUTime());
    }
  }
  void Finalize() override {
    ConsoleReporter::Finalize();
    std::printf("\nthroughput relative to a bare RapidJSON DOM parse of the same bytes, by CPU time, median of the "
                "repetitions (higher is better):\n");
    std::printf("%-16s %22s %26s\n", "input", "parse+validate(base)", "parse+validate(profiles)");
    for (const auto& label : labels_) {
      auto ratio = [&](const std::string& kind) -> double {
        auto bare = seconds_.find("rapidjson_dom/" + label);
        auto ours = seconds_.find(kind + "/" + label);
        if (bare == seconds_.end() || ours == seconds_.end()) return 0.0;
        double m = median(ours->second);
        return m > 0 ? median(bare->second) / m : 0.0;
      };
      std::printf("%-16s %22.2f %26.2f\n", label.c_str(), ratio("parse_validate"), ratio("parse_validate_profiles"));
    }
  }
  std::vector<std::string> labels_;

 private:
  static double median(std::vector<double> values) {
    if (values.empty()) return 0.0;
    std::sort(values.begin(), values.end());
    const size_t mid = values.size() / 2;
    return values.size() % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
  }
  std::map<std::string, std::vector<double>> seconds_;
};

// True when each CarePlan entry of the Bundle whose category is the IP one (ip-category|individuell-plan, as the
// gateway recognises an IP CarePlan) claims `profile` in meta.profile; says which one does not.
bool everyIpCarePlanClaims(const std::string& bundle, const std::string& profile) {
  auto doc = JsonDocument::parse(bundle);
  if (!doc.isOk()) {
    std::fprintf(stderr, "the demo Bundle does not parse: %s\n", doc.status().message().c_str());
    return false;
  }
  auto text = [](const planbro::fhir::JsonValue* v) {
    return v != nullptr && v->isString() ? v->text() : std::string_view();
  };
  const planbro::fhir::JsonValue* entries = doc->root().find("entry");
  if (entries == nullptr || !entries->isArray()) return true;
  for (const planbro::fhir::JsonValue& entry : entries->items()) {
    const planbro::fhir::JsonValue* resource = entry.isObject() ? entry.find("resource") : nullptr;
    if (resource == nullptr || !resource->isObject() || text(resource->find("resourceType")) != "CarePlan") continue;
    bool is_ip = false;
    if (const planbro::fhir::JsonValue* categories = resource->find("category"); categories && categories->isArray()) {
      for (const planbro::fhir::JsonValue& category : categories->items()) {
        const planbro::fhir::JsonValue* codings = category.isObject() ? category.find("coding") : nullptr;
        if (codings == nullptr || !codings->isArray()) continue;
        for (const planbro::fhir::JsonValue& c : codings->items()) {
          is_ip = is_ip || (c.isObject() && text(c.find("system")) == "http://planbro.no/fhir/CodeSystem/ip-category" &&
                            text(c.find("code")) == "individuell-plan");
        }
      }
    }
    if (!is_ip) continue;
    bool claims = false;
    if (const planbro::fhir::JsonValue* meta = resource->find("meta"); meta != nullptr && meta->isObject()) {
      if (const planbro::fhir::JsonValue* p = meta->find("profile"); p != nullptr && p->isArray()) {
        for (const planbro::fhir::JsonValue& url : p->items()) claims = claims || text(&url) == profile;
      }
    }
    if (!claims) {
      std::fprintf(stderr, "the demo's IP CarePlan %s does not claim %s\n",
                   std::string(text(resource->find("id"))).c_str(), profile.c_str());
      return false;
    }
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string data = PLANBRO_TEST_DATA_DIR;
  const std::string source = PLANBRO_SOURCE_DIR;
  planbro::fhir::ProfileSetBuilder builder;
  for (const std::string& dir : {source + "/conformance/no-basis", source + "/conformance/ip/package"}) {
    if (planbro::Status s = builder.addDirectory(dir); !s.isOk()) {
      std::fprintf(stderr, "%s\n", s.message().c_str());
      return 1;
    }
  }
  auto set = builder.build();
  if (!set.isOk()) {
    std::fprintf(stderr, "%s\n", set.status().message().c_str());
    return 1;
  }
  auto claims = std::make_shared<const Validator>(*set);
  planbro::fhir::ValidatorOptions required;
  const std::string no = "http://hl7.no/fhir/StructureDefinition/no-basis-";
  const std::string ip = "http://planbro.no/fhir/StructureDefinition/ip-";
  required.required_profiles["Patient"] = {no + "Patient"};
  required.required_profiles["Organization"] = {no + "Organization"};
  required.required_profiles["Practitioner"] = {no + "Practitioner"};
  required.required_profiles["Goal"] = {ip + "goal"};
  required.required_profiles["CareTeam"] = {ip + "careteam"};
  required.required_profiles["Consent"] = {ip + "consent"};
  auto requiring = Validator::create(*set, required);
  if (!requiring.isOk()) {
    std::fprintf(stderr, "%s\n", requiring.status().message().c_str());
    return 1;
  }

  // The IPDemo row measures the conforming path only if every IP CarePlan (by its category) claims the profile.
  if (!everyIpCarePlanClaims(readFile(source + "/conformance/demo/individual-plan-demo.json"), ip + "careplan")) {
    return 1;
  }

  static std::vector<Input> inputs;
  const std::string examples = source + "/conformance/ip/package/example/";
  inputs.push_back({"NoBasisPatient", readFile(data + "/bench/no-basis-Patient-Espen.json"), claims});
  inputs.push_back({"IPDemo", readFile(source + "/conformance/demo/individual-plan-demo.json"), *requiring});
  inputs.push_back({"VitalSigns", readFile(data + "/bench/Observation-bodyweight.json"), claims});
  inputs.push_back({"IPCarePlan", readFile(examples + "CarePlan-ip-example-careplan.json"), claims});
  inputs.push_back({"IPGoal", readFile(examples + "Goal-ip-example-goal-measure.json"), claims});
  inputs.push_back({"IPCareTeam", readFile(examples + "CareTeam-ip-example-careteam.json"), claims});
  inputs.push_back({"IPConsent", readFile(examples + "Consent-ip-example-consent-sharing.json"), claims});
  int fixed_iterations = 0;
  std::string fixed_input;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.starts_with("--fixed-iterations=")) fixed_iterations = std::stoi(arg.substr(19));
    if (arg.starts_with("--input=")) fixed_input = arg.substr(8);
  }
  if (fixed_iterations > 0) {
    for (const auto& input : inputs) {
      if (!fixed_input.empty() && input.label != fixed_input) continue;
      if (auto doc = JsonDocument::parse(input.bytes); doc.isOk()) {  // once-per-process tables, outside the count
        benchmark::DoNotOptimize(planbro::fhir::validateResource(doc->root()));
        benchmark::DoNotOptimize(input.validator->validate(doc->root()));
      }
      fixedBare(input, fixed_iterations);
      fixedParse(input, fixed_iterations);
      fixedParseValidateBase(input, fixed_iterations);
      fixedParseValidateProfiles(input, fixed_iterations);
    }
    return 0;
  }
  RatioReporter reporter;
  for (const auto& input : inputs) {
    if (input.bytes.empty()) {
      std::fprintf(stderr, "cannot read the input %s\n", input.label.c_str());
      return 1;
    }
    const Input* in = &input;
    reporter.labels_.push_back(input.label);
    // Warms up once-per-process state, and says what the profiles make of each input: the figures are for inputs
    // that conform, not for an early error path.
    if (auto doc = JsonDocument::parse(in->bytes); doc.isOk()) {
      planbro::fhir::OperationOutcome outcome = in->validator->validate(doc->root());
      std::fprintf(stderr, "%s: %zu bytes, %zu issues, %zu errors\n", in->label.c_str(), in->bytes.size(),
                   outcome.issues().size(), outcome.errorCount());
      for (const auto& issue : outcome.issues()) {
        std::fprintf(stderr, "  %s %s: %s\n", std::string(planbro::fhir::severityName(issue.severity)).c_str(),
                     issue.location.c_str(), issue.diagnostics.c_str());
      }
      benchmark::DoNotOptimize(planbro::fhir::validateResource(doc->root()));
    }
    benchmark::RegisterBenchmark(("rapidjson_dom/" + input.label).c_str(), bareRapidJson, in);
    benchmark::RegisterBenchmark(("parse/" + input.label).c_str(), parseOnly, in);
    benchmark::RegisterBenchmark(("parse_validate/" + input.label).c_str(), parseValidateBase, in);
    benchmark::RegisterBenchmark(("parse_validate_profiles/" + input.label).c_str(), parseValidateProfiles, in);
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
