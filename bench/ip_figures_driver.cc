// What $ip-figures costs on a store of N individual plans (default 10,000): loads N IP CarePlans, each with its
// IP CareTeam (its coordinator acting for one of the owners) and one Provenance (with its source system), under 20
// owner Organizations, a Condition per finished plan, plus N unrelated CarePlans outside the IP category,
// into a fresh SQLite store through the real RestHandler (transactions of 500 entries, reference checks off), then
// computes the figures for the year `--runs` times through ip::computeFigures and prints the work (index rows +
// reads, the unit ip_figures.max_work_rows bounds) and the time per computation. See docs/performance.md.
//
//   ip_figures_driver [--plans N] [--runs N]
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "planbro/gateway/ip/figures.h"
#include "planbro/gateway/rest/rest_handler.h"
#include "planbro/gateway/store/resource_store.h"

namespace {

using namespace planbro;
using namespace planbro::gateway;

std::string entry(const std::string& full_url, const std::string& type, const std::string& resource) {
  return R"({"fullUrl":")" + full_url + R"(","resource":)" + resource + R"(,"request":{"method":"POST","url":")" + type + R"("}})";
}

// One plan i: lifecycle by i (finished, started, under-revision, ended), period starting in 2026 month 1 + i % 12.
std::string planEntries(size_t i) {
  const std::string n = std::to_string(i);
  const char* lifecycles[] = {"finished", "started", "under-revision", "ended"};
  const std::string lc = lifecycles[i % 4];
  const std::string status = lc == "ended" ? "completed" : "active";
  char start_buf[16];
  std::snprintf(start_buf, sizeof start_buf, "2026-%02zu-01", 1 + i % 12);
  const std::string start = start_buf;
  std::string team = entry("urn:uuid:team-" + n, "CareTeam",
      R"({"resourceType":"CareTeam","status":"active","category":[{"coding":[{"system":"http://planbro.no/fhir/CodeSystem/ip-category","code":"individuell-plan"}]}],)"
      R"("subject":{"identifier":{"system":"urn:planbro:bench","value":"patient-)" + n + R"("}},)"
      R"("participant":[{"role":[{"coding":[{"system":"urn:oid:2.16.578.1.12.4.1.1.9034","code":"8"}]}],"member":{"reference":"Practitioner/coord-)" +
      std::to_string(i % 50) + R"("},"onBehalfOf":{"reference":"Organization/owner-)" + std::to_string(i % 20) +
      R"("},"period":{"start":")" + start + R"("}}]})");
  // A finished plan addresses its diagnosis (the national indicators read it): ADHD or schizofreni in turn.
  std::string condition;
  std::string addresses;
  if (lc == "finished") {
    condition = entry("urn:uuid:cond-" + n, "Condition",
        R"({"resourceType":"Condition","code":{"coding":[{"system":"urn:oid:2.16.578.1.12.4.1.1.7110","code":")" +
        std::string(i % 8 == 0 ? "F900" : "F200") + R"("}]},"subject":{"reference":"Patient/p"}})") + ",";
    addresses = R"(,"addresses":[{"reference":"urn:uuid:cond-)" + n + R"("}])";
  }
  std::string plan = entry("urn:uuid:plan-" + n, "CarePlan",
      R"({"resourceType":"CarePlan","extension":[{"url":"http://planbro.no/fhir/StructureDefinition/ip-plan-lifecycle","valueCoding":{"system":"http://planbro.no/fhir/CodeSystem/ip-plan-lifecycle","code":")" +
      lc + R"("}},{"url":"http://planbro.no/fhir/StructureDefinition/ip-next-revision","valueDate":"2026-06-01"}],"status":")" + status +
      R"(","intent":"plan","category":[{"coding":[{"system":"http://planbro.no/fhir/CodeSystem/ip-category","code":"individuell-plan"}]}],)"
      R"("subject":{"identifier":{"system":"urn:planbro:bench","value":"patient-)" + n + R"("}},"period":{"start":")" + start +
      R"("},"author":{"reference":"Organization/owner-)" + std::to_string(i % 20) + R"("},"careTeam":[{"reference":"urn:uuid:team-)" + n + R"("}])" +
      addresses + "}");
  std::string prov = entry("urn:uuid:prov-" + n, "Provenance",
      R"({"resourceType":"Provenance","target":[{"reference":"urn:uuid:plan-)" + n + R"("}],"recorded":")" + start +
      R"(T10:00:00Z","agent":[{"who":{"reference":"Practitioner/coord-)" + std::to_string(i % 50) + R"("}},)"
      R"({"type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/provenance-participant-type","code":"assembler"}]},)"
      R"("who":{"identifier":{"system":"http://planbro.no/fhir/NamingSystem/source-system","value":"system-)" + std::to_string(i % 3) + R"("}}}]})");
  std::string other = entry("urn:uuid:other-" + n, "CarePlan",
      R"({"resourceType":"CarePlan","status":"active","intent":"plan","subject":{"reference":"Patient/p"},"period":{"start":")" + start + R"("}})");
  return condition + team + "," + plan + "," + prov + "," + other;
}

}  // namespace

int main(int argc, char** argv) {
  size_t plans = 10000;
  int runs = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--plans") plans = std::strtoul(argv[i + 1], nullptr, 10);
    else if (a == "--runs") runs = std::atoi(argv[i + 1]);
  }
  std::string dir = (std::filesystem::temp_directory_path() / "planbro-ip-figures-XXXXXX").string();
  if (!mkdtemp(dir.data())) return 1;
  store::SqliteStoreOptions so;
  so.path = dir + "/planbro.db";
  auto store = store::openSqliteStore(so);
  if (!store.isOk()) {
    std::fprintf(stderr, "store: %s\n", store.status().message().c_str());
    return 1;
  }
  rest::RestOptions ro;
  ro.check_references = false;
  ro.unique_person_numbers = false;
  rest::RestHandler handler(**store, ro);
  const size_t per_bundle = 125;  // 4 entries each: 500 entries per transaction
  for (size_t first = 0; first < plans; first += per_bundle) {
    std::string bundle = R"({"resourceType":"Bundle","type":"transaction","entry":[)";
    for (size_t i = first; i < std::min(plans, first + per_bundle); ++i) {
      if (i != first) bundle += ',';
      bundle += planEntries(i);
    }
    bundle += "]}";
    http::RequestContext ctx;
    http::Response r = handler.processBundle(std::move(bundle), ctx);
    if (r.status != 200) {
      std::fprintf(stderr, "load failed (%d): %.500s\n", r.status, r.body.c_str());
      return 1;
    }
  }
  auto period = ip::figuresPeriod("2026-01-01", "2026-12-31", store::systemClock()(), {});
  if (!period.isOk()) return 1;
  std::vector<double> ms;
  std::vector<double> cpu_ms;
  size_t work = 0;
  for (int r = 0; r < runs; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    std::clock_t c0 = std::clock();
    auto f = ip::computeFigures(**store, *period, store::systemClock(), {});
    auto t1 = std::chrono::steady_clock::now();
    cpu_ms.push_back(1000.0 * static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC);
    if (!f.isOk()) {
      std::fprintf(stderr, "figures: %s\n", f.status().message().c_str());
      return 1;
    }
    work = f->work_rows;
    ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  std::sort(cpu_ms.begin(), cpu_ms.end());
  std::printf("plans=%zu (plus %zu non-IP CarePlans, %zu CareTeams, %zu Provenances) work_rows=%zu median_ms=%.1f "
              "min_ms=%.1f max_ms=%.1f median_cpu_ms=%.1f\n",
              plans, plans, plans, plans, work, ms[ms.size() / 2], ms.front(), ms.back(), cpu_ms[cpu_ms.size() / 2]);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return 0;
}
