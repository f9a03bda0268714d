// Every interaction-level access decision becomes an audit record (audit_log.h, makeAuditedPolicy). A permit the
// audit trail cannot take is turned into a refusal: the access would otherwise leave no trace. This runs once per
// request: the record holds the request's shared Principal (a reference count) and short values that fit their
// strings' inline buffers, so recording a read allocates nothing in the common case.
#include "planbro/gateway/security/audit_log.h"

namespace planbro::gateway::security {
namespace {

class AuditedPolicy final : public AccessPolicy {
 public:
  AuditedPolicy(std::shared_ptr<AccessPolicy> inner, std::shared_ptr<AuditSink> sink)
      : inner_(std::move(inner)), sink_(std::move(sink)) {}

  Status permitInteraction(const http::RequestContext& context, const InteractionSubject& s) const override {
    Status decision = inner_->permitInteraction(context, s);
    AuditRecord r;
    r.category = AuditCategory::kAccess;
    r.decision = decision.isOk() ? AuditDecision::kPermit : AuditDecision::kDeny;
    r.outcome = decision.isOk() ? AuditOutcome::kSuccess : AuditOutcome::kMinorFailure;
    r.interaction = std::string(s.interaction);
    r.action = auditActionOf(s.interaction);
    if (!decision.isOk()) r.outcome_text = decision.message();  // names the interaction and type only
    r.principal = context.principal.shared();  // shared with the request, not copied (audit_sink.h)
    r.resource_type = std::string(s.type);
    r.source_system = "rest";
    r.correlation_id = context.request_id;
    r.remote_address = context.remote_address;
    Status recorded = sink_->record(std::move(r));
    if (decision.isOk() && !recorded.isOk()) return recorded;
    return decision;
  }

  Status decide(const http::RequestContext& context, const AccessSubject& subject) const override {
    return inner_->decide(context, subject);
  }
  // Asked on handler threads only: a read an I/O thread starts from memory and then hands to a handler thread
  // (a cache miss) asks the policy again, which would record one access twice.
  bool mayBlock() const override { return true; }

 private:
  std::shared_ptr<AccessPolicy> inner_;
  std::shared_ptr<AuditSink> sink_;
};

}  // namespace

std::shared_ptr<AccessPolicy> makeAuditedPolicy(std::shared_ptr<AccessPolicy> inner, std::shared_ptr<AuditSink> sink) {
  if (!sink) return inner;
  return std::make_shared<AuditedPolicy>(std::move(inner), std::move(sink));
}

}  // namespace planbro::gateway::security
