#include "planbro/gateway/subscriptions/notification.h"

#include <ctime>
#include <set>

#include "planbro/fhir-model/json.h"
#include "planbro/fhir-model/json_quoted.h"
#include "planbro/gateway/store/time_format.h"

namespace planbro::gateway::subscriptions {
namespace {

constexpr auto jsonText = &fhir::jsonQuoted;

std::string param(std::string_view name, std::string_view value_type, const std::string& json_value) {
  return "{\"name\":" + jsonText(name) + ",\"value" + std::string(value_type) + "\":" + json_value + "}";
}

std::string versionUrl(const NotificationContext& c, const store::OutboxEvent& e) {
  return c.base_url + "/" + e.type + "/" + e.id + "/_history/" + std::to_string(e.version);
}

class NotificationTransport final : public dispatch::Transport {
 public:
  explicit NotificationTransport(NotificationTransportOptions options) : options_(std::move(options)) {
    if (!options_.send) options_.send = &sendPing;
  }
  std::string_view kind() const override { return "rest-hook-notification"; }
  bool needsResource() const override { return options_.context.payload == Payload::kFull; }
  std::vector<dispatch::DeliveryOutcome> deliver(std::span<const dispatch::Delivery> batch) override {
    std::vector<dispatch::DeliveryOutcome> out(batch.size());
    std::set<std::string> failed_keys;
    NotificationContext context = options_.context;
    if (options_.base_url) context.base_url = options_.base_url();
    for (size_t i = 0; i < batch.size(); ++i) {
      const dispatch::Delivery& d = batch[i];
      if (failed_keys.contains(d.ordering_key)) continue;  // kNotAttempted: its key's order holds
      PingRequest request = options_.request;
      request.type = "event-notification";
      request.body = notificationBundleJson(context, "active", "event-notification", &d);
      request.headers.push_back("Idempotency-Key: " + d.idempotency_key);
      Status s = options_.send(request);
      if (s.isOk()) {
        out[i].kind = dispatch::DeliveryOutcome::Kind::kDelivered;
      } else {
        out[i].kind = dispatch::DeliveryOutcome::Kind::kFailed;
        out[i].error = s.message();
        failed_keys.insert(d.ordering_key);
      }
    }
    return out;
  }

 private:
  NotificationTransportOptions options_;
};

}  // namespace

std::string subscriptionStatusJson(const NotificationContext& c, std::string_view status, std::string_view type,
                                   const dispatch::Delivery* event, std::string_view error) {
  std::string p = R"({"resourceType":"Parameters","meta":{"profile":[)" + jsonText(kStatusProfile) + R"(]},"parameter":[)";
  p += param("subscription", "Reference", "{\"reference\":" + jsonText(c.base_url + "/Subscription/" + c.subscription) + "}");
  p += "," + param("topic", "Canonical", jsonText(c.topic_url));
  p += "," + param("status", "Code", jsonText(status));
  p += "," + param("type", "Code", jsonText(type));
  if (event != nullptr) {
    const std::string number = std::to_string(event->event.position);
    p += "," + param("events-since-subscription-start", "String", jsonText(number));
    p += R"(,{"name":"notification-event","part":[)" + param("event-number", "String", jsonText(number)) + "," +
         param("timestamp", "Instant", jsonText(store::formatInstant(event->event.occurred_at)));
    if (c.payload != Payload::kEmpty) {
      p += "," + param("focus", "Reference", "{\"reference\":" + jsonText(versionUrl(c, event->event)) + "}");
    }
    p += "]}";
  }
  if (!error.empty()) {
    p += R"(,{"name":"error","valueCodeableConcept":{"text":)" + jsonText(error) + "}}";
  }
  return p + "]}";
}

std::string notificationBundleJson(const NotificationContext& c, std::string_view status, std::string_view type,
                                   const dispatch::Delivery* event) {
  const bool is_event = type == "event-notification" && event != nullptr;
  std::string b = R"({"resourceType":"Bundle","meta":{"profile":[)" + jsonText(kNotificationProfile) +
                  R"(]},"type":"history")";
  if (is_event) b += ",\"timestamp\":" + jsonText(store::formatInstant(event->event.occurred_at));
  b += R"(,"entry":[{"fullUrl":)" + jsonText(c.base_url + "/Subscription/" + c.subscription + "/$status") +
       ",\"resource\":" + subscriptionStatusJson(c, status, type, is_event ? event : nullptr) +
       R"(,"request":{"method":"GET","url":)" + jsonText("Subscription/" + c.subscription + "/$status") +
       R"(},"response":{"status":"200"}})";
  if (is_event && c.payload != Payload::kEmpty) {
    const store::OutboxEvent& e = event->event;
    const bool deleted = e.kind == store::ChangeKind::kDelete;
    b += ",{\"fullUrl\":" + jsonText(c.base_url + "/" + e.type + "/" + e.id);
    if (c.payload == Payload::kFull && !deleted && event->resource && !event->resource->empty()) {
      b += ",\"resource\":" + *event->resource;
    }
    b += R"(,"request":{"method":)" + jsonText(deleted ? "DELETE" : "PUT") + ",\"url\":" + jsonText(e.type + "/" + e.id) +
         R"(},"response":{"status":)" + jsonText(deleted ? "204" : e.kind == store::ChangeKind::kCreate ? "201" : "200") +
         ",\"etag\":" + jsonText("W/\"" + std::to_string(e.version) + "\"") + "}}";
  }
  return b + "]}";
}

namespace {

std::string notificationEventJson(const NotificationContext& c, const store::OutboxEvent& e) {
  std::string p = R"({"name":"notification-event","part":[)" +
                  param("event-number", "String", jsonText(std::to_string(e.position))) + "," +
                  param("timestamp", "Instant", jsonText(store::formatInstant(e.occurred_at)));
  if (c.payload != Payload::kEmpty) {
    p += "," + param("focus", "Reference", "{\"reference\":" + jsonText(versionUrl(c, e)) + "}");
  }
  return p + "]}";
}

std::string changeEntryJson(const NotificationContext& c, const dispatch::Delivery& d) {
  const store::OutboxEvent& e = d.event;
  const bool deleted = e.kind == store::ChangeKind::kDelete;
  std::string b = "{\"fullUrl\":" + jsonText(c.base_url + "/" + e.type + "/" + e.id);
  if (c.payload == Payload::kFull && !deleted && d.resource && !d.resource->empty()) b += ",\"resource\":" + *d.resource;
  b += R"(,"request":{"method":)" + jsonText(deleted ? "DELETE" : "PUT") + ",\"url\":" + jsonText(e.type + "/" + e.id) +
       R"(},"response":{"status":)" + jsonText(deleted ? "204" : e.kind == store::ChangeKind::kCreate ? "201" : "200") +
       ",\"etag\":" + jsonText("W/\"" + std::to_string(e.version) + "\"") + "}}";
  return b;
}

}  // namespace

std::string eventsBundleJson(const NotificationContext& c, std::string_view status,
                             std::span<const dispatch::Delivery> events, int64_t newest_number,
                             const std::string& next_url) {
  std::string p = R"({"resourceType":"Parameters","meta":{"profile":[)" + jsonText(kStatusProfile) + R"(]},"parameter":[)";
  p += param("subscription", "Reference", "{\"reference\":" + jsonText(c.base_url + "/Subscription/" + c.subscription) + "}");
  p += "," + param("topic", "Canonical", jsonText(c.topic_url));
  p += "," + param("status", "Code", jsonText(status));
  p += "," + param("type", "Code", jsonText("query-event"));
  p += "," + param("events-since-subscription-start", "String", jsonText(std::to_string(newest_number)));
  for (const dispatch::Delivery& d : events) p += "," + notificationEventJson(c, d.event);
  p += "]}";
  std::string b = R"({"resourceType":"Bundle","meta":{"profile":[)" + jsonText(kNotificationProfile) +
                  R"(]},"type":"history",)" +
                  (next_url.empty() ? std::string() : R"("link":[{"relation":"next","url":)" + jsonText(next_url) + "}],") +
                  R"("entry":[{"fullUrl":)" +
                  jsonText(c.base_url + "/Subscription/" + c.subscription + "/$events") + ",\"resource\":" + p +
                  R"(,"request":{"method":"GET","url":)" + jsonText("Subscription/" + c.subscription + "/$events") +
                  R"(},"response":{"status":"200"}})";
  if (c.payload != Payload::kEmpty) {
    for (const dispatch::Delivery& d : events) b += "," + changeEntryJson(c, d);
  }
  return b + "]}";
}

std::shared_ptr<dispatch::Transport> makeNotificationTransport(NotificationTransportOptions options) {
  return std::make_shared<NotificationTransport>(std::move(options));
}

}  // namespace planbro::gateway::subscriptions
