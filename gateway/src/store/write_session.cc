#include <string>

#include "sql_connection.h"

namespace planbro::gateway::store::internal {
namespace {

class PooledSession final : public WriteSession {
 public:
  PooledSession(const Dialect& dialect, PooledConnection conn) : dialect_(dialect), conn_(std::move(conn)) {}
  ~PooledSession() override { rollback(); }

  SqlConnection& conn() override { return *conn_; }

  Status begin() override {
    Status s = conn_->execScript(dialect_.begin_write);
    if (!s.isOk()) {
      // Nothing was written yet, so a connection found broken at BEGIN is worth a retry on a fresh one.
      retryable_ = conn_->lastErrorRetryable() || !conn_->healthy();
      conn_.release();
      return s;
    }
    open_ = true;
    return s;
  }

  Status commit() override {
    if (!open_) return failedPrecondition("no open transaction to commit");
    open_ = false;
    Status s = conn_->execScript("COMMIT");
    if (!s.isOk()) {
      retryable_ = conn_->lastErrorRetryable();
      (void)conn_->execScript("ROLLBACK");
    }
    conn_.release();
    return s;
  }

  void rollback() override {
    if (!open_) return;
    open_ = false;
    (void)conn_->execScript("ROLLBACK");
    conn_.release();
  }

  bool retryable() const override { return retryable_; }

 private:
  const Dialect& dialect_;
  PooledConnection conn_;
  bool open_ = false;
  bool retryable_ = false;
};

// Run as cached prepared statements (SqlConnection::exec), not parsed again for every member of a group.
constexpr std::string_view kSavepoint = "SAVEPOINT planbro_txn";
constexpr std::string_view kReleaseSavepoint = "RELEASE planbro_txn";
constexpr std::string_view kRollbackToSavepoint = "ROLLBACK TO planbro_txn";

Status execCached(SqlConnection& conn, std::string_view sql) { return conn.exec(sql, {}).status(); }

}  // namespace

std::unique_ptr<WriteSession> makePooledSession(const Dialect& dialect, PooledConnection conn) {
  return std::make_unique<PooledSession>(dialect, std::move(conn));
}

struct GroupCommitWriter::Group {
  size_t members = 0;  // logical transactions released into this physical transaction
  bool done = false;
  Status status;
};

class GroupCommitWriter::Session final : public WriteSession {
 public:
  explicit Session(GroupCommitWriter& writer) : w_(writer) {}
  ~Session() override { rollback(); }

  SqlConnection& conn() override { return *w_.conn_; }

  Status begin() override {
    std::unique_lock lock(w_.mutex_);
    ++w_.waiting_;
    const bool got_turn = w_.turn_free_.wait_for(lock, w_.turn_timeout_, [&] { return !w_.busy_; });
    --w_.waiting_;
    if (!got_turn) {
      return unavailable("no turn on the SQLite writer within " + std::to_string(w_.turn_timeout_.count()) +
                         " ms (a write transaction is held open too long)");
    }
    w_.busy_ = true;
    has_turn_ = true;
    if (!w_.group_) {
      Status s = w_.conn_->execScript(w_.dialect_.begin_write);
      if (!s.isOk()) {
        retryable_ = w_.conn_->lastErrorRetryable();
        endTurn(lock);
        return s;
      }
      w_.group_ = std::make_shared<Group>();
    }
    Status s = execCached(*w_.conn_, kSavepoint);
    if (!s.isOk()) {
      retryable_ = w_.conn_->lastErrorRetryable();
      endTurn(lock);
    }
    return s;
  }

  Status commit() override {
    if (!has_turn_) return failedPrecondition("no open transaction to commit");
    Status released = execCached(*w_.conn_, kReleaseSavepoint);
    if (!released.isOk()) {
      retryable_ = w_.conn_->lastErrorRetryable();
      rollback();
      return released;
    }
    std::unique_lock lock(w_.mutex_);
    std::shared_ptr<Group> group = w_.group_;
    if (!group) return internalError("group commit: no open group");  // unreachable: we hold the turn
    ++group->members;
    endTurn(lock);
    w_.group_done_.wait(lock, [&] { return group->done; });
    if (!group->status.isOk()) retryable_ = group->status.code() == StatusCode::kUnavailable;
    return group->status;
  }

  void rollback() override {
    if (!has_turn_) return;
    if (execCached(*w_.conn_, kRollbackToSavepoint).isOk()) (void)execCached(*w_.conn_, kReleaseSavepoint);
    std::unique_lock lock(w_.mutex_);
    std::shared_ptr<Group> group = w_.group_;
    endTurn(lock);
    // What this session read inside the group — another writer's claim on a business key, say — is not durable
    // until the group commits. Wait for that, so a caller acting on what it saw (answering a conditional create
    // with the winner's resource) never reports a write that a crash could still take back.
    if (group) w_.group_done_.wait(lock, [&] { return group->done; });
  }

  bool retryable() const override { return retryable_; }

 private:
  // Runs with `lock` held by the session that has the turn. Commits the physical transaction when no other
  // writer is waiting to join it (or it is full); otherwise leaves it open for the next one.
  void endTurn(std::unique_lock<std::mutex>& lock) {
    has_turn_ = false;
    std::shared_ptr<Group> group = w_.group_;
    if (group) {
      if (!w_.conn_->inTransaction()) {
        // SQLite rolled the whole transaction back (I/O error, disk full): every member of the group failed.
        finish(unavailable("the database rolled back the write group; nothing of it was written"));
      } else if (w_.waiting_ == 0 || group->members >= kMaxGroup) {
        // The fsync runs without the mutex (busy_ keeps the connection ours), so that writers arriving meanwhile
        // can queue up and form the next group instead of each committing alone.
        lock.unlock();
        Status s = group->members > 0 ? w_.conn_->execScript("COMMIT") : w_.conn_->execScript("ROLLBACK");
        if (!s.isOk()) {
          if (w_.conn_->inTransaction()) (void)w_.conn_->execScript("ROLLBACK");
          s = unavailable("commit failed: " + s.message());
        }
        lock.lock();
        finish(std::move(s));
      }
    }
    w_.busy_ = false;
    w_.turn_free_.notify_one();
  }

  // With the mutex held and busy_ set, w_.group_ is still the group this turn belongs to.
  void finish(Status status) {
    w_.group_->done = true;
    w_.group_->status = std::move(status);
    w_.group_.reset();
    w_.group_done_.notify_all();
  }

  GroupCommitWriter& w_;
  bool has_turn_ = false;
  bool retryable_ = false;
};

GroupCommitWriter::GroupCommitWriter(const Dialect& dialect, std::unique_ptr<SqlConnection> conn,
                                     std::chrono::milliseconds turn_timeout)
    : dialect_(dialect), conn_(std::move(conn)), turn_timeout_(turn_timeout) {
  // Every member runs in a SAVEPOINT, so SQLite copies each page it first touches into the savepoint's
  // sub-journal. A create touches dozens of pages (table and index leaves), far past the 64 KiB that SQLite keeps
  // in memory, so by default the sub-journal spilled into a temporary file: most of the writer's pwrite calls in
  // the load benchmark (bench/server/load.sh). In memory it costs a memcpy and a few small allocations per page.
  // (Only rollback needs the sub-journal; the durability of COMMIT does not depend on it.) A larger in-memory
  // threshold instead (SQLITE_CONFIG_STMTJRNL_SPILL) does not help: one large transaction makes the journal spill,
  // and SQLite then keeps writing it to the file for the rest of the connection's life. Failure only costs speed,
  // so it is not an error.
  // A group of kMaxGroup members dirties a few thousand pages; with SQLite's default 2 MB page cache they spilled
  // into the WAL before the COMMIT and were re-read afterwards. 64 MB keeps a whole group (and the hot index pages
  // between groups) in memory; it is one connection, so the cost is bounded.
  // Checkpoints are not this connection's business: openSqliteStore hands them to a WalCheckpointer.
  (void)conn_->execScript("PRAGMA temp_store=MEMORY; PRAGMA cache_size=-65536");
}

GroupCommitWriter::~GroupCommitWriter() = default;

std::unique_ptr<WriteSession> GroupCommitWriter::session() { return std::make_unique<Session>(*this); }

}  // namespace planbro::gateway::store::internal
