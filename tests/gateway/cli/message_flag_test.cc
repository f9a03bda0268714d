// `planbro message flag`: the PLO 2.0 message with the «IP exists / coordinator» block on stdout and exit 0; no plan
// or a hostile message leaves stdout empty, the reason on stderr and exit 1; usage errors exit 2.
#include <string>

#include "cli_runner.h"
#include "../../support/ip_examples.h"
#include "planbro/fhir-model/json.h"
#include "planbro/gateway/rest/rest_handler.h"
#include "planbro/gateway/store/resource_store.h"

namespace planbro::gateway::cli {
namespace {

const std::string kPlo2Sample =
    std::string(PLANBRO_TEST_DATA_DIR) + "/plo/Sammenfatning_v2-0_IndividuellPlan_Ny.xml";

constexpr std::string_view kWithPlan = R"({"resourceType":"Parameters","parameter":[
  {"name":"hasPlan","valueBoolean":true},{"name":"planStatus","valueCode":"active"},
  {"name":"coordinator","part":[{"name":"name","valueString":"Kari Koordinator"},
    {"name":"telecom","valueContactPoint":{"system":"phone","value":"22334455"}}]}]})";
constexpr std::string_view kNoPlan = R"({"resourceType":"Parameters","parameter":[
  {"name":"hasPlan","valueBoolean":false}]})";

TEST_F(PlanbroCli, MessageFlagPrintsTheFlaggedMessage) {
  auto r = run({"message", "flag", kPlo2Sample, "--ip-status", file("status.json", kWithPlan).string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("koordinator: Kari Koordinator, tlf. 22334455"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("<MsgHead"), std::string::npos) << r.out;
  // What it printed passes `message check`.
  auto check = run({"message", "check", file("flagged.xml", r.out).string()});
  EXPECT_EQ(check.exit_code, 0) << check.err;
}

TEST_F(PlanbroCli, MessageFlagLeavesAMessageWithoutPlanUnchangedWithExitOne) {
  auto r = run({"message", "flag", kPlo2Sample, "--ip-status", file("status.json", kNoPlan).string()});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_NE(r.err.find("ingen individuell plan"), std::string::npos) << r.err;
  auto hostile = run({"message", "flag", file("xxe.xml", "<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><x>&e;</x>").string(),
                      "--ip-status", file("status.json", kWithPlan).string()});
  EXPECT_EQ(hostile.exit_code, 1) << hostile.err;
  EXPECT_TRUE(hostile.out.empty()) << hostile.out;
  EXPECT_NE(hostile.err.find("refused"), std::string::npos) << hostile.err;
  auto bad_status = run({"message", "flag", kPlo2Sample, "--ip-status", file("status.json", "{").string()});
  EXPECT_EQ(bad_status.exit_code, 1) << bad_status.err;
}

// The store holds the IP package's example plan (patient 15038540189), written as one transaction of PUTs.
void storeExamplePlan(const fs::path& data_dir) {
  fs::create_directories(data_dir);
  store::SqliteStoreOptions options;
  options.path = (data_dir / "planbro.db").string();
  auto opened = store::openSqliteStore(options);
  ASSERT_TRUE(opened.isOk()) << opened.status().message();
  rest::RestHandler handler(**opened);
  http::RequestContext context;
  http::Response response = handler.processBundle(planbro::testing::ipExamplesTransaction(), context);
  ASSERT_EQ(response.status, 200) << response.body.substr(0, 2000);
}

TEST_F(PlanbroCli, MessageFlagAsksIpStatusOfTheConfiguredStore) {
  storeExamplePlan(dir_ / "data");
  const fs::path config = file("planbro.yaml", "store:\n  data_dir: " + (dir_ / "data").string() + "\n");
  std::string message = readFile(kPlo2Sample);
  const size_t at = message.find("15076500565");
  ASSERT_NE(at, std::string::npos);
  // The sample's own patient has no plan in the store: unchanged.
  auto without = run({"message", "flag", kPlo2Sample, "--config", config.string()});
  EXPECT_EQ(without.exit_code, 1) << without.err;
  EXPECT_NE(without.err.find("ingen individuell plan"), std::string::npos) << without.err;
  message.replace(at, 11, "15038540189");
  auto r = run({"message", "flag", file("kari.xml", message).string(), "--config", config.string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("IndividuellPlanForeligger>true<"), std::string::npos) << r.out;
  EXPECT_EQ(run({"message", "check", file("flagged.xml", r.out).string()}).exit_code, 0);
  // A configured store that does not exist is an error, not a new empty database.
  const fs::path missing = file("missing.yaml", "store:\n  data_dir: " + (dir_ / "none").string() + "\n");
  auto no_store = run({"message", "flag", kPlo2Sample, "--config", missing.string()});
  EXPECT_EQ(no_store.exit_code, 1) << no_store.err;
  EXPECT_NE(no_store.err.find("no database"), std::string::npos) << no_store.err;
  EXPECT_FALSE(fs::exists(dir_ / "none"));
}

TEST_F(PlanbroCli, MessageFlagUsageErrorsExitTwo) {
  EXPECT_EQ(run({"message", "flag"}).exit_code, 2);
  EXPECT_EQ(run({"message", "flag", kPlo2Sample}).exit_code, 2);
  EXPECT_EQ(run({"message", "flag", "-", "--ip-status", "-"}).exit_code, 2);
  EXPECT_EQ(run({"message", "flag", kPlo2Sample, "--ip-status", "a.json", "--config", "b.yaml"}).exit_code, 2);
}

}  // namespace
}  // namespace planbro::gateway::cli
