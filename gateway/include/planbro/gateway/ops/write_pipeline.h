#pragma once
// The staged write pipeline every write of the gateway goes through (REST, Bundles, the demo loader, adapters), by
// way of the operations layer (operations.h):
//   prepare(): pure CPU work, no I/O — transform (generated narrative, when a transform is installed) → validate
//              (the pipeline's ResourceValidator, built with a profile set) → pure business rules → id, canonical
//              bytes, index rows, the local references to check;
//   apply():   the store operations of one write inside a caller's WriteTransaction — the transaction hooks (which
//              see the stored and the proposed version and answer business-key claims and releases), then the
//              version, index rows, keys and outbox event together.
// Split in two so that a transaction Bundle prepares every entry before it takes the store's writer turn.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "planbro/fhir-model/json.h"
#include "planbro/fhir-model/operation_outcome.h"
#include "planbro/fhir-model/validator.h"
#include "planbro/gateway/ops/write_metrics.h"
#include "planbro/gateway/security/audit_sink.h"
#include "planbro/gateway/security/principal.h"
#include "planbro/gateway/store/resource_store.h"

namespace planbro::gateway::ops {

enum class WriteKind { kCreate, kUpdate, kDelete };

/** What a caller wants written. */
struct WriteIntent {
  WriteKind kind = WriteKind::kCreate;
  std::string type;
  std::string id;                          // create: empty → a new UUID is assigned by prepare(); else required
  std::optional<int64_t> if_match;         // expected current version (If-Match); mismatch → kFailedPrecondition
  std::optional<store::BusinessKey> claim; // conditional create: claimed in the same store transaction
};

/**
 * Validates a resource about to be written. Implementations hold their profile set; thread-safe, no I/O. The
 * base implementation (makeBaseValidator) checks the R4 core definitions; a profile validator plugs in here.
 */
class ResourceValidator {
 public:
  virtual ~ResourceValidator() = default;
  virtual fhir::OperationOutcome validate(const fhir::JsonValue& resource) const = 0;
};

/** The R4 base validator (fhir::validateResource) with `options`. */
std::shared_ptr<const ResourceValidator> makeBaseValidator(fhir::ValidationOptions options = {});

/** A validator holding resources to the profiles of `validator`'s set as well (meta.profile claims, required
 *  profiles, known extensions): fhir::Validator. Shares `validator`, which must not be null. */
std::shared_ptr<const ResourceValidator> makeProfileValidator(std::shared_ptr<const fhir::Validator> validator);

/**
 * A transform run before validation (generated narrative, normalisation). Returns the resource to validate and
 * store, built in `doc`, or an error Status. Pure; thread-safe.
 */
class ResourceTransform {
 public:
  virtual ~ResourceTransform() = default;
  virtual Result<fhir::JsonValue> transform(fhir::JsonDocument& doc, const fhir::JsonValue& resource) const = 0;
};

/**
 * Business rules run after validation on every write (individual-plan rules land here). Ok allows the write; a
 * non-ok Status (kUnprocessable for a broken rule, kConflict for a clash) rejects it. `resource` is null for
 * deletes. Pure (no I/O); thread-safe.
 */
class BusinessRules {
 public:
  virtual ~BusinessRules() = default;
  virtual Status check(const WriteIntent& intent, const fhir::JsonValue* resource) const = 0;
};

struct PreparedWrite;

/** A unique business key a write asks for, with what to tell the client when another resource holds it. */
struct KeyClaim {
  store::BusinessKey key;
  std::string location;     // the element that carries the key: "Patient.identifier[0]"
  std::string description;  // what the key is, in words, never its value: "fødselsnummer"
  /** Optional, for a business rule's key (all three or none): the rule's id ("GW-01"), and the clash in English
   *  (diagnostics) and bokmål (details.text); "{holder}" in them becomes `Type/id` of the resource holding the key. */
  std::string rule;
  std::string conflict_en;
  std::string conflict_nb;
};

/** Who makes a write, as the hooks see it: the operations layer's WriteContext without its access policy. */
struct WriteOrigin {
  std::string actor;           // the authenticated subject or client id; empty for the system itself
  std::string on_behalf_of;    // the person the actor acts for, when any
  std::string source_system;   // "rest", "demo-loader", "adapter:plo", ...
  std::string correlation_id;  // the request or message id
  /** The authenticated requester, when the door has one (REST with access control); null otherwise. What a hook
   *  records of the writer with the resource (a Subscription's creator) comes from here, never from the body. */
  std::shared_ptr<const security::Principal> principal;
};

/** What a hook sees of the write besides the two versions: the store transaction it runs in (reads as the
 *  transaction sees them, its own earlier writes included; readForUpdate to lock what a rule depends on) and who
 *  writes. */
struct HookContext {
  /** A check run once every write of the store transaction is done (in a transaction Bundle: after its later
   *  entries too), before the commit: a rule about another resource the same Bundle may write after this one. Its
   *  issues go to the outcome given; a non-ok Status rejects the whole transaction. */
  using Deferred = std::function<Status(store::WriteTransaction& tx, fhir::OperationOutcome* outcome)>;

  store::WriteTransaction& tx;
  const WriteOrigin& origin;
  std::vector<Deferred>* deferred;  // never null inside a hook
  fhir::OperationOutcome* outcome;  // where a rule's issues go; may be null

  void defer(Deferred check) { deferred->push_back(std::move(check)); }
};

/** What a hook worked out for one write before the writer turn (TransactionHook::plan): the hook's own subclass. */
struct HookPlan {
  virtual ~HookPlan() = default;
};

/** The keys one write claims and releases. */
struct KeyChanges {
  std::vector<KeyClaim> claims;
  std::vector<store::BusinessKey> releases;  // released only while this resource holds them
};

/**
 * A hook run inside the store transaction of every create, update and delete of the types it watches. It sees the
 * current stored version (null when there is none, or it is deleted) and the proposed one (null for a delete) and
 * answers the business keys to claim and release; a claim another resource holds fails the write with kConflict
 * (409) naming that resource. A non-ok Status rejects the write. Pure apart from its arguments; thread-safe.
 */
class TransactionHook {
 public:
  virtual ~TransactionHook() = default;
  virtual bool watches(std::string_view type) const = 0;
  /** The pure form: the keys from the two versions alone. Default: none. */
  virtual Result<KeyChanges> keys(std::string_view type, const fhir::JsonValue* current,
                                  const fhir::JsonValue* proposed) const {
    (void)type;
    (void)current;
    (void)proposed;
    return KeyChanges{};
  }
  /** What the pipeline calls: a hook whose rule must read the store (a consent a plan start depends on) overrides
   *  this one. Default: the pure form. `write` is the prepared write (intent, canonical bytes). */
  virtual Result<KeyChanges> keysInTransaction(HookContext& context, const PreparedWrite& write,
                                               const fhir::JsonValue* current, const fhir::JsonValue* proposed) const;
  /**
   * Called after the store wrote a version of `write` (created, updated or deleted; not for an unchanged update),
   * in the same transaction: for what must be recorded with it (a Provenance). A non-ok Status rolls the write
   * back. `current` is the version replaced (null when none), `proposed` the one written (null for a delete).
   * Default: nothing.
   */
  virtual Status written(HookContext& context, const PreparedWrite& write, const store::WriteResult& result,
                         const fhir::JsonValue* current, const fhir::JsonValue* proposed) const {
    (void)context;
    (void)write;
    (void)result;
    (void)current;
    (void)proposed;
    return Status::ok();
  }
  /**
   * The part of the hook's work that needs neither the stored version nor the store: called by
   * ResourceWriter::prepare() (outside the writer turn, which serialises every write) when it is given the origin;
   * what it returns is found again inside the turn with write.planOf(this). A hook must give the same answers
   * without its plan (a write prepared without an origin has none). `proposed` is null for a delete. Default: none.
   */
  /**
   * Rewrites a proposed create or update before it is validated (ResourceWriter::prepare()), for what the server
   * records with the resource from the origin rather than from the client (a Subscription's creator). Built in
   * `doc`; called with an empty origin when prepare() was given none. Pure; thread-safe. Default: unchanged.
   */
  virtual Result<fhir::JsonValue> stamp(fhir::JsonDocument& doc, std::string_view type, const fhir::JsonValue& proposed,
                                        const WriteOrigin& origin) const {
    (void)doc;
    (void)type;
    (void)origin;
    return proposed;
  }
  virtual std::shared_ptr<const HookPlan> plan(const PreparedWrite& write, const WriteOrigin& origin,
                                               const fhir::JsonValue* proposed) const {
    (void)write;
    (void)origin;
    (void)proposed;
    return nullptr;
  }
};

/**
 * A TransactionHook whose keys are a function of one version: claims are the proposed version's keys, releases the
 * current version's keys the proposed one no longer has. Most business keys (identifiers, "one active plan per
 * patient") are of this kind.
 */
class KeyedResourceHook : public TransactionHook {
 public:
  /** The keys `resource` (a version of `type`) holds. */
  virtual std::vector<KeyClaim> keysOf(std::string_view type, const fhir::JsonValue& resource) const = 0;
  Result<KeyChanges> keys(std::string_view type, const fhir::JsonValue* current,
                          const fhir::JsonValue* proposed) const override;
};

/** A local reference found in a resource, to be resolved before it is stored. */
struct LocalReference {
  std::string type;
  std::string id;
  std::string location;  // the Reference element: "CarePlan.subject", "CarePlan.goal[1]"
};

/** A write ready for the store. */
struct PreparedWrite {
  WriteIntent intent;                 // id is always set
  std::string json;                   // canonical bytes: definition order, id set, no meta.versionId/lastUpdated
  std::vector<store::IndexRow> rows;  // _lastUpdated rows are fixed to the version's timestamp by apply()
  std::vector<LocalReference> references;  // Type/id references (not contained, not absolute)
  /** The tree `json` is written from (equal to `json` parsed), for the hooks (null when no hook watches the type). */
  std::shared_ptr<const fhir::JsonDocument> parsed;
  /** The hooks' plans (TransactionHook::plan), made by prepare() when it was given the origin. */
  std::vector<std::pair<const TransactionHook*, std::shared_ptr<const HookPlan>>> hook_plans;

  /** The plan `hook` made for this write, or null. */
  const HookPlan* planOf(const TransactionHook* hook) const {
    for (const auto& [h, p] : hook_plans) {
      if (h == hook) return p.get();
    }
    return nullptr;
  }
};

/** The outcome of apply(). */
struct AppliedWrite {
  store::WriteResult result;
  /** Conditional create lost the race: the key is held by this id and nothing was written (the caller rolls
   *  back and answers with the existing resource). */
  std::optional<std::string> existing_owner;
};

struct WriterOptions {
  /** Used when `validator` is null (the R4 base validator with these options). */
  fhir::ValidationOptions validation;
  std::shared_ptr<const ResourceValidator> validator;      // nullptr: makeBaseValidator(validation)
  std::shared_ptr<const ResourceTransform> transform;      // nullptr: none
  std::shared_ptr<BusinessRules> rules;                    // nullptr: none
  std::vector<std::shared_ptr<const TransactionHook>> hooks;
  /** The server's own base URL, no trailing '/': absolute references under it are indexed as relative ones, so
   *  searches match both forms (search::IndexOptions::own_base_url). Empty: none. */
  std::string own_base_url;
  /** Search index rows one resource version may produce (search::IndexOptions::max_rows); beyond it the write is
   *  refused with kResourceExhausted (413) before the store is touched. `limits.max_index_rows_per_resource`. */
  size_t max_index_rows = 10000;
  /** Search index rows all writes of one transaction may produce together; beyond it the transaction is refused
   *  (kResourceExhausted, 413) before the writer turn. `limits.max_index_rows_per_transaction`. 0: none. */
  size_t max_transaction_index_rows = 200000;
  /** Validation and transaction metrics (see write_metrics.h); nullptr: none. */
  std::shared_ptr<const WriteMetrics> metrics;
  /** Every committed write (and every prepared write that failed in the store) is recorded here by the operations
   *  layer, one record per resource written (docs/security.md, Audit); nullptr: none. */
  std::shared_ptr<security::AuditSink> audit;
};

/** Stateless apart from its options; thread-safe. */
class ResourceWriter {
 public:
  explicit ResourceWriter(WriterOptions options = {});

  /**
   * Transforms and validates `resource` (which must have resourceType == intent.type, and an id equal to
   * intent.id when it has one, for updates), runs the business rules, sets the id and drops
   * meta.versionId/lastUpdated, indexes, and lists the local references. Errors: kInvalidArgument (wrong type or
   * id mismatch, bad id), kUnprocessable with the validator's issues in `outcome` (when given), or a rule's Status.
   * With `origin` (who will write it, as apply() will be told), the hooks' plans are made here too.
   */
  Result<PreparedWrite> prepare(WriteIntent intent, const fhir::JsonValue& resource,
                                fhir::OperationOutcome* outcome = nullptr, const WriteOrigin* origin = nullptr) const;
  /** A delete: runs the business rules with no resource; with `origin`, the hooks' plans as for prepare(). */
  Result<PreparedWrite> prepareDelete(WriteIntent intent, const WriteOrigin* origin = nullptr) const;

  /**
   * Runs the store operations of `write` in `tx`, the transaction hooks first. Errors are the store's
   * (kFailedPrecondition, kAlreadyExists, ...) or a hook's; a business key held by another resource is kConflict,
   * with an issue naming it (its location, and `Type/id` of the holder) added to `outcome` when given. `origin`:
   * who writes, for the hooks. `deferred`: the caller runs the hooks' deferred checks once the transaction's other
   * writes are done (a transaction Bundle); null: apply() runs them itself after this write.
   */
  Result<AppliedWrite> apply(store::WriteTransaction& tx, const PreparedWrite& write,
                             fhir::OperationOutcome* outcome = nullptr, const WriteOrigin* origin = nullptr,
                             std::vector<HookContext::Deferred>* deferred = nullptr) const;

  /** The validator the pipeline holds (for $validate). Never null. */
  const ResourceValidator& validator() const { return *validator_; }
  /** The options the pipeline was built with. */
  const WriterOptions& options() const { return options_; }

  /** The canonical stored bytes of `resource` (definition order, no meta.versionId/lastUpdated, empty meta dropped). */
  static std::string canonicalJson(const fhir::JsonValue& resource);

 private:
  bool hooked(std::string_view type) const;
  /** Fills write.hook_plans from the hooks watching its type. */
  void planHooks(PreparedWrite& write, const WriteOrigin& origin) const;
  /** The hooks' key changes, then (after `store_write`) their written() calls. */
  Status runHooks(store::WriteTransaction& tx, const PreparedWrite& write, fhir::OperationOutcome* outcome,
                  const WriteOrigin& origin, std::vector<HookContext::Deferred>* deferred,
                  const std::function<Result<store::WriteResult>()>& store_write, store::WriteResult& result) const;

  WriterOptions options_;
  std::shared_ptr<const ResourceValidator> validator_;
};

/** True when `id` is a valid FHIR id: [A-Za-z0-9\-\.]{1,64}, and not "." or ".." (path segments, never ids). */
bool isValidId(std::string_view id);

/** The local references of `resource` (of type `type`): every Reference.reference of the form Type/id or
 *  Type/id/_history/v with a known resource type, anywhere in it, with its element path. */
std::vector<LocalReference> localReferences(std::string_view type, const fhir::JsonValue& resource);

}  // namespace planbro::gateway::ops
