#pragma once
// The durable, versioned FHIR resource store: one interface, two engines (SQLite embedded, PostgreSQL shared by
// several gateway nodes). See docs/store.md for the schema, the durability and the concurrency model.
//
// Everything here is blocking (it waits on the database) and meant to run on worker threads, never on an I/O
// thread. A ResourceStore is thread-safe; a WriteTransaction belongs to one thread at a time.
//
// Contract on resource bytes: the store keeps the JSON bytes it is given and returns them unchanged. It does not
// parse them and does not insert meta.versionId / meta.lastUpdated: it returns them as fields beside the bytes, and
// the REST layer puts them in the response. "An update that changes nothing creates no new version" is decided by
// comparing a SHA-256 of the caller's canonical bytes (ResourceContent::canonical, or the JSON itself when empty).

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "planbro/fhir-model/status.h"

namespace planbro::gateway::store {

class DispatchState;  // dispatch_state.h
class ReplayLedger;   // replay_ledger.h

/** Microseconds since the Unix epoch, UTC: meta.lastUpdated and outbox timestamps. */
using Timestamp = std::chrono::sys_time<std::chrono::microseconds>;
/** The injected clock. Must be callable from any thread. */
using Clock = std::function<Timestamp()>;
/** The system clock, truncated to microseconds. */
Clock systemClock();

/** Who made a change and through which system (REST client id, adapter name, ...). Recorded per version. */
struct WriteContext {
  std::string actor;          // e.g. the HelseID subject or client id; may be empty for the system itself
  std::string source_system;  // e.g. "rest", "adapter:plo"; may be empty
};

/** One stored version of a resource. A tombstone (deleted) has empty json. */
struct ResourceVersion {
  std::string type;
  std::string id;
  int64_t version = 0;  // meta.versionId, 1, 2, ... per resource
  Timestamp last_updated{};
  bool deleted = false;
  std::string json;
  std::string actor;
  std::string source_system;
};

/** What a caller writes: the JSON to store, and optionally the canonical bytes used for the no-change test. */
struct ResourceContent {
  std::string_view json;
  std::string_view canonical;  // empty: json itself is compared
};

enum class ChangeKind { kCreate, kUpdate, kDelete };
std::string_view changeKindName(ChangeKind kind);  // "create", "update", "delete"

/** The outcome of one write inside a transaction. */
struct WriteResult {
  enum class Outcome {
    kCreated,    // a new resource (version 1, or the first version after a delete)
    kUpdated,    // a new version
    kDeleted,    // a tombstone version
    kUnchanged,  // update with identical content, or delete of a missing / already deleted resource: nothing written
  };
  Outcome outcome = Outcome::kUnchanged;
  std::string type;
  std::string id;
  int64_t version = 0;  // the current version after the write (0 when the resource never existed)
  Timestamp last_updated{};
};

/**
 * A unique business key: at most one resource of `type` holds (kind, value). `kind` names the purpose, e.g.
 * "if-none-exist" (value: the normalised conditional-create query) or "identifier" (value: "system|value").
 * Claims are enforced by a unique constraint in the database, in the write transaction.
 */
struct BusinessKey {
  std::string type;
  std::string kind;
  std::string value;
};

struct ClaimResult {
  bool claimed = false;   // true: the key now belongs to the id given (or already did)
  std::string owner_id;   // the id holding the key: the given id when claimed, else the existing owner
};

/** The kind of value in a search-index row (the R4 search parameter types the store indexes). */
enum class IndexValueKind { kString, kToken, kDate, kNumber, kReference, kUri };

/**
 * One search-index row of a resource's current version. Only the fields of its kind are used:
 *   kString: text (normalised by the indexer: case- and accent-folded for the default string search)
 *   kToken: system (may be empty), code
 *   kDate: date_low..date_high (inclusive, microseconds; use the int64 limits for open ends)
 *   kNumber: number
 *   kReference: ref_type, ref_id (or text for an absolute URL reference)
 *   kUri: text
 * Rows of `_id` (kToken) and `_lastUpdated` (kDate) are accepted and not stored: the store answers predicates on
 * them from the resource's own id and last-updated time (docs/search.md, "The store's query plan").
 */
struct IndexRow {
  std::string param;  // the search parameter code, e.g. "subject", "status"
  IndexValueKind kind = IndexValueKind::kToken;
  std::string text;
  std::string system;
  std::string code;
  int64_t date_low = 0;
  int64_t date_high = 0;
  double number = 0;
  std::string ref_type;
  std::string ref_id;
};

/**
 * A write transaction. All writes in it commit together or not at all. The first failed operation poisons it:
 * later operations return that failure, commit() returns it and rolls back. Answers are not failures: read()'s
 * kNotFound / kGone, a claim held by another id, an unchanged update. Destroying an uncommitted transaction
 * rolls it back. Not thread-safe: use it from one thread. Every create/update/delete that writes a version appends
 * exactly one outbox event in the same transaction.
 */
class WriteTransaction {
 public:
  virtual ~WriteTransaction() = default;

  /**
   * Creates a resource. With no id the store assigns a new UUID; with a client id that exists (deleted or not)
   * it fails with kAlreadyExists.
   */
  virtual Result<WriteResult> create(std::string_view type, ResourceContent content,
                                     std::optional<std::string_view> id = std::nullopt) = 0;

  /**
   * Writes a new version. A missing or deleted resource is created (create-on-update). With expected_version
   * (If-Match) a different current version, or no current version, fails with kFailedPrecondition. Content equal to
   * the current version's gives kUnchanged and writes nothing.
   */
  virtual Result<WriteResult> update(std::string_view type, std::string_view id, ResourceContent content,
                                     std::optional<int64_t> expected_version = std::nullopt) = 0;

  /**
   * Deletes: writes a tombstone version, removes the resource's index rows and releases its business keys.
   * Missing or already deleted: kUnchanged. expected_version as for update().
   */
  virtual Result<WriteResult> remove(std::string_view type, std::string_view id,
                                     std::optional<int64_t> expected_version = std::nullopt) = 0;

  /**
   * Claims `key` for resource `id` (race-free: a concurrent claim of the same key waits for this transaction and
   * then sees it). Already held by another id: claimed=false with that owner; nothing is written.
   */
  virtual Result<ClaimResult> claimKey(const BusinessKey& key, std::string_view id) = 0;

  /** Releases `key` whoever holds it. Not held: ok. */
  virtual Status releaseKey(const BusinessKey& key) = 0;

  /** Releases `key` only while resource `id` holds it (an update dropping a key it claimed never frees a key that
   *  another resource holds). Not held, or held by another id: ok, nothing changes. */
  virtual Status releaseKeyHeldBy(const BusinessKey& key, std::string_view id) = 0;

  /** The id holding `key` as this transaction sees it (its own claims and releases included), or nullopt: for a
   *  rule that needs to know whether a resource carries a keyed value (a Patient's person number) without reading
   *  and parsing it. Takes no lock. The default answers nullopt (no holder known), so a caller must treat nullopt
   *  as "not known", never as proof that no resource holds the key. */
  virtual Result<std::optional<std::string>> findKeyOwner(const BusinessKey& key) {
    (void)key;
    return std::optional<std::string>();
  }

  /** Replaces all search-index rows of (type, id) with `rows`. */
  virtual Status replaceIndex(std::string_view type, std::string_view id, const std::vector<IndexRow>& rows) = 0;

  /** Adds the search-index rows of a resource that has none yet (its first version was just written in this
   * transaction): replaceIndex without looking for old rows, which the write path's creates would pay for. */
  virtual Status addIndex(std::string_view type, std::string_view id, const std::vector<IndexRow>& rows) = 0;

  /** Reads the current version as this transaction sees it (its own writes included). kNotFound / kGone. */
  virtual Result<ResourceVersion> read(std::string_view type, std::string_view id) = 0;

  /**
   * read(), and the resource is locked against concurrent writers until this transaction ends: a write of it in
   * another transaction waits for this one (PostgreSQL: the head row FOR UPDATE; a write committed meanwhile is
   * the version returned). For a business rule that depends on another resource staying as it was read (a plan
   * started on a consent that must not be withdrawn underneath). SQLite writers are serial: a plain read. The
   * default is read(), for transactions without row locks.
   */
  virtual Result<ResourceVersion> readForUpdate(std::string_view type, std::string_view id) { return read(type, id); }

  /** Commits. Durable when it returns ok. Afterwards the transaction is finished. */
  virtual Status commit() = 0;

  /** Rolls back everything. Idempotent. */
  virtual void rollback() = 0;

  /** True when the failure that poisoned this transaction was a serialization failure, deadlock or busy database:
   *  running the whole transaction again may succeed. */
  virtual bool retryable() const = 0;
};

/** A keyset cursor for history: the position of the last entry returned. */
struct HistoryCursor {
  Timestamp last_updated{};
  std::string type;
  std::string id;
  int64_t version = 0;

  /** An opaque, URL-safe token ("<micros>~<type>~<id>~<version>"). */
  std::string toToken() const;
  static Result<HistoryCursor> fromToken(std::string_view token);
};

/** History query: instance (type and id), type (type only) or system (neither). Newest first. */
struct HistoryQuery {
  std::optional<std::string> type;
  std::optional<std::string> id;           // requires type
  std::optional<Timestamp> since;          // _since: versions with last_updated >= since
  size_t count = 50;                       // _count, 1..kMaxPageSize
  std::optional<HistoryCursor> after;      // continue after this entry
};

struct HistoryPage {
  std::vector<ResourceVersion> entries;
  std::optional<HistoryCursor> next;  // set when more entries may follow
};

/** One outbox event: one committed change. */
struct OutboxEvent {
  int64_t position = 0;  // strictly increasing in commit order
  std::string type;
  std::string id;
  int64_t version = 0;
  ChangeKind kind = ChangeKind::kCreate;
  std::string source_system;
  std::string actor;
  Timestamp occurred_at{};
};

/** What the outbox holds (ResourceStore::outboxStats). The outbox keeps every change; each subscriber's own
 *  position is the dispatcher's (store/dispatch_state.h). */
struct OutboxStats {
  int64_t newest_position = 0;  // the highest position written (committed or, in PostgreSQL, about to be); 0: none
  int64_t events = 0;           // events in the outbox
};

/**
 * One predicate on a search-index parameter; a resource matches when one of its rows for `param` matches
 * (or, with negate, when none does). Only the fields of `kind` are read:
 *   kToken: code (nullopt = any code), system (nullopt = any system, "" = no system)
 *   kString: text with match kExact / kPrefix / kContains (the indexer's normalisation applies to both sides)
 *   kUri: text, kExact or kPrefix (":below")
 *   kReference: ref_id, ref_type (nullopt = any type); or text for an absolute URL
 *   kDate: row bounds, all inclusive and optional: low_ge <= date_low <= low_le, high_ge <= date_high <= high_le.
 *          The search layer maps FHIR prefixes onto these (eq: low_ge=qlow, high_le=qhigh; gt: high_ge=qhigh+1, ...).
 *   kNumber: number_ge <= number <= number_le (optional bounds)
 */
struct IndexPredicate {
  enum class Match { kExact, kPrefix, kContains };
  std::string param;
  IndexValueKind kind = IndexValueKind::kToken;
  Match match = Match::kExact;
  bool negate = false;
  std::optional<std::string> system;
  std::optional<std::string> code;
  std::string text;
  std::optional<std::string> ref_type;
  std::string ref_id;
  std::optional<int64_t> low_ge, low_le, high_ge, high_le;
  std::optional<double> number_ge, number_le;
  /** Non-empty: a presence test instead of a value match (search `:missing`). It matches a resource with any row
   *  of `param` and `kind` (whatever its value), or a token row of `presence_param` (the row a parameter gets when
   *  its element is there without a row of its own value kind); the value fields above are ignored. Never drives
   *  a query from the index (it spans two index kinds). */
  std::string presence_param;
};

/**
 * Finds current, non-deleted resources of `type` matching every group of `all_of`, where a group matches when any
 * of its predicates does (FHIR: '&' between parameters, ',' between values). Results by id ascending, keyset paged.
 *
 * Cost: the predicates of a group that differ only in their value (codes of one token parameter, ids of one
 * reference parameter and type, exact texts) are one index lookup over a list bound as a single parameter, so a
 * group of n such values costs O(n log n + matches), not n correlated subqueries, and the SQL text (and so the
 * prepared-statement cache) does not depend on n. Such a group, or a single positive predicate, drives the query
 * from the index (docs/search.md, "The store's query plan"). Values must not contain NUL (kInvalidArgument).
 */
struct IndexQuery {
  std::string type;
  std::vector<std::vector<IndexPredicate>> all_of;
  size_t count = 50;                     // 1..kMaxPageSize
  std::optional<std::string> after_id;   // continue after this id
  /** SQLite: the query stops with kInvalidArgument ("narrow the search") once it has taken this many virtual
   *  machine steps, a bound on the rows it examines however the plan goes. 0: no bound. PostgreSQL: not enforced
   *  here (its statement_timeout is the operator's tool). */
  int64_t max_engine_steps = 0;
};

struct IndexPage {
  std::vector<std::string> ids;
  std::optional<std::string> next_after_id;  // set when more ids may follow
  /** The engine's own count of the work the query took where it has one (SQLite: virtual machine steps), else 0.
   *  For tests and diagnostics that bound work, never for results. */
  int64_t engine_steps = 0;
};

inline constexpr size_t kMaxPageSize = 1000;
inline constexpr size_t kServerSecretSize = 32;

/** The store. Thread-safe; every call blocks on the database. */
class ResourceStore {
 public:
  virtual ~ResourceStore() = default;

  /** "sqlite" or "postgresql". */
  virtual std::string_view engine() const = 0;

  /** The current version. Missing: kNotFound; deleted: kGone. */
  virtual Result<ResourceVersion> read(std::string_view type, std::string_view id) = 0;

  /**
   * The current version if the store holds it in memory, answered without any I/O or wait (a request thread that
   * must not block may call it); null when it would have to ask the database. What it returns is what read()
   * would return now. Stores without a cache always answer null.
   */
  virtual std::shared_ptr<const ResourceVersion> readCached(std::string_view type, std::string_view id) {
    (void)type;
    (void)id;
    return nullptr;
  }

  /** One version (vread). Missing: kNotFound; a tombstone version: kGone. */
  virtual Result<ResourceVersion> vread(std::string_view type, std::string_view id, int64_t version) = 0;

  /** Instance, type or system history, newest first, tombstones included. */
  virtual Result<HistoryPage> history(const HistoryQuery& query) = 0;

  /**
   * Starts a write transaction. PostgreSQL: it holds one pooled connection until commit or rollback. SQLite: it
   * holds the single writer's turn (writes are serial; commits are grouped, see docs/store.md), so keep it short and
   * never begin a second one on the same thread while one is open. Waits up to the acquire timeout for a
   * connection or the turn, then fails with kUnavailable. Reads and searches through the store (not through the
   * transaction) take another pooled connection: a worker that does both at once needs a pool of 2 per worker.
   */
  virtual Result<std::unique_ptr<WriteTransaction>> begin(const WriteContext& context) = 0;

  /** Outbox events with position > after, in commit order, at most `limit`. */
  virtual Result<std::vector<OutboxEvent>> readOutbox(int64_t after, size_t limit) = 0;

  /** The id holding `key`, or nullopt. */
  virtual Result<std::optional<std::string>> findKeyOwner(const BusinessKey& key) = 0;

  /** Index search; see IndexQuery. */
  virtual Result<IndexPage> searchIndex(const IndexQuery& query) = 0;

  /**
   * A secret of this deployment named `name`: kServerSecretSize bytes, the same ever after for every gateway node on
   * the database. Derived (HMAC-SHA-256 over the name) from the deployment's master secret, which the store creates
   * when it opens (race-free across nodes: under the migration lock, the first insert wins), so this only reads:
   * it never needs a write transaction or the SQLite writer, and may be called inside one. A secret stored under
   * `name` by an older version (made lazily then) is returned as it is, so sealed links stay valid. For keys such
   * as the one sealing search page tokens. Callers should cache it.
   */
  virtual Result<std::string> serverSecret(std::string_view name) = 0;

  /** Bytes the prepared-statement caches of the store's idle connections hold (SQLite: the statements' memory as
   *  SQLite reports it; PostgreSQL: an estimate from their text). Bounded per connection by the options'
   *  statement_cache_bytes. For metrics and tests; 0 for stores without such caches. */
  virtual size_t cachedStatementBytes() { return 0; }

  /** Pooled connections lent out now (reads, searches, PostgreSQL write transactions; not the SQLite writer's own
   *  connection). No I/O: a lock and a subtraction, so a metrics scrape may call it anywhere. 0 without a pool. */
  virtual size_t connectionsInUse() { return 0; }

  /** The outbox's newest position and event count, read without the outbox barrier (so, unlike readOutbox, it
   *  never waits for writers). One query on a pooled connection: it blocks on the database like any read, and
   *  COUNT walks the outbox's primary key, so callers on a request path should cache it. */
  virtual Result<OutboxStats> outboxStats() = 0;

  /** The number of committed transactions with changes made through this store object, when it is the database's
   *  only writer (SQLite with its read cache), read without I/O: a caller that saw the same count before reading the
   *  outbox knows that nothing has changed since (the consent entitlement cache). nullopt where other writers may
   *  exist (PostgreSQL, an uncached SQLite store): then only readOutbox tells. */
  virtual std::optional<uint64_t> localCommitCount() { return std::nullopt; }

  /** The dispatcher's consumer state in this store's database (dispatch_state.h); null for stores without one.
   *  Lives as long as the store. */
  virtual DispatchState* dispatchState() { return nullptr; }

  /** One-time claims with an expiry (the shared DPoP replay cache, replay_ledger.h); null when the store has none.
   *  Owned by the store. */
  virtual ReplayLedger* replayLedger() { return nullptr; }

  /**
   * Runs `body` in a transaction and commits it; when the transaction failed retryably (see
   * WriteTransaction::retryable) it runs `body` again, at most `max_attempts` times in all. `body` must therefore
   * be repeatable. Returns the first non-retryable failure, or the last failure.
   */
  Status runTransaction(const WriteContext& context, const std::function<Status(WriteTransaction&)>& body,
                        int max_attempts = 5);
};

struct SqliteStoreOptions {
  std::string path;                    // the database file; created when missing
  size_t pool_size = 4;                // reader connections: the number of worker threads (+1 writer connection)
  std::chrono::milliseconds busy_timeout{10000};    // waiting for the write lock
  std::chrono::milliseconds acquire_timeout{10000};  // waiting for a pooled connection
  Clock clock;                         // empty: systemClock()
  // Bytes of current versions kept in memory for read() (0: none). With a cache the store must be the database's
  // only user: it locks `path` + ".lock" exclusively, and any other store on the same database (in this or another
  // process) fails to open with kFailedPrecondition, as does a cached store while others are open. Stores without
  // a cache share the database with each other.
  size_t read_cache_bytes = 0;
  // Prepared statements kept per connection, least recently used dropped beyond this (bytes, as SQLite counts them).
  size_t statement_cache_bytes = 4u << 20;
};

/** Opens (creating or migrating the schema) a SQLite store. */
Result<std::unique_ptr<ResourceStore>> openSqliteStore(const SqliteStoreOptions& options);

struct PostgresStoreOptions {
  std::string conninfo;                // a libpq connection string or URI
  std::string schema;                  // empty: the server's search_path; else created if missing and used
  size_t pool_size = 4;
  std::chrono::milliseconds acquire_timeout{10000};
  Clock clock;                         // empty: systemClock()
  // Prepared statements kept per connection, least recently used deallocated beyond this (estimated bytes).
  size_t statement_cache_bytes = 4u << 20;
};

/** Connects to PostgreSQL and creates or migrates the schema (serialised across processes by an advisory lock). */
Result<std::unique_ptr<ResourceStore>> openPostgresStore(const PostgresStoreOptions& options);

}  // namespace planbro::gateway::store
