// The dispatcher's consumer state (dispatch_state.h), written once for both engines. Writes run in a write session
// (on SQLite a member of the writer's group commit, so the dispatcher's progress shares the fsync of the writes it
// follows); reads take a pooled connection.
#include "sql_dispatch_state.h"

#include <algorithm>
#include <string>

namespace planbro::gateway::store::internal {
namespace {

int64_t micros(Timestamp t) { return t.time_since_epoch().count(); }
Timestamp fromMicros(int64_t m) { return Timestamp(std::chrono::microseconds(m)); }

constexpr int kMaxPartitions = 4096;
constexpr int kMaxAttempts = 5;  // a transaction that failed retryably runs again, at most this often in all
constexpr std::string_view kRecordColumns =
    "position, part, attempts, first_attempt, next_attempt, status, last_error";

DeliveryRecord toRecord(SqlRow& row) {
  DeliveryRecord r;
  r.position = row.integer(0);
  r.partition = static_cast<int>(row.integer(1));
  r.attempts = static_cast<int>(row.integer(2));
  r.first_attempt = fromMicros(row.integer(3));
  r.next_attempt = fromMicros(row.integer(4));
  r.status = static_cast<DeliveryStatus>(row.integer(5));
  r.last_error = std::move(row.text(6));
  return r;
}

std::vector<DeliveryRecord> toRecords(SqlResult& result) {
  std::vector<DeliveryRecord> out;
  out.reserve(result.rows.size());
  for (SqlRow& row : result.rows) out.push_back(toRecord(row));
  return out;
}

Status checkName(std::string_view subscriber) {
  if (subscriber.empty() || subscriber.size() > 200) return invalidArgument("subscriber name must be 1..200 bytes");
  return Status::ok();
}

class SqlDispatchState final : public DispatchState {
 public:
  SqlDispatchState(const Dialect& dialect, ConnectionPool& pool, WriteSessionSource sessions)
      : dialect_(dialect), pool_(pool), sessions_(std::move(sessions)) {}

  Result<int> ensureSubscriber(std::string_view subscriber, int partitions, int64_t start_position) override {
    RETURN_IF_ERROR(checkName(subscriber));
    if (partitions < 1 || partitions > kMaxPartitions) {
      return invalidArgument("partitions must be 1.." + std::to_string(kMaxPartitions));
    }
    int stored = 0;
    RETURN_IF_ERROR(write([&](SqlConnection& conn) -> Status {
      ASSIGN_OR_RETURN(SqlResult count,
                       conn.exec("SELECT COUNT(*) FROM dispatch_partition WHERE subscriber = ?", {subscriber}));
      stored = static_cast<int>(count.rows[0].integer(0));
      if (stored > 0) return Status::ok();
      // ON CONFLICT: another node creating the same subscriber at the same moment inserts the same rows.
      for (int p = 0; p < partitions; ++p) {
        RETURN_IF_ERROR(conn.exec("INSERT INTO dispatch_partition (subscriber, part, position, lease_owner, "
                                  "lease_expires) VALUES (?, ?, ?, '', 0) ON CONFLICT DO NOTHING",
                                  {subscriber, static_cast<int64_t>(p), start_position})
                            .status());
      }
      stored = partitions;
      return Status::ok();
    }));
    return stored;
  }

  Result<std::vector<HeldPartition>> acquireLeases(std::string_view subscriber, std::string_view owner, Timestamp now,
                                                   std::chrono::microseconds ttl) override {
    RETURN_IF_ERROR(checkName(subscriber));
    if (owner.empty()) return invalidArgument("lease owner is empty");
    std::vector<HeldPartition> held;
    RETURN_IF_ERROR(write([&](SqlConnection& conn) -> Status {
      held.clear();
      const int64_t at = micros(now);
      const int64_t until = at + ttl.count();
      RETURN_IF_ERROR(conn.exec("INSERT INTO dispatch_node (owner, seen) VALUES (?, ?) "
                                "ON CONFLICT (owner) DO UPDATE SET seen = excluded.seen",
                                {owner, at})
                          .status());
      // Nodes not seen for many lease periods are gone; forgetting them keeps the table small.
      RETURN_IF_ERROR(conn.exec("DELETE FROM dispatch_node WHERE seen < ?", {at - 100 * ttl.count()}).status());
      ASSIGN_OR_RETURN(SqlResult nodes, conn.exec("SELECT COUNT(*) FROM dispatch_node WHERE seen >= ?",
                                                  {at - ttl.count()}));
      ASSIGN_OR_RETURN(SqlResult total,
                       conn.exec("SELECT COUNT(*) FROM dispatch_partition WHERE subscriber = ?", {subscriber}));
      const int64_t live = std::max<int64_t>(1, nodes.rows[0].integer(0));
      const int64_t share = (total.rows[0].integer(0) + live - 1) / live;
      // Its own partitions first, then only as many free or expired ones as its share still lacks: locking more
      // (SKIP LOCKED) would hide them from a node acquiring at the same moment, which would then get none.
      ASSIGN_OR_RETURN(SqlResult own, conn.exec("SELECT part, position FROM dispatch_partition WHERE subscriber = ? "
                                                "AND lease_owner = ? ORDER BY part" +
                                                    std::string(dialect_.for_update),
                                                {subscriber, owner}));
      std::vector<HeldPartition> mine, free;
      for (SqlRow& row : own.rows) mine.push_back({static_cast<int>(row.integer(0)), row.integer(1), false});
      const int64_t wanted = share - static_cast<int64_t>(mine.size());
      if (wanted > 0) {
        ASSIGN_OR_RETURN(SqlResult rows,
                         conn.exec("SELECT part, position FROM dispatch_partition WHERE subscriber = ? AND "
                                   "lease_owner <> ? AND (lease_owner = '' OR lease_expires < ?) ORDER BY part LIMIT ?" +
                                       std::string(dialect_.for_update_skip_locked),
                                   {subscriber, owner, at, wanted}));
        for (SqlRow& row : rows.rows) free.push_back({static_cast<int>(row.integer(0)), row.integer(1), true});
      }
      for (size_t i = 0; i < mine.size(); ++i) {
        const bool keep = static_cast<int64_t>(i) < share;
        RETURN_IF_ERROR(conn.exec("UPDATE dispatch_partition SET lease_owner = ?, lease_expires = ? "
                                  "WHERE subscriber = ? AND part = ? AND lease_owner = ?",
                                  {keep ? owner : std::string_view(), keep ? until : int64_t{0}, subscriber,
                                   static_cast<int64_t>(mine[i].partition), owner})
                            .status());
        if (keep) held.push_back(mine[i]);
      }
      for (const HeldPartition& p : free) {
        if (static_cast<int64_t>(held.size()) >= share) break;
        RETURN_IF_ERROR(conn.exec("UPDATE dispatch_partition SET lease_owner = ?, lease_expires = ? "
                                  "WHERE subscriber = ? AND part = ?",
                                  {owner, until, subscriber, static_cast<int64_t>(p.partition)})
                            .status());
        held.push_back(p);
      }
      std::sort(held.begin(), held.end(),
                [](const HeldPartition& a, const HeldPartition& b) { return a.partition < b.partition; });
      return Status::ok();
    }));
    return held;
  }

  Status releaseLeases(std::string_view subscriber, std::string_view owner) override {
    return write([&](SqlConnection& conn) -> Status {
      RETURN_IF_ERROR(conn.exec("UPDATE dispatch_partition SET lease_owner = '', lease_expires = 0 "
                                "WHERE subscriber = ? AND lease_owner = ?",
                                {subscriber, owner})
                          .status());
      // Once the node holds nothing of any subscriber it leaves the fair share at once: the nodes still running
      // take all the partitions now rather than half until its last renewal ages out of the lease period.
      return conn.exec("DELETE FROM dispatch_node WHERE owner = ? AND NOT EXISTS "
                       "(SELECT 1 FROM dispatch_partition WHERE lease_owner = ?)",
                       {owner, owner})
          .status();
    });
  }

  using DispatchState::commitProgress;
  Result<std::vector<bool>> commitProgress(std::span<const PartitionProgress> all) override {
    for (const PartitionProgress& progress : all) RETURN_IF_ERROR(checkName(progress.subscriber));
    std::vector<bool> done;
    RETURN_IF_ERROR(write([&](SqlConnection& conn) -> Status {
      done.assign(all.size(), false);
      for (size_t i = 0; i < all.size(); ++i) {
        const PartitionProgress& progress = all[i];
        const auto part = static_cast<int64_t>(progress.partition);
        // The fence: only the lease's owner moves the partition, and never backwards (a replay lowers it and
        // clears the lease, so the old holder lands here with 0 rows).
        ASSIGN_OR_RETURN(SqlResult moved,
                         conn.exec("UPDATE dispatch_partition SET position = CASE WHEN position > ? THEN position "
                                   "ELSE ? END WHERE subscriber = ? AND part = ? AND lease_owner = ?",
                                   {progress.position, progress.position, progress.subscriber, part, progress.owner}));
        if (moved.affected != 1) continue;
        done[i] = true;
        for (const DeliveryRecord& r : progress.upserts) {
          RETURN_IF_ERROR(
              conn.exec("INSERT INTO dispatch_delivery (subscriber, position, part, attempts, first_attempt, "
                        "next_attempt, status, last_error) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                        "ON CONFLICT (subscriber, position) DO UPDATE SET attempts = excluded.attempts, "
                        "first_attempt = excluded.first_attempt, next_attempt = excluded.next_attempt, "
                        "status = excluded.status, last_error = excluded.last_error",
                        {progress.subscriber, r.position, part, static_cast<int64_t>(r.attempts),
                         micros(r.first_attempt), micros(r.next_attempt), static_cast<int64_t>(r.status),
                         std::string_view(r.last_error)})
                  .status());
        }
        for (int64_t position : progress.delivered) {
          RETURN_IF_ERROR(conn.exec("DELETE FROM dispatch_delivery WHERE subscriber = ? AND position = ?",
                                    {progress.subscriber, position})
                              .status());
        }
      }
      return Status::ok();
    }));
    return done;
  }

  Result<std::vector<DeliveryRecord>> deliveries(std::string_view subscriber, int partition, int64_t after) override {
    ASSIGN_OR_RETURN(SqlResult r, read("SELECT " + std::string(kRecordColumns) +
                                           " FROM dispatch_delivery WHERE subscriber = ? AND part = ? AND "
                                           "position > ? ORDER BY position",
                                       {subscriber, static_cast<int64_t>(partition), after}));
    return toRecords(r);
  }

  Result<std::vector<DeliveryRecord>> recordsWithStatus(std::string_view subscriber, DeliveryStatus status,
                                                        int64_t after, size_t limit) override {
    if (limit == 0 || limit > kMaxPageSize) return invalidArgument("page size must be 1.." + std::to_string(kMaxPageSize));
    ASSIGN_OR_RETURN(SqlResult r, read("SELECT " + std::string(kRecordColumns) +
                                           " FROM dispatch_delivery WHERE subscriber = ? AND status = ? AND "
                                           "position > ? ORDER BY position LIMIT ?",
                                       {subscriber, static_cast<int64_t>(status), after, static_cast<int64_t>(limit)}));
    return toRecords(r);
  }

  Result<std::optional<DeliveryRecord>> record(std::string_view subscriber, int64_t position) override {
    ASSIGN_OR_RETURN(SqlResult r, read("SELECT " + std::string(kRecordColumns) +
                                           " FROM dispatch_delivery WHERE subscriber = ? AND position = ?",
                                       {subscriber, position}));
    if (r.rows.empty()) return std::optional<DeliveryRecord>();
    return std::optional<DeliveryRecord>(toRecord(r.rows[0]));
  }

  Status requestRedelivery(std::string_view subscriber, int64_t position, Timestamp now) override {
    return write([&](SqlConnection& conn) -> Status {
      ASSIGN_OR_RETURN(SqlResult r, conn.exec("UPDATE dispatch_delivery SET status = ?, attempts = 0, next_attempt = ? "
                                              "WHERE subscriber = ? AND position = ? AND status = ?",
                                              {static_cast<int64_t>(DeliveryStatus::kRedeliverRequested), micros(now),
                                               subscriber, position, static_cast<int64_t>(DeliveryStatus::kDead)}));
      if (r.affected != 1) return notFound("no dead letter at position " + std::to_string(position));
      return Status::ok();
    });
  }

  Status discardDeadLetter(std::string_view subscriber, int64_t position) override {
    return write([&](SqlConnection& conn) -> Status {
      ASSIGN_OR_RETURN(SqlResult r,
                       conn.exec("DELETE FROM dispatch_delivery WHERE subscriber = ? AND position = ? AND status = ?",
                                 {subscriber, position, static_cast<int64_t>(DeliveryStatus::kDead)}));
      if (r.affected != 1) return notFound("no dead letter at position " + std::to_string(position));
      return Status::ok();
    });
  }

  Status rewind(std::string_view subscriber, int64_t position) override {
    if (position < 0) return invalidArgument("replay position must be >= 0");
    return write([&](SqlConnection& conn) -> Status {
      ASSIGN_OR_RETURN(SqlResult r, conn.exec("UPDATE dispatch_partition SET position = ?, lease_owner = '', "
                                              "lease_expires = 0 WHERE subscriber = ?",
                                              {position, subscriber}));
      if (r.affected == 0) return notFound("no subscriber '" + std::string(subscriber) + "'");
      return conn.exec("DELETE FROM dispatch_delivery WHERE subscriber = ? AND position > ? AND status = ?",
                       {subscriber, position, static_cast<int64_t>(DeliveryStatus::kRetrying)})
          .status();
    });
  }

  Result<int64_t> positionBefore(Timestamp at) override {
    ASSIGN_OR_RETURN(SqlResult r, read("SELECT MIN(position), (SELECT COALESCE(MAX(position), 0) FROM outbox) "
                                       "FROM outbox WHERE occurred_at >= ?",
                                       {micros(at)}));
    return r.rows[0].isNull(0) ? r.rows[0].integer(1) : r.rows[0].integer(0) - 1;
  }

  Result<std::vector<SubscriberSummary>> summaries() override {
    ASSIGN_OR_RETURN(SqlResult parts, read("SELECT subscriber, COUNT(*), MIN(position) FROM dispatch_partition "
                                           "GROUP BY subscriber ORDER BY subscriber",
                                           {}));
    ASSIGN_OR_RETURN(SqlResult counts,
                     read("SELECT subscriber, status, COUNT(*) FROM dispatch_delivery GROUP BY subscriber, status", {}));
    std::vector<SubscriberSummary> out;
    for (SqlRow& row : parts.rows) {
      SubscriberSummary s;
      s.subscriber = std::move(row.text(0));
      s.partitions = static_cast<int>(row.integer(1));
      s.min_position = row.integer(2);
      out.push_back(std::move(s));
    }
    for (SqlRow& row : counts.rows) {
      auto it = std::find_if(out.begin(), out.end(), [&](const SubscriberSummary& s) { return s.subscriber == row.text(0); });
      if (it == out.end()) continue;
      const auto status = static_cast<DeliveryStatus>(row.integer(1));
      (status == DeliveryStatus::kDead ? it->dead : it->retrying) += row.integer(2);
    }
    return out;
  }

 private:
  // Runs `body` in a write transaction and commits it; a retryable failure (deadlock, serialization, busy) runs it
  // again, at most kMaxAttempts times in all.
  template <typename Body>
  Status write(Body&& body) {
    Status last;
    for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
      ASSIGN_OR_RETURN(std::unique_ptr<WriteSession> session, sessions_());
      Status s = session->begin();
      if (s.isOk()) {
        s = body(session->conn());
        const bool retry_body = !s.isOk() && session->conn().lastErrorRetryable();
        if (s.isOk()) {
          s = session->commit();
          if (s.isOk()) return s;
          if (!session->retryable()) return s;
        } else {
          session->rollback();
          if (!retry_body) return s;
        }
      } else if (!session->retryable()) {
        return s;
      }
      last = s;
    }
    return last;
  }

  Result<SqlResult> read(std::string_view sql, std::initializer_list<SqlParam> params) {
    for (int attempt = 0;; ++attempt) {
      ASSIGN_OR_RETURN(PooledConnection conn, pool_.acquire());
      auto r = conn->exec(sql, std::span<const SqlParam>(params.begin(), params.size()));
      if (r.isOk() || conn->healthy() || attempt >= 1) return r;
    }
  }

  const Dialect& dialect_;
  ConnectionPool& pool_;
  WriteSessionSource sessions_;
};

}  // namespace

std::unique_ptr<DispatchState> makeSqlDispatchState(const Dialect& dialect, ConnectionPool& pool,
                                                    WriteSessionSource sessions) {
  return std::make_unique<SqlDispatchState>(dialect, pool, std::move(sessions));
}

}  // namespace planbro::gateway::store::internal
