// The dispatcher's admin API over HTTP against a running `planbro serve`: subscribers listed, dead letters listed
// (paged), inspected, retried and discarded, a subscriber replayed from a position and a time, and every kind of bad
// input answered with a clear 4xx OperationOutcome (unknown subscriber, bad or unknown position, bad query).
#include "../dispatch/test_receiver.h"
#include "served_node.h"

namespace planbro::gateway::subscriptions::testing {
namespace {

using dispatch::testing::TestReceiver;

/** The dead letters' positions in a list answer, in order. */
std::vector<std::string> positions(const HttpResult& r) {
  std::vector<std::string> out;
  const fhir::JsonValue* params = r.root().find("parameter");
  if (params == nullptr) return out;
  for (const fhir::JsonValue& p : params->items()) {
    if (const fhir::JsonValue* parts = p.find("part")) {
      for (const fhir::JsonValue& part : parts->items()) {
        const fhir::JsonValue* name = part.find("name");
        const fhir::JsonValue* value = part.find("valueDecimal");
        if (name && value && name->text() == "position") out.emplace_back(value->text());
      }
    }
  }
  return out;
}

size_t putsOf(const TestReceiver& receiver, const std::string& path) {
  size_t n = 0;
  for (auto& r : receiver.accepted()) n += r.method == "PUT" && r.path == path ? 1 : 0;
  return n;
}

TEST(AdminApiServe, DeadLettersAreListedInspectedRetriedDiscardedAndASubscriberReplayed) {
  TestReceiver receiver;
  receiver.answer(500);
  ServedNode node("dispatch:\n"
                  "  admin_api: true\n"
                  "  poll_interval_ms: 5\n"
                  "  max_attempts: 1\n"
                  "  lease_ttl_ms: 1000\n"  // a replay takes effect at the next lease renewal
                  "  subscribers:\n"
                  "    - name: mirror\n"
                  "      endpoint: " + receiver.url() + "/fhir\n"
                  "      allow_plain_http: true\n"
                  "      start: beginning\n");
  ASSERT_NE(node.port(), 0);
  ASSERT_EQ(node.put("/Patient/p1", R"({"resourceType":"Patient","id":"p1"})").status, 201);
  ASSERT_EQ(node.put("/Patient/p2", R"({"resourceType":"Patient","id":"p2"})").status, 201);
  const std::string base = "/admin/dispatch/subscribers/mirror";
  auto listed = node.getUntil(base + "/dead-letters", [](const HttpResult& r) { return positions(r).size() == 2; });
  ASSERT_EQ(positions(listed).size(), 2u) << listed.body;
  const std::string first = positions(listed)[0], second = positions(listed)[1];

  auto subscribers = node.get("/admin/dispatch/subscribers");
  EXPECT_EQ(subscribers.status, 200);
  EXPECT_NE(subscribers.body.find("\"mirror\""), std::string::npos) << subscribers.body;
  EXPECT_NE(subscribers.body.find(R"("name":"deadLetters","valueDecimal":2)"), std::string::npos) << subscribers.body;

  // Paged: one at a time, the second after the first.
  auto page = node.get(base + "/dead-letters?_count=1");
  EXPECT_EQ(positions(page), std::vector<std::string>{first});
  page = node.get(base + "/dead-letters?after=" + first);
  EXPECT_EQ(positions(page), std::vector<std::string>{second});

  auto inspected = node.get(base + "/dead-letters/" + first);
  ASSERT_EQ(inspected.status, 200) << inspected.body;
  EXPECT_NE(inspected.body.find("Patient/p1/_history/1"), std::string::npos) << inspected.body;
  EXPECT_NE(inspected.body.find("HTTP 500"), std::string::npos) << inspected.body;

  // Fixed receiver: the first is retried and arrives; the second is discarded and never does.
  receiver.answer(200);
  auto retried = node.post(base + "/dead-letters/" + first + "/$retry");
  EXPECT_EQ(retried.status, 200) << retried.body;
  EXPECT_EQ(node.del(base + "/dead-letters/" + second).status, 200);
  ASSERT_TRUE(receiver.waitForAccepted(1));
  auto left = node.getUntil(base + "/dead-letters", [](const HttpResult& r) { return positions(r).empty(); });
  EXPECT_TRUE(positions(left).empty()) << left.body;
  EXPECT_EQ(putsOf(receiver, "/fhir/Patient/p1"), 1u);
  EXPECT_EQ(putsOf(receiver, "/fhir/Patient/p2"), 0u);
  EXPECT_EQ(node.get(base + "/dead-letters/" + second).status, 404);  // discarded: gone

  // Replay from the beginning: both again, in order.
  auto replayed = node.post(base + "/$replay?position=0");
  EXPECT_EQ(replayed.status, 200) << replayed.body;
  ASSERT_TRUE(receiver.waitForAccepted(3));
  EXPECT_EQ(putsOf(receiver, "/fhir/Patient/p1"), 2u);
  EXPECT_EQ(putsOf(receiver, "/fhir/Patient/p2"), 1u);
  EXPECT_EQ(node.post(base + "/$replay?since=2000-01-01T00:00:00Z").status, 200);
}

TEST(AdminApiServe, BadInputIsAClear4xx) {
  ServedNode node("dispatch:\n"
                  "  admin_api: true\n"
                  "  poll_interval_ms: 5\n"
                  "  subscribers:\n"
                  "    - name: mirror\n"
                  "      endpoint: http://127.0.0.1:9/fhir\n"
                  "      allow_plain_http: true\n");
  ASSERT_NE(node.port(), 0);
  // The configured subscriber is in the store once its worker ran a round.
  node.getUntil("/admin/dispatch/subscribers", [](const HttpResult& r) {
    return r.body.find("\"mirror\"") != std::string::npos;
  });
  const std::string mirror = "/admin/dispatch/subscribers/mirror";
  const std::string nobody = "/admin/dispatch/subscribers/nobody";
  struct Case {
    std::string method, target;
    int status;
  };
  const std::vector<Case> cases = {
      {"GET", nobody + "/dead-letters", 404},
      {"GET", nobody + "/dead-letters/1", 404},
      {"POST", nobody + "/dead-letters/1/$retry", 404},
      {"DELETE", nobody + "/dead-letters/1", 404},
      {"POST", nobody + "/$replay?position=0", 404},
      {"GET", "/admin/dispatch/subscribers/%zz/dead-letters", 400},
      {"GET", mirror + "/dead-letters/abc", 400},
      {"GET", mirror + "/dead-letters/-1", 400},
      {"GET", mirror + "/dead-letters/999999", 404},
      {"POST", mirror + "/dead-letters/999999/$retry", 404},
      {"DELETE", mirror + "/dead-letters/999999", 404},
      {"GET", mirror + "/dead-letters?_count=0", 400},
      {"GET", mirror + "/dead-letters?after=x", 400},
      {"POST", mirror + "/$replay", 400},
      {"POST", mirror + "/$replay?position=x", 400},
      {"POST", mirror + "/$replay?since=notadate", 400},
      {"PATCH", mirror + "/dead-letters/1", 405},
      {"GET", mirror + "/nonsense", 404},
  };
  for (const Case& c : cases) {
    auto r = rest::testing::request(node.port(), c.method, c.target);
    EXPECT_EQ(r.status, c.status) << c.method << " " << c.target << "\n" << r.body;
    EXPECT_EQ(r.str("resourceType"), "OperationOutcome") << c.method << " " << c.target << "\n" << r.body;
  }
}

}  // namespace
}  // namespace planbro::gateway::subscriptions::testing
