#pragma once
// Who may subscribe to what. A Subscription makes the gateway push changes to its endpoint without any further
// request from its creator, so creating or updating one asks the inner policy, for the creator, whether they may
// search every type it would deliver (the R4 criteria's type, or every type of the topic): a client that may not
// search CarePlan cannot subscribe to CarePlan changes (403 naming the type). Every other decision is the inner
// policy's unchanged.

#include <memory>

#include "planbro/gateway/security/access_policy.h"
#include "planbro/gateway/subscriptions/topic.h"

namespace planbro::gateway::subscriptions {

std::shared_ptr<security::AccessPolicy> makeSubscriptionAccessPolicy(std::shared_ptr<security::AccessPolicy> inner,
                                                                     std::shared_ptr<const TopicCatalog> topics);

}  // namespace planbro::gateway::subscriptions
