// The consent entitlement cache is never stale: a withdrawal, a reservation added, a consent's expiry and the end of
// an emergency grant take effect on the very next lookup, on SQLite (the store's own commit count) and on
// PostgreSQL with the writes made through a second store instance on the same database (another node); and it is
// used (hits without any computation while nothing relevant changed) and bounded.
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <random>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "planbro/fhir-model/json.h"
#include "planbro/gateway/ops/operations.h"
#include "planbro/gateway/search/search_executor.h"
#include "planbro/gateway/security/emergency_access.h"
#include "planbro/gateway/security/entitlement_cache.h"
#include "../../support/test_store_place.h"
#include "seed_resource.h"
#include "test_keys.h"

namespace planbro::gateway::security {
namespace {

constexpr const char* kSharing = "http://planbro.no/fhir/CodeSystem/ip-consent-kind";
constexpr int64_t kSecond = 1'000'000;

std::string sharing(const std::string& status, const std::string& end, bool reserve_member = false) {
  return R"({"resourceType":"Consent","status":")" + status +
         R"(","scope":{"text":"x"},"policyRule":{"text":"samtykke"},"category":[{"coding":[{"system":")" + kSharing +
         R"(","code":"sharing"}]}],"patient":{"reference":"Patient/a"},"provision":{"type":"permit",)"
         R"("period":{"start":"2026-03-01","end":")" + end + R"("},)"
         R"("actor":[{"role":{"text":"r"},"reference":{"reference":"Practitioner/member"}}])" +
         (reserve_member ? R"(,"provision":[{"type":"deny","actor":[{"role":{"text":"r"},"reference":{"reference":"Practitioner/member"}}]}])"
                         : "") +
         "}}";
}

class EntitlementCacheTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "postgresql") {
      PLANBRO_SKIP_WITHOUT_TEST_POSTGRES();
      const std::string url = planbro::testing::testPostgresUrl();
      std::random_device rd;
      store::PostgresStoreOptions o;
      o.conninfo = url;
      o.schema = "entitlement_cache_" + std::to_string(getpid()) + "_" + std::to_string(rd() % 100000);
      // Two store instances on one database: the cache reads through one, the other node writes through the other.
      auto reader = store::openPostgresStore(o);
      auto writer = store::openPostgresStore(o);
      ASSERT_TRUE(reader.isOk() && writer.isOk());
      reader_ = std::move(reader).value();
      writer_ = std::move(writer).value();
    } else {
      dir_ = std::filesystem::temp_directory_path() / ("planbro-entitlement-cache-" + std::to_string(getpid()));
      std::filesystem::create_directories(dir_);
      store::SqliteStoreOptions o;
      o.path = (dir_ / "planbro.db").string();
      o.read_cache_bytes = 1 << 20;  // as served: the store is the database's only writer
      auto s = store::openSqliteStore(o);
      ASSERT_TRUE(s.isOk()) << s.status().message();
      reader_ = std::move(s).value();
    }
    store::ResourceStore& w = writer_ ? *writer_ : *reader_;
    executor_ = std::make_unique<search::SearchExecutor>(w);
    ops::OperationsOptions oo;
    oo.check_references = false;
    ops_ = std::make_unique<ops::Operations>(w, *executor_, oo);
    put("Practitioner", "member", R"({"resourceType":"Practitioner","identifier":[{"system":"urn:oid:2.16.578.1.12.4.1.4.4","value":"565501872"}]})");
    put("Practitioner", "outsider", R"({"resourceType":"Practitioner","identifier":[{"system":"urn:oid:2.16.578.1.12.4.1.4.4","value":"565501901"}]})");
    put("Patient", "a", R"({"resourceType":"Patient","identifier":[{"system":"urn:oid:2.16.578.1.12.4.1.4.1","value":"15038540189"}]})");
    put("CareTeam", "team-a", R"({"resourceType":"CareTeam","status":"active","subject":{"reference":"Patient/a"},)"
                              R"("participant":[{"member":{"reference":"Practitioner/member"}}]})");
    put("Consent", "share-a", sharing("active", "2027-02-28"));
    options_.clock = [this] { return store::Timestamp(std::chrono::microseconds(now_us_.load())); };
    options_.emergency_access_minutes = 60;
    member_.kind = PrincipalKind::kPractitioner;
    member_.hpr_number = "565501872";
    outsider_.kind = PrincipalKind::kPractitioner;
    outsider_.hpr_number = "565501901";
  }

  void TearDown() override {
    ops_.reset();
    executor_.reset();
    writer_.reset();
    reader_.reset();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  void put(const std::string& type, const std::string& id, std::string json) {
    testing::putResource(*ops_, "test", type, id, std::move(json));
  }

  bool sees(EntitlementCache& cache, const Principal& who, const std::string& patient) {
    auto e = cache.get(who, options_);
    EXPECT_TRUE(e.isOk()) << e.status().message();
    return e.isOk() && (*e)->patients.contains(patient);
  }

  std::filesystem::path dir_;
  std::unique_ptr<store::ResourceStore> reader_, writer_;
  std::unique_ptr<search::SearchExecutor> executor_;
  std::unique_ptr<ops::Operations> ops_;
  ConsentPolicyOptions options_;
  std::atomic<int64_t> now_us_{testing::kNow * kSecond};
  Principal member_, outsider_;
};

TEST_P(EntitlementCacheTest, AnswersFromMemoryUntilAWriteOfASourceType) {
  EntitlementCache cache(*reader_, 100);
  EXPECT_TRUE(sees(cache, member_, "a"));
  EXPECT_TRUE(sees(cache, member_, "a"));
  EXPECT_TRUE(sees(cache, member_, "a"));
  EXPECT_EQ(cache.stats().computations, 1u);
  EXPECT_EQ(cache.stats().hits, 2u);
  // A write of a type the entitlement is not computed from leaves the entry in place.
  put("Goal", "g1", R"({"resourceType":"Goal","lifecycleStatus":"active","description":{"text":"x"},"subject":{"reference":"Patient/a"}})");
  EXPECT_TRUE(sees(cache, member_, "a"));
  EXPECT_EQ(cache.stats().computations, 1u);
  // Any write of a source type ends it, even one that changes nothing of the answer.
  put("CareTeam", "team-a", R"({"resourceType":"CareTeam","status":"active","subject":{"reference":"Patient/a"},"name":"renamed",)"
                            R"("participant":[{"member":{"reference":"Practitioner/member"}}]})");
  EXPECT_TRUE(sees(cache, member_, "a"));
  EXPECT_EQ(cache.stats().computations, 2u);
}

TEST_P(EntitlementCacheTest, AWithdrawalTakesEffectOnTheNextLookup) {
  EntitlementCache cache(*reader_, 100);
  ASSERT_TRUE(sees(cache, member_, "a"));
  ASSERT_TRUE(sees(cache, member_, "a"));
  put("Consent", "share-a", sharing("inactive", "2027-02-28"));
  EXPECT_FALSE(sees(cache, member_, "a"));
  put("Consent", "share-a", sharing("active", "2027-02-28"));
  EXPECT_TRUE(sees(cache, member_, "a"));
}

TEST_P(EntitlementCacheTest, AReservationAddedTakesEffectOnTheNextLookup) {
  EntitlementCache cache(*reader_, 100);
  ASSERT_TRUE(sees(cache, member_, "a"));
  put("Consent", "share-a", sharing("active", "2027-02-28", /*reserve_member=*/true));
  EXPECT_FALSE(sees(cache, member_, "a"));
}

TEST_P(EntitlementCacheTest, AnExpiryTakesEffectAtThePeriodBoundaryWithoutAnyWrite) {
  EntitlementCache cache(*reader_, 100);
  ASSERT_TRUE(sees(cache, member_, "a"));
  auto e = cache.get(member_, options_);
  ASSERT_TRUE(e.isOk());
  // The end "2027-02-28" runs to the last microsecond of that day (UTC); the entry is kept no longer.
  const int64_t end_of_day = (1'803'859'200 /* 2027-03-01T00:00:00Z */) * kSecond;
  EXPECT_EQ((*e)->valid_until_us, end_of_day);
  now_us_ = end_of_day - 1;
  EXPECT_TRUE(sees(cache, member_, "a"));
  const uint64_t computed = cache.stats().computations;
  now_us_ = end_of_day;
  EXPECT_FALSE(sees(cache, member_, "a"));
  EXPECT_EQ(cache.stats().computations, computed + 1);
}

TEST_P(EntitlementCacheTest, AnEmergencyGrantEndsByItselfOnTheNextLookup) {
  EntitlementCache cache(*reader_, 100);
  EXPECT_FALSE(sees(cache, outsider_, "a"));
  put("Communication", "grant-1",
      std::string(R"({"resourceType":"Communication","status":"completed","category":[{"coding":[{"system":")") +
          std::string(kAccessEventSystem) + R"(","code":")" + std::string(kEmergencyAccessCode) +
          R"("}]}],"subject":{"reference":"Patient/a"},"sender":{"reference":"Practitioner/outsider"},)"
          R"("sent":"2027-01-15T08:00:00Z","payload":[{"contentString":"akutt"}]})");
  EXPECT_TRUE(sees(cache, outsider_, "a"));  // the grant's write ended the entry that saw nothing
  EXPECT_TRUE(sees(cache, outsider_, "a"));
  const uint64_t computed = cache.stats().computations;
  now_us_ = (testing::kNow + 60 * 60) * kSecond;  // sent + 60 minutes: over
  EXPECT_FALSE(sees(cache, outsider_, "a"));
  EXPECT_EQ(cache.stats().computations, computed + 1);
}

TEST_P(EntitlementCacheTest, KeepsAtMostItsBoundOfEntries) {
  EntitlementCache cache(*reader_, 2);
  Principal others[4];
  for (int i = 0; i < 4; ++i) {
    others[i].kind = PrincipalKind::kPractitioner;
    others[i].hpr_number = "99900" + std::to_string(i);
    EXPECT_FALSE(sees(cache, others[i], "a"));
    EXPECT_LE(cache.stats().entries, 2u);
  }
  EXPECT_TRUE(sees(cache, member_, "a"));
  EXPECT_EQ(cache.stats().entries, 2u);
  EntitlementCache off(*reader_, 0);  // auth.consent_cache_entries: 0 computes every time
  EXPECT_TRUE(sees(off, member_, "a"));
  EXPECT_TRUE(sees(off, member_, "a"));
  EXPECT_EQ(off.stats().computations, 2u);
  EXPECT_EQ(off.stats().entries, 0u);
}

TEST_P(EntitlementCacheTest, ReadsNoOutboxWhileTheOnlyWriterCommittedNothing) {
  EntitlementCache cache(*reader_, 100);
  ASSERT_TRUE(sees(cache, member_, "a"));
  const uint64_t reads = cache.stats().outbox_reads;
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(sees(cache, member_, "a"));
  if (reader_->localCommitCount()) {
    EXPECT_EQ(cache.stats().outbox_reads, reads);  // SQLite with its read cache: no I/O at all
  } else {
    EXPECT_EQ(cache.stats().outbox_reads, reads + 10);  // PostgreSQL: one outbox read per lookup, nothing more
  }
  EXPECT_EQ(cache.stats().computations, 1u);
}

// The thread's front (entitlement_cache.h): the next lookup on a thread for the identity it served last is answered
// without the keyed lookup; a withdrawal written on the other node (PostgreSQL: the second store instance) or
// through the only writer (SQLite) still ends the sharing on the next lookup, and the front of another identity,
// another cache, an older generation or a passed period boundary is never used.
TEST_P(EntitlementCacheTest, TheThreadsFrontAnswersTheNextLookups) {
  EntitlementCache cache(*reader_, 100);
  ASSERT_TRUE(sees(cache, member_, "a"));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(sees(cache, member_, "a"));
  EXPECT_EQ(cache.stats().computations, 1u);
  EXPECT_EQ(cache.stats().front_hits, 5u);
  EXPECT_EQ(cache.stats().hits, 5u);
  EXPECT_FALSE(sees(cache, outsider_, "a"));  // another identity: computed, and now the front
  EXPECT_TRUE(sees(cache, member_, "a"));     // from the cache's entry, not the front
  EXPECT_EQ(cache.stats().computations, 2u);
  EXPECT_EQ(cache.stats().front_hits, 5u);
  EXPECT_TRUE(sees(cache, member_, "a"));
  EXPECT_EQ(cache.stats().front_hits, 6u);
}

TEST_P(EntitlementCacheTest, AWithdrawalEndsTheFrontOnTheNextLookup) {
  EntitlementCache cache(*reader_, 100);
  ASSERT_TRUE(sees(cache, member_, "a"));
  ASSERT_TRUE(sees(cache, member_, "a"));
  ASSERT_EQ(cache.stats().front_hits, 1u);
  put("Consent", "share-a", sharing("inactive", "2027-02-28"));  // PostgreSQL: written by the other node
  EXPECT_FALSE(sees(cache, member_, "a"));
  EXPECT_FALSE(sees(cache, member_, "a"));
  put("Consent", "share-a", sharing("active", "2027-02-28", /*reserve_member=*/true));
  EXPECT_FALSE(sees(cache, member_, "a"));
  put("Consent", "share-a", sharing("active", "2027-02-28"));
  EXPECT_TRUE(sees(cache, member_, "a"));
  EXPECT_TRUE(sees(cache, member_, "a"));
  // An unrelated write moves the commit count (the front is then confirmed by the outbox) and leaves the answer.
  put("Goal", "g2", R"({"resourceType":"Goal","lifecycleStatus":"active","description":{"text":"x"},"subject":{"reference":"Patient/a"}})");
  EXPECT_TRUE(sees(cache, member_, "a"));
  EXPECT_TRUE(sees(cache, member_, "a"));
  EXPECT_EQ(cache.stats().computations, 4u);
}

TEST_P(EntitlementCacheTest, AFrontEndsAtThePeriodBoundary) {
  EntitlementCache cache(*reader_, 100);
  ASSERT_TRUE(sees(cache, member_, "a"));
  const int64_t end_of_day = (1'803'859'200 /* 2027-03-01T00:00:00Z */) * kSecond;
  now_us_ = end_of_day - 1;
  EXPECT_TRUE(sees(cache, member_, "a"));
  EXPECT_EQ(cache.stats().front_hits, 1u);
  now_us_ = end_of_day;
  EXPECT_FALSE(sees(cache, member_, "a"));
  EXPECT_EQ(cache.stats().front_hits, 1u);
}

TEST_P(EntitlementCacheTest, AFrontAnswersOnlyItsOwnCacheAndIdentity) {
  EntitlementCache cache(*reader_, 100);
  EntitlementCache other(*reader_, 100);
  Principal who = member_;
  ASSERT_TRUE(sees(cache, who, "a"));
  ASSERT_TRUE(sees(other, who, "a"));  // the front is the first cache's: not this one's
  EXPECT_EQ(other.stats().computations, 1u);
  EXPECT_EQ(other.stats().front_hits, 0u);
  // The same object, now speaking for someone else: the front names the old identity and is not used.
  who.hpr_number = outsider_.hpr_number;
  EXPECT_FALSE(sees(other, who, "a"));
  EXPECT_EQ(other.stats().front_hits, 0u);
  who = member_;
  who.trusted_client = true;  // read by the entitlement: another identity again
  (void)sees(other, who, "a");
  EXPECT_EQ(other.stats().front_hits, 0u);
  EXPECT_EQ(other.stats().computations, 3u);
}

// Threads asking for one identity while another writer withdraws the consent: every lookup that starts after the
// withdrawal's commit answers "not shared", whichever thread's front it finds.
TEST_P(EntitlementCacheTest, ThreadsSeeAWithdrawalAtOnce) {
  EntitlementCache cache(*reader_, 100);
  ASSERT_TRUE(sees(cache, member_, "a"));
  std::atomic<int> phase{0};  // 0: shared; 1: withdrawal committed; 2: stop
  std::atomic<int> stale{0}, lookups{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&] {
      while (phase.load() < 2) {
        const int before = phase.load();
        auto e = cache.get(member_, options_);
        if (!e.isOk()) continue;
        lookups.fetch_add(1);
        if (before == 1 && (*e)->patients.contains("a")) stale.fetch_add(1);
      }
    });
  }
  while (lookups.load() < 50) std::this_thread::yield();
  put("Consent", "share-a", sharing("inactive", "2027-02-28"));
  phase = 1;
  const int at_withdrawal = lookups.load();
  while (lookups.load() < at_withdrawal + 50) std::this_thread::yield();
  phase = 2;
  for (auto& r : readers) r.join();
  EXPECT_EQ(stale.load(), 0);
  EXPECT_GT(cache.stats().front_hits, 0u);
  EXPECT_FALSE(sees(cache, member_, "a"));
}

INSTANTIATE_TEST_SUITE_P(Engines, EntitlementCacheTest, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace planbro::gateway::security

// The compartment memo answers only for byte-identical content: a new version of the same resource that moves it
// to another patient is decided on its own compartments, and the memo stays within its bytes.
#include "../../../gateway/src/security/compartment_memo.h"

namespace planbro::gateway::security {
namespace {

std::string goalOf(const std::string& patient) {
  return R"({"resourceType":"Goal","id":"g1","lifecycleStatus":"active","description":{"text":"x"},"subject":{"reference":"Patient/)" +
         patient + R"("}})";
}

TEST(CompartmentMemo, AnswersOnlyForTheExactContentAndStaysBounded) {
  CompartmentMemo memo(1000);
  EXPECT_EQ(*memo.of("Goal", "g1", goalOf("a")), std::vector<std::string>{"a"});
  EXPECT_EQ(*memo.of("Goal", "g1", goalOf("a")), std::vector<std::string>{"a"});
  EXPECT_EQ(memo.hits(), 1u);
  EXPECT_EQ(*memo.of("Goal", "g1", goalOf("b")), std::vector<std::string>{"b"});  // same id, moved: not a hit
  EXPECT_EQ(memo.hits(), 1u);
  for (int i = 0; i < 50; ++i) {
    (void)memo.of("Goal", "g" + std::to_string(i), goalOf("a"));
    EXPECT_LE(memo.bytes(), 1000u);
  }
  CompartmentMemo off(0);
  EXPECT_EQ(*off.of("Goal", "g1", goalOf("a")), std::vector<std::string>{"a"});
  EXPECT_EQ(off.bytes(), 0u);
}

// The decision path's lookup (visit) keeps the memo's contract: a hit only for byte-identical content, never a
// stale answer for a resource that moved to another patient, and the same answers with the memo off.
TEST(CompartmentMemo, VisitAnswersOnlyForTheExactContent) {
  CompartmentMemo memo(1000);
  auto seen = [&](CompartmentMemo& m, const std::string& id, const std::string& json) {
    std::vector<std::string> out;
    m.visit("Goal", id, json, [&](const std::vector<std::string>& patients) { out = patients; });
    return out;
  };
  EXPECT_EQ(seen(memo, "g1", goalOf("a")), std::vector<std::string>{"a"});
  EXPECT_EQ(memo.hits(), 0u);
  EXPECT_EQ(seen(memo, "g1", goalOf("a")), std::vector<std::string>{"a"});
  EXPECT_EQ(memo.hits(), 1u);
  EXPECT_EQ(seen(memo, "g1", goalOf("b")), std::vector<std::string>{"b"});  // moved: computed again, not a hit
  EXPECT_EQ(memo.hits(), 1u);
  EXPECT_EQ(seen(memo, "g1", goalOf("b")), std::vector<std::string>{"b"});
  EXPECT_EQ(memo.hits(), 2u);
  EXPECT_EQ(seen(memo, "", goalOf("a")), std::vector<std::string>{"a"});  // no id: computed, never kept
  EXPECT_EQ(memo.hits(), 2u);
  CompartmentMemo off(0);
  EXPECT_EQ(seen(off, "g1", goalOf("a")), std::vector<std::string>{"a"});
  EXPECT_EQ(seen(off, "g1", goalOf("a")), std::vector<std::string>{"a"});
  EXPECT_EQ(off.hits(), 0u);
}

}  // namespace
}  // namespace planbro::gateway::security

namespace planbro::gateway::security {
namespace {

// The compartment rules are looked up by type name (a hash, no longer a binary search): every R4 type of the
// patient compartment is found, near misses and types outside it are not, and the narrowing predicates name the
// rule's parameter.
TEST(PatientCompartment, RulesAreFoundByExactTypeName) {
  for (std::string_view type : {"Patient", "Account", "Goal", "CarePlan", "CareTeam", "Consent", "Task",
                                "VisionPrescription", "Communication", "Provenance"}) {
    EXPECT_TRUE(inPatientCompartment(type)) << type;
  }
  for (std::string_view type : {"", "Goa", "GoalX", "goal", "Organization", "Practitioner", "StructureDefinition"}) {
    EXPECT_FALSE(inPatientCompartment(type)) << type;
  }
  const std::vector<store::IndexPredicate> goal = compartmentPredicates("Goal", {"a", "b"});
  ASSERT_EQ(goal.size(), 2u);
  for (const store::IndexPredicate& p : goal) {
    EXPECT_EQ(p.param, "patient");
    EXPECT_EQ(p.kind, store::IndexValueKind::kReference);
    EXPECT_EQ(p.ref_type, std::optional<std::string>("Patient"));
  }
  EXPECT_EQ(goal[0].ref_id, "a");
  EXPECT_EQ(goal[1].ref_id, "b");
  const std::vector<store::IndexPredicate> patient = compartmentPredicates("Patient", {"a"});
  ASSERT_EQ(patient.size(), 1u);
  EXPECT_EQ(patient[0].param, "_id");
  EXPECT_EQ(patient[0].code, std::optional<std::string>("a"));
  EXPECT_TRUE(compartmentPredicates("Organization", {"a"}).empty());
}

}  // namespace
}  // namespace planbro::gateway::security
