#pragma once
// Holds resources and extensions to the profiles of a ProfileSet: cardinality narrowing, fixed and pattern values,
// bindings to the profile's value sets, type, profile and targetProfile narrowing, slicing (every R4 discriminator
// type and the closed / open / openAtEnd / ordered rules) and the profile's own invariants. Called by the structural
// walk in validator.cc after it has checked a resource or met an extension, so the JSON is already known to be
// well-formed FHIR; this pass only walks the parts of a resource its profiles constrain (ProfileElement::relevant).

#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "planbro/fhir-model/operation_outcome.h"
#include "planbro/fhir-model/profile_set.h"
#include "extension_plan.h"
#include "slice_paths.h"

namespace planbro::fhir::validation {

/** Finds the resource a reference points at within the resource being validated (contained resources, Bundle
 * entries), or nullptr. */
class ReferenceResolver {
 public:
  virtual ~ReferenceResolver() = default;
  virtual const JsonValue* resolve(std::string_view reference, const JsonValue& from_resource) const = 0;
};

class ProfileChecker {
 public:
  using RequiredProfiles = std::map<std::string, std::vector<std::string>, std::less<>>;
  /** Renders the caller's location of the value being checked; called only when an issue is reported, during the
   * check call (so the caller's walk has not moved on). */
  using LocationRenderer = std::function<std::string()>;

  /** `max_nesting` bounds how deep profiles nest while one value is checked (ValidatorOptions). */
  ProfileChecker(const ProfileSet& profiles, const RequiredProfiles& required, OperationOutcome& out,
                 const ReferenceResolver* resolver, uint32_t max_nesting);

  /** Holds `resource` (of type `type`, found at `location`) to the profiles it claims in meta.profile and to those
   * required for its type. An unknown claimed profile is a warning. */
  void checkResource(const JsonValue& resource, std::string_view type, const LocationRenderer& location);

  /** The set's extension definition with this URL, or nullptr (callers skip building contexts then). */
  const Profile* knownExtension(std::string_view url) const {
    const Profile* p = profiles_.find(url);
    return p != nullptr && p->isExtension() ? p : nullptr;
  }

  /** Where an extension sits, for its definition's contexts. The two paths are asked for only when no context is
   * decided by the element's type or the enclosing extension (most are), so the caller builds them on demand. */
  class ExtensionSite {
   public:
    /** The element's type ("HumanName", "BackboneElement", the resource type on a resource). */
    std::string_view context_type;
    /** The URL of the extension it is nested in, if any. */
    std::string_view parent_extension_url;
    /** It sits on the resource itself (the resource path is the resource type). */
    bool at_resource = false;
    /** The element as a path of JSON names from its resource, such as "Patient.address"; valid until the next call. */
    virtual std::string_view resourcePath() const = 0;
    /** The path of the element's definition with "[x]" left out, such as "HumanName.family" or
     * "Questionnaire.item" (nested items); valid until the next call. */
    virtual std::string_view definitionPath() const = 0;

    virtual ~ExtensionSite() = default;
  };

  /** Checks an extension against its definition `profile` (from knownExtension of its url): its context (`site`),
   * then the definition's value type, cardinality and nested extensions. */
  void checkExtension(const Profile& profile, const JsonValue& extension, const ExtensionSite& site,
                      const LocationRenderer& location, const JsonValue& resource);

 private:
  struct Item {
    const JsonValue* value = nullptr;  // null when only the `_name` twin exists
    const JsonValue* twin = nullptr;
    std::string_view type_code;
    int32_t index = -1;
    std::string_view json_name;
  };

  bool contextAllows(const Profile& profile, const ExtensionSite& site) const;
  void conformTo(const Profile& profile, const JsonValue& value, std::string_view type_code);
  bool extensionPlanHolds(const ExtensionPlan& plan, const JsonValue& extension);
  bool nestedSlicesHold(const ExtensionPlan& plan, const JsonValue* nested);
  bool targetsHold(const ExtensionPlan::ValueType& type, const JsonValue& reference);
  /** checkValue of `element` on `item` into a scratch outcome: true when it reported nothing at all (not even a
   * warning), so that skipping the full walk loses no issue. */
  bool reportsNothing(const ProfileElement& element, const Item& item);
  static bool bindingHolds(const Binding& binding, const ValueSetCodes* value_set, const JsonValue& value,
                           std::string_view code);
  void checkChildren(const ProfileElement& element, const Item& item);
  void gather(const ProfileElement& child, const JsonValue* object, const JsonValue* twin_object,
              std::vector<Item>& items) const;
  static void addItems(const JsonValue* value, const JsonValue* twin, std::string_view name, std::string_view code,
                       std::vector<Item>& items);
  void checkItems(const ProfileElement& element, std::vector<Item>& items);
  void checkValue(const ProfileElement& element, const Item& item);
  void checkSlices(const ProfileElement& element, std::vector<Item>& items);
  bool matchesSlice(const ProfileElement& sliced, const ProfileElement& slice, const Item& item);
  bool conformsQuietly(const ProfileElement& element, const Item& item);
  bool conformsQuietly(const Profile& profile, const JsonValue& value, std::string_view type_code);
  /** conformTo, reporting to out_; true when it reported no error. With `remember` (a resource, which is its own
   *  context), the answer is kept in conformance_ for later conformsQuietly calls. */
  bool conformAndRemember(const Profile& profile, const JsonValue& value, std::string_view type_code, bool remember);
  bool checkType(const ProfileElement& element, const Item& item);
  void checkTypeProfiles(std::span<const Profile* const> profiles, const Item& item);
  /** `resolved` and `cores`: the ProfileElement's target_profiles and target_cores entries for `type` (parallel to
   *  type.target_profiles). */
  void checkTargetProfiles(const TypeRef& type, std::span<const Profile* const> resolved,
                           std::span<const ProfileElement::TargetCore> cores, const JsonValue& reference);
  void checkBinding(const Binding& binding, const ValueSetCodes* value_set, const Item& item);
  void checkInvariants(const ProfileElement& element, const Item& item);

  void report(Severity severity, std::string_view code, std::string message);
  std::string profileName() const;

  const ProfileSet& profiles_;
  const RequiredProfiles& required_;
  OperationOutcome* out_;
  const ReferenceResolver* resolver_;
  fhirpath::Environment env_;
  const JsonValue* resource_ = nullptr;
  const Profile* profile_ = nullptr;
  // The location of the value being checked: the caller's location of the resource or extension (`base`, which
  // outlives the call) and the segments below it. The segment vector is kept between calls (no allocation per
  // extension); a call's segments start at `start`.
  struct Location {
    const LocationRenderer* base = nullptr;
    size_t start = 0;
    std::vector<std::pair<std::string_view, int32_t>> segments;
    std::string render() const;
    struct Saved {
      const LocationRenderer* base;
      size_t start;
    };
    Saved enter(const LocationRenderer& new_base) {
      Saved saved{base, start};
      base = &new_base;
      start = segments.size();
      return saved;
    }
    void leave(Saved saved) {
      base = saved.base;
      start = saved.start;
    }
  };
  struct LocationGuard;
  Location location_;
  uint32_t depth_ = 0;
  uint32_t max_nesting_;
  // Discriminator values, one set of buffers per level of matchesSlice (a profile discriminator nests it), kept
  // between calls so that slice matching stops allocating once they have grown.
  std::vector<std::unique_ptr<SlicePathBuffers>> slice_buffers_;
  size_t slice_depth_ = 0;
  // The values of each relevant child, one buffer per level of checkChildren, kept between calls.
  std::vector<std::unique_ptr<std::vector<Item>>> items_buffers_;
  size_t items_depth_ = 0;
  bool nesting_reported_ = false;
  // How often the nesting bound stopped a check, and the deepest nesting reached: a memoised conformance answer
  // (below) is only kept when the bound never stopped its check, and only reused where the same check would again
  // stay within the bound.
  uint64_t nesting_hits_ = 0;
  uint32_t deepest_ = 0;
  // Whether a resource of this document conforms to a profile, decided once per validation: every reference to
  // one Patient from a Bundle's entries asks it again (targetProfile), and each answer walks the Patient whole.
  struct Conformance {
    std::string_view type_code;
    uint32_t nesting_needed = 0;  // levels of nesting the check went below the level it started at
    bool conforms = false;
  };
  struct ConformanceKeyHash {
    size_t operator()(const std::pair<const Profile*, const JsonValue*>& k) const {
      return std::hash<const void*>()(k.first) * 31 + std::hash<const void*>()(k.second);
    }
  };
  std::unordered_map<std::pair<const Profile*, const JsonValue*>, Conformance, ConformanceKeyHash> conformance_;
};

}  // namespace planbro::fhir::validation
