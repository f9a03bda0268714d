#pragma once
// The one write path of the gateway, used by REST interactions, batch/transaction Bundles and (later) adapter
// writes alike: parse → validate → business rules → id and meta → index → store transaction (version, index rows,
// business-key claim and outbox event together) → commit. Split in two halves so that Bundle transactions can
// prepare every entry first and apply them all inside one store transaction:
//   prepare(): pure CPU work, no I/O (validation, rules, canonical bytes, index rows);
//   apply():   the store operations of one write inside a caller's WriteTransaction.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "planbro/fhir-model/json.h"
#include "planbro/fhir-model/operation_outcome.h"
#include "planbro/fhir-model/validator.h"
#include "planbro/gateway/store/resource_store.h"

namespace planbro::gateway::rest {

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
 * Business rules run after validation on every write (individual-plan rules land here). Ok allows the write; a
 * non-ok Status (kUnprocessable for a broken rule) rejects it. `resource` is null for deletes. Thread-safe.
 */
class BusinessRules {
 public:
  virtual ~BusinessRules() = default;
  virtual Status check(const WriteIntent& intent, const fhir::JsonValue* resource) const = 0;
};

/** A write ready for the store. */
struct PreparedWrite {
  WriteIntent intent;                 // id is always set
  std::string json;                   // canonical bytes: definition order, id set, no meta.versionId/lastUpdated
  std::vector<store::IndexRow> rows;  // _lastUpdated rows are fixed to the version's timestamp by apply()
};

/** The outcome of apply(). */
struct AppliedWrite {
  store::WriteResult result;
  /** Conditional create lost the race: the key is held by this id and nothing was written (the caller rolls
   *  back and answers with the existing resource). */
  std::optional<std::string> existing_owner;
};

struct WriterOptions {
  fhir::ValidationOptions validation;
  std::shared_ptr<BusinessRules> rules;  // nullptr: none
};

/** Stateless apart from its options; thread-safe. */
class ResourceWriter {
 public:
  explicit ResourceWriter(WriterOptions options = {});

  /**
   * Validates `resource` (which must have resourceType == intent.type, and an id equal to intent.id when it has
   * one, for updates), runs the business rules, sets the id and drops meta.versionId/lastUpdated, and indexes.
   * Errors: kInvalidArgument (wrong type or id mismatch, bad id), kUnprocessable with the validator's issues in
   * `outcome` (when given), or a rule's Status.
   */
  Result<PreparedWrite> prepare(WriteIntent intent, const fhir::JsonValue& resource,
                                fhir::OperationOutcome* outcome = nullptr) const;
  /** A delete: runs the business rules with no resource. */
  Result<PreparedWrite> prepareDelete(WriteIntent intent) const;

  /** Runs the store operations of `write` in `tx`. Errors are the store's (kFailedPrecondition, kAlreadyExists, ...). */
  Result<AppliedWrite> apply(store::WriteTransaction& tx, const PreparedWrite& write) const;

  /** The canonical stored bytes of `resource` (definition order, no meta.versionId/lastUpdated, empty meta dropped). */
  static std::string canonicalJson(const fhir::JsonValue& resource);

 private:
  WriterOptions options_;
};

/** True when `id` is a valid FHIR id: [A-Za-z0-9\-\.]{1,64}. */
bool isValidId(std::string_view id);

}  // namespace planbro::gateway::rest
