#pragma once
// `Subscription/{id}/$events` (R5 Backport IG, GET or POST; parameters eventsSinceNumber, eventsUntilNumber, content):
// the events a subscriber may have missed, read again from the outbox. A `history` Bundle led by a SubscriptionStatus
// of type `query-event`, one notification-event per change, numbered as the notifications were (the outbox
// position), with the changes' entries per `content` (empty | id-only | full-resource; default: the Subscription's
// payload). Only changes the Subscription would have been sent: its types and criteria, and the dispatcher's access
// policy for it as its creator (creator.h), so a hidden change is neither listed nor counted. Bounded: at most
// max_events events and max_scanned outbox changes looked at per answer; what is left is behind a `next` link. A
// number beyond the newest event, below 1, or an until before the since answers 400 with the parameter named. A
// Subscription the caller may not read is answered as if it did not exist.

#include <cstddef>
#include <memory>
#include <string>

#include "planbro/fhir-model/status.h"
#include "planbro/gateway/dispatch/access_policy.h"
#include "planbro/gateway/rest/operation_registry.h"
#include "planbro/gateway/subscriptions/subscription.h"

namespace planbro::gateway::subscriptions {

/** planbro's OperationDefinition of $events (conformance/ip, served with the package); its base is the IG's. */
inline constexpr std::string_view kEventsOperationUrl = "http://planbro.no/fhir/OperationDefinition/subscription-events";

struct EventsOptions {
  size_t max_events = 100;     // dispatch.subscriptions.events_max_count: events in one answer
  size_t max_scanned = 10000;  // dispatch.subscriptions.events_max_scanned: outbox changes looked at per answer
  /** What the Subscriptions are read with (the topics among it), and the outbound access policy (null: every
   *  event passes, as in a deployment without access control). Set before the server serves. */
  SubscriptionPolicy policy;
  std::shared_ptr<const dispatch::AccessPolicy> access;
  std::string own_base_url;
};

/** The operation; `options` is read on every call and must be complete before the server serves. */
std::shared_ptr<const rest::Operation> makeEventsOperation(std::shared_ptr<const EventsOptions> options);

}  // namespace planbro::gateway::subscriptions
