// Subscription criteria evaluated against one version with the search machinery, and the Subscription resource
// read as the write hook reads it (the 422s with their element paths).
#include <gtest/gtest.h>

#include "planbro/gateway/subscriptions/criteria.h"
#include "planbro/gateway/subscriptions/subscription.h"

namespace planbro::gateway::subscriptions {
namespace {

fhir::JsonDocument parse(const std::string& json) {
  auto doc = fhir::JsonDocument::parse(json);
  EXPECT_TRUE(doc.isOk()) << doc.status().message();
  return std::move(doc).value();
}

bool matchesJson(const std::string& criteria, const std::string& json) {
  auto c = parseCriteria(criteria);
  EXPECT_TRUE(c.isOk()) << criteria << ": " << c.status().message();
  if (!c.isOk()) return false;
  auto doc = parse(json);
  return matches(*c, doc.root());
}

const std::string kPlan =
    R"({"resourceType":"CarePlan","id":"plan1","status":"active","intent":"plan","subject":{"reference":"Patient/p1"},)"
    R"("period":{"start":"2026-01-10"},"category":[{"coding":[{"system":"urn:x","code":"ip"}]}]})";

TEST(Criteria, TheIpTypesMatchByTheirSearchParameters) {
  EXPECT_TRUE(matchesJson("CarePlan?subject=Patient/p1", kPlan));
  EXPECT_TRUE(matchesJson("CarePlan?patient=p1&status=active,draft", kPlan));
  EXPECT_FALSE(matchesJson("CarePlan?subject=Patient/p2", kPlan));
  EXPECT_FALSE(matchesJson("CarePlan?status=completed", kPlan));
  EXPECT_TRUE(matchesJson("CarePlan?category=urn:x|ip", kPlan));
  EXPECT_FALSE(matchesJson("CarePlan?category=urn:y|ip", kPlan));
  EXPECT_TRUE(matchesJson("CarePlan?date=ge2026-01-01", kPlan));
  EXPECT_FALSE(matchesJson("CarePlan?date=lt2025-01-01", kPlan));
  EXPECT_TRUE(matchesJson("CarePlan?status:not=completed", kPlan));
  EXPECT_FALSE(matchesJson("CarePlan?status:not=active", kPlan));
  EXPECT_TRUE(matchesJson("CarePlan", kPlan));
  EXPECT_FALSE(matchesJson("Goal", kPlan));  // another type never matches
  const std::string team =
      R"({"resourceType":"CareTeam","id":"t1","status":"active","subject":{"reference":"Patient/p1"},"name":"Team Ås"})";
  EXPECT_TRUE(matchesJson("CareTeam?patient=Patient/p1&status=active", team));
  EXPECT_FALSE(matchesJson("CareTeam?status=inactive", team));
  const std::string goal = R"({"resourceType":"Goal","id":"g1","lifecycleStatus":"active","description":{"text":"walk"},)"
                           R"("subject":{"reference":"Patient/p1"}})";
  EXPECT_TRUE(matchesJson("Goal?lifecycle-status=active&subject=Patient/p1", goal));
  EXPECT_FALSE(matchesJson("Goal?lifecycle-status=completed", goal));
  const std::string consent = R"({"resourceType":"Consent","id":"c1","status":"active","scope":{"text":"x"},)"
                              R"("category":[{"text":"y"}],"patient":{"reference":"Patient/p1"}})";
  EXPECT_TRUE(matchesJson("Consent?patient=p1&status=active", consent));
  EXPECT_FALSE(matchesJson("Consent?status=rejected", consent));
}

TEST(Criteria, WhatTheyCannotMeanIsRejected) {
  for (const char* bad : {"", "Nope?x=1", "CarePlan?nope=1", "CarePlan?subject.name=x", "CarePlan?_has:Goal:x:y=1",
                          "CarePlan?_count=5", "CarePlan?_sort=date", "CarePlan?_include=CarePlan:subject",
                          "CarePlan?date=notadate", "https://other/fhir/CarePlan?status=active", "CarePlan?status=%zz"}) {
    auto c = parseCriteria(bad);
    ASSERT_FALSE(c.isOk()) << bad;
    EXPECT_EQ(c.status().code(), StatusCode::kUnprocessable) << bad;
  }
  CriteriaLimits tight;
  tight.max_parameters = 2;
  EXPECT_FALSE(parseCriteria("CarePlan?status=active&subject=Patient/p&intent=plan", tight).isOk());
  tight.max_bytes = 10;
  EXPECT_FALSE(parseCriteria("CarePlan?status=active", tight).isOk());
}

std::string subscription(const std::string& channel, const std::string& extra = "") {
  return R"({"resourceType":"Subscription","id":"s1","status":"requested","reason":"test",)"
         R"("criteria":"CarePlan?subject=Patient/p1","channel":)" +
         channel + extra + "}";
}

Result<SubscriptionSpec> read(const std::string& json, fhir::OperationOutcome* outcome = nullptr) {
  auto doc = parse(json);
  SubscriptionPolicy policy;
  policy.enabled = true;
  return readSubscription(doc.root(), policy, outcome);
}

TEST(SubscriptionRead, ARestHookWithPayloadHeadersAndHeartbeat) {
  auto spec = read(subscription(
      R"({"type":"rest-hook","endpoint":"https://r.example/fhir","payload":"application/fhir+json",)"
      R"("header":["Authorization: Bearer abc"],"extension":[{"url":"http://hl7.org/fhir/uv/subscriptions-backport/)"
      R"(StructureDefinition/backport-heartbeat-period","valueUnsignedInt":60}]})",
      R"(,"end":"2030-01-01T00:00:00Z")"));
  ASSERT_TRUE(spec.isOk()) << spec.status().message();
  EXPECT_EQ(spec->payload, Payload::kFull);
  EXPECT_EQ(spec->headers, std::vector<std::string>{"Authorization: Bearer abc"});
  ASSERT_TRUE(spec->heartbeat_period);
  EXPECT_EQ(spec->heartbeat_period->count(), 60);
  ASSERT_TRUE(spec->end);
  EXPECT_EQ(spec->criteria.type, "CarePlan");
  // R4: no payload, no body; the backport extension picks id-only.
  auto empty = read(subscription(R"({"type":"rest-hook","endpoint":"https://r.example/hook"})"));
  ASSERT_TRUE(empty.isOk());
  EXPECT_EQ(empty->payload, Payload::kEmpty);
  auto id_only = read(subscription(
      R"({"type":"rest-hook","endpoint":"https://r.example/hook","payload":"application/fhir+json","_payload":)"
      R"({"extension":[{"url":"http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/)"
      R"(backport-payload-content","valueCode":"id-only"}]}})"));
  ASSERT_TRUE(id_only.isOk()) << id_only.status().message();
  EXPECT_EQ(id_only->payload, Payload::kIdOnly);
}

TEST(SubscriptionRead, EachProblemIsA422WithItsElementPath) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {subscription(R"({"type":"websocket","endpoint":"https://r.example/"})"), "Subscription.channel.type"},
      {subscription(R"({"type":"email","endpoint":"mailto:a@b"})"), "Subscription.channel.type"},
      {subscription(R"({"type":"rest-hook","endpoint":"http://r.example/"})"), "Subscription.channel.endpoint"},
      {subscription(R"({"type":"rest-hook"})"), "Subscription.channel.endpoint"},
      {subscription(R"({"type":"rest-hook","endpoint":"https://r.example/","payload":"application/fhir+xml"})"),
       "Subscription.channel.payload"},
      {subscription(R"({"type":"rest-hook","endpoint":"https://r.example/","header":["NoColon"]})"),
       "Subscription.channel.header[0]"},
      {subscription(R"({"type":"rest-hook","endpoint":"https://r.example/","header":["A: b","Host: x"]})"),
       "Subscription.channel.header[1]"},
      {subscription(R"({"type":"rest-hook","endpoint":"https://r.example/"})", R"(,"end":"soon")"), "Subscription.end"},
      {subscription(R"({"type":"rest-hook","endpoint":"https://r.example/","extension":[{"url":)"
                    R"("http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-heartbeat-period",)"
                    R"("valueUnsignedInt":1}]})"),
       "Subscription.channel.extension('backport-heartbeat-period')"},
  };
  for (const auto& [json, path] : cases) {
    fhir::OperationOutcome outcome;
    auto spec = read(json, &outcome);
    ASSERT_FALSE(spec.isOk()) << json;
    EXPECT_EQ(spec.status().code(), StatusCode::kUnprocessable);
    EXPECT_NE(spec.status().message().find(path), std::string::npos) << spec.status().message();
    EXPECT_NE(outcome.toJson().find(path), std::string::npos) << outcome.toJson();
  }
  auto bad_criteria = read(R"({"resourceType":"Subscription","status":"requested","reason":"x",)"
                           R"("criteria":"CarePlan?nope=1","channel":{"type":"rest-hook","endpoint":"https://r/"}})");
  ASSERT_FALSE(bad_criteria.isOk());
  EXPECT_NE(bad_criteria.status().message().find("Subscription.criteria"), std::string::npos);
  // An allow-list of receivers: anything else is refused.
  auto doc = parse(subscription(R"({"type":"rest-hook","endpoint":"https://evil.example/"})"));
  SubscriptionPolicy policy;
  policy.enabled = true;
  policy.allowed_endpoints = {"https://helsenorge.example/"};
  auto refused = readSubscription(doc.root(), policy);
  ASSERT_FALSE(refused.isOk());
  EXPECT_NE(refused.status().message().find("allowed_endpoints"), std::string::npos);
}

}  // namespace
}  // namespace planbro::gateway::subscriptions
