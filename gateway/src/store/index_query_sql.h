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
};

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
Status buildIndexQuerySql(const Dialect& dialect, const IndexQuery& q, IndexQuerySql& out);

}  // namespace planbro::gateway::store::internal
