#pragma once
// What the IP read operations share: the package's URLs and codes, reading the extensions of an IP CarePlan, and
// reading and searching the store on behalf of the requester (every resource passes the REST layer's access
// decision; one the requester may not see is treated as absent).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "planbro/fhir-model/json.h"
#include "planbro/fhir-model/status.h"
#include "planbro/gateway/ip/ip_package.h"
#include "planbro/gateway/rest/operation_registry.h"
#include "planbro/gateway/store/resource_store.h"

namespace planbro::gateway::ip::detail {


/** The first extension of `element` with `url`, or nullptr. */
const fhir::JsonValue* extensionOf(const fhir::JsonValue& element, std::string_view url);
/** The string member `key` of `value`, or empty. */
std::string_view textOf(const fhir::JsonValue* value, std::string_view key);
/** Whether `resource` has a category coding `system`#`code`. */
bool hasCategory(const fhir::JsonValue& resource, std::string_view system, std::string_view code);
/** The plan lifecycle code (need-reported, ..., ended), or empty. */
std::string_view lifecycleCode(const fhir::JsonValue& care_plan);
/** A plan that is not over: R4 status not completed, revoked or entered-in-error, and lifecycle not ended. */
bool isCurrentPlan(const fhir::JsonValue& care_plan);
/** Whether participant `p` of a CareTeam is a coordinator (kodeverk 9034 code 8) whose period holds `today`. */
bool isCurrentCoordinator(const fhir::JsonValue& participant, std::string_view today);

/** `t`'s calendar date in UTC, "YYYY-MM-DD". */
std::string isoDate(store::Timestamp t);
/** A FHIR date or dateTime ("2026", "2026-09", "2026-09-01T...") as the first day it names, "YYYY-MM-DD"; nullopt
 *  when it is not one. */
std::optional<std::string> firstDay(std::string_view fhir_date);
/** `date` ("YYYY-MM-DD") plus `days` (may be negative). */
std::string addDays(std::string_view date, int days);

/** "Type/id" of a relative literal reference, split; nullopt for anything else (absolute, contained, urn:). */
std::optional<std::pair<std::string, std::string>> splitReference(std::string_view reference);

/** The current version of `type`/`id` when it exists and the requester may read it; nullopt otherwise. Store
 *  failures other than not-found and gone are returned. */
Result<std::optional<store::ResourceVersion>> readVisible(const rest::OperationCall& call, std::string_view type,
                                                          std::string_view id);

/** Every match of the search `type`?`params` the requester may see, page by page; kResourceExhausted when there
 *  are more than `max_matches`. */
Result<std::vector<store::ResourceVersion>> searchVisible(const rest::OperationCall& call, std::string_view type,
                                                          const search::QueryParams& params, size_t max_matches);

/** A HumanName as text: its `text`, else given names and family joined by spaces. */
std::string humanNameText(const fhir::JsonValue* names);

/** Appends `"key":` + the JSON string `value` (with a leading comma when `comma`). */
void appendStringMember(std::string& out, std::string_view key, std::string_view value, bool comma = true);

}  // namespace planbro::gateway::ip::detail
