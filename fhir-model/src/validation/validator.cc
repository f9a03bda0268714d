#include "planbro/fhir-model/validator.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "bundle_rules.h"
#include "child_plan.h"
#include "constraint_cache.h"
#include "name_hash.h"
#include "narrative.h"
#include "planbro/fhir-model/fhirpath.h"
#include "planbro/fhir-model/json_tree_limits.h"
#include "planbro/fhir-model/model_info.h"
#include "planbro/fhir-model/norwegian_ids.h"
#include "primitive_checks.h"
#include "profile_checker.h"

namespace planbro::fhir {
namespace {


using validation::PrimitiveKind;

// One step of the location path. Locations are only rendered to text when an issue is reported, so the walk itself
// never allocates for them.
struct Segment {
  std::string_view name;
  int32_t index = -1;          // array position, or -1
  std::string_view of_type;    // choice type: rendered as "value.ofType(Quantity)"
};

// The location path of the walk: a stack whose push is a store and an increment (the walk pushes a segment per
// property and array item; std::vector::push_back stayed a call on that path). Grows by doubling, so a
// walk's pushes cost no allocation once it is as deep as the deepest resource seen.
class SegmentStack {
 public:
  SegmentStack() : segments_(32) {}
  [[gnu::always_inline]] void push_back(const Segment& segment) {
    if (size_ == segments_.size()) [[unlikely]] grow();
    segments_[size_++] = segment;
  }
  void pop_back() { --size_; }
  size_t size() const { return size_; }
  const Segment& operator[](size_t i) const { return segments_[i]; }
  const Segment& back() const { return segments_[size_ - 1]; }

 private:
  [[gnu::noinline]] void grow() { segments_.resize(2 * segments_.size()); }

  std::vector<Segment> segments_;
  size_t size_ = 0;
};

// The resource whose contained resources and local ("#id") references are being tracked (dom-3, ref-1).
struct ResourceScope {
  const JsonValue* resource = nullptr;
  const JsonValue* contained = nullptr;  // the "contained" array, or null
  // Local references seen anywhere in the resource, with the contained index they were found in (-1 outside).
  std::vector<std::pair<std::string_view, int32_t>> local_refs;
  int32_t current_contained = -1;
  // Narrative divs of the resource: a contained resource linked from the narrative ("#id") counts as referenced,
  // as the reference validator accepts.
  std::vector<std::string_view> narratives;
};

// A direct-mapped cache keyed by an address of the model (an element definition): a multiplicative hash and
// one slot per key, so a lookup is a multiply, a shift and a compare (std::unordered_map's prime modulo cost two
// divisions per lookup, a fifth of the walk of a small resource). A collision only costs a recomputation; the
// size is fixed, so nothing needs evicting.
template <typename Value>
class AddressCache {
 public:
  struct Slot {
    const void* key = nullptr;
    Value value{};
  };
  Slot& slot(const void* key) {
    const uint64_t h = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(key)) * 0x9E3779B97F4A7C15ull;
    return slots_[h >> (64 - kBits)];
  }

 private:
  static constexpr unsigned kBits = 10;
  std::vector<Slot> slots_ = std::vector<Slot>(size_t{1} << kBits);
};

using validation::ChildPlan;
using validation::ChildTarget;
using validation::ComplexRule;

// A prefix test the compiler expands to a few word compares (the literal's length is known): std::string_view's
// starts_with stayed an out-of-line call to compare() and memcmp on the walk.
template <size_t N>
[[gnu::always_inline]] inline bool startsWith(std::string_view s, const char (&prefix)[N]) {
  return s.size() >= N - 1 && std::memcmp(s.data(), prefix, N - 1) == 0;
}

constexpr std::string_view kStructure = "structure";
constexpr std::string_view kRequired = "required";
constexpr std::string_view kValue = "value";
constexpr std::string_view kInvalid = "invalid";
constexpr std::string_view kCodeInvalid = "code-invalid";
constexpr std::string_view kInvariant = "invariant";
constexpr std::string_view kNotFound = "not-found";

class Walker {
 public:
  Walker(const ModelInfo& model, const ValidationOptions& options, OperationOutcome& out,
         validation::ProfileChecker* profiles = nullptr)
      : model_(model), options_(options), out_(out), profiles_(profiles) {
    const TypeDef* element = model_.type("Element");
    if (element != nullptr) element_children_ = element->rootChildren();
    if (options_.check_invariants) constraints_ = &validation::ConstraintCache::get();
  }

  void validateRoot(const JsonValue& root) {
    if (!root.isObject()) {
      report(Severity::kError, kStructure, "a FHIR resource must be a JSON object");
      return;
    }
    validateResource(root, /*is_contained=*/false, /*is_root=*/true);
  }

 private:
  // ---- locations and issues ----

  std::string location() const {
    std::string s = fullLocation();
    const size_t max = options_.max_location_bytes;
    if (s.size() <= max || max < 16) return s;
    // Keep where the path starts and where it ends, the parts a reader needs.
    size_t head = max / 4;
    size_t tail = max - head - 5;
    return s.substr(0, head) + " ... " + s.substr(s.size() - tail);
  }

  std::string fullLocation() const {
    std::string s;
    for (size_t i = 0; i < path_.size(); ++i) {
      const Segment& seg = path_[i];
      if (i != 0) s += '.';
      s += seg.name;
      if (!seg.of_type.empty()) {
        s += ".ofType(";
        s += seg.of_type;
        s += ')';
      }
      if (seg.index >= 0) {
        s += '[';
        s += std::to_string(seg.index);
        s += ']';
      }
    }
    return s;
  }

  void report(Severity severity, std::string_view code, std::string diagnostics) {
    if (out_.issues().size() >= options_.max_issues) {
      ++dropped_issues_;
      return;
    }
    out_.add(severity, std::string(code), std::move(diagnostics), location());
  }

 public:
  size_t droppedIssues() const { return dropped_issues_; }

 private:

  void reportAtChild(Severity severity, std::string_view code, std::string diagnostics, std::string_view child,
                     int32_t index = -1) {
    path_.push_back({child, index, {}});
    report(severity, code, std::move(diagnostics));
    path_.pop_back();
  }

  struct PathGuard {
    PathGuard(SegmentStack& path, Segment seg) : path_(path) { path_.push_back(seg); }
    ~PathGuard() { path_.pop_back(); }
    PathGuard(const PathGuard&) = delete;
    PathGuard& operator=(const PathGuard&) = delete;
    SegmentStack& path_;
  };

  // ---- resources ----

  void validateResource(const JsonValue& resource, bool is_contained, bool is_root) {
    const JsonValue* rt = resource.find("resourceType");
    if (rt == nullptr || !rt->isString()) {
      if (is_root) path_.push_back({"Resource", -1, {}});
      report(Severity::kError, kStructure, "resourceType is missing (a resource must name its type)");
      if (is_root) path_.pop_back();
      return;
    }
    std::string_view type_name = rt->text();
    const TypeDef* type = model_.type(type_name);
    if (is_root) path_.push_back({type_name, -1, {}});
    if (type == nullptr || type->kind != TypeKind::kResource) {
      report(Severity::kError, kStructure, "unknown resourceType '" + std::string(type_name) + "'");
      if (is_root) path_.pop_back();
      return;
    }
    if (type->is_abstract || !model_.isResourceType(type_name)) {
      report(Severity::kError, kStructure,
             "resourceType '" + std::string(type_name) + "' is abstract and cannot be instantiated");
      if (is_root) path_.pop_back();
      return;
    }

    ResourceScope scope;
    ResourceScope* previous_scope = scope_;
    const JsonValue* previous_resource = resource_;
    if (!is_contained) {
      scope.resource = &resource;
      const JsonValue* contained = resource.find("contained");
      if (contained != nullptr && contained->isArray()) scope.contained = contained;
      scope_ = &scope;
    }
    resource_ = &resource;
    // Where this resource's element paths start, for extension contexts ("Patient.address").
    const ElementScope previous_element_scope = element_scope_;
    element_scope_ = ElementScope{type->name, path_.size(), type->name, {}, type->name};

    validateObject(resource, ChildPlan::of(model_, type->rootChildren()), /*is_resource=*/true);

    if (const JsonValue* id = resource.find("id"); id != nullptr && id->isString() && !id->text().empty() &&
                                                  !validation::isValidId(id->text())) {
      reportAtChild(Severity::kError, kValue,
                    "invalid resource id '" + truncated(id->text()) +
                        "' (1-64 characters of A-Z, a-z, 0-9, '-' and '.')",
                    "id");
    }
    if (is_contained) checkContainedRules(resource);
    if (type_name == "Bundle") {
      checkBundle(resource);
      validation::checkBundleRules(resource, location(), out_);
    }
    if (options_.check_narrative) validation::checkNarrativeLinks(resource, location(), out_);

    fhirpath::Node node;
    node.json = &resource;
    node.type = type->name;
    runConstraints(type->root().constraints, node);
    if (profiles_ != nullptr) {
      const validation::ProfileChecker::LocationRenderer here = [this] { return location(); };
      profiles_->checkResource(resource, type_name, here);
    }
    element_scope_ = previous_element_scope;

    if (!is_contained) {
      checkContainedReferenced();
      scope_ = previous_scope;
    }
    resource_ = previous_resource;
    if (is_root) path_.pop_back();
  }

  // dom-2, dom-4, dom-5: a contained resource has no contained resources, no version/lastUpdated, no security.
  void checkContainedRules(const JsonValue& resource) {
    if (resource.find("contained") != nullptr) {
      reportAtChild(Severity::kError, kStructure,
                    "dom-2: a contained resource SHALL NOT contain nested contained resources", "contained");
    }
    if (const JsonValue* meta = resource.find("meta"); meta != nullptr && meta->isObject()) {
      if (meta->find("versionId") != nullptr || meta->find("lastUpdated") != nullptr) {
        reportAtChild(Severity::kError, kInvariant,
                      "dom-4: a contained resource SHALL NOT have a meta.versionId or a meta.lastUpdated", "meta");
      }
      if (meta->find("security") != nullptr) {
        reportAtChild(Severity::kError, kInvariant, "dom-5: a contained resource SHALL NOT have a security label",
                      "meta");
      }
    }
  }

  // dom-3: every contained resource is referenced from elsewhere in the resource, or refers to its container.
  void checkContainedReferenced() {
    if (scope_ == nullptr || scope_->contained == nullptr) return;
    auto items = scope_->contained->items();
    for (size_t i = 0; i < items.size(); ++i) {
      const JsonValue* id = items[i].find("id");
      std::string_view id_text = (id != nullptr && id->isString()) ? id->text() : std::string_view();
      bool referenced = false;
      for (const auto& [ref, where] : scope_->local_refs) {
        if (ref == "#" && where == static_cast<int32_t>(i)) referenced = true;
        if (!id_text.empty() && ref.size() == id_text.size() + 1 && ref.substr(1) == id_text &&
            where != static_cast<int32_t>(i)) {
          referenced = true;
        }
        if (referenced) break;
      }
      if (!referenced && !id_text.empty()) {
        for (std::string_view div : scope_->narratives) {
          size_t at = div.find(id_text);
          while (at != std::string_view::npos && !referenced) {
            referenced = at > 0 && div[at - 1] == '#' &&
                         (at + id_text.size() == div.size() || div[at + id_text.size()] == '"' ||
                          div[at + id_text.size()] == '\'');
            at = div.find(id_text, at + 1);
          }
          if (referenced) break;
        }
      }
      if (!referenced) {
        reportAtChild(Severity::kError, kInvariant,
                      "dom-3: the contained resource '" + truncated(id_text) +
                          "' is not referenced from elsewhere in the containing resource, nor does it refer to it",
                      "contained", static_cast<int32_t>(i));
      }
    }
  }

  const JsonValue* findContained(std::string_view id) const {
    if (scope_ == nullptr || scope_->contained == nullptr) return nullptr;
    for (const JsonValue& item : scope_->contained->items()) {
      const JsonValue* item_id = item.find("id");
      if (item_id != nullptr && item_id->isString() && item_id->text() == id) return &item;
    }
    return nullptr;
  }

  // ---- objects and properties ----

  // Counts per child definition while walking one object. Small objects stay on the stack.
  // Trivially constructible on purpose: the inline array below is left uninitialised and only the entries in use
  // are zeroed (value-initialisation), instead of clearing all kInline entries for every object. Eight bytes, so a
  // typical object's counts fill a cache line or two of stack.
  struct ChildCount {
    uint32_t count;
    uint32_t first_member;  // 1 + the member whose JSON name matched first (choices: only one may match), or 0
  };

  static std::string_view memberName(std::span<const JsonMember> members, uint32_t index) {
    std::string_view key = members[index].key;
    return !key.empty() && key[0] == '_' ? key.substr(1) : key;
  }

  void validateObject(const JsonValue& object, const ChildPlan& plan, bool is_resource) {
    const std::span<const ElementDef* const> children = plan.children();
    constexpr size_t kInline = 96;
    std::array<ChildCount, kInline> inline_counts;  // NOLINT: uninitialised; the first children.size() are zeroed
    std::vector<ChildCount> heap_counts;
    ChildCount* counts = inline_counts.data();
    if (children.size() > kInline) {
      heap_counts.resize(children.size());
      counts = heap_counts.data();
    } else {
      std::fill_n(counts, children.size(), ChildCount{});
    }
    auto members = object.members();
    bool any_twin = false;
    for (const JsonMember& m : members) {
      if (!m.key.empty() && m.key[0] == '_') {
        any_twin = true;
        break;
      }
    }
    bool over_max = false;
    for (size_t i = 0; i < members.size(); ++i) {
      const JsonMember& m = members[i];
      std::string_view key = m.key;
      if (is_resource && key == "resourceType") continue;
      bool underscore = !key.empty() && key[0] == '_';
      std::string_view name = underscore ? key.substr(1) : key;
      const JsonValue* twin = nullptr;
      if (underscore) {
        if (object.find(name) != nullptr) continue;  // validated together with its value
      } else if (any_twin) {
        twin = findTwin(members, name);
      }
      const ChildTarget* target = name.empty() ? nullptr : plan.match(name);
      if (target == nullptr) {
        reportAtChild(Severity::kError, kStructure, "unrecognized property '" + std::string(key) + "'", key);
        continue;
      }
      ChildCount& c = counts[target->child];
      if (c.count > 0 && c.first_member != 0 && memberName(members, c.first_member - 1) != name) {
        reportAtChild(Severity::kError, kStructure,
                      "only one of the choices of '" + target->element->name + "[x]' may be present (found '" +
                          std::string(memberName(members, c.first_member - 1)) + "' and '" + std::string(name) +
                          "')",
                      key);
        continue;
      }
      c.first_member = static_cast<uint32_t>(i + 1);
      c.count += validateProperty(*target, name, underscore ? nullptr : &m.value, underscore ? &m.value : twin);
      over_max |= c.count > plan.cardinalities()[target->child].max;
    }
    // The conforming case: no child over its maximum and every required one present, told by the few required
    // children alone. Otherwise every child is judged in definition order, as the issues are reported.
    const std::span<const ChildPlan::Cardinality> cardinalities = plan.cardinalities();
    bool within = !over_max;
    for (uint32_t r : plan.required()) {
      if (!within) break;
      within = counts[r].count >= cardinalities[r].min;
    }
    if (within) return;
    for (size_t i = 0; i < children.size(); ++i) {
      const ChildPlan::Cardinality& card = cardinalities[i];
      if (counts[i].count >= card.min && (card.max == kUnbounded || counts[i].count <= card.max)) continue;
      const ElementDef& el = *children[i];
      if (counts[i].count < el.min) {
        std::string shown = el.is_choice ? el.name + "[x]" : el.name;
        reportAtChild(Severity::kError, kRequired,
                      "'" + shown + "': minimum required = " + std::to_string(el.min) + ", but only found " +
                          std::to_string(counts[i].count),
                      el.name);
      } else if (el.max != kUnbounded && counts[i].count > el.max) {
        reportAtChild(Severity::kError, kStructure,
                      "'" + el.name + "': maximum allowed = " + std::to_string(el.max) + ", but found " +
                          std::to_string(counts[i].count),
                      el.name);
      }
    }
  }

  static const JsonValue* findTwin(std::span<const JsonMember> members, std::string_view name) {
    for (const JsonMember& m : members) {
      if (m.key.size() == name.size() + 1 && m.key[0] == '_' && m.key.substr(1) == name) return &m.value;
    }
    return nullptr;
  }

  // Validates one property (value and/or `_name` twin); returns how many values it holds for cardinality.
  uint32_t validateProperty(const ChildTarget& target, std::string_view name, const JsonValue* value,
                            const JsonValue* twin) {
    const bool choice = !target.choice_name.empty();
    std::string_view seg_name = choice ? target.choice_name : name;
    std::string_view of_type = choice ? target.type_code : std::string_view();
    const bool kind = target.has_kind;

    if (!kind && twin != nullptr) {
      reportAtChild(Severity::kError, kStructure,
                    "'_" + std::string(name) + "' is only allowed for primitive elements", "_" + std::string(name));
      if (value == nullptr) return 0;
      twin = nullptr;
    }

    if (target.is_array) {
      bool bad = false;
      if (value != nullptr && !value->isArray()) {
        PathGuard g(path_, {seg_name, -1, of_type});
        report(Severity::kError, kStructure, "'" + std::string(name) + "' must be a JSON array (max > 1)");
        bad = true;
      }
      if (twin != nullptr && !twin->isArray()) {
        reportAtChild(Severity::kError, kStructure, "'_" + std::string(name) + "' must be a JSON array",
                      "_" + std::string(name));
        bad = true;
      }
      if (bad) return 1;
      uint32_t n_values = value != nullptr ? value->size() : 0;
      uint32_t n_twins = twin != nullptr ? twin->size() : 0;
      if ((value != nullptr && n_values == 0) || (twin != nullptr && n_twins == 0)) {
        PathGuard g(path_, {seg_name, -1, of_type});
        report(Severity::kError, kStructure,
               "array '" + std::string(name) + "' cannot be empty: the property should be absent if it has no values");
        return 0;
      }
      if (value != nullptr && twin != nullptr && n_values != n_twins) {
        PathGuard g(path_, {seg_name, -1, of_type});
        report(Severity::kError, kStructure,
               "'" + std::string(name) + "' and '_" + std::string(name) +
                   "' must be arrays of the same length (nulls align them)");
      }
      uint32_t n = std::max(n_values, n_twins);
      for (uint32_t i = 0; i < n; ++i) {
        const JsonValue* item = (value != nullptr && i < n_values) ? &value->items()[i] : nullptr;
        const JsonValue* twin_item = (twin != nullptr && i < n_twins) ? &twin->items()[i] : nullptr;
        PathGuard g(path_, {seg_name, static_cast<int32_t>(i), of_type});
        if (kind) {
          bool item_null = item == nullptr || item->isNull();
          bool twin_null = twin_item == nullptr || twin_item->isNull();
          if (item_null && twin_null) {
            report(Severity::kError, kStructure, "null is not allowed here (both the value and its '_" +
                                                     std::string(name) + "' entry are null or missing)");
            continue;
          }
          validatePrimitive(target, item_null ? nullptr : item, twin_null ? nullptr : twin_item);
        } else if (item != nullptr) {
          validateComplex(target, name, *item);
        }
      }
      return n;
    }

    if ((value != nullptr && value->isArray()) || (twin != nullptr && twin->isArray())) {
      PathGuard g(path_, {seg_name, -1, of_type});
      report(Severity::kError, kStructure,
             "'" + std::string(name) + "' must not be an array (max = 1)");
      return 1;
    }
    PathGuard g(path_, {seg_name, -1, of_type});
    if (kind) {
      if (value != nullptr && value->isNull()) {
        report(Severity::kError, kStructure, "null is not allowed (omit the property instead)");
        value = nullptr;
        if (twin == nullptr) return 0;
      }
      validatePrimitive(target, value, twin);
    } else if (value != nullptr) {
      validateComplex(target, name, *value);
    }
    return 1;
  }

  // ---- primitives ----

  void validatePrimitive(const ChildTarget& target, const JsonValue* value, const JsonValue* twin) {
    const PrimitiveKind kind = target.kind;
    const std::string_view type_code = target.type_code;
    if (value != nullptr) {
      bool json_ok = false;
      const char* expected = "a string";
      if (validation::isNumericKind(kind)) {
        json_ok = value->isNumber();
        expected = "a number";
      } else if (kind == PrimitiveKind::kBoolean) {
        json_ok = value->isBool();
        expected = "true or false";
      } else {
        json_ok = value->isString();
      }
      if (!json_ok) {
        report(Severity::kError, kStructure,
               std::string("the JSON value of a ") + std::string(type_code) + " must be " + expected);
      } else if (value->isString() || value->isNumber()) {
        checkPrimitiveText(target, value->text());
      }
    }
    if (twin != nullptr) {
      if (!twin->isObject()) {
        report(Severity::kError, kStructure, "a primitive's '_' twin must be a JSON object with id and/or extension");
      } else if (twin->size() == 0) {
        report(Severity::kError, kStructure, "object cannot be empty: the property should be absent");
      } else {
        // The element scope is read by the profile layer alone (checkKnownExtension): the base walk keeps none.
        if (profiles_ == nullptr) {
          validateObject(*twin, ChildPlan::of(model_, element_children_), false);
        } else {
          const ObjectScope outer_scope = element_scope_.object();
          element_scope_.current_type = type_code;
          element_scope_.element_path = target.element_path;
          validateObject(*twin, ChildPlan::of(model_, element_children_), false);
          element_scope_.restore(outer_scope);
        }
      }
    }
    if (target.element_constraints != nullptr && constraints_ != nullptr) {
      fhirpath::Node node;
      node.json = value;
      node.extension = twin;
      node.type = type_code;
      node.element = target.effective;
      runConstraints(*target.element_constraints, node);
    }
  }

  void checkPrimitiveText(const ChildTarget& target, std::string_view text) {
    const PrimitiveKind kind = target.kind;
    const std::string_view type_code = target.type_code;
    if (text.empty()) {
      report(Severity::kError, kValue, "empty strings are not allowed: the property should be absent");
      return;
    }
    if (text.size() > validation::kMaxStringBytes) {
      report(Severity::kError, kValue, "value is longer than the permitted maximum of 1 MB (1048576 bytes)");
      return;
    }
    if (kind == PrimitiveKind::kUnknown) {
      checkUnknownPrimitive(type_code, text);
    } else if (const char* reason = validation::checkPrimitive(kind, text); reason != nullptr) {
      report(Severity::kError, kValue,
             "the value '" + truncated(text) + "' " + reason + " (" + std::string(type_code) + ")");
      return;
    }
    switch (kind) {
      case PrimitiveKind::kXhtml:
        if (scope_ != nullptr && scope_->contained != nullptr) scope_->narratives.push_back(text);
        if (options_.check_narrative) checkNarrative(text);
        break;
      case PrimitiveKind::kMarkdown:
        if (options_.markdown_no_html) checkMarkdownHtml(text);
        break;
      case PrimitiveKind::kUri:
      case PrimitiveKind::kUrl:
      case PrimitiveKind::kCanonical:
        if (text[0] == '#' && scope_ != nullptr) scope_->local_refs.emplace_back(text, scope_->current_contained);
        break;
      default:
        break;
    }
    if (target.required_codes != nullptr && (kind == PrimitiveKind::kCode || kind == PrimitiveKind::kString ||
                                             kind == PrimitiveKind::kUri)) {
      if (!target.required_codes->containsCode(text)) {
        report(Severity::kError, kCodeInvalid,
               "the value '" + truncated(text) + "' is not in the required value set " +
                   target.required_binding->value_set);
      }
    }
  }

  void checkUnknownPrimitive(std::string_view type_code, std::string_view text) {
    // A primitive this file has no hand check for: nothing in R4; kept generic for completeness.
    (void)type_code;
    if (!validation::isValidStringChars(text)) report(Severity::kError, kValue, "the value contains control characters");
  }

  void checkNarrative(std::string_view div) {
    for (const auto& problem : validation::checkNarrativeXhtml(div)) {
      report(problem.is_error ? Severity::kError : Severity::kWarning, kValue, "narrative: " + problem.message);
    }
  }

  void checkMarkdownHtml(std::string_view text) {
    for (size_t i = 0; i + 1 < text.size(); ++i) {
      if (text[i] != '<') continue;
      char next = text[i + 1];
      bool tag_start = (next >= 'a' && next <= 'z') || (next >= 'A' && next <= 'Z') || next == '/' || next == '!';
      if (tag_start && (i == 0 || text[i - 1] != '\\')) {
        report(Severity::kError, kInvalid,
               "the markdown contains what appears to be an embedded HTML tag starting at '" +
                   std::string(text.substr(i, 2)) + "'");
        return;
      }
    }
  }

  // ---- complex values ----

  // `type` is the definition of `type_code`, or null for inline (BackboneElement) children.
  void validateComplex(const ChildTarget& target, std::string_view name, const JsonValue& value) {
    const std::string_view type_code = target.type_code;
    const ComplexRule rule = target.rule;
    if (value.isNull()) {
      report(Severity::kError, kStructure, "null is not allowed (omit the property instead)");
      return;
    }
    if (!value.isObject()) {
      report(Severity::kError, kStructure,
             "'" + std::string(name) + "' must be a JSON object (type " + std::string(type_code) + ")");
      return;
    }
    if (target.is_resource) {
      validateNestedResource(target, value);
      return;
    }
    if (value.size() == 0) {
      report(Severity::kError, kStructure, "object cannot be empty: the property should be absent");
      return;
    }
    if (target.is_abstract) {
      report(Severity::kError, kStructure, "type '" + std::string(type_code) + "' is abstract");
      return;
    }
    // The element scope (and the extension's url in it) is read by the profile layer alone (checkKnownExtension):
    // the base walk keeps none.
    if (profiles_ == nullptr) {
      validateObject(value, target.childPlan(model_), false);
    } else {
      const ObjectScope outer_scope = element_scope_.object();
      if (rule == ComplexRule::kExtension) checkKnownExtension(value);
      element_scope_.current_type = type_code;
      element_scope_.element_path = target.element_path;
      if (rule == ComplexRule::kExtension) {
        const JsonValue* url = value.find("url");
        element_scope_.extension_url = url != nullptr && url->isString() ? url->text() : std::string_view();
      }
      validateObject(value, target.childPlan(model_), false);
      element_scope_.restore(outer_scope);
    }

    switch (rule) {
      case ComplexRule::kReference:
        checkReference(*target.effective, value);
        break;
      case ComplexRule::kCoding:
        checkCoding(value);
        if (target.required_codes != nullptr) checkCodingBinding(target, value);
        break;
      case ComplexRule::kCodeableConcept:
        if (target.required_codes != nullptr) checkCodeableConceptBinding(target, value);
        break;
      case ComplexRule::kExtension:
        checkExtension(value);
        break;
      case ComplexRule::kIdentifier:
        if (options_.check_norwegian_identifiers) checkNorwegianIdentifier(value);
        break;
      case ComplexRule::kAttachment:
        validation::checkAttachment(value, location(), out_);
        break;
      case ComplexRule::kNone:
        break;
    }

    if (constraints_ != nullptr && (target.element_constraints != nullptr || target.type_constraints != nullptr)) {
      fhirpath::Node node;
      node.json = &value;
      node.type = type_code;
      node.element = target.effective;
      node.name = name;
      if (target.element_constraints != nullptr) runConstraints(*target.element_constraints, node);
      if (target.type_constraints != nullptr) runConstraints(*target.type_constraints, node);
    }
  }

  void validateNestedResource(const ChildTarget& target, const JsonValue& value) {
    if (target.is_contained && scope_ != nullptr) {
      int32_t previous = scope_->current_contained;
      scope_->current_contained = path_.back().index;
      validateResource(value, true, false);
      scope_->current_contained = previous;
      return;
    }
    validateResource(value, false, false);
  }

  // ---- profiles: known extensions ----

  // Where a known extension sits, for its context. Its two paths are built only when the profile checker asks (most
  // contexts are decided by the element's type), into buffers the walker keeps, so a known extension costs no heap
  // allocation once they have grown to the longest path; checkExtension does not re-enter the walker.
  class KnownExtensionSite final : public validation::ProfileChecker::ExtensionSite {
   public:
    explicit KnownExtensionSite(Walker& walker) : walker_(walker) {
      const ElementScope& scope = walker.element_scope_;
      context_type = scope.current_type;
      parent_extension_url = scope.extension_url;
      at_resource = scope.resource_start + 1 >= walker.path_.size();
    }
    // The path of JSON names from the resource ("Patient.address").
    std::string_view resourcePath() const override {
      const ElementScope& scope = walker_.element_scope_;
      std::string& path = walker_.extension_resource_path_;
      path.assign(scope.resource_type);
      for (size_t i = scope.resource_start; i + 1 < walker_.path_.size(); ++i) {
        path += '.';
        path += walker_.path_[i].name;
      }
      return path;
    }
    // The definition path with "[x]" left out ("HumanName.family", "Questionnaire.item" for nested items).
    std::string_view definitionPath() const override {
      std::string_view path = walker_.element_scope_.element_path;
      if (size_t x = path.find("[x]"); x != std::string_view::npos) {
        std::string& out = walker_.extension_definition_path_;
        out.assign(path.substr(0, x));
        out.append(path.substr(x + 3));
        return out;
      }
      return path;
    }

   private:
    Walker& walker_;
  };

  void checkKnownExtension(const JsonValue& extension) {
    const JsonValue* url = extension.find("url");
    if (url == nullptr || !url->isString()) return;
    const Profile* definition = profiles_->knownExtension(url->text());
    if (definition == nullptr) return;  // unknown extensions pass (vendor, national ones)
    const KnownExtensionSite site(*this);
    // The location is rendered only if the extension has an issue.
    const validation::ProfileChecker::LocationRenderer here = [this] { return location(); };
    profiles_->checkExtension(*definition, extension, site, here, resource_ != nullptr ? *resource_ : extension);
  }

  // ---- data-type rules ----

  void checkReference(const ElementDef& eff, const JsonValue& value) {
    const JsonValue* ref = value.find("reference");
    std::string_view visible_type;
    if (ref != nullptr && ref->isString() && !ref->text().empty()) {
      std::string_view s = ref->text();
      if (s[0] == '#') {
        if (scope_ != nullptr) scope_->local_refs.emplace_back(s, scope_->current_contained);
        if (s.size() > 1) {
          const JsonValue* target = findContained(s.substr(1));
          if (target == nullptr) {
            reportAtChild(Severity::kError, kNotFound,
                          "ref-1: unable to resolve the local reference '" + truncated(s) +
                              "' to a contained resource",
                          "reference");
          } else if (const JsonValue* rt = target->find("resourceType"); rt != nullptr && rt->isString()) {
            visible_type = rt->text();
          }
        }
      } else if (startsWith(s, "urn:uuid:")) {
        // A warning only: the reference validator accepts any urn:uuid: text as a reference key in Bundles.
        if (!validation::isValidUuid(s)) {
          reportAtChild(Severity::kWarning, kValue, "the reference '" + truncated(s) + "' is not a valid urn:uuid",
                        "reference");
        }
      } else if (startsWith(s, "urn:oid:")) {
        if (!validation::isValidOid(s)) {
          reportAtChild(Severity::kWarning, kValue, "the reference '" + truncated(s) + "' is not a valid urn:oid",
                        "reference");
        }
      } else {
        visible_type = referenceType(s);
        bool absolute = validation::isAbsoluteUri(s);
        if (!absolute && s.find('?') == std::string_view::npos) {
          if (visible_type.empty()) {
            reportAtChild(Severity::kError, kValue,
                          "the reference '" + truncated(s) +
                              "' is not a valid reference (Type/id, an absolute URL, #id, urn:uuid: or urn:oid:)",
                          "reference");
          } else if (!model_.isResourceType(visible_type)) {
            reportAtChild(Severity::kError, kValue,
                          "the reference '" + truncated(s) + "' names an unknown resource type '" +
                              std::string(visible_type) + "'",
                          "reference");
            visible_type = {};
          }
        } else if (!model_.isResourceType(visible_type)) {
          visible_type = {};
        }
      }
    }
    if (visible_type.empty()) {
      if (const JsonValue* t = value.find("type"); t != nullptr && t->isString() && model_.isResourceType(t->text())) {
        visible_type = t->text();
      }
    }
    if (visible_type.empty()) return;
    if (!referenceTypeAllowed(eff, visible_type)) {
      reportAtChild(Severity::kError, kStructure,
                    "a reference to a " + std::string(visible_type) + " is not allowed here (allowed: " +
                        allowedTargets(eff) + ")",
                    "reference");
    }
  }

  // "Patient/123", "Patient/123/_history/2", or an absolute URL ending that way: the type segment, else empty.
  static std::string_view referenceType(std::string_view s) {
    s = s.substr(0, firstQueryOrFragment(s));
    // "/_history/" holds the only '_' of most references that have one: one memchr first, not a search for the
    // ten-byte needle in every reference.
    if (s.find('_') != std::string_view::npos) {
      if (size_t h = s.find("/_history/"); h != std::string_view::npos) s = s.substr(0, h);
    }
    size_t slash = s.rfind('/');
    if (slash == std::string_view::npos || slash == 0 || slash + 1 >= s.size()) return {};
    std::string_view id = s.substr(slash + 1);
    if (!validation::isValidId(id)) return {};
    std::string_view head = s.substr(0, slash);
    size_t prev = head.rfind('/');
    std::string_view type = prev == std::string_view::npos ? head : head.substr(prev + 1);
    if (type.empty() || !(type[0] >= 'A' && type[0] <= 'Z')) return {};
    for (char c : type) {
      if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))) return {};
    }
    return type;
  }

  // The position of the first '?' or '#' in `s`, or its size. References are mostly 16 bytes or more ("Patient/" and
  // an id): those by 16-byte blocks, the last overlapping the one before (a byte loop cost a quarter of the
  // reference check; find_first_of("?#") a memchr per character).
  static size_t firstQueryOrFragment(std::string_view s) {
    const size_t n = s.size();
#if defined(__SSE2__)
    if (n >= 16) {
      auto hitsAt = [&](size_t at) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s.data() + at));
        return static_cast<unsigned>(_mm_movemask_epi8(
            _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('?')), _mm_cmpeq_epi8(v, _mm_set1_epi8('#')))));
      };
      size_t i = 0;
      for (; i + 16 <= n; i += 16) {
        if (const unsigned hits = hitsAt(i); hits != 0) return i + static_cast<size_t>(__builtin_ctz(hits));
      }
      if (i == n) return n;
      const unsigned hits = hitsAt(n - 16);  // the bytes shared with the blocks before hold no hit
      return hits != 0 ? n - 16 + static_cast<size_t>(__builtin_ctz(hits)) : n;
    }
#endif
    for (size_t i = 0; i < n; ++i) {
      if (s[i] == '?' || s[i] == '#') return i;
    }
    return n;
  }

  // What the target profiles of an element's Reference types allow, worked out once per element definition: the
  // resource types named (a core type's name, or the type a constraint profile constrains), or any type.
  struct ReferenceTargets {
    const ModelInfo* model = nullptr;
    bool allow_all = false;  // no target profile, Resource/DomainResource, or a profile whose type is unknown
    std::vector<std::string_view> types;
  };

  static ReferenceTargets referenceTargetsOf(const ModelInfo& model, const ElementDef& eff) {
    ReferenceTargets r;
    r.model = &model;
    bool any_profile = false;
    for (const TypeRef& t : eff.types) {
      if (t.code != "Reference") continue;
      for (const std::string& url : t.target_profiles) {
        any_profile = true;
        std::string_view target = url;
        size_t slash = target.rfind('/');
        std::string_view last = slash == std::string_view::npos ? target : target.substr(slash + 1);
        if (last == "Resource" || last == "DomainResource") r.allow_all = true;
        r.types.push_back(last);
        if (!model.isResourceType(last)) {
          // A constraint profile: allowed when it constrains the type, or when we cannot tell.
          const TypeDef* profile = model.profile(url);
          if (profile == nullptr || profile->constrained_type.empty()) {
            r.allow_all = true;
          } else {
            r.types.push_back(profile->constrained_type);
          }
        }
      }
    }
    if (!any_profile) r.allow_all = true;
    return r;
  }

  bool referenceTypeAllowed(const ElementDef& eff, std::string_view type) const {
    // Keyed by the definition's address, as the other caches of model addresses; a collision recomputes.
    thread_local AddressCache<ReferenceTargets> cache;
    auto& slot = cache.slot(&eff);
    if (slot.key != &eff || slot.value.model != &model_) {
      slot.key = &eff;
      slot.value = referenceTargetsOf(model_, eff);
    }
    const ReferenceTargets& targets = slot.value;
    if (targets.allow_all) return true;
    for (std::string_view allowed : targets.types) {
      if (allowed.size() == type.size() && std::memcmp(allowed.data(), type.data(), type.size()) == 0) return true;
    }
    return false;
  }

  static std::string allowedTargets(const ElementDef& eff) {
    std::string s;
    for (const TypeRef& t : eff.types) {
      for (const std::string& url : t.target_profiles) {
        if (!s.empty()) s += ", ";
        size_t slash = url.rfind('/');
        s += slash == std::string::npos ? url : url.substr(slash + 1);
      }
    }
    return s;
  }

  void checkCoding(const JsonValue& coding) {
    const JsonValue* system = coding.find("system");
    if (system == nullptr || !system->isString() || system->text().empty()) return;
    std::string_view s = system->text();
    if (!validation::isAbsoluteUri(s)) {
      reportAtChild(Severity::kError, kInvalid,
                    "Coding.system must be an absolute reference, not a local reference ('" + truncated(s) + "')",
                    "system");
    } else if (startsWith(s, "http://hl7.org/fhir/ValueSet/")) {
      reportAtChild(Severity::kError, kInvalid,
                    "the Coding references a value set, not a code system ('" + truncated(s) + "')", "system");
    }
  }

  // 0 = not judged (incomplete value set, or nothing to test), 1 = in the set, -1 = not in the set.
  int codingInValueSet(const ValueSetCodes& vs, const JsonValue& coding) const {
    const JsonValue* system = coding.find("system");
    const JsonValue* code = coding.find("code");
    if (code == nullptr || !code->isString() || code->text().empty()) return 0;
    if (system == nullptr || !system->isString() || system->text().empty()) return 0;
    return vs.contains(system->text(), code->text()) ? 1 : -1;
  }

  void checkCodingBinding(const ChildTarget& target, const JsonValue& coding) {
    if (codingInValueSet(*target.required_codes, coding) < 0) {
      report(Severity::kError, kCodeInvalid,
             "the Coding is not in the required value set " + target.required_binding->value_set);
    }
  }

  void checkCodeableConceptBinding(const ChildTarget& target, const JsonValue& concept_value) {
    const JsonValue* codings = concept_value.find("coding");
    if (codings == nullptr || !codings->isArray()) return;
    bool judged = false;
    for (const JsonValue& coding : codings->items()) {
      int r = codingInValueSet(*target.required_codes, coding);
      if (r > 0) return;
      if (r < 0) judged = true;
    }
    if (judged) {
      report(Severity::kError, kCodeInvalid,
             "none of the codings provided are in the required value set " + target.required_binding->value_set);
    }
  }

  // ext-1: an extension has either a value or nested extensions, not both and not neither.
  void checkExtension(const JsonValue& extension) {
    bool has_value = false;
    bool has_children = false;
    // By bytes and sizes: the std::string_view comparisons were out-of-line calls, three per member of every
    // extension.
    for (const JsonMember& m : extension.members()) {
      std::string_view key = m.key;
      if (!key.empty() && key[0] == '_') key.remove_prefix(1);
      if (key.size() > 5 && std::memcmp(key.data(), "value", 5) == 0) has_value = true;
      if (key.size() == 9 && std::memcmp(key.data(), "extension", 9) == 0) has_children = true;
    }
    if (has_value && has_children) {
      report(Severity::kError, kInvariant, "ext-1: an extension must have either extensions or value[x], not both");
    } else if (!has_value && !has_children) {
      report(Severity::kError, kInvariant, "ext-1: an extension must have either extensions or value[x]");
    }
  }

  void checkNorwegianIdentifier(const JsonValue& identifier) {
    const JsonValue* system = identifier.find("system");
    const JsonValue* value = identifier.find("value");
    if (system == nullptr || value == nullptr || !system->isString() || !value->isString()) return;
    std::optional<no::IdentifierSystem> kind = no::identifierSystemFor(system->text());
    if (!kind) return;
    if (std::optional<std::string> problem = no::checkIdentifierValue(*kind, value->text())) {
      reportAtChild(Severity::kError, kValue, "invalid Norwegian identifier: " + *problem, "value");
    }
  }

  // ---- Bundle ----

  void checkBundle(const JsonValue& bundle) {
    if (const JsonValue* links = bundle.find("link"); links != nullptr && links->isArray()) {
      auto items = links->items();
      for (size_t i = 0; i < items.size(); ++i) {
        const JsonValue* rel = items[i].find("relation");
        if (rel == nullptr || !rel->isString()) continue;
        for (size_t j = 0; j < i; ++j) {
          const JsonValue* earlier = items[j].find("relation");
          if (earlier != nullptr && earlier->isString() && earlier->text() == rel->text()) {
            reportAtChild(Severity::kError, kInvalid,
                          "the link relationship type '" + truncated(rel->text()) + "' can only occur once", "link",
                          static_cast<int32_t>(i));
            break;
          }
        }
      }
    }
    const JsonValue* type = bundle.find("type");
    std::string_view bundle_type = (type != nullptr && type->isString()) ? type->text() : std::string_view();
    const JsonValue* entries = bundle.find("entry");
    if (entries == nullptr || !entries->isArray()) return;
    auto items = entries->items();
    for (size_t i = 0; i < items.size(); ++i) {
      const JsonValue& entry = items[i];
      PathGuard g(path_, {"entry", static_cast<int32_t>(i), {}});
      if (const JsonValue* full_url = entry.find("fullUrl"); full_url != nullptr && full_url->isString() &&
                                                             !full_url->text().empty() &&
                                                             !validation::isAbsoluteUri(full_url->text())) {
        report(Severity::kError, kInvalid,
               "the fullUrl must be an absolute URL (not '" + truncated(full_url->text()) + "')");
      }
      if (bundle_type != "searchset") continue;
      const JsonValue* resource = entry.find("resource");
      if (resource == nullptr || !resource->isObject()) continue;
      const JsonValue* search = entry.find("search");
      const JsonValue* mode = (search != nullptr) ? search->find("mode") : nullptr;
      std::string_view mode_text = (mode != nullptr && mode->isString()) ? mode->text() : std::string_view();
      const JsonValue* rt = resource->find("resourceType");
      std::string_view rt_text = (rt != nullptr && rt->isString()) ? rt->text() : std::string_view();
      if (mode_text == "outcome" && rt_text != "OperationOutcome") {
        reportAtChild(Severity::kError, kInvalid,
                      "an entry with search mode 'outcome' must be an OperationOutcome (found " +
                          std::string(rt_text) + ")",
                      "resource");
      }
      if (mode_text == "match" && resource->find("id") == nullptr) {
        reportAtChild(Severity::kError, kInvalid, "search results must have ids", "resource");
      }
    }
  }

  // ---- invariants ----

  void runConstraints(const std::vector<Constraint>& constraints, const fhirpath::Node& focus) {
    if (constraints_ == nullptr || resource_ == nullptr) return;
    for (const Constraint& c : constraints) {
      // Native constraints (dom-2..5, ele-1, ext-1, txt-1/2, ref-1) are flagged in the cache and checked elsewhere.
      const validation::ConstraintCache::Compiled* compiled = constraints_->find(c);
      if (compiled == nullptr || compiled->native) continue;
      if (compiled->per1 && focus.json != nullptr && focus.json->isObject()) {
        if (std::optional<bool> ok = periodStartNotAfterEnd(*focus.json)) {
          if (!*ok) report(c.severity, kInvariant, c.key + ": " + c.human);
          continue;
        }
      }
      // `m.exists() implies X` and `m.empty() or X` hold on a focus without `m`: no engine run for what is absent.
      if (!compiled->absent_member.empty() && focus.json != nullptr && focus.json->isObject() &&
          validation::ConstraintCache::passesWhenAbsent(compiled->absent_member, *focus.json)) {
        continue;
      }
      if (compiled->shortcut != validation::ConstraintCache::Compiled::Shortcut::kNone && focus.json != nullptr &&
          focus.json->isObject() && validation::ConstraintCache::passesByShape(compiled->shortcut, *focus.json, resource_)) {
        continue;
      }
      if (compiled->simple && focus.json != nullptr && focus.json->isObject()) {
        if (compiled->simple->evaluate(*focus.json) == false) report(c.severity, kInvariant, c.key + ": " + c.human);
        continue;
      }
      if (!compiled->expression) continue;
      const fhirpath::Expression* expr = compiled->expression.get();
      // An empty result passes (FHIRPath: the expression is not false). The reference validator fails it, which
      // matters for mixed-precision date comparisons (docs/conformance.md, "Validator tests").
      Result<bool> r = fhirpath::evaluateBoolean(*expr, focus, *resource_, env_, /*empty_is=*/true);
      if (!r.isOk()) {
        report(Severity::kWarning, kInvariant,
               "could not evaluate " + c.key + " (" + c.expression + "): " + r.status().message());
        continue;
      }
      if (!r.value()) {
        report(c.severity, kInvariant, c.key + ": " + c.human);
      }
    }
  }

  // per-1 "start.hasValue().not() or end.hasValue().not() or (start <= end)" on the common shapes, with exactly the
  // FHIRPath result: true when either value is absent, else the comparison when both dateTimes have the same shape
  // (same length, and the same time zone text when they have a time), where text order is time order. Anything
  // else (mixed precision, different zones, invalid values, non-string JSON) returns nullopt for the engine.
  static std::optional<bool> periodStartNotAfterEnd(const JsonValue& period) {
    const JsonValue* start = period.find("start");
    const JsonValue* end = period.find("end");
    if (start == nullptr || end == nullptr) return true;  // hasValue() is false without a JSON value
    if (!start->isString() || !end->isString()) return std::nullopt;
    std::string_view a = start->text();
    std::string_view b = end->text();
    if (a.size() != b.size() || !validation::isValidDateTime(a) || !validation::isValidDateTime(b)) {
      return std::nullopt;
    }
    if (a.size() > 10) {
      // A time is present, so a zone ends both: 'Z' or "+hh:mm"/"-hh:mm". Equal lengths and equal zone text mean
      // the same fractional-second digits and the same offset.
      size_t zone = a.back() == 'Z' ? a.size() - 1 : a.size() - 6;
      if (b.size() <= zone || a.substr(zone) != b.substr(zone)) return std::nullopt;
      if (a[17] == '6' || b[17] == '6') return std::nullopt;  // leap second: left to the engine
      if (a[zone] == '-' || a[zone] == '+' || a[zone] == 'Z') {
        return a.substr(0, zone) <= b.substr(0, zone);
      }
      return std::nullopt;
    }
    return a <= b;  // YYYY, YYYY-MM or YYYY-MM-DD, the same precision on both sides
  }

  static std::string truncated(std::string_view s) {
    constexpr size_t kMax = 80;
    if (s.size() <= kMax) return std::string(s);
    return std::string(s.substr(0, kMax)) + "...";
  }

  const ModelInfo& model_;
  const ValidationOptions& options_;
  OperationOutcome& out_;
  std::span<const ElementDef* const> element_children_;
  const validation::ConstraintCache* constraints_ = nullptr;
  fhirpath::Environment env_;
  SegmentStack path_;
  ResourceScope* scope_ = nullptr;
  const JsonValue* resource_ = nullptr;
  size_t dropped_issues_ = 0;
  validation::ProfileChecker* profiles_ = nullptr;
  struct ObjectScope {
    std::string_view current_type;
    std::string_view extension_url;
    std::string_view element_path;
  };
  // Where the walk is, for extension contexts: the resource and the data type the current object belongs to.
  struct ElementScope {
    std::string_view resource_type;
    size_t resource_start = 0;       // first path_ segment below the resource
    std::string_view current_type;   // type of the object being walked
    std::string_view extension_url;  // when that object is an extension: its url
    std::string_view element_path;   // definition path of that object's element ("HumanName.family")

    // What a nested object changes (the resource's part stays): saved and restored around it, instead of the whole
    // scope per complex value.
    ObjectScope object() const { return {current_type, extension_url, element_path}; }
    void restore(const ObjectScope& saved) {
      current_type = saved.current_type;
      extension_url = saved.extension_url;
      element_path = saved.element_path;
    }
  };
  ElementScope element_scope_;
  // checkKnownExtension's path buffers, reused from extension to extension.
  std::string extension_resource_path_;
  std::string extension_definition_path_;
};

}  // namespace

namespace {

// The one guard in front of every walk (validateResource and Validator::validate): the walk recurses per level of
// nesting, so whatever depth the configuration lets the parser accept, or a built tree (a JSON Patch result, a
// transform's output) reaches, its stack stays bounded by kMaxValidationDepth. False, with one fatal "too-costly"
// issue at the first violation in `out`, when the tree must not be walked.
bool withinWalkLimits(const JsonValue& resource, const ValidationOptions& options, OperationOutcome& out) {
  JsonLimits limits_for_walk = options.json_limits;
  limits_for_walk.max_depth = std::min(limits_for_walk.max_depth, kMaxValidationDepth);
  std::string violation;
  Status limits = checkTreeLimits(resource, limits_for_walk, limits_for_walk.max_bytes, &violation);
  if (limits.isOk()) return true;
  out.add(Severity::kFatal, "too-costly", limits.message(), std::move(violation));
  return false;
}

}  // namespace

OperationOutcome validateResource(const JsonValue& resource, const ValidationOptions& options) {
  OperationOutcome out;
  if (!withinWalkLimits(resource, options, out)) return out;
  Walker walker(ModelInfo::r4(), options, out);
  walker.validateRoot(resource);
  if (walker.droppedIssues() > 0) {
    out.add(Severity::kInformation, "too-costly",
            std::to_string(walker.droppedIssues()) + " more issues were found and not reported (the limit is " +
                std::to_string(options.max_issues) + ")");
  }
  return out;
}

namespace {

// The answer of validateJsonText when the text does not parse: one fatal issue located by line and column.
OperationOutcome parseFailureOutcome(const Status& status, const JsonErrorPosition& position) {
  OperationOutcome out;
  std::string location;
  if (position.line > 0) location = "line " + std::to_string(position.line) + ", col " + std::to_string(position.column);
  out.add(Severity::kFatal, status.code() == StatusCode::kResourceExhausted ? "too-costly" : "structure",
          "invalid JSON: " + status.message(), std::move(location));
  return out;
}

}  // namespace

OperationOutcome validateJsonText(std::string text, const ValidationOptions& options) {
  JsonErrorPosition position;
  Result<JsonDocument> doc = JsonDocument::parse(std::move(text), options.json_limits, &position);
  if (!doc.isOk()) return parseFailureOutcome(doc.status(), position);
  return validateResource(doc->root(), options);
}

}  // namespace planbro::fhir

// ---- Validator objects ----

namespace planbro::fhir {
namespace {

// Resolves references inside the document being validated: "#id" to the containing resource's contained
// resources, anything else to the entries of the Bundle at the root (by fullUrl, or "Type/id" against an entry's
// resource type and id). The first entry that matches either way wins, as in entry order.
//
// The entries are indexed on the first resolve (a validation resolves every reference of every entry, and a
// scan per reference made a Bundle's cost grow with the square of its size). One resolver serves one validation
// on one thread.
class DocumentResolver : public validation::ReferenceResolver {
 public:
  explicit DocumentResolver(const JsonValue& root) : root_(root) {}

  const JsonValue* resolve(std::string_view reference, const JsonValue& from_resource) const override {
    if (reference.starts_with('#')) {
      const JsonValue* contained = from_resource.find("contained");
      if (contained == nullptr) return nullptr;
      for (const JsonValue& c : contained->items()) {
        const JsonValue* id = c.find("id");
        if (id != nullptr && id->isString() && id->text() == reference.substr(1)) return &c;
      }
      return nullptr;
    }
    if (!indexed_) buildIndex();
    if (entries_.empty()) return nullptr;
    std::string_view plain = reference;
    if (size_t h = plain.find("/_history/"); h != std::string_view::npos) plain = plain.substr(0, h);
    size_t best = kNone;
    auto consider = [&](const std::unordered_map<std::string_view, size_t>& index, std::string_view key) {
      if (auto it = index.find(key); it != index.end()) best = std::min(best, it->second);
    };
    consider(by_full_url_, reference);
    if (plain.size() != reference.size()) consider(by_full_url_, plain);
    // A resource type holds no '/', so "Type/id" splits at its first one.
    if (size_t slash = plain.find('/'); slash != std::string_view::npos) {
      if (auto it = by_type_id_.find({plain.substr(0, slash), plain.substr(slash + 1)}); it != by_type_id_.end()) {
        best = std::min(best, it->second);
      }
    }
    // Entries whose resourceType is not a plain name (invalid, and reported elsewhere) are matched as before.
    for (size_t i : odd_types_) {
      if (i >= best) break;
      const JsonValue* resource = entries_[i];
      std::string_view type = resource->find("resourceType")->text();
      std::string_view id = resource->find("id")->text();
      if (plain.size() == type.size() + 1 + id.size() && plain.starts_with(type) && plain[type.size()] == '/' &&
          plain.ends_with(id)) {
        best = i;
        break;
      }
    }
    return best == kNone ? nullptr : entries_[best];
  }

 private:
  static constexpr size_t kNone = ~size_t{0};

  struct PairHash {
    size_t operator()(const std::pair<std::string_view, std::string_view>& k) const {
      return std::hash<std::string_view>()(k.first) * 31 + std::hash<std::string_view>()(k.second);
    }
  };

  void buildIndex() const {
    indexed_ = true;
    const JsonValue* rt = root_.find("resourceType");
    if (rt == nullptr || rt->text() != "Bundle") return;
    const JsonValue* entries = root_.find("entry");
    if (entries == nullptr) return;
    for (const JsonValue& entry : entries->items()) {
      const JsonValue* resource = entry.find("resource");
      if (resource == nullptr || !resource->isObject()) continue;
      const size_t i = entries_.size();
      entries_.push_back(resource);
      const JsonValue* full_url = entry.find("fullUrl");
      if (full_url != nullptr && full_url->isString()) by_full_url_.emplace(full_url->text(), i);  // first one kept
      const JsonValue* type = resource->find("resourceType");
      const JsonValue* id = resource->find("id");
      if (type == nullptr || id == nullptr || !type->isString() || !id->isString()) continue;
      if (type->text().find('/') != std::string_view::npos) {
        odd_types_.push_back(i);
      } else {
        by_type_id_.emplace(std::make_pair(type->text(), id->text()), i);
      }
    }
  }

  const JsonValue& root_;
  mutable bool indexed_ = false;
  mutable std::vector<const JsonValue*> entries_;  // the entries' resources, in entry order
  mutable std::unordered_map<std::string_view, size_t> by_full_url_;
  mutable std::unordered_map<std::pair<std::string_view, std::string_view>, size_t, PairHash> by_type_id_;
  mutable std::vector<size_t> odd_types_;
};

}  // namespace

Validator::Validator(std::shared_ptr<const ProfileSet> profiles, ValidatorOptions options)
    : profiles_(profiles != nullptr ? std::move(profiles) : ProfileSet::core()), options_(std::move(options)) {}

Result<std::shared_ptr<const Validator>> Validator::create(std::shared_ptr<const ProfileSet> profiles,
                                                           ValidatorOptions options) {
  auto validator = std::make_shared<const Validator>(std::move(profiles), std::move(options));
  for (const auto& [type, urls] : validator->options().required_profiles) {
    for (const std::string& url : urls) {
      const Profile* p = validator->profiles().find(url);
      if (p == nullptr) return invalidArgument("required profile '" + url + "' for " + type + " is not loaded");
      if (p->type != type) {
        return invalidArgument("required profile '" + url + "' is for " + p->type + ", not " + type);
      }
    }
  }
  return validator;
}

OperationOutcome Validator::validate(const JsonValue& resource) const {
  OperationOutcome out;
  if (!withinWalkLimits(resource, options_.base, out)) return out;
  DocumentResolver resolver(resource);
  validation::ProfileChecker checker(*profiles_, options_.required_profiles, out, &resolver,
                                     options_.max_profile_nesting);
  Walker walker(profiles_->model(), options_.base, out, &checker);
  walker.validateRoot(resource);
  return out;
}

OperationOutcome Validator::validateJsonText(std::string text) const {
  JsonErrorPosition position;
  Result<JsonDocument> doc = JsonDocument::parse(std::move(text), options_.base.json_limits, &position);
  if (!doc.isOk()) return parseFailureOutcome(doc.status(), position);
  return validate(doc->root());
}

}  // namespace planbro::fhir
