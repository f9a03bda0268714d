#pragma once
// Notifications of topic-based Subscriptions (R5 Backport IG, R4 form): a Bundle of type `history` whose first
// entry is a Parameters SubscriptionStatus (subscription, topic, status, type, events-since-subscription-start,
// notification-event with event-number, timestamp and focus), then per payload content the changed resources
// (full-resource: the version, or for a delete an entry with request DELETE and no resource; id-only: the entries
// without resources; empty: none). One change per notification Bundle, POSTed to the channel endpoint with the
// channel headers and the dispatcher's Idempotency-Key.
//
// The event number is the change's outbox position: the same on every try, every node and after a restart, and
// increasing in commit order, so a receiver orders and de-duplicates by it. It is not contiguous per Subscription
// (positions of changes the topic or its filters did not select are skipped); events-since-subscription-start
// carries the same number.

#include <chrono>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "planbro/fhir-model/status.h"
#include "planbro/gateway/dispatch/transport.h"
#include "planbro/gateway/subscriptions/ping.h"
#include "planbro/gateway/subscriptions/subscription.h"

namespace planbro::gateway::subscriptions {

inline constexpr std::string_view kNotificationProfile =
    "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription-notification-r4";
inline constexpr std::string_view kStatusProfile =
    "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription-status-r4";

struct NotificationContext {
  std::string base_url;      // this server's absolute base, no trailing '/'
  std::string subscription;  // Subscription id
  std::string topic_url;
  Payload payload = Payload::kIdOnly;
};

/** The Parameters SubscriptionStatus (compact JSON). `event`: the notification-event's change, or null. */
std::string subscriptionStatusJson(const NotificationContext& context, std::string_view status, std::string_view type,
                                   const dispatch::Delivery* event, std::string_view error = {});

/** The notification Bundle (compact JSON) of `type` (handshake | heartbeat | event-notification); `event` is
 *  required for event-notification and ignored otherwise. */
std::string notificationBundleJson(const NotificationContext& context, std::string_view status, std::string_view type,
                                   const dispatch::Delivery* event);

/**
 * The `$events` answer (compact JSON): a `history` Bundle led by a SubscriptionStatus of type `query-event` with one
 * notification-event per change in `events` (numbered by outbox position, as the notifications were), then the
 * changes' entries per `context.payload`. events-since-subscription-start is `newest_number` (the newest event
 * number the server has; 0 when none). `next_url` (optional): a Bundle link `next` to the rest.
 */
std::string eventsBundleJson(const NotificationContext& context, std::string_view status,
                             std::span<const dispatch::Delivery> events, int64_t newest_number,
                             const std::string& next_url = {});

struct NotificationTransportOptions {
  NotificationContext context;
  /** The POST of each notification: endpoint, headers, timeouts, plain http (body and type are set per event). */
  PingRequest request;
  /** This server's base URL now (it is known only once the server listens on port 0); empty: context.base_url. */
  std::function<std::string()> base_url;
  /** Sends one request; empty: sendPing (libcurl). */
  std::function<Status(const PingRequest&)> send;
};

/** The transport of one topic-based Subscription. Items of one ordering key go one after another; after a failure
 *  the later ones of that key are not attempted. */
std::shared_ptr<dispatch::Transport> makeNotificationTransport(NotificationTransportOptions options);

}  // namespace planbro::gateway::subscriptions
