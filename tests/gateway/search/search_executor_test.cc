// Search end to end below HTTP: resources indexed into a real store (SQLite file; PostgreSQL when
// PLANBRO_TEST_PG_URL is set), then parsed queries executed over it.
#include <libpq-fe.h>
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

#include "planbro/fhir-model/json.h"
#include "planbro/gateway/search/indexer.h"
#include "planbro/gateway/search/search_executor.h"
#include "planbro/gateway/search/search_request.h"
#include "../../support/test_store_place.h"

namespace planbro::gateway::search {
namespace {

using store::ResourceVersion;

enum class Engine { kSqlite, kPostgres };

std::string readFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string uniqueSuffix() {
  static std::atomic<int> counter{0};
  std::random_device rd;
  return std::to_string(getpid()) + "_" + std::to_string(counter++) + "_" + std::to_string(rd() % 1000000);
}

store::Clock steppingClock() {
  auto now = std::make_shared<std::atomic<int64_t>>(1'700'000'000'000'000);
  return [now] { return store::Timestamp(std::chrono::microseconds(now->fetch_add(1000))); };
}

// A synthetic fødselsnummer (valid check digits, not a real person).
constexpr std::string_view kFnr = "15858512066";
constexpr std::string_view kFnrSystem = "urn:oid:2.16.578.1.12.4.1.4.1";

class SearchTest : public ::testing::TestWithParam<Engine> {
 protected:
  void SetUp() override {
    if (GetParam() == Engine::kPostgres) {
      PLANBRO_SKIP_WITHOUT_TEST_POSTGRES();
      pg_url_ = planbro::testing::testPostgresUrl();
      schema_ = "search_test_" + uniqueSuffix();
      store::PostgresStoreOptions o;
      o.conninfo = pg_url_;
      o.schema = schema_;
      o.clock = steppingClock();
      auto s = store::openPostgresStore(o);
      ASSERT_TRUE(s.isOk()) << s.status().message();
      store_ = std::move(s).value();
    } else {
      dir_ = std::filesystem::temp_directory_path() / ("planbro-search-test-" + uniqueSuffix());
      std::filesystem::create_directories(dir_);
      store::SqliteStoreOptions o;
      o.path = (dir_ / "store.db").string();
      o.clock = steppingClock();
      auto s = store::openSqliteStore(o);
      ASSERT_TRUE(s.isOk()) << s.status().message();
      store_ = std::move(s).value();
    }
    loadExamples();
    put(std::string(R"({"resourceType":"Patient","id":"nor1","identifier":[{"system":")") + std::string(kFnrSystem) +
        R"(","value":")" + std::string(kFnr) + R"("}],"name":[{"family":"Ødegård","given":["Peter"]}],"gender":"male"})");
    put(R"({"resourceType":"Patient","id":"nor2","name":[{"family":"Odegard","given":["Kari"]}],"gender":"female"})");
    put(R"({"resourceType":"CarePlan","id":"ip1","status":"active","intent":"plan","subject":{"reference":"Patient/nor1"},
          "careTeam":[{"reference":"CareTeam/ct1"}],"goal":[{"reference":"Goal/g1"}]})");
    put(R"({"resourceType":"CarePlan","id":"ip2","status":"draft","intent":"plan","subject":{"reference":"Patient/nor1"}})");
    put(R"({"resourceType":"CareTeam","id":"ct1","status":"active","subject":{"reference":"Patient/nor1"}})");
    put(R"({"resourceType":"Goal","id":"g1","lifecycleStatus":"active","description":{"text":"Bo hjemme"},
          "subject":{"reference":"Patient/nor1"}})");
    put(R"({"resourceType":"Observation","id":"obs-2012","status":"final","code":{"text":"Blodsukker",
          "coding":[{"system":"http://loinc.org","code":"15074-8","display":"Glucose [Moles/volume] in Blood"}]},
          "effectiveDateTime":"2012-12-31T23:59:59Z","valueQuantity":{"value":5,"unit":"mg"}})");
    put(R"({"resourceType":"Observation","id":"obs-2013","status":"final","code":{"text":"x"},
          "effectiveDateTime":"2013-01-15","valueQuantity":{"value":7.5,"unit":"mg"}})");
    put(R"({"resourceType":"Observation","id":"obs-period","status":"final","code":{"text":"x"},
          "effectivePeriod":{"start":"2012-12-01","end":"2013-02-01"}})");
  }

  void TearDown() override {
    store_.reset();
    planbro::testing::removeTestStorePlace(dir_, pg_url_, schema_);
  }

  // Writes (create-or-update with its id) and indexes one resource; no parameter may fail to index.
  static Status writeIndexed(store::WriteTransaction& t, const std::string& json) {
    auto doc = fhir::JsonDocument::parse(json);
    if (!doc.isOk()) return doc.status();
    const fhir::JsonValue& root = doc->root();
    std::string type(root.find("resourceType")->text());
    std::string id(root.find("id")->text());
    ASSIGN_OR_RETURN(store::WriteResult w, t.update(type, id, store::ResourceContent{json, {}}));
    std::vector<IndexIssue> issues;
    IndexOptions options;
    options.last_updated = w.last_updated;
    ASSIGN_OR_RETURN(std::vector<store::IndexRow> rows, indexResource(root, &issues, options));
    for (const auto& i : issues) ADD_FAILURE() << type << "/" << id << " " << i.param << ": " << i.message;
    return t.replaceIndex(type, id, rows);
  }

  void put(const std::string& json) {
    Status s = store_->runTransaction({"test", "test"}, [&](store::WriteTransaction& t) { return writeIndexed(t, json); });
    ASSERT_TRUE(s.isOk()) << s.message();
  }

  void loadExamples() {
    std::vector<std::string> files;
    for (const auto& e : std::filesystem::directory_iterator(PLANBRO_SHARED_DIR "/fhir-r4/examples")) {
      if (e.path().extension() == ".json") files.push_back(readFile(e.path()));
    }
    Status s = store_->runTransaction({"test", "test"}, [&](store::WriteTransaction& t) {
      for (const std::string& f : files) RETURN_IF_ERROR(writeIndexed(t, f));
      return Status::ok();
    });
    ASSERT_TRUE(s.isOk()) << s.message();
    examples_ = files.size();
  }

  Result<SearchResult> search(std::string_view type, const QueryParams& params, Handling h = Handling::kStrict) {
    ASSIGN_OR_RETURN(SearchRequest req, parseSearch(type, params, h));
    SearchExecutor executor(*store_);
    return executor.execute(req);
  }

  std::set<std::string> ids(std::string_view type, const QueryParams& params) {
    auto r = search(type, params);
    EXPECT_TRUE(r.isOk()) << r.status().message();
    std::set<std::string> out;
    if (r.isOk()) {
      for (const auto& m : r->matches) out.insert(m.id);
    }
    return out;
  }

  std::unique_ptr<store::ResourceStore> store_;
  std::filesystem::path dir_;
  std::string pg_url_;
  std::string schema_;
  size_t examples_ = 0;
};

using Ids = std::set<std::string>;

TEST_P(SearchTest, IndexesEveryOfficialExample) {
  EXPECT_GE(examples_, 80u);
  EXPECT_EQ(ids("CarePlan", {{"_count", "100"}}).size(), 8u);  // 6 examples + ip1 + ip2
}

TEST_P(SearchTest, CarePlanBySubjectAndStatus) {
  EXPECT_EQ(ids("CarePlan", {{"subject", "Patient/example"}, {"status", "active"}}), Ids({"example"}));
  EXPECT_EQ(ids("CarePlan", {{"subject", "Patient/nor1"}, {"status", "active"}}), Ids({"ip1"}));
  EXPECT_EQ(ids("CarePlan", {{"subject", "Patient/nor1"}}), Ids({"ip1", "ip2"}));
  EXPECT_EQ(ids("CarePlan", {{"patient", "nor1"}, {"status", "draft,active"}}), Ids({"ip1", "ip2"}));
  EXPECT_EQ(ids("CarePlan", {{"subject:Patient", "f201"}}), Ids({"f201", "f203"}));
}

TEST_P(SearchTest, ChainedIdentifierFindsPlansOfThePatientWithTheFodselsnummer) {
  std::string value = std::string(kFnrSystem) + "|" + std::string(kFnr);
  EXPECT_EQ(ids("CarePlan", {{"subject:Patient.identifier", value}}), Ids({"ip1", "ip2"}));
  EXPECT_EQ(ids("CarePlan", {{"subject:Patient.identifier", value}, {"status", "active"}}), Ids({"ip1"}));
  EXPECT_TRUE(ids("CarePlan", {{"subject:Patient.identifier", std::string(kFnrSystem) + "|01010112345"}}).empty());
  EXPECT_EQ(ids("CarePlan", {{"subject.name", "ødeg"}}), Ids({"ip1", "ip2"}));
}

TEST_P(SearchTest, StringSearchIsPrefixCaseAndAccentInsensitiveButKeepsNorwegianLetters) {
  Ids pet = ids("Patient", {{"name", "pet"}});
  EXPECT_TRUE(pet.count("nor1"));
  EXPECT_EQ(ids("Patient", {{"name", "PET"}}), pet);
  EXPECT_EQ(ids("Patient", {{"family", "øde"}}), Ids({"nor1"}));
  EXPECT_EQ(ids("Patient", {{"family", "ode"}}), Ids({"nor2"}));
  EXPECT_EQ(ids("Patient", {{"family:exact", "Ødegård"}}), Ids({"nor1"}));
  EXPECT_TRUE(ids("Patient", {{"family:exact", "ødegård"}}).empty());
  EXPECT_EQ(ids("Patient", {{"family:contains", "gar"}}), Ids({"nor2"}));
}

TEST_P(SearchTest, DatePrefixesAndPrecision) {
  EXPECT_EQ(ids("Observation", {{"date", "ge2013-01"}}), Ids({"obs-2013", "obs-period"}));
  EXPECT_EQ(ids("Observation", {{"date", "2013-01"}}), Ids({"obs-2013"}));
  EXPECT_EQ(ids("Observation", {{"date", "lt2013-01"}}), Ids({"obs-2012", "obs-period"}));
  EXPECT_EQ(ids("Observation", {{"date", "eb2013-01"}}), Ids({"obs-2012"}));
  EXPECT_EQ(ids("Observation", {{"date", "sa2012-12-31"}}), Ids({"obs-2013"}));
  EXPECT_EQ(ids("Observation", {{"date", "ne2013-01"}}), Ids({"obs-2012", "obs-period"}));
  EXPECT_EQ(ids("Observation", {{"date", "ge2013-01-01T00:00:00+01:00"}}), Ids({"obs-2012", "obs-2013", "obs-period"}));
  EXPECT_EQ(ids("Observation", {{"value-quantity", "gt6"}}), Ids({"obs-2013"}));
  EXPECT_EQ(ids("Observation", {{"value-quantity", "5"}}), Ids({"obs-2012"}));
}

TEST_P(SearchTest, TokenTextMatchesCodeableConceptTextAndDisplay) {
  EXPECT_EQ(ids("Observation", {{"code:text", "blodsu"}}), Ids({"obs-2012"}));
  EXPECT_EQ(ids("Observation", {{"code:text", "glucose"}}), Ids({"obs-2012"}));
  EXPECT_EQ(ids("Observation", {{"code", "http://loinc.org|15074-8"}}), Ids({"obs-2012"}));
}

TEST_P(SearchTest, TokenNotAndMissing) {
  Ids all = ids("CarePlan", {{"_count", "100"}});
  Ids not_active = ids("CarePlan", {{"status:not", "active"}});
  EXPECT_FALSE(not_active.count("ip1"));
  EXPECT_TRUE(not_active.count("ip2"));
  EXPECT_EQ(not_active.size() + ids("CarePlan", {{"status", "active"}}).size(), all.size());
  EXPECT_EQ(ids("CarePlan", {{"care-team:missing", "false"}, {"subject", "Patient/nor1"}}), Ids({"ip1"}));
  EXPECT_EQ(ids("CarePlan", {{"care-team:missing", "true"}, {"subject", "Patient/nor1"}}), Ids({"ip2"}));
  EXPECT_TRUE(ids("Patient", {{"gender:missing", "true"}, {"_id", "nor1"}}).empty());
  EXPECT_EQ(ids("Patient", {{"gender", "http://hl7.org/fhir/administrative-gender|female"}, {"_id", "nor1,nor2"}}),
            Ids({"nor2"}));
}

TEST_P(SearchTest, ReverseChainHas) {
  EXPECT_EQ(ids("Patient", {{"_has:CarePlan:subject:status", "draft"}}), Ids({"nor1"}));
  EXPECT_TRUE(ids("Patient", {{"_has:CarePlan:subject:status", "revoked"}}).empty());
  EXPECT_EQ(ids("Patient", {{"_has:Goal:subject:lifecycle-status", "active"}, {"gender", "male"}}), Ids({"nor1"}));
}

TEST_P(SearchTest, IncludeCareTeamAndGoalsAndRevinclude) {
  auto r = search("CarePlan", {{"_id", "ip1"}, {"_include", "CarePlan:care-team"}, {"_include", "CarePlan:goal"}});
  ASSERT_TRUE(r.isOk()) << r.status().message();
  ASSERT_EQ(r->matches.size(), 1u);
  std::set<std::string> included;
  for (const auto& v : r->included) included.insert(v.type + "/" + v.id);
  EXPECT_EQ(included, Ids({"CareTeam/ct1", "Goal/g1"}));

  auto example = search("CarePlan", {{"_id", "example"}, {"_include", "CarePlan:care-team"}});
  ASSERT_TRUE(example.isOk());
  ASSERT_EQ(example->included.size(), 1u);
  EXPECT_EQ(example->included[0].id, "example");

  auto rev = search("Patient", {{"_id", "nor1"}, {"_revinclude", "CarePlan:subject"}});
  ASSERT_TRUE(rev.isOk()) << rev.status().message();
  std::set<std::string> revs;
  for (const auto& v : rev->included) revs.insert(v.type + "/" + v.id);
  EXPECT_EQ(revs, Ids({"CarePlan/ip1", "CarePlan/ip2"}));

  // :iterate: plans of the patient, then the care teams of those plans.
  auto it = search("Patient", {{"_id", "nor1"}, {"_revinclude", "CarePlan:subject"},
                               {"_include:iterate", "CarePlan:care-team"}});
  ASSERT_TRUE(it.isOk()) << it.status().message();
  std::set<std::string> iter;
  for (const auto& v : it->included) iter.insert(v.type + "/" + v.id);
  EXPECT_TRUE(iter.count("CareTeam/ct1"));
}

TEST_P(SearchTest, UnknownParameterIsAnErrorOrALenientWarning) {
  auto strict = search("CarePlan", {{"colour", "red"}});
  ASSERT_FALSE(strict.isOk());
  EXPECT_EQ(strict.status().code(), StatusCode::kInvalidArgument);
  auto lenient = search("CarePlan", {{"colour", "red"}, {"subject", "Patient/nor1"}}, Handling::kLenient);
  ASSERT_TRUE(lenient.isOk());
  EXPECT_EQ(lenient->matches.size(), 2u);
  ASSERT_EQ(lenient->warnings.size(), 1u);
  EXPECT_NE(lenient->warnings[0].find("colour"), std::string::npos);
}

TEST_P(SearchTest, PagingFollowsStableNextCursors) {
  Ids all = ids("Patient", {{"_count", "1000"}});
  ASSERT_GE(all.size(), 12u);
  std::vector<std::string> seen;
  std::optional<std::string> cursor;
  for (int page = 0; page < 100; ++page) {
    QueryParams p = {{"_count", "5"}};
    if (cursor) p.emplace_back("_cursor", *cursor);
    auto r = search("Patient", p);
    ASSERT_TRUE(r.isOk()) << r.status().message();
    EXPECT_LE(r->matches.size(), 5u);
    for (const auto& m : r->matches) seen.push_back(m.id);
    // Same cursor, same page.
    auto again = search("Patient", p);
    ASSERT_TRUE(again.isOk());
    ASSERT_EQ(again->matches.size(), r->matches.size());
    for (size_t i = 0; i < r->matches.size(); ++i) EXPECT_EQ(again->matches[i].id, r->matches[i].id);
    cursor = r->next_cursor;
    if (!cursor) break;
  }
  EXPECT_FALSE(cursor);
  EXPECT_EQ(seen.size(), all.size());
  EXPECT_EQ(Ids(seen.begin(), seen.end()), all);
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
  EXPECT_FALSE(search("Patient", {{"_cursor", "garbage"}}).isOk());
}

// Outside probe (2026-12-07): a page was read into memory whole, whatever its resources weigh (1,000 resources of
// 16 MB: 16 GB). With ExecutorOptions::max_page_bytes a page ends once its resources pass the bound (one always
// fits) and the next link continues after it: every match is still seen once, in order, keyset and sorted alike.
TEST_P(SearchTest, APageEndsAtItsByteBoundAndTheNextLinksStillReachEveryMatch) {
  const Ids all = ids("Patient", {{"_count", "1000"}});
  ASSERT_GE(all.size(), 12u);
  for (const std::string sort : {"", "-_lastUpdated", "family"}) {
    SCOPED_TRACE("sort '" + sort + "'");
    ExecutorOptions options;
    options.max_page_bytes = 2048;
    SearchExecutor executor(*store_, options);
    std::vector<std::string> seen;
    std::optional<std::string> cursor;
    size_t pages = 0, cut_pages = 0;
    for (; pages < 200; ++pages) {
      QueryParams p = {{"_count", "1000"}};
      if (!sort.empty()) p.emplace_back("_sort", sort);
      if (cursor) p.emplace_back("_cursor", *cursor);
      auto req = parseSearch("Patient", p, Handling::kStrict);
      ASSERT_TRUE(req.isOk()) << req.status().message();
      auto r = executor.execute(*req);
      ASSERT_TRUE(r.isOk()) << r.status().message();
      ASSERT_FALSE(r->matches.empty());
      size_t bytes = 0, largest = 0;
      for (const auto& m : r->matches) {
        seen.push_back(m.id);
        bytes += m.json.size();
        largest = std::max(largest, m.json.size());
      }
      EXPECT_LE(bytes, options.max_page_bytes + largest);  // the resource that crossed the bound is the last one
      cursor = r->next_cursor;
      if (!cursor) break;
      ++cut_pages;
      ASSERT_FALSE(r->warnings.empty());
      EXPECT_NE(r->warnings.back().find("limits.search.max_page_bytes"), std::string::npos) << r->warnings.back();
    }
    EXPECT_FALSE(cursor);
    EXPECT_GT(cut_pages, 1u);
    EXPECT_EQ(seen.size(), all.size());
    EXPECT_EQ(Ids(seen.begin(), seen.end()), all);
    if (sort.empty()) {
      EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
    }
  }
}

TEST_P(SearchTest, SortByLastUpdatedDescendingAndByParameter) {
  auto r = search("CarePlan", {{"_sort", "-_lastUpdated"}, {"_count", "3"}});
  ASSERT_TRUE(r.isOk()) << r.status().message();
  ASSERT_EQ(r->matches.size(), 3u);
  EXPECT_EQ(r->matches[0].id, "ip2");  // written last
  EXPECT_EQ(r->matches[1].id, "ip1");
  ASSERT_TRUE(r->next_cursor);
  auto next = search("CarePlan", {{"_sort", "-_lastUpdated"}, {"_count", "3"}, {"_cursor", *r->next_cursor}});
  ASSERT_TRUE(next.isOk());
  EXPECT_EQ(next->matches.size(), 3u);
  EXPECT_TRUE(next->prev_cursor);
  auto by_family = search("Patient", {{"_sort", "family"}, {"_id", "nor1,nor2"}});
  ASSERT_TRUE(by_family.isOk());
  ASSERT_EQ(by_family->matches.size(), 2u);
  EXPECT_EQ(by_family->matches[0].id, "nor2");  // "odegard" < "ødegård"
}

TEST_P(SearchTest, TotalAndSummaryCount) {
  auto r = search("CarePlan", {{"_total", "accurate"}, {"_count", "2"}});
  ASSERT_TRUE(r.isOk());
  EXPECT_EQ(r->total, 8u);
  EXPECT_EQ(r->matches.size(), 2u);
  auto count = search("CarePlan", {{"_summary", "count"}, {"status", "active"}});
  ASSERT_TRUE(count.isOk());
  EXPECT_TRUE(count->matches.empty());
  EXPECT_EQ(count->total, 4u);  // example, integrate, preg, ip1
}

TEST_P(SearchTest, ReindexAfterUpdateReplacesRows) {
  put(R"({"resourceType":"CarePlan","id":"ip2","status":"active","intent":"plan","subject":{"reference":"Patient/nor2"}})");
  EXPECT_EQ(ids("CarePlan", {{"subject", "Patient/nor1"}}), Ids({"ip1"}));
  EXPECT_EQ(ids("CarePlan", {{"subject", "Patient/nor2"}, {"status", "active"}}), Ids({"ip2"}));
}

TEST_P(SearchTest, PostSearchFormBodyWithFodselsnummerChain) {
  // POST CarePlan/_search: the fødselsnummer travels in the body, form-encoded.
  auto params = decodeQuery("subject%3APatient.identifier=urn%3Aoid%3A2.16.578.1.12.4.1.4.1%7C15858512066&status=active",
                            /*form=*/true);
  ASSERT_TRUE(params.isOk()) << params.status().message();
  EXPECT_EQ(ids("CarePlan", *params), Ids({"ip1"}));
}

TEST_P(SearchTest, UriBelowLastUpdatedAndWildcardInclude) {
  put(R"({"resourceType":"CarePlan","id":"ip3","status":"active","intent":"plan","subject":{"reference":"Patient/nor2"},
        "instantiatesUri":["http://example.org/protocol/ip/v2"],"careTeam":[{"reference":"CareTeam/ct1"}]})");
  EXPECT_EQ(ids("CarePlan", {{"instantiates-uri:below", "http://example.org/protocol/"}}), Ids({"ip3"}));
  EXPECT_TRUE(ids("CarePlan", {{"instantiates-uri", "http://example.org/protocol/"}}).empty());
  EXPECT_EQ(ids("CarePlan", {{"instantiates-uri", "http://example.org/protocol/ip/v2"}}), Ids({"ip3"}));
  // The stepping clock starts at 2023-11-14T22:13:20Z: every version is from that day on.
  EXPECT_EQ(ids("CarePlan", {{"_lastUpdated", "ge2023-11-14"}, {"_count", "100"}}).size(), 9u);
  EXPECT_TRUE(ids("CarePlan", {{"_lastUpdated", "lt2023-11-14"}}).empty());
  auto r = search("CarePlan", {{"_id", "ip3"}, {"_include", "CarePlan:*"}});
  ASSERT_TRUE(r.isOk()) << r.status().message();
  std::set<std::string> included;
  for (const auto& v : r->included) included.insert(v.type + "/" + v.id);
  EXPECT_EQ(included, Ids({"Patient/nor2", "CareTeam/ct1"}));
}

// ---- issue 8: OR lists, includes and the work budget ------------------------------------------------------------

TEST_P(SearchTest, FiveHundredIdsAndARevincludeOfEveryReferenceCostWorkLinearInTheirSize) {
  std::vector<std::string> patients;
  Status s = store_->runTransaction({"test", "test"}, [&](store::WriteTransaction& t) {
    for (int i = 0; i < 500; ++i) {
      const std::string id = "bulk" + std::to_string(i);
      RETURN_IF_ERROR(writeIndexed(t, R"({"resourceType":"Patient","id":")" + id + R"("})"));
      if (i % 5 == 0) {
        RETURN_IF_ERROR(writeIndexed(t, R"({"resourceType":"Observation","id":"o)" + id +
                                            R"(","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/)" +
                                            id + R"("}})"));
      }
    }
    return Status::ok();
  });
  ASSERT_TRUE(s.isOk()) << s.message();
  std::string list;
  for (int i = 0; i < 500; ++i) list += (i ? "," : "") + std::string("bulk") + std::to_string(i);
  auto r = search("Patient", {{"_id", list}, {"_count", "1000"}, {"_revinclude", "Observation:*"}});
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r->matches.size(), 500u);
  EXPECT_EQ(r->included.size(), 100u);
  // One index query for the 500 ids, one per Observation reference parameter that may point at a Patient (each
  // Observation is found through `subject` and again through `patient`), and one read per resource returned.
  // Per-value predicates chunked by 200, as before, sent 500 x 14 / 200 = 35 queries each walking every
  // Observation once per predicate.
  EXPECT_LE(r->work_rows, 500u + 500u + 3 * 100u + 40u) << r->work_rows;
}

TEST_P(SearchTest, ASearchBeyondTheWorkBudgetIs400AndIncludesBeyondItGiveAPartialPageWithAWarning) {
  for (int i = 0; i < 40; ++i) {
    put(R"({"resourceType":"Goal","id":"bg)" + std::to_string(i) +
        R"(","lifecycleStatus":"active","description":{"text":"x"},"subject":{"reference":"Patient/nor2"}})");
  }
  ExecutorOptions tight;
  tight.max_work_rows = 20;
  SearchExecutor executor(*store_, tight);
  auto broad = parseSearch("Goal", {{"_count", "1000"}}, Handling::kStrict);
  ASSERT_TRUE(broad.isOk());
  auto over = executor.execute(*broad);
  ASSERT_FALSE(over.isOk());
  EXPECT_EQ(over.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(over.status().message().find("max_work_rows"), std::string::npos);
  // The page fits; the includes do not: the page comes with what fitted and a warning.
  auto req = parseSearch("Patient", {{"_id", "nor2"}, {"_revinclude", "Goal:subject"}}, Handling::kStrict);
  ASSERT_TRUE(req.isOk());
  auto partial = executor.execute(*req);
  ASSERT_TRUE(partial.isOk()) << partial.status().message();
  EXPECT_EQ(partial->matches.size(), 1u);
  EXPECT_LT(partial->included.size(), 40u);
  ASSERT_FALSE(partial->warnings.empty());
  EXPECT_NE(partial->warnings.back().find("work budget"), std::string::npos);
}

TEST_P(SearchTest, AStoreFailureNeverEchoesSqlToTheClient) {
  // Break the store under the executor: its index table disappears.
  if (GetParam() == Engine::kPostgres) {
    PGconn* conn = PQconnectdb(pg_url_.c_str());
    ASSERT_EQ(PQstatus(conn), CONNECTION_OK);
    PQclear(PQexec(conn, ("DROP TABLE " + schema_ + ".search_index").c_str()));
    PQfinish(conn);
  } else {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir_ / "store.db").string().c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "DROP TABLE search_index", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  auto r = search("Patient", {{"name", "x"}, {"_id", "a,b,c"}});
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().code(), StatusCode::kInvalidArgument);
  for (std::string_view sql : {"SELECT", "search_index", "json", "EXISTS", "res_id", "?"}) {
    EXPECT_EQ(r.status().message().find(sql), std::string::npos) << r.status().message();
  }
}

// ---- issue 14: search correctness (R4 search.html) ---------------------------------------------------------------

TEST_P(SearchTest, MissingCountsAnElementWithoutSearchableValuesAsPresent) {
  // obs-2013 has code.text only (no coding): no token row, but the code is there.
  EXPECT_TRUE(ids("Observation", {{"code:missing", "true"}, {"_id", "obs-2013,obs-2012"}}).empty());
  EXPECT_EQ(ids("Observation", {{"code:missing", "false"}, {"_id", "obs-2013,obs-2012"}}), Ids({"obs-2012", "obs-2013"}));
  // A reference to a contained resource is a present subject.
  put(R"({"resourceType":"Observation","id":"obs-contained","status":"final","code":{"text":"apgar"},
        "contained":[{"resourceType":"Patient","id":"newborn"}],"subject":{"reference":"#newborn"}})");
  EXPECT_TRUE(ids("Observation", {{"subject:missing", "true"}, {"_id", "obs-contained"}}).empty());
  EXPECT_EQ(ids("Observation", {{"subject:missing", "false"}, {"_id", "obs-contained"}}), Ids({"obs-contained"}));
  EXPECT_EQ(ids("Observation", {{"subject:missing", "true"}, {"_id", "obs-2013,obs-contained"}}), Ids({"obs-2013"}));
}

// Presence comes from value rows where there are any (indexer.h, kPresentSuffix): :missing alone (no other
// criterion to drive the query), through a chain, and on a composite (which has presence rows only).
TEST_P(SearchTest, MissingReadsValueRowsAloneThroughAChainAndOnAComposite) {
  Ids with_team = ids("CarePlan", {{"care-team:missing", "false"}, {"_count", "100"}});
  Ids without_team = ids("CarePlan", {{"care-team:missing", "true"}, {"_count", "100"}});
  EXPECT_TRUE(with_team.count("ip1"));
  EXPECT_FALSE(with_team.count("ip2"));
  EXPECT_TRUE(without_team.count("ip2"));
  EXPECT_FALSE(without_team.count("ip1"));
  EXPECT_EQ(with_team.size() + without_team.size(), ids("CarePlan", {{"_count", "100"}}).size());
  EXPECT_TRUE(ids("CarePlan", {{"subject.gender:missing", "false"}, {"_count", "100"}}).count("ip1"));
  EXPECT_FALSE(ids("CarePlan", {{"subject.gender:missing", "true"}, {"_count", "100"}}).count("ip1"));
  EXPECT_EQ(ids("Observation", {{"code-value-quantity:missing", "false"}, {"_id", "obs-2012"}}), Ids({"obs-2012"}));
  EXPECT_TRUE(ids("Observation", {{"code-value-quantity:missing", "true"}, {"_id", "obs-2012"}}).empty());
}

TEST_P(SearchTest, AnAbsoluteReferenceUnderTheServersOwnBaseMatchesTheRelativeOne) {
  const std::string base = "http://host/fhir";
  Status s = store_->runTransaction({"test", "test"}, [&](store::WriteTransaction& t) -> Status {
    const std::string json = R"({"resourceType":"CarePlan","id":"ip-abs","status":"active","intent":"plan",
        "subject":{"reference":"http://host/fhir/Patient/nor1"}})";
    auto doc = fhir::JsonDocument::parse(json);
    RETURN_IF_ERROR(t.update("CarePlan", "ip-abs", store::ResourceContent{json, {}}).status());
    IndexOptions o;
    o.own_base_url = base;
    ASSIGN_OR_RETURN(auto rows, indexResource(doc->root(), nullptr, o));
    return t.replaceIndex("CarePlan", "ip-abs", rows);
  });
  ASSERT_TRUE(s.isOk()) << s.message();
  ExecutorOptions eo;
  eo.own_base_url = base;
  SearchExecutor executor(*store_, eo);
  auto run = [&](const std::string& value) {
    auto req = parseSearch("CarePlan", {{"subject", value}}, Handling::kStrict);
    EXPECT_TRUE(req.isOk());
    auto r = executor.execute(*req);
    EXPECT_TRUE(r.isOk()) << r.status().message();
    Ids out;
    if (r.isOk()) for (const auto& m : r->matches) out.insert(m.id);
    return out;
  };
  EXPECT_EQ(run("Patient/nor1"), Ids({"ip1", "ip2", "ip-abs"}));
  EXPECT_EQ(run(base + "/Patient/nor1"), Ids({"ip1", "ip2", "ip-abs"}));
  EXPECT_TRUE(run("http://elsewhere/fhir/Patient/nor1").empty());
}

TEST_P(SearchTest, QuantityUnitMatchesTheCodeOrTheHumanUnit) {
  put(R"({"resourceType":"Observation","id":"obs-mg","status":"final","code":{"text":"x"},
        "valueQuantity":{"value":5,"unit":"milligram","system":"http://unitsofmeasure.org","code":"mg"}})");
  EXPECT_EQ(ids("Observation", {{"value-quantity", "5||milligram"}, {"_id", "obs-mg"}}), Ids({"obs-mg"}));
  EXPECT_EQ(ids("Observation", {{"value-quantity", "5||mg"}, {"_id", "obs-mg"}}), Ids({"obs-mg"}));
  EXPECT_EQ(ids("Observation", {{"value-quantity", "5|http://unitsofmeasure.org|mg"}, {"_id", "obs-mg"}}), Ids({"obs-mg"}));
  EXPECT_TRUE(ids("Observation", {{"value-quantity", "5|http://unitsofmeasure.org|milligram"}, {"_id", "obs-mg"}}).empty());
}

TEST_P(SearchTest, ChainsOfTwoLevelsAndNestedHas) {
  put(R"({"resourceType":"Organization","id":"org1","name":"Helse Bergen"})");
  put(R"({"resourceType":"Patient","id":"nor3","managingOrganization":{"reference":"Organization/org1"}})");
  put(R"({"resourceType":"CarePlan","id":"ip3","status":"active","intent":"plan","subject":{"reference":"Patient/nor3"}})");
  EXPECT_EQ(ids("CarePlan", {{"subject:Patient.organization.name", "helse"}}), Ids({"ip3"}));
  EXPECT_EQ(ids("CarePlan", {{"subject.organization.name", "helse bergen"}}), Ids({"ip3"}));
  EXPECT_TRUE(ids("CarePlan", {{"subject:Patient.organization.name", "ahus"}}).empty());
  put(R"({"resourceType":"Provenance","id":"prov1","target":[{"reference":"CarePlan/ip1"}],
        "recorded":"2026-01-01T00:00:00Z","agent":[{"who":{"reference":"Practitioner/pr1"}}]})");
  EXPECT_EQ(ids("Patient", {{"_has:CarePlan:subject:_has:Provenance:target:agent", "Practitioner/pr1"}}), Ids({"nor1"}));
  EXPECT_TRUE(ids("Patient", {{"_has:CarePlan:subject:_has:Provenance:target:agent", "Practitioner/other"}}).empty());
}

TEST_P(SearchTest, IdentifierOfTypeFindsAnHNummerByItsType) {
  put(R"({"resourceType":"Patient","id":"hnr1","identifier":[{"type":{"coding":[{"system":"urn:oid:2.16.578.1.12.4.1.1.8327",
        "code":"HNR"}]},"system":"urn:oid:2.16.578.1.12.4.1.2.1234","value":"15458512345"}]})");
  EXPECT_EQ(ids("Patient", {{"identifier:of-type", "urn:oid:2.16.578.1.12.4.1.1.8327|HNR|15458512345"}}), Ids({"hnr1"}));
  EXPECT_TRUE(ids("Patient", {{"identifier:of-type", "urn:oid:2.16.578.1.12.4.1.1.8327|FNR|15458512345"}}).empty());
  EXPECT_TRUE(ids("Patient", {{"identifier:of-type", "urn:oid:2.16.578.1.12.4.1.1.8327|HNR|1"}}).empty());
  EXPECT_FALSE(search("Patient", {{"identifier:of-type", "HNR|15458512345"}}).isOk());
}

TEST_P(SearchTest, TheOidAndTheHl7NorwayNamingSystemUrlAreOneIdentifierSystem) {
  put(R"({"resourceType":"Patient","id":"alias1","identifier":[{"system":"http://hl7.no/fhir/NamingSystem/FNR",
        "value":"13116900216"}]})");
  EXPECT_EQ(ids("Patient", {{"identifier", std::string(kFnrSystem) + "|13116900216"}}), Ids({"alias1"}));
  EXPECT_EQ(ids("Patient", {{"identifier", "http://hl7.no/fhir/NamingSystem/FNR|13116900216"}}), Ids({"alias1"}));
  EXPECT_EQ(ids("Patient", {{"identifier", "http://hl7.no/fhir/NamingSystem/FNR|" + std::string(kFnr)}}), Ids({"nor1"}));
  EXPECT_EQ(ids("CarePlan", {{"subject:Patient.identifier", "http://hl7.no/fhir/NamingSystem/FNR|" + std::string(kFnr)}}),
            Ids({"ip1", "ip2"}));
}

TEST_P(SearchTest, CompositeParametersPairTheValuesOfOneFocus) {
  put(R"({"resourceType":"Observation","id":"bp1","status":"final","code":{"coding":[{"system":"http://loinc.org",
        "code":"85354-9"}]},"component":[
        {"code":{"coding":[{"system":"http://loinc.org","code":"8480-6"}]},
         "valueQuantity":{"value":120,"unit":"mmHg","system":"http://unitsofmeasure.org","code":"mm[Hg]"}},
        {"code":{"coding":[{"system":"http://loinc.org","code":"8462-4"}]},
         "valueQuantity":{"value":80,"unit":"mmHg","system":"http://unitsofmeasure.org","code":"mm[Hg]"}}]})");
  put(R"({"resourceType":"Observation","id":"bp2","status":"final","code":{"coding":[{"system":"http://loinc.org",
        "code":"85354-9"}]},"component":[
        {"code":{"coding":[{"system":"http://loinc.org","code":"8480-6"}]},"valueQuantity":{"value":150,"unit":"mmHg"}},
        {"code":{"coding":[{"system":"http://loinc.org","code":"8462-4"}]},"valueQuantity":{"value":95,"unit":"mmHg"}}]})");
  const std::string systolic = "http://loinc.org|8480-6";
  EXPECT_EQ(ids("Observation", {{"component-code-value-quantity", systolic + "$gt130"}}), Ids({"bp2"}));
  EXPECT_EQ(ids("Observation", {{"component-code-value-quantity", systolic + "$lt130"}}), Ids({"bp1"}));
  // The diastolic 95 of bp2 is not its systolic value: the pair belongs to one component.
  EXPECT_TRUE(ids("Observation", {{"component-code-value-quantity", systolic + "$95"}}).empty());
  EXPECT_EQ(ids("Observation", {{"component-code-value-quantity", "8462-4$95"}}), Ids({"bp2"}));
  EXPECT_EQ(ids("Observation", {{"component-code-value-quantity", systolic + "$120|http://unitsofmeasure.org|mm[Hg]"}}),
            Ids({"bp1"}));
  EXPECT_EQ(ids("Observation", {{"component-code-value-quantity", systolic + "$120,8462-4$95"}}), Ids({"bp1", "bp2"}));
  // code-value-quantity pairs Observation.code with Observation.value (obs-2012: 15074-8, 5 mg).
  EXPECT_EQ(ids("Observation", {{"code-value-quantity", "http://loinc.org|15074-8$5"}}), Ids({"obs-2012"}));
  EXPECT_TRUE(ids("Observation", {{"code-value-quantity", "http://loinc.org|15074-8$6"}}).empty());
  EXPECT_FALSE(search("Observation", {{"code-value-quantity", "15074-8"}}).isOk());  // no '$'
}

INSTANTIATE_TEST_SUITE_P(Engines, SearchTest, ::testing::Values(Engine::kSqlite, Engine::kPostgres),
                         [](const auto& info) { return info.param == Engine::kSqlite ? "Sqlite" : "Postgres"; });

}  // namespace
}  // namespace planbro::gateway::search
