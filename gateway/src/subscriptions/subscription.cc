#include "planbro/gateway/subscriptions/subscription.h"

#include <algorithm>
#include <cctype>

#include "planbro/gateway/search/indexer.h"
#include "planbro/gateway/security/scopes.h"
#include "planbro/gateway/subscriptions/creator.h"

namespace planbro::gateway::subscriptions {
namespace {

Status reject(fhir::OperationOutcome* outcome, const std::string& location, const std::string& message,
              std::string_view issue_code = "business-rule") {
  if (outcome) outcome->add(fhir::Severity::kError, std::string(issue_code), message, location);
  return Status(StatusCode::kUnprocessable, location + ": " + message);
}

std::string_view textOf(const fhir::JsonValue* v) { return v ? v->text() : std::string_view(); }

const fhir::JsonValue* extension(const fhir::JsonValue* element, std::string_view url) {
  if (element == nullptr) return nullptr;
  const fhir::JsonValue* list = element->find("extension");
  if (list == nullptr) return nullptr;
  for (const fhir::JsonValue& e : list->items()) {
    if (textOf(e.find("url")) == url) return &e;
  }
  return nullptr;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

bool hasLineBreak(std::string_view s) { return s.find_first_of("\r\n") != std::string_view::npos; }

// Headers the transport sets itself: a Subscription must not override them.
bool reservedHeader(std::string_view name) {
  static constexpr std::string_view kReserved[] = {"host",       "content-length", "content-type", "idempotency-key",
                                                   "transfer-encoding", "expect",  "connection",   "content-location"};
  const std::string n = lower(name);
  return std::find(std::begin(kReserved), std::end(kReserved), n) != std::end(kReserved);
}

class SubscriptionWriteHook final : public ops::TransactionHook {
 public:
  SubscriptionWriteHook(SubscriptionPolicy policy, std::function<void()> on_written)
      : policy_(std::move(policy)), on_written_(std::move(on_written)) {}
  bool watches(std::string_view type) const override { return type == "Subscription"; }
  Result<fhir::JsonValue> stamp(fhir::JsonDocument& doc, std::string_view, const fhir::JsonValue& proposed,
                                const ops::WriteOrigin& origin) const override {
    return stampCreator(doc, proposed, origin);
  }
  Result<ops::KeyChanges> keysInTransaction(ops::HookContext& context, const ops::PreparedWrite&,
                                            const fhir::JsonValue* current,
                                            const fhir::JsonValue* proposed) const override {
    if (proposed == nullptr) return ops::KeyChanges{};  // a delete stops delivery; always allowed
    if (!policy_.enabled) {
      return reject(context.outcome, "Subscription",
                    "Subscriptions are not enabled on this server (dispatch.subscriptions.enabled)", "not-supported");
    }
    ASSIGN_OR_RETURN(SubscriptionSpec spec, readSubscription(*proposed, policy_, context.outcome));
    if (context.origin.source_system != kSubscriptionsSource) {
      const std::string_view stored = current ? textOf(current->find("status")) : std::string_view();
      if (spec.status != "requested" && spec.status != "off" && spec.status != stored) {
        return reject(context.outcome, "Subscription.status",
                      "a client may set the status to requested or off; '" + spec.status + "' is set by the server");
      }
    }
    return ops::KeyChanges{};
  }

  Status written(ops::HookContext&, const ops::PreparedWrite&, const store::WriteResult&, const fhir::JsonValue*,
                 const fhir::JsonValue*) const override {
    if (on_written_) on_written_();
    return Status::ok();
  }

 private:
  const SubscriptionPolicy policy_;
  const std::function<void()> on_written_;
};

class TopicWriteHook final : public ops::TransactionHook {
 public:
  explicit TopicWriteHook(std::shared_ptr<const TopicCatalog> topics) : topics_(std::move(topics)) {}
  bool watches(std::string_view type) const override { return type == "Basic"; }
  Result<ops::KeyChanges> keysInTransaction(ops::HookContext& context, const ops::PreparedWrite&,
                                            const fhir::JsonValue* current,
                                            const fhir::JsonValue* proposed) const override {
    if (context.origin.source_system == kSubscriptionsSource) return ops::KeyChanges{};
    for (const fhir::JsonValue* v : {current, proposed}) {
      if (v == nullptr) continue;
      if (isTopicBasic(*v)) {
        return reject(context.outcome, "Basic.code", "SubscriptionTopics are the server's own (read-only)", "forbidden");
      }
      if (topics_ && topics_->hasId(textOf(v->find("id")))) {
        return reject(context.outcome, "Basic.id", "this id is a SubscriptionTopic of the server (read-only)", "forbidden");
      }
    }
    return ops::KeyChanges{};
  }

 private:
  const std::shared_ptr<const TopicCatalog> topics_;
};

}  // namespace

std::shared_ptr<const ops::TransactionHook> makeTopicWriteHook(std::shared_ptr<const TopicCatalog> topics) {
  return std::make_shared<TopicWriteHook>(std::move(topics));
}

Result<SubscriptionSpec> readSubscription(const fhir::JsonValue& resource, const SubscriptionPolicy& policy,
                                          fhir::OperationOutcome* outcome) {
  SubscriptionSpec spec;
  spec.id = std::string(textOf(resource.find("id")));
  spec.status = std::string(textOf(resource.find("status")));
  if (spec.status != "requested" && spec.status != "active" && spec.status != "error" && spec.status != "off") {
    return reject(outcome, "Subscription.status", "must be requested, active, error or off", "value");
  }
  const fhir::JsonValue* channel = resource.find("channel");
  if (channel == nullptr || !channel->isObject()) return reject(outcome, "Subscription.channel", "is required", "required");
  const std::string_view type = textOf(channel->find("type"));
  if (type != "rest-hook") {
    return reject(outcome, "Subscription.channel.type",
                  "channel type '" + std::string(type) + "' is not supported; this server delivers rest-hook only",
                  "not-supported");
  }
  spec.criteria_text = std::string(textOf(resource.find("criteria")));
  if (spec.criteria_text.starts_with("http://") || spec.criteria_text.starts_with("https://")) {
    // The Backport IG's topic-based form: criteria is a SubscriptionTopic canonical.
    const Topic* topic = policy.topics ? policy.topics->find(spec.criteria_text) : nullptr;
    if (topic == nullptr) {
      std::string known;
      if (policy.topics) {
        for (const Topic& t : policy.topics->topics()) known += (known.empty() ? "" : ", ") + t.url;
      }
      return reject(outcome, "Subscription.criteria",
                    "'" + spec.criteria_text + "' is not a SubscriptionTopic of this server" +
                        (known.empty() ? std::string() : " (its topics: " + known + ")"),
                    "not-supported");
    }
    spec.topic = *topic;
    const fhir::JsonValue* criteria_element = resource.find("_criteria");
    const fhir::JsonValue* list = criteria_element ? criteria_element->find("extension") : nullptr;
    size_t i = 0;
    for (const fhir::JsonValue& e : list ? list->items() : std::span<const fhir::JsonValue>()) {
      if (textOf(e.find("url")) != kFilterCriteriaUrl) continue;
      const std::string location =
          "Subscription.criteria.extension('backport-filter-criteria')[" + std::to_string(i++) + "]";
      if (i > policy.max_filters) {
        return reject(outcome, location, "more than " + std::to_string(policy.max_filters) + " filter criteria",
                      "too-costly");
      }
      const std::string_view text = textOf(e.find("valueString"));
      auto filter = parseCriteria(text, policy.criteria);
      if (!filter.isOk()) return reject(outcome, location, filter.status().message(), "invalid");
      auto allowed = topic->filters.find(filter->type);
      if (std::find(topic->types.begin(), topic->types.end(), filter->type) == topic->types.end()) {
        return reject(outcome, location, "the topic has no trigger on " + filter->type, "invalid");
      }
      for (const search::Criterion& c : filter->search.criteria) {
        const std::string name = c.name.substr(0, c.name.find(':'));  // modifiers are the search's own
        if (allowed == topic->filters.end() ||
            std::find(allowed->second.begin(), allowed->second.end(), name) == allowed->second.end()) {
          return reject(outcome, location,
                        "the topic does not allow filtering " + filter->type + " by '" + c.name + "' (canFilterBy)",
                        "invalid");
        }
      }
      spec.fingerprint += std::string(text) + '\n';
      spec.filters.push_back(std::move(filter).value());
    }
  } else {
    auto criteria = parseCriteria(spec.criteria_text, policy.criteria);
    if (!criteria.isOk()) return reject(outcome, "Subscription.criteria", criteria.status().message(), "invalid");
    spec.criteria = std::move(criteria).value();
  }

  spec.endpoint = std::string(textOf(channel->find("endpoint")));
  if (spec.endpoint.empty()) {
    return reject(outcome, "Subscription.channel.endpoint", "a rest-hook needs an endpoint", "required");
  }
  const bool https = spec.endpoint.starts_with("https://");
  const bool http = spec.endpoint.starts_with("http://");
  if (!https && !(http && policy.allow_plain_http)) {
    return reject(outcome, "Subscription.channel.endpoint",
                  policy.allow_plain_http ? "must be an http:// or https:// URL" : "must be an https:// URL", "value");
  }
  if (hasLineBreak(spec.endpoint) || spec.endpoint.find(' ') != std::string::npos) {
    return reject(outcome, "Subscription.channel.endpoint", "contains a space or a line break", "value");
  }
  if (!policy.allowed_endpoints.empty() &&
      std::none_of(policy.allowed_endpoints.begin(), policy.allowed_endpoints.end(),
                   [&](const std::string& prefix) { return spec.endpoint.starts_with(prefix); })) {
    return reject(outcome, "Subscription.channel.endpoint",
                  "this endpoint is not among the receivers this server may deliver to "
                  "(dispatch.subscriptions.allowed_endpoints)",
                  "security");
  }

  const fhir::JsonValue* payload = channel->find("payload");
  const fhir::JsonValue* payload_element = channel->find("_payload");
  if (payload != nullptr) {
    const std::string mime = lower(payload->text());
    if (mime != "application/fhir+json" && mime != "application/json" && mime != "json") {
      return reject(outcome, "Subscription.channel.payload",
                    "payload '" + std::string(payload->text()) + "' is not supported; use application/fhir+json",
                    "not-supported");
    }
    spec.payload = Payload::kFull;
  }
  if (const fhir::JsonValue* content = extension(payload_element, kPayloadContentUrl)) {
    const std::string_view code = textOf(content->find("valueCode"));
    if (code == "full-resource") {
      spec.payload = Payload::kFull;
    } else if (code == "id-only") {
      spec.payload = Payload::kIdOnly;
    } else if (code == "empty") {
      spec.payload = Payload::kEmpty;
    } else {
      return reject(outcome, "Subscription.channel.payload.extension('backport-payload-content')",
                    "must be full-resource, id-only or empty", "value");
    }
  }

  if (const fhir::JsonValue* headers = channel->find("header")) {
    if (headers->size() > policy.max_headers) {
      return reject(outcome, "Subscription.channel.header",
                    "more than " + std::to_string(policy.max_headers) + " headers", "too-costly");
    }
    size_t i = 0;
    for (const fhir::JsonValue& h : headers->items()) {
      const std::string location = "Subscription.channel.header[" + std::to_string(i++) + "]";
      const std::string_view text = h.text();
      const size_t colon = text.find(':');
      if (colon == std::string_view::npos || colon == 0 || hasLineBreak(text) ||
          text.size() > policy.max_header_bytes) {
        return reject(outcome, location, "must be 'Name: value' on one line (at most " +
                                             std::to_string(policy.max_header_bytes) + " bytes)",
                      "value");
      }
      const std::string_view name = text.substr(0, colon);
      if (name.find(' ') != std::string_view::npos || reservedHeader(name)) {
        return reject(outcome, location, "'" + std::string(name) + "' is not a header a Subscription may set", "value");
      }
      spec.headers.emplace_back(text);
    }
  }

  if (const fhir::JsonValue* end = resource.find("end")) {
    auto range = search::parseDateRange(end->text());
    if (!range) return reject(outcome, "Subscription.end", "is not an instant", "value");
    spec.end = store::Timestamp(std::chrono::microseconds(range->low));
  }
  if (const fhir::JsonValue* heartbeat = extension(channel, kHeartbeatPeriodUrl)) {
    const fhir::JsonValue* value = heartbeat->find("valueUnsignedInt");
    int64_t seconds = -1;
    if (value != nullptr && value->isNumber()) {
      const std::string_view t = value->text();
      if (!t.empty() && t.size() < 10 && std::all_of(t.begin(), t.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        seconds = std::stoll(std::string(t));
      }
    }
    if (seconds < policy.min_heartbeat.count()) {
      return reject(outcome, "Subscription.channel.extension('backport-heartbeat-period')",
                    "must be a whole number of seconds, at least " + std::to_string(policy.min_heartbeat.count()),
                    "value");
    }
    spec.heartbeat_period = std::chrono::seconds(seconds);
  }
  spec.fingerprint += spec.criteria_text + '\n' + spec.endpoint + '\n' + std::to_string(static_cast<int>(spec.payload));
  for (const std::string& h : spec.headers) spec.fingerprint += '\n' + h;
  spec.creator = readCreator(resource);
  // Whose access delivery runs under is part of what delivery depends on.
  spec.fingerprint += "\ncreator:" + std::string(security::principalKindName(spec.creator->kind)) + '/' + spec.creator->subject + '/' +
                      spec.creator->client_id + '/' + spec.creator->organization_number + '/' +
                      spec.creator->child_organization_number + '/' + std::to_string(spec.creator->scopes.size());
  return spec;
}

std::shared_ptr<const ops::TransactionHook> makeSubscriptionWriteHook(SubscriptionPolicy policy,
                                                                     std::function<void()> on_written) {
  return std::make_shared<SubscriptionWriteHook>(std::move(policy), std::move(on_written));
}

}  // namespace planbro::gateway::subscriptions
