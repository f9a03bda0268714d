#include "planbro/gateway/subscriptions/notification_receiver.h"

#include <spdlog/spdlog.h>

#include "planbro/fhir-model/json.h"
#include "planbro/fhir-model/operation_outcome.h"

namespace planbro::gateway::subscriptions {
namespace {

std::string_view textOf(const fhir::JsonValue* v) { return v ? v->text() : std::string_view(); }

http::Response answer(int status, const fhir::OperationOutcome& outcome) {
  http::Response r;
  r.status = status;
  r.headers.set("Content-Type", "application/fhir+json");
  r.body = outcome.toJson();
  return r;
}

http::Response invalid(int status, std::string_view code, const std::string& location, const std::string& message) {
  fhir::OperationOutcome o;
  o.add(fhir::Severity::kError, std::string(code), message, location);
  return answer(status, o);
}

// The SubscriptionStatus's `type` (handshake, heartbeat, event-notification, ...), or "".
std::string_view notificationType(const fhir::JsonValue& status) {
  const fhir::JsonValue* params = status.find("parameter");
  if (params == nullptr) return {};
  for (const fhir::JsonValue& p : params->items()) {
    if (textOf(p.find("name")) == "type") return textOf(p.find("valueCode"));
  }
  return {};
}

class NotificationReceiver final : public http::RequestHandler {
 public:
  NotificationReceiver(ops::Operations& operations, NotificationReceiverOptions options,
                       std::shared_ptr<http::RequestHandler> next)
      : operations_(operations), options_(std::move(options)), next_(std::move(next)) {}

  std::optional<http::Response> handleWithoutBlocking(const http::Request& request,
                                                      http::RequestContext& context) override {
    if (request.path == kNotificationReceiverPath) return std::nullopt;
    return next_ ? next_->handleWithoutBlocking(request, context) : std::nullopt;
  }

  http::Response handle(const http::Request& request, http::RequestContext& context) override {
    if (request.path != kNotificationReceiverPath) {
      return next_ ? next_->handle(request, context) : http::outcomeResponse(404, "not-found", "no such path");
    }
    context.interaction = "subscription-notification";
    if (request.method != "POST") return http::outcomeResponse(405, "not-supported", "POST a notification Bundle");
    if (Status allowed = authorize(context); !allowed.isOk()) return http::outcomeResponse(allowed);
    auto doc = fhir::JsonDocument::parse(request.body);
    if (!doc.isOk()) return invalid(400, "structure", "Bundle", "not JSON: " + doc.status().message());
    const fhir::JsonValue& bundle = doc->root();
    if (textOf(bundle.find("resourceType")) != "Bundle" || textOf(bundle.find("type")) != "history") {
      return invalid(422, "invalid", "Bundle.type", "a notification is a Bundle of type history");
    }
    const fhir::JsonValue* entries = bundle.find("entry");
    const fhir::JsonValue* status = entries && entries->size() > 0 ? entries->items()[0].find("resource") : nullptr;
    if (status == nullptr || textOf(status->find("resourceType")) != "Parameters") {
      return invalid(422, "invalid", "Bundle.entry[0].resource", "the first entry must be the SubscriptionStatus");
    }
    const std::string_view type = notificationType(*status);
    if (type == "handshake" || type == "heartbeat") {
      fhir::OperationOutcome ok;
      ok.add(fhir::Severity::kInformation, "informational", std::string(type) + " received");
      return answer(200, ok);
    }
    if (type != "event-notification") {
      return invalid(422, "invalid", "Bundle.entry[0].resource.parameter('type')",
                     "type must be handshake, heartbeat or event-notification");
    }
    if (entries->size() - 1 > options_.max_entries) {
      return invalid(422, "too-costly", "Bundle.entry",
                     "more than " + std::to_string(options_.max_entries) + " entries in one notification");
    }
    ops::WriteContext write;
    write.source_system = std::string(kNotificationSource);
    write.actor = context.principal ? context.principal->subject : std::string();
    write.correlation_id = context.request_id;
    for (size_t i = 1; i < entries->size(); ++i) {
      const fhir::JsonValue& entry = entries->items()[i];
      const std::string at = "Bundle.entry[" + std::to_string(i) + "]";
      const fhir::JsonValue* req = entry.find("request");
      const std::string_view method = textOf(req ? req->find("method") : nullptr);
      const std::string_view url = textOf(req ? req->find("url") : nullptr);
      const size_t slash = url.find('/');
      if (slash == std::string_view::npos || slash == 0 || slash + 1 == url.size() ||
          url.find_first_of("/?#", slash + 1) != std::string_view::npos) {
        return invalid(422, "invalid", at + ".request.url", "must be Type/id");
      }
      const std::string resource_type(url.substr(0, slash));
      const std::string id(url.substr(slash + 1));
      fhir::OperationOutcome outcome;
      Status s;
      if (method == "PUT") {
        const fhir::JsonValue* resource = entry.find("resource");
        if (resource == nullptr) {
          return invalid(422, "not-supported", at + ".resource",
                         "an id-only notification cannot be applied here; subscribe with full-resource content");
        }
        s = operations_.update(write, resource_type, id, *resource, std::nullopt, &outcome).status();
      } else if (method == "DELETE") {
        s = operations_.remove(write, resource_type, id, std::nullopt, &outcome).status();
        if (s.code() == StatusCode::kNotFound || s.code() == StatusCode::kGone) s = Status::ok();
      } else {
        return invalid(422, "invalid", at + ".request.method", "must be PUT or DELETE");
      }
      if (!s.isOk()) {
        if (outcome.issues().empty()) outcome.add(fhir::Severity::kError, "processing", s.message(), at);
        spdlog::warn("subscription notification: {} {} not applied: {}", method, url, s.message());
        return answer(fhir::httpStatusFor(s.code()), outcome);
      }
    }
    fhir::OperationOutcome ok;
    ok.add(fhir::Severity::kInformation, "informational",
           "applied " + std::to_string(entries->size() - 1) + " entries");
    return answer(200, ok);
  }

 private:
  Status authorize(const http::RequestContext& context) const {
    if (context.principal) {
      for (const std::string& scope : context.principal->scopes) {
        if (scope == options_.scope) return Status::ok();
      }
      return Status(StatusCode::kPermissionDenied, "subscription notifications need the scope " + options_.scope);
    }
    const std::string& a = context.remote_address;
    if (a == "127.0.0.1" || a == "::1" || a == "::ffff:127.0.0.1") return Status::ok();
    return Status(StatusCode::kPermissionDenied,
                  "subscription notifications are taken from loopback callers only while no authentication is configured");
  }

  ops::Operations& operations_;
  const NotificationReceiverOptions options_;
  std::shared_ptr<http::RequestHandler> next_;
};

}  // namespace

std::shared_ptr<http::RequestHandler> makeNotificationReceiver(ops::Operations& operations,
                                                               NotificationReceiverOptions options,
                                                               std::shared_ptr<http::RequestHandler> next) {
  return std::make_shared<NotificationReceiver>(operations, std::move(options), std::move(next));
}

}  // namespace planbro::gateway::subscriptions
