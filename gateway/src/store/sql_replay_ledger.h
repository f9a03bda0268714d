#pragma once
// ReplayLedger over the shared SQL seam (both engines). Internal to planbro_store.

#include <memory>

#include "planbro/gateway/store/replay_ledger.h"
#include "sql_connection.h"
#include "sql_dispatch_state.h"

namespace planbro::gateway::store::internal {

/** With a pool only (PostgreSQL) every claim is one autocommitted statement on a pooled connection; with `sessions`
 *  set (SQLite) claims join the writer's group commit, the engine's only writer. */
std::unique_ptr<ReplayLedger> makeSqlReplayLedger(ConnectionPool& pool, WriteSessionSource sessions);

}  // namespace planbro::gateway::store::internal
