#pragma once
// The readable individual plan (GW-24): CarePlan.text of an IP CarePlan, generated from the structured data — the
// plan and the Goal, CareTeam and participant resources it references — in plain bokmål. The structured data stays
// the source of truth; a narrative a client sends is never shown (docs/ip-operations.md).

#include <functional>
#include <string>
#include <string_view>

#include "planbro/fhir-model/json.h"

namespace planbro::gateway::ip {

/** Whether `resource` is an IP CarePlan (a CarePlan with the ip-category individuell-plan category). */
bool isIpCarePlan(const fhir::JsonValue& resource);

struct NarrativeSources {
  /** The resource a literal reference ("Goal/x") names, or nullptr when it is unknown or not to be shown. The
   *  returned value must stay valid until planNarrativeXhtml() returns. */
  std::function<const fhir::JsonValue*(std::string_view reference)> resolve;
  /** The display of a code without one in the resource (the package's CodeSystems); empty function or result: the
   *  code is shown. */
  std::function<std::string(std::string_view system, std::string_view code)> display;
  /** "YYYY-MM-DD": which coordinators and contacts are current. */
  std::string today;
};

/**
 * The narrative `div` of `plan`: a well-formed XHTML fragment in the XHTML namespace that uses only the elements
 * and attributes FHIR narrative allows (txt-1, txt-2): the plan's status, period and next revision; the main goal;
 * goals by life domain; the measures in the plan (ip-in-plan not false) with who is responsible, status and next
 * evaluation; the coordinator(s) and the contact list with telecom; the crisis plan as a link. Every text taken
 * from the resources is escaped. Pure; thread-safe.
 */
std::string planNarrativeXhtml(const fhir::JsonValue& plan, const NarrativeSources& sources);

}  // namespace planbro::gateway::ip
