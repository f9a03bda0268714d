#include "planbro/gateway/subscriptions/events_operation.h"

#include <algorithm>
#include <charconv>
#include <optional>
#include <vector>

#include "planbro/fhir-model/json.h"
#include "planbro/gateway/dispatch/dispatcher.h"
#include "planbro/gateway/subscriptions/criteria.h"
#include "planbro/gateway/subscriptions/notification.h"
#include "visible_subscription.h"

namespace planbro::gateway::subscriptions {
namespace {

constexpr size_t kReadBatch = 500;

std::string_view textOf(const fhir::JsonValue* v) { return v ? v->text() : std::string_view(); }

// A parameter from the query or a POSTed Parameters (valueString, valueCode, valueInteger, valueInteger64).
std::optional<std::string> parameter(const rest::OperationCall& call, std::string_view name) {
  if (const std::string* q = call.queryParam(name)) return *q;
  if (call.parameters == nullptr) return std::nullopt;
  const fhir::JsonValue* list = call.parameters->find("parameter");
  for (const fhir::JsonValue& p : list != nullptr ? list->items() : std::span<const fhir::JsonValue>{}) {
    if (textOf(p.find("name")) != name) continue;
    for (const char* key : {"valueString", "valueCode", "valueInteger", "valueInteger64", "valueUnsignedInt",
                            "valuePositiveInt"}) {
      if (const fhir::JsonValue* v = p.find(key)) return std::string(v->text());
    }
  }
  return std::nullopt;
}

Result<std::optional<int64_t>> eventNumber(const rest::OperationCall& call, std::string_view name) {
  std::optional<std::string> text = parameter(call, name);
  if (!text) return std::optional<int64_t>();
  int64_t n = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), n);
  if (ec != std::errc() || end != text->data() + text->size() || n < 1) {
    return Status(StatusCode::kInvalidArgument, std::string(name) + ": an event number is a positive integer");
  }
  return std::optional<int64_t>(n);
}

class EventsOperation final : public rest::Operation {
 public:
  explicit EventsOperation(std::shared_ptr<const EventsOptions> options) : options_(std::move(options)) {}
  std::string_view name() const override { return "events"; }
  rest::OperationLevel level() const override { return rest::OperationLevel::kInstance; }
  std::string_view resourceType() const override { return "Subscription"; }
  bool allowsGet() const override { return true; }
  std::string_view definitionUrl() const override { return kEventsOperationUrl; }

  Result<rest::OperationResult> invoke(const rest::OperationCall& call, fhir::OperationOutcome&) const override {
    const EventsOptions& o = *options_;
    const std::string id(call.id);
    ASSIGN_OR_RETURN(fhir::JsonDocument doc, detail::readVisibleSubscription(call));
    ASSIGN_OR_RETURN(SubscriptionSpec spec, readSubscription(doc.root(), o.policy));

    NotificationContext context;
    context.base_url = call.base;
    context.subscription = id;
    context.topic_url = spec.criteria_text;
    context.payload = spec.payload;
    if (std::optional<std::string> content = parameter(call, "content")) {
      if (*content == "empty") context.payload = Payload::kEmpty;
      else if (*content == "id-only") context.payload = Payload::kIdOnly;
      else if (*content == "full-resource") context.payload = Payload::kFull;
      else return Status(StatusCode::kInvalidArgument, "content: one of empty, id-only, full-resource");
    }

    ASSIGN_OR_RETURN(store::OutboxStats stats, call.store->outboxStats());
    const int64_t newest = stats.newest_position;
    ASSIGN_OR_RETURN(std::optional<int64_t> since_param, eventNumber(call, "eventsSinceNumber"));
    ASSIGN_OR_RETURN(std::optional<int64_t> until_param, eventNumber(call, "eventsUntilNumber"));
    if (since_param && *since_param > newest) {
      return Status(StatusCode::kInvalidArgument, "eventsSinceNumber: no event numbered " +
                                                      std::to_string(*since_param) + " is kept (the newest is " +
                                                      std::to_string(newest) + ")");
    }
    const int64_t until = std::min(until_param.value_or(newest), newest);
    // Without a since: the most recent stretch the scan bound allows.
    const int64_t since = since_param.value_or(std::max<int64_t>(1, until - static_cast<int64_t>(o.max_scanned) + 1));
    if (until_param && *until_param < since) {
      return Status(StatusCode::kInvalidArgument, "eventsUntilNumber: before eventsSinceNumber");
    }

    dispatch::SubscriberSpec subscriber;
    subscriber.name = "Subscription/" + id;
    subscriber.acting_for = spec.creator;
    std::vector<std::string> types = spec.topic ? spec.topic->types : std::vector<std::string>{spec.criteria.type};
    std::shared_ptr<const dispatch::EventFilter> filter = spec.topic ? makeFiltersFilter(spec.filters, o.own_base_url)
                                                                     : makeCriteriaFilter(spec.criteria, o.own_base_url);

    std::vector<dispatch::Delivery> events;
    size_t scanned = 0;
    int64_t cursor = since - 1;
    while (cursor < until && scanned < o.max_scanned && events.size() < o.max_events) {
      const size_t want = std::min(kReadBatch, o.max_scanned - scanned);
      ASSIGN_OR_RETURN(std::vector<store::OutboxEvent> batch, call.store->readOutbox(cursor, want));
      if (batch.empty()) break;
      for (const store::OutboxEvent& e : batch) {
        if (e.position > until || events.size() >= o.max_events) break;
        cursor = e.position;
        ++scanned;
        if (e.type == "AuditEvent" || std::find(types.begin(), types.end(), e.type) == types.end()) continue;
        ASSIGN_OR_RETURN(std::shared_ptr<const std::string> resource, versionOf(call, e));
        if (filter && !filter->matches(e, resource.get())) continue;
        if (o.access && !o.access->mayReceive(subscriber, e, resource.get())) continue;  // not listed, not counted
        dispatch::Delivery d;
        d.event = e;
        if (e.kind != store::ChangeKind::kDelete) d.resource = std::move(resource);
        events.push_back(std::move(d));
      }
      if (batch.back().position > until || batch.size() < want) break;
    }
    std::string next;
    if (cursor < until) {
      // Bounded: the rest is behind a next link from where this answer stopped.
      next = call.base + "/Subscription/" + id + "/$events?eventsSinceNumber=" + std::to_string(cursor + 1) +
             "&eventsUntilNumber=" + std::to_string(until);
    }
    rest::OperationResult result{200, eventsBundleJson(context, spec.status, events, newest, next)};
    if (!next.empty()) result.headers.set("Link", "<" + next + ">; rel=\"next\"");
    return result;
  }

 private:
  // The version the event is about, or for a delete the one before it (what the access policy and filter judge).
  static Result<std::shared_ptr<const std::string>> versionOf(const rest::OperationCall& call, const store::OutboxEvent& e) {
    const int64_t version = e.kind == store::ChangeKind::kDelete ? e.version - 1 : e.version;
    if (version < 1) return std::shared_ptr<const std::string>();
    Result<store::ResourceVersion> read = call.store->vread(e.type, e.id, version);
    if (read.isOk()) return std::make_shared<const std::string>(std::move(read->json));
    if (read.status().code() == StatusCode::kNotFound || read.status().code() == StatusCode::kGone) {
      return std::shared_ptr<const std::string>();
    }
    return read.status();
  }

  const std::shared_ptr<const EventsOptions> options_;
};

}  // namespace

std::shared_ptr<const rest::Operation> makeEventsOperation(std::shared_ptr<const EventsOptions> options) {
  return std::make_shared<EventsOperation>(std::move(options));
}

}  // namespace planbro::gateway::subscriptions
