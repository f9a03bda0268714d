// POST _search honours the result parameters in its form body (_summary, _elements, _format, _pretty) as GET does
// in its query, on the first page and on the sealed next pages (issue 8).

#include <gtest/gtest.h>

#include <string>

#include "rest_fixture.h"

namespace planbro::gateway::rest {
namespace {

using testing::HttpResult;

const std::vector<std::pair<std::string, std::string>> kForm{{"Content-Type", "application/x-www-form-urlencoded"}};

using testing::linkUrl;
using testing::targetOf;

std::vector<const fhir::JsonValue*> resources(const HttpResult& r) {
  std::vector<const fhir::JsonValue*> out;
  const fhir::JsonValue* entries = r.root().find("entry");
  for (const fhir::JsonValue& e : entries ? entries->items() : std::span<const fhir::JsonValue>()) {
    if (const fhir::JsonValue* res = e.find("resource")) out.push_back(res);
  }
  return out;
}

bool subsetted(const fhir::JsonValue& resource) {
  const fhir::JsonValue* meta = resource.find("meta");
  const fhir::JsonValue* tags = meta ? meta->find("tag") : nullptr;
  for (const fhir::JsonValue& t : tags ? tags->items() : std::span<const fhir::JsonValue>()) {
    const fhir::JsonValue* code = t.find("code");
    if (code && code->text() == "SUBSETTED") return true;
  }
  return false;
}

class PostSearchPresentation : public testing::RestServerTest {
 protected:
  void SetUp() override {
    RestServerTest::SetUp();
    for (int i = 0; i < 3; ++i) {
      HttpResult r = post("/Patient", R"({"resourceType":"Patient","name":[{"family":"Presentasjon","given":["N)" +
                                          std::to_string(i) + R"("]}],"gender":"female","birthDate":"1985-05-15"})");
      ASSERT_EQ(r.status, 201) << r.body;
    }
  }
};

TEST_P(PostSearchPresentation, ElementsInTheFormBodyApplyToTheFirstAndTheSealedNextPages) {
  HttpResult page = post("/Patient/_search", "family=Presentasjon&_count=1&_elements=gender,%20active", kForm);
  int pages = 0;
  while (pages < 5) {
    ASSERT_EQ(page.status, 200) << page.body;
    ++pages;
    auto found = resources(page);
    ASSERT_EQ(found.size(), 1u) << page.body;
    EXPECT_NE(found[0]->find("gender"), nullptr) << page.body;
    EXPECT_EQ(found[0]->find("name"), nullptr) << "page " << pages << ": " << page.body;
    EXPECT_EQ(found[0]->find("birthDate"), nullptr) << page.body;
    EXPECT_TRUE(subsetted(*found[0])) << page.body;
    std::string next = linkUrl(page, "next");
    if (next.empty()) break;
    EXPECT_EQ(next.find("gender"), std::string::npos) << "sealed: " << next;
    page = get(targetOf(next));
  }
  EXPECT_EQ(pages, 3);
}

TEST_P(PostSearchPresentation, SummaryInTheFormBodyApplies) {
  HttpResult count = post("/Patient/_search", "family=Presentasjon&_summary=count", kForm);
  ASSERT_EQ(count.status, 200) << count.body;
  EXPECT_TRUE(resources(count).empty()) << count.body;
  ASSERT_NE(count.root().find("total"), nullptr);
  EXPECT_EQ(count.root().find("total")->text(), "3");

  HttpResult summary = post("/Patient/_search", "family=Presentasjon&_summary=true&_count=1", kForm);
  ASSERT_EQ(summary.status, 200) << summary.body;
  for (HttpResult* page : {&summary}) {
    auto found = resources(*page);
    ASSERT_EQ(found.size(), 1u);
    EXPECT_TRUE(subsetted(*found[0])) << page->body;
  }
  HttpResult next = get(targetOf(linkUrl(summary, "next")));
  ASSERT_EQ(next.status, 200) << next.body;
  ASSERT_EQ(resources(next).size(), 1u);
  EXPECT_TRUE(subsetted(*resources(next)[0])) << next.body;

  HttpResult bad = post("/Patient/_search", "family=Presentasjon&_summary=sometimes", kForm);
  EXPECT_EQ(bad.status, 400) << bad.body;
}

TEST_P(PostSearchPresentation, FormatInTheFormBodyAppliesToTheFirstAndTheSealedNextPages) {
  HttpResult xml = post("/Patient/_search", "family=Presentasjon&_count=1&_format=xml", kForm);
  ASSERT_EQ(xml.status, 200) << xml.body;
  EXPECT_NE(xml.header("content-type").find("application/fhir+xml"), std::string::npos) << xml.header("content-type");
  ASSERT_TRUE(xml.body.starts_with("<")) << xml.body.substr(0, 200);
  // The next link is in the XML: <relation value="next"/><url value="..."/>.
  size_t rel = xml.body.find("<relation value=\"next\"/>");
  ASSERT_NE(rel, std::string::npos) << xml.body.substr(0, 2000);
  size_t url = xml.body.find("<url value=\"", rel);
  ASSERT_NE(url, std::string::npos);
  url += 12;
  std::string next = xml.body.substr(url, xml.body.find('"', url) - url);
  for (size_t amp; (amp = next.find("&amp;")) != std::string::npos;) next.replace(amp, 5, "&");
  HttpResult second = get(targetOf(next));
  ASSERT_EQ(second.status, 200) << second.body;
  EXPECT_NE(second.header("content-type").find("application/fhir+xml"), std::string::npos) << second.header("content-type");

  // A format given beside the token wins over the sealed one.
  HttpResult json = get(targetOf(next) + "&_format=json");
  ASSERT_EQ(json.status, 200) << json.body;
  EXPECT_NE(json.header("content-type").find("application/fhir+json"), std::string::npos);
  EXPECT_EQ(json.str("resourceType"), "Bundle");

  EXPECT_EQ(post("/Patient/_search", "family=Presentasjon&_format=image/png", kForm).status, 406);
}

TEST_P(PostSearchPresentation, PrettyInTheFormBodyApplies) {
  HttpResult pretty = post("/Patient/_search", "family=Presentasjon&_pretty=true", kForm);
  ASSERT_EQ(pretty.status, 200) << pretty.body;
  EXPECT_NE(pretty.body.find("\n  "), std::string::npos) << pretty.body.substr(0, 200);
}

// _summary and _elements have one parser (search::parseSummaryParam / parseElementsParam), used once per request by
// reads, history and searches alike: the same text selects the same elements and a bad value gets the same answer.
TEST_P(PostSearchPresentation, ReadHistoryAndSearchParseThePresentationTheSameWay) {
  HttpResult found = get("/Patient?family=Presentasjon&_count=1");
  ASSERT_EQ(found.status, 200) << found.body;
  ASSERT_EQ(resources(found).size(), 1u) << found.body;
  const std::string id(resources(found)[0]->find("id")->text());
  const std::string elements = "_elements=%20gender%20,,birthDate%20";  // spaces and an empty item
  for (const std::string& target : {"/Patient/" + id + "?" + elements, "/Patient/" + id + "/_history/1?" + elements,
                                    "/Patient?_id=" + id + "&" + elements, "/Patient/" + id + "/_history?" + elements}) {
    HttpResult r = get(target);
    ASSERT_EQ(r.status, 200) << target << ": " << r.body;
    const fhir::JsonValue* resource = r.root().find("resourceType")->text() == "Bundle" ? resources(r).at(0) : &r.root();
    EXPECT_NE(resource->find("gender"), nullptr) << target << ": " << r.body;
    EXPECT_NE(resource->find("birthDate"), nullptr) << target << ": " << r.body;
    EXPECT_EQ(resource->find("name"), nullptr) << target << ": " << r.body;
    EXPECT_TRUE(subsetted(*resource)) << target << ": " << r.body;
  }
  HttpResult bad_read = get("/Patient/" + id + "?_summary=sometimes");
  HttpResult bad_search = get("/Patient?_summary=sometimes");
  ASSERT_EQ(bad_read.status, 400) << bad_read.body;
  ASSERT_EQ(bad_search.status, 400) << bad_search.body;
  auto diagnostics = [](const HttpResult& r) {
    const fhir::JsonValue* issues = r.root().find("issue");
    const fhir::JsonValue* d = issues && issues->size() > 0 ? issues->items()[0].find("diagnostics") : nullptr;
    return d ? std::string(d->text()) : std::string();
  };
  EXPECT_EQ(diagnostics(bad_read), diagnostics(bad_search)) << bad_read.body << "\n" << bad_search.body;
  EXPECT_NE(diagnostics(bad_read).find("sometimes"), std::string::npos) << bad_read.body;
}

// A path segment is percent-decoded by the query's decoder: a bad escape and an escape that decodes to invalid
// UTF-8 are a 400, as they are in the query.
TEST_P(PostSearchPresentation, PathSegmentsAreDecodedAsTheQueryIs) {
  for (const std::string target : {"/Patient/%FFabc", "/Patient/%C3", "/Patient/ab%4", "/Patient/ab%zz"}) {
    HttpResult r = get(target);
    EXPECT_EQ(r.status, 400) << target << ": " << r.body;
  }
  EXPECT_EQ(get("/Patient?name=%FF").status, 400);
}

INSTANTIATE_TEST_SUITE_P(Engines, PostSearchPresentation, ::testing::ValuesIn(testing::engines()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace planbro::gateway::rest
