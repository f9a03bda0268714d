// Stored R4 Subscriptions driving dispatcher subscribers in `planbro serve`, end to end on loopback: created through
// the REST API, the handshake makes them active, notifications honour criteria and payload and carry the
// channel.header, off and delete stop delivery, a failing receiver puts the Subscription in error (and a retried
// dead letter brings it back), and what the gateway cannot serve is a 422 with the element path.
#include "../dispatch/test_receiver.h"
#include "served_node.h"

namespace planbro::gateway::subscriptions::testing {
namespace {

using dispatch::testing::ReceivedRequest;
using dispatch::testing::TestReceiver;

std::string nodeConfig(const std::string& extra_dispatch = "") {
  return "dispatch:\n"
         "  admin_api: true\n"
         "  poll_interval_ms: 5\n"
         "  backoff_initial_ms: 1\n"
         "  backoff_max_ms: 5\n" +
         extra_dispatch +
         "  subscriptions:\n"
         "    enabled: true\n"
         "    poll_interval_ms: 10\n"
         "    allow_plain_http: true\n"
         "    min_heartbeat_s: 1\n";
}

std::string subscription(const std::string& criteria, const std::string& endpoint, const std::string& channel_extra = "",
                         const std::string& status = "requested") {
  return R"({"resourceType":"Subscription","status":")" + status + R"(","reason":"test","criteria":")" + criteria +
         R"(","channel":{"type":"rest-hook","endpoint":")" + endpoint + R"(")" + channel_extra + "}}";
}

void addPatients(const ServedNode& node) {
  for (const char* id : {"p1", "p2"}) {
    ASSERT_EQ(node.put(std::string("/Patient/") + id, R"({"resourceType":"Patient","id":")" + std::string(id) + "\"}").status, 201);
  }
}
std::string plan(const std::string& id, const std::string& patient, const std::string& status = "active") {
  return R"({"resourceType":"CarePlan","id":")" + id + R"(","status":")" + status +
         R"(","intent":"plan","subject":{"reference":"Patient/)" + patient + R"("}})";
}
std::string goal(const std::string& id, const std::string& patient) {
  return R"({"resourceType":"Goal","id":")" + id +
         R"(","lifecycleStatus":"active","description":{"text":"walk"},"subject":{"reference":"Patient/)" + patient +
         R"("}})";
}

std::vector<ReceivedRequest> notifications(const TestReceiver& receiver) {
  std::vector<ReceivedRequest> out;
  for (auto& r : receiver.accepted()) {
    if (!r.headers.contains("x-subscription-ping")) out.push_back(r);
  }
  return out;
}

std::string issuePath(const HttpResult& r) {
  const fhir::JsonValue* issues = r.root().find("issue");
  if (issues == nullptr || issues->size() == 0) return {};
  std::string out;
  for (const fhir::JsonValue& i : issues->items()) {
    if (const fhir::JsonValue* e = i.find("expression")) {
      for (const fhir::JsonValue& x : e->items()) out += std::string(x.text()) + ";";
    }
    if (const fhir::JsonValue* l = i.find("location")) {
      for (const fhir::JsonValue& x : l->items()) out += std::string(x.text()) + ";";
    }
  }
  return out;
}

TEST(SubscriptionServe, ACreatedSubscriptionShakesHandsThenNotifiesWhatItsCriteriaMatch) {
  TestReceiver receiver;
  ServedNode node(nodeConfig());
  ASSERT_NE(node.port(), 0);
  addPatients(node);
  auto created = node.post("/Subscription", subscription("CarePlan?subject=Patient/p1", receiver.url() + "/hook",
                                                           R"(,"header":["Authorization: Bearer sub-token"])"));
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string id = created.str("id");
  ASSERT_EQ(node.waitForStatus(id, "active"), "active");
  // The handshake: a ping with the credentials, before any notification.
  auto pings = receiver.accepted();
  ASSERT_GE(pings.size(), 1u);
  EXPECT_EQ(pings[0].headers["x-subscription-ping"], "handshake");
  EXPECT_EQ(pings[0].method, "POST");
  EXPECT_EQ(pings[0].headers["authorization"], "Bearer sub-token");

  ASSERT_EQ(node.put("/CarePlan/other", plan("other", "p2")).status, 201);  // another patient: not matched
  ASSERT_EQ(node.put("/Goal/g1", goal("g1", "p1")).status, 201);            // another type: not matched
  ASSERT_EQ(node.put("/CarePlan/plan1", plan("plan1", "p1")).status, 201);
  ASSERT_EQ(node.put("/CarePlan/plan1", plan("plan1", "p1", "completed")).status, 200);
  ASSERT_TRUE(receiver.waitForAccepted(pings.size() + 2));
  auto got = notifications(receiver);
  ASSERT_EQ(got.size(), 2u);
  for (const ReceivedRequest& r : got) {
    EXPECT_EQ(r.method + " " + r.path, "POST /hook");  // R4: no payload → an empty POST to the endpoint
    EXPECT_EQ(r.body, "");
    EXPECT_EQ(r.headers.at("authorization"), "Bearer sub-token");
    EXPECT_FALSE(r.headers.at("idempotency-key").empty());
  }
  EXPECT_NE(got[0].headers.at("idempotency-key"), got[1].headers.at("idempotency-key"));

  // The client turns it off: its subscriber leaves the dispatcher.
  auto stored = node.get("/Subscription/" + id);
  std::string off = stored.body;
  off.replace(off.find("\"active\""), 8, "\"off\"");
  ASSERT_EQ(node.put("/Subscription/" + id, off).status, 200);
  auto metrics = node.getUntil("/metrics", [](const HttpResult& r) {
    return r.body.find("\nplanbro_dispatch_subscribers 0") != std::string::npos;
  });
  EXPECT_NE(metrics.body.find("\nplanbro_dispatch_subscribers 0"), std::string::npos) << metrics.body;
  EXPECT_EQ(node.get("/Subscription/" + id).str("status"), "off");  // the server leaves the client's off alone
}

TEST(SubscriptionServe, IdOnlyAndFullResourcePayloadsAndADeleteThatStopsDelivery) {
  TestReceiver receiver;
  ServedNode node(nodeConfig());
  ASSERT_NE(node.port(), 0);
  addPatients(node);
  const std::string id_only =
      R"(,"payload":"application/fhir+json","_payload":{"extension":[{"url":"http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-payload-content","valueCode":"id-only"}]})";
  auto a = node.post("/Subscription", subscription("Goal", receiver.url() + "/ids", id_only));
  ASSERT_EQ(a.status, 201) << a.body;
  auto b = node.post("/Subscription",
                     subscription("Goal?lifecycle-status=active", receiver.url() + "/fhir", R"(,"payload":"application/fhir+json")"));
  ASSERT_EQ(b.status, 201) << b.body;
  ASSERT_EQ(node.waitForStatus(a.str("id"), "active"), "active");
  ASSERT_EQ(node.waitForStatus(b.str("id"), "active"), "active");
  // The full-resource form's endpoint is a FHIR base: its handshake reads the capability statement.
  bool metadata_read = false;
  for (auto& r : receiver.accepted()) metadata_read |= r.method == "GET" && r.path == "/fhir/metadata";
  EXPECT_TRUE(metadata_read);
  const size_t before = receiver.accepted().size();
  ASSERT_EQ(node.put("/Goal/g1", goal("g1", "p1")).status, 201);
  ASSERT_TRUE(receiver.waitForAccepted(before + 2));
  auto got = notifications(receiver);
  ASSERT_EQ(got.size(), 2u);
  const ReceivedRequest& ids = got[0].path == "/ids" ? got[0] : got[1];
  const ReceivedRequest& full = got[0].path == "/ids" ? got[1] : got[0];
  EXPECT_EQ(ids.method, "POST");
  EXPECT_EQ(ids.body, "");
  EXPECT_NE(ids.headers.at("content-location").find("Goal/g1/_history/1"), std::string::npos);
  EXPECT_EQ(full.method + " " + full.path, "PUT /fhir/Goal/g1");
  EXPECT_NE(full.body.find("\"walk\""), std::string::npos);

  // Deleted: no longer served.
  ASSERT_EQ(node.del("/Subscription/" + a.str("id")).status / 100, 2);
  ASSERT_EQ(node.del("/Subscription/" + b.str("id")).status / 100, 2);
  auto metrics = node.getUntil("/metrics", [](const HttpResult& r) {
    return r.body.find("\nplanbro_dispatch_subscribers 0") != std::string::npos;
  });
  EXPECT_NE(metrics.body.find("\nplanbro_dispatch_subscribers 0"), std::string::npos);
}

TEST(SubscriptionServe, HeartbeatsFollowTheBackportPeriodAndAPassedEndTurnsItOff) {
  TestReceiver receiver;
  ServedNode node(nodeConfig());
  ASSERT_NE(node.port(), 0);
  const std::string heartbeat =
      R"(,"extension":[{"url":"http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-heartbeat-period","valueUnsignedInt":1}])";
  auto beating = node.post("/Subscription", subscription("CarePlan", receiver.url() + "/beat", heartbeat));
  ASSERT_EQ(beating.status, 201) << beating.body;
  ASSERT_EQ(node.waitForStatus(beating.str("id"), "active"), "active");
  // The handshake, then a heartbeat once the period has passed with nothing sent (bounded wait, not a pacing sleep).
  ASSERT_TRUE(receiver.waitForAccepted(2, std::chrono::seconds(30)));
  auto got = receiver.accepted();
  EXPECT_EQ(got[0].headers["x-subscription-ping"], "handshake");
  EXPECT_EQ(got[1].headers["x-subscription-ping"], "heartbeat");
  EXPECT_EQ(got[1].path, "/beat");

  std::string ended = subscription("CarePlan", receiver.url() + "/ended");
  ended.insert(ended.size() - 1, R"(,"end":"2020-01-01T00:00:00Z")");
  auto created = node.post("/Subscription", ended);
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(node.waitForStatus(created.str("id"), "off"), "off");
  for (auto& r : receiver.accepted()) EXPECT_NE(r.path, "/ended");  // never shaken hands with: it had ended
}

TEST(SubscriptionServe, AFailedHandshakeIsAnErrorWithItsReason) {
  TestReceiver receiver;
  receiver.answerFor("/down", 503);
  ServedNode node(nodeConfig());
  ASSERT_NE(node.port(), 0);
  addPatients(node);
  auto created = node.post("/Subscription", subscription("CarePlan", receiver.url() + "/down"));
  ASSERT_EQ(created.status, 201) << created.body;
  auto r = node.getUntil("/Subscription/" + created.str("id"),
                         [](const HttpResult& x) { return x.str("status") == "error"; });
  EXPECT_EQ(r.str("status"), "error");
  EXPECT_NE(r.str("error").find("HTTP 503"), std::string::npos) << r.body;
}

TEST(SubscriptionServe, AReceiverThatKeepsFailingSetsErrorAndARetriedDeadLetterMakesItActiveAgain) {
  TestReceiver receiver;
  ServedNode node(nodeConfig("  max_attempts: 2\n"));
  ASSERT_NE(node.port(), 0);
  addPatients(node);
  auto created = node.post("/Subscription", subscription("CarePlan", receiver.url() + "/hook"));
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string id = created.str("id");
  ASSERT_EQ(node.waitForStatus(id, "active"), "active");
  receiver.answer(500);
  ASSERT_EQ(node.put("/CarePlan/plan1", plan("plan1", "p1")).status, 201);
  auto failed = node.getUntil("/Subscription/" + id, [](const HttpResult& x) { return x.str("status") == "error"; });
  ASSERT_EQ(failed.str("status"), "error");
  EXPECT_NE(failed.str("error").find("HTTP 500"), std::string::npos) << failed.body;

  // The admin API names the Subscription's subscriber (percent-encoded '/'); its dead letter is retried once fixed.
  const std::string name = "Subscription%2F" + id;
  auto letters = node.get("/admin/dispatch/subscribers/" + name + "/dead-letters");
  ASSERT_EQ(letters.status, 200) << letters.body;
  const size_t at = letters.body.find("\"valueDecimal\":");
  ASSERT_NE(at, std::string::npos) << letters.body;
  const std::string position = letters.body.substr(at + 15, letters.body.find_first_of(",}", at) - at - 15);
  receiver.answer(200);
  auto retried = node.post("/admin/dispatch/subscribers/" + name + "/dead-letters/" + position + "/$retry");
  ASSERT_EQ(retried.status, 200) << retried.body;
  auto healed = node.getUntil("/Subscription/" + id, [](const HttpResult& x) { return x.str("status") == "active"; });
  EXPECT_EQ(healed.str("status"), "active");
  EXPECT_EQ(healed.root().find("error"), nullptr);
  auto delivered = notifications(receiver);
  ASSERT_EQ(delivered.size(), 1u);
  EXPECT_EQ(delivered[0].path, "/hook");
}

TEST(SubscriptionServe, WhatTheGatewayCannotServeIsA422WithTheElementPath) {
  ServedNode node(nodeConfig());
  ASSERT_NE(node.port(), 0);
  addPatients(node);
  struct Case {
    std::string body;
    std::string path;
  };
  const std::vector<Case> cases = {
      {R"({"resourceType":"Subscription","status":"requested","reason":"x","criteria":"CarePlan","channel":{"type":"websocket"}})",
       "Subscription.channel.type"},
      {subscription("CarePlan?nope=1", "http://127.0.0.1:9/h"), "Subscription.criteria"},
      {subscription("CarePlan?subject.name=x", "http://127.0.0.1:9/h"), "Subscription.criteria"},
      {subscription("Nope", "http://127.0.0.1:9/h"), "Subscription.criteria"},
      {subscription("CarePlan", "ftp://127.0.0.1:9/h"), "Subscription.channel.endpoint"},
      {subscription("CarePlan", "http://127.0.0.1:9/h", R"(,"payload":"application/xml")"),
       "Subscription.channel.payload"},
      {subscription("CarePlan", "http://127.0.0.1:9/h", R"(,"header":["Host: evil"])"),
       "Subscription.channel.header[0]"},
      {subscription("CarePlan", "http://127.0.0.1:9/h", "", "active"), "Subscription.status"},
  };
  for (const Case& c : cases) {
    auto r = node.post("/Subscription", c.body);
    EXPECT_EQ(r.status, 422) << c.body << "\n" << r.body;
    EXPECT_NE(issuePath(r).find(c.path), std::string::npos) << c.body << "\n" << r.body;
  }
}

TEST(SubscriptionServe, OffUnlessEnabled) {
  ServedNode node("dispatch:\n  poll_interval_ms: 5\n");
  ASSERT_NE(node.port(), 0);
  auto r = node.post("/Subscription", subscription("CarePlan", "https://example.org/h"));
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_NE(r.body.find("dispatch.subscriptions.enabled"), std::string::npos);
}

}  // namespace
}  // namespace planbro::gateway::subscriptions::testing
