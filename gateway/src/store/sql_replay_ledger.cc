// One-time claims (replay_ledger.h) in the replay_claim table (schema version 6).
#include "sql_replay_ledger.h"

#include <string>

namespace planbro::gateway::store::internal {
namespace {

constexpr size_t kMaxKeyBytes = 512;
constexpr size_t kMaxPurgeBatch = 100'000;

// A new key inserts; a key whose claim expired is taken over by the same statement; a live claim changes no row.
// Atomic in both engines: PostgreSQL's ON CONFLICT waits for a concurrent inserter of the same key and then sees
// its row (so exactly one of two nodes wins), SQLite has one writer.
constexpr std::string_view kClaimSql =
    "INSERT INTO replay_claim (claim_key, expires_at) VALUES (?, ?) ON CONFLICT (claim_key) DO UPDATE SET "
    "expires_at = excluded.expires_at WHERE replay_claim.expires_at <= ?";
// The oldest expired claims first, through the expiry index; LIMIT bounds the work of one purge.
constexpr std::string_view kPurgeSql =
    "DELETE FROM replay_claim WHERE claim_key IN (SELECT claim_key FROM replay_claim WHERE expires_at <= ? "
    "ORDER BY expires_at LIMIT ?)";

class SqlReplayLedger final : public ReplayLedger {
 public:
  SqlReplayLedger(ConnectionPool& pool, WriteSessionSource sessions) : pool_(pool), sessions_(std::move(sessions)) {}

  Result<bool> claimOnce(std::string_view key, int64_t expires_at, int64_t now) override {
    if (key.empty() || key.size() > kMaxKeyBytes) return invalidArgument("a replay claim key must be 1..512 bytes");
    ASSIGN_OR_RETURN(int64_t changed, run(kClaimSql, {key, expires_at, now}));
    return changed == 1;
  }

  Result<size_t> purgeExpired(int64_t now, size_t limit) override {
    if (limit == 0) return size_t{0};
    if (limit > kMaxPurgeBatch) limit = kMaxPurgeBatch;
    ASSIGN_OR_RETURN(int64_t deleted, run(kPurgeSql, {now, static_cast<int64_t>(limit)}));
    return static_cast<size_t>(deleted);
  }

 private:
  // The number of rows the statement changed. Not retried: a claim that failed is refused (the client sends a new
  // proof), which is safer than a retry that might count a claim twice.
  Result<int64_t> run(std::string_view sql, std::initializer_list<SqlParam> params) {
    if (!sessions_) {
      ASSIGN_OR_RETURN(PooledConnection conn, pool_.acquire());
      ASSIGN_OR_RETURN(SqlResult r, conn->exec(sql, params));
      return r.affected;
    }
    ASSIGN_OR_RETURN(std::unique_ptr<WriteSession> session, sessions_());
    RETURN_IF_ERROR(session->begin());
    Result<SqlResult> r = session->conn().exec(sql, params);
    if (!r.isOk()) {
      session->rollback();
      return r.status();
    }
    RETURN_IF_ERROR(session->commit());
    return r->affected;
  }

  ConnectionPool& pool_;
  WriteSessionSource sessions_;
};

}  // namespace

std::unique_ptr<ReplayLedger> makeSqlReplayLedger(ConnectionPool& pool, WriteSessionSource sessions) {
  return std::make_unique<SqlReplayLedger>(pool, std::move(sessions));
}

}  // namespace planbro::gateway::store::internal
