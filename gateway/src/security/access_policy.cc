#include "planbro/gateway/security/access_policy.h"

namespace planbro::gateway::security {
namespace {

class AllowAllPolicy : public AccessPolicy {
 public:
  Status decide(const http::RequestContext&, const AccessSubject&) const override { return Status::ok(); }
  bool mayBlock() const override { return false; }
};

}  // namespace

std::string_view accessActionName(AccessAction action) {
  switch (action) {
    case AccessAction::kRead: return "read";
    case AccessAction::kSearch: return "search";
    case AccessAction::kHistory: return "history";
    case AccessAction::kCreate: return "create";
    case AccessAction::kUpdate: return "update";
    case AccessAction::kDelete: return "delete";
    case AccessAction::kValidate: return "validate";
  }
  return "unknown";
}

std::shared_ptr<AccessPolicy> makeAllowAllPolicy() { return std::make_shared<AllowAllPolicy>(); }

}  // namespace planbro::gateway::security
