// The R5 Backport IG's topic-based Subscriptions in `planbro serve`: the gateway's SubscriptionTopics served as Basic
// (read-only for clients), a Subscription on a topic with filter criteria and full-resource content notified by
// history Bundles led by a SubscriptionStatus, $status, and another planbro node as the receiver that applies the
// changes in commit order, each once.
#include "../dispatch/test_receiver.h"
#include "served_node.h"

namespace planbro::gateway::subscriptions::testing {
namespace {

using dispatch::testing::ReceivedRequest;
using dispatch::testing::TestReceiver;

const std::string kConfig =
    "dispatch:\n"
    "  poll_interval_ms: 5\n"
    "  backoff_initial_ms: 1\n"
    "  backoff_max_ms: 5\n"
    "  subscriptions:\n"
    "    enabled: true\n"
    "    poll_interval_ms: 10\n"
    "    allow_plain_http: true\n";

const std::string kTopicBase = "http://planbro.no/fhir/SubscriptionTopic/";

std::string topicSubscription(const std::string& topic, const std::string& endpoint, const std::string& content,
                              const std::vector<std::string>& filters = {}) {
  std::string s = R"({"resourceType":"Subscription","status":"requested","reason":"test","criteria":")" + kTopicBase +
                  topic + R"(")";
  if (!filters.empty()) {
    s += R"(,"_criteria":{"extension":[)";
    for (size_t i = 0; i < filters.size(); ++i) {
      s += std::string(i ? "," : "") +
           R"({"url":"http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-filter-criteria","valueString":")" +
           filters[i] + R"("})";
    }
    s += "]}";
  }
  return s + R"(,"channel":{"type":"rest-hook","endpoint":")" + endpoint +
         R"(","payload":"application/fhir+json","_payload":{"extension":[{"url":"http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-payload-content","valueCode":")" +
         content + R"("}]}}})";
}

std::string plan(const std::string& id, const std::string& patient, const std::string& extra = "") {
  return R"({"resourceType":"CarePlan","id":")" + id +
         R"(","status":"active","intent":"plan","subject":{"reference":"Patient/)" + patient + R"("})" + extra + "}";
}

fhir::JsonDocument parse(const std::string& json) {
  auto doc = fhir::JsonDocument::parse(json);
  EXPECT_TRUE(doc.isOk()) << json;
  return doc.isOk() ? std::move(doc).value() : std::move(fhir::JsonDocument::parse("{}").value());
}

/** The value[x] text of the SubscriptionStatus parameter `name` (or of its part `part`). */
std::string statusParam(const fhir::JsonValue& parameters, const std::string& name, const std::string& part = "") {
  const fhir::JsonValue* list = parameters.find("parameter");
  for (const fhir::JsonValue& p : list ? list->items() : std::span<const fhir::JsonValue>()) {
    if (p.find("name")->text() != name) continue;
    const fhir::JsonValue* holder = &p;
    if (!part.empty()) {
      holder = nullptr;
      for (const fhir::JsonValue& q : p.find("part")->items()) {
        if (q.find("name")->text() == part) holder = &q;
      }
      if (holder == nullptr) return {};
    }
    for (const char* key : {"valueCode", "valueString", "valueCanonical", "valueInstant"}) {
      if (const fhir::JsonValue* v = holder->find(key)) return std::string(v->text());
    }
    if (const fhir::JsonValue* r = holder->find("valueReference")) return std::string(r->find("reference")->text());
  }
  return {};
}

TEST(TopicServe, TopicsAreServedAsBasicAndNotificationsAreHistoryBundlesLedByTheStatus) {
  TestReceiver receiver;
  ServedNode node(kConfig);
  ASSERT_NE(node.port(), 0);
  auto topic = node.get("/Basic/ip-topic-careplan");
  ASSERT_EQ(topic.status, 200) << topic.body;
  EXPECT_NE(topic.body.find(kTopicBase + "ip-careplan"), std::string::npos);
  auto all = node.get("/Basic?code=http://hl7.org/fhir/fhir-types|SubscriptionTopic");
  EXPECT_EQ(all.status, 200);
  for (const char* id : {"ip-topic-plan", "ip-topic-careplan", "ip-topic-careteam", "ip-topic-goal", "ip-topic-consent"}) {
    EXPECT_NE(all.body.find(id), std::string::npos) << id;
  }
  // The topics are the server's: a client cannot change or delete one.
  EXPECT_EQ(node.put("/Basic/ip-topic-careplan", topic.body).status, 422);
  EXPECT_EQ(node.del("/Basic/ip-topic-careplan").status, 422);

  for (const char* id : {"p1", "p2"}) {
    ASSERT_EQ(node.put(std::string("/Patient/") + id, R"({"resourceType":"Patient","id":")" + std::string(id) + "\"}").status, 201);
  }
  auto created = node.post("/Subscription", topicSubscription("ip-careplan", receiver.url() + "/notify", "full-resource",
                                                              {"CarePlan?patient=Patient/p1"}));
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string id = created.str("id");
  ASSERT_EQ(node.waitForStatus(id, "active"), "active");
  auto handshake = receiver.accepted();
  ASSERT_EQ(handshake.size(), 1u);
  {
    auto doc = parse(handshake[0].body);
    EXPECT_EQ(doc.root().find("type")->text(), "history");
    const fhir::JsonValue& status = *doc.root().find("entry")->items()[0].find("resource");
    EXPECT_EQ(statusParam(status, "type"), "handshake");
    EXPECT_EQ(statusParam(status, "topic"), kTopicBase + "ip-careplan");
    EXPECT_EQ(statusParam(status, "subscription"), node.baseUrl() + "/Subscription/" + id);
  }

  ASSERT_EQ(node.put("/CarePlan/other", plan("other", "p2")).status, 201);  // filtered out (patient)
  ASSERT_EQ(node.put("/CarePlan/plan1", plan("plan1", "p1")).status, 201);
  ASSERT_TRUE(receiver.waitForAccepted(2));
  auto got = receiver.accepted();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].method + " " + got[1].path, "POST /notify");
  EXPECT_NE(got[1].headers["content-type"].find("application/fhir+json"), std::string::npos);
  EXPECT_FALSE(got[1].headers["idempotency-key"].empty());
  auto doc = parse(got[1].body);
  const auto entries = doc.root().find("entry")->items();
  ASSERT_EQ(entries.size(), 2u);
  const fhir::JsonValue& status = *entries[0].find("resource");
  EXPECT_EQ(status.find("resourceType")->text(), "Parameters");
  EXPECT_EQ(statusParam(status, "type"), "event-notification");
  EXPECT_EQ(statusParam(status, "status"), "active");
  EXPECT_EQ(statusParam(status, "notification-event", "focus"), node.baseUrl() + "/CarePlan/plan1/_history/1");
  EXPECT_FALSE(statusParam(status, "notification-event", "event-number").empty());
  EXPECT_EQ(statusParam(status, "events-since-subscription-start"), statusParam(status, "notification-event", "event-number"));
  EXPECT_EQ(entries[1].find("resource")->find("id")->text(), "plan1");
  EXPECT_EQ(entries[1].find("request")->find("method")->text(), "PUT");

  auto queried = node.get("/Subscription/" + id + "/$status");
  ASSERT_EQ(queried.status, 200) << queried.body;
  EXPECT_EQ(queried.str("type"), "searchset");
  const fhir::JsonValue& q = *queried.root().find("entry")->items()[0].find("resource");
  EXPECT_EQ(statusParam(q, "type"), "query-status");
  EXPECT_EQ(statusParam(q, "status"), "active");
  EXPECT_EQ(node.get("/Subscription/nope/$status").status, 404);
}

TEST(TopicServe, WhatATopicCannotMeanIsA422WithTheElementPath) {
  ServedNode node(kConfig);
  ASSERT_NE(node.port(), 0);
  const std::string endpoint = "http://127.0.0.1:9/n";
  struct Case {
    std::string body, path;
  };
  const std::vector<Case> cases = {
      {topicSubscription("nope", endpoint, "id-only"), "Subscription.criteria"},
      {topicSubscription("ip-careplan", endpoint, "id-only", {"Goal?patient=Patient/p1"}),
       "Subscription.criteria.extension('backport-filter-criteria')[0]"},
      {topicSubscription("ip-careplan", endpoint, "id-only", {"CarePlan?category=x"}),
       "Subscription.criteria.extension('backport-filter-criteria')[0]"},
      {topicSubscription("ip-careplan", endpoint, "everything"),
       "Subscription.channel.payload.extension('backport-payload-content')"},
  };
  for (const Case& c : cases) {
    auto r = node.post("/Subscription", c.body);
    EXPECT_EQ(r.status, 422) << c.body << "\n" << r.body;
    EXPECT_NE(r.body.find(c.path), std::string::npos) << c.body << "\n" << r.body;
  }
}

/** B's versions of Type/id, oldest first, as "Type/id/v". */
std::vector<std::string> versions(const ServedNode& node, const std::string& type, const std::string& id) {
  auto h = node.get("/" + type + "/" + id + "/_history");
  std::vector<std::string> out;
  const fhir::JsonValue* entries = h.root().find("entry");
  for (const fhir::JsonValue& e : entries ? entries->items() : std::span<const fhir::JsonValue>()) {
    const fhir::JsonValue* r = e.find("resource");
    if (r) out.insert(out.begin(), type + "/" + id + "/" + std::string(r->find("meta")->find("versionId")->text()));
  }
  return out;
}

TEST(TopicServe, AnotherPlanbroNodeAppliesThePlanItsCareTeamAndGoalInCommitOrderEachOnce) {
  ServedNode b("dispatch:\n  subscriptions:\n    receive_notifications: true\n");
  ASSERT_NE(b.port(), 0);
  ServedNode a(kConfig);
  ASSERT_NE(a.port(), 0);
  auto created = a.post("/Subscription", topicSubscription("ip-plan", b.baseUrl() + "/subscription-notifications",
                                                           "full-resource", {"CarePlan?patient=Patient/p1"}));
  ASSERT_EQ(created.status, 201) << created.body;
  ASSERT_EQ(a.waitForStatus(created.str("id"), "active"), "active");  // B answered the handshake

  ASSERT_EQ(a.put("/Patient/p1", R"({"resourceType":"Patient","id":"p1"})").status, 201);
  ASSERT_EQ(a.put("/CareTeam/team1", R"({"resourceType":"CareTeam","id":"team1","status":"active","name":"Team",)"
                                      R"("subject":{"reference":"Patient/p1"}})")
                .status,
            201);
  ASSERT_EQ(a.put("/CarePlan/plan1", plan("plan1", "p1", R"(,"careTeam":[{"reference":"CareTeam/team1"}])")).status, 201);
  ASSERT_EQ(a.put("/CareTeam/team1", R"({"resourceType":"CareTeam","id":"team1","status":"active","name":"Team Ås",)"
                                      R"("subject":{"reference":"Patient/p1"}})")
                .status,
            200);
  ASSERT_EQ(a.put("/Goal/g1", R"({"resourceType":"Goal","id":"g1","lifecycleStatus":"active",)"
                              R"("description":{"text":"walk"},"subject":{"reference":"Patient/p1"}})")
                .status,
            201);
  ASSERT_EQ(a.put("/CarePlan/plan1", plan("plan1", "p1",
                                          R"(,"careTeam":[{"reference":"CareTeam/team1"}],"goal":[{"reference":"Goal/g1"}])"))
                .status,
            200);
  // At B: the last change arrives last (commit order per plan), so once it is there everything is.
  auto last = b.getUntil("/CarePlan/plan1", [](const HttpResult& r) { return r.body.find("Goal/g1") != std::string::npos; });
  ASSERT_NE(last.body.find("Goal/g1"), std::string::npos) << last.body;
  EXPECT_EQ(versions(b, "Patient", "p1"), (std::vector<std::string>{"Patient/p1/1"}));
  EXPECT_EQ(versions(b, "CareTeam", "team1"), (std::vector<std::string>{"CareTeam/team1/1", "CareTeam/team1/2"}));
  EXPECT_EQ(versions(b, "CarePlan", "plan1"), (std::vector<std::string>{"CarePlan/plan1/1", "CarePlan/plan1/2"}));
  EXPECT_EQ(versions(b, "Goal", "g1"), (std::vector<std::string>{"Goal/g1/1"}));
  EXPECT_NE(b.get("/CareTeam/team1").body.find("Team Ås"), std::string::npos);
  // B wrote them in A's commit order: its own history, oldest first.
  auto history = b.get("/_history?_count=50");
  std::vector<std::string> order;
  const fhir::JsonValue* entries = history.root().find("entry");
  for (const fhir::JsonValue& e : entries ? entries->items() : std::span<const fhir::JsonValue>()) {
    const fhir::JsonValue* r = e.find("resource");
    if (r == nullptr) continue;
    const std::string type(r->find("resourceType")->text());
    // B's own records (topics it seeded, the audit trail of the reads above, written in batches) are not A's changes.
    if (type == "Basic" || type == "AuditEvent") continue;
    order.insert(order.begin(), type + "/" + std::string(r->find("id")->text()) + "/" +
                                    std::string(r->find("meta")->find("versionId")->text()));
  }
  EXPECT_EQ(order, (std::vector<std::string>{"Patient/p1/1", "CareTeam/team1/1", "CarePlan/plan1/1", "CareTeam/team1/2",
                                             "Goal/g1/1", "CarePlan/plan1/2"}));
}

TEST(TopicServe, TheReceiverRefusesWhatItCannotApply) {
  ServedNode b("dispatch:\n  subscriptions:\n    receive_notifications: true\n");
  ASSERT_NE(b.port(), 0);
  const std::string path = "/subscription-notifications";
  auto status = [](const std::string& type) {
    return R"({"fullUrl":"urn:x","resource":{"resourceType":"Parameters","parameter":[{"name":"type","valueCode":")" +
           type + R"("}]}})";
  };
  auto bundle = [](const std::string& entries) {
    return R"({"resourceType":"Bundle","type":"history","entry":[)" + entries + "]}";
  };
  EXPECT_EQ(b.post(path, bundle(status("heartbeat"))).status, 200);
  EXPECT_EQ(b.post(path, bundle(status("handshake"))).status, 200);
  struct Case {
    std::string body;
    int status;
    std::string where;
  };
  const std::vector<Case> cases = {
      {"not json", 400, "Bundle"},
      {R"({"resourceType":"Bundle","type":"transaction","entry":[]})", 422, "Bundle.type"},
      {bundle(""), 422, "Bundle.entry[0].resource"},
      {bundle(status("query-event")), 422, "parameter('type')"},
      {bundle(status("event-notification") + R"(,{"fullUrl":"x","request":{"method":"PUT","url":"Patient/p1"}})"), 422,
       "Bundle.entry[1].resource"},
      {bundle(status("event-notification") + R"(,{"request":{"method":"PUT","url":"Patient"}})"), 422,
       "Bundle.entry[1].request.url"},
      {bundle(status("event-notification") + R"(,{"request":{"method":"PATCH","url":"Patient/p1"}})"), 422,
       "Bundle.entry[1].request.method"},
      // Applied through the write pipeline: a resource that does not validate is refused with its issues.
      {bundle(status("event-notification") +
              R"(,{"resource":{"resourceType":"Patient","id":"p1","gender":"sometimes"},"request":{"method":"PUT","url":"Patient/p1"}})"),
       422, "gender"},
  };
  for (const Case& c : cases) {
    auto r = b.post(path, c.body);
    EXPECT_EQ(r.status, c.status) << c.body << "\n" << r.body;
    EXPECT_NE(r.body.find(c.where), std::string::npos) << c.body << "\n" << r.body;
  }
  EXPECT_EQ(b.get(path).status, 405);
  EXPECT_EQ(b.get("/Patient/p1").status, 404);  // nothing was written
  // A delete of what B never had is no error (a redelivered delete has no second effect).
  EXPECT_EQ(b.post(path, bundle(status("event-notification") + R"(,{"request":{"method":"DELETE","url":"Goal/gone"}})")).status,
            200);
}

}  // namespace
}  // namespace planbro::gateway::subscriptions::testing
