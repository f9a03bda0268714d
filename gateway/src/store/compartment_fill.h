#pragma once
// The schema-8 fill: the patient compartment column of resources written before the column existed. Internal to
// planbro_store.

#include <cstddef>
#include <cstdint>

#include "planbro/fhir-model/status.h"
#include "sql_connection.h"

namespace planbro::gateway::store::internal {

/**
 * Computes `resource.patient_compartment` for current resources whose column was never computed
 * (compartment_version 0), from their index rows of the type's compartment parameters (patient_compartment.h),
 * `batch` resources per transaction, so no transaction holds the writer (or row locks) for long on a large store.
 * Each row is written only if it is still at the version read in the same statement as its index rows, and still
 * not computed: a concurrent write (another node, or an older gateway, on PostgreSQL) is never overwritten with a
 * compartment of its previous version. A resource of no or several patients keeps version 0 (its narrowed
 * searches probe its index rows). Safe to stop at any point and to run again. Returns how many rows it set.
 */
Result<int64_t> fillPatientCompartments(SqlConnection& conn, const Dialect& dialect, size_t batch = 500);

}  // namespace planbro::gateway::store::internal
