// `planbro serve` validates writes against profiles: the R4 core ones and planbro's individual-plan package
// (conformance/ip/package), for resources that claim them in meta.profile.

#include <fstream>
#include <sstream>

#include "planbro/gateway/rest/serve_setup.h"
#include "rest_fixture.h"

namespace planbro::gateway::rest::testing {
namespace {

constexpr const char* kIpCarePlan = "http://planbro.no/fhir/StructureDefinition/ip-careplan";

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

size_t errorCount(const HttpResult& r) {
  size_t n = 0;
  if (const fhir::JsonValue* issues = r.root().find("issue")) {
    for (const fhir::JsonValue& issue : issues->items()) {
      const fhir::JsonValue* severity = issue.find("severity");
      if (severity && (severity->text() == "error" || severity->text() == "fatal")) ++n;
    }
  }
  return n;
}

class ProfileWrites : public ::testing::Test {
 protected:
  template <typename Body>
  void serve(Body body) {
    std::string dir = (std::filesystem::temp_directory_path() / "planbro-profiles-XXXXXX").string();
    ASSERT_NE(mkdtemp(dir.data()), nullptr);
    ServeOptions options;
    options.overrides.listen = "127.0.0.1:0";
    options.overrides.data_dir = dir;
    options.setup = makeRestServeSetup();
    options.on_started = [&](uint16_t port, std::function<void()> stop) {
      body(port);
      stop();
    };
    std::ostringstream err;
    EXPECT_EQ(runServe(options, err), 0) << err.str();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

TEST_F(ProfileWrites, ACarePlanClaimingTheIpProfileIsHeldToIt) {
  serve([](uint16_t port) {
    HttpResult patient = request(port, "POST", "/Patient", R"({"resourceType":"Patient","active":true})");
    ASSERT_EQ(patient.status, 201) << patient.body;
    std::string id(patient.root().find("id")->text());
    std::string plain = R"({"resourceType":"CarePlan","status":"active","intent":"plan","subject":{"reference":"Patient/)" +
                        id + R"("}})";
    EXPECT_EQ(request(port, "POST", "/CarePlan", plain).status, 201);
    // The same plan claiming the IP profile lacks what the profile requires (its category, among others).
    std::string claimed = R"({"resourceType":"CarePlan","meta":{"profile":[")" + std::string(kIpCarePlan) +
                          R"("]},"status":"active","intent":"plan","subject":{"reference":"Patient/)" + id + R"("}})";
    HttpResult r = request(port, "POST", "/CarePlan", claimed);
    EXPECT_EQ(r.status, 422) << r.body.substr(0, 800);
    EXPECT_GT(errorCount(r), 0u);
  });
}

TEST_F(ProfileWrites, TheIpPackagesExamplesPassValidateAgainstTheirProfiles) {
  serve([](uint16_t port) {
    const std::string dir = std::string(PLANBRO_TEST_DATA_DIR) + "/../../conformance/ip/package/example/";
    for (const char* name : {"CarePlan-ip-example-careplan.json", "CareTeam-ip-example-careteam.json",
                             "Consent-ip-example-consent-plan.json", "Consent-ip-example-consent-sharing.json"}) {
      std::string body = readFile(dir + name);
      ASSERT_FALSE(body.empty()) << name;
      std::string type = std::string(name).substr(0, std::string(name).find('-'));
      HttpResult r = request(port, "POST", "/" + type + "/$validate", body);
      EXPECT_EQ(r.status, 200) << name << ": " << r.body.substr(0, 800);
      EXPECT_EQ(errorCount(r), 0u) << name << ": " << r.body.substr(0, 2000);
    }
  });
}

}  // namespace
}  // namespace planbro::gateway::rest::testing
