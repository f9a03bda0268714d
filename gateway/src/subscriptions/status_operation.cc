#include "planbro/gateway/subscriptions/status_operation.h"

#include "planbro/fhir-model/json.h"
#include "planbro/gateway/subscriptions/notification.h"
#include "visible_subscription.h"

namespace planbro::gateway::subscriptions {
namespace {

std::string_view textOf(const fhir::JsonValue* v) { return v ? v->text() : std::string_view(); }

class StatusOperation final : public rest::Operation {
 public:
  std::string_view name() const override { return "status"; }
  rest::OperationLevel level() const override { return rest::OperationLevel::kInstance; }
  std::string_view resourceType() const override { return "Subscription"; }
  bool allowsGet() const override { return true; }
  std::string_view definitionUrl() const override { return kStatusOperationUrl; }

  Result<rest::OperationResult> invoke(const rest::OperationCall& call, fhir::OperationOutcome&) const override {
    const std::string id(call.id);
    ASSIGN_OR_RETURN(fhir::JsonDocument doc, detail::readVisibleSubscription(call));
    NotificationContext context;
    context.base_url = call.base;
    context.subscription = id;
    context.topic_url = std::string(textOf(doc.root().find("criteria")));
    const std::string status_json =
        subscriptionStatusJson(context, textOf(doc.root().find("status")), "query-status", nullptr,
                               textOf(doc.root().find("error")));
    std::string bundle = R"({"resourceType":"Bundle","type":"searchset","total":1,"entry":[{"fullUrl":)";
    fhir::writeJsonString(call.base + "/Subscription/" + id + "/$status", bundle);
    bundle += R"(,"resource":)" + status_json + R"(,"search":{"mode":"match"}}]})";
    return rest::OperationResult{200, std::move(bundle)};
  }
};

}  // namespace

Status registerStatusOperation(rest::OperationRegistry& registry) {
  return registry.add(std::make_shared<StatusOperation>());
}

}  // namespace planbro::gateway::subscriptions
