#pragma once
// `Subscription/{id}/$status` (R5 Backport IG, GET or POST): a searchset Bundle holding the Subscription's
// SubscriptionStatus (type query-status, its status, topic and error). For R4-form Subscriptions the topic is the
// criteria text. A Subscription the caller may not read is answered as if it did not exist.

#include "planbro/fhir-model/status.h"
#include "planbro/gateway/rest/operation_registry.h"

namespace planbro::gateway::subscriptions {

inline constexpr std::string_view kStatusOperationUrl =
    "http://hl7.org/fhir/uv/subscriptions-backport/OperationDefinition/backport-subscription-status";

/** Registers $status on Subscription (instance level). */
Status registerStatusOperation(rest::OperationRegistry& registry);

}  // namespace planbro::gateway::subscriptions
