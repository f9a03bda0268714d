#pragma once
// Validation of FHIR R4 JSON against the core definitions (ModelInfo): structure, cardinality, types, primitive
// formats, required bindings, references, narrative XHTML, FHIR's JSON rules, Norwegian identifiers, and the
// definitions' invariants through FHIRPath, Bundle reference resolution, Attachment size/hash and narrative links;
// and, through a Validator object, against the profiles of a ProfileSet (profile_set.h; docs/conformance.md).
// Owner of the implementation: fhir-model/src/validation/.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "planbro/fhir-model/json.h"
#include "planbro/fhir-model/operation_outcome.h"
#include "planbro/fhir-model/profile_set.h"
#include "planbro/fhir-model/status.h"

namespace planbro::fhir {

struct ValidationOptions {
  JsonLimits json_limits;
  bool check_invariants = true;        // FHIRPath constraint.expression
  bool check_narrative = true;         // XHTML rules of Narrative.div
  bool check_norwegian_identifiers = true;
  /** Reject markdown that contains what looks like an embedded HTML tag (the reference validator's
   * "noHtmlInMarkdown" mode). Off by default: FHIR markdown may legally carry such text. */
  bool markdown_no_html = false;
  /** At most this many issues are reported; one more issue then says how many were left out (a hostile resource
   * must not make a many-megabyte OperationOutcome). */
  size_t max_issues = 1000;
  /** An issue location longer than this keeps its start and end with the middle elided. */
  size_t max_location_bytes = 512;
};

/**
 * Validates a parsed resource. Thread-safe; keeps no state between calls. Issues carry FHIRPath locations such as
 * "CarePlan.activity[1].detail.status". A tree that breaks `options.json_limits` (depth, string, number, size: it may
 * have been built, not parsed) gets one fatal "too-costly" issue at the first violation and is not walked, so the
 * walk's recursion is bounded by the depth limit.
 */
OperationOutcome validateResource(const JsonValue& resource, const ValidationOptions& options = {});

/** The deepest nesting validateResource walks, whatever `json_limits.max_depth` says (its recursion needs about
 * 1 KB of stack per level). */
inline constexpr uint32_t kMaxValidationDepth = 1024;

/** Parses then validates JSON text; a parse failure is reported as a fatal/error "structure" issue. */
OperationOutcome validateJsonText(std::string text, const ValidationOptions& options = {});

/** What a Validator object adds to ValidationOptions. */
struct ValidatorOptions {
  ValidationOptions base;
  /** Profiles every resource of a type must conform to, whether it claims them or not: "CarePlan" → [url, ...]. */
  std::map<std::string, std::vector<std::string>, std::less<>> required_profiles;
  /** How deep profiles may nest while one value is checked (a data-type profile inside a resource profile, an
   * extension's definition, a target profile, a slice's profile, ...). Deeper nesting is not followed and gives a
   * warning: profiles that name each other cannot make validation recurse without end. */
  uint32_t max_profile_nesting = 24;
};

/**
 * Validation against a ProfileSet: everything validateResource() checks, plus the profiles a resource claims in
 * meta.profile (an unknown one is a warning) and those required for its type, the definitions of known extensions
 * wherever they occur (context, value type, cardinality, nested extensions; unknown extensions pass), and the
 * profiles of contained resources and Bundle entries. Immutable and thread-safe: build one at start-up and share it.
 */
class Validator {
 public:
  /** A validator over `profiles` (the core package's profiles when null). */
  explicit Validator(std::shared_ptr<const ProfileSet> profiles = nullptr, ValidatorOptions options = {});
  /** As the constructor, but kInvalidArgument when a required profile is not in the set or is for another type. */
  static Result<std::shared_ptr<const Validator>> create(std::shared_ptr<const ProfileSet> profiles,
                                                         ValidatorOptions options);

  /** Validates a parsed or built resource. Holds the same tree contract as validateResource(): a tree that breaks
   * `options().base.json_limits` (or is deeper than kMaxValidationDepth) gets one fatal "too-costly" issue at the
   * first violation and is not walked; callers need no check of their own first. */
  OperationOutcome validate(const JsonValue& resource) const;
  /** Parses then validates; a parse failure is a fatal "structure" (or "too-costly") issue, as validateJsonText. */
  OperationOutcome validateJsonText(std::string text) const;

  const ProfileSet& profiles() const { return *profiles_; }
  const ValidatorOptions& options() const { return options_; }

 private:
  std::shared_ptr<const ProfileSet> profiles_;
  ValidatorOptions options_;
};

}  // namespace planbro::fhir
