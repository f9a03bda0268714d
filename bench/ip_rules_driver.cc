// What the individual-plan rules cost: durable creates per second of IP CarePlans with every rule on, against plain
// CarePlans, through the same RestHandler (profile validator of the IP package, the IP CarePlan's generated
// narrative, the person-number and IP rule hooks, as `planbro serve` builds them) on one real SQLite store
// (synchronous=FULL, group commit), same run, the order of the arms reversed every other round so drift hits all
// alike. See docs/performance.md ("The individual-plan rules").
//
// An IP CarePlan here takes every rule a create can meet: profile validation, the generated narrative (GW-24), the
// one-active-plan key (GW-01, with the check that subject reference and identifier are one person), the consent
// rule (GW-40: it is started, so its linked plan consent is read locked in the transaction), the measure statuses,
// and the Provenance written with it (GW-50). Two plain arms, neither an IP (no IP category, no ip-* extension): no
// profile, no narrative, no rule, no Provenance:
//   - "plain": a small CarePlan (title, period, two activities), the comparison of the first figures;
//   - "plain, same content": the IP plan's request body with every planbro.no URL under example.no (so as many
//     bytes, extensions and codings, none of them the IP package's), so the rules are measured on resources of the
//     same size and index rows.
// It prints the medians of each arm's creates/s and, the steadier figure under a changing load, the median of the
// rounds' own ratios.
//
//   ip_rules_driver [--rounds N] [--plans N] [--threads N] [--only plain|same|ip|profile]
//     (defaults: 6 rounds of 400 plans, 8 threads, all four kinds; --only runs one kind, for an instruction count:
//     valgrind --tool=callgrind --toggle-collect='*measuredCreates*' ip_rules_driver --only ip --threads 1 ...)
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "planbro/fhir-model/norwegian_ids.h"
#include "planbro/fhir-model/profile_set.h"
#include "planbro/fhir-model/validator.h"
#include "planbro/gateway/ip/conformance_catalog.h"
#include "planbro/gateway/ip/ip_rules.h"
#include "planbro/gateway/ip/plan_narrative_stage.h"
#include "planbro/gateway/rest/rest_handler.h"
#include "planbro/gateway/store/resource_store.h"

namespace {

using namespace planbro;
using namespace planbro::gateway;
using SteadyClock = std::chrono::steady_clock;

constexpr const char* kFnrOid = "urn:oid:2.16.578.1.12.4.1.4.1";

// Distinct valid synthetic fødselsnummer: day, month, year and individnummer varied until the check digits exist.
std::vector<std::string> personNumbers(size_t n) {
  std::vector<std::string> out;
  for (int year = 40; out.size() < n && year < 100; ++year) {
    for (int day = 1; out.size() < n && day <= 28; ++day) {
      for (int individ = 100; out.size() < n && individ < 500; individ += 7) {
        char nine[16];
        std::snprintf(nine, sizeof nine, "%02d03%02d%03d", day, year, individ);
        if (auto fnr = fhir::no::withCheckDigits(nine)) out.push_back(*fnr);
      }
    }
  }
  return out;
}

http::Response call(rest::RestHandler& handler, const std::string& method, const std::string& path,
                    std::string body) {
  http::Request request;
  request.method = method;
  request.target = path;
  request.path = path;
  request.headers.set("Content-Type", "application/fhir+json");
  request.headers.set("Prefer", "return=minimal");
  request.body = std::move(body);
  http::RequestContext context;
  context.request_id = "bench";
  return handler.handle(request, context);
}

std::string idFromLocation(const http::Response& r) {
  std::string_view location = r.headers.get("Location");
  // [base]/Type/id/_history/1
  size_t history = location.find("/_history/");
  std::string_view head = location.substr(0, history);
  return std::string(head.substr(head.rfind('/') + 1));
}

std::string activities(const char* s1, const char* r1, const char* s2, const char* r2) {
  auto one = [](const char* id, const char* status, const char* r4) {
    return std::string(R"({"id":")") + id + R"(","extension":[{"url":"http://planbro.no/fhir/StructureDefinition/ip-in-plan","valueBoolean":true}],)"
           R"("detail":{"extension":[{"url":"http://planbro.no/fhir/StructureDefinition/ip-measure-status","valueCoding":{"system":"http://planbro.no/fhir/CodeSystem/ip-measure-status","code":")" +
           status + R"("}}],"code":{"text":"Støttekontakt )" + id + R"("},"status":")" + r4 +
           R"(","scheduledPeriod":{"start":"2026-03"},"description":"To timer i uka"}})";
  };
  return "[" + one("m1", s1, r1) + "," + one("m2", s2, r2) + "]";
}

std::string ipPlan(const std::string& patient_id, const std::string& fnr, const std::string& consent_id) {
  return R"({"resourceType":"CarePlan","extension":[{"url":"http://planbro.no/fhir/StructureDefinition/ip-plan-lifecycle",)"
         R"("valueCoding":{"system":"http://planbro.no/fhir/CodeSystem/ip-plan-lifecycle","code":"started"}}],)"
         R"("status":"active","intent":"plan","category":[{"coding":[{"system":"http://planbro.no/fhir/CodeSystem/ip-category","code":"individuell-plan"}]}],)"
         R"("subject":{"reference":"Patient/)" + patient_id + R"(","identifier":{"system":")" + kFnrOid + R"(","value":")" + fnr +
         R"("}},"period":{"start":"2026-03-01"},"supportingInfo":[{"extension":[{"url":"http://planbro.no/fhir/StructureDefinition/ip-link-kind",)"
         R"("valueCoding":{"system":"http://planbro.no/fhir/CodeSystem/ip-link-kind","code":"samtykke"}}],"reference":"Consent/)" +
         consent_id + R"("}],"activity":)" + activities("planned", "not-started", "started", "in-progress") + "}";
}

std::string plainPlan(const std::string& patient_id) {
  return R"({"resourceType":"CarePlan","status":"active","intent":"plan","title":"Behandlingsplan",)"
         R"("subject":{"reference":"Patient/)" + patient_id + R"("},"period":{"start":"2026-03-01"},)"
         R"("activity":[{"detail":{"code":{"text":"Støttekontakt m1"},"status":"not-started","scheduledPeriod":{"start":"2026-03"},"description":"To timer i uka"}},)"
         R"({"detail":{"code":{"text":"Støttekontakt m2"},"status":"in-progress","scheduledPeriod":{"start":"2026-03"},"description":"To timer i uka"}}]})";
}

// The IP plan's content, byte for byte as long, without what makes it an IP: every planbro.no extension and code
// system of ipPlan() under example.no instead (and `ip-` as `xx-`), so the category is not the IP category and no
// extension is one of the IP package's; the subject reference and identifier, supportingInfo, activity ids, codes,
// statuses, periods and texts as in ipPlan(). The same bytes to parse, validate, serialise, hash and store, the same
// extensions to walk: what the IP arm pays beyond it is the IP profile, the IP rules and the generated narrative.
std::string sameContentPlan(const std::string& patient_id, const std::string& fnr, const std::string& consent_id) {
  std::string body = ipPlan(patient_id, fnr, consent_id);
  for (auto [from, to] : {std::pair<std::string_view, std::string_view>{"http://planbro.no/", "http://example.no/"},
                          std::pair<std::string_view, std::string_view>{"/ip-", "/xx-"}}) {
    for (size_t at = body.find(from); at != std::string::npos; at = body.find(from, at + to.size())) {
      body.replace(at, from.size(), to);
    }
  }
  return body;
}

std::string consent(const std::string& patient_id, const std::string& fnr) {
  return R"({"resourceType":"Consent","status":"active","scope":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/consentscope","code":"treatment"}]},)"
         R"("category":[{"coding":[{"system":"http://loinc.org","code":"59284-0"}]},{"coding":[{"system":"http://planbro.no/fhir/CodeSystem/ip-consent-kind","code":"plan"}]}],)"
         R"("patient":{"reference":"Patient/)" + patient_id + R"(","identifier":{"system":")" + kFnrOid + R"(","value":")" + fnr +
         R"("}},"dateTime":"2026-02-01","performer":[{"reference":"Patient/)" + patient_id + R"("}],)"
         R"("policyRule":{"coding":[{"system":"http://planbro.no/fhir/CodeSystem/ip-legal-basis","code":"samtykke"}]},)"
         R"("provision":{"type":"permit","period":{"start":"2026-01-01","end":"2030-12-31"}}})";
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// One worker's share of the creates. Never inlined: the function an instruction count is toggled on
// (valgrind --tool=callgrind --toggle-collect='*measuredCreates*').
[[gnu::noinline]] void measuredCreates(rest::RestHandler& handler, const std::vector<std::string>& bodies,
                                       std::atomic<size_t>& next, std::atomic<bool>& failed) {
  for (size_t i = next++; i < bodies.size() && !failed; i = next++) {
    http::Response r = call(handler, "POST", "/CarePlan", bodies[i]);
    if (r.status != 201) {
      if (!failed.exchange(true)) std::fprintf(stderr, "create: HTTP %d: %.600s\n", r.status, r.body.c_str());
    }
  }
}

// Runs `bodies` as creates on `threads` threads; creates per second, or -1 when one failed.
double createAll(rest::RestHandler& handler, const std::vector<std::string>& bodies, int threads) {
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  auto start = SteadyClock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) pool.emplace_back([&] { measuredCreates(handler, bodies, next, failed); });
  for (auto& t : pool) t.join();
  std::chrono::duration<double> took = SteadyClock::now() - start;
  return failed ? -1 : bodies.size() / took.count();
}

}  // namespace

int main(int argc, char** argv) {
  int rounds = 6;
  int plans = 400;
  int threads = 8;
  std::string only;  // one kind of plan only (for an instruction count under callgrind): plain, same, ip or profile
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--rounds") rounds = std::max(1, std::atoi(argv[i + 1]));
    else if (flag == "--plans") plans = std::max(1, std::atoi(argv[i + 1]));
    else if (flag == "--threads") threads = std::max(1, std::atoi(argv[i + 1]));
    else if (flag == "--only") only = argv[i + 1];
  }
  if (!only.empty() && only != "plain" && only != "same" && only != "ip" && only != "profile") {
    std::fprintf(stderr, "--only takes plain, same, ip or profile\n");
    return 2;
  }
  const std::string package = std::string(PLANBRO_SOURCE_DIR) + "/conformance/ip/package";
  fhir::ProfileSetBuilder builder;
  if (Status s = builder.addDirectory(package); !s.isOk()) {
    std::fprintf(stderr, "package: %s\n", s.message().c_str());
    return 1;
  }
  auto set = builder.build();
  if (!set.isOk()) return 1;
  auto validator = fhir::Validator::create(std::move(set).value(), fhir::ValidatorOptions{});
  auto graph = ip::MeasureStatusGraph::fromPackageDir(package);
  if (!validator.isOk() || !graph.isOk()) return 1;
  // The conformance catalog gives the narrative the displays of codes, as `planbro serve` loads it.
  auto catalog = ip::ConformanceCatalog::loadDirectories({package});
  if (!catalog.isOk()) {
    std::fprintf(stderr, "catalog: %s\n", catalog.status().message().c_str());
    return 1;
  }

  std::string tmpl = (std::filesystem::temp_directory_path() / "planbro-ipbench-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) return 1;
  int rc = 0;
  {
    store::SqliteStoreOptions so;
    so.path = tmpl + "/planbro.db";
    so.pool_size = static_cast<size_t>(threads) + 2;
    so.read_cache_bytes = 64u << 20;  // as `planbro serve` runs
    auto opened = store::openSqliteStore(so);
    if (!opened.isOk()) {
      std::fprintf(stderr, "cannot open the store: %s\n", opened.status().message().c_str());
      return 1;
    }
    rest::RestOptions options;
    options.writer.validator = ops::makeProfileValidator(std::move(validator).value());
    // Every IP CarePlan's narrative is made from the plan on every write (GW-24), as `planbro serve` does.
    options.writer.transform = ip::makePlanNarrativeTransform(std::move(catalog).value());
    for (auto& hook : ip::makeIpRuleHooks(ip::IpRulesOptions{}, std::move(graph).value())) {
      options.writer.hooks.push_back(std::move(hook));
    }
    rest::RestHandler handler(**opened, options);
    // The same, without the IP rule hooks: what the IP profile's validation (and the narrative) cost apart from the
    // rules.
    rest::RestOptions no_rules_options = options;
    no_rules_options.writer.hooks.clear();
    rest::RestHandler no_rules(**opened, no_rules_options);

    // Every IP plan needs a patient of its own (one active plan each) and her consent; the plain plans get patients too.
    const size_t per_round = static_cast<size_t>(plans);
    constexpr size_t kKinds = 4;
    std::vector<std::string> fnrs = personNumbers(per_round * rounds * kKinds);
    if (fnrs.size() < per_round * rounds * kKinds) {
      std::fprintf(stderr, "not enough synthetic person numbers\n");
      return 1;
    }
    std::vector<std::string> patient_ids, consent_ids;
    for (const std::string& fnr : fnrs) {
      http::Response p = call(handler, "POST", "/Patient",
                              R"({"resourceType":"Patient","identifier":[{"system":")" + std::string(kFnrOid) +
                                  R"(","value":")" + fnr + R"("}]})");
      if (p.status != 201) {
        std::fprintf(stderr, "patient: HTTP %d: %.400s\n", p.status, p.body.c_str());
        return 1;
      }
      patient_ids.push_back(idFromLocation(p));
    }
    for (size_t i = 0; i < fnrs.size(); ++i) {  // every patient has her plan consent
      http::Response c = call(handler, "POST", "/Consent", consent(patient_ids[i], fnrs[i]));
      if (c.status != 201) {
        std::fprintf(stderr, "consent: HTTP %d: %.400s\n", c.status, c.body.c_str());
        return 1;
      }
      consent_ids.push_back(idFromLocation(c));
    }
    std::vector<double> ip_rates, plain_rates, same_rates, profile_rates;
    // IP with every rule ÷ each other arm, per round: the arms of one round ran back to back, so a ratio of one
    // round is not moved by the load drifting between rounds, as the ratio of two medians is.
    std::vector<double> per_round_plain, per_round_same, per_round_profile;
    for (int round = 0; round < rounds && rc == 0; ++round) {
      std::vector<std::string> ip_bodies, plain_bodies, same_bodies, profile_bodies;
      for (size_t k = 0; k < per_round; ++k) {
        size_t n = kKinds * (round * per_round + k);
        ip_bodies.push_back(ipPlan(patient_ids[n], fnrs[n], consent_ids[n]));
        plain_bodies.push_back(plainPlan(patient_ids[n + 1]));
        profile_bodies.push_back(ipPlan(patient_ids[n + 2], fnrs[n + 2], consent_ids[n + 2]));
        same_bodies.push_back(sameContentPlan(patient_ids[n + 3], fnrs[n + 3], consent_ids[n + 3]));
      }
      if (round == 0) {
        auto bytes = [](const std::vector<std::string>& v) { return v.empty() ? size_t{0} : v.front().size(); };
        std::printf("request bodies: plain %zu, plain same content %zu, IP %zu bytes\n", bytes(plain_bodies),
                    bytes(same_bodies), bytes(ip_bodies));
      }
      double a = 0, b = 0, c = 0, d = 0;
      if (!only.empty()) {
        const double rate = only == "plain"     ? createAll(handler, plain_bodies, threads)
                            : only == "same"    ? createAll(handler, same_bodies, threads)
                            : only == "profile" ? createAll(no_rules, profile_bodies, threads)
                                                : createAll(handler, ip_bodies, threads);
        if (rate < 0) {
          rc = 1;
          break;
        }
        std::printf("round %d: %s %6.0f creates/s\n", round, only.c_str(), rate);
        continue;
      }
      if (round % 2 == 0) {
        a = createAll(handler, plain_bodies, threads);
        d = createAll(handler, same_bodies, threads);
        c = createAll(no_rules, profile_bodies, threads);
        b = createAll(handler, ip_bodies, threads);
      } else {
        b = createAll(handler, ip_bodies, threads);
        c = createAll(no_rules, profile_bodies, threads);
        d = createAll(handler, same_bodies, threads);
        a = createAll(handler, plain_bodies, threads);
      }
      if (a < 0 || b < 0 || c < 0 || d < 0) {
        rc = 1;
        break;
      }
      plain_rates.push_back(a);
      same_rates.push_back(d);
      ip_rates.push_back(b);
      profile_rates.push_back(c);
      per_round_plain.push_back(b / a);
      per_round_same.push_back(b / d);
      per_round_profile.push_back(b / c);
      std::printf("round %d: plain %6.0f, plain same content %6.0f, IP plan without the rules %6.0f, IP plan with "
                  "every rule %6.0f creates/s (%.2fx plain, %.2fx plain same content, %.2fx without the rules)\n",
                  round, a, d, c, b, b / a, b / d, b / c);
    }
    if (rc == 0 && only.empty()) {
      auto ratio = [](double x, double y) { return y > 0 ? x / y : 0.0; };
      double a = median(plain_rates), b = median(ip_rates), c = median(profile_rates), d = median(same_rates);
      std::printf("median of %d rounds of %d plans on %d threads: plain %.0f, plain same content %.0f, IP without the "
                  "rules %.0f, IP with every rule %.0f creates/s: IP with every rule %.2fx plain, %.2fx plain same "
                  "content, %.2fx IP without the rules; plain same content %.2fx plain\n",
                  rounds, plans, threads, a, d, c, b, ratio(b, a), ratio(b, d), ratio(b, c), ratio(d, a));
      std::printf("median of the %d rounds' own ratios: IP with every rule %.2fx plain, %.2fx plain same content, "
                  "%.2fx IP without the rules (rounds against plain same content from %.2fx to %.2fx)\n",
                  rounds, median(per_round_plain), median(per_round_same), median(per_round_profile),
                  *std::min_element(per_round_same.begin(), per_round_same.end()),
                  *std::max_element(per_round_same.begin(), per_round_same.end()));
    }
  }
  std::error_code ec;
  std::filesystem::remove_all(tmpl, ec);
  return rc;
}
