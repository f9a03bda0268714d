#pragma once
// The IP facts the GW-56 flag needs (ip_flag.h), read from the answer of POST Patient/$ip-status (the one place that
// decides whether a patient has a plan and who coordinates it: gateway/src/ip_read/ip_status.cc). Reading its
// Parameters here keeps the flag from growing a second copy of that logic. Pure.

#include <string_view>

#include "planbro/adapters/plo/ip_flag.h"
#include "planbro/fhir-model/json.h"
#include "planbro/fhir-model/status.h"

namespace planbro::adapters::plo {

/**
 * hasPlan → plan_exists; planStatus active or on-hold → plan_started; the first coordinator's name, first phone
 * ContactPoint and organisation display → coordinator. $ip-status names no HPR-nummer, so `hpr` stays empty.
 * Errors: kInvalidArgument when `parameters` is not a Parameters resource with a boolean hasPlan.
 */
Result<IpFacts> ipFactsFromIpStatus(const fhir::JsonValue& parameters);

/** The same from the JSON text of the answer. */
Result<IpFacts> ipFactsFromIpStatusJson(std::string_view json);

}  // namespace planbro::adapters::plo
