#pragma once
// The FHIR R4 (4.0.1) core definitions, compiled from the official package (StructureDefinitions, ValueSets,
// CodeSystems, SearchParameters) into fhir-model/data/ and loaded once. Everything that knows the structure of a
// resource (parser ordering, validation, FHIRPath typing, search indexing) asks here; nothing is hand-written per type.

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "planbro/fhir-model/operation_outcome.h"
#include "planbro/fhir-model/status.h"

namespace planbro::fhir {

constexpr uint32_t kUnbounded = UINT32_MAX;

enum class TypeKind : uint8_t { kPrimitive, kComplex, kResource, kLogical };
enum class BindingStrength : uint8_t { kRequired, kExtensible, kPreferred, kExample };

struct TypeRef {
  std::string code;                          // "string", "Reference", "BackboneElement", "Resource"
  std::vector<std::string> target_profiles;  // for Reference/canonical: allowed target type URLs
  std::vector<std::string> profiles;
};

struct Binding {
  BindingStrength strength = BindingStrength::kExample;
  std::string value_set;  // canonical URL without "|version"
};

struct Constraint {
  std::string key;         // "cpl-3"
  Severity severity = Severity::kError;
  std::string human;       // text for the issue
  std::string expression;  // FHIRPath
};

/** How a profile slices a repeating element (profiles only). */
struct Slicing {
  struct Discriminator {
    std::string type;  // "value", "pattern", "type", "profile", "exists"
    std::string path;  // FHIRPath relative to the sliced element: "coding.code", "url", "$this"
  };
  std::vector<Discriminator> discriminators;
  std::string rules = "open";  // "open", "closed", "openAtEnd"
  bool ordered = false;
};

struct ElementDef {
  std::string path;       // "CarePlan.activity.detail.status", "Observation.value[x]"
  std::string id;         // element id; differs from path only in profiles ("Observation.category:VSCat.coding")
  std::string slice_name; // profiles: "VSCat" for a slice, empty otherwise
  std::string name;       // last path segment without "[x]": "status", "value"
  bool is_choice = false; // the definition's name ends in "[x]"
  uint32_t min = 0;
  uint32_t max = 1;       // kUnbounded for "*"
  /** Empty when content_reference is set. Types the R4 snapshots give as FHIRPath system types are mapped to the
   * FHIR type their `structuredefinition-fhir-type` extension names: every `id` element (Resource.id too, which
   * 4.0.1 declares that way) is "string", and a primitive's own `value` element has the primitive's type
   * ("date.value" is "date"): walkers stop at primitives rather than descending into `value`. */
  std::vector<TypeRef> types;
  std::optional<Binding> binding;
  std::vector<Constraint> constraints;   // without ele-1 and ext-1, which validators check natively
  bool is_modifier = false;
  bool is_summary = false;
  std::string fixed_json;    // profiles: the fixed[x] value as JSON text ("\"vital-signs\"", "{...}"), or empty
  std::string pattern_json;  // profiles: the pattern[x] value as JSON text, or empty
  std::optional<Slicing> slicing;
  const ElementDef* content_reference = nullptr;  // "#Questionnaire.item" resolved
  /** Inline children (BackboneElement / Element-typed elements, and through content_reference), in definition
   * order. Empty for elements whose children come from their data type. */
  std::vector<const ElementDef*> children;

  bool isArray() const { return max > 1; }
};

struct TypeDef {
  std::string name;       // "CarePlan", "HumanName", "string"; a profile's StructureDefinition.name
  std::string url;
  std::string constrained_type;  // profiles only: the type they constrain ("Observation"); empty for core types
  TypeKind kind = TypeKind::kComplex;
  bool is_abstract = false;
  std::string base;       // "DomainResource"; empty for Base/Element roots; a profile's base definition URL
  const TypeDef* base_type = nullptr;  // the TypeDef (core type or profile) named by `base`
  std::string value_regex;  // primitives: the regex of the value (from the definition), may be empty
  std::vector<ElementDef> elements;  // snapshot order; elements[0] is the root (path == name)
  /** Extension definitions: where the extension may be used, as (context type, expression) pairs
   * ("element", "Patient"), from StructureDefinition.context. */
  std::vector<std::pair<std::string, std::string>> contexts;

  bool isProfile() const { return !constrained_type.empty(); }
  const ElementDef& root() const { return elements.front(); }
  /** Children of the root element, in definition order. */
  std::span<const ElementDef* const> rootChildren() const { return elements.front().children; }
};

/** The codes of a ValueSet, expanded at compile time from its compose (include/exclude, nested concepts, `valueSet`
 * imports, is-a / descendent-of / is-not-a filters). Only the value sets of required and extensible bindings are
 * kept. When `complete` is false the list may be partial or empty (it needed SNOMED CT, LOINC, UCUM, BCP-47, MIME
 * types, ...): a code missing from it is unknown, not invalid. */
struct ValueSetCodes {
  std::string url;
  bool complete = true;  // false when the expansion needed something not in the core package (e.g. SNOMED)
  struct Code {
    std::string system;
    std::string code;
    std::string display;
  };
  std::vector<Code> codes;
  /** True when any code of the list equals `code`, whatever its system (a hash lookup once indexed). */
  bool containsCode(std::string_view code) const;
  /** True when the list has exactly this system and code (a hash lookup once indexed). */
  bool contains(std::string_view system, std::string_view code) const;
  /** Builds the hash index of `codes`, done by whoever loads a value set once its codes are final (a value set of
   *  thousands of codes then costs one lookup per Coding, not a scan). Without it (or after `codes` changes, or in a
   *  copy, which starts unindexed) the lookups scan the list: slower, never wrong. */
  void buildIndex();

  /** The index: views of `codes`' strings, keyed by code; only the ValueSetCodes that built it may use it. */
  struct CodeIndex {
    CodeIndex() = default;
    CodeIndex(const CodeIndex&) {}
    CodeIndex& operator=(const CodeIndex&) {
      clear();
      return *this;
    }
    void clear() {
      by_code.clear();
      owner = nullptr;
      size = 0;
    }
    std::unordered_multimap<std::string_view, std::string_view> by_code;  // code -> system
    const ValueSetCodes* owner = nullptr;  // the object whose codes the views point into
    size_t size = 0;                       // codes.size() when built
  };
  CodeIndex index;

 private:
  bool indexed() const { return index.owner == this && index.size == codes.size() && !codes.empty(); }
};

enum class SearchParamType : uint8_t { kNumber, kDate, kString, kToken, kReference, kComposite, kQuantity, kUri, kSpecial };

/** The R4 code of a search parameter type: "number", "date", "string", "token", "reference", ... */
std::string_view searchParamTypeName(SearchParamType type);

struct SearchParamDef {
  std::string code;        // "subject"
  std::string url;
  SearchParamType type = SearchParamType::kString;
  std::string expression;  // FHIRPath; multi-base parameters keep the whole union (the indexer picks this type's
                           // part); empty for _text, _content, _query, _list and the like
  std::vector<std::string> base;
  std::vector<std::string> target;  // reference targets
  std::vector<std::string> components;  // composite: definition URLs of the components
  std::vector<std::string> component_expressions;
};

/** Immutable after load; any number of threads may read it. */
class ModelInfo {
 public:
  /** The R4 core model, parsed from the embedded tables on first use (thread-safe; about 30 ms in a Release build,
   * so call it once at start-up). Never freed. Aborts only if the embedded tables are corrupt. */
  static const ModelInfo& r4();

  /** Parses compiled definitions (the format scripts/compile-definitions.py writes). kInvalidArgument when the
   * text is not well-formed or not in that format. r4() uses it on the embedded copy; tests may use it directly. */
  static Result<std::unique_ptr<ModelInfo>> parse(std::string_view compiled_json);
  /** The embedded compiled definitions (fhir-model/data/r4-definitions.json), for tools that want the raw text. */
  static std::string_view embeddedDefinitions();

  const TypeDef* type(std::string_view name) const;
  /** A constraint profile from the core package (e.g. the vital-signs profiles), by canonical URL. */
  const TypeDef* profile(std::string_view url) const;
  bool isResourceType(std::string_view name) const;  // concrete resource types only
  bool isPrimitiveType(std::string_view name) const;
  /** True when core type `name` is `ancestor` or derives from it ("Age" is a "Quantity", "Patient" a
   * "DomainResource"); false when either is unknown. */
  bool isA(std::string_view name, std::string_view ancestor) const;
  std::span<const TypeDef* const> resourceTypes() const;  // concrete resource types, sorted by name
  /** Every core type (primitive, complex, resource, abstract ones too), sorted by name. */
  std::span<const TypeDef* const> types() const;
  /** Every constraint profile of the core package, sorted by URL. */
  std::span<const TypeDef* const> profiles() const;
  /** The element at `path` ("CarePlan.activity.detail.status") of a core type, following only inline children
   * (not into data types); nullptr when unknown. */
  const ElementDef* element(std::string_view path) const;

  /** Children of `element` when it holds a value of type `type_code`: its inline children, else the root children
   * of that type. */
  std::span<const ElementDef* const> childrenOf(const ElementDef& element, std::string_view type_code) const;

  struct ChildMatch {
    const ElementDef* element = nullptr;
    std::string_view type_code;  // the chosen type for choice elements ("Quantity" for valueQuantity)
  };
  /** Matches a JSON property name (without a leading '_') against `children`: exact name, or a choice element's
   * name followed by one of its types with the first letter upper-cased. */
  std::optional<ChildMatch> matchChild(std::span<const ElementDef* const> children, std::string_view json_name) const;
  /** The JSON property name of `element` holding `type_code`: "valueQuantity" for value[x] with "Quantity",
   * the plain name otherwise. */
  static std::string jsonName(const ElementDef& element, std::string_view type_code);

  /** The expanded codes of a ValueSet by canonical URL (a "|version" suffix is ignored), or nullptr. */
  const ValueSetCodes* valueSet(std::string_view url) const;

  /** The search parameters that apply to `resource_type`, including those defined on Resource and DomainResource. */
  std::vector<const SearchParamDef*> searchParams(std::string_view resource_type) const;
  /** Every search parameter of the package, sorted by URL. */
  std::span<const SearchParamDef> allSearchParams() const;
  const SearchParamDef* searchParam(std::string_view resource_type, std::string_view code) const;

  struct Impl;
  explicit ModelInfo(std::unique_ptr<Impl> impl);
  ~ModelInfo();

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace planbro::fhir
