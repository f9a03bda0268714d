// The patient compartment on the head row (schema 8): written with the index rows, answering compartment groups of
// a search (the consent narrowing) on the row, with the index rows as the fallback for resources of no or several
// patients and for rows not computed for the current version; the two-step plan; the migration from version 7.
// Both engines, like resource_store_test.cc.
#include <libpq-fe.h>
#include <sqlite3.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "planbro/gateway/store/patient_compartment.h"
#include "planbro/gateway/store/resource_store.h"
#include "../../support/test_store_place.h"
#include "two_step_advisor.h"

namespace planbro::gateway::store {
namespace {

enum class Engine { kSqlite, kPostgres };
using Ids = std::vector<std::string>;

IndexRow patientRef(const std::string& param, const std::string& patient) {
  IndexRow r;
  r.param = param;
  r.kind = IndexValueKind::kReference;
  r.ref_type = "Patient";
  r.ref_id = patient;
  return r;
}

IndexRow status(const std::string& code) { return IndexRow{"lifecycle-status", IndexValueKind::kToken, "", "", code}; }

IndexPredicate statusIs(const std::string& code) {
  IndexPredicate p;
  p.param = "lifecycle-status";
  p.kind = IndexValueKind::kToken;
  p.code = code;
  return p;
}

IndexPredicate refTo(const std::string& param, const std::string& patient) {
  IndexPredicate p;
  p.param = param;
  p.kind = IndexValueKind::kReference;
  p.ref_type = "Patient";
  p.ref_id = patient;
  return p;
}

// The consent narrowing's group (security::compartmentPredicates): every compartment parameter of the type for
// every patient.
std::vector<IndexPredicate> compartmentOf(const std::string& type, const std::vector<std::string>& patients) {
  std::vector<IndexPredicate> group;
  for (std::string_view param : patientCompartmentParams(type)) {
    for (const std::string& p : patients) group.push_back(refTo(std::string(param), p));
  }
  return group;
}

class CompartmentTest : public ::testing::TestWithParam<Engine> {
 protected:
  void SetUp() override {
    if (GetParam() == Engine::kPostgres) {
      PLANBRO_SKIP_WITHOUT_TEST_POSTGRES();
      pg_url_ = planbro::testing::testPostgresUrl();
      schema_ = "compartment_test_" + planbro::testing::uniqueTestName();
    } else {
      dir_ = std::filesystem::temp_directory_path() / ("planbro-compartment-test-" + planbro::testing::uniqueTestName());
      std::filesystem::create_directories(dir_);
    }
    reopen();
  }

  void TearDown() override {
    store_.reset();
    planbro::testing::removeTestStorePlace(dir_, pg_url_, schema_);
  }

  void reopen() {
    store_.reset();
    Result<std::unique_ptr<ResourceStore>> s = Status::ok();
    if (GetParam() == Engine::kPostgres) {
      PostgresStoreOptions o;
      o.conninfo = pg_url_;
      o.schema = schema_;
      o.pool_size = 2;
      s = openPostgresStore(o);
    } else {
      SqliteStoreOptions o;
      o.path = (dir_ / "store.db").string();
      o.pool_size = 2;
      s = openSqliteStore(o);
    }
    ASSERT_TRUE(s.isOk()) << s.status().message();
    store_ = std::move(s).value();
  }

  // Writes a new version of type/id with `rows` as its index, as the write path does.
  void put(const std::string& type, const std::string& id, const std::vector<IndexRow>& rows) {
    Status s = store_->runTransaction({"test", "test"}, [&](WriteTransaction& t) -> Status {
      RETURN_IF_ERROR(t.update(type, id, {"{\"n\":" + std::to_string(++writes_) + "}", {}}).status());
      return t.replaceIndex(type, id, rows);
    });
    ASSERT_TRUE(s.isOk()) << s.message();
  }

  IndexPage page(const std::string& type, std::vector<std::vector<IndexPredicate>> all_of, size_t count = 100,
                 std::optional<std::string> after = std::nullopt) {
    IndexQuery q;
    q.type = type;
    q.all_of = std::move(all_of);
    q.count = count;
    q.after_id = std::move(after);
    auto p = store_->searchIndex(q);
    EXPECT_TRUE(p.isOk()) << p.status().message();
    return p.isOk() ? *p : IndexPage{};
  }

  // Every id of the search, following its pages of `count`.
  Ids all(const std::string& type, const std::vector<std::vector<IndexPredicate>>& all_of, size_t count) {
    Ids out;
    std::optional<std::string> after;
    for (int pages = 0; pages < 1000; ++pages) {
      IndexPage p = page(type, all_of, count, after);
      EXPECT_LE(p.ids.size(), count);
      out.insert(out.end(), p.ids.begin(), p.ids.end());
      if (!p.next_after_id) return out;
      after = p.next_after_id;
    }
    ADD_FAILURE() << "paging did not end";
    return out;
  }

  // Runs `text` on the database directly and returns the first cell of its result ("" for NULL), or "error".
  std::string rawSql(const std::string& text) {
    return planbro::testing::rawTestStoreSql(GetParam() == Engine::kPostgres ? pg_url_ : std::string(), schema_,
                                             dir_ / "store.db", text);
  }

  std::string column(const std::string& type, const std::string& id) {
    return rawSql("SELECT COALESCE(patient_compartment, 'NULL') || ' ' || CAST(compartment_version AS TEXT) || '/' || "
                  "CAST(version AS TEXT) FROM resource WHERE res_type = '" + type + "' AND res_id = '" + id + "'");
  }

  std::filesystem::path dir_;
  std::string pg_url_;
  std::string schema_;
  std::unique_ptr<ResourceStore> store_;
  int writes_ = 0;
};

TEST(PatientCompartmentTable, NamesTheOwnPatientParametersAndOneOrSeveralPatients) {
  EXPECT_EQ(patientCompartmentParams("Goal").size(), 1u);
  EXPECT_EQ(patientCompartmentParams("Goal")[0], "patient");
  EXPECT_EQ(patientCompartmentParams("Invoice").size(), 2u);
  EXPECT_TRUE(patientCompartmentParams("Patient").empty());
  EXPECT_TRUE(patientCompartmentParams("Organization").empty());
  EXPECT_EQ(singleCompartmentPatient("Goal", {patientRef("patient", "a"), status("active")}), "a");
  EXPECT_EQ(singleCompartmentPatient("Goal", {patientRef("patient", "a"), patientRef("patient", "a")}), "a");
  EXPECT_EQ(singleCompartmentPatient("Provenance", {patientRef("patient", "a"), patientRef("patient", "b")}),
            std::nullopt);
  EXPECT_EQ(singleCompartmentPatient("Goal", {patientRef("subject", "a")}), std::nullopt);  // not Goal's parameter
  EXPECT_EQ(singleCompartmentPatient("Goal", {status("active")}), std::nullopt);
  IndexRow group_ref = patientRef("patient", "a");
  group_ref.ref_type = "Group";
  EXPECT_EQ(singleCompartmentPatient("Goal", {group_ref}), std::nullopt);
}

TEST(TwoStepAdvisor, AShapeWhoseFirstStepsMissTriesLessOftenAndOneThatFillsTriesEveryTime) {
  internal::TwoStepAdvisor advisor;
  auto tries = [&](const std::string& shape, int queries) {
    int n = 0;
    for (int i = 0; i < queries; ++i) n += advisor.shouldTry(shape) ? 1 : 0;
    return n;
  };
  EXPECT_EQ(tries("Goal|status", 10), 10);  // nothing known: always
  advisor.record("Goal|status", false);
  EXPECT_EQ(tries("Goal|status", 8), 4);  // one miss: every 2nd query
  for (int i = 0; i < 10; ++i) advisor.record("Goal|status", false);
  EXPECT_EQ(tries("Goal|status", 640), 10);  // capped: every 64th
  EXPECT_EQ(tries("Goal|code", 5), 5);       // another shape is not affected
  advisor.record("Goal|status", true);
  EXPECT_EQ(tries("Goal|status", 5), 5);  // a first step that filled its page: every query again
}

TEST_P(CompartmentTest, TheHeadRowKeepsTheOnePatientOfTheCurrentVersion) {
  put("Goal", "g1", {patientRef("patient", "a"), status("active")});
  EXPECT_EQ(column("Goal", "g1"), "a 1/1");
  put("Goal", "g1", {patientRef("patient", "b"), status("active")});
  EXPECT_EQ(column("Goal", "g1"), "b 2/2");
  put("Provenance", "p1", {patientRef("patient", "a"), patientRef("patient", "b")});
  EXPECT_EQ(column("Provenance", "p1"), "NULL 1/1");  // several patients: answered by the index rows
  put("Organization", "o1", {});
  EXPECT_EQ(column("Organization", "o1"), "NULL 0/1");  // no compartment: never written
  // An update without its index (as an older gateway on the same database would write it): the mark is stale.
  ASSERT_TRUE(store_->runTransaction({"test", "test"}, [&](WriteTransaction& t) {
                      return t.update("Goal", "g1", {"{\"n\":99}", {}}).status();
                    }).isOk());
  EXPECT_EQ(column("Goal", "g1"), "b 2/3");
}

// Every way the column answers gives what the index rows give: one patient, several, none, and a row whose mark
// is of an older version, whose index rows then decide.
TEST_P(CompartmentTest, NarrowedSearchesAnswerAsTheIndexRowsDoWhereverTheColumnCannot) {
  put("Goal", "a1", {patientRef("patient", "a"), status("active")});
  put("Goal", "a2", {patientRef("patient", "a"), status("completed")});
  put("Goal", "b1", {patientRef("patient", "b"), status("active")});
  put("Goal", "n1", {status("active")});  // no patient
  put("Provenance", "ab", {patientRef("patient", "a"), patientRef("patient", "b")});
  put("Provenance", "bc", {patientRef("patient", "b"), patientRef("patient", "c")});
  // Goal b1 moved to patient a by a writer that did not mark the row (its mark is b, of version 1).
  ASSERT_NE(rawSql("UPDATE resource SET version = 2 WHERE res_type = 'Goal' AND res_id = 'b1'"), "error");
  ASSERT_NE(rawSql("UPDATE search_index SET ref_id = 'a' WHERE res_type = 'Goal' AND res_id = 'b1' AND param = 'patient'"),
            "error");
  ASSERT_EQ(column("Goal", "b1"), "b 1/2");

  const IndexPredicate active = statusIs("active");
  EXPECT_EQ(page("Goal", {{active}, compartmentOf("Goal", {"a"})}).ids, (Ids{"a1", "b1"}));
  EXPECT_EQ(page("Goal", {{active}, compartmentOf("Goal", {"b"})}).ids, Ids{});
  EXPECT_EQ(page("Goal", {{active}, compartmentOf("Goal", {"b", "c"})}).ids, Ids{});
  EXPECT_EQ(page("Goal", {{active}, compartmentOf("Goal", {"a", "b"})}).ids, (Ids{"a1", "b1"}));
  EXPECT_EQ(page("Goal", {compartmentOf("Goal", {"a"})}).ids, (Ids{"a1", "a2", "b1"}));
  // A compartment group with an `_id` driver (the visibility check of an _include) is tested on the row.
  IndexPredicate id;
  id.param = "_id";
  id.kind = IndexValueKind::kToken;
  id.code = "a2";
  EXPECT_EQ(page("Goal", {{id}, compartmentOf("Goal", {"a"})}).ids, Ids{"a2"});
  EXPECT_EQ(page("Goal", {{id}, compartmentOf("Goal", {"b"})}).ids, Ids{});
  id.code = "b1";  // the row whose mark is stale: its index rows decide, on every plan
  EXPECT_EQ(page("Goal", {{id}, compartmentOf("Goal", {"a"})}).ids, Ids{"b1"});
  EXPECT_EQ(page("Goal", {{id}, compartmentOf("Goal", {"b"})}).ids, Ids{});

  // Several patients: in each one's compartment, and in no one else's.
  const IndexPredicate b_target = refTo("patient", "b");
  EXPECT_EQ(page("Provenance", {{b_target}, compartmentOf("Provenance", {"a"})}).ids, Ids{"ab"});
  EXPECT_EQ(page("Provenance", {{b_target}, compartmentOf("Provenance", {"c"})}).ids, Ids{"bc"});
  EXPECT_EQ(page("Provenance", {{b_target}, compartmentOf("Provenance", {"d"})}).ids, Ids{});
  EXPECT_EQ(page("Provenance", {compartmentOf("Provenance", {"a"})}).ids, Ids{"ab"});
}

// A group naming only some of a type's compartment parameters is not a compartment group: Invoice is in a
// patient's compartment through `subject` or `patient`, and a search on one of them must not be answered by a
// column computed from both.
TEST_P(CompartmentTest, AGroupOfPartOfTheCompartmentParametersIsNotAnsweredFromTheColumn) {
  put("Invoice", "i1", {patientRef("patient", "a"), status("active")});
  put("Invoice", "i2", {patientRef("subject", "a"), status("active")});
  EXPECT_EQ(column("Invoice", "i1"), "a 1/1");
  EXPECT_EQ(column("Invoice", "i2"), "a 1/1");
  EXPECT_EQ(page("Invoice", {{statusIs("active")}, {refTo("patient", "a")}}).ids, Ids{"i1"});
  EXPECT_EQ(page("Invoice", {{statusIs("active")}, {refTo("subject", "a")}}).ids, Ids{"i2"});
  EXPECT_EQ(page("Invoice", {{statusIs("active")}, compartmentOf("Invoice", {"a"})}).ids, (Ids{"i1", "i2"}));
}

// The two-step plan: the criterion drives for a bounded number of candidates; when the requester's patient holds
// few of them the compartment-driven statement finishes the page. Every page, and the whole list, is what the
// index rows say, whichever step found it.
TEST_P(CompartmentTest, TwoStepPagesListEveryMatchOnceInIdOrderWhicheverSideIsSelective) {
  std::map<std::string, std::set<std::string>> patients_of_active;  // the active Goals and their patients
  for (int i = 0; i < 120; ++i) {
    char id[16];
    std::snprintf(id, sizeof id, "g%03d", i);
    // Patient a holds every 7th Goal and the last ten; the others are other patients' (p<i>).
    const std::string patient = i % 7 == 3 || i >= 110 ? "a" : "p" + std::to_string(i);
    const bool is_active = i % 5 != 0;
    put("Goal", id, {patientRef("patient", patient), status(is_active ? "active" : "on-hold")});
    if (is_active) patients_of_active[id] = {patient};
  }
  put("Goal", "g500", {patientRef("patient", "a"), patientRef("patient", "x"), status("active")});  // two patients
  patients_of_active["g500"] = {"a", "x"};
  auto expected = [&](const std::vector<std::string>& patients) {
    Ids out;
    for (const auto& [id, of] : patients_of_active) {
      if (std::any_of(patients.begin(), patients.end(), [&](const std::string& p) { return of.contains(p); })) {
        out.push_back(id);
      }
    }
    return out;
  };
  // Few of the criterion's matches are a's: the first step's budget runs out and the second finishes the page.
  for (size_t count : {1u, 2u, 3u, 5u, 20u, 100u}) {
    EXPECT_EQ(all("Goal", {{statusIs("active")}, compartmentOf("Goal", {"a"})}, count), expected({"a"}))
        << "pages of " << count;
  }
  // Most of them are the requester's: the first step fills the pages.
  std::vector<std::string> many{"a", "x"};
  for (int i = 0; i < 120; ++i) many.push_back("p" + std::to_string(i));
  EXPECT_EQ(all("Goal", {{statusIs("active")}, compartmentOf("Goal", many)}, 4), expected(many));
  EXPECT_EQ(expected(many).size(), patients_of_active.size());
  // Some of each.
  const std::vector<std::string> mixed{"x", "p1", "p2", "p4", "p6", "p8", "p9", "p11", "p12", "p13", "p16"};
  EXPECT_EQ(all("Goal", {{statusIs("active")}, compartmentOf("Goal", mixed)}, 3), expected(mixed));
}

// A version-7 database (no compartment column) opens as version 8, its resources' columns computed from their
// index rows, and narrowed searches answer the same.
TEST_P(CompartmentTest, AVersion7DatabaseOpensWithItsCompartmentsFilledAndAnswersTheSame) {
  for (int i = 0; i < 40; ++i) {
    put("Goal", "g" + std::to_string(100 + i), {patientRef("patient", i % 2 == 0 ? "a" : "b"), status("active")});
  }
  put("Provenance", "ab", {patientRef("patient", "a"), patientRef("patient", "b")});
  put("Organization", "o", {});
  const auto before_a = all("Goal", {{statusIs("active")}, compartmentOf("Goal", {"a"})}, 7);
  ASSERT_EQ(before_a.size(), 20u);
  store_.reset();
  ASSERT_NE(rawSql("ALTER TABLE resource DROP COLUMN patient_compartment"), "error");
  ASSERT_NE(rawSql("ALTER TABLE resource DROP COLUMN compartment_version"), "error");
  ASSERT_NE(rawSql("UPDATE schema_version SET version = 7"), "error");
  reopen();
  EXPECT_EQ(rawSql("SELECT version FROM schema_version"), "8");
  EXPECT_EQ(column("Goal", "g100"), "a 1/1");
  EXPECT_EQ(column("Goal", "g101"), "b 1/1");
  EXPECT_EQ(column("Provenance", "ab"), "NULL 0/1");
  EXPECT_EQ(column("Organization", "o"), "NULL 0/1");
  EXPECT_EQ(rawSql("SELECT COUNT(*) FROM resource WHERE compartment_version = version"), "40");
  EXPECT_EQ(all("Goal", {{statusIs("active")}, compartmentOf("Goal", {"a"})}, 7), before_a);
  EXPECT_EQ(page("Provenance", {{refTo("patient", "b")}, compartmentOf("Provenance", {"a"})}).ids, Ids{"ab"});
  EXPECT_EQ(page("Provenance", {{refTo("patient", "b")}, compartmentOf("Provenance", {"c"})}).ids, Ids{});
}

std::string engineName(const ::testing::TestParamInfo<Engine>& info) {
  return info.param == Engine::kSqlite ? "Sqlite" : "Postgres";
}

INSTANTIATE_TEST_SUITE_P(Engines, CompartmentTest, ::testing::Values(Engine::kSqlite, Engine::kPostgres), engineName);

}  // namespace
}  // namespace planbro::gateway::store
