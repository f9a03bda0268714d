// Writing a Subscription needs search access to every type it would deliver, decided by the real scope policy.
#include <gtest/gtest.h>

#include "planbro/gateway/security/auth_filter.h"
#include "planbro/gateway/subscriptions/subscription_access.h"

namespace planbro::gateway::subscriptions {
namespace {

const std::string kTopic =
    R"({"resourceType":"Basic","id":"t","code":{"coding":[{"system":"http://hl7.org/fhir/fhir-types","code":"SubscriptionTopic"}]},)"
    R"("extension":[{"url":"http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.url","valueUri":"http://x/t"},)"
    R"({"url":"http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.resourceTrigger","extension":[)"
    R"({"url":"resource","valueUri":"http://hl7.org/fhir/StructureDefinition/Goal"}]},)"
    R"({"url":"http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.resourceTrigger","extension":[)"
    R"({"url":"resource","valueUri":"http://hl7.org/fhir/StructureDefinition/CarePlan"}]}]})";

Status write(const security::AccessPolicy& policy, const std::string& scopes, const std::string& criteria,
             security::AccessAction action = security::AccessAction::kCreate) {
  http::RequestContext context;
  security::Principal p;
  p.subject = "someone";
  p.kind = security::PrincipalKind::kPractitioner;
  p.scope_set = security::ScopeSet::parse(scopes);
  context.principal = p;
  const std::string json = R"({"resourceType":"Subscription","criteria":")" + criteria + R"("})";
  return policy.decide(context, {action, "Subscription", "s1", json});
}

TEST(SubscriptionAccess, ASubscriptionNeedsSearchAccessToEveryTypeItDelivers) {
  auto topics = TopicCatalog::fromJson({kTopic});
  ASSERT_TRUE(topics.isOk()) << topics.status().message();
  auto policy = makeSubscriptionAccessPolicy(security::makeScopePolicy(), *topics);
  EXPECT_TRUE(write(*policy, "user/Subscription.cu user/Goal.s", "Goal?patient=p1").isOk());
  Status denied = write(*policy, "user/Subscription.cu user/Goal.s", "CarePlan?patient=p1");
  EXPECT_EQ(denied.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(denied.message().find("CarePlan"), std::string::npos);
  EXPECT_EQ(write(*policy, "user/Subscription.cu user/Goal.s", "CarePlan", security::AccessAction::kUpdate).code(),
            StatusCode::kPermissionDenied);
  // A topic delivers every type it triggers on: all of them must be searchable.
  EXPECT_EQ(write(*policy, "user/Subscription.cu user/Goal.s", "http://x/t").code(), StatusCode::kPermissionDenied);
  EXPECT_TRUE(write(*policy, "user/Subscription.cu user/Goal.s user/CarePlan.rs", "http://x/t").isOk());
  // Reading or deleting a Subscription asks nothing more.
  EXPECT_TRUE(write(*policy, "user/Subscription.rd", "CarePlan", security::AccessAction::kRead).isOk());
}

}  // namespace
}  // namespace planbro::gateway::subscriptions
