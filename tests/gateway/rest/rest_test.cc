// The FHIR REST interactions end to end: real server, real store, real HTTP client (rest_fixture.h).

#include <atomic>
#include <regex>
#include <set>
#include <thread>

#include "rest_fixture.h"

namespace planbro::gateway::rest::testing {
namespace {

constexpr const char* kFnr = "15858512066";  // synthetic fødselsnummer (the earlier demo's Kari Testesen)

std::string patientJson(const std::string& fnr = kFnr) {
  return R"({"resourceType":"Patient","identifier":[{"system":"urn:oid:2.16.578.1.12.4.1.4.1","value":")" + fnr +
         R"("}],"name":[{"family":"Testesen","given":["Kari"]}],"gender":"female","birthDate":"1985-05-15"})";
}
std::string careTeamJson(const std::string& patient) {
  return R"({"resourceType":"CareTeam","status":"active","name":"Ansvarsgruppe for Kari","subject":{"reference":"Patient/)" +
         patient + R"("},"participant":[{"role":[{"text":"Koordinator"}]}]})";
}
std::string goalJson(const std::string& patient, const std::string& text = "Gå turar med barnebarna") {
  return R"({"resourceType":"Goal","lifecycleStatus":"active","description":{"text":")" + text +
         R"("},"subject":{"reference":"Patient/)" + patient + R"("},"startDate":"2026-03"})";
}
std::string carePlanJson(const std::string& patient, const std::string& team, const std::string& goal,
                         const std::string& status = "active") {
  return R"({"resourceType":"CarePlan","status":")" + status + R"(","intent":"plan","title":"Individuell plan",)"
         R"("subject":{"reference":"Patient/)" + patient + R"("},"period":{"start":"2026-03-01"},)"
         R"("careTeam":[{"reference":"CareTeam/)" + team + R"("}],"goal":[{"reference":"Goal/)" + goal + R"("}]})";
}
std::string consentJson(const std::string& patient) {
  return R"({"resourceType":"Consent","status":"active","scope":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/consentscope","code":"patient-privacy"}]},)"
         R"("category":[{"coding":[{"system":"http://loinc.org","code":"59284-0"}]}],"patient":{"reference":"Patient/)" +
         patient + R"("},"dateTime":"2026-02-20T10:00:00+01:00","policyRule":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"OPTIN"}]}})";
}

std::vector<std::string> entryIds(const HttpResult& r, std::string_view mode = "match") {
  std::vector<std::string> ids;
  const fhir::JsonValue* entries = r.root().find("entry");
  if (!entries) return ids;
  for (const fhir::JsonValue& e : entries->items()) {
    const fhir::JsonValue* search = e.find("search");
    const fhir::JsonValue* m = search ? search->find("mode") : nullptr;
    if (!mode.empty() && (!m || m->text() != mode)) continue;
    const fhir::JsonValue* res = e.find("resource");
    if (!res) continue;
    const fhir::JsonValue* rt = res->find("resourceType");
    const fhir::JsonValue* id = res->find("id");
    if (rt && id) ids.push_back(std::string(rt->text()) + "/" + std::string(id->text()));
  }
  return ids;
}


class RestInteractions : public RestServerTest {
 protected:
  std::string create(const std::string& type, const std::string& json) {
    HttpResult r = post("/" + type, json);
    EXPECT_EQ(r.status, 201) << type << ": " << r.body;
    return r.str("id");
  }
};

TEST_P(RestInteractions, CreatesReadsAndSearchesAnIndividualPlanAsAFhirClientWould) {
  HttpResult p = post("/Patient", patientJson());
  ASSERT_EQ(p.status, 201) << p.body;
  std::string patient = p.str("id");
  ASSERT_FALSE(patient.empty());
  EXPECT_EQ(p.header("etag"), "W/\"1\"");
  EXPECT_EQ(p.header("location"), "http://fhir.test/Patient/" + patient + "/_history/1");
  EXPECT_FALSE(p.header("last-modified").empty());
  EXPECT_NE(p.header("content-type").find("application/fhir+json"), std::string::npos);

  std::string team = create("CareTeam", careTeamJson(patient));
  std::string goal1 = create("Goal", goalJson(patient));
  std::string goal2 = create("Goal", goalJson(patient, "Bu heime"));
  HttpResult cp = post("/CarePlan", carePlanJson(patient, team, goal1));
  ASSERT_EQ(cp.status, 201) << cp.body;
  std::string plan = cp.str("id");
  create("CarePlan", carePlanJson(patient, team, goal2, "completed"));
  std::string consent = create("Consent", consentJson(patient));

  for (const std::string& ref : {"Patient/" + patient, "CareTeam/" + team, "Goal/" + goal1, "CarePlan/" + plan,
                                 "Consent/" + consent}) {
    HttpResult r = get("/" + ref);
    EXPECT_EQ(r.status, 200) << ref << ": " << r.body;
    const fhir::JsonValue* meta = r.root().find("meta");
    ASSERT_NE(meta, nullptr) << ref;
    EXPECT_EQ(meta->find("versionId")->text(), "1");
    EXPECT_NE(meta->find("lastUpdated"), nullptr);
    EXPECT_EQ(r.header("etag"), "W/\"1\"");
  }

  HttpResult active = get("/CarePlan?subject=Patient/" + patient + "&status=active");
  ASSERT_EQ(active.status, 200) << active.body;
  EXPECT_EQ(active.str("type"), "searchset");
  EXPECT_EQ(entryIds(active), std::vector<std::string>{"CarePlan/" + plan});

  // Norwegian practice: the fødselsnummer goes in a form body, not in the URL.
  HttpResult byFnr = post("/CarePlan/_search",
                          "subject:Patient.identifier=urn:oid:2.16.578.1.12.4.1.4.1%7C" + std::string(kFnr) +
                              "&status=active&_include=CarePlan:care-team&_include=CarePlan:goal",
                          {{"Content-Type", "application/x-www-form-urlencoded"}});
  ASSERT_EQ(byFnr.status, 200) << byFnr.body;
  EXPECT_EQ(entryIds(byFnr), std::vector<std::string>{"CarePlan/" + plan});
  std::vector<std::string> included = entryIds(byFnr, "include");
  std::set<std::string> inc(included.begin(), included.end());
  EXPECT_EQ(inc, (std::set<std::string>{"CareTeam/" + team, "Goal/" + goal1}));
}

TEST_P(RestInteractions, PagesThroughSearchResultsWithNextLinks) {
  std::string patient = create("Patient", patientJson());
  std::set<std::string> created;
  for (int i = 0; i < 7; ++i) created.insert("Goal/" + create("Goal", goalJson(patient, "Mål " + std::to_string(i))));
  std::set<std::string> seen;
  std::string target = "/Goal?subject=Patient/" + patient + "&_count=3";
  int pages = 0;
  while (!target.empty() && pages < 10) {
    HttpResult r = get(target);
    ASSERT_EQ(r.status, 200) << r.body;
    for (const auto& id : entryIds(r)) EXPECT_TRUE(seen.insert(id).second) << "duplicate " << id;
    std::string next = linkUrl(r, "next");
    target = next.empty() ? "" : targetOf(next);
    ++pages;
  }
  EXPECT_EQ(seen, created);
  EXPECT_EQ(pages, 3);
}

TEST_P(RestInteractions, PostSearchPagesWithSealedLinksThatNeverCarryTheFodselsnummer) {
  std::string patient = create("Patient", patientJson());
  std::string team = create("CareTeam", careTeamJson(patient));
  std::set<std::string> created;
  for (int i = 0; i < 5; ++i) {
    std::string goal = create("Goal", goalJson(patient, "Mål " + std::to_string(i)));
    created.insert("CarePlan/" + create("CarePlan", carePlanJson(patient, team, goal)));
  }
  const std::vector<std::pair<std::string, std::string>> form{{"Content-Type", "application/x-www-form-urlencoded"}};
  HttpResult r = post("/CarePlan/_search",
                      "subject:Patient.identifier=urn:oid:2.16.578.1.12.4.1.4.1%7C" + std::string(kFnr) +
                          "&_count=2&_include=CarePlan:care-team",
                      form);
  std::set<std::string> seen;
  int pages = 0;
  std::string first_next;
  while (pages < 10) {
    ASSERT_EQ(r.status, 200) << r.body;
    ++pages;
    for (const char* relation : {"self", "next", "previous"}) {
      std::string url = linkUrl(r, relation);
      EXPECT_EQ(url.find(kFnr), std::string::npos) << relation << " link carries the fødselsnummer: " << url;
      EXPECT_EQ(url.find("identifier"), std::string::npos) << relation << " link carries the parameters: " << url;
    }
    for (const auto& id : entryIds(r)) EXPECT_TRUE(seen.insert(id).second) << "duplicate " << id;
    EXPECT_EQ(entryIds(r, "include"), std::vector<std::string>{"CareTeam/" + team});
    std::string next = linkUrl(r, "next");
    if (next.empty()) break;
    if (first_next.empty()) first_next = targetOf(next);
    r = get(targetOf(next));
  }
  EXPECT_EQ(seen, created);
  EXPECT_EQ(pages, 3);

  // The token is bound to its type, cannot be altered and stands alone.
  ASSERT_FALSE(first_next.empty());
  std::string token = first_next.substr(first_next.find("_page=") + 6);
  EXPECT_EQ(get("/Goal?_page=" + token).status, 400);
  std::string altered = token;
  altered[altered.size() / 2] = altered[altered.size() / 2] == 'A' ? 'B' : 'A';
  HttpResult bad = get("/CarePlan?_page=" + altered);
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_NE(bad.body.find("repeat the search"), std::string::npos) << bad.body;
  EXPECT_EQ(get(first_next + "&status=active").status, 400);
  EXPECT_EQ(get(first_next + "&_format=json").status, 200);
}

TEST_P(RestInteractions, KeepsHistoryAndPagesItWithKeysetLinks) {
  HttpResult p = post("/Patient", patientJson());
  std::string id = p.str("id");
  std::string v2 = patientJson();
  v2.insert(v2.find("\"identifier\""), "\"id\":\"" + id + "\",\"active\":true,");
  HttpResult u = put("/Patient/" + id, v2);
  ASSERT_EQ(u.status, 200) << u.body;
  EXPECT_EQ(u.header("etag"), "W/\"2\"");

  HttpResult h = get("/Patient/" + id + "/_history");
  ASSERT_EQ(h.status, 200) << h.body;
  EXPECT_EQ(h.str("type"), "history");
  EXPECT_EQ(h.root().find("total"), nullptr);
  std::vector<std::string> versions;
  for (const fhir::JsonValue& e : h.root().find("entry")->items()) {
    versions.emplace_back(e.find("resource")->find("meta")->find("versionId")->text());
  }
  EXPECT_EQ(versions, (std::vector<std::string>{"2", "1"}));

  HttpResult v1 = get("/Patient/" + id + "/_history/1");
  ASSERT_EQ(v1.status, 200);
  EXPECT_EQ(v1.root().find("active"), nullptr);

  create("Goal", goalJson(id));
  std::set<std::string> seen;
  std::string target = "/_history?_count=1";
  int pages = 0;
  while (!target.empty() && pages < 10) {
    HttpResult r = get(target);
    ASSERT_EQ(r.status, 200) << r.body;
    const fhir::JsonValue* entries = r.root().find("entry");
    ASSERT_NE(entries, nullptr);
    EXPECT_EQ(entries->size(), 1u);
    const fhir::JsonValue& e = entries->items()[0];
    seen.insert(std::string(e.find("fullUrl")->text()) + "@" + std::string(e.find("response")->find("etag")->text()));
    std::string next = linkUrl(r, "next");
    target = next.empty() ? "" : targetOf(next);
    ++pages;
  }
  EXPECT_EQ(seen.size(), 3u);

  HttpResult typeHistory = get("/Patient/_history");
  ASSERT_EQ(typeHistory.status, 200);
  EXPECT_EQ(typeHistory.root().find("entry")->size(), 2u);

  // _since: from the second version's lastUpdated on, only that version.
  std::string since(u.root().find("meta")->find("lastUpdated")->text());
  HttpResult sinceV2 = get("/Patient/" + id + "/_history?_since=" + since);
  ASSERT_EQ(sinceV2.status, 200) << sinceV2.body;
  ASSERT_NE(sinceV2.root().find("entry"), nullptr);
  EXPECT_EQ(sinceV2.root().find("entry")->size(), 1u);
  EXPECT_EQ(get("/_history?_since=2999-01-01T00:00:00Z").root().find("entry"), nullptr);
  EXPECT_EQ(get("/_history?_since=yesterday").status, 400);
}

TEST_P(RestInteractions, AnswersAStaleIfMatchWith412AndAnUnchangedUpdateKeepsTheVersion) {
  std::string id = create("Patient", patientJson());
  std::string body = patientJson();
  body.insert(1, "\"id\":\"" + id + "\",");
  HttpResult same = put("/Patient/" + id, body, {{"If-Match", "W/\"1\""}});
  ASSERT_EQ(same.status, 200) << same.body;
  EXPECT_EQ(same.header("etag"), "W/\"1\"");  // nothing changed: no new version

  std::string changed = body;
  changed.insert(changed.find("\"gender\""), "\"active\":true,");
  HttpResult ok = put("/Patient/" + id, changed, {{"If-Match", "W/\"1\""}});
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(ok.header("etag"), "W/\"2\"");
  HttpResult stale = put("/Patient/" + id, body, {{"If-Match", "W/\"1\""}});
  EXPECT_EQ(stale.status, 412) << stale.body;
  EXPECT_EQ(stale.str("resourceType"), "OperationOutcome");
  EXPECT_EQ(get("/Patient/" + id).header("etag"), "W/\"2\"");
}

TEST_P(RestInteractions, TwentyConcurrentConditionalCreatesMakeExactlyOneResource) {
  constexpr int kClients = 20;
  const std::vector<HttpResult> results = concurrently(kClients, [&](int) {
    return post("/Patient", patientJson(), {{"If-None-Exist", "identifier=urn:oid:2.16.578.1.12.4.1.4.1|" + std::string(kFnr)}});
  });
  std::set<std::string> ids;
  int created = 0;
  for (const auto& r : results) {
    ASSERT_TRUE(r.status == 200 || r.status == 201) << r.status << " " << r.body;
    if (r.status == 201) ++created;
    ids.insert(r.str("id"));
  }
  EXPECT_EQ(created, 1);
  EXPECT_EQ(ids.size(), 1u);
  HttpResult all = get("/Patient?identifier=urn:oid:2.16.578.1.12.4.1.4.1|" + std::string(kFnr));
  EXPECT_EQ(entryIds(all).size(), 1u) << all.body;
  HttpResult history = get("/Patient/_history");
  EXPECT_EQ(history.root().find("entry")->size(), 1u);
}

TEST_P(RestInteractions, TransactionWithOneInvalidEntryWritesNothingAndNamesTheEntry) {
  std::string bundle = readFile(std::string(PLANBRO_TEST_DATA_DIR) + "/../../conformance/demo/individual-plan-demo.json");
  ASSERT_FALSE(bundle.empty());
  // Entry 16 is the first Goal: give it a lifecycleStatus outside its required binding.
  size_t at = bundle.find("\"lifecycleStatus\": \"active\"");
  ASSERT_NE(at, std::string::npos);
  bundle.replace(at, std::string("\"lifecycleStatus\": \"active\"").size(), "\"lifecycleStatus\": \"bogus\"");
  HttpResult r = post("/", bundle);
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_EQ(r.str("resourceType"), "OperationOutcome");
  EXPECT_NE(r.body.find("Bundle.entry[16]"), std::string::npos) << r.body;
  HttpResult history = get("/_history");
  ASSERT_EQ(history.status, 200);
  EXPECT_EQ(history.root().find("entry"), nullptr) << history.body;
}

TEST_P(RestInteractions, TransactionResolvesPlaceholdersAndIsIdempotentWithIfNoneExist) {
  std::string bundle = readFile(std::string(PLANBRO_TEST_DATA_DIR) + "/../../conformance/demo/individual-plan-demo.json");
  HttpResult r = post("/", bundle);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.str("type"), "transaction-response");
  const fhir::JsonValue* entries = r.root().find("entry");
  ASSERT_NE(entries, nullptr);
  ASSERT_EQ(entries->size(), 32u);  // conformance/demo/README.md
  for (const fhir::JsonValue& e : entries->items()) {
    EXPECT_EQ(e.find("response")->find("status")->text(), "201 Created");
    EXPECT_NE(e.find("response")->find("location"), nullptr);
  }
  std::string patientLoc(entries->items()[0].find("response")->find("location")->text());
  std::string patientId = patientLoc.substr(patientLoc.find("/Patient/") + 9);
  patientId = patientId.substr(0, patientId.find('/'));
  // Ingrid's individual plan and her crisis plan.
  HttpResult plans = get("/CarePlan?subject=Patient/" + patientId);
  ASSERT_EQ(entryIds(plans).size(), 2u) << plans.body;
  EXPECT_EQ(plans.body.find("urn:uuid:"), std::string::npos);

  // Every entry is conditional (If-None-Exist on its identifier): a second run finds them all rather than
  // duplicating any, so two gateway nodes loading the demo at once make one plan.
  HttpResult again = post("/", bundle);
  ASSERT_EQ(again.status, 200) << again.body;
  for (const fhir::JsonValue& e : again.root().find("entry")->items()) {
    EXPECT_EQ(e.find("response")->find("status")->text(), "200 OK");
  }
  HttpResult patients = get("/Patient?identifier=12868441060");  // Ingrid Testlien, the demo's main case
  EXPECT_EQ(entryIds(patients).size(), 1u);
  EXPECT_EQ(entryIds(get("/CarePlan?subject=Patient/" + patientId)).size(), 2u);
}

TEST_P(RestInteractions, TransactionResolvesConditionalReferencesAndFailsWholeOnAStaleIfMatch) {
  HttpResult p = post("/Patient", patientJson());
  ASSERT_EQ(p.status, 201);
  std::string patient = p.str("id");
  std::string goal = create("Goal", goalJson(patient));
  std::string tx = R"({"resourceType":"Bundle","type":"transaction","entry":[
    {"fullUrl":"urn:uuid:0d6c4a3e-1111-4a59-9b43-0a1c9e1d2a10","resource":{"resourceType":"CareTeam","status":"active",
      "subject":{"reference":"Patient?identifier=urn:oid:2.16.578.1.12.4.1.4.1|15858512066"}},
     "request":{"method":"POST","url":"CareTeam"}},
    {"resource":{"resourceType":"CarePlan","status":"active","intent":"plan",
      "subject":{"reference":"Patient?identifier=urn:oid:2.16.578.1.12.4.1.4.1|15858512066"},
      "careTeam":[{"reference":"urn:uuid:0d6c4a3e-1111-4a59-9b43-0a1c9e1d2a10"}]},
     "request":{"method":"POST","url":"CarePlan"}},
    {"request":{"method":"GET","url":"Patient/)" + patient + R"("}}]})";
  HttpResult r = post("/", tx);
  ASSERT_EQ(r.status, 200) << r.body;
  auto entries = r.root().find("entry")->items();
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[2].find("response")->find("status")->text(), "200 OK");
  HttpResult plans = get("/CarePlan?subject=Patient/" + patient + "&_include=CarePlan:care-team");
  EXPECT_EQ(entryIds(plans).size(), 1u) << plans.body;
  EXPECT_EQ(entryIds(plans, "include").size(), 1u) << plans.body;

  // A stale ifMatch in entry 1 fails the whole transaction with 412: entry 0's create is rolled back too.
  std::string goalBody = goalJson(patient, "Endra mål");
  goalBody.insert(1, "\"id\":\"" + goal + "\",");
  std::string stale = R"({"resourceType":"Bundle","type":"transaction","entry":[
    {"resource":)" + goalJson(patient, "Nytt mål") + R"(,"request":{"method":"POST","url":"Goal"}},
    {"resource":)" + goalBody + R"(,"request":{"method":"PUT","url":"Goal/)" + goal + R"(","ifMatch":"W/\"7\""}}]})";
  HttpResult s = post("/", stale);
  EXPECT_EQ(s.status, 412) << s.body;
  EXPECT_NE(s.body.find("Bundle.entry[1]"), std::string::npos) << s.body;
  EXPECT_EQ(entryIds(get("/Goal?subject=Patient/" + patient)).size(), 1u);
}

TEST_P(RestInteractions, BatchEntriesSucceedOrFailIndependently) {
  std::string bundle = R"({"resourceType":"Bundle","type":"batch","entry":[
    {"resource":)" + patientJson() + R"(,"request":{"method":"POST","url":"Patient"}},
    {"resource":{"resourceType":"Goal","lifecycleStatus":"bogus","description":{"text":"x"},"subject":{"reference":"Patient/x"}},"request":{"method":"POST","url":"Goal"}},
    {"request":{"method":"GET","url":"Patient/does-not-exist"}}]})";
  HttpResult r = post("/", bundle);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.str("type"), "batch-response");
  auto entries = r.root().find("entry")->items();
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0].find("response")->find("status")->text(), "201 Created");
  EXPECT_EQ(entries[1].find("response")->find("status")->text(), "422 Unprocessable Entity");
  EXPECT_NE(entries[1].find("response")->find("outcome"), nullptr);
  EXPECT_EQ(entries[2].find("response")->find("status")->text(), "404 Not Found");
}

TEST_P(RestInteractions, AppliesAFhirPathPatchAloneAndInsideATransaction) {
  std::string id = create("Patient", patientJson());
  const std::string replace_gender = R"({"resourceType":"Parameters","parameter":[{"name":"operation","part":[
    {"name":"type","valueCode":"replace"},{"name":"path","valueString":"Patient.gender"},
    {"name":"value","valueCode":"other"}]},{"name":"operation","part":[{"name":"type","valueCode":"add"},
    {"name":"path","valueString":"Patient"},{"name":"name","valueString":"active"},{"name":"value","valueBoolean":true}]}]})";
  HttpResult r = request(port_, "PATCH", "/Patient/" + id, replace_gender,
                         {{"Content-Type", "application/fhir+json"}, {"If-Match", "W/\"1\""}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.str("gender"), "other");
  ASSERT_NE(r.root().find("active"), nullptr);
  EXPECT_EQ(r.header("etag"), "W/\"2\"");

  // An operation that cannot apply is 422 and names the operation; one that leaves an invalid resource is 422 too.
  HttpResult twice = request(port_, "PATCH", "/Patient/" + id, replace_gender, {{"Content-Type", "application/fhir+json"}});
  EXPECT_EQ(twice.status, 422) << twice.body;
  EXPECT_NE(twice.body.find("Parameters.parameter[1]"), std::string::npos) << twice.body;
  const std::string bad_gender = R"({"resourceType":"Parameters","parameter":[{"name":"operation","part":[
    {"name":"type","valueCode":"replace"},{"name":"path","valueString":"Patient.gender"},{"name":"value","valueCode":"sometimes"}]}]})";
  EXPECT_EQ(request(port_, "PATCH", "/Patient/" + id, bad_gender, {{"Content-Type", "application/fhir+json"}}).status, 422);
  EXPECT_EQ(request(port_, "PATCH", "/Patient/" + id, "gender=other", {{"Content-Type", "text/plain"}}).status, 415);

  std::string tx = R"({"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Parameters",
    "parameter":[{"name":"operation","part":[{"name":"type","valueCode":"delete"},{"name":"path","valueString":"Patient.active"}]}]},
    "request":{"method":"PATCH","url":"Patient/)" + id + R"("}}]})";
  HttpResult t = post("/", tx);
  ASSERT_EQ(t.status, 200) << t.body;
  HttpResult after = get("/Patient/" + id);
  EXPECT_EQ(after.root().find("active"), nullptr) << after.body;
  EXPECT_EQ(after.header("etag"), "W/\"3\"");
}

TEST_P(RestInteractions, PatchesInsideATransactionWithABinaryJsonPatch) {
  std::string id = create("Patient", patientJson());
  // [{"op":"replace","path":"/gender","value":"other"}] in base64
  std::string tx = R"({"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Binary",
    "contentType":"application/json-patch+json","data":"W3sib3AiOiJyZXBsYWNlIiwicGF0aCI6Ii9nZW5kZXIiLCJ2YWx1ZSI6Im90aGVyIn1d"},
    "request":{"method":"PATCH","url":"Patient/)" + id + R"("}}]})";
  HttpResult r = post("/", tx);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(get("/Patient/" + id).str("gender"), "other");
}

// Outside probe (2026-12-07): one 16 MB Patient of 400,000 distinct names made 1.1 GB of index rows (and a minute
// of the store's writer turn). The write path refuses a resource past limits.max_index_rows_per_resource (default
// 10,000 rows) with 413 before the store is touched.
TEST_P(RestInteractions, RefusesAResourceWhoseIndexRowsPassTheBoundBeforeTheStoreSeesIt) {
  std::string json = R"({"resourceType":"Patient","name":[)";
  for (int i = 0; i < 6000; ++i) {
    const std::string n = std::to_string(i);
    json += std::string(i ? "," : "") + "{\"family\":\"fam" + n + "\",\"given\":[\"g" + n + "\"]}";
  }
  json += "]}";
  HttpResult refused = post("/Patient", json);
  EXPECT_EQ(refused.status, 413) << refused.body.substr(0, 400);
  EXPECT_NE(refused.body.find("limits.max_index_rows_per_resource"), std::string::npos) << refused.body.substr(0, 400);
  HttpResult none = get("/Patient?family=fam5999");
  ASSERT_EQ(none.status, 200);
  EXPECT_EQ(none.root().find("entry"), nullptr) << "the refused Patient was stored";
  EXPECT_EQ(post("/Patient", R"({"resourceType":"Patient","name":[{"family":"fam1"},{"family":"fam2"}]})").status, 201);
}

TEST_P(RestInteractions, AnswersClientErrorsWithOperationOutcomes) {
  HttpResult malformed = post("/Patient", "{\"resourceType\":\"Patient\",");
  EXPECT_EQ(malformed.status, 400);
  EXPECT_EQ(malformed.str("resourceType"), "OperationOutcome");

  HttpResult invalid = post("/Patient", R"({"resourceType":"Patient","gender":"sometimes","birthDate":"15.05.1985"})");
  EXPECT_EQ(invalid.status, 422) << invalid.body;
  EXPECT_NE(invalid.body.find("Patient.gender"), std::string::npos) << invalid.body;

  HttpResult lenient = post("/Patient", R"({"resourceType":"Patient","gender":"sometimes"})",
                            {{"Prefer", "handling=lenient"}});
  EXPECT_EQ(lenient.status, 422);

  EXPECT_EQ(get("/Frobnicator/1").status, 404);
  EXPECT_EQ(get("/Patient/nope").status, 404);
  EXPECT_EQ(post("/Patient", patientJson(), {{"Content-Type", "text/plain"}}).status, 415);
  // Outside probe (2026-12-07): a Content-Type naming no media type was read as JSON (and the write made).
  EXPECT_EQ(post("/Patient", patientJson(), {{"Content-Type", ";;;==;charset"}}).status, 415);
  EXPECT_EQ(post("/Patient", patientJson(), {{"Content-Type", "; charset=utf-8"}}).status, 415);
  EXPECT_EQ(get("/metadata", {{"Accept", "image/png"}}).status, 406);
  HttpResult wrongMethod = request(port_, "PATCH", "/Patient", "[]", {{"Content-Type", "application/json-patch+json"}});
  EXPECT_EQ(wrongMethod.status, 405);
  EXPECT_FALSE(wrongMethod.header("allow").empty());
  EXPECT_EQ(post("/Patient", R"({"resourceType":"Goal"})").status, 400);
  EXPECT_EQ(get("/Patient?bogus-param=1").status, 400);
  EXPECT_EQ(get("/Patient/bad$id").status, 400);
  EXPECT_EQ(put("/Patient/abc", patientJson()).status, 400);  // no id in the body
}

TEST_P(RestInteractions, DeletesWithTombstonesAndAnswers410Afterwards) {
  std::string id = create("Patient", patientJson());
  HttpResult d = request(port_, "DELETE", "/Patient/" + id);
  EXPECT_EQ(d.status, 200) << d.body;
  EXPECT_EQ(d.header("etag"), "W/\"2\"");
  HttpResult r = get("/Patient/" + id);
  EXPECT_EQ(r.status, 410);
  EXPECT_EQ(r.str("resourceType"), "OperationOutcome");
  EXPECT_EQ(get("/Patient/" + id + "/_history/1").status, 200);
  EXPECT_EQ(get("/Patient/" + id + "/_history/2").status, 410);
  EXPECT_TRUE(entryIds(get("/Patient?_id=" + id)).empty());
  HttpResult h = get("/Patient/" + id + "/_history");
  ASSERT_EQ(h.root().find("entry")->size(), 2u);
  EXPECT_EQ(h.root().find("entry")->items()[0].find("request")->find("method")->text(), "DELETE");
}

TEST_P(RestInteractions, SupportsConditionalReadsPatchAndPreferReturn) {
  HttpResult created = post("/Patient", patientJson(), {{"Prefer", "return=minimal"}});
  ASSERT_EQ(created.status, 201);
  EXPECT_TRUE(created.body.empty());
  std::string loc = created.header("location");
  std::string id = loc.substr(loc.find("/Patient/") + 9);
  id = id.substr(0, id.find('/'));

  EXPECT_EQ(get("/Patient/" + id, {{"If-None-Match", "W/\"1\""}}).status, 304);
  HttpResult r = get("/Patient/" + id);
  // Last-Modified is an IMF-fixdate and meta.lastUpdated an instant with microseconds, of the same second.
  std::smatch http_date;
  const std::string last_modified = r.header("last-modified");
  ASSERT_TRUE(std::regex_match(last_modified, http_date,
                               std::regex(R"((Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d\d) )"
                                          R"((Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (\d{4}) (\d\d:\d\d:\d\d) GMT)")))
      << last_modified;
  std::smatch instant;
  ASSERT_TRUE(std::regex_search(r.body, instant,
                                std::regex(R"re("lastUpdated":"(\d{4})-(\d\d)-(\d\d)T(\d\d:\d\d:\d\d)\.\d{6}Z")re")))
      << r.body;
  EXPECT_EQ(instant[1].str(), http_date[4].str());
  EXPECT_EQ(instant[3].str(), http_date[2].str());
  EXPECT_EQ(instant[4].str(), http_date[5].str());
  EXPECT_EQ(get("/Patient/" + id, {{"If-Modified-Since", r.header("last-modified")}}).status, 304);
  EXPECT_EQ(get("/Patient/" + id, {{"If-Modified-Since", "Mon, 01 Jan 2001 00:00:00 GMT"}}).status, 200);

  HttpResult patched = request(port_, "PATCH", "/Patient/" + id,
                               R"([{"op":"replace","path":"/gender","value":"other"},{"op":"add","path":"/active","value":true}])",
                               {{"Content-Type", "application/json-patch+json"}, {"If-Match", "W/\"1\""}});
  ASSERT_EQ(patched.status, 200) << patched.body;
  EXPECT_EQ(patched.str("gender"), "other");
  EXPECT_EQ(patched.header("etag"), "W/\"2\"");
  HttpResult badPatch = request(port_, "PATCH", "/Patient/" + id, R"([{"op":"replace","path":"/gender","value":"sometimes"}])",
                                {{"Content-Type", "application/json-patch+json"}});
  EXPECT_EQ(badPatch.status, 422);
  HttpResult stalePatch = request(port_, "PATCH", "/Patient/" + id, R"([{"op":"remove","path":"/active"}])",
                                  {{"Content-Type", "application/json-patch+json"}, {"If-Match", "W/\"1\""}});
  EXPECT_EQ(stalePatch.status, 412);

  HttpResult outcome = post("/Patient", patientJson("01818010083"), {{"Prefer", "return=OperationOutcome"}});
  EXPECT_EQ(outcome.status, 201) << outcome.body;
  EXPECT_EQ(outcome.str("resourceType"), "OperationOutcome");
}

TEST_P(RestInteractions, SpeaksXmlAndAppliesSummaryAndElements) {
  std::string id = create("Patient", patientJson());
  HttpResult xml = get("/Patient/" + id + "?_format=xml");
  ASSERT_EQ(xml.status, 200);
  EXPECT_NE(xml.header("content-type").find("application/fhir+xml"), std::string::npos);
  EXPECT_NE(xml.body.find("<Patient xmlns=\"http://hl7.org/fhir\""), std::string::npos) << xml.body;
  HttpResult accept = get("/Patient/" + id, {{"Accept", "application/fhir+xml"}});
  EXPECT_NE(accept.body.find("<family value=\"Testesen\"/>"), std::string::npos) << accept.body;

  std::string xmlBody = R"(<Patient xmlns="http://hl7.org/fhir"><gender value="male"/><birthDate value="1970-01-01"/></Patient>)";
  HttpResult created = post("/Patient", xmlBody, {{"Content-Type", "application/fhir+xml"}});
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.str("gender"), "male");

  HttpResult elements = get("/Patient/" + id + "?_elements=gender");
  ASSERT_EQ(elements.status, 200);
  EXPECT_EQ(elements.str("gender"), "female");
  EXPECT_EQ(elements.root().find("name"), nullptr);
  EXPECT_NE(elements.body.find("SUBSETTED"), std::string::npos);

  HttpResult count = get("/Patient?_summary=count");
  ASSERT_EQ(count.status, 200) << count.body;
  EXPECT_EQ(count.root().find("entry"), nullptr);

  HttpResult pretty = get("/Patient/" + id + "?_pretty=true");
  EXPECT_NE(pretty.body.find("\n  \"resourceType\""), std::string::npos) << pretty.body;
}

TEST_P(RestInteractions, PublishesACapabilityStatementAndValidates) {
  HttpResult cs = get("/metadata");
  ASSERT_EQ(cs.status, 200);
  EXPECT_EQ(cs.str("resourceType"), "CapabilityStatement");
  EXPECT_EQ(cs.str("fhirVersion"), "4.0.1");
  bool found = false;
  std::set<std::string> audit_params;  // AuditEvent lists only the parameters it is indexed by
  for (const fhir::JsonValue& r : cs.root().find("rest")->items()[0].find("resource")->items()) {
    if (r.find("type")->text() == "AuditEvent" && r.find("searchParam")) {
      for (const fhir::JsonValue& p : r.find("searchParam")->items()) audit_params.insert(std::string(p.find("name")->text()));
    }
    if (r.find("type")->text() != "CarePlan") continue;
    for (const fhir::JsonValue& p : r.find("searchParam")->items()) found |= p.find("name")->text() == "subject";
  }
  EXPECT_TRUE(found);
  if (!audit_params.empty()) {
    EXPECT_EQ(audit_params.count("entity-type"), 1u);
    EXPECT_EQ(audit_params.count("agent-role"), 0u);
    EXPECT_EQ(audit_params.count("entity-role"), 0u);
  }
  HttpResult unindexed = get("/AuditEvent?agent-role=user");
  EXPECT_EQ(unindexed.status, 400) << unindexed.body;
  EXPECT_NE(unindexed.body.find("agent-role"), std::string::npos) << unindexed.body;

  HttpResult ok = post("/Patient/$validate", patientJson());
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body.find("\"error\""), std::string::npos) << ok.body;
  HttpResult bad = post("/Patient/$validate", R"({"resourceType":"Patient","gender":"sometimes"})");
  EXPECT_EQ(bad.status, 200);
  EXPECT_NE(bad.body.find("\"error\""), std::string::npos) << bad.body;
  std::string id = create("Patient", patientJson());
  EXPECT_EQ(get("/Patient/" + id + "/$validate").status, 200);
}

TEST_P(RestInteractions, ValidateOnXmlReportsEveryIssueWithItsLocation) {
  // Three XML content problems and one validation problem: all four are answered, as for JSON.
  const std::string xml = "<Patient xmlns=\"http://hl7.org/fhir\"><active value=\"yes\"/><bogus/>"
                          "<name><family value=\"A\"/><nonsense value=\"1\"/></name>"
                          "<gender value=\"not-a-gender\"/></Patient>";
  HttpResult r = post("/Patient/$validate", xml, {{"Content-Type", "application/fhir+xml"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.str("resourceType"), "OperationOutcome");
  EXPECT_NE(r.body.find("invalid boolean 'yes'"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("unknown element 'bogus'"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("unknown element 'nonsense'"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("\"Patient.name[0]\""), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("\"Patient.gender\""), std::string::npos) << r.body;
  // A write of the same body still stops at the first XML problem.
  HttpResult write = post("/Patient", xml, {{"Content-Type", "application/fhir+xml"}});
  EXPECT_EQ(write.status, 400) << write.body;
  // Malformed XML leaves nothing to validate.
  EXPECT_EQ(post("/Patient/$validate", "<Patient", {{"Content-Type", "application/fhir+xml"}}).status, 400);
}

TEST_P(RestInteractions, ConditionalUpdateAndDeleteBySearch) {
  std::string body = patientJson("01818010083");
  HttpResult created = put("/Patient?identifier=urn:oid:2.16.578.1.12.4.1.4.1|01818010083", body);
  ASSERT_EQ(created.status, 201) << created.body;
  std::string id = created.str("id");
  std::string changed = body;
  changed.insert(changed.find("\"gender\""), "\"active\":true,");
  HttpResult updated = put("/Patient?identifier=urn:oid:2.16.578.1.12.4.1.4.1|01818010083", changed);
  ASSERT_EQ(updated.status, 200) << updated.body;
  EXPECT_EQ(updated.str("id"), id);
  EXPECT_EQ(updated.header("etag"), "W/\"2\"");
  HttpResult deleted = request(port_, "DELETE", "/Patient?identifier=urn:oid:2.16.578.1.12.4.1.4.1|01818010083");
  EXPECT_EQ(deleted.status, 200) << deleted.body;
  EXPECT_EQ(get("/Patient/" + id).status, 410);
}

INSTANTIATE_TEST_SUITE_P(Engines, RestInteractions, ::testing::ValuesIn(engines()),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
}  // namespace planbro::gateway::rest::testing
