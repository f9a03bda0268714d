// Throughput of the FHIR JSON model: parse, parse + validate and serialise, beside a bare RapidJSON DOM parse of
// the same bytes in the same run. At the end prints, per input, the ratio of parse+validate throughput to the bare
// parse (target >= 0.5). Inputs: tests/data/bench/ (copies of official R4 examples). See docs/performance.md.
#include <benchmark/benchmark.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "planbro/fhir-model/json.h"
#include "planbro/fhir-model/validator.h"

#if __has_include("planbro/fhir-model/resource_json.h")
#include "planbro/fhir-model/resource_json.h"
#define PLANBRO_BENCH_HAVE_RESOURCE_JSON 1
#endif

namespace {

using planbro::fhir::JsonDocument;

struct Input {
  std::string label;
  std::string bytes;
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
    if (doc.HasParseError()) {
      state.SkipWithError("rapidjson parse failed");
      break;
    }
    benchmark::DoNotOptimize(doc);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * input->bytes.size()));
}

void parse(benchmark::State& state, const Input* input) {
  for (auto _ : state) {
    auto doc = JsonDocument::parse(input->bytes);  // copies the bytes: the parser owns its text, as in the gateway
    if (!doc.isOk()) {
      state.SkipWithError(doc.status().message().c_str());
      break;
    }
    benchmark::DoNotOptimize(doc->root());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * input->bytes.size()));
}

void parseValidate(benchmark::State& state, const Input* input, bool invariants) {
  planbro::fhir::ValidationOptions options;
  options.check_invariants = invariants;
  for (auto _ : state) {
    auto doc = JsonDocument::parse(input->bytes);
    if (!doc.isOk()) {
      state.SkipWithError(doc.status().message().c_str());
      break;
    }
    auto outcome = planbro::fhir::validateResource(doc->root(), options);
    benchmark::DoNotOptimize(outcome);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * input->bytes.size()));
}

void serialise(benchmark::State& state, const Input* input) {
  auto doc = JsonDocument::parse(input->bytes);
  if (!doc.isOk()) {
    state.SkipWithError(doc.status().message().c_str());
    return;
  }
  std::string out;
  for (auto _ : state) {
    out.clear();
#ifdef PLANBRO_BENCH_HAVE_RESOURCE_JSON
    out = planbro::fhir::writeResourceJson(doc->root());
#else
    planbro::fhir::writeJson(doc->root(), out);
#endif
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * input->bytes.size()));
}

// Console output as usual, plus the ratio table once every run is in.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const auto& run : runs) {
      if (run.error_occurred || run.run_type != Run::RT_Iteration) continue;
      seconds_per_iteration_[run.benchmark_name()].push_back(run.GetAdjustedCPUTime());
    }
  }
  void Finalize() override {
    ConsoleReporter::Finalize();
    std::printf("\nthroughput relative to a bare RapidJSON DOM parse of the same bytes, by CPU time, median of the "
                "repetitions (higher is better):\n");
    std::printf("%-12s %10s %16s %26s %12s\n", "input", "parse", "parse+validate", "parse+validate(no inv.)",
                "serialise");
    for (const auto& label : labels_) {
      auto ratio = [&](const std::string& kind) -> double {
        auto bare = seconds_per_iteration_.find("rapidjson_dom/" + label);
        auto ours = seconds_per_iteration_.find(kind + "/" + label);
        if (bare == seconds_per_iteration_.end() || ours == seconds_per_iteration_.end()) {
          return 0.0;
        }
        const double ours_median = median(ours->second);
        return ours_median > 0 ? median(bare->second) / ours_median : 0.0;
      };
      std::printf("%-12s %10.2f %16.2f %26.2f %12.2f\n", label.c_str(), ratio("parse"), ratio("parse_validate"),
                  ratio("parse_validate_no_invariants"), ratio("serialise"));
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

  // CPU seconds per iteration of every repetition, by benchmark name.
  std::map<std::string, std::vector<double>> seconds_per_iteration_;
};

}  // namespace

int main(int argc, char** argv) {
  static const std::vector<std::pair<std::string, std::string>> kFiles = {
      {"CarePlan", "CarePlan-integrate.json"}, {"Bundle", "Bundle-101.json"}, {"Patient", "Patient-f001.json"}};
  static std::vector<Input> inputs;
  inputs.reserve(kFiles.size());
  for (const auto& [label, file] : kFiles) {
    std::string bytes = readFile(std::string(PLANBRO_TEST_DATA_DIR) + "/bench/" + file);
    if (bytes.empty()) {
      std::fprintf(stderr, "cannot read %s/bench/%s\n", PLANBRO_TEST_DATA_DIR, file.c_str());
      return 1;
    }
    inputs.push_back({label, std::move(bytes)});
  }
  RatioReporter reporter;
  for (const auto& input : inputs) {
    const Input* in = &input;
    reporter.labels_.push_back(input.label);
    // Warm up once-per-process state (definitions, compiled invariants) outside the timed loops.
    if (auto doc = JsonDocument::parse(in->bytes); doc.isOk()) {
      benchmark::DoNotOptimize(planbro::fhir::validateResource(doc->root()));
    }
    benchmark::RegisterBenchmark(("rapidjson_dom/" + input.label).c_str(), bareRapidJson, in);
    benchmark::RegisterBenchmark(("parse/" + input.label).c_str(), parse, in);
    benchmark::RegisterBenchmark(("parse_validate/" + input.label).c_str(), parseValidate, in, true);
    benchmark::RegisterBenchmark(("parse_validate_no_invariants/" + input.label).c_str(), parseValidate, in, false);
    benchmark::RegisterBenchmark(("serialise/" + input.label).c_str(), serialise, in);
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
