#pragma once
// Consent enforcement (GW-40…GW-48): who may see which patient's plan, computed from the store on every request,
// and the access policy that narrows every search to it and decides every read, history entry and write on the
// stored version. docs/security.md, "Consent enforcement", has the rules per requester and per resource type.
//
// Entitled patient compartments, by who asks (http::RequestContext::principal):
// - a patient: their own Patient (pid = a Norwegian identifier of the Patient), and every patient for whom an
//   active Consent names them (a RelatedPerson with their pid) as performer: the proxy or guardian (GW-44);
// - a practitioner (HPR number) or a trusted system client (organisation number): every patient whose IP CareTeam
//   has them (Practitioner/… or Organization/…) as a current participant AND whose active sharing Consent permits
//   them (provision.actor names them or their organisation), in its period (by default the plan's period, GW-41),
//   and no nested deny provision names them or their organisation (a reservation, GW-42); plus the patients of an
//   emergency-access grant of theirs that has not run out (GW-46);
// - an auditor: AuditEvent and Provenance only; a KE administrator: CarePlan metadata only (GW-48);
// - anyone else: nothing in a patient compartment.
// Writes land only in entitled compartments, besides starting a plan: health personnel may register a Patient, form
// a patient's first CareTeam with themselves as coordinator, and as its coordinator record Consents and the CarePlan.
// Entitlements are cached per requester identity (entitlement_cache.h) and never answered stale: any committed
// write of a type they are computed from, on any node, and the next period boundary in them end the entry, so a
// withdrawn or expired consent stops sharing with the next request, on every node.

#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "planbro/gateway/security/access_policy.h"
#include "planbro/gateway/store/resource_store.h"

namespace planbro::gateway::security {

/** The patient compartments one requester may see, as computed for one request. */
struct Entitlement {
  enum class Role {
    kNone,         // nothing in a patient compartment
    kCompartments, // the patients below (patient, proxy, plan member, emergency access)
    kAuditor,      // audit resources only
    kKeAdmin,      // plan metadata only
  };
  Role role = Role::kNone;
  std::set<std::string> patients;            // Patient ids visible in full
  std::set<std::string> emergency_patients;  // those of them visible only through an emergency-access grant
  /** Starting a plan (docs/security.md, "Consent enforcement"): the patients whose CareTeam has the requester as a
   *  current coordinator (kodeverk 9034 code 8: they record that patient's consents and plan), and the requester's
   *  own references ("Practitioner/…", "Organization/…") as a CareTeam names them. */
  std::set<std::string> coordinated_patients;
  std::set<std::string> own_references;
  /** The earliest instant (µs since the epoch) at which the passing of time alone may change this entitlement: the
   *  next start or end of a period it was decided on (consent, plan, participant) or of an emergency grant.
   *  INT64_MAX: none. The entitlement cache (entitlement_cache.h) never answers with it from that instant on. */
  int64_t valid_until_us = INT64_MAX;
};

/** One access decision, as an audit sink sees it (consent_policy's onAccessDecision). */
struct AccessDecision {
  enum class Outcome { kPermit, kDeny, kEmergency, kRedact };
  Outcome outcome = Outcome::kPermit;
  std::string_view action;          // accessActionName(), or "search" for a narrowed search, "emergency-access"
  std::string_view type;
  std::string_view id;              // "" for a type-level decision (a search)
  std::string_view purpose_of_use;  // v3 PurposeOfUse code: TREAT, ETREAT, PATRQT, HOPERAT, HOPERAT…
  const Principal* principal = nullptr;  // never null
};
using AccessDecisionObserver = std::function<void(const AccessDecision&)>;

std::string_view accessOutcomeName(AccessDecision::Outcome outcome);

struct ConsentPolicyOptions {
  store::Clock clock;                      // empty: the system clock (tests inject one)
  int emergency_access_minutes = 60;       // auth.emergency_access_minutes: how long a grant lasts
  size_t max_team_entries = 1000;          // CareTeams / Consents / grants read per request (auth.consent_max_entries)
  /** auth.consent_cache_entries: entitlements kept per requester identity between requests (entitlement_cache.h);
   *  0: computed from the store on every request. */
  size_t entitlement_cache_entries = 10000;
  /** auth.consent_compartment_cache_mb (in bytes here): the patient compartments of the resource contents decided
   *  on, kept with those exact bytes (compartment_memo.h); 0: computed for every decision. */
  size_t compartment_cache_bytes = size_t{8} << 20;
  /** Called once per decision (every read, write, history entry, search type); must be thread-safe and quick. */
  AccessDecisionObserver on_access_decision;
};

/** Computes `principal`'s entitlement from `store` (a handful of index queries and reads). */
Result<Entitlement> computeEntitlement(store::ResourceStore& store, const Principal& principal,
                                       const ConsentPolicyOptions& options);

/** The Patient ids the resource (`type`, `json`) belongs to: its patient-compartment references (docs/security.md). */
std::vector<std::string> patientCompartmentsOf(std::string_view type, std::string_view id, std::string_view json);

/** Whether `type` has a patient compartment rule (else it is directory or conformance data, visible to all). */
bool inPatientCompartment(std::string_view type);

/** The predicates a search on `type` needs to stay inside `patients` (one OR-group); empty when none. */
std::vector<store::IndexPredicate> compartmentPredicates(std::string_view type, const std::set<std::string>& patients);

/**
 * The consent policy over `store`, after `inner` (the scope policy: interactions the token's scopes do not permit
 * are refused before consent is looked at). Hidden resources are kNotFound with the same message as a missing one.
 */
std::shared_ptr<AccessPolicy> makeConsentPolicy(store::ResourceStore& store, ConsentPolicyOptions options,
                                                std::shared_ptr<AccessPolicy> inner);

}  // namespace planbro::gateway::security
