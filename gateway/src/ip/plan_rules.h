#pragma once
// Internal to the IP rules: the hook on IP CarePlans (GW-01, GW-40/45, GW-18). See planbro/gateway/ip/ip_rules.h.

#include <string>

#include "planbro/gateway/ip/ip_rules.h"

namespace planbro::gateway::ip::internal {

class PlanRulesHook final : public ops::TransactionHook {
 public:
  PlanRulesHook(IpRulesOptions options, MeasureStatusGraph graph);

  bool watches(std::string_view type) const override { return type == "CarePlan"; }
  Result<ops::KeyChanges> keysInTransaction(ops::HookContext& context, const ops::PreparedWrite& write,
                                            const fhir::JsonValue* current,
                                            const fhir::JsonValue* proposed) const override;

 private:
  /** The canonical identity of the plan's patient: the person number (subject.identifier, or the referenced
   *  Patient's), else "Patient/<id>" for a patient without one. 422 when the two name different persons. */
  Result<std::string> patientKey(ops::HookContext& context, const fhir::JsonValue& plan) const;
  Status checkMeasures(fhir::OperationOutcome* outcome, const fhir::JsonValue& current,
                       const fhir::JsonValue& proposed) const;

  IpRulesOptions options_;
  MeasureStatusGraph graph_;
};

}  // namespace planbro::gateway::ip::internal
