#pragma once
// Subscription criteria (`Type?params`, R4 Subscription.criteria) evaluated against one changed version with the
// search machinery itself: the criteria are parsed by search::parseSearch (strict) into index predicates, the version
// is indexed by search::indexResource, and the predicates are matched against those rows as the store's index query
// matches them (store/index_query_sql.cc). So a criterion means on a notification exactly what it means on a search,
// and there is no second query language.
//
// Not supported in criteria (kUnprocessable at write time, naming the parameter): chains and _has (they depend on
// other resources, not on the changed version), and result parameters (_count, _sort, _include, _summary, ...).

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "planbro/fhir-model/json.h"
#include "planbro/fhir-model/status.h"
#include "planbro/gateway/dispatch/dispatcher.h"
#include "planbro/gateway/search/search_request.h"

namespace planbro::gateway::subscriptions {

struct Criteria {
  std::string type;              // the resource type before '?'
  search::SearchRequest search;  // its AND-ed criteria (direct predicates only)
};

struct CriteriaLimits {
  size_t max_bytes = 4096;       // the criteria string
  size_t max_parameters = 20;    // parameters after '?'
  size_t max_or_values = 100;    // values of one parameter
};

/**
 * Parses `Type` or `Type?name=value&...` (percent-encoded as in a URL). Errors (kUnprocessable, the message names the
 * parameter): an unknown resource type, a malformed value, an unknown or unsupported parameter or modifier, a chain,
 * _has, a result parameter, more than the limits allow.
 */
Result<Criteria> parseCriteria(std::string_view text, const CriteriaLimits& limits = {});

/** Whether `resource` (a JSON resource of criteria.type) matches every criterion. False for another type. */
bool matches(const Criteria& criteria, const fhir::JsonValue& resource, const std::string& own_base_url = {});

/**
 * The dispatcher's EventFilter for criteria: a create or update passes when the new version matches; a delete passes
 * when the version before it matched (the receiver was told of that one, so it is told it is gone). An event whose
 * version could not be read does not pass.
 */
std::shared_ptr<const dispatch::EventFilter> makeCriteriaFilter(Criteria criteria, std::string own_base_url = {});

/**
 * The EventFilter of a topic-based Subscription's filter criteria: an event passes when every criterion on its type
 * matches (as makeCriteriaFilter decides one); a type no criterion names passes. No criteria: every event passes.
 */
std::shared_ptr<const dispatch::EventFilter> makeFiltersFilter(std::vector<Criteria> filters,
                                                               std::string own_base_url = {});

}  // namespace planbro::gateway::subscriptions
