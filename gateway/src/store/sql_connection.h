#pragma once
// The thin seam between the shared store logic (sql_store.cc) and the two engines: one connection that runs
// parameterised SQL, and a fixed-size pool of them. Internal to planbro_store.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "planbro/fhir-model/status.h"
#include "planbro/gateway/store/resource_store.h"
#include "version_cache.h"

namespace planbro::gateway::store::internal {

/** Bytes bound as a BLOB / BYTEA parameter (text parameters are std::string_view). */
struct Blob {
  std::string_view bytes;
};
using SqlParam = std::variant<std::nullptr_t, int64_t, double, std::string_view, Blob>;

/** One result cell: NULL, an integer (any width, booleans), a double, or text / bytes. */
using SqlCell = std::variant<std::monostate, int64_t, double, std::string>;

struct SqlRow {
  std::vector<SqlCell> cells;
  bool isNull(size_t i) const { return std::holds_alternative<std::monostate>(cells[i]); }
  int64_t integer(size_t i) const;
  double real(size_t i) const;
  std::string& text(size_t i);  // empty for NULL
};

struct SqlResult {
  std::vector<SqlRow> rows;
  int64_t affected = 0;  // rows changed by INSERT / UPDATE / DELETE
  int64_t engine_steps = 0;  // SQLite: virtual machine steps the statement took; PostgreSQL: 0 (unknown)
};

/**
 * One database connection, used by one thread at a time. SQL uses '?' placeholders in both engines (the
 * PostgreSQL connection renumbers them). Statements are prepared once per connection and cached by their text.
 */
class SqlConnection {
 public:
  virtual ~SqlConnection() = default;
  virtual Result<SqlResult> exec(std::string_view sql, std::span<const SqlParam> params) = 0;
  Result<SqlResult> exec(std::string_view sql, std::initializer_list<SqlParam> params) {
    return exec(sql, std::span<const SqlParam>(params.begin(), params.size()));
  }
  /** Runs statements without parameters and without caching (DDL, BEGIN, COMMIT, ROLLBACK). */
  virtual Status execScript(std::string_view sql) = 0;
  /** Whether the last failure was a serialization failure, deadlock or busy database (worth a retry). */
  virtual bool lastErrorRetryable() const = 0;
  /** Whether a transaction is open on this connection. */
  virtual bool inTransaction() const = 0;
  /** False once the connection is broken; the pool then drops it. */
  virtual bool healthy() const = 0;
  /** Bytes its prepared-statement cache holds (StatementCache). */
  virtual size_t cachedStatementBytes() const { return 0; }
  /** Bounds every following exec() to about `steps` engine steps (0: none); past it exec() fails with
   *  kInvalidArgument. SQLite only; other engines ignore it. */
  virtual void setStepLimit(int64_t steps) { (void)steps; }
};

/** The statements that differ between the engines. */
struct Dialect {
  std::string_view engine;       // "sqlite" / "postgresql"
  std::string_view begin_write;  // "BEGIN IMMEDIATE" takes SQLite's write lock up front
  std::string_view for_update;   // " FOR UPDATE" locks the head row in PostgreSQL; SQLite writers are serial
  std::string_view commit_lock;     // run before the outbox rows are inserted at commit ("" for none)
  std::string_view outbox_barrier;  // run by outbox readers in a transaction of their own ("" for none)
  // Starts an INSERT whose rows need no rollback of their own when one of them fails, because the caller's
  // transaction (or savepoint) is rolled back then anyway. SQLite: "INSERT OR FAIL", which spares a multi-row
  // INSERT the statement journal (a copy of every page it touches); PostgreSQL: "INSERT".
  std::string_view insert_in_transaction;
  // A subquery yielding the strings of the JSON array bound as its one parameter (`x IN (<this>)`), and one
  // yielding the two strings of each [a, b] pair of such an array (`(x, y) IN (<this>)`): a list of any length in
  // one parameter, so the statement text does not depend on the length.
  std::string_view json_values;
  std::string_view json_pairs;
  // Ends a SELECT that locks the rows it returns and skips rows other transactions hold (dispatcher leases).
  // PostgreSQL: " FOR UPDATE SKIP LOCKED"; SQLite: "" (writers are serial).
  std::string_view for_update_skip_locked;
  // Whether SqlConnection::setStepLimit bounds a statement's work (SQLite's progress handler; PostgreSQL: no).
  bool bounds_engine_steps = false;
};

class ConnectionPool;

/** A connection borrowed from a pool; returns it (or drops it when broken) on destruction. */
class PooledConnection {
 public:
  PooledConnection() = default;
  PooledConnection(ConnectionPool* pool, std::unique_ptr<SqlConnection> conn) : pool_(pool), conn_(std::move(conn)) {}
  PooledConnection(PooledConnection&& other) noexcept = default;
  PooledConnection& operator=(PooledConnection&& other) noexcept;
  ~PooledConnection();
  SqlConnection* operator->() const { return conn_.get(); }
  SqlConnection& operator*() const { return *conn_; }
  void release();

 private:
  ConnectionPool* pool_ = nullptr;
  std::unique_ptr<SqlConnection> conn_;
};

/**
 * At most `size` connections, opened lazily by `factory`. acquire() waits up to `timeout` for a free one and then
 * fails with kUnavailable. Thread-safe.
 */
class ConnectionPool {
 public:
  using Factory = std::function<Result<std::unique_ptr<SqlConnection>>()>;
  ConnectionPool(size_t size, std::chrono::milliseconds timeout, Factory factory);
  ~ConnectionPool();
  Result<PooledConnection> acquire();
  /** The sum of cachedStatementBytes() over the idle connections. */
  size_t idleStatementBytes();
  /** Connections lent out now. */
  size_t inUse();

 private:
  friend class PooledConnection;
  void giveBack(std::unique_ptr<SqlConnection> conn);

  const size_t size_;
  const std::chrono::milliseconds timeout_;
  Factory factory_;
  std::mutex mutex_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<SqlConnection>> idle_;
  size_t open_ = 0;  // connections that exist: idle or lent
};

/**
 * How a write transaction gets its connection and ends. Either a pooled connection with its own BEGIN / COMMIT
 * (PostgreSQL), or a turn on the single SQLite writer connection inside a group commit (GroupCommitWriter).
 */
class WriteSession {
 public:
  virtual ~WriteSession() = default;
  virtual SqlConnection& conn() = 0;
  virtual Status begin() = 0;
  /** Durable when it returns ok. Ends the session either way. */
  virtual Status commit() = 0;
  /** Undoes this session's writes; idempotent. */
  virtual void rollback() = 0;
  /** Whether the failure of begin() or commit() is worth retrying the whole transaction. */
  virtual bool retryable() const = 0;
};

/** A session on a pooled connection: BEGIN (dialect.begin_write) ... COMMIT. */
std::unique_ptr<WriteSession> makePooledSession(const Dialect& dialect, PooledConnection conn);

/**
 * Group commit for SQLite. With synchronous=FULL each COMMIT costs an fsync, so one commit per write caps the
 * store at the disk's fsync rate. Here all writes go through one connection: each logical transaction runs inside
 * a SAVEPOINT of a shared physical transaction, and when it commits it leaves the physical COMMIT to the next
 * writer already waiting; the last writer of a group (no one waiting, or kMaxGroup reached) commits once for all,
 * and every member's commit() returns only after that fsync, with its result. A writer whose work fails rolls back
 * to its savepoint and never affects the others. Thread-safe. The constructor tunes its SQLite connection for
 * this (savepoint undo log in memory, 64 MB page cache, WAL checkpoint every 8,192 pages).
 */
class GroupCommitWriter {
 public:
  static constexpr size_t kMaxGroup = 64;
  /** `turn_timeout`: how long begin() waits for the writer before failing with kUnavailable. */
  GroupCommitWriter(const Dialect& dialect, std::unique_ptr<SqlConnection> conn, std::chrono::milliseconds turn_timeout);
  ~GroupCommitWriter();
  std::unique_ptr<WriteSession> session();

 private:
  class Session;
  struct Group;
  const Dialect& dialect_;
  std::unique_ptr<SqlConnection> conn_;
  const std::chrono::milliseconds turn_timeout_;
  std::mutex mutex_;
  std::condition_variable turn_free_;
  std::condition_variable group_done_;
  bool busy_ = false;       // a session holds the connection
  size_t waiting_ = 0;      // sessions waiting for their turn
  std::shared_ptr<Group> group_;  // the open physical transaction, or null
};

/** The server_secret row every named server secret is derived from. */
inline constexpr std::string_view kMasterSecretName = "planbro:master";

/** Creates the schema or migrates it to the newest version; `migrations[i]` brings version i to i+1. Then makes the
 *  master secret (kMasterSecretName) unless it exists. `found_version`, when given, receives the version the
 *  database had before (0: a new database). */
Status migrateSchema(SqlConnection& conn, const Dialect& dialect, std::string_view lock_sql,
                     std::span<const std::string_view> migrations, int64_t* found_version = nullptr);

/**
 * The shared ResourceStore over a pool. `writer`: the SQLite group-commit writer, or null to write on pooled
 * connections (PostgreSQL). `cache`: current versions for read(), or null; only for a store that is the database's
 * one writer (VersionCache). `owned` lives as long as the store (the SQLite ownership lock).
 */
std::unique_ptr<ResourceStore> makeSqlStore(const Dialect& dialect, std::unique_ptr<ConnectionPool> pool,
                                            std::unique_ptr<GroupCommitWriter> writer, Clock clock,
                                            std::unique_ptr<VersionCache> cache = nullptr,
                                            std::shared_ptr<void> owned = nullptr);

}  // namespace planbro::gateway::store::internal
