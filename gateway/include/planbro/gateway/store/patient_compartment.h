#pragma once
// The patient compartment as the store keeps it: which search parameters of a resource type tie a resource to the
// patient it is about, and the one patient a resource's index rows name through them. The consent narrowing
// (security/consent_compartments.cc) and the store's compartment column (docs/store.md, schema 8) both read this
// one table, so the column can never answer a question the narrowing asks differently.

#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "planbro/gateway/store/resource_store.h"

namespace planbro::gateway::store {

/**
 * The search parameters whose references to a Patient put a resource of `type` in that patient's compartment:
 * from the R4 Patient CompartmentDefinition, keeping the parameters that name the resource's own patient (patient,
 * subject, beneficiary, individual) where a type has one, plus Task's `patient` (R4 leaves Task out; the IP
 * workflow uses Task.for). Empty for a type outside the compartment and for Patient (its compartment is its id).
 */
std::span<const std::string_view> patientCompartmentParams(std::string_view type);

/** Every type with patientCompartmentParams, in the table's order (the schema-8 fill walks them). */
std::span<const std::string_view> patientCompartmentTypes();

/**
 * The one patient whose compartment a resource of `type` with index rows `rows` is in: the distinct Patient id
 * of its reference rows (type and id, no text) of patientCompartmentParams(type). nullopt when they name no
 * patient or several (a Provenance of two patients' resources, a Group): those are answered from the index rows.
 */
std::optional<std::string_view> singleCompartmentPatient(std::string_view type, const std::vector<IndexRow>& rows);

}  // namespace planbro::gateway::store
