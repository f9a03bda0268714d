// _summary and _elements on official examples.
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "planbro/fhir-model/json.h"
#include "planbro/gateway/search/result_shaping.h"

namespace planbro::gateway::search {
namespace {

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

fhir::JsonDocument shaped(const std::string& json, SummaryMode mode, const std::vector<std::string>& elements = {}) {
  auto s = shapeResource(json, mode, elements);
  EXPECT_TRUE(s.isOk()) << s.status().message();
  auto doc = fhir::JsonDocument::parse(s.isOk() ? *s : std::string("{}"));
  EXPECT_TRUE(doc.isOk());
  return std::move(doc).value();
}

bool subsetted(const fhir::JsonValue& r) {
  const fhir::JsonValue* meta = r.find("meta");
  const fhir::JsonValue* tags = meta ? meta->find("tag") : nullptr;
  if (tags == nullptr) return false;
  for (const auto& t : tags->items()) {
    if (t.find("code") && t.find("code")->text() == "SUBSETTED") return true;
  }
  return false;
}

const std::string& carePlan() {
  static const std::string json = readFile(PLANBRO_SHARED_DIR "/fhir-r4/examples/CarePlan-example.json");
  return json;
}

TEST(ShapeResource, SummaryTrueKeepsSummaryElementsAndTagsSubsetted) {
  fhir::JsonDocument doc = shaped(carePlan(), SummaryMode::kTrue);
  const auto& r = doc.root();
  EXPECT_TRUE(r.find("status"));       // isSummary in CarePlan
  EXPECT_TRUE(r.find("subject"));
  EXPECT_FALSE(r.find("text"));
  EXPECT_FALSE(r.find("activity"));    // not a summary element
  EXPECT_EQ(r.find("id")->text(), "example");
  EXPECT_TRUE(subsetted(r));
}

TEST(ShapeResource, DataDropsTextAndElementsKeepsOnlyTheNamedOnes) {
  fhir::JsonDocument data = shaped(carePlan(), SummaryMode::kData);
  EXPECT_FALSE(data.root().find("text"));
  EXPECT_TRUE(data.root().find("activity"));
  fhir::JsonDocument el = shaped(carePlan(), SummaryMode::kNone, {"status", "careTeam"});
  std::vector<std::string> keys;
  for (const auto& m : el.root().members()) keys.emplace_back(m.key);
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(keys, (std::vector<std::string>{"careTeam", "id", "meta", "resourceType", "status"}));
  EXPECT_TRUE(subsetted(el.root()));
}

TEST(ShapeResource, NoSummaryReturnsTheBytesUnchanged) {
  auto s = shapeResource(carePlan(), SummaryMode::kNone, {});
  ASSERT_TRUE(s.isOk());
  EXPECT_EQ(*s, carePlan());
  EXPECT_FALSE(shapeResource("[1]", SummaryMode::kTrue, {}).isOk());
}

}  // namespace
}  // namespace planbro::gateway::search
