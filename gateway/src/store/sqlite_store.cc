// The SQLite engine: the embedded default. One file in WAL mode, synchronous=FULL (a commit is on disk when it
// returns), readers never block the single writer, and writers take the write lock up front (BEGIN IMMEDIATE) so
// that two writers never deadlock upgrading a read lock.
#include <sqlite3.h>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <string>

#include "shared_schema.h"
#include "compartment_fill.h"
#include "sql_connection.h"
#include "statement_cache.h"
#include "version_cache.h"
#include "wal_checkpointer.h"

namespace planbro::gateway::store {
namespace {

using internal::Blob;
using internal::SqlCell;
using internal::SqlParam;
using internal::SqlResult;
using internal::SqlRow;

constexpr internal::Dialect kSqliteDialect{
    "sqlite", "BEGIN IMMEDIATE", "", "", "", "INSERT OR FAIL", "SELECT value FROM json_each(?)",
    "SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?)", "", true};

// Besides the byte bound (SqliteStoreOptions::statement_cache_bytes), at most this many statements per connection.
constexpr size_t kMaxCachedStatements = 512;

constexpr std::string_view kSchemaV1 = R"sql(
CREATE TABLE resource (
  res_type TEXT NOT NULL,
  res_id TEXT NOT NULL,
  version INTEGER NOT NULL,
  deleted INTEGER NOT NULL,
  last_updated INTEGER NOT NULL,
  content_hash BLOB NOT NULL,
  PRIMARY KEY (res_type, res_id)
) WITHOUT ROWID;
CREATE TABLE resource_version (
  res_type TEXT NOT NULL,
  res_id TEXT NOT NULL,
  version INTEGER NOT NULL,
  last_updated INTEGER NOT NULL,
  deleted INTEGER NOT NULL,
  actor TEXT NOT NULL,
  source_system TEXT NOT NULL,
  content BLOB NOT NULL,
  PRIMARY KEY (res_type, res_id, version)
);
CREATE INDEX resource_version_system_history ON resource_version (last_updated, res_type, res_id, version);
CREATE INDEX resource_version_type_history ON resource_version (res_type, last_updated, res_id, version);
CREATE TABLE business_key (
  res_type TEXT NOT NULL,
  key_kind TEXT NOT NULL,
  key_value TEXT NOT NULL,
  res_id TEXT NOT NULL,
  PRIMARY KEY (res_type, key_kind, key_value)
) WITHOUT ROWID;
CREATE INDEX business_key_owner ON business_key (res_type, res_id);
CREATE TABLE search_index (
  res_type TEXT NOT NULL,
  res_id TEXT NOT NULL,
  param TEXT NOT NULL,
  kind INTEGER NOT NULL,
  text_value TEXT NOT NULL,
  token_system TEXT NOT NULL,
  token_code TEXT NOT NULL,
  date_low INTEGER NOT NULL,
  date_high INTEGER NOT NULL,
  number_value REAL NOT NULL,
  ref_type TEXT NOT NULL,
  ref_id TEXT NOT NULL
);
CREATE INDEX search_index_resource ON search_index (res_type, res_id);
CREATE INDEX search_index_token ON search_index (res_type, param, token_code, token_system);
CREATE INDEX search_index_text ON search_index (res_type, param, text_value);
CREATE INDEX search_index_reference ON search_index (res_type, param, ref_id, ref_type);
CREATE INDEX search_index_date ON search_index (res_type, param, date_low, date_high);
CREATE TABLE outbox (
  position INTEGER PRIMARY KEY AUTOINCREMENT,
  res_type TEXT NOT NULL,
  res_id TEXT NOT NULL,
  version INTEGER NOT NULL,
  change_kind INTEGER NOT NULL,
  source_system TEXT NOT NULL,
  actor TEXT NOT NULL,
  occurred_at INTEGER NOT NULL
);
)sql";

// Version 2: deployment secrets (ResourceStore::serverSecret).
constexpr std::string_view kSchemaV2 = R"sql(
CREATE TABLE server_secret (
  name TEXT PRIMARY KEY,
  secret BLOB NOT NULL
) WITHOUT ROWID;
)sql";


// Version 4: a presence row (`<param>:present`, token "1") per parameter with any value, so `:missing` no longer
// depends on searchable values (docs/search.md). Rows of older versions are derived from the index rows a resource
// has; an element with none (a reference to a contained resource only) gets its row when the resource is written.
constexpr std::string_view kSchemaV4PresenceRows = R"sql(
DELETE FROM search_index WHERE param LIKE '%:present';
INSERT INTO search_index (res_type, res_id, param, kind, text_value, token_system, token_code, date_low, date_high,
                          number_value, ref_type, ref_id)
SELECT DISTINCT res_type, res_id, CASE WHEN instr(param, ':') > 0 THEN substr(param, 1, instr(param, ':') - 1) ELSE param END || ':present', 1, '', '', '1', 0, 0, 0, '', ''
FROM search_index;
)sql";

// Version 8: the patient compartment on the head row (docs/store.md). NULL and version 0 mean "not computed": a
// narrowed search then probes the index rows as before, so the step is correct at once; fillPatientCompartments
// then computes the column for existing resources in bounded batches.
constexpr std::string_view kSchemaV8PatientCompartment = R"sql(
ALTER TABLE resource ADD COLUMN patient_compartment TEXT;
ALTER TABLE resource ADD COLUMN compartment_version INTEGER NOT NULL DEFAULT 0;
)sql";

constexpr std::string_view kMigrations[] = {kSchemaV1, kSchemaV2, internal::kSchemaV3SearchIndexOrder,
                                            kSchemaV4PresenceRows, internal::kSchemaV5DispatchState,
                                            internal::kSchemaV6ReplayClaims,
                                            internal::kSchemaV7HeadAnswersIdAndLastUpdated,
                                            kSchemaV8PatientCompartment};

Status sqliteError(sqlite3* db, int rc, std::string_view what) {
  const std::string message = std::string(what) + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return unavailable("database busy: " + message);
    case SQLITE_CONSTRAINT:
      return {StatusCode::kAlreadyExists, message};
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
      return unavailable(message);
    default:
      return internalError(message);
  }
}

class SqliteConnection final : public internal::SqlConnection {
 public:
  SqliteConnection(sqlite3* db, size_t cache_bytes) : db_(db), cache_(cache_bytes, kMaxCachedStatements) {}
  sqlite3* handle() const { return db_; }
  ~SqliteConnection() override {
    cache_.clear([](sqlite3_stmt* stmt) { sqlite3_finalize(stmt); });
    sqlite3_close_v2(db_);
  }

  static Result<std::unique_ptr<internal::SqlConnection>> open(const SqliteStoreOptions& options) {
    sqlite3* db = nullptr;
    // NOMUTEX: a pooled connection is used by one thread at a time, so SQLite's per-connection mutex is not needed.
    const int rc = sqlite3_open_v2(options.path.c_str(), &db,
                                   SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
      Status s = sqliteError(db, rc, "opening " + options.path);
      sqlite3_close_v2(db);
      return s;
    }
    auto conn = std::make_unique<SqliteConnection>(db, options.statement_cache_bytes);
    if (int brc = sqlite3_busy_timeout(db, static_cast<int>(options.busy_timeout.count())); brc != SQLITE_OK) {
      return sqliteError(db, brc, "setting the busy timeout");
    }
    // WAL with synchronous=FULL: every commit fsyncs the WAL, so it survives power loss, not only a crash.
    // case_sensitive_like makes LIKE behave as in PostgreSQL (the indexer folds case where FHIR wants it).
    RETURN_IF_ERROR(conn->execScript("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
                                     "PRAGMA case_sensitive_like=ON; PRAGMA foreign_keys=OFF;"));
    auto mode = conn->exec("PRAGMA journal_mode", {});
    if (!mode.isOk()) return mode.status();
    if (mode->rows.empty() || mode->rows[0].text(0) != "wal") {
      return unavailable("could not switch " + options.path + " to WAL mode");
    }
    return std::unique_ptr<internal::SqlConnection>(std::move(conn));
  }

  Result<SqlResult> exec(std::string_view sql, std::span<const SqlParam> params) override {
    retryable_ = false;
    steps_taken_ = 0;
    ASSIGN_OR_RETURN(sqlite3_stmt * stmt, prepare(sql));
    // Reset on every exit so the statement releases its read snapshot and can be reused.
    struct Reset {
      sqlite3_stmt* s;
      ~Reset() {
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
      }
    } reset{stmt};
    if (static_cast<size_t>(sqlite3_bind_parameter_count(stmt)) != params.size()) {
      return internalError("parameter count mismatch in a store statement");
    }
    for (size_t i = 0; i < params.size(); ++i) {
      const int index = static_cast<int>(i + 1);
      int rc = SQLITE_OK;
      const SqlParam& p = params[i];
      if (std::holds_alternative<std::nullptr_t>(p)) {
        rc = sqlite3_bind_null(stmt, index);
      } else if (const auto* v = std::get_if<int64_t>(&p)) {
        rc = sqlite3_bind_int64(stmt, index, *v);
      } else if (const auto* d = std::get_if<double>(&p)) {
        rc = sqlite3_bind_double(stmt, index, *d);
      } else if (const auto* t = std::get_if<std::string_view>(&p)) {
        // An empty view may have a null data pointer, which SQLite would bind as NULL.
        rc = sqlite3_bind_text64(stmt, index, t->empty() ? "" : t->data(), t->size(), SQLITE_STATIC, SQLITE_UTF8);
      } else {
        const Blob& b = std::get<Blob>(p);
        // A zero-length blob is bound as an empty blob, never NULL (the columns are NOT NULL).
        rc = b.bytes.empty() ? sqlite3_bind_zeroblob(stmt, index, 0)
                             : sqlite3_bind_blob64(stmt, index, b.bytes.data(), b.bytes.size(), SQLITE_STATIC);
      }
      if (rc != SQLITE_OK) return fail(rc, "binding a parameter");
    }
    SqlResult result;
    const int columns = sqlite3_column_count(stmt);
    for (;;) {
      const int rc = sqlite3_step(stmt);
      if (rc == SQLITE_DONE) break;
      if (rc == SQLITE_INTERRUPT && step_limit_ > 0 && steps_taken_ > step_limit_) {
        return invalidArgument("the search examined more than its budget of " + std::to_string(step_limit_) +
                               " engine steps (limits.search.max_query_steps); narrow it");
      }
      if (rc != SQLITE_ROW) return fail(rc, "running a statement");
      SqlRow row;
      row.cells.reserve(static_cast<size_t>(columns));
      for (int c = 0; c < columns; ++c) {
        switch (sqlite3_column_type(stmt, c)) {
          case SQLITE_INTEGER: row.cells.emplace_back(static_cast<int64_t>(sqlite3_column_int64(stmt, c))); break;
          case SQLITE_FLOAT: row.cells.emplace_back(sqlite3_column_double(stmt, c)); break;
          case SQLITE_NULL: row.cells.emplace_back(std::monostate{}); break;
          default: {
            const void* data = sqlite3_column_blob(stmt, c);
            const int size = sqlite3_column_bytes(stmt, c);
            row.cells.emplace_back(data ? std::string(static_cast<const char*>(data), static_cast<size_t>(size))
                                        : std::string());
          }
        }
      }
      result.rows.push_back(std::move(row));
    }
    result.affected = sqlite3_changes64(db_);
    result.engine_steps = sqlite3_stmt_status(stmt, SQLITE_STMTSTATUS_VM_STEP, 1);
    return result;
  }

  Status execScript(std::string_view sql) override {
    retryable_ = false;
    char* error = nullptr;
    const int rc = sqlite3_exec(db_, std::string(sql).c_str(), nullptr, nullptr, &error);
    sqlite3_free(error);
    if (rc != SQLITE_OK) return fail(rc, "running a store script");
    return Status::ok();
  }

  bool lastErrorRetryable() const override { return retryable_; }
  bool inTransaction() const override { return sqlite3_get_autocommit(db_) == 0; }
  // Not in autocommit mode means a ROLLBACK failed: the connection must not be lent out again.
  bool healthy() const override { return sqlite3_get_autocommit(db_) != 0; }
  size_t cachedStatementBytes() const override { return cache_.bytes(); }

  void setStepLimit(int64_t steps) override {
    step_limit_ = steps;
    // SQLite calls the handler every kProgressInterval virtual machine instructions; a non-zero answer interrupts.
    sqlite3_progress_handler(db_, steps > 0 ? kProgressInterval : 0, steps > 0 ? &SqliteConnection::onProgress : nullptr,
                             this);
  }

 private:
  Status fail(int rc, std::string_view what) {
    const int primary = rc & 0xff;
    retryable_ = primary == SQLITE_BUSY || primary == SQLITE_LOCKED;
    return sqliteError(db_, rc, what);
  }

  // Error messages name no SQL: they may reach a client (the search layer logs the detail and answers generically).
  Result<sqlite3_stmt*> prepare(std::string_view sql) {
    if (sqlite3_stmt** cached = cache_.find(sql)) return *cached;
    sqlite3_stmt* stmt = nullptr;
    const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                                      &stmt, nullptr);
    if (rc != SQLITE_OK) return fail(rc, "preparing a store statement");
    const auto bytes = static_cast<size_t>(sqlite3_stmt_status(stmt, SQLITE_STMTSTATUS_MEMUSED, 0)) + sql.size();
    return cache_.insert(std::string(sql), stmt, bytes, [](sqlite3_stmt* old) { sqlite3_finalize(old); });
  }

  static constexpr int kProgressInterval = 1000;
  static int onProgress(void* self) {
    auto* conn = static_cast<SqliteConnection*>(self);
    conn->steps_taken_ += kProgressInterval;
    return conn->steps_taken_ > conn->step_limit_ ? 1 : 0;
  }

  sqlite3* db_;
  internal::StatementCache<sqlite3_stmt*> cache_;
  bool retryable_ = false;
  int64_t step_limit_ = 0;
  int64_t steps_taken_ = 0;
};

// Process-wide SQLite settings, applied once before the first connection opens (sqlite3_config works only before
// SQLite initialises; if something else in the process initialised it first, the defaults stay, which costs speed
// only). Memory statistics off: with them on, every sqlite3_malloc and sqlite3_free takes one process-wide mutex,
// and with dozens of handler threads (the write pool) that lock was contended in the create load profile. planbro
// never reads SQLite's memory statistics.
void configureSqliteOnce() {
  static std::once_flag once;
  std::call_once(once, [] { (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); });
}

// The database holds health data: its files are the owner's only (0600), whatever the umask. SQLite gives the
// -wal and -shm files the database file's mode, so the database file is created 0600 before SQLite opens it, and
// files an older version left readable to others are narrowed.
Status restrictFileModes(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return unavailable("cannot open " + path + ": " + std::strerror(errno));
  const int rc = ::fchmod(fd, 0600);
  const int error = errno;
  ::close(fd);
  if (rc != 0) return unavailable("cannot make " + path + " private (0600): " + std::strerror(error));
  for (const char* suffix : {"-wal", "-shm", ".lock"}) {
    const std::string file = path + suffix;
    struct stat st {};
    if (::stat(file.c_str(), &st) == 0 && (st.st_mode & 077) != 0 && ::chmod(file.c_str(), 0600) != 0) {
      return unavailable("cannot make " + file + " private (0600): " + std::strerror(errno));
    }
  }
  return Status::ok();
}

// A lock on the database at `path` (a flock on `path` + ".lock") held while the returned handle lives. A store with
// a read cache needs the database to itself (VersionCache is coherent only then) and takes it exclusively; stores
// without one take it shared, so they can share the database with each other but never with a cached store. The
// lock goes with the process, so a crashed gateway never leaves it behind.
Result<std::shared_ptr<void>> lockDatabase(const std::string& path, bool exclusive) {
  const std::string lock_path = path + ".lock";
  const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return unavailable("cannot open " + lock_path + ": " + std::strerror(errno));
  (void)::fchmod(fd, 0600);
  if (::flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) != 0) {
    const int error = errno;
    ::close(fd);
    if (error == EWOULDBLOCK) {
      return failedPrecondition(path + " is in use by another planbro store (" + lock_path +
                                " is locked): a store with a read cache needs the database to itself, so either "
                                "only one gateway uses it or every one runs with store.read_cache_mb: 0");
    }
    return unavailable("cannot lock " + lock_path + ": " + std::strerror(error));
  }
  return std::shared_ptr<void>(nullptr, [fd](void*) { ::close(fd); });
}

// A WAL of this many frames (4 KiB pages) is copied into the database by the WalCheckpointer. A group commit writes
// a few hundred to a few thousand frames, so with SQLite's default of 1,000 nearly every group also checkpointed;
// the pages that consecutive groups rewrite (hot index leaves) are copied once per several groups at 8,192.
constexpr int kCheckpointThresholdFrames = 8192;

// What the store keeps alive until after its connections are closed, in this order of release: the checkpointer
// (its hook is on the writer connection), then the database lock.
struct OwnedBySqliteStore {
  std::shared_ptr<void> lock;
  std::unique_ptr<internal::WalCheckpointer> checkpointer;
};

}  // namespace

Result<std::unique_ptr<ResourceStore>> openSqliteStore(const SqliteStoreOptions& options) {
  if (options.path.empty()) return invalidArgument("SQLite store: path is empty");
  configureSqliteOnce();
  if (sqlite3_threadsafe() == 0) return internalError("SQLite was built without thread support");
  const bool cached = options.read_cache_bytes > 0;
  if (options.path != ":memory:" && !options.path.starts_with("file:")) RETURN_IF_ERROR(restrictFileModes(options.path));
  ASSIGN_OR_RETURN(std::shared_ptr<void> lock, lockDatabase(options.path, /*exclusive=*/cached));
  auto cache = cached ? std::make_unique<internal::VersionCache>(options.read_cache_bytes) : nullptr;
  // Migrate on a connection of its own before the pool lends any out.
  {
    ASSIGN_OR_RETURN(auto conn, SqliteConnection::open(options));
    int64_t found = 0;
    RETURN_IF_ERROR(internal::migrateSchema(*conn, kSqliteDialect, "", kMigrations, &found));
    if (found > 0 && found < 8) RETURN_IF_ERROR(internal::fillPatientCompartments(*conn, kSqliteDialect).status());
  }
  ASSIGN_OR_RETURN(auto writer_conn, SqliteConnection::open(options));
  sqlite3* writer_db = static_cast<SqliteConnection*>(writer_conn.get())->handle();
  auto writer =
      std::make_unique<internal::GroupCommitWriter>(kSqliteDialect, std::move(writer_conn), options.acquire_timeout);
  ASSIGN_OR_RETURN(auto checkpointer,
                   internal::WalCheckpointer::start(options.path, writer_db, kCheckpointThresholdFrames));
  auto pool = std::make_unique<internal::ConnectionPool>(
      options.pool_size, options.acquire_timeout, [options] { return SqliteConnection::open(options); });
  // Outlives the writer (SqlStore releases `owned` last): the checkpointer's hook sits on the writer connection.
  auto owned = std::make_shared<OwnedBySqliteStore>();
  owned->lock = std::move(lock);
  owned->checkpointer = std::move(checkpointer);
  return internal::makeSqlStore(kSqliteDialect, std::move(pool), std::move(writer), options.clock, std::move(cache),
                                std::move(owned));
}

}  // namespace planbro::gateway::store
