#pragma once
// DispatchState over the shared SQL seam (both engines). Internal to planbro_store.

#include <functional>
#include <memory>

#include "planbro/gateway/store/dispatch_state.h"
#include "sql_connection.h"

namespace planbro::gateway::store::internal {

/** A write session as the store hands them out: the SQLite group-commit writer's turn, or a pooled PostgreSQL one. */
using WriteSessionSource = std::function<Result<std::unique_ptr<WriteSession>>()>;

/** `pool` serves reads; writes go through `sessions`, so on SQLite they join the writer's group commit. */
std::unique_ptr<DispatchState> makeSqlDispatchState(const Dialect& dialect, ConnectionPool& pool,
                                                    WriteSessionSource sessions);

}  // namespace planbro::gateway::store::internal
