// `planbro serve` with the REST layer plugged in: the demo plan is loaded once into a fresh data directory.

#include <sstream>

#include "planbro/gateway/rest/serve_setup.h"
#include "rest_fixture.h"

namespace planbro::gateway::rest::testing {
namespace {

struct ServeRun {
  int exit_code = -1;
  int patients = -1;
  int ready_status = 0;
  int history_entries = -1;
};

ServeRun serveOnce(const std::string& data_dir, bool demo_data = true) {
  ServeRun run;
  ServeOptions options;
  options.overrides.listen = "127.0.0.1:0";
  options.overrides.data_dir = data_dir;
  if (demo_data) options.overrides.demo_data = true;  // as `planbro serve --demo-data`
  options.setup = makeRestServeSetup();
  options.on_started = [&](uint16_t port, std::function<void()> stop) {
    HttpResult r = request(port, "GET", "/Patient?identifier=urn:oid:2.16.578.1.12.4.1.4.1%7C15858512066");
    const fhir::JsonValue* entries = r.root().find("entry");
    run.patients = r.status == 200 ? static_cast<int>(entries ? entries->size() : 0) : -1;
    run.ready_status = request(port, "GET", "/readyz").status;
    HttpResult h = request(port, "GET", "/_history?_count=100");
    const fhir::JsonValue* he = h.root().find("entry");
    run.history_entries = he ? static_cast<int>(he->size()) : 0;
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
  EXPECT_EQ(first.history_entries, 7);
  ServeRun second = serveOnce(tmpl);
  EXPECT_EQ(second.exit_code, 0);
  EXPECT_EQ(second.history_entries, 7);  // not loaded again
  {
    // The loader writes through the operations layer as its own source system.
    store::SqliteStoreOptions so;
    so.path = tmpl + "/planbro.db";
    auto store = store::openSqliteStore(so);
    ASSERT_TRUE(store.isOk()) << store.status().message();
    store::HistoryQuery q;
    q.count = 100;
    auto page = (*store)->history(q);
    ASSERT_TRUE(page.isOk());
    ASSERT_EQ(page->entries.size(), 7u);
    for (const store::ResourceVersion& v : page->entries) EXPECT_EQ(v.source_system, "demo-loader") << v.type;
  }
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
