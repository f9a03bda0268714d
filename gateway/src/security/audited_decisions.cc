// The consent policy's per-resource decisions as audit records (audit_log.h, auditObserverOf): what the
// interaction-level record (audited_policy.cc) cannot know — which resource, and whether it was shown, hidden,
// redacted or opened by emergency access.
#include "planbro/gateway/security/audit_log.h"
#include "planbro/gateway/security/consent_policy.h"

namespace planbro::gateway::security {
namespace {

AuditDecision auditDecisionOf(AccessDecision::Outcome outcome) {
  switch (outcome) {
    case AccessDecision::Outcome::kPermit: return AuditDecision::kPermit;
    case AccessDecision::Outcome::kDeny: return AuditDecision::kDeny;
    case AccessDecision::Outcome::kEmergency: return AuditDecision::kEmergency;
    case AccessDecision::Outcome::kRedact: return AuditDecision::kRedact;
  }
  return AuditDecision::kDeny;
}

}  // namespace

std::function<void(const AccessDecision&)> auditObserverOf(std::shared_ptr<AuditSink> sink) {
  if (!sink) return {};
  return [sink = std::move(sink)](const AccessDecision& d) {
    AuditRecord r;
    r.category = AuditCategory::kAccess;
    r.decision = auditDecisionOf(d.outcome);
    r.outcome = d.outcome == AccessDecision::Outcome::kDeny ? AuditOutcome::kMinorFailure : AuditOutcome::kSuccess;
    r.interaction = std::string(d.action);
    r.action = auditActionOf(d.action);
    if (d.principal) r.who = auditAgentOf(*d.principal);
    r.resource_type = std::string(d.type);
    r.resource_id = std::string(d.id);
    r.purpose_of_use = std::string(d.purpose_of_use);
    r.source_system = "rest";
    (void)sink->record(std::move(r));  // refused when full: see the header
  };
}

}  // namespace planbro::gateway::security
