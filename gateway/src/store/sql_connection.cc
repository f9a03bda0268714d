#include "sql_connection.h"

#include <openssl/rand.h>

#include <string>

namespace planbro::gateway::store::internal {

int64_t SqlRow::integer(size_t i) const {
  if (const auto* v = std::get_if<int64_t>(&cells[i])) return *v;
  if (const auto* d = std::get_if<double>(&cells[i])) return static_cast<int64_t>(*d);
  return 0;
}

double SqlRow::real(size_t i) const {
  if (const auto* d = std::get_if<double>(&cells[i])) return *d;
  if (const auto* v = std::get_if<int64_t>(&cells[i])) return static_cast<double>(*v);
  return 0;
}

std::string& SqlRow::text(size_t i) {
  if (!std::holds_alternative<std::string>(cells[i])) cells[i] = std::string();
  return std::get<std::string>(cells[i]);
}

PooledConnection& PooledConnection::operator=(PooledConnection&& other) noexcept {
  if (this != &other) {
    release();
    pool_ = other.pool_;
    conn_ = std::move(other.conn_);
    other.pool_ = nullptr;
  }
  return *this;
}

PooledConnection::~PooledConnection() { release(); }

void PooledConnection::release() {
  if (pool_ != nullptr && conn_ != nullptr) pool_->giveBack(std::move(conn_));
  conn_.reset();
  pool_ = nullptr;
}

ConnectionPool::ConnectionPool(size_t size, std::chrono::milliseconds timeout, Factory factory)
    : size_(size == 0 ? 1 : size), timeout_(timeout), factory_(std::move(factory)) {}

ConnectionPool::~ConnectionPool() = default;

Result<PooledConnection> ConnectionPool::acquire() {
  std::unique_lock lock(mutex_);
  if (!available_.wait_for(lock, timeout_, [&] { return !idle_.empty() || open_ < size_; })) {
    return unavailable("no free database connection within " + std::to_string(timeout_.count()) + " ms");
  }
  if (!idle_.empty()) {
    auto conn = std::move(idle_.back());
    idle_.pop_back();
    return PooledConnection(this, std::move(conn));
  }
  // Open outside the lock: connecting can take a network round trip. The slot is reserved first.
  ++open_;
  lock.unlock();
  auto conn = factory_();
  if (!conn.isOk()) {
    lock.lock();
    --open_;
    available_.notify_one();
    return conn.status();
  }
  return PooledConnection(this, std::move(conn).value());
}

size_t ConnectionPool::idleStatementBytes() {
  std::lock_guard lock(mutex_);
  size_t total = 0;
  for (const auto& conn : idle_) total += conn->cachedStatementBytes();
  return total;
}

size_t ConnectionPool::inUse() {
  std::lock_guard lock(mutex_);
  return open_ - idle_.size();
}

void ConnectionPool::giveBack(std::unique_ptr<SqlConnection> conn) {
  std::lock_guard lock(mutex_);
  if (conn->healthy()) {
    idle_.push_back(std::move(conn));
    available_.notify_one();
    return;
  }
  // A broken connection usually means the server restarted or the network failed: its idle siblings are most
  // likely broken too, so all are dropped and the next acquire() opens fresh ones.
  open_ -= 1 + idle_.size();
  idle_.clear();
  available_.notify_all();
}

Status migrateSchema(SqlConnection& conn, const Dialect& dialect, std::string_view lock_sql,
                     std::span<const std::string_view> migrations, int64_t* found_version) {
  RETURN_IF_ERROR(conn.execScript(dialect.begin_write));
  auto body = [&]() -> Status {
    if (!lock_sql.empty()) RETURN_IF_ERROR(conn.execScript(lock_sql));
    // Read the version first and create the table only when it is missing: CREATE TABLE IF NOT EXISTS needs the
    // CREATE privilege even when the table exists, and a runtime role without DDL rights must be able to start on
    // a schema its owner migrated (docs/operations.md). The savepoint keeps a PostgreSQL transaction usable after
    // the probe fails.
    RETURN_IF_ERROR(conn.execScript("SAVEPOINT schema_probe"));
    Result<SqlResult> probe = conn.exec("SELECT version FROM schema_version", {});
    if (probe.isOk()) {
      RETURN_IF_ERROR(conn.execScript("RELEASE SAVEPOINT schema_probe"));
    } else {
      RETURN_IF_ERROR(conn.execScript("ROLLBACK TO SAVEPOINT schema_probe; RELEASE SAVEPOINT schema_probe"));
      RETURN_IF_ERROR(conn.execScript("CREATE TABLE schema_version (version BIGINT NOT NULL)"));
      probe = conn.exec("SELECT version FROM schema_version", {});
    }
    ASSIGN_OR_RETURN(SqlResult rows, std::move(probe));
    const int64_t current = rows.rows.empty() ? 0 : rows.rows[0].integer(0);
    const auto newest = static_cast<int64_t>(migrations.size());
    if (found_version != nullptr) *found_version = current;
    if (current > newest) {
      return failedPrecondition("database schema version " + std::to_string(current) +
                                " is newer than this build understands (" + std::to_string(newest) + ")");
    }
    for (int64_t v = current; v < newest; ++v) RETURN_IF_ERROR(conn.execScript(migrations[static_cast<size_t>(v)]));
    if (rows.rows.empty()) {
      RETURN_IF_ERROR(conn.exec("INSERT INTO schema_version (version) VALUES (?)", {newest}).status());
    } else if (current != newest) {
      RETURN_IF_ERROR(conn.exec("UPDATE schema_version SET version = ?", {newest}).status());
    }
    // The master secret is made here, under the migration lock, so that reading a server secret never writes
    // (a lazy insert under the SQLite writer deadlocked a transaction that needed the secret).
    std::string fresh(kServerSecretSize, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(fresh.data()), static_cast<int>(fresh.size())) != 1) {
      return internalError("no random bytes for the master secret");
    }
    return conn
        .exec("INSERT INTO server_secret (name, secret) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
              {kMasterSecretName, Blob{fresh}})
        .status();
  };
  Status status = body();
  if (!status.isOk()) {
    (void)conn.execScript("ROLLBACK");
    return status;
  }
  return conn.execScript("COMMIT");
}

}  // namespace planbro::gateway::store::internal
