#pragma once
// The validating walk's plan of one children list (a type's root children, or an element's inline children): every
// JSON member name the list accepts, choice variants spelled out ("valueString"), resolved once to what the walk
// needs for the member's value, laid out in contiguous arrays of indices and views.
//
// The walk of a resource then touches, per member, one hash slot, one name comparison and one target record: no
// ElementDef, TypeRef or std::string of the model per member on the conforming path, and no type-code comparison.

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "name_hash.h"
#include "planbro/fhir-model/model_info.h"
#include "primitive_checks.h"

namespace planbro::fhir::validation {

/** The data types with rules of their own in the complex-value walk, told apart when the plan is built. */
enum class ComplexRule : uint8_t { kNone, kReference, kCoding, kCodeableConcept, kExtension, kIdentifier, kAttachment };

ComplexRule complexRuleFor(std::string_view type_code);

class ChildPlan;

/** What one JSON member name of a children list stands for. The fields the walk reads for every member come first,
 *  so that they share the record's first cache line (the walk's L1 data misses are mostly its plans and targets);
 *  those read only for errors, at build or by the profile layer follow. */
struct ChildTarget {
  uint32_t child = 0;                     // position in the children list, for cardinality
  bool is_array = false;                  // max > 1
  bool has_kind = false;                  // a primitive: `kind` says which
  PrimitiveKind kind = PrimitiveKind::kUnknown;
  ComplexRule rule = ComplexRule::kNone;
  bool is_resource = false;               // a nested resource (contained, Bundle.entry.resource)
  bool is_abstract = false;               // an abstract data type (an error to instantiate)
  bool is_contained = false;              // the element is named "contained"
  /** The member value's type: a choice's variant, the element's one type, "BackboneElement" for inline children,
   *  or empty. A view of the model's own strings (or of a literal). */
  std::string_view type_code;
  /** The segment of the location path: the element's name for a choice ("value"), else the JSON name. */
  std::string_view choice_name;           // empty unless the element is a choice
  const std::vector<Constraint>* element_constraints = nullptr;  // the effective definition's, null when none
  const std::vector<Constraint>* type_constraints = nullptr;     // the root constraints of `type`, null when none
  /** Its value set's codes when the model has them complete and non-empty (a code outside them is an error);
   *  null when the binding cannot be judged here. */
  const ValueSetCodes* required_codes = nullptr;
  const ElementDef* effective = nullptr;  // the element's content reference resolved (the definition that types it)

  /** The plan of `children`, looked up once per target: a target lives in a plan of one thread and one model, so
   *  the pointer kept here is that thread's plan of the same list. */
  const ChildPlan& childPlan(const ModelInfo& model) const;

 private:
  mutable const ChildPlan* child_plan_ = nullptr;

 public:
  const ElementDef* element = nullptr;    // the child's definition
  const TypeDef* type = nullptr;          // the definition of type_code when its children come from it
  std::span<const ElementDef* const> children;  // the children of a complex value: inline, else its type's
  const Binding* required_binding = nullptr;    // a required binding to a value set, on the element or its type
  std::string_view element_path;                // the effective definition's path, for extension contexts
};

/** One children list's plan. Built once per list and thread (ChildPlan::of), never changed afterwards. */
class ChildPlan {
 public:
  /** The plan of `children` in `model`. Lists are identified by their address in the model, which must outlive
   *  every call (ModelInfo::r4() and a ProfileSet's model live as long as the validators that use them). */
  static const ChildPlan& of(const ModelInfo& model, std::span<const ElementDef* const> children);

  /** The child a JSON name stands for: the first in definition order whose name equals it (not a choice) or whose
   *  name plus a type code with its first letter upper-cased equals it (a choice: valueDateTime); nullptr if none. */
  const ChildTarget* match(std::string_view json_name) const {
    const uint32_t n = static_cast<uint32_t>(json_name.size());
    const NameWords words = nameWords(json_name);
    for (uint32_t at = wordNameHash(words, n) & mask_;; at = (at + 1) & mask_) {
      const Slot& s = slots_[at];
      if (s.target == 0) return nullptr;
      // Length and end words decide names of up to 16 bytes; longer ones compare their middle too.
      if (s.size == n && s.words.first == words.first && s.words.last == words.last &&
          (n <= 16 || std::memcmp(names_.data() + s.name_offset, json_name.data(), n) == 0)) {
        return &targets_[s.target - 1];
      }
    }
  }

  struct Cardinality {
    uint32_t min;
    uint32_t max;  // kUnbounded for "*"
  };
  /** Per child of the list, in definition order. */
  std::span<const Cardinality> cardinalities() const { return cardinalities_; }
  std::span<const ElementDef* const> children() const { return {children_data_, children_size_}; }
  /** The positions of the children with a minimum above zero, in definition order. */
  std::span<const uint32_t> required() const { return required_; }

  /** The hash of member names (wordNameHash). Exposed for tests. */
  static uint32_t hash(std::string_view name) { return wordNameHash(name); }

 private:
  ChildPlan(const ModelInfo& model, std::span<const ElementDef* const> children);

  struct Slot {
    NameWords words;
    uint32_t name_offset = 0;
    uint32_t size = 0;
    uint32_t target = 0;  // index into targets_ + 1; 0 is empty
  };
  void add(std::string_view name, const ChildTarget& target);

  const ElementDef* const* children_data_ = nullptr;
  size_t children_size_ = 0;
  std::vector<Cardinality> cardinalities_;
  std::vector<uint32_t> required_;
  std::vector<ChildTarget> targets_;
  std::vector<Slot> slots_;
  uint32_t mask_ = 0;
  std::string names_;  // every accepted name, back to back
};

inline const ChildPlan& ChildTarget::childPlan(const ModelInfo& model) const {
  if (child_plan_ == nullptr) [[unlikely]] child_plan_ = &ChildPlan::of(model, children);
  return *child_plan_;
}

}  // namespace planbro::fhir::validation
