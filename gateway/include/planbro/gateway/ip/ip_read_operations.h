#pragma once
// The operations that read the individual plan (docs/ip-operations.md):
//   POST [base]/Patient/$ip-status    whether a patient has an IP, its lifecycle status, owner, coordinator with
//                                     contact details, period and next revision (GW-02, GW-04); the patient's
//                                     fødselsnummer / D-nummer in the Parameters body, never in the URL.
//   GET  [base]/CarePlan/$ip-deadlines?withinDays=N
//                                     plans whose revision and measures whose evaluation is due within N days
//                                     (overdue ones included), from the injected clock (GW-25).
// Both register in the REST layer's OperationRegistry; their OperationDefinitions are in the IP package
// (conformance/ip/input/fsh/operations.fsh).

#include <cstddef>
#include <memory>

#include "planbro/fhir-model/status.h"
#include "planbro/gateway/rest/operation_registry.h"

namespace planbro::gateway::ip {

inline constexpr std::string_view kIpStatusDefinition = "http://planbro.no/fhir/OperationDefinition/ip-status";
inline constexpr std::string_view kIpDeadlinesDefinition = "http://planbro.no/fhir/OperationDefinition/ip-deadlines";

struct IpReadOptions {
  /** `ip_read.max_plans_per_patient`: IP CarePlans (any status) one $ip-status may read for one patient; beyond:
   *  422 too-costly. */
  size_t max_plans_per_patient = 100;
  /** `ip_read.deadlines_max_within_days`: the largest withinDays $ip-deadlines accepts; beyond: 400. */
  int deadlines_max_within_days = 366;
  /** `ip_read.deadlines_max_plans`: current IP CarePlans one $ip-deadlines may examine; beyond: 422 too-costly. */
  size_t deadlines_max_plans = 10000;
};

std::shared_ptr<const rest::Operation> makeIpStatusOperation(IpReadOptions options = {});
std::shared_ptr<const rest::Operation> makeIpDeadlinesOperation(IpReadOptions options = {});

/** Registers both. Errors: the registry's (an operation of the same name already there). */
Status registerIpReadOperations(rest::OperationRegistry& registry, IpReadOptions options = {});

}  // namespace planbro::gateway::ip
