// Every generated link is a valid RFC 3986 URI whose query decodes back to the search's parameters (issue 14: a raw
// '|' made Java's URI refuse page links).

#include <gtest/gtest.h>

#include <string>

#include "planbro/gateway/search/search_request.h"
#include "rest_fixture.h"

namespace planbro::gateway::rest::testing {
namespace {

// RFC 3986 §3.4: query = *( pchar / "/" / "?" ), pchar = unreserved / pct-encoded / sub-delims / ":" / "@". Also
// rejects '+' (a form's space, ambiguous in a link) so that a value's '+' must be encoded.
bool strictQuery(std::string_view q, std::string* bad) {
  for (size_t i = 0; i < q.size(); ++i) {
    const char c = q[i];
    const bool unreserved = std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' || c == '~';
    const bool sub_delim = c == '!' || c == '$' || c == '&' || c == '\'' || c == '(' || c == ')' || c == '*' ||
                           c == ',' || c == ';' || c == '=';
    if (unreserved || sub_delim || c == ':' || c == '@' || c == '/' || c == '?') continue;
    if (c == '%' && i + 2 < q.size() + 0 && std::isxdigit(static_cast<unsigned char>(q[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(q[i + 2]))) {
      i += 2;
      continue;
    }
    *bad = std::string(q.substr(i, 8));
    return false;
  }
  return true;
}

// The link's query, after checking the whole URL is scheme://authority/path?query with strict characters.
search::QueryParams strictlyParsedQuery(const std::string& url) {
  EXPECT_TRUE(url.starts_with("http://fhir.test/")) << url;
  size_t q = url.find('?');
  std::string path = url.substr(0, q);
  for (char c : path) EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || std::string_view(":/.-_").find(c) != std::string_view::npos) << url;
  if (q == std::string::npos) return {};
  std::string query = url.substr(q + 1);
  std::string bad;
  EXPECT_TRUE(strictQuery(query, &bad)) << "not RFC 3986 at '" << bad << "' in " << url;
  EXPECT_EQ(url.find('#'), std::string::npos) << url;
  auto decoded = search::decodeQuery(query, false);
  EXPECT_TRUE(decoded.isOk()) << url;
  return decoded.isOk() ? *decoded : search::QueryParams{};
}

std::string valueOf(const search::QueryParams& params, std::string_view name) {
  for (const auto& [k, v] : params) {
    if (k == name) return v;
  }
  return "(absent)";
}

class LinkEncoding : public RestServerTest {};

TEST_P(LinkEncoding, SearchLinksAreStrictUrisThatDecodeToTheSameParameters) {
  const std::string identifier = "http://example.org/id|a b&c+d=e%f";
  for (int i = 0; i < 3; ++i) {
    HttpResult r = post("/Patient", R"({"resourceType":"Patient","identifier":[{"system":"http://example.org/id","value":"a b&c+d=e%f"}],
      "name":[{"family":"Ørnsø"}]})");
    ASSERT_EQ(r.status, 201) << r.body;
  }
  HttpResult page = get("/Patient?identifier=http://example.org/id%7Ca%20b%26c%2Bd%3De%25f&family=%C3%98rns%C3%B8&_count=1");
  ASSERT_EQ(page.status, 200) << page.body;
  int pages = 0;
  while (pages < 5) {
    ++pages;
    for (const char* relation : {"self", "next"}) {
      std::string url = linkUrl(page, relation);
      if (url.empty()) continue;
      EXPECT_EQ(url.find('|'), std::string::npos) << url;
      search::QueryParams params = strictlyParsedQuery(url);
      EXPECT_EQ(valueOf(params, "identifier"), identifier) << url;
      EXPECT_EQ(valueOf(params, "family"), "Ørnsø") << url;
      EXPECT_EQ(valueOf(params, "_count"), "1") << url;
    }
    std::string next = linkUrl(page, "next");
    if (next.empty()) break;
    page = get(next.substr(std::string("http://fhir.test").size()));
    ASSERT_EQ(page.status, 200) << page.body;
    ASSERT_EQ(page.root().find("entry")->size(), 1u) << page.body;
  }
  EXPECT_EQ(pages, 3);
}

TEST_P(LinkEncoding, SealedAndHistoryLinksAreStrictUris) {
  for (int i = 0; i < 3; ++i) ASSERT_EQ(post("/Patient", R"({"resourceType":"Patient","name":[{"family":"Lenkje"}]})").status, 201);
  HttpResult sealed = post("/Patient/_search", "family=Lenkje&_count=1", {{"Content-Type", "application/x-www-form-urlencoded"}});
  ASSERT_EQ(sealed.status, 200) << sealed.body;
  for (const char* relation : {"self", "next"}) {
    search::QueryParams params = strictlyParsedQuery(linkUrl(sealed, relation));
    EXPECT_NE(valueOf(params, "_page"), "(absent)");
  }
  HttpResult history = get("/_history?_count=1&_since=2020-01-01T00:00:00%2B01:00");
  ASSERT_EQ(history.status, 200) << history.body;
  for (const char* relation : {"self", "next"}) {
    std::string url = linkUrl(history, relation);
    ASSERT_FALSE(url.empty()) << relation;
    search::QueryParams params = strictlyParsedQuery(url);
    EXPECT_EQ(valueOf(params, "_since"), "2020-01-01T00:00:00+01:00") << url;
  }
  HttpResult second = get(linkUrl(history, "next").substr(std::string("http://fhir.test").size()));
  EXPECT_EQ(second.status, 200) << second.body;
}

INSTANTIATE_TEST_SUITE_P(Engines, LinkEncoding, ::testing::ValuesIn(engines()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace planbro::gateway::rest::testing
