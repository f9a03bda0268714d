#pragma once
// Emergency access («nødtilgang», GW-46): a practitioner outside the plan states a reason and gets time-limited
// read access to one patient's compartment.
//
//   POST [base]/Patient/$emergency-access   Parameters: identifier (valueIdentifier: the patient's fødselsnummer,
//                                            D-nummer or FH-nummer), reason (valueString, mandatory)
//
// The grant IS its notification: one Communication written through the operations layer (so the outbox carries it
// to the dispatcher like every other change), category planbro access-event#emergency-access, reasonCode
// v3-ActReason#ETREAT with the stated reason, sender the practitioner, subject and recipient the patient, and the
// plan's coordinator(s) as recipients, `sent` the time of the grant. The consent policy reads the grants with the
// entitlement (sender = the practitioner, sent within auth.emergency_access_minutes; a cached entitlement ends at
// the grant's end and with any Communication written), so a grant ends by itself on every node, and every decision
// it permits is reported as kEmergency with purpose of use ETREAT.

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "planbro/gateway/ops/operations.h"
#include "planbro/gateway/rest/operation_registry.h"
#include "planbro/gateway/security/consent_policy.h"
#include "planbro/gateway/store/resource_store.h"

namespace planbro::gateway::security {

inline constexpr std::string_view kAccessEventSystem = "http://planbro.no/fhir/CodeSystem/access-event";
inline constexpr std::string_view kEmergencyAccessCode = "emergency-access";
inline constexpr size_t kMaxEmergencyReasonBytes = 1000;

/** The Patient ids of the emergency-access grants of `practitioners` ("Practitioner/id") that run at `now`. When
 *  `next_change_us` is given, it is lowered to the earliest instant after `now` at which one of the grants read
 *  starts or ends (µs since the epoch), so a cached answer is not used past it. */
Result<std::vector<std::string>> activeEmergencyPatients(store::ResourceStore& store,
                                                         const std::set<std::string>& practitioners,
                                                         store::Timestamp now, int minutes, size_t max_grants,
                                                         int64_t* next_change_us = nullptr);

struct EmergencyAccessOptions {
  store::Clock clock;          // empty: the call's clock
  int minutes = 60;            // auth.emergency_access_minutes
  ops::OperationsOptions operations;  // the write pipeline the grant is written through (the REST layer's)
  AccessDecisionObserver on_access_decision;  // told of each grant (kEmergency, ETREAT)
};

/** The `$emergency-access` operation on Patient, writing over `store` (which must outlive it). */
std::shared_ptr<rest::Operation> makeEmergencyAccessOperation(store::ResourceStore& store,
                                                              EmergencyAccessOptions options);

}  // namespace planbro::gateway::security
