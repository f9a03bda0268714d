// `planbro serve --demo-data` with token validation on (auth.mode: development): the demo loader is an in-process
// writer that passes every write rule but not the per-request access policy, while every network request still
// needs a token.

#include <filesystem>
#include <fstream>
#include <span>
#include <sstream>

#include "planbro/gateway/rest/serve_setup.h"
#include "planbro/gateway/security/dev_tokens.h"
#include "rest_fixture.h"

namespace planbro::gateway::rest::testing {
namespace {

namespace fs = std::filesystem;

// Ingrid Testlien, the demo's main case (synthetic fødselsnummer, conformance/demo/README.md).
constexpr const char* kIngridPid = "12868441060";
constexpr const char* kIngridSearch = "/Patient?identifier=urn:oid:2.16.578.1.12.4.1.4.1%7C12868441060";

struct AuthRun {
  int exit_code = -1;
  std::string err;
  int unauthenticated_status = 0;    // GET Patient?identifier=… without a token
  int unauthenticated_transaction = 0;  // POST / (a transaction Bundle) without a token
  int patients = -1;                 // Ingrid, read with her own token
  int care_plans = -1;               // her CarePlans, read with her own token
  int provenances = -1;              // Provenance, read by an auditor
  int provenances_naming_loader = -1;  // of them, with the demo loader as the assembling system
};

fs::path freshDir() {
  std::string tmpl = (fs::temp_directory_path() / "planbro-demo-auth-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) return {};
  return tmpl;
}

// A Bearer token minted with the key the server created in its data directory (as `planbro token` does).
std::string bearer(const std::string& data_dir, const security::MintRequest& m) {
  auto key = security::loadOrCreateDevKey((fs::path(data_dir) / security::kDevKeyFile).string());
  if (!key.isOk()) return {};
  auto token = security::mintToken(*key, m);
  return token.isOk() ? "Bearer " + *token : std::string();
}

// Ingrid herself: her own compartment.
security::MintRequest ingrid() {
  security::MintRequest m;
  m.kind = "patient";
  m.pid = kIngridPid;
  m.scope = "patient/*.rs";
  return m;
}

// An auditor (scope planbro/auditor): the audit trail, Provenance among it.
security::MintRequest auditor() {
  security::MintRequest m;
  m.hpr_number = "565501872";
  m.organization_number = "974589095";
  m.scope = "planbro/auditor user/Provenance.rs";
  return m;
}

// The id of the first entry's resource of a searchset; empty when none.
std::string firstId(const HttpResult& r) {
  const fhir::JsonValue* entries = r.root().find("entry");
  if (entries == nullptr || entries->size() == 0) return {};
  const fhir::JsonValue* res = entries->items()[0].find("resource");
  const fhir::JsonValue* id = res ? res->find("id") : nullptr;
  return id ? std::string(id->text()) : std::string();
}

int entryCount(const HttpResult& r) {
  if (r.status != 200) return -1;
  const fhir::JsonValue* entries = r.root().find("entry");
  return entries ? static_cast<int>(entries->size()) : 0;
}

AuthRun serveWithTokens(const fs::path& dir) {
  AuthRun run;
  const fs::path config = dir / "dev.yaml";
  std::ofstream(config) << "auth:\n  mode: development\n";
  ServeOptions options;
  options.config_path = config.string();
  options.overrides.listen = "127.0.0.1:0";
  options.overrides.data_dir = (dir / "data").string();
  options.overrides.demo_data = true;  // as `planbro serve --demo-data`
  options.setup = makeRestServeSetup();
  options.on_started = [&](uint16_t port, std::function<void()> stop) {
    run.unauthenticated_status = request(port, "GET", kIngridSearch).status;
    run.unauthenticated_transaction =
        request(port, "POST", "/", R"({"resourceType":"Bundle","type":"transaction","entry":[]})",
                {{"Content-Type", "application/fhir+json"}})
            .status;
    const std::string auth = bearer(*options.overrides.data_dir, ingrid());
    HttpResult patients = request(port, "GET", kIngridSearch, "", {{"Authorization", auth}});
    run.patients = entryCount(patients);
    const std::string patient = "Patient/" + firstId(patients);
    HttpResult plans = request(port, "GET", "/CarePlan?subject=" + patient, "", {{"Authorization", auth}});
    run.care_plans = entryCount(plans);
    // The auditor reads the audit trail: every Provenance, each naming the system the change came through.
    HttpResult prov = request(port, "GET", "/Provenance?_count=200", "",
                              {{"Authorization", bearer(*options.overrides.data_dir, auditor())}});
    run.provenances = entryCount(prov);
    if (const fhir::JsonValue* entries = prov.root().find("entry")) {
      run.provenances_naming_loader = 0;
      for (const fhir::JsonValue& e : entries->items()) {
        const fhir::JsonValue* res = e.find("resource");
        const fhir::JsonValue* agents = res ? res->find("agent") : nullptr;
        bool names_loader = false;
        for (const fhir::JsonValue& a : agents ? agents->items() : std::span<const fhir::JsonValue>{}) {
          const fhir::JsonValue* who = a.find("who");
          const fhir::JsonValue* identifier = who ? who->find("identifier") : nullptr;
          const fhir::JsonValue* value = identifier ? identifier->find("value") : nullptr;
          names_loader = names_loader || (value && value->text() == kDemoLoaderSystem);
        }
        run.provenances_naming_loader += names_loader;
      }
    }
    stop();
  };
  std::ostringstream err;
  run.exit_code = runServe(options, err);
  run.err = err.str();
  return run;
}

TEST(RestServeDemoAuth, DemoDataLoadsWithDevelopmentTokensAndTheNetworkStillNeedsOne) {
  const fs::path dir = freshDir();
  ASSERT_FALSE(dir.empty());
  AuthRun run = serveWithTokens(dir);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  // No token, no data: the loader's way past the access policy is not the network's.
  EXPECT_EQ(run.unauthenticated_status, 401);
  EXPECT_EQ(run.unauthenticated_transaction, 401);
  // The demo is there for one who may read it: Ingrid, with her own token.
  EXPECT_EQ(run.patients, 1);
  EXPECT_GE(run.care_plans, 1);
  // The Provenance of the demo's IP resources names the demo loader as the system the change came through.
  EXPECT_GE(run.provenances, 1);
  EXPECT_EQ(run.provenances_naming_loader, run.provenances);
  {
    // Every version the loader wrote records it as the source system; every Provenance names it as the assembler;
    // every write left its AuditEvent.
    store::SqliteStoreOptions so;
    so.path = (dir / "data" / "planbro.db").string();
    auto store = store::openSqliteStore(so);
    ASSERT_TRUE(store.isOk()) << store.status().message();
    store::HistoryQuery q;
    q.count = 500;
    auto page = (*store)->history(q);
    ASSERT_TRUE(page.isOk());
    size_t own = 0, provenances = 0, audited = 0;
    for (const store::ResourceVersion& v : page->entries) {
      if (v.type == "AuditEvent") {
        audited += v.json.find("\"site\":\"demo-loader\"") != std::string::npos;
        continue;
      }
      EXPECT_EQ(v.source_system, kDemoLoaderSystem) << v.type;
      if (v.type == "Provenance") {
        ++provenances;
        EXPECT_NE(v.json.find("\"value\":\"demo-loader\""), std::string::npos) << v.json;
      } else {
        ++own;
      }
    }
    EXPECT_GT(own, 0u);
    EXPECT_GT(provenances, 0u);
    EXPECT_EQ(audited, own);
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
}

// The same start without tokens (auth.mode: open, the quick start) loads the demo as before.
TEST(RestServeDemoAuth, DemoDataStillLoadsWithoutTokens) {
  const fs::path dir = freshDir();
  ASSERT_FALSE(dir.empty());
  int patients = -1;
  ServeOptions options;
  options.overrides.listen = "127.0.0.1:0";
  options.overrides.data_dir = (dir / "data").string();
  options.overrides.demo_data = true;
  options.setup = makeRestServeSetup();
  options.on_started = [&](uint16_t port, std::function<void()> stop) {
    patients = entryCount(request(port, "GET", kIngridSearch));
    stop();
  };
  std::ostringstream err;
  EXPECT_EQ(runServe(options, err), 0) << err.str();
  EXPECT_EQ(patients, 1);
  std::error_code ec;
  fs::remove_all(dir, ec);
}

}  // namespace
}  // namespace planbro::gateway::rest::testing
