#pragma once
// A planbro node as the receiver of another node's topic-based Subscription (docs/dispatch.md, "Another planbro
// node as receiver"): POST /subscription-notifications takes a notification Bundle (notification.h) and applies its
// full-resource entries here, in Bundle order: PUT Type/id with the resource is an update (a version this node holds
// already is unchanged, so a redelivery has no second effect), DELETE Type/id a delete (one already gone is fine).
// Every write goes through the normal write pipeline (validation, references, hooks), recorded with source system
// `subscription-notification` so it is never dispatched back to where it came from by a subscriber that names it.
// Handshakes and heartbeats are answered 200 and change nothing. An id-only entry (no resource) cannot be applied:
// 422, so the sender's Subscription goes to error rather than this node silently missing the change.
//
// Who may: a principal with the configured scope; with no authentication in front, loopback callers only. Other
// paths go to the wrapped handler.

#include <memory>
#include <string>

#include "planbro/gateway/http/handler.h"
#include "planbro/gateway/ops/operations.h"

namespace planbro::gateway::subscriptions {

inline constexpr std::string_view kNotificationReceiverPath = "/subscription-notifications";
inline constexpr std::string_view kNotificationSource = "subscription-notification";

struct NotificationReceiverOptions {
  std::string scope = "system/planbro.subscription-notify";
  size_t max_entries = 100;  // entries after the SubscriptionStatus; more: 422 too-costly
};

/** `operations` must outlive the handler. */
std::shared_ptr<http::RequestHandler> makeNotificationReceiver(ops::Operations& operations,
                                                               NotificationReceiverOptions options,
                                                               std::shared_ptr<http::RequestHandler> next);

}  // namespace planbro::gateway::subscriptions
