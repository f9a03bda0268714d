#pragma once
// The text forms of a store Timestamp every layer writes: the FHIR instant (meta.lastUpdated, Provenance.recorded,
// notification timestamps, grant periods) and the HTTP-date (Last-Modified). One implementation, tuned because
// every read formats meta.lastUpdated.

#include <string>

#include "planbro/gateway/store/resource_store.h"

namespace planbro::gateway::store {

/** FHIR instant with microseconds, UTC: "2026-11-23T02:42:39.123456Z". */
std::string formatInstant(Timestamp t);
/** RFC 9110 IMF-fixdate: "Mon, 23 Nov 2026 02:42:39 GMT". */
std::string formatHttpDate(Timestamp t);

}  // namespace planbro::gateway::store
