// `planbro serve` with the REST layer plugged in: the demo plan is loaded once into a fresh data directory.

#include <map>
#include <sstream>

#include "planbro/gateway/rest/serve_setup.h"
#include "rest_fixture.h"

namespace planbro::gateway::rest::testing {
namespace {

struct ServeRun {
  int exit_code = -1;
  int patients = -1;
  int ready_status = 0;
  int history_entries = 0;  // the demo's own resources in /_history
  int provenances = 0;      // Provenance entries in /_history
  HttpResult figures;  // GET /$ip-figures?periodStart=2026&periodEnd=2026
  std::map<std::string, int> counts;  // resources per type (GET /<type>?_summary=count)
};

// The demo Bundle's entries: one resource each, all created on the first start.
int demoEntries() {
  auto doc = fhir::JsonDocument::parse(readFile(std::string(PLANBRO_TEST_DATA_DIR) + "/../../conformance/demo/individual-plan-demo.json"));
  if (!doc.isOk()) return -1;
  const fhir::JsonValue* entries = doc->root().find("entry");
  return entries ? static_cast<int>(entries->size()) : -1;
}

ServeRun serveOnce(const std::string& data_dir, bool demo_data = true) {
  ServeRun run;
  ServeOptions options;
  options.overrides.listen = "127.0.0.1:0";
  options.overrides.data_dir = data_dir;
  if (demo_data) options.overrides.demo_data = true;  // as `planbro serve --demo-data`
  options.setup = makeRestServeSetup();
  options.on_started = [&](uint16_t port, std::function<void()> stop) {
    // Ingrid Testlien, the demo's main case (synthetic number).
    HttpResult r = request(port, "GET", "/Patient?identifier=urn:oid:2.16.578.1.12.4.1.4.1%7C12868441060");
    const fhir::JsonValue* entries = r.root().find("entry");
    run.patients = r.status == 200 ? static_cast<int>(entries ? entries->size() : 0) : -1;
    run.ready_status = request(port, "GET", "/readyz").status;
    HttpResult h = request(port, "GET", "/_history?_count=100");
    // The demo's own resources; the Provenance the IP rules record with each IP resource counted apart.
    if (const fhir::JsonValue* he = h.root().find("entry")) {
      for (const fhir::JsonValue& e : he->items()) {
        const fhir::JsonValue* res = e.find("resource");
        const fhir::JsonValue* rt = res ? res->find("resourceType") : nullptr;
        if (rt && rt->text() == "Provenance") {
          ++run.provenances;
        } else if (rt && rt->text() == "AuditEvent") {
          // The loader's writes are audited (docs/security.md, Audit); counted from the store below.
        } else {
          ++run.history_entries;
        }
      }
    }
    run.figures = request(port, "GET", "/$ip-figures?periodStart=2026&periodEnd=2026");
    for (const char* type : {"Patient", "RelatedPerson", "Organization", "Practitioner", "CareTeam", "Goal", "CarePlan",
                             "Consent", "DocumentReference"}) {
      HttpResult c = request(port, "GET", std::string("/") + type + "?_summary=count");
      const fhir::JsonValue* total = c.root().find("total");
      run.counts[type] = total ? std::stoi(std::string(total->text())) : -1;
    }
    stop();
  };
  std::ostringstream err;
  run.exit_code = runServe(options, err);
  return run;
}

TEST(RestServeSetup, LoadsTheDemoPlanOnceIntoAnEmptyStore) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "planbro-serve-XXXXXX").string();
  ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
  ServeRun first = serveOnce(tmpl);
  EXPECT_EQ(first.exit_code, 0);
  EXPECT_EQ(first.patients, 1);
  EXPECT_EQ(first.ready_status, 200);
  const int entries = demoEntries();
  EXPECT_EQ(first.history_entries, entries);
  ServeRun second = serveOnce(tmpl);
  EXPECT_EQ(second.exit_code, 0);
  EXPECT_EQ(second.history_entries, entries);  // not loaded again
  {
    // The loader writes through the operations layer as its own source system.
    store::SqliteStoreOptions so;
    so.path = tmpl + "/planbro.db";
    auto store = store::openSqliteStore(so);
    ASSERT_TRUE(store.isOk()) << store.status().message();
    store::HistoryQuery q;
    q.count = 500;
    auto page = (*store)->history(q);
    ASSERT_TRUE(page.isOk());
    size_t own = 0, audited = 0;
    for (const store::ResourceVersion& v : page->entries) {
      if (v.type == "AuditEvent") {
        // Every write of the loader left its AuditEvent, all of them stored by the clean shutdown of the first run.
        audited += v.json.find("\"site\":\"demo-loader\"") != std::string::npos;
        continue;
      }
      own += v.type != "Provenance";
      EXPECT_EQ(v.source_system, "demo-loader") << v.type;
    }
    ASSERT_EQ(own, static_cast<size_t>(entries));
    EXPECT_EQ(audited, static_cast<size_t>(entries));
  }
  std::error_code ec;
  std::filesystem::remove_all(tmpl, ec);
}

// The demo data (conformance/demo/README.md) is written through `planbro serve`'s validator, so every entry that
// claims an IP profile is valid against the IP package (a failed entry fails the whole transaction); and it holds
// what the README says: four patients, the hospital → home case, and figures that show something.
TEST(RestServeSetup, DemoDataIsValidAgainstTheProfilesAndShowsInTheFigures) {
  {
    // Every IP resource of the demo claims its profile, so the validator checks it against the package.
    auto doc = fhir::JsonDocument::parse(readFile(std::string(PLANBRO_TEST_DATA_DIR) + "/../../conformance/demo/individual-plan-demo.json"));
    ASSERT_TRUE(doc.isOk());
    int claimed = 0;
    for (const fhir::JsonValue& e : doc->root().find("entry")->items()) {
      const fhir::JsonValue& r = *e.find("resource");
      const fhir::JsonValue* category = r.find("category");
      bool ip = category && std::string(category->items()[0].find("coding")->items()[0].find("code")->text()) != "kriseplan" &&
                (r.find("resourceType")->text() == "CarePlan" || r.find("resourceType")->text() == "CareTeam");
      if (r.find("resourceType")->text() == "Goal" || r.find("resourceType")->text() == "Consent") ip = true;
      if (!ip) continue;
      ++claimed;
      const fhir::JsonValue* meta = r.find("meta");
      ASSERT_NE(meta, nullptr) << r.find("resourceType")->text();
      EXPECT_TRUE(std::string(meta->find("profile")->items()[0].text()).starts_with("http://planbro.no/fhir/StructureDefinition/ip-"));
    }
    EXPECT_EQ(claimed, 15);  // 4 IP CareTeams (one «Enkelt samspill»), 5 Goals, 3 IP CarePlans, 3 Consents
  }
  std::string tmpl = (std::filesystem::temp_directory_path() / "planbro-serve-XXXXXX").string();
  ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
  ServeRun run = serveOnce(tmpl);
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_EQ(run.history_entries, demoEntries());
  EXPECT_EQ(run.provenances, 15);  // one per IP resource written (docs/ip-rules.md, GW-50)
  const std::map<std::string, int> expected = {{"Patient", 4}, {"RelatedPerson", 2}, {"Organization", 5},
                                               {"Practitioner", 4}, {"CareTeam", 4}, {"Goal", 5},
                                               {"CarePlan", 4}, {"Consent", 3}, {"DocumentReference", 1}};
  EXPECT_EQ(run.counts, expected);
  ASSERT_EQ(run.figures.status, 200) << run.figures.body;
  // Figures for 2026 (conformance/demo/README.md): Ingrid's finished plan from March (kommune), Jon's started plan
  // with a coordinator from June (vop), Per's started plan with a coordinator from September
  // (somatikk-rehabilitering); Siv has a coordinator only; Per's revision and two measures are overdue.
  auto count = [&](std::string_view measure, size_t group, std::string_view stratum) -> int64_t {
    for (const fhir::JsonValue& e : run.figures.root().find("entry")->items()) {
      const fhir::JsonValue& r = *e.find("resource");
      if (!std::string_view(r.find("measure")->text()).ends_with(measure)) continue;
      const fhir::JsonValue& g = r.find("group")->items()[group];
      if (stratum.empty()) return std::stoll(std::string(g.find("population")->items()[0].find("count")->text()));
      for (const fhir::JsonValue& s : g.find("stratifier")->items()) {
        for (const fhir::JsonValue& st : s.find("stratum")->items()) {
          const fhir::JsonValue* v = st.find("value");
          if (v && v->find("text")->text() == stratum) {
            return std::stoll(std::string(st.find("population")->items()[0].find("count")->text()));
          }
        }
      }
    }
    return -1;
  };
  EXPECT_EQ(count("/ip-patients-with-plan", 0, ""), 3);
  EXPECT_EQ(count("/ip-patients-with-plan", 0, "2026-T1"), 1);
  EXPECT_EQ(count("/ip-patients-with-plan", 0, "2026-T2"), 2);
  EXPECT_EQ(count("/ip-patients-with-plan", 0, "2026-T3"), 3);
  EXPECT_EQ(count("/ip-patients-with-plan", 0, "kommune"), 1);
  EXPECT_EQ(count("/ip-patients-with-plan", 0, "vop"), 1);
  EXPECT_EQ(count("/ip-patients-with-plan", 0, "somatikk-rehabilitering"), 1);
  EXPECT_EQ(count("/ip-finished-plans", 0, ""), 1);
  EXPECT_EQ(count("/ip-registered-active", 0, ""), 3);
  EXPECT_EQ(count("/ip-coordinator-only", 0, ""), 1);
  EXPECT_EQ(count("/ip-overdue-evaluations", 0, ""), 1);
  EXPECT_EQ(count("/ip-overdue-evaluations", 1, ""), 2);
  std::error_code ec;
  std::filesystem::remove_all(tmpl, ec);
}

TEST(RestServeSetup, LoadsNoDemoDataUnlessAsked) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "planbro-serve-XXXXXX").string();
  ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
  ServeRun run = serveOnce(tmpl, /*demo_data=*/false);
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_EQ(run.patients, 0);
  EXPECT_EQ(run.history_entries, 0);
  std::error_code ec;
  std::filesystem::remove_all(tmpl, ec);
}

}  // namespace
}  // namespace planbro::gateway::rest::testing
