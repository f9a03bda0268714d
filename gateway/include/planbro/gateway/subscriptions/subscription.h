#pragma once
// An R4 Subscription resource read into what delivery needs (docs/dispatch.md, "Subscriptions"), and the write hook
// that holds every stored Subscription to it: a Subscription the gateway cannot serve is rejected at write time with
// 422 and the element path, never stored to fail later.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "planbro/fhir-model/json.h"
#include "planbro/fhir-model/operation_outcome.h"
#include "planbro/fhir-model/status.h"
#include "planbro/gateway/ops/write_pipeline.h"
#include "planbro/gateway/security/principal.h"
#include "planbro/gateway/store/resource_store.h"
#include "planbro/gateway/subscriptions/criteria.h"
#include "planbro/gateway/subscriptions/topic.h"

namespace planbro::gateway::subscriptions {

/** The source system of the gateway's own Subscription writes (status, error): only it may set active / error. */
inline constexpr std::string_view kSubscriptionsSource = "subscriptions";

/** The backport IG's extensions this gateway reads. */
inline constexpr std::string_view kHeartbeatPeriodUrl =
    "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-heartbeat-period";
inline constexpr std::string_view kPayloadContentUrl =
    "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-payload-content";
inline constexpr std::string_view kFilterCriteriaUrl =
    "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-filter-criteria";

/** What a notification carries. R4: no channel.payload → no body; a payload mime type → the full resource. The
 *  backport's payload-content extension on channel.payload chooses id-only or empty as well. */
enum class Payload { kEmpty, kIdOnly, kFull };

struct SubscriptionSpec {
  std::string id;
  int64_t version = 0;
  std::string status;               // requested | active | error | off
  std::string criteria_text;
  Criteria criteria;  // R4 form: `Type?params`
  /** Topic-based form (Backport IG): the topic Subscription.criteria names, and its filter criteria
   *  (backport-filter-criteria on _criteria, `Type?params` each, ANDed per type). Notifications are Bundles. */
  std::optional<Topic> topic;
  std::vector<Criteria> filters;
  std::string endpoint;
  Payload payload = Payload::kEmpty;
  std::vector<std::string> headers;  // "Name: value" (credentials: never logged)
  std::optional<store::Timestamp> end;
  std::optional<std::chrono::seconds> heartbeat_period;
  /** Who created it (creator.h): every event is checked against what the patient's consent lets them see. Never
   *  null after readSubscription (kind kUnknown when none is recorded: nothing of any patient). */
  std::shared_ptr<const security::Principal> creator;
  /** What delivery depends on (criteria, channel): a change of it replaces the subscriber, a status change does not. */
  std::string fingerprint;
};

/** What this deployment accepts of a Subscription (config `dispatch.subscriptions.*`). */
struct SubscriptionPolicy {
  bool enabled = false;                      // off: every Subscription write is 422
  bool allow_plain_http = false;             // http:// endpoints (loopback tests, closed networks)
  std::vector<std::string> allowed_endpoints;  // endpoint prefixes; empty: any https:// endpoint
  size_t max_headers = 10;
  size_t max_header_bytes = 4096;
  std::chrono::seconds min_heartbeat{10};
  CriteriaLimits criteria;
  /** The gateway's topics (topic-based Subscriptions name one); null: topic-based Subscriptions are 422. */
  std::shared_ptr<const TopicCatalog> topics;
  size_t max_filters = 10;  // backport-filter-criteria entries
};

/**
 * Reads `resource` (a Subscription). Errors: kUnprocessable with the element path in the message, and an issue with
 * that location added to `outcome` when given: a channel other than rest-hook, criteria parseCriteria rejects, an
 * endpoint the policy does not allow, a payload mime type other than FHIR JSON, a malformed header or end, a
 * heartbeat period below the policy's minimum.
 */
Result<SubscriptionSpec> readSubscription(const fhir::JsonValue& resource, const SubscriptionPolicy& policy,
                                          fhir::OperationOutcome* outcome = nullptr);

/**
 * `on_written` (optional) is called when a Subscription version was written, before the commit: the manager is woken
 * by it so a new Subscription is served at once rather than at the next poll.
 *
 * The write hook on Subscription: every create and update must read (readSubscription); clients may set the status
 * to `requested` or `off` or keep the stored one, while `active` and `error` are the gateway's to set (its writes
 * come from kSubscriptionsSource). With the policy off every write is rejected.
 */
std::shared_ptr<const ops::TransactionHook> makeSubscriptionWriteHook(SubscriptionPolicy policy,
                                                                     std::function<void()> on_written = {});

/**
 * The write hook on Basic that keeps the gateway's SubscriptionTopics its own: a Basic coded as a SubscriptionTopic,
 * or with a topic's id, is written only by kSubscriptionsSource (the topics seeded from the conformance package at
 * start); a client's create, update or delete of one is 422 naming Basic.code or Basic.id.
 */
std::shared_ptr<const ops::TransactionHook> makeTopicWriteHook(std::shared_ptr<const TopicCatalog> topics);

}  // namespace planbro::gateway::subscriptions
