#pragma once
// The per-plan ordering key of a change: the patient compartment its resource belongs to. Every change of one
// patient's plan (CarePlan, CareTeam, Goal, Consent, ...) gets the same key and so reaches each receiver in commit
// order; changes of different patients are independent.

#include <cstdint>
#include <string>
#include <string_view>

namespace planbro::gateway::dispatch {

/**
 * "Patient/<id>" for a Patient and for a resource whose patient reference (the R4 Patient compartment's parameter
 * for its type: subject, patient, beneficiary, ...) names a local Patient; else "<type>/<id>" (the resource is its
 * own key). `json` is the resource's JSON (for a delete: its last version); empty or unparsable JSON gives the
 * resource's own key.
 */
std::string orderingKey(std::string_view type, std::string_view id, std::string_view json);

/** The partition of `key` among `partitions`: FNV-1a 64, the same on every node and in every version. */
int partitionOf(std::string_view key, int partitions);

}  // namespace planbro::gateway::dispatch
