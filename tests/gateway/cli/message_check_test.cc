// `planbro message check`: the AppRec that would be sent, printed per file; exit 0 for OK, 1 for Avvist, 2 on usage.
#include <string>

#include "cli_runner.h"

namespace planbro::gateway::cli {
namespace {

const std::string kPloSamples = std::string(PLANBRO_SHARED_DIR) + "/plo/samples/";

TEST_F(PlanbroCli, MessageCheckPrintsTheOkAppRec) {
  auto r = run({"message", "check", kPloSamples + "dialogmelding-1.1/Helsefaglig_dialog_angi_profesjon_hos_mottaker.xml"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("<AppRec xmlns=\"http://www.kith.no/xmlstds/apprec/2012-02-15\">"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("<Status V=\"1\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("d93cebe5-ac91-4022-8969-4f93300d8171"), std::string::npos) << r.out;
}

TEST_F(PlanbroCli, MessageCheckRejectsABrokenMessageWithExitOne) {
  auto r = run({"message", "check", "--apprec-version", "1.0", file("broken.xml", "<MsgHead><oops>").string()});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.out.find("apprec/2004-11-21"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("<Status V=\"2\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("V=\"T01\""), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("broken.xml: Avvist"), std::string::npos) << r.err;
}

TEST_F(PlanbroCli, MessageCheckUsageErrorsExitTwo) {
  EXPECT_EQ(run({"message", "check"}).exit_code, 2);
  EXPECT_EQ(run({"message", "check", "--apprec-version", "2.0", "x.xml"}).exit_code, 2);
}

}  // namespace
}  // namespace planbro::gateway::cli

namespace planbro::gateway::cli {
namespace {

// `planbro serve` with adapters.plo on: a message the agent left in the spool is written to the store and answered.
TEST_F(PlanbroCli, ServeRunsThePloSpool) {
  const fs::path in = dir_ / "spool-in";
  fs::create_directories(in);
  writeFile(in / "m1.xml", readFile(kPloSamples + "dialogmelding-1.1/Helsefaglig_dialog_angi_profesjon_hos_mottaker.xml"));
  writeFile(in / "m2.xml", "<MsgHead>broken");
  const fs::path config = file(
      "plo.yaml", "server:\n  listen: 127.0.0.1:0\nstore:\n  data_dir: " + (dir_ / "data").string() +
                      "\nadapters:\n  plo:\n    enabled: true\n    her_id: \"8142987\"\n    spool:\n      in: " +
                      in.string() + "\n      out: " + (dir_ / "spool-out").string() + "\n      error: " +
                      (dir_ / "spool-error").string() + "\n      poll_interval_ms: 50\n");
  auto r = serve({"--config", config.string()}, "plo adapter: 1 accepted, 1 rejected");
  EXPECT_TRUE(r.saw_line) << r.log;
  EXPECT_EQ(r.exit_code, 0) << r.log;
  EXPECT_TRUE(fs::exists(dir_ / "spool-out" / "m1.xml.apprec.xml")) << r.log;
  EXPECT_TRUE(fs::exists(dir_ / "spool-error" / "m2.xml")) << r.log;
  EXPECT_NE(readFile(dir_ / "spool-out" / "m1.xml.apprec.xml").find("<Status V=\"1\""), std::string::npos);
}

TEST_F(PlanbroCli, ThePloAdapterNeedsItsSpoolFolders) {
  const fs::path config = file("plo.yaml", "server:\n  listen: 127.0.0.1:0\nstore:\n  data_dir: " +
                                               (dir_ / "data").string() + "\nadapters:\n  plo:\n    enabled: true\n");
  auto r = serve({"--config", config.string()});
  EXPECT_EQ(r.exit_code, 1) << r.log;
  EXPECT_NE(r.log.find("adapters.plo.spool.in: must be set"), std::string::npos) << r.log;
}

}  // namespace
}  // namespace planbro::gateway::cli
