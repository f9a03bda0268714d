#pragma once
// A registry of FHIR R4 profiles (constraint StructureDefinitions, extension definitions included) that the
// validator holds resources to: the core package's own profiles (embedded in ModelInfo), and any package or file of
// StructureDefinitions loaded at start-up (HL7 Norway's no-basis, planbro's own under conformance/). A profile
// without a snapshot gets one generated from its differential against its base definition (a core type or another
// loaded profile), with data types expanded and slices created as the differential names them. ValueSets and
// CodeSystems of a loaded package are kept so the package's bindings can be checked.
//
// Owner of the implementation: fhir-model/src/validation/ (profile_set.cc, snapshot.cc).

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "planbro/fhir-model/fhirpath.h"
#include "planbro/fhir-model/json.h"
#include "planbro/fhir-model/model_info.h"
#include "planbro/fhir-model/status.h"

namespace planbro::fhir {

namespace validation {
class SimpleInvariant;  // the validator's direct evaluator for simple invariants (src/validation/)
struct ExtensionPlan;   // the validator's one-pass check of simple extension definitions (src/validation/)
}

struct Profile;

/** One element of a profile's snapshot, with what the validator needs precomputed. */
struct ProfileElement {
  const ElementDef* def = nullptr;   // the snapshot definition (owned by the Profile)
  const ElementDef* core = nullptr;  // the core-type definition this element constrains; null when unknown
  uint32_t core_min = 0;             // the core cardinality (what the base validator already enforces)
  uint32_t core_max = kUnbounded;
  std::optional<JsonDocument> fixed;    // fixed[x], parsed
  std::optional<JsonDocument> pattern;  // pattern[x], parsed
  /** The profile's binding, when it adds to the core one (another value set or a stronger strength). */
  const Binding* binding = nullptr;
  const ValueSetCodes* value_set = nullptr;  // the binding's value set, when it could be expanded here
  bool types_narrowed = false;  // fewer types than the core element, or type profiles / target profiles added
  /** Per entry of def->types: the type profiles (TypeRef::profiles) this set knows, resolved at load. */
  std::vector<std::vector<const Profile*>> type_profiles;
  /** Per entry of def->types, parallel to its TypeRef::target_profiles: the profile each URL names in this set, or
   *  null when the set does not hold it (a core type, an unknown profile), resolved at load. */
  std::vector<std::vector<const Profile*>> target_profiles;
  /** Per entry of def->types, parallel to its TypeRef::target_profiles: the URL's last segment (a core type's name
   *  for a core URL, such as "Patient" or "Resource") and the model's type of that name, null when it has none (an
   *  unknown profile), worked out at load so that a reference's target is judged without lookups by name. */
  struct TargetCore {
    std::string_view name;  // a view of the TypeRef's URL
    const TypeDef* type = nullptr;
  };
  std::vector<std::vector<TargetCore>> target_cores;
  struct Invariant {
    const Constraint* constraint;
    fhirpath::ExpressionPtr expression;  // null when it did not compile (reported as a load warning)
    std::shared_ptr<const validation::SimpleInvariant> simple;  // the fast path, when in its subset
  };
  std::vector<Invariant> invariants;  // constraints the core element does not already have
  std::vector<const ProfileElement*> children;  // unsliced children, in definition order
  std::vector<const ProfileElement*> slices;    // for a sliced element: its slices, in definition order
  /** For a slice: where each discriminator of the sliced element's slicing ends in the slice's elements, worked
   * out at load (see src/validation/slice_paths.h). */
  struct DiscriminatorTarget {
    const ProfileElement* element = nullptr;
    std::string_view extension_url;  // the URL of an extension('url') step, when there was one
    bool has_extension_url = false;
    bool through_resolve = false;
  };
  std::vector<DiscriminatorTarget> discriminator_targets;
  /** For a slice of type Extension of the simple shape (fixed url, one narrowed value[x]): its checks as one plan,
   * made at load (src/validation/extension_plan.h); null otherwise. */
  std::shared_ptr<const validation::ExtensionPlan> extension_plan;
  /** For a sliced element of type Extension whose only discriminator is `url` (value or pattern): the first slice
   * each extension URL selects, worked out at load, so that matching an extension is one lookup instead of a try of
   * every slice. `slices_by_url` is false when the slicing is not of that shape (matching then tries each slice). */
  struct UrlHash {
    using is_transparent = void;
    /** The size and the last 16 bytes: canonical URLs share long prefixes ("http://hl7.org/fhir/StructureDefinition/")
     * and differ at the end, so this separates them as well as a hash of every byte, at a fraction of the cost on
     * the validation path. The tables are built at load from the packages; a lookup key that collides costs one
     * more comparison. */
    size_t operator()(std::string_view s) const {
      uint64_t a = 0;
      uint64_t b = 0;
      const size_t n = s.size();
      if (n >= 16) {
        std::memcpy(&a, s.data() + n - 16, 8);
        std::memcpy(&b, s.data() + n - 8, 8);
      } else {
        for (size_t i = 0; i < n; ++i) {
          (i < 8 ? a : b) |= static_cast<uint64_t>(static_cast<unsigned char>(s[i])) << (8 * (i % 8));
        }
      }
      uint64_t h = (a * 0x9E3779B97F4A7C15ull) ^ (b * 0xC2B2AE3D27D4EB4Full) ^ (static_cast<uint64_t>(n) << 48);
      h ^= h >> 29;
      h *= 0xBF58476D1CE4E5B9ull;
      return static_cast<size_t>(h ^ (h >> 32));
    }
  };
  std::unordered_map<std::string, uint32_t, UrlHash, std::equal_to<>> slice_by_url;
  bool slices_by_url = false;
  /** For a slice of extensions by url whose only check is its type profile, the extension definition of that same
   *  url: checkValue on an extension of that url reports nothing (checkTypeProfiles leaves a known extension to
   *  checkExtension, which the base walk makes wherever the extension occurs), so checkSlices does not call it. */
  bool only_its_extension_definition = false;
  /** Anything to check here or below (children, slices). The validator skips subtrees where this is false. */
  bool relevant = false;
  /** The relevant ones of `children`, in definition order, worked out at load: the walk touches only these (an
   *  irrelevant child's ProfileElement is not even read). */
  std::vector<const ProfileElement*> relevant_children;
  /** The JSON names of the relevant children that are not choices, as a small open-addressing table (a power of two
   *  in size, at least twice as many slots as names), worked out at load: the walk finds each such child's member and
   *  its `_name` twin in one pass over an object's members, instead of one pass per child. Empty when there are
   *  fewer than two relevant children or more than kMaxMemberSlotChildren (each child is then gathered alone). */
  struct MemberSlot {
    std::string_view name;
    uint32_t child = kNoChild;  // index into relevant_children; kNoChild for an empty slot
    static constexpr uint32_t kNoChild = UINT32_MAX;
  };
  std::vector<MemberSlot> member_slots;
  static constexpr size_t kMaxMemberSlotChildren = 64;
  /** Per relevant child (parallel to relevant_children), when member_slots is made: the type code its items get
   *  (for a choice child, unused: its type comes from the JSON name). */
  std::vector<std::string_view> child_codes;
  /** The slot a JSON name starts probing at (before masking). */
  static size_t memberSlotHash(std::string_view name) {
    const size_t n = name.size();
    if (n == 0) return 0;
    const auto byte = [&](size_t i) { return static_cast<size_t>(static_cast<unsigned char>(name[i])); };
    return n * 0x9E3779B1u ^ byte(0) * 0x85EBCA77u ^ byte(n - 1) * 0xC2B2AE3Du ^ byte(n / 2) * 0x27D4EB2Fu;
  }
};

/** Where an extension may be used (StructureDefinition.context). */
struct ExtensionContext {
  std::string type;        // "element", "extension", "fhirpath"
  std::string expression;  // "Patient", "Address", "Element", an extension URL, a FHIRPath expression
  /** Where "[x]" is in `expression` (std::string::npos when nowhere), worked out when the set is built. */
  size_t choice_at = std::string::npos;
  /** `expression` has a '.': an element path, never a type name (worked out when the set is built). */
  bool is_element_path = false;
  /** `type` decoded when the set is built; any type but "fhirpath" and "extension" is read as "element". */
  enum class Kind : uint8_t { kElement, kExtension, kFhirpath };
  Kind kind = Kind::kElement;
};

/** One profile: its snapshot as a TypeDef (the same shape as the core model's) and the precomputed elements. */
struct Profile {
  std::string url;
  std::string name;
  std::string type;  // the constrained type: "Patient", "Extension", "HumanName"
  const TypeDef* def = nullptr;
  std::vector<ProfileElement> elements;  // parallel to def->elements
  std::vector<ExtensionContext> contexts;  // extension definitions only
  /** Extension definitions of the common simple shape (fixed url, one narrowed value[x]): their checks as one plan,
   * made at load; null for other definitions. */
  std::shared_ptr<const validation::ExtensionPlan> extension_plan;
  /** Complex extension definitions of the common shape (fixed url, no value[x], nested extensions sliced by url, each
   * slice of the simple shape): their checks as one plan, made at load; null for other definitions. */
  std::shared_ptr<const validation::ExtensionPlan> complex_extension_plan;
  bool isExtension() const { return type == "Extension"; }
  const ProfileElement& root() const { return elements.front(); }
};

/** Immutable once built; any number of threads may read it. */
class ProfileSet {
 public:
  /** The core package's profiles only (built once, on first use; never freed). */
  static std::shared_ptr<const ProfileSet> core();

  /** The profile with this canonical URL (a "|version" suffix is ignored), or nullptr. */
  const Profile* find(std::string_view url) const;
  /** Every profile, sorted by URL. */
  std::span<const Profile* const> profiles() const;
  /** A ValueSet by URL: one expanded from a loaded package, else the core model's. */
  const ValueSetCodes* valueSet(std::string_view url) const;
  const ModelInfo& model() const { return *model_; }
  /** What could not be loaded or compiled (unresolvable differential paths, invariants that did not compile). */
  std::span<const std::string> warnings() const { return warnings_; }

  struct Impl;
  ProfileSet(const ModelInfo& model, std::unique_ptr<Impl> impl, std::vector<std::string> warnings);
  ~ProfileSet();

 private:
  const ModelInfo* model_;
  std::unique_ptr<Impl> impl_;
  std::vector<std::string> warnings_;
};

/**
 * Collects conformance resources, then builds a ProfileSet. Not thread-safe (one thread builds, then share the
 * result). The core profiles of `model` are always included; a loaded profile with the URL of a core one replaces it.
 */
class ProfileSetBuilder {
 public:
  explicit ProfileSetBuilder(const ModelInfo& model = ModelInfo::r4());
  ~ProfileSetBuilder();
  ProfileSetBuilder(const ProfileSetBuilder&) = delete;
  ProfileSetBuilder& operator=(const ProfileSetBuilder&) = delete;

  /** Adds one resource: a StructureDefinition (constraint derivation), a ValueSet or a CodeSystem; anything else is
   * ignored. kInvalidArgument when a StructureDefinition has no url, type or base definition. */
  Status addResource(const JsonValue& resource);
  /** Adds one file (FHIR JSON, or FHIR XML when the name ends in .xml); a Bundle's entries are added one by one.
   * kNotFound / kInvalidArgument name the file. */
  Status addFile(const std::filesystem::path& file);
  /** Adds every *.json and *.xml file below `dir` (package.json, .index.json and non-conformance resources are
   * skipped). Stops at the first file that fails to parse. */
  Status addDirectory(const std::filesystem::path& dir);

  /** Generates missing snapshots (bases first), precomputes every profile. kInvalidArgument when a profile's base
   * is unknown or the bases form a cycle; problems within one element are warnings, not errors. */
  Result<std::shared_ptr<const ProfileSet>> build();

  struct Pending;

 private:
  const ModelInfo& model_;
  std::vector<std::unique_ptr<Pending>> pending_;
};

}  // namespace planbro::fhir
