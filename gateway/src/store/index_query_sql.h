#pragma once
// The SQL of ResourceStore::searchIndex: an IndexQuery (AND of OR-groups of predicates) as one parameterised
// statement for either engine. Internal to planbro_store; pure (no I/O), thread-safe.

#include <deque>
#include <string>
#include <vector>

#include "planbro/fhir-model/status.h"
#include "planbro/gateway/store/resource_store.h"
#include "sql_connection.h"

namespace planbro::gateway::store::internal {

/** A statement and its parameters. The parameters view strings of the IndexQuery it was built from and of `owned`,
 *  so the query must outlive it, and it must not be copied (the views into `owned` would dangle). */
struct IndexQuerySql {
  std::string sql;
  std::vector<SqlParam> params;
  std::deque<std::string> owned;  // strings made while building (deque: stable addresses)
  /** Set when a patient-compartment group drives the statement while another group could have: the store may
   *  then try the two-step plan (IndexQueryPlan::compartment_on_row) first. */
  bool compartment_drives_over_another = false;
  /** With compartment_drives_over_another: the query's shape for TwoStepAdvisor (its type, and the parameter and
   *  kind of the group that would drive the first step). */
  std::string two_step_shape;
};

/**
 * How buildIndexQuerySql plans the patient-compartment groups of a query (compartmentPatients: a group that says
 * "in the compartment of one of these patients"). By default such a group drives when it ranks first (its
 * reference index), and is otherwise tested on the resource head row's compartment column (schema 8), falling
 * back to its index rows only where the column does not answer (not computed for the current version, or a
 * resource of no or several patients).
 *
 * With `compartment_on_row` (the first step of the two-step plan): no compartment group drives; another group
 * does, for at most `row_budget` candidate rows (LIMIT), and the statement selects a second column, 1 when the row
 * is in every compartment group and 0 when not, instead of filtering on it. The caller keeps the 1s; if the budget
 * ran out before the page filled, it finishes the page with the default plan after the last candidate seen. So a
 * search whose criterion mostly matches the requester's patients costs what the open search costs, and one where
 * the compartment is the selective side costs at most `row_budget` rows more than the compartment-driven plan.
 */
struct IndexQueryPlan {
  bool compartment_on_row = false;
  size_t row_budget = 0;
};

/** The patients of a patient-compartment group of a query on `type`: every predicate a positive exact reference to
 *  Patient/<id> (type and id, no text) on a parameter of patientCompartmentParams(type), and the group holds every
 *  (parameter, patient) pair of those. Such a group matches exactly the resources in the compartment of one of the
 *  patients, which the head row's compartment column can answer. Empty when the group is not one. */
std::vector<std::string_view> compartmentPatients(std::string_view type, const std::vector<IndexPredicate>& group);

/** The parameters the store answers from the resource head's own columns instead of index rows: `_id` (token,
 *  from res_id) and `_lastUpdated` (date, from last_updated). Rows of these are not written (insertIndexRows);
 *  a predicate on them becomes a condition on the head row, and a lone `_id` group or `_lastUpdated` range drives
 *  the query from the head's primary key or the version history's (type, last_updated) index. */
bool answeredFromHead(std::string_view param, IndexValueKind kind);

/**
 * Builds the statement for `q` (type and page size already checked), selecting the ids of one page plus one (to
 * tell whether more follow). Predicates of a group that differ only in their value become one list lookup (a JSON
 * array in one parameter, `dialect.json_values` / `json_pairs`), so the text does not grow with the list; a group
 * that is one list or one positive predicate may drive the query from the index. Errors: kInvalidArgument for an
 * empty group, a predicate without a parameter code, or a value with a NUL character.
 */
Status buildIndexQuerySql(const Dialect& dialect, const IndexQuery& q, IndexQuerySql& out,
                          const IndexQueryPlan& plan = {});

}  // namespace planbro::gateway::store::internal
