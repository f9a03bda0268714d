#pragma once
// The typed operations layer beneath REST: create, update, apply-a-patch, delete and transaction as calls that take a
// write context (who, on whose behalf, from which system, correlation id). REST routes, transaction Bundles, the demo
// loader and adapters all write through it, so the write pipeline (write_pipeline.h), reference checks and business
// keys can never be skipped by choosing another door. Every operation prepares (validates) and runs its conditional
// searches before it takes the store's writer turn, and holds the turn for the store operations only; one loop
// retries what the database reports as retryable and re-plans what a concurrent writer made stale.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "planbro/fhir-model/json.h"
#include "planbro/fhir-model/operation_outcome.h"
#include "planbro/gateway/ops/write_pipeline.h"
#include "planbro/gateway/search/search_executor.h"
#include "planbro/gateway/search/search_request.h"
#include "planbro/gateway/store/resource_store.h"

namespace planbro::gateway::ops {

/** Who writes, for whom, through which system. Set per call. */
struct WriteContext {
  std::string actor;            // the authenticated subject or client id; empty for the system itself
  std::string on_behalf_of;     // the person the actor acts for (e.g. a guardian's ward), when any
  std::string source_system;    // "rest", "demo-loader", "adapter:plo", ...: recorded with every version and event
  std::string correlation_id;   // the request or message id, for logs and audit
  /** Decides whether this caller may make `write` (the access policy), after preparation and before the store.
   *  Empty: allowed. A non-ok Status rejects the write (kPermissionDenied: 403). */
  std::function<Status(const PreparedWrite& write)> authorize;
  /** The requester's search narrowing (search_scope.h) for the search of a conditional create, update or delete:
   *  a match the requester may not see is not found, so the answer never reveals that it exists. Empty: none. */
  search::ScopeFn scope;
  /** Who writes, in the detail the audit trail keeps (HPR number, organisation, client id): WriterOptions::audit. */
  security::AuditAgent agent;
  /** The authenticated requester (WriteOrigin::principal); null: none. */
  std::shared_ptr<const security::Principal> principal;

  store::WriteContext storeContext() const { return store::WriteContext{actor, source_system}; }
  /** What the write pipeline's hooks see of it. */
  WriteOrigin origin() const { return WriteOrigin{actor, on_behalf_of, source_system, correlation_id, principal}; }
};

/** What a write did. `version` is the current version afterwards (json: the stored bytes; empty for deletes). */
struct WriteOutcome {
  enum class Kind {
    kCreated,
    kUpdated,
    kUnchanged,       // an update with identical content: nothing written
    kDeleted,
    kAlreadyDeleted,  // a delete of a resource that was already deleted
    kExisting,        // a conditional create that found (or lost the race to) a matching resource
    kNothingMatched,  // a conditional delete whose search matched nothing
  };
  Kind kind = Kind::kCreated;
  store::ResourceVersion version;
};

/** Turns the current version of a resource into its patched form (JSON Patch, FHIRPath Patch), built in `doc`.
 *  Errors: kInvalidArgument (a malformed patch), kUnprocessable (a patch that does not apply). */
using Patcher = std::function<Result<fhir::JsonValue>(fhir::JsonDocument& doc, const fhir::JsonValue& current)>;

/** One entry of a transaction, already parsed from its Bundle entry. */
struct TransactionEntry {
  enum class Kind { kCreate, kUpdate, kConditionalUpdate, kDelete, kConditionalDelete, kPatch, kRead };
  Kind kind = Kind::kCreate;
  std::string type;
  std::string id;                    // kUpdate, kDelete, kPatch
  search::QueryParams condition;     // kCreate: If-None-Exist (empty: none); kConditional*: the URL's parameters
  std::optional<int64_t> if_match;
  const fhir::JsonValue* resource = nullptr;  // kCreate, kUpdate, kConditionalUpdate (lives as long as the call)
  std::string full_url;              // Bundle.entry.fullUrl, when any
  Patcher patch;                     // kPatch
};

/** The outcome of one transaction entry, in entry order (kRead entries: nullopt, answered by the caller). */
struct TransactionOutcome {
  std::vector<std::optional<WriteOutcome>> entries;
};

/** A failure of one transaction entry: which entry, and the status. */
struct EntryFailure {
  size_t index = 0;
  Status status;
};

struct OperationsOptions {
  WriterOptions writer;
  /** Local references (Type/id) must name an existing resource (or one the same transaction writes): 422 otherwise. */
  bool check_references = true;
  /** Attempts of one write: database-retryable failures and plans a concurrent writer made stale. */
  int max_attempts = 5;
  /** The longest a transaction may hold the writer turn; beyond it the transaction is rolled back (413). */
  std::chrono::milliseconds transaction_writer_budget{10000};
  /** The clock the writer budget is measured with. Empty: the system clock. */
  store::Clock clock;
  /** Bounds on the searches of conditional requests (parameters, OR values, chain depth), as for REST searches. */
  search::ParseOptions search_parse;
};

/**
 * The operations. Thread-safe; blocking (store calls). The store and executor must outlive it. Errors are
 * Statuses whose codes map to HTTP by fhir::httpStatusFor; issues with element locations (validation, references,
 * business keys) are added to `outcome` when given.
 */
class Operations {
 public:
  Operations(store::ResourceStore& store, search::SearchExecutor& executor, OperationsOptions options = {});

  /**
   * Creates `resource` of `type` (id: the given one, else a new UUID). With `if_none_exist` parameters: a single
   * match is answered (kExisting), two or more fail with kFailedPrecondition; the search runs once, before the
   * writer turn, and a concurrent create of the same match is caught by a business key.
   */
  Result<WriteOutcome> create(const WriteContext& context, const std::string& type, const fhir::JsonValue& resource,
                              const search::QueryParams& if_none_exist, fhir::OperationOutcome* outcome,
                              std::string forced_id = {});

  /** Updates (or creates with the client's id) Type/id. `if_match`: kFailedPrecondition when stale. */
  Result<WriteOutcome> update(const WriteContext& context, const std::string& type, const std::string& id,
                              const fhir::JsonValue& resource, std::optional<int64_t> if_match,
                              fhir::OperationOutcome* outcome);

  /**
   * Conditional update: one match is updated; none creates (with the body's id when it has one — a body id naming
   * an existing resource that does not match fails with kConflict); two or more fail with kFailedPrecondition.
   */
  Result<WriteOutcome> conditionalUpdate(const WriteContext& context, const std::string& type,
                                         const search::QueryParams& condition, const fhir::JsonValue& resource,
                                         std::optional<int64_t> if_match, fhir::OperationOutcome* outcome);

  /**
   * Applies `patch` to the current version of Type/id and writes the result as an update. Without `if_match` a
   * concurrent write makes the patch run again on the newer version; with it a stale version is kFailedPrecondition.
   * kNotFound / kGone when there is no current version.
   */
  Result<WriteOutcome> patch(const WriteContext& context, const std::string& type, const std::string& id,
                             const Patcher& patch, std::optional<int64_t> if_match, fhir::OperationOutcome* outcome);

  /** Deletes Type/id. Missing: kNotFound; already deleted: kAlreadyDeleted. */
  Result<WriteOutcome> remove(const WriteContext& context, const std::string& type, const std::string& id,
                              std::optional<int64_t> if_match, fhir::OperationOutcome* outcome);

  /**
   * Runs `entries` as one transaction: all or nothing. Before the writer turn it checks the entries (two entries
   * with one fullUrl, or writing one resource twice: kInvalidArgument), runs every If-None-Exist and conditional
   * URL search once (entries sharing one If-None-Exist resolve to one resource), resolves urn:uuid placeholders and
   * conditional references, applies patches, prepares (validates) every entry and checks references; under the
   * turn it only writes, within the writer budget. On failure `failure` names the entry.
   */
  Result<TransactionOutcome> transaction(const WriteContext& context, const std::vector<TransactionEntry>& entries,
                                         fhir::OperationOutcome* outcome, EntryFailure* failure);

  /**
   * The ids of `type` matching a conditional request's parameters (If-None-Exist, conditional update/delete/
   * reference), at most `limit` (plus an empty id when more exist). Result parameters (_count, _sort, _summary,
   * _include, ...) are refused (kInvalidArgument): they would not narrow the match.
   */
  Result<std::vector<std::string>> findIds(const std::string& type, const search::QueryParams& params, size_t limit,
                                           const search::ScopeFn& scope = {});

  const ResourceWriter& writer() const { return writer_; }

 private:
  /** Every local reference of `write` names a stored resource or one in `written` ("Type/id"). `entry`: the
   *  transaction entry, for Bundle-relative issue locations. Runs before the writer turn. */
  Status checkReferences(const PreparedWrite& write, const std::set<std::string>& written,
                         fhir::OperationOutcome* outcome, std::optional<size_t> entry);
  /** What one attempt under the writer turn asks of the loop. */
  enum class TurnVerdict { kCommit, kRollback, kReplan };
  /** The one retry loop of every write (see operations.cc). `plan(again)` runs outside the writer turn. */
  Status runAttempts(const WriteContext& context, const std::function<Status(bool again)>& plan,
                     const std::function<Result<TurnVerdict>(store::WriteTransaction&)>& apply,
                     std::string_view stale_message);
  /** One write: `prepare` (outside the turn; again when `replan_when_stale` and the base version moved), applied. */
  Result<WriteOutcome> runSingle(const WriteContext& context, const std::function<Result<PreparedWrite>()>& prepare,
                                 bool replan_when_stale, fhir::OperationOutcome* outcome);
  /** prepare() → authorize → reference check. */
  Result<PreparedWrite> prepareChecked(const WriteContext& context, const WriteIntent& intent,
                                       const fhir::JsonValue& resource, fhir::OperationOutcome* outcome);
  store::Timestamp now() const;
  /** Records one write of `write` in WriterOptions::audit (when set): `result` when it committed, else `failure`. */
  void audit(const WriteContext& context, const PreparedWrite& write, const store::WriteResult* result,
             const Status& failure) const;

  store::ResourceStore& store_;
  search::SearchExecutor& executor_;
  OperationsOptions options_;
  ResourceWriter writer_;
};

/** The business key a conditional create claims for its If-None-Exist parameters: sorted, Norwegian identifier
 *  systems in their canonical (OID) form, so two spellings of one condition are one key. */
store::BusinessKey conditionalCreateKey(const std::string& type, const search::QueryParams& if_none_exist);

}  // namespace planbro::gateway::ops
