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
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "planbro/fhir-model/json.h"
#include "planbro/fhir-model/operation_outcome.h"
#include "planbro/fhir-model/validator.h"
#include "planbro/gateway/ops/write_metrics.h"
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

/** A unique business key a write asks for, with what to tell the client when another resource holds it. */
struct KeyClaim {
  store::BusinessKey key;
  std::string location;     // the element that carries the key: "Patient.identifier[0]"
  std::string description;  // what the key is, in words, never its value: "fødselsnummer"
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
  virtual Result<KeyChanges> keys(std::string_view type, const fhir::JsonValue* current,
                                  const fhir::JsonValue* proposed) const = 0;
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
  /** Validation and transaction metrics (see write_metrics.h); nullptr: none. */
  std::shared_ptr<const WriteMetrics> metrics;
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
   */
  Result<PreparedWrite> prepare(WriteIntent intent, const fhir::JsonValue& resource,
                                fhir::OperationOutcome* outcome = nullptr) const;
  /** A delete: runs the business rules with no resource. */
  Result<PreparedWrite> prepareDelete(WriteIntent intent) const;

  /**
   * Runs the store operations of `write` in `tx`, the transaction hooks first. Errors are the store's
   * (kFailedPrecondition, kAlreadyExists, ...) or a hook's; a business key held by another resource is kConflict,
   * with an issue naming it (its location, and `Type/id` of the holder) added to `outcome` when given.
   */
  Result<AppliedWrite> apply(store::WriteTransaction& tx, const PreparedWrite& write,
                             fhir::OperationOutcome* outcome = nullptr) const;

  /** The validator the pipeline holds (for $validate). Never null. */
  const ResourceValidator& validator() const { return *validator_; }

  /** The canonical stored bytes of `resource` (definition order, no meta.versionId/lastUpdated, empty meta dropped). */
  static std::string canonicalJson(const fhir::JsonValue& resource);

 private:
  bool hooked(std::string_view type) const;
  Status runHooks(store::WriteTransaction& tx, const PreparedWrite& write, fhir::OperationOutcome* outcome) const;

  WriterOptions options_;
  std::shared_ptr<const ResourceValidator> validator_;
};

/** True when `id` is a valid FHIR id: [A-Za-z0-9\-\.]{1,64}, and not "." or ".." (path segments, never ids). */
bool isValidId(std::string_view id);

/** The local references of `resource` (of type `type`): every Reference.reference of the form Type/id or
 *  Type/id/_history/v with a known resource type, anywhere in it, with its element path. */
std::vector<LocalReference> localReferences(std::string_view type, const fhir::JsonValue& resource);

}  // namespace planbro::gateway::ops
