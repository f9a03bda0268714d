// The CapabilityStatement advertises searchInclude and searchRevInclude per resource type, from the reference search
// parameters, and the search parser accepts every value it advertises (issue 14).

#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <string>

#include "planbro/gateway/search/indexer.h"
#include "planbro/gateway/search/search_request.h"
#include "rest_fixture.h"

namespace planbro::gateway::rest::testing {
namespace {

std::set<std::string> stringsOf(const fhir::JsonValue* list) {
  std::set<std::string> out;
  for (const fhir::JsonValue& v : list ? list->items() : std::span<const fhir::JsonValue>()) out.emplace(v.text());
  return out;
}

const fhir::JsonValue* resourceEntry(const HttpResult& metadata, std::string_view type) {
  const fhir::JsonValue* rest = metadata.root().find("rest");
  if (!rest || rest->size() == 0) return nullptr;
  const fhir::JsonValue* resources = rest->items()[0].find("resource");
  for (const fhir::JsonValue& r : resources ? resources->items() : std::span<const fhir::JsonValue>()) {
    if (const fhir::JsonValue* t = r.find("type"); t && t->text() == type) return &r;
  }
  return nullptr;
}

class CapabilityIncludes : public RestServerTest {};

TEST_P(CapabilityIncludes, AdvertisesRevIncludesOfTheReferencesPointingAtEachType) {
  HttpResult metadata = get("/metadata");
  ASSERT_EQ(metadata.status, 200);
  const fhir::JsonValue* patient = resourceEntry(metadata, "Patient");
  ASSERT_NE(patient, nullptr);
  std::set<std::string> rev = stringsOf(patient->find("searchRevInclude"));
  for (const char* expected : {"Observation:subject", "CarePlan:subject", "CareTeam:subject", "Goal:subject",
                               "Consent:patient", "Encounter:patient"}) {
    EXPECT_TRUE(rev.count(expected)) << expected;
  }
  EXPECT_FALSE(rev.count("Observation:code"));        // a token parameter
  EXPECT_FALSE(rev.count("CarePlan:goal"));          // points at Goal only
  std::set<std::string> inc = stringsOf(resourceEntry(metadata, "CarePlan")->find("searchInclude"));
  EXPECT_TRUE(inc.count("CarePlan:subject"));
  EXPECT_TRUE(inc.count("CarePlan:care-team"));
  EXPECT_TRUE(stringsOf(resourceEntry(metadata, "Goal")->find("searchRevInclude")).count("CarePlan:goal"));
}

TEST_P(CapabilityIncludes, EveryAdvertisedIncludeIsAReferenceParameterThatTheSearchParserAccepts) {
  HttpResult metadata = get("/metadata");
  ASSERT_EQ(metadata.status, 200);
  const fhir::JsonValue* resources = metadata.root().find("rest")->items()[0].find("resource");
  size_t checked = 0;
  for (const fhir::JsonValue& r : resources->items()) {
    std::string type(r.find("type")->text());
    for (const char* kind : {"searchInclude", "searchRevInclude"}) {
      for (const std::string& value : stringsOf(r.find(kind))) {
        size_t colon = value.find(':');
        ASSERT_NE(colon, std::string::npos) << value;
        std::string source = value.substr(0, colon);
        const fhir::SearchParamDef* p = search::findSearchParam(source, value.substr(colon + 1));
        ASSERT_NE(p, nullptr) << type << " " << kind << " " << value;
        EXPECT_EQ(p->type, fhir::SearchParamType::kReference) << value;
        if (std::string_view(kind) == "searchInclude") {
          EXPECT_EQ(source, type) << value;
        } else {
          EXPECT_TRUE(p->target.empty() || std::find(p->target.begin(), p->target.end(), type) != p->target.end())
              << value << " does not point at " << type;
        }
        search::QueryParams q{{std::string(kind) == "searchInclude" ? "_include" : "_revinclude", value}};
        auto parsed = search::parseSearch(type, q, search::ParseOptions{});
        EXPECT_TRUE(parsed.isOk()) << type << "?" << kind << "=" << value << ": " << parsed.status().message();
        ++checked;
      }
    }
  }
  EXPECT_GT(checked, 1000u);
}

TEST_P(CapabilityIncludes, AnAdvertisedRevIncludeWorksInASearch) {
  HttpResult p = post("/Patient", R"({"resourceType":"Patient","name":[{"family":"Revsen"}]})");
  ASSERT_EQ(p.status, 201) << p.body;
  HttpResult g = post("/Goal", R"({"resourceType":"Goal","lifecycleStatus":"active","description":{"text":"x"},
    "subject":{"reference":"Patient/)" + p.str("id") + R"("}})");
  ASSERT_EQ(g.status, 201) << g.body;
  HttpResult r = get("/Patient?family=Revsen&_revinclude=Goal:subject");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("\"Goal\""), std::string::npos) << r.body;
}

INSTANTIATE_TEST_SUITE_P(Engines, CapabilityIncludes, ::testing::ValuesIn(engines()),
                         [](const auto& info) { return info.param; });

// The statement's date comes from the REST layer's injected clock (issue 9: REST reads the injected clock), not
// from the system clock: a handler whose clock stands at 2031-05-17 publishes that date.
class CapabilityDate : public RestServerTest {
 protected:
  RestOptions restOptions() override {
    RestOptions o;
    o.clock = [] { return store::Timestamp(std::chrono::sys_days(std::chrono::year{2031} / 5 / 17)) +
                          std::chrono::hours(8) + std::chrono::microseconds(250000); };
    return o;
  }
};

TEST_P(CapabilityDate, TheStatementIsDatedByTheInjectedClock) {
  HttpResult metadata = get("/metadata");
  ASSERT_EQ(metadata.status, 200) << metadata.body;
  EXPECT_EQ(metadata.str("date").substr(0, 19), "2031-05-17T08:00:00") << metadata.body.substr(0, 200);
  EXPECT_EQ(metadata.str("resourceType"), "CapabilityStatement");
  EXPECT_NE(metadata.root().find("rest"), nullptr);
}

INSTANTIATE_TEST_SUITE_P(Engines, CapabilityDate, ::testing::ValuesIn(engines()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace planbro::gateway::rest::testing
