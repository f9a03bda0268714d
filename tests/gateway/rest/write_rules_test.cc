// The write rules every path shares, end to end over HTTP on both store engines: one Patient per person number
// (business keys, race-free), local references that must resolve, and the transaction rules of issues 8 and 14.

#include <atomic>
#include <set>
#include <thread>

#include "rest_fixture.h"

namespace planbro::gateway::rest::testing {
namespace {

constexpr const char* kFnrOid = "urn:oid:2.16.578.1.12.4.1.4.1";
constexpr const char* kFnrNamingSystem = "http://hl7.no/fhir/NamingSystem/FNR";
constexpr const char* kDnrOid = "urn:oid:2.16.578.1.12.4.1.4.2";
constexpr const char* kFnrA = "15058510170";  // synthetic, valid check digits
constexpr const char* kFnrB = "15058510251";
constexpr const char* kDnr = "55058510083";

std::string patient(const std::string& system, const std::string& value, const std::string& id = "") {
  return R"({"resourceType":"Patient",)" + (id.empty() ? std::string() : "\"id\":\"" + id + "\",") +
         R"("identifier":[{"system":")" + system + R"(","value":")" + value +
         R"("}],"name":[{"family":"Testesen","given":["Kari"]}],"gender":"female","birthDate":"1985-05-15"})";
}

std::string goal(const std::string& subject_reference) {
  return R"({"resourceType":"Goal","lifecycleStatus":"active","description":{"text":"Bu heime"},)"
         R"("subject":{"reference":")" + subject_reference + R"("}})";
}

// The entries of a Bundle response.
std::vector<const fhir::JsonValue*> entriesOf(const HttpResult& r) {
  std::vector<const fhir::JsonValue*> out;
  const fhir::JsonValue* entries = r.root().find("entry");
  if (!entries) return out;
  for (const fhir::JsonValue& e : entries->items()) out.push_back(&e);
  return out;
}

std::string responseField(const fhir::JsonValue* entry, std::string_view field) {
  const fhir::JsonValue* response = entry ? entry->find("response") : nullptr;
  const fhir::JsonValue* v = response ? response->find(field) : nullptr;
  return v && v->isString() ? std::string(v->text()) : std::string();
}

class WriteRules : public RestServerTest {
 protected:
  std::string created(const HttpResult& r) {
    EXPECT_EQ(r.status, 201) << r.body;
    return r.str("id");
  }
  // The number of resources a search finds (on its first page of 100).
  size_t total(const std::string& query) {
    HttpResult r = get(query + (query.find('?') == std::string::npos ? "?" : "&") + "_count=100");
    EXPECT_EQ(r.status, 200) << r.body;
    const fhir::JsonValue* e = r.root().find("entry");
    return e ? e->size() : 0;
  }
  HttpResult del(const std::string& target) { return request(port_, "DELETE", target); }
};

// ---------------------------------------------------------------------------------------------------------------
// One Patient per person number (issue 14)

TEST_P(WriteRules, ASecondPatientWithTheSameFodselsnummerIs409NamingTheFirst) {
  std::string first = created(post("/Patient", patient(kFnrOid, kFnrA)));
  // The HL7 Norway NamingSystem URL is the same identifier as the OID.
  HttpResult second = post("/Patient", patient(kFnrNamingSystem, kFnrA));
  EXPECT_EQ(second.status, 409) << second.body;
  EXPECT_EQ(second.str("resourceType"), "OperationOutcome");
  EXPECT_NE(second.body.find("Patient/" + first), std::string::npos) << second.body;
  EXPECT_NE(second.body.find("\"Patient.identifier[0]\""), std::string::npos) << second.body;
  EXPECT_EQ(second.body.find(kFnrA), std::string::npos) << "the outcome must not echo the number: " << second.body;
  // Nor under a client-chosen id by update (create-on-update).
  EXPECT_EQ(put("/Patient/twin", patient(kFnrOid, kFnrA, "twin")).status, 409);
  EXPECT_EQ(total("/Patient"), 1u);
}

TEST_P(WriteRules, DNummerIsUniqueToo) {
  created(post("/Patient", patient(kDnrOid, kDnr)));
  EXPECT_EQ(post("/Patient", patient(kDnrOid, kDnr)).status, 409);
  // A different number is a different person.
  created(post("/Patient", patient(kFnrOid, kFnrA)));
}

TEST_P(WriteRules, ChangingTheIdentifierReleasesTheOldNumber) {
  std::string first = created(post("/Patient", patient(kFnrOid, kFnrA)));
  ASSERT_EQ(put("/Patient/" + first, patient(kFnrOid, kFnrB, first)).status, 200);
  // kFnrA is free again; kFnrB is held by the first Patient now.
  std::string second = created(post("/Patient", patient(kFnrOid, kFnrA)));
  HttpResult clash = put("/Patient/" + second, patient(kFnrOid, kFnrB, second));
  EXPECT_EQ(clash.status, 409) << clash.body;
  EXPECT_NE(clash.body.find("Patient/" + first), std::string::npos) << clash.body;
  // An update that keeps its own number is fine, and a delete frees it.
  EXPECT_EQ(put("/Patient/" + first, patient(kFnrNamingSystem, kFnrB, first)).status, 200);
  EXPECT_EQ(del("/Patient/" + first).status, 200);
  created(post("/Patient", patient(kFnrOid, kFnrB)));
}

TEST_P(WriteRules, ConcurrentCreatesOfOnePersonNumberMakeOnePatient) {
  constexpr int kClients = 12;
  const std::vector<HttpResult> results = concurrently(
      kClients, [&](int i) { return post("/Patient", patient(i % 2 ? kFnrOid : kFnrNamingSystem, kFnrA)); });
  int created_count = 0, conflicts = 0;
  for (const auto& r : results) {
    if (r.status == 201) ++created_count;
    else if (r.status == 409) ++conflicts;
    else ADD_FAILURE() << r.status << " " << r.body;
  }
  EXPECT_EQ(created_count, 1);
  EXPECT_EQ(conflicts, kClients - 1);
  HttpResult history = get("/Patient/_history");
  EXPECT_EQ(history.root().find("entry")->size(), 1u) << history.body;
}

TEST_P(WriteRules, ATransactionWithTwoPatientsOfOneNumberIs409AndWritesNothing) {
  std::string tx = R"({"resourceType":"Bundle","type":"transaction","entry":[
    {"resource":)" + patient(kFnrOid, kFnrA) + R"(,"request":{"method":"POST","url":"Patient"}},
    {"resource":)" + patient(kFnrNamingSystem, kFnrA) + R"(,"request":{"method":"POST","url":"Patient"}}]})";
  HttpResult r = post("/", tx);
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_NE(r.body.find("Bundle.entry[1].resource.identifier[0]"), std::string::npos) << r.body;
  EXPECT_EQ(get("/_history").root().find("entry"), nullptr);
}

// ---------------------------------------------------------------------------------------------------------------
// References (issue 14)

TEST_P(WriteRules, ADanglingLocalReferenceIs422NamingTheElement) {
  HttpResult r = post("/Goal", goal("Patient/does-not-exist"));
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_NE(r.body.find("\"Goal.subject\""), std::string::npos) << r.body;
  std::string carePlan = R"({"resourceType":"CarePlan","status":"active","intent":"plan",)"
                         R"("subject":{"reference":"Patient/nobody"},"goal":[{"reference":"Goal/none"}]})";
  HttpResult cp = post("/CarePlan", carePlan);
  EXPECT_EQ(cp.status, 422) << cp.body;
  EXPECT_NE(cp.body.find("\"CarePlan.subject\""), std::string::npos) << cp.body;
  EXPECT_NE(cp.body.find("\"CarePlan.goal[0]\""), std::string::npos) << cp.body;
  // A deleted target does not resolve either.
  std::string p = created(post("/Patient", patient(kFnrOid, kFnrA)));
  created(post("/Goal", goal("Patient/" + p)));
  ASSERT_EQ(del("/Patient/" + p).status, 200);
  EXPECT_EQ(post("/Goal", goal("Patient/" + p)).status, 422);
  EXPECT_EQ(put("/Goal/g1", R"({"resourceType":"Goal","id":"g1","lifecycleStatus":"active","description":{"text":"x"},)"
                                R"("subject":{"reference":"Patient/)" + p + R"(/_history/1"}})").status, 422);
}

TEST_P(WriteRules, ContainedAndAbsoluteReferencesAreNotChecked) {
  std::string contained = R"({"resourceType":"Goal","lifecycleStatus":"active","description":{"text":"x"},)"
                          R"("contained":[{"resourceType":"Patient","id":"p1"}],"subject":{"reference":"#p1"}})";
  created(post("/Goal", contained));
  created(post("/Goal", goal("https://fhir.other.example/fhir/Patient/123")));
}

TEST_P(WriteRules, ATransactionReferenceToNoEntryOrNothingIs422) {
  std::string tx = R"({"resourceType":"Bundle","type":"transaction","entry":[
    {"resource":)" + goal("urn:uuid:6f1c1d52-8a0e-4a59-9b43-0a1c9e1d2aff") + R"(,"request":{"method":"POST","url":"Goal"}}]})";
  HttpResult r = post("/", tx);
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_NE(r.body.find("Bundle.entry[0]"), std::string::npos) << r.body;
  std::string dangling = R"({"resourceType":"Bundle","type":"transaction","entry":[
    {"resource":)" + goal("Patient/does-not-exist") + R"(,"request":{"method":"POST","url":"Goal"}}]})";
  HttpResult d = post("/", dangling);
  EXPECT_EQ(d.status, 422) << d.body;
  EXPECT_NE(d.body.find("\"Bundle.entry[0].resource.subject\""), std::string::npos) << d.body;
  // A reference to an entry the transaction writes resolves, whatever the entry order.
  std::string ok = R"({"resourceType":"Bundle","type":"transaction","entry":[
    {"resource":)" + goal("Patient/p-in-tx") + R"(,"request":{"method":"POST","url":"Goal"}},
    {"resource":)" + patient(kFnrOid, kFnrA, "p-in-tx") + R"(,"request":{"method":"PUT","url":"Patient/p-in-tx"}}]})";
  HttpResult o = post("/", ok);
  EXPECT_EQ(o.status, 200) << o.body;
  EXPECT_EQ(get("/_history").root().find("entry")->size(), 2u);
}

class WriteRulesWithoutReferenceChecks : public WriteRules {
 protected:
  RestOptions restOptions() override {
    RestOptions o;
    o.check_references = false;
    return o;
  }
};

TEST_P(WriteRulesWithoutReferenceChecks, BulkLoadsMayStoreForwardReferences) {
  created(post("/Goal", goal("Patient/arrives-later")));
}

// ---------------------------------------------------------------------------------------------------------------
// Transactions and conditional requests (issue 8)

TEST_P(WriteRules, TwoEntriesSharingOneIfNoneExistResolveToOneResource) {
  std::string condition = std::string("identifier=") + kFnrOid + "|" + kFnrA;
  std::string tx = R"({"resourceType":"Bundle","type":"transaction","entry":[
    {"fullUrl":"urn:uuid:6f1c1d52-8a0e-4a59-9b43-0a1c9e1d2a01","resource":)" + patient(kFnrOid, kFnrA) +
                   R"(,"request":{"method":"POST","url":"Patient","ifNoneExist":")" + condition + R"("}},
    {"fullUrl":"urn:uuid:6f1c1d52-8a0e-4a59-9b43-0a1c9e1d2a02","resource":)" + patient(kFnrNamingSystem, kFnrA) +
                   R"(,"request":{"method":"POST","url":"Patient","ifNoneExist":")" + condition + R"("}},
    {"resource":)" + goal("urn:uuid:6f1c1d52-8a0e-4a59-9b43-0a1c9e1d2a02") + R"(,"request":{"method":"POST","url":"Goal"}}]})";
  HttpResult r = post("/", tx);
  ASSERT_EQ(r.status, 200) << r.body;
  auto entries = entriesOf(r);
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(responseField(entries[0], "status"), "201 Created");
  EXPECT_EQ(responseField(entries[1], "status"), "200 OK");
  auto resourceId = [](const fhir::JsonValue* entry) {
    const fhir::JsonValue* res = entry->find("resource");
    const fhir::JsonValue* id = res ? res->find("id") : nullptr;
    return id && id->isString() ? std::string(id->text()) : std::string();
  };
  std::string id = resourceId(entries[0]);
  ASSERT_FALSE(id.empty()) << r.body;
  EXPECT_EQ(resourceId(entries[1]), id);
  EXPECT_EQ(total("/Patient"), 1u);
  HttpResult goals = get("/Goal");
  ASSERT_EQ(goals.root().find("entry")->size(), 1u);
  EXPECT_NE(goals.body.find("Patient/" + id), std::string::npos) << goals.body;
}

TEST_P(WriteRules, DuplicateFullUrlsOrOneResourceWrittenTwiceAre400) {
  std::string dup = R"({"resourceType":"Bundle","type":"transaction","entry":[
    {"fullUrl":"urn:uuid:6f1c1d52-8a0e-4a59-9b43-0a1c9e1d2a01","resource":)" + patient(kFnrOid, kFnrA) + R"(,"request":{"method":"POST","url":"Patient"}},
    {"fullUrl":"urn:uuid:6f1c1d52-8a0e-4a59-9b43-0a1c9e1d2a01","resource":)" + patient(kFnrOid, kFnrB) + R"(,"request":{"method":"POST","url":"Patient"}}]})";
  HttpResult d = post("/", dup);
  EXPECT_EQ(d.status, 400) << d.body;
  EXPECT_NE(d.body.find("Bundle.entry[1]"), std::string::npos) << d.body;
  std::string twice = R"({"resourceType":"Bundle","type":"transaction","entry":[
    {"resource":)" + patient(kFnrOid, kFnrA, "same") + R"(,"request":{"method":"PUT","url":"Patient/same"}},
    {"request":{"method":"DELETE","url":"Patient/same"}}]})";
  HttpResult t = post("/", twice);
  EXPECT_EQ(t.status, 400) << t.body;
  EXPECT_EQ(get("/_history").root().find("entry"), nullptr);
}

TEST_P(WriteRules, ConditionalUpdateWhoseBodyIdNamesAnotherResourceIs409) {
  std::string other = created(post("/Patient", patient(kFnrOid, kFnrA)));
  HttpResult r = put(std::string("/Patient?identifier=") + kFnrOid + "|" + kFnrB, patient(kFnrOid, kFnrB, other));
  EXPECT_EQ(r.status, 409) << r.body;
  HttpResult kept = get("/Patient/" + other);
  EXPECT_NE(kept.body.find(kFnrA), std::string::npos) << "the other resource was overwritten: " << kept.body;
}

TEST_P(WriteRules, ResultParametersInConditionsAre400) {
  std::string ine = std::string("identifier=") + kFnrOid + "|" + kFnrA + "&_count=1";
  EXPECT_EQ(post("/Patient", patient(kFnrOid, kFnrA), {{"If-None-Exist", ine}}).status, 400);
  EXPECT_EQ(post("/Patient", patient(kFnrOid, kFnrA), {{"If-None-Exist", "_summary=count&gender=female"}}).status, 400);
  EXPECT_EQ(put("/Patient?gender=female&_sort=birthdate", patient(kFnrOid, kFnrA)).status, 400);
  EXPECT_EQ(request(port_, "DELETE", "/Patient?gender=female&_include=Patient:link").status, 400);
  EXPECT_EQ(get("/_history").root().find("entry"), nullptr);
}

TEST_P(WriteRules, DotAndDotDotAreNotIds) {
  EXPECT_EQ(put("/Patient/..", patient(kFnrOid, kFnrA, "..")).status, 400);
  EXPECT_EQ(put("/Patient/%2E", patient(kFnrOid, kFnrA, ".")).status, 400);
  std::string tx = R"({"resourceType":"Bundle","type":"transaction","entry":[
    {"resource":)" + patient(kFnrOid, kFnrA, "..") + R"(,"request":{"method":"PUT","url":"Patient/.."}}]})";
  EXPECT_EQ(post("/", tx).status, 400);
  EXPECT_EQ(get("/_history").root().find("entry"), nullptr);
}

TEST_P(WriteRules, TransactionIssueLocationsAreRelativeToTheEntryResource) {
  std::string tx = R"({"resourceType":"Bundle","type":"transaction","entry":[
    {"resource":)" + patient(kFnrOid, kFnrA) + R"(,"request":{"method":"POST","url":"Patient"}},
    {"resource":)" + patient(kFnrOid, "12345678901") + R"(,"request":{"method":"POST","url":"Patient"}}]})";
  HttpResult r = post("/", tx);
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_NE(r.body.find("\"Bundle.entry[1].resource.identifier[0].value\""), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find("resource.Patient."), std::string::npos) << r.body;
}

TEST_P(WriteRules, ATransactionWithASearchEntryOnAFreshStoreIsAnswered) {
  std::string tx = R"({"resourceType":"Bundle","type":"transaction","entry":[
    {"resource":)" + patient(kFnrOid, kFnrA) + R"(,"request":{"method":"POST","url":"Patient"}},
    {"request":{"method":"POST","url":"Patient/_search?gender=female"}}]})";
  HttpResult r = post("/", tx);
  ASSERT_EQ(r.status, 200) << r.body;
  auto entries = entriesOf(r);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(responseField(entries[1], "status"), "200 OK");
}

class BoundedBundleResponses : public WriteRules {
 protected:
  RestOptions restOptions() override {
    RestOptions o;
    o.max_bundle_response_bytes = 64 * 1024;
    return o;
  }
};

TEST_P(BoundedBundleResponses, EntriesBeyondTheResponseLimitAnswerAnErrorEntry) {
  constexpr size_t kEntries = 200;
  std::string bundle = R"({"resourceType":"Bundle","type":"batch","entry":[)";
  for (size_t i = 0; i < kEntries; ++i) bundle += std::string(i ? "," : "") + R"({"request":{"method":"GET","url":"metadata"}})";
  bundle += "]}";
  HttpResult r = post("/", bundle);
  ASSERT_EQ(r.status, 200) << r.body.substr(0, 500);
  auto entries = entriesOf(r);
  ASSERT_EQ(entries.size(), kEntries);
  size_t answered = 0, refused = 0;
  for (const fhir::JsonValue* e : entries) {
    std::string status = responseField(e, "status");
    if (status == "200 OK") ++answered;
    else if (status == "413 Payload Too Large") ++refused;
  }
  EXPECT_GE(answered, 1u);
  EXPECT_GT(refused, 0u);
  EXPECT_EQ(answered + refused, kEntries);
  // The limit, plus the small error entries: never the 200 CapabilityStatements.
  EXPECT_LT(r.body.size(), 64u * 1024 + kEntries * 1024) << r.body.size();
}

// Outside probe (2026-12-07): 1,000 searches in one batch, each within limits.search.max_work_rows, held a worker
// for 32 s. All entries of a Bundle share limits.max_bundle_work_rows: once the searches run have taken it, the
// rest answer 413 unrun (the entry that crosses it finishes, so the work is at most the bound plus one search).
class BoundedBundleWork : public WriteRules {
 protected:
  RestOptions restOptions() override {
    RestOptions o;
    o.max_bundle_work_rows = 1000;
    return o;
  }
};

TEST_P(BoundedBundleWork, SearchesBeyondTheBundlesWorkBoundAnswer413Unrun) {
  std::string seed = R"({"resourceType":"Bundle","type":"batch","entry":[)";
  for (size_t i = 0; i < 50; ++i) {
    seed += std::string(i ? "," : "") + R"({"resource":{"resourceType":"Organization","name":"org )" +
            std::to_string(i) + R"("},"request":{"method":"POST","url":"Organization"}})";
  }
  seed += "]}";
  ASSERT_EQ(post("/", seed).status, 200);
  constexpr size_t kEntries = 300;
  for (const std::string type : {"batch", "transaction"}) {
    SCOPED_TRACE(type);
    std::string bundle = R"({"resourceType":"Bundle","type":")" + type + R"(","entry":[)";
    for (size_t i = 0; i < kEntries; ++i) {
      bundle += std::string(i ? "," : "") + R"({"request":{"method":"GET","url":"Organization?name=org&_count=50"}})";
    }
    bundle += "]}";
    HttpResult r = post("/", bundle);
    ASSERT_EQ(r.status, 200) << r.body.substr(0, 500);
    auto entries = entriesOf(r);
    ASSERT_EQ(entries.size(), kEntries);
    size_t answered = 0, refused = 0;
    for (const fhir::JsonValue* e : entries) {
      std::string status = responseField(e, "status");
      if (status == "200 OK") ++answered;
      else if (status == "413 Payload Too Large") ++refused;
    }
    // Each search is about 50 index rows and 50 reads: about ten fit into 1,000 rows, never all 300.
    EXPECT_GE(answered, 1u);
    EXPECT_LE(answered, 20u);
    EXPECT_EQ(answered + refused, kEntries);
    EXPECT_NE(r.body.find("limits.max_bundle_work_rows"), std::string::npos);
  }
}

INSTANTIATE_TEST_SUITE_P(Engines, WriteRules, ::testing::ValuesIn(engines()),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });
INSTANTIATE_TEST_SUITE_P(Engines, WriteRulesWithoutReferenceChecks, ::testing::ValuesIn(engines()),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });
INSTANTIATE_TEST_SUITE_P(Engines, BoundedBundleResponses, ::testing::ValuesIn(engines()),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });
INSTANTIATE_TEST_SUITE_P(Engines, BoundedBundleWork, ::testing::ValuesIn(engines()),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
}  // namespace planbro::gateway::rest::testing
