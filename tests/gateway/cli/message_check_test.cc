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
