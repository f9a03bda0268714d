#pragma once
// Internal to the IP rules: how an IP resource is recognised and read (the codes and extensions of planbro's IP
// package, conformance/ip/input/fsh/), dates at day precision, and the rule-violation answer.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "planbro/fhir-model/json.h"
#include "planbro/fhir-model/operation_outcome.h"
#include "planbro/gateway/ip/ip_package.h"
#include "planbro/gateway/store/resource_store.h"

namespace planbro::gateway::ip::internal {


std::string_view textOf(const fhir::JsonValue* v);

/** The value of the first extension of `element` with `url` (null when none). */
const fhir::JsonValue* extensionValue(const fhir::JsonValue& element, std::string_view url, std::string_view value_key);
/** The code of a Coding-valued extension ("" when none). */
std::string_view extensionCode(const fhir::JsonValue& element, std::string_view url);

/** True when some `category[*].coding[*]` has `system` (and `code`, when not empty). */
bool hasCategory(const fhir::JsonValue& resource, std::string_view system, std::string_view code = {});

/** An IP CarePlan: category ip-category#individuell-plan (as the profile's category slice defines it). */
bool isIpCarePlan(const fhir::JsonValue& resource);
/** An IP CareTeam: a category of ip-category (individuell-plan or enkelt-samspill). */
bool isIpCareTeam(const fhir::JsonValue& resource);
/** An IP resource of any of the four types (category of the IP package, or a meta.profile claim of it). */
bool isIpResource(std::string_view type, const fhir::JsonValue& resource);

/** The plan lifecycle code ("" when none). */
std::string_view lifecycleOf(const fhir::JsonValue& plan);
/** Active in the IP sense: not ended, and R4 status not completed, revoked or entered-in-error. */
bool isActivePlan(const fhir::JsonValue& plan);
/** Started («påbegynt») or beyond: started, finished, under-revision. */
bool isStartedOrBeyond(std::string_view lifecycle);

/** The person number (11 digits) of a person-number Identifier (FNR, D-nummer, FHN), else "". */
std::string personNumberOf(const fhir::JsonValue& identifier);
/** The first person number among a Patient's identifiers ("" when none). */
std::string personNumberOfPatient(const fhir::JsonValue& patient);

/** A day, for periods compared at day precision. */
using Day = std::chrono::sys_days;
/** The first (upper: last) day a FHIR date or dateTime can mean: "2003" → 2003-01-01 (2003-12-31). nullopt when
 *  it is not a date. */
std::optional<Day> dayBound(std::string_view date, bool upper);
Day dayOf(store::Timestamp t);
/** True when `period` (null: none) covers `today`: start (when any) on or before it, end (when any) on or after. */
bool periodCovers(const fhir::JsonValue* period, Day today);

/**
 * Adds a rule violation to `outcome` (when given) and returns its Status: `code` (kUnprocessable, or kConflict),
 * issue type `issue_type`, English diagnostics and bokmål details.text each starting with `rule` ("GW-18: ..."),
 * and `expression` (the element, FHIRPath).
 */
Status violation(fhir::OperationOutcome* outcome, StatusCode code, std::string_view issue_type, std::string_view rule,
                 std::string expression, const std::string& english, const std::string& bokmal);

}  // namespace planbro::gateway::ip::internal
