// The store logic shared by both engines. The SQL is written once with '?' placeholders; the few statements that
// must differ come from the Dialect.
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <limits>
#include <string>

#include "planbro/gateway/store/patient_compartment.h"
#include "planbro/gateway/store/resource_id.h"
#include "index_query_sql.h"
#include "sql_connection.h"
#include "sql_dispatch_state.h"
#include "sql_replay_ledger.h"
#include "two_step_advisor.h"
#include "version_cache.h"

namespace planbro::gateway::store::internal {
namespace {

constexpr std::string_view kVersionColumns =
    "res_type, res_id, version, last_updated, deleted, actor, source_system, content";
constexpr std::string_view kReadCurrentSql =
    "SELECT v.res_type, v.res_id, v.version, v.last_updated, v.deleted, v.actor, v.source_system, v.content "
    "FROM resource r JOIN resource_version v "
    "ON v.res_type = r.res_type AND v.res_id = r.res_id AND v.version = r.version "
    "WHERE r.res_type = ? AND r.res_id = ?";

// The FHIR R4 id and resource-type rules; checked here so that bad input never reaches SQL or a paging token.
bool validId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
  });
}

bool validType(std::string_view type) {
  if (type.empty() || type.size() > 64 || !(type[0] >= 'A' && type[0] <= 'Z')) return false;
  return std::all_of(type.begin(), type.end(),
                     [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); });
}

Status checkTypeAndId(std::string_view type, std::string_view id) {
  if (!validType(type)) return invalidArgument("invalid resource type '" + std::string(type) + "'");
  if (!validId(id)) return invalidArgument("invalid resource id '" + std::string(id) + "'");
  return Status::ok();
}

Result<std::string> sha256(std::string_view bytes) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest.data(), &length, EVP_sha256(), nullptr) != 1) {
    return internalError("SHA-256 failed");
  }
  return std::string(reinterpret_cast<const char*>(digest.data()), length);
}

int64_t micros(Timestamp t) { return t.time_since_epoch().count(); }
Timestamp fromMicros(int64_t m) { return Timestamp(std::chrono::microseconds(m)); }

// Row layout of kVersionColumns.
ResourceVersion toVersion(SqlRow& row) {
  ResourceVersion v;
  v.type = std::move(row.text(0));
  v.id = std::move(row.text(1));
  v.version = row.integer(2);
  v.last_updated = fromMicros(row.integer(3));
  v.deleted = row.integer(4) != 0;
  v.actor = std::move(row.text(5));
  v.source_system = std::move(row.text(6));
  v.json = std::move(row.text(7));
  return v;
}

// The first row of a read, or kNotFound / kGone.
Result<ResourceVersion> oneVersion(SqlResult& r, std::string_view type, std::string_view id) {
  if (r.rows.empty()) return notFound(std::string(type) + "/" + std::string(id) + " not found");
  ResourceVersion v = toVersion(r.rows[0]);
  if (v.deleted) {
    return Status(StatusCode::kGone,
                  std::string(type) + "/" + std::string(id) + " version " + std::to_string(v.version) + " is deleted");
  }
  return v;
}

std::string versionTag(int64_t v) { return "W/\"" + std::to_string(v) + "\""; }

int64_t kindCode(IndexValueKind kind) { return static_cast<int64_t>(kind); }

// flushIndexRows inserts up to this many rows per statement (kIndexColumns parameters each: far below both engines'
// limits).
constexpr size_t kIndexRowsPerInsert = 32;
constexpr size_t kIndexColumns = 12;
// The two-step compartment plan's first statement may take this many SQLite virtual-machine steps per row of the
// page (plus one): a candidate costs 15-25 (its index entry, its head row, the compartment test, the sorter), so
// a page's worth of candidates, or a few pages' worth where the engine sorts every match first, and never a walk
// of a criterion over every patient's resources. SQLite checks the bound every 1,000 steps.
constexpr int64_t kTwoStepStepsPerPageRow = 100;
// The commit inserts up to this many outbox rows per statement (7 parameters each).
constexpr size_t kOutboxRowsPerInsert = 32;
// A transaction holds the index rows it was given until this many are waiting (or until its commit, or a statement
// that deletes index rows), then inserts them together: the rows of several resources share statements.
constexpr size_t kPendingIndexRowsBound = 4 * kIndexRowsPerInsert;

/** The texts of the multi-row search_index INSERT for 1..kIndexRowsPerInsert rows in one dialect, built once. */
class IndexInsertStatements {
 public:
  explicit IndexInsertStatements(std::string_view insert) {
    for (size_t n = 1; n <= kIndexRowsPerInsert; ++n) {
      std::string& t = texts_[n];
      t = std::string(insert) +
          " INTO search_index (res_type, res_id, param, kind, text_value, token_system, token_code, date_low, "
          "date_high, number_value, ref_type, ref_id) VALUES ";
      for (size_t i = 0; i < n; ++i) {
        t += i == 0 ? "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)" : ", (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
      }
    }
  }
  const std::string& forRows(size_t rows) const { return texts_[rows]; }

 private:
  std::array<std::string, kIndexRowsPerInsert + 1> texts_;
};

struct Head {
  int64_t version = 0;
  bool deleted = false;
  int64_t last_updated = 0;
  std::string hash;
};

struct PendingEvent {
  std::string type;
  std::string id;
  int64_t version;
  ChangeKind kind;
  int64_t at;
};

class SqlWriteTransaction final : public WriteTransaction {
 public:
  SqlWriteTransaction(const Dialect& dialect, const IndexInsertStatements& index_inserts, VersionCache* cache,
                      std::unique_ptr<WriteSession> session, Clock clock, WriteContext context,
                      std::atomic<uint64_t>* local_commits = nullptr)
      : dialect_(dialect),
        index_inserts_(index_inserts),
        cache_(cache),
        local_commits_(local_commits),
        session_(std::move(session)),
        clock_(std::move(clock)),
        context_(std::move(context)) {}

  ~SqlWriteTransaction() override { rollback(); }

  Status start() {
    Status s = session_->begin();
    if (!s.isOk()) {
      open_ = false;
      retryable_ = session_->retryable();
      session_.reset();
    }
    return s;
  }

  Result<WriteResult> create(std::string_view type, ResourceContent content,
                             std::optional<std::string_view> id) override {
    RETURN_IF_ERROR(usable());
    std::string new_id;
    if (id) {
      new_id = std::string(*id);
    } else {
      new_id = newResourceId();
    }
    RETURN_IF_ERROR(check(checkTypeAndId(type, new_id)));
    ASSIGN_OR_RETURN(std::string hash, sha256(content.canonical.empty() ? content.json : content.canonical));
    ASSIGN_OR_RETURN(std::optional<WriteResult> written,
                     writeVersion(type, new_id, std::nullopt, content.json, hash, ChangeKind::kCreate));
    if (!written) return fail({StatusCode::kAlreadyExists, std::string(type) + "/" + new_id + " already exists"});
    return std::move(*written);
  }

  Result<WriteResult> update(std::string_view type, std::string_view id, ResourceContent content,
                             std::optional<int64_t> expected_version) override {
    RETURN_IF_ERROR(usable());
    RETURN_IF_ERROR(check(checkTypeAndId(type, id)));
    ASSIGN_OR_RETURN(std::string hash, sha256(content.canonical.empty() ? content.json : content.canonical));
    // Two attempts: in PostgreSQL a concurrent create of the same client id makes our head insert a no-op; the
    // second pass then finds (and locks) the committed head and proceeds as an update.
    for (int attempt = 0; attempt < 2; ++attempt) {
      ASSIGN_OR_RETURN(std::optional<Head> head, selectHead(type, id));
      RETURN_IF_ERROR(checkExpected(type, id, head, expected_version));
      if (head && !head->deleted && head->hash == hash) {
        return WriteResult{WriteResult::Outcome::kUnchanged, std::string(type), std::string(id), head->version,
                           fromMicros(head->last_updated)};
      }
      const ChangeKind kind = (!head || head->deleted) ? ChangeKind::kCreate : ChangeKind::kUpdate;
      ASSIGN_OR_RETURN(std::optional<WriteResult> written, writeVersion(type, id, head, content.json, hash, kind));
      if (written) return std::move(*written);
    }
    return fail(unavailable("concurrent create of " + std::string(type) + "/" + std::string(id)));
  }

  Result<WriteResult> remove(std::string_view type, std::string_view id,
                             std::optional<int64_t> expected_version) override {
    RETURN_IF_ERROR(usable());
    RETURN_IF_ERROR(check(checkTypeAndId(type, id)));
    ASSIGN_OR_RETURN(std::optional<Head> head, selectHead(type, id));
    RETURN_IF_ERROR(checkExpected(type, id, head, expected_version));
    if (!head || head->deleted) {
      return WriteResult{WriteResult::Outcome::kUnchanged, std::string(type), std::string(id),
                         head ? head->version : 0, head ? fromMicros(head->last_updated) : Timestamp{}};
    }
    ASSIGN_OR_RETURN(std::optional<WriteResult> result, writeVersion(type, id, head, {}, {}, ChangeKind::kDelete));
    dropPendingIndex(type, id);
    RETURN_IF_ERROR(run("DELETE FROM search_index WHERE res_type = ? AND res_id = ?", {type, id}).status());
    RETURN_IF_ERROR(run("DELETE FROM business_key WHERE res_type = ? AND res_id = ?", {type, id}).status());
    return std::move(*result);
  }

  Result<ClaimResult> claimKey(const BusinessKey& key, std::string_view id) override {
    RETURN_IF_ERROR(usable());
    RETURN_IF_ERROR(check(checkTypeAndId(key.type, id)));
    if (key.kind.empty()) return fail(invalidArgument("business key kind is empty"));
    // The unique primary key decides. In PostgreSQL a concurrent uncommitted claim makes this INSERT wait for
    // that transaction; if it commits we see its row below, if it rolls back our insert goes through.
    for (int attempt = 0; attempt < 3; ++attempt) {
      ASSIGN_OR_RETURN(SqlResult ins,
                       run("INSERT INTO business_key (res_type, key_kind, key_value, res_id) VALUES (?, ?, ?, ?) "
                           "ON CONFLICT DO NOTHING",
                           {key.type, key.kind, key.value, id}));
      if (ins.affected == 1) return ClaimResult{true, std::string(id)};
      ASSIGN_OR_RETURN(SqlResult owner,
                       run("SELECT res_id FROM business_key WHERE res_type = ? AND key_kind = ? AND key_value = ?",
                           {key.type, key.kind, key.value}));
      if (owner.rows.empty()) continue;  // released between our two statements: try again
      std::string owner_id = std::move(owner.rows[0].text(0));
      const bool mine = owner_id == id;
      return ClaimResult{mine, std::move(owner_id)};
    }
    return fail(unavailable("business key kept changing owner"));
  }

  Status releaseKey(const BusinessKey& key) override {
    RETURN_IF_ERROR(usable());
    return run("DELETE FROM business_key WHERE res_type = ? AND key_kind = ? AND key_value = ?",
               {key.type, key.kind, key.value})
        .status();
  }

  Status releaseKeyHeldBy(const BusinessKey& key, std::string_view id) override {
    RETURN_IF_ERROR(usable());
    return run("DELETE FROM business_key WHERE res_type = ? AND key_kind = ? AND key_value = ? AND res_id = ?",
               {key.type, key.kind, key.value, id})
        .status();
  }

  Result<std::optional<std::string>> findKeyOwner(const BusinessKey& key) override {
    RETURN_IF_ERROR(usable());
    ASSIGN_OR_RETURN(SqlResult owner,
                     run("SELECT res_id FROM business_key WHERE res_type = ? AND key_kind = ? AND key_value = ?",
                         {key.type, key.kind, key.value}));
    if (owner.rows.empty()) return std::optional<std::string>();
    return std::optional<std::string>(std::move(owner.rows[0].text(0)));
  }

  Status replaceIndex(std::string_view type, std::string_view id, const std::vector<IndexRow>& rows) override {
    RETURN_IF_ERROR(usable());
    RETURN_IF_ERROR(check(checkTypeAndId(type, id)));
    dropPendingIndex(type, id);
    RETURN_IF_ERROR(run("DELETE FROM search_index WHERE res_type = ? AND res_id = ?", {type, id}).status());
    return holdIndexRows(type, id, rows);
  }

  Status addIndex(std::string_view type, std::string_view id, const std::vector<IndexRow>& rows) override {
    RETURN_IF_ERROR(usable());
    RETURN_IF_ERROR(check(checkTypeAndId(type, id)));
    return holdIndexRows(type, id, rows);
  }

  Result<ResourceVersion> read(std::string_view type, std::string_view id) override {
    RETURN_IF_ERROR(usable());
    ASSIGN_OR_RETURN(SqlResult r, run(kReadCurrentSql, {type, id}));
    return oneVersion(r, type, id);
  }

  Result<ResourceVersion> readForUpdate(std::string_view type, std::string_view id) override {
    RETURN_IF_ERROR(usable());
    RETURN_IF_ERROR(check(checkTypeAndId(type, id)));
    // SQLite writers are serial (the writer holds the database's write lock): there is no row lock to take, and
    // the read alone is the locked read.
    if (dialect_.for_update.empty()) return read(type, id);
    // The head row lock (FOR UPDATE in PostgreSQL) is what every writer of this resource takes first. Taken by its
    // own statement: a locked read joined to the version rows would, after waiting for a concurrent writer, recheck
    // the join against its old snapshot, miss the new version and answer "not found".
    ASSIGN_OR_RETURN(std::optional<Head> head, selectHead(type, id));
    if (!head) return notFound(std::string(type) + "/" + std::string(id) + " not found");
    return read(type, id);
  }

  Status commit() override {
    if (Status s = usable(); !s.isOk()) {
      rollback();  // a poisoned transaction must not keep its locks until the object dies
      return s;
    }
    Status s = commitNow();
    if (!s.isOk()) rollback();
    return s;
  }

  void rollback() override {
    pending_index_.clear();
    pending_index_rows_ = 0;
    if (!open_) return;
    open_ = false;
    session_->rollback();
    session_.reset();
  }

  bool retryable() const override { return retryable_; }

 private:
  Status commitNow() {
    RETURN_IF_ERROR(flushIndexRows());
    // The outbox rows go in last, under the commit lock (PostgreSQL: shared, so writers do not serialise), which
    // readOutbox's barrier uses to wait out transactions that hold positions but have not finished.
    if (!events_.empty()) {
      if (!dialect_.commit_lock.empty()) RETURN_IF_ERROR(runScript(dialect_.commit_lock));
      RETURN_IF_ERROR(insertOutboxRows());
    }
    open_ = false;
    // Before and after the commit (VersionCache): afterwards no older version of what we wrote can be cached.
    invalidateCached();
    Status s = session_->commit();
    invalidateCached();
    // After the commit, whatever its outcome: a reader that sees the count unchanged saw every committed change.
    if (local_commits_ != nullptr && !events_.empty()) local_commits_->fetch_add(1, std::memory_order_acq_rel);
    if (!s.isOk()) {
      retryable_ = session_->retryable();
      (void)fail(s);
    }
    session_.reset();
    return s;
  }

  void invalidateCached() {
    if (!cache_) return;
    for (const PendingEvent& e : events_) cache_->invalidate(e.type, e.id);
  }

  Status usable() {
    if (!poison_.isOk()) return poison_;
    if (!open_) return failedPrecondition("the transaction is already finished");
    return Status::ok();
  }

  Status fail(Status s) {
    if (poison_.isOk()) poison_ = s;
    return s;
  }

  Status check(Status s) { return s.isOk() ? s : fail(std::move(s)); }

  Result<SqlResult> run(std::string_view sql, std::span<const SqlParam> params) {
    auto r = session_->conn().exec(sql, params);
    if (!r.isOk()) {
      retryable_ = session_->conn().lastErrorRetryable();
      (void)fail(r.status());
    }
    return r;
  }
  Result<SqlResult> run(std::string_view sql, std::initializer_list<SqlParam> params) {
    return run(sql, std::span<const SqlParam>(params.begin(), params.size()));
  }

  // Keeps the rows of (type, id) for a later multi-row INSERT (flushIndexRows). Rows of the parameters the head
  // answers (answeredFromHead: `_id`, `_lastUpdated`) are not written: each was a row and a value-index entry (one
  // more dirty page) per write that repeated the head's own columns. Nothing in a write transaction reads
  // search_index (searches run on the store, outside it); the statements that delete rows drop or flush the held
  // ones first, so holding them changes no outcome, only how many statements carry them.
  Status holdIndexRows(std::string_view type, std::string_view id, const std::vector<IndexRow>& rows) {
    PendingIndex held{std::string(type), std::string(id), {}};
    held.rows.reserve(rows.size());
    for (const IndexRow& r : rows) {
      if (r.param.empty()) return fail(invalidArgument("index row without a parameter code"));
      if (!answeredFromHead(r.param, r.kind)) held.rows.push_back(r);
    }
    RETURN_IF_ERROR(recordCompartment(type, id, rows));
    if (held.rows.empty()) return Status::ok();
    pending_index_rows_ += held.rows.size();
    pending_index_.push_back(std::move(held));
    if (pending_index_rows_ >= kPendingIndexRowsBound) return flushIndexRows();
    return Status::ok();
  }

  // Keeps the resource's patient compartment on its head row (schema 8), for the version whose rows these are:
  // the one patient its compartment parameters name, or NULL (none or several: a narrowed search then probes the
  // index rows). Marked with the head's version, so a later version written without its index (or by an older
  // gateway on the same database) is never answered from a stale compartment.
  Status recordCompartment(std::string_view type, std::string_view id, const std::vector<IndexRow>& rows) {
    if (patientCompartmentParams(type).empty()) return Status::ok();
    const std::optional<std::string_view> patient = singleCompartmentPatient(type, rows);
    const SqlParam value = patient ? SqlParam(*patient) : SqlParam(nullptr);
    return run("UPDATE resource SET patient_compartment = ?, compartment_version = version WHERE res_type = ? AND "
               "res_id = ?",
               {value, type, id})
        .status();
  }

  // Forgets the held rows of (type, id): the statement that follows deletes its rows.
  void dropPendingIndex(std::string_view type, std::string_view id) {
    std::erase_if(pending_index_, [&](const PendingIndex& p) {
      if (p.type != type || p.id != id) return false;
      pending_index_rows_ -= p.rows.size();
      return true;
    });
  }

  // Inserts every held row, up to kIndexRowsPerInsert per statement whatever resource each belongs to: a resource
  // has dozens of rows and a statement has a fixed cost (start, statement journal, halt), and a write of an IP
  // resource gives its rows and its Provenance's to one statement instead of two (docs/performance.md).
  Status flushIndexRows() {
    if (pending_index_.empty()) return Status::ok();
    std::vector<SqlParam> params;
    params.reserve(std::min(pending_index_rows_, kIndexRowsPerInsert) * kIndexColumns);
    size_t count = 0;
    for (const PendingIndex& p : pending_index_) {
      for (const IndexRow& r : p.rows) {
        params.insert(params.end(), {std::string_view(p.type), std::string_view(p.id), r.param, kindCode(r.kind),
                                     r.text, r.system, r.code, r.date_low, r.date_high, r.number, r.ref_type,
                                     r.ref_id});
        if (++count == kIndexRowsPerInsert) {
          RETURN_IF_ERROR(run(index_inserts_.forRows(count), params).status());
          params.clear();
          count = 0;
        }
      }
    }
    if (count != 0) RETURN_IF_ERROR(run(index_inserts_.forRows(count), params).status());
    pending_index_.clear();
    pending_index_rows_ = 0;
    return Status::ok();
  }

  // The transaction's outbox rows, several per statement (a write of an IP resource has two: it and its
  // Provenance), in the order of the writes: the positions are handed out in that order.
  Status insertOutboxRows() {
    std::vector<SqlParam> params;
    std::string sql;
    for (size_t first = 0; first < events_.size(); first += kOutboxRowsPerInsert) {
      const size_t count = std::min(kOutboxRowsPerInsert, events_.size() - first);
      params.clear();
      sql = "INSERT INTO outbox (res_type, res_id, version, change_kind, source_system, actor, occurred_at) VALUES ";
      for (size_t i = first; i < first + count; ++i) {
        const PendingEvent& e = events_[i];
        sql += i == first ? "(?, ?, ?, ?, ?, ?, ?)" : ", (?, ?, ?, ?, ?, ?, ?)";
        params.insert(params.end(), {e.type, e.id, e.version, static_cast<int64_t>(e.kind), context_.source_system,
                                     context_.actor, e.at});
      }
      RETURN_IF_ERROR(run(sql, params).status());
    }
    return Status::ok();
  }

  Status runScript(std::string_view sql) {
    Status s = session_->conn().execScript(sql);
    if (!s.isOk()) {
      retryable_ = session_->conn().lastErrorRetryable();
      (void)fail(s);
    }
    return s;
  }

  Result<std::optional<Head>> selectHead(std::string_view type, std::string_view id) {
    const std::string sql = std::string("SELECT version, deleted, last_updated, content_hash FROM resource "
                                        "WHERE res_type = ? AND res_id = ?") +
                            std::string(dialect_.for_update);
    ASSIGN_OR_RETURN(SqlResult r, run(sql, {type, id}));
    if (r.rows.empty()) return std::optional<Head>();
    SqlRow& row = r.rows[0];
    return std::optional<Head>(Head{row.integer(0), row.integer(1) != 0, row.integer(2), std::move(row.text(3))});
  }

  Status checkExpected(std::string_view type, std::string_view id, const std::optional<Head>& head,
                       std::optional<int64_t> expected) {
    if (!expected) return Status::ok();
    if (!head || head->deleted) {
      return fail(failedPrecondition("If-Match " + versionTag(*expected) + " but " + std::string(type) + "/" +
                                     std::string(id) + (head ? " is deleted" : " does not exist")));
    }
    if (head->version != *expected) {
      return fail(failedPrecondition("If-Match " + versionTag(*expected) + " but the current version of " +
                                     std::string(type) + "/" + std::string(id) + " is " + versionTag(head->version)));
    }
    return Status::ok();
  }

  // Writes the next version and moves the head to it. Without a head the head row is inserted; nullopt means a
  // head for this id appeared meanwhile (a concurrent create in PostgreSQL, or the client id is taken).
  Result<std::optional<WriteResult>> writeVersion(std::string_view type, std::string_view id,
                                                  const std::optional<Head>& head, std::string_view json,
                                                  std::string_view hash, ChangeKind kind) {
    const int64_t version = head ? head->version + 1 : 1;
    // lastUpdated never goes backwards for one resource, even if the injected clock does.
    const int64_t at = std::max(micros(clock_()), head ? head->last_updated : std::numeric_limits<int64_t>::min());
    const int64_t deleted = kind == ChangeKind::kDelete ? 1 : 0;
    if (head) {
      RETURN_IF_ERROR(run("UPDATE resource SET version = ?, deleted = ?, last_updated = ?, content_hash = ? "
                          "WHERE res_type = ? AND res_id = ?",
                          {version, deleted, at, Blob{hash}, type, id})
                          .status());
    } else {
      ASSIGN_OR_RETURN(SqlResult r, run("INSERT INTO resource (res_type, res_id, version, deleted, last_updated, "
                                        "content_hash) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                                        {type, id, version, deleted, at, Blob{hash}}));
      if (r.affected != 1) return std::optional<WriteResult>();
    }
    RETURN_IF_ERROR(run("INSERT INTO resource_version (res_type, res_id, version, last_updated, deleted, actor, "
                        "source_system, content) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        {type, id, version, at, deleted, context_.actor, context_.source_system, Blob{json}})
                        .status());
    events_.push_back(PendingEvent{std::string(type), std::string(id), version, kind, at});
    WriteResult::Outcome outcome = kind == ChangeKind::kDelete   ? WriteResult::Outcome::kDeleted
                                   : kind == ChangeKind::kCreate ? WriteResult::Outcome::kCreated
                                                                 : WriteResult::Outcome::kUpdated;
    return std::optional<WriteResult>(WriteResult{outcome, std::string(type), std::string(id), version, fromMicros(at)});
  }

  const Dialect& dialect_;
  const IndexInsertStatements& index_inserts_;
  VersionCache* cache_;  // may be null
  std::atomic<uint64_t>* local_commits_;  // the store's localCommitCount(); may be null
  std::unique_ptr<WriteSession> session_;
  Clock clock_;
  WriteContext context_;
  std::vector<PendingEvent> events_;
  // Index rows given to addIndex / replaceIndex and not yet inserted (holdIndexRows).
  struct PendingIndex {
    std::string type;
    std::string id;
    std::vector<IndexRow> rows;
  };
  std::vector<PendingIndex> pending_index_;
  size_t pending_index_rows_ = 0;
  Status poison_;
  bool open_ = true;
  bool retryable_ = false;
};

class SqlStore final : public ResourceStore {
 public:
  SqlStore(const Dialect& dialect, std::unique_ptr<ConnectionPool> pool, std::unique_ptr<GroupCommitWriter> writer,
           Clock clock, std::unique_ptr<VersionCache> cache, std::shared_ptr<void> owned)
      : dialect_(dialect),
        owned_(std::move(owned)),
        index_inserts_(dialect.insert_in_transaction),
        pool_(std::move(pool)),
        writer_(std::move(writer)),
        clock_(clock ? std::move(clock) : systemClock()),
        cache_(std::move(cache)),
        dispatch_state_(makeSqlDispatchState(dialect_, *pool_, [this] { return writeSession(); })),
        replay_ledger_(makeSqlReplayLedger(*pool_, writer_ ? WriteSessionSource([this] { return writeSession(); })
                                                           : WriteSessionSource())) {}

  std::string_view engine() const override { return dialect_.engine; }

  Result<ResourceVersion> read(std::string_view type, std::string_view id) override {
    RETURN_IF_ERROR(checkTypeAndId(type, id));
    VersionCache::Lookup cached;
    if (cache_) {
      cached = cache_->lookup(type, id);
      if (cached.hit) return ResourceVersion(*cached.hit);
    }
    ASSIGN_OR_RETURN(SqlResult r, query(kReadCurrentSql, {type, id}));
    Result<ResourceVersion> v = oneVersion(r, type, id);
    if (cache_ && v.isOk()) cache_->offer(cached.ticket, *v);
    return v;
  }

  std::shared_ptr<const ResourceVersion> readCached(std::string_view type, std::string_view id) override {
    if (!cache_) return nullptr;
    return cache_->lookup(type, id).hit;
  }

  std::optional<uint64_t> localCommitCount() override {
    // With a read cache the store is the database's only writer (sqlite_store.cc takes its lock exclusively).
    if (!cache_) return std::nullopt;
    return local_commits_.load(std::memory_order_acquire);
  }

  Result<ResourceVersion> vread(std::string_view type, std::string_view id, int64_t version) override {
    RETURN_IF_ERROR(checkTypeAndId(type, id));
    ASSIGN_OR_RETURN(SqlResult r, query("SELECT " + std::string(kVersionColumns) +
                                            " FROM resource_version WHERE res_type = ? AND res_id = ? AND version = ?",
                                        {type, id, version}));
    return oneVersion(r, type, id);
  }

  Result<HistoryPage> history(const HistoryQuery& q) override {
    if (q.count == 0 || q.count > kMaxPageSize) {
      return invalidArgument("history page size must be 1.." + std::to_string(kMaxPageSize));
    }
    if (q.id && !q.type) return invalidArgument("instance history needs a resource type");
    if (q.type && !validType(*q.type)) return invalidArgument("invalid resource type '" + *q.type + "'");
    if (q.id && !validId(*q.id)) return invalidArgument("invalid resource id '" + *q.id + "'");
    std::string sql = "SELECT " + std::string(kVersionColumns) + " FROM resource_version WHERE 1 = 1";
    std::vector<SqlParam> params;
    if (q.type) {
      sql += " AND res_type = ?";
      params.emplace_back(std::string_view(*q.type));
    }
    if (q.id) {
      sql += " AND res_id = ?";
      params.emplace_back(std::string_view(*q.id));
    }
    if (q.since) {
      sql += " AND last_updated >= ?";
      params.emplace_back(micros(*q.since));
    }
    if (q.after) {
      // Newest first: the next page holds the keys strictly below the cursor, compared as a tuple.
      sql += " AND (last_updated, res_type, res_id, version) < (?, ?, ?, ?)";
      params.emplace_back(micros(q.after->last_updated));
      params.emplace_back(std::string_view(q.after->type));
      params.emplace_back(std::string_view(q.after->id));
      params.emplace_back(q.after->version);
    }
    sql += " ORDER BY last_updated DESC, res_type DESC, res_id DESC, version DESC LIMIT ?";
    params.emplace_back(static_cast<int64_t>(q.count + 1));
    ASSIGN_OR_RETURN(SqlResult r, query(sql, params));
    HistoryPage page;
    for (size_t i = 0; i < r.rows.size() && i < q.count; ++i) page.entries.push_back(toVersion(r.rows[i]));
    if (r.rows.size() > q.count) {
      const ResourceVersion& last = page.entries.back();
      page.next = HistoryCursor{last.last_updated, last.type, last.id, last.version};
    }
    return page;
  }

  Result<std::unique_ptr<WriteTransaction>> begin(const WriteContext& context) override {
    ASSIGN_OR_RETURN(std::unique_ptr<WriteSession> session, writeSession());
    auto txn = std::make_unique<SqlWriteTransaction>(dialect_, index_inserts_, cache_.get(), std::move(session), clock_,
                                                     context, cache_ ? &local_commits_ : nullptr);
    RETURN_IF_ERROR(txn->start());
    return std::unique_ptr<WriteTransaction>(std::move(txn));
  }

  Result<std::string> serverSecret(std::string_view name) override {
    if (name.empty() || name == kMasterSecretName) return invalidArgument("invalid server secret name");
    ASSIGN_OR_RETURN(SqlResult found, query("SELECT name, secret FROM server_secret WHERE name = ? OR name = ?",
                                            {name, kMasterSecretName}));
    std::string master;
    for (SqlRow& row : found.rows) {
      std::string secret = std::move(row.text(1));
      if (secret.size() != kServerSecretSize) return internalError("a server secret is damaged");
      if (row.text(0) == name) return secret;  // stored by an older version under its own name
      master = std::move(secret);
    }
    if (master.empty()) return internalError("the store has no master secret (it is made when the store opens)");
    std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
    unsigned int length = 0;
    if (HMAC(EVP_sha256(), master.data(), static_cast<int>(master.size()),
             reinterpret_cast<const unsigned char*>(name.data()), name.size(), mac.data(), &length) == nullptr ||
        length != kServerSecretSize) {
      return internalError("HMAC-SHA-256 failed");
    }
    return std::string(reinterpret_cast<const char*>(mac.data()), length);
  }

  Result<std::vector<OutboxEvent>> readOutbox(int64_t after, size_t limit) override {
    if (limit == 0 || limit > kMaxPageSize) return invalidArgument("outbox batch must be 1.." + std::to_string(kMaxPageSize));
    ASSIGN_OR_RETURN(SqlResult r, withConnection([&](SqlConnection& conn) -> Result<SqlResult> {
      ASSIGN_OR_RETURN(int64_t horizon, outboxHorizon(conn));
      return conn.exec("SELECT position, res_type, res_id, version, change_kind, source_system, actor, occurred_at "
                       "FROM outbox WHERE position > ? AND position <= ? ORDER BY position LIMIT ?",
                       {after, horizon, static_cast<int64_t>(limit)});
    }));
    std::vector<OutboxEvent> events;
    events.reserve(r.rows.size());
    for (SqlRow& row : r.rows) {
      OutboxEvent e;
      e.position = row.integer(0);
      e.type = std::move(row.text(1));
      e.id = std::move(row.text(2));
      e.version = row.integer(3);
      e.kind = static_cast<ChangeKind>(row.integer(4));
      e.source_system = std::move(row.text(5));
      e.actor = std::move(row.text(6));
      e.occurred_at = fromMicros(row.integer(7));
      events.push_back(std::move(e));
    }
    return events;
  }

  Result<std::optional<std::string>> findKeyOwner(const BusinessKey& key) override {
    ASSIGN_OR_RETURN(SqlResult r,
                     query("SELECT res_id FROM business_key WHERE res_type = ? AND key_kind = ? AND key_value = ?",
                           {key.type, key.kind, key.value}));
    if (r.rows.empty()) return std::optional<std::string>();
    return std::optional<std::string>(std::move(r.rows[0].text(0)));
  }

  Result<IndexPage> searchIndex(const IndexQuery& q) override {
    if (!validType(q.type)) return invalidArgument("invalid resource type '" + q.type + "'");
    if (q.count == 0 || q.count > kMaxPageSize) {
      return invalidArgument("search page size must be 1.." + std::to_string(kMaxPageSize));
    }
    IndexQuerySql built;
    RETURN_IF_ERROR(buildIndexQuerySql(dialect_, q, built));
    std::vector<std::string> ids;
    int64_t steps = 0;
    bool answered = false;
    if (built.compartment_drives_over_another && dialect_.bounds_engine_steps &&
        two_step_.shouldTry(built.two_step_shape)) {
      ASSIGN_OR_RETURN(answered, twoStep(q, built.two_step_shape, ids, steps));
    }
    if (!answered) {
      const int64_t left = q.max_engine_steps > 0 ? std::max<int64_t>(1, q.max_engine_steps - steps) : 0;
      ASSIGN_OR_RETURN(SqlResult r, runIndexSql(built, left));
      steps += r.engine_steps;
      for (SqlRow& row : r.rows) ids.push_back(std::move(row.text(0)));
    }
    IndexPage page;
    page.engine_steps = steps;
    for (size_t i = 0; i < ids.size() && i < q.count; ++i) page.ids.push_back(std::move(ids[i]));
    if (ids.size() > q.count) page.next_after_id = page.ids.back();
    return page;
  }

  // The two-step plan (index_query_sql.h, IndexQueryPlan). Step one: the other group drives for at most a page
  // of candidates (its LIMIT, where its index yields them in id order) and at most kTwoStepStepsPerPageRow engine
  // steps per row of the page (where the engine must sort, a token without a system: it reads every match
  // first), each candidate tested on its head row's compartment. Step two, only when step one did not fill the
  // page: the compartment-driven statement after the last candidate step one saw. False (and `ids` untouched)
  // when step one ran out of its step budget: the caller runs the compartment-driven statement for the page.
  Result<bool> twoStep(const IndexQuery& q, const std::string& shape, std::vector<std::string>& ids, int64_t& steps) {
    const size_t budget = q.count + 1;
    IndexQuerySql first;
    RETURN_IF_ERROR(buildIndexQuerySql(dialect_, q, first, IndexQueryPlan{true, budget}));
    int64_t step_budget = kTwoStepStepsPerPageRow * static_cast<int64_t>(budget);
    if (q.max_engine_steps > 0) step_budget = std::min(step_budget, q.max_engine_steps);
    Result<SqlResult> tried = runIndexSql(first, step_budget);
    if (!tried.isOk()) {
      if (tried.status().code() != StatusCode::kInvalidArgument) return tried.status();
      steps += step_budget;  // what the interrupted statement took, at least
      two_step_.record(shape, false);
      return false;
    }
    SqlResult& r = *tried;
    steps += r.engine_steps;
    const std::string last_seen = r.rows.empty() ? std::string() : r.rows.back().text(0);
    for (SqlRow& row : r.rows) {
      if (ids.size() > q.count) break;
      if (row.integer(1) != 1) continue;
      if (!ids.empty() && ids.back() == row.text(0)) continue;  // another matching row of the same resource
      ids.push_back(std::move(row.text(0)));
    }
    const bool filled = ids.size() > q.count || r.rows.size() < budget;
    two_step_.record(shape, filled);
    if (filled) return true;
    IndexQuery rest = q;
    rest.after_id = last_seen;
    rest.count = q.count - ids.size();  // its statement asks for one more: this page's count + 1 in all
    IndexQuerySql finish;
    RETURN_IF_ERROR(buildIndexQuerySql(dialect_, rest, finish));
    // The step bound is the search's, not each statement's.
    const int64_t left = q.max_engine_steps > 0 ? std::max<int64_t>(1, q.max_engine_steps - steps) : 0;
    ASSIGN_OR_RETURN(SqlResult more, runIndexSql(finish, left));
    steps += more.engine_steps;
    for (SqlRow& row : more.rows) ids.push_back(std::move(row.text(0)));
    return true;
  }

  Result<SqlResult> runIndexSql(const IndexQuerySql& built, int64_t max_engine_steps) {
    return withConnection([&](SqlConnection& conn) {
      conn.setStepLimit(max_engine_steps);
      auto result = conn.exec(built.sql, built.params);
      conn.setStepLimit(0);
      return result;
    });
  }

  size_t cachedStatementBytes() override { return pool_->idleStatementBytes(); }

  size_t connectionsInUse() override { return pool_->inUse(); }

  DispatchState* dispatchState() override { return dispatch_state_.get(); }

  ReplayLedger* replayLedger() override { return replay_ledger_.get(); }

  Result<OutboxStats> outboxStats() override {
    ASSIGN_OR_RETURN(SqlResult r, withConnection([](SqlConnection& conn) {
      return conn.exec("SELECT COALESCE(MAX(position), 0), COUNT(*) FROM outbox", {});
    }));
    OutboxStats stats;
    stats.newest_position = r.rows[0].integer(0);
    stats.events = r.rows[0].integer(1);
    return stats;
  }

 private:
  // SQLite: a turn on the single group-commit writer; PostgreSQL: a pooled connection of its own.
  Result<std::unique_ptr<WriteSession>> writeSession() {
    if (writer_) return writer_->session();
    ASSIGN_OR_RETURN(PooledConnection conn, pool_->acquire());
    return makePooledSession(dialect_, std::move(conn));
  }

  // The highest outbox position below which no transaction is still running. In PostgreSQL a sequence hands out
  // positions at insert, not at commit, so a transaction holding position 10 may commit after one holding 11;
  // reading up to 11 too early would skip 10 for good. Taking the writers' shared lock exclusively waits until
  // every transaction that holds a position has ended; the largest position then visible is safe.
  Result<int64_t> outboxHorizon(SqlConnection& conn) {
    const std::string_view max_sql = "SELECT COALESCE(MAX(position), 0) FROM outbox";
    if (dialect_.outbox_barrier.empty()) {
      ASSIGN_OR_RETURN(SqlResult r, conn.exec(max_sql, {}));
      return r.rows[0].integer(0);
    }
    RETURN_IF_ERROR(conn.execScript("BEGIN"));
    Status locked = conn.execScript(dialect_.outbox_barrier);
    Result<SqlResult> r = locked.isOk() ? conn.exec(max_sql, {}) : Result<SqlResult>(locked);
    if (!r.isOk()) {
      (void)conn.execScript("ROLLBACK");
      return r.status();
    }
    RETURN_IF_ERROR(conn.execScript("COMMIT"));
    return r->rows[0].integer(0);
  }

  // Runs read-only `fn` on a pooled connection. If the connection turns out broken (the server restarted, the
  // network dropped it), the pool discards it with its idle siblings and `fn` runs once more on a fresh one:
  // reads are safe to repeat.
  template <typename Fn>
  auto withConnection(Fn&& fn) -> decltype(fn(std::declval<SqlConnection&>())) {
    for (int attempt = 0;; ++attempt) {
      ASSIGN_OR_RETURN(PooledConnection conn, pool_->acquire());
      auto r = fn(*conn);
      if (r.isOk() || conn->healthy() || attempt >= 1) return r;
    }
  }

  Result<SqlResult> query(std::string_view sql, std::span<const SqlParam> params) {
    return withConnection([&](SqlConnection& conn) { return conn.exec(sql, params); });
  }
  Result<SqlResult> query(std::string_view sql, std::initializer_list<SqlParam> params) {
    return query(sql, std::span<const SqlParam>(params.begin(), params.size()));
  }

  const Dialect& dialect_;
  std::shared_ptr<void> owned_;  // declared first so it goes last: released after the connections close
  IndexInsertStatements index_inserts_;
  std::unique_ptr<ConnectionPool> pool_;
  std::unique_ptr<GroupCommitWriter> writer_;  // SQLite only
  Clock clock_;
  std::unique_ptr<VersionCache> cache_;  // may be null
  std::atomic<uint64_t> local_commits_{0};  // commits with changes through this store (localCommitCount)
  std::unique_ptr<DispatchState> dispatch_state_;  // uses pool_ and writer_, so declared after them
  std::unique_ptr<ReplayLedger> replay_ledger_;    // likewise
  TwoStepAdvisor two_step_;
};

}  // namespace

std::unique_ptr<ResourceStore> makeSqlStore(const Dialect& dialect, std::unique_ptr<ConnectionPool> pool,
                                            std::unique_ptr<GroupCommitWriter> writer, Clock clock,
                                            std::unique_ptr<VersionCache> cache, std::shared_ptr<void> owned) {
  return std::make_unique<SqlStore>(dialect, std::move(pool), std::move(writer), std::move(clock), std::move(cache),
                                    std::move(owned));
}

}  // namespace planbro::gateway::store::internal
