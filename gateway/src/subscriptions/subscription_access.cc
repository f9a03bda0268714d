#include "planbro/gateway/subscriptions/subscription_access.h"

#include <string>
#include <vector>

#include "planbro/fhir-model/json.h"

namespace planbro::gateway::subscriptions {
namespace {

class SubscriptionAccessPolicy final : public security::AccessPolicy {
 public:
  SubscriptionAccessPolicy(std::shared_ptr<security::AccessPolicy> inner, std::shared_ptr<const TopicCatalog> topics)
      : inner_(std::move(inner)), topics_(std::move(topics)) {}

  Status decide(const http::RequestContext& context, const security::AccessSubject& subject) const override {
    RETURN_IF_ERROR(inner_->decide(context, subject));
    const bool writes = subject.action == security::AccessAction::kCreate ||
                        subject.action == security::AccessAction::kUpdate;
    if (!writes || subject.type != "Subscription" || subject.json.empty()) return Status::ok();
    for (const std::string& type : deliveredTypes(subject.json)) {
      if (!inner_->permitInteraction(context, {"search-type", type}).isOk()) {
        return Status(StatusCode::kPermissionDenied,
                      "a Subscription on " + type + " needs search access to " + type);
      }
    }
    return Status::ok();
  }
  Status permitInteraction(const http::RequestContext& context,
                           const security::InteractionSubject& subject) const override {
    return inner_->permitInteraction(context, subject);
  }
  bool mayBlock() const override { return inner_->mayBlock(); }

 private:
  // The types a Subscription delivers: its criteria's type, or its topic's types. What cannot be read here is left
  // to the write hook (which answers it with 422).
  std::vector<std::string> deliveredTypes(std::string_view json) const {
    auto doc = fhir::JsonDocument::parse(std::string(json));
    if (!doc.isOk()) return {};
    const fhir::JsonValue* criteria = doc->root().find("criteria");
    const std::string_view text = criteria ? criteria->text() : std::string_view();
    if (text.starts_with("http://") || text.starts_with("https://")) {
      const Topic* topic = topics_ ? topics_->find(text) : nullptr;
      return topic ? topic->types : std::vector<std::string>{};
    }
    std::string type(text.substr(0, text.find('?')));
    if (type.empty()) return {};
    return {type};
  }

  const std::shared_ptr<security::AccessPolicy> inner_;
  const std::shared_ptr<const TopicCatalog> topics_;
};

}  // namespace

std::shared_ptr<security::AccessPolicy> makeSubscriptionAccessPolicy(std::shared_ptr<security::AccessPolicy> inner,
                                                                     std::shared_ptr<const TopicCatalog> topics) {
  if (!inner) inner = security::makeAllowAllPolicy();
  return std::make_shared<SubscriptionAccessPolicy>(std::move(inner), std::move(topics));
}

}  // namespace planbro::gateway::subscriptions
