#include "child_plan.h"

#include <array>
#include <map>
#include <memory>
#include <tuple>

namespace planbro::fhir::validation {

ComplexRule complexRuleFor(std::string_view type_code) {
  if (type_code == "Reference") return ComplexRule::kReference;
  if (type_code == "Coding") return ComplexRule::kCoding;
  if (type_code == "CodeableConcept") return ComplexRule::kCodeableConcept;
  if (type_code == "Extension") return ComplexRule::kExtension;
  if (type_code == "Identifier") return ComplexRule::kIdentifier;
  if (type_code == "Attachment") return ComplexRule::kAttachment;
  return ComplexRule::kNone;
}

namespace {

// What the walk knows of a member whose value has `type_code`, with exactly the rules the walk applied per value
// before the plan existed: a primitive kind for the codes primitive_checks knows; the type's definition for the
// rest, where the element has no inline children (a primitive type without a hand check then counts as kUnknown).
void resolveType(const ModelInfo& model, std::string_view type_code, bool inline_children, ChildTarget& t) {
  std::optional<PrimitiveKind> kind = primitiveKindFor(type_code);
  const TypeDef* type = nullptr;
  if (!kind) {
    type = model.type(type_code);
    if (type != nullptr && type->kind == TypeKind::kPrimitive) kind = PrimitiveKind::kUnknown;
  }
  t.rule = complexRuleFor(type_code);
  if (kind == PrimitiveKind::kUnknown && inline_children) kind = std::nullopt;
  t.type = (!kind || *kind == PrimitiveKind::kUnknown) && !inline_children ? type : nullptr;
  if (kind && *kind != PrimitiveKind::kUnknown) t.type = nullptr;
  t.has_kind = kind.has_value();
  t.kind = kind.value_or(PrimitiveKind::kUnknown);
}

const Binding* requiredBindingOf(const ElementDef& el, const ElementDef& eff) {
  const std::optional<Binding>& b = el.binding ? el.binding : eff.binding;
  if (!b || b->strength != BindingStrength::kRequired || b->value_set.empty()) return nullptr;
  return &*b;
}

ChildTarget targetFor(const ModelInfo& model, const ElementDef& el, uint32_t index, std::string_view type_code) {
  const ElementDef& eff = el.content_reference != nullptr ? *el.content_reference : el;
  ChildTarget t;
  t.element = &el;
  t.effective = &eff;
  if (type_code.empty() && eff.types.size() == 1) type_code = eff.types.front().code;
  if (type_code.empty() && !eff.children.empty()) type_code = "BackboneElement";
  t.type_code = type_code;
  t.choice_name = el.is_choice ? std::string_view(el.name) : std::string_view();
  resolveType(model, type_code, !eff.children.empty(), t);
  t.children = eff.children;
  if (t.children.empty() && t.type != nullptr) t.children = t.type->rootChildren();
  t.required_binding = requiredBindingOf(el, eff);
  if (t.required_binding != nullptr) {
    const ValueSetCodes* codes = model.valueSet(t.required_binding->value_set);
    if (codes != nullptr && codes->complete && !codes->codes.empty()) t.required_codes = codes;
  }
  t.element_path = eff.path;
  if (!eff.constraints.empty()) t.element_constraints = &eff.constraints;
  if (t.type != nullptr && !t.type->root().constraints.empty()) t.type_constraints = &t.type->root().constraints;
  t.child = index;
  t.is_array = el.isArray();
  t.is_resource = t.type != nullptr && t.type->kind == TypeKind::kResource;
  t.is_abstract = t.type != nullptr && t.type->is_abstract;
  t.is_contained = el.name == "contained";
  return t;
}

}  // namespace

void ChildPlan::add(std::string_view name, const ChildTarget& target) {
  // Names are added in definition order; a name already present keeps its first target, as a scan would find it.
  for (uint32_t at = hash(name) & mask_;; at = (at + 1) & mask_) {
    Slot& s = slots_[at];
    if (s.target == 0) {
      s.words = nameWords(name);
      s.name_offset = static_cast<uint32_t>(names_.size());
      s.size = static_cast<uint32_t>(name.size());
      names_.append(name);
      targets_.push_back(target);
      s.target = static_cast<uint32_t>(targets_.size());
      return;
    }
    if (std::string_view(names_.data() + s.name_offset, s.size) == name) return;
  }
}

ChildPlan::ChildPlan(const ModelInfo& model, std::span<const ElementDef* const> children)
    : children_data_(children.data()), children_size_(children.size()) {
  size_t names = 0;
  cardinalities_.reserve(children.size());
  for (const ElementDef* child : children) {
    if (child->min > 0) required_.push_back(static_cast<uint32_t>(cardinalities_.size()));
    cardinalities_.push_back({child->min, child->max});
    names += child->is_choice ? child->types.size() : 1;
  }
  uint32_t capacity = 8;
  while (capacity < names * 2) capacity *= 2;
  slots_.assign(capacity, Slot{});
  mask_ = capacity - 1;
  targets_.reserve(names);
  for (uint32_t i = 0; i < children.size(); ++i) {
    const ElementDef& child = *children[i];
    if (child.name.empty() || !child.slice_name.empty()) continue;  // only named, unsliced children match
    if (!child.is_choice) {
      const ElementDef& typed = child.content_reference != nullptr ? *child.content_reference : child;
      std::string_view code = typed.types.size() == 1 ? std::string_view(typed.types.front().code) : std::string_view();
      add(child.name, targetFor(model, child, i, code));
      continue;
    }
    std::string spelled;
    for (const TypeRef& t : child.types) {
      if (t.code.empty()) continue;
      spelled.assign(child.name);
      const char c = t.code[0];
      spelled += (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
      spelled.append(t.code, 1);
      add(spelled, targetFor(model, child, i, t.code));
    }
  }
}

const ChildPlan& ChildPlan::of(const ModelInfo& model, std::span<const ElementDef* const> children) {
  // A direct-mapped cache by the list's address in front of the owning map: one multiply, shift and compare per
  // object. The map keeps every plan built on this thread (a plan stays in use by the enclosing objects while a
  // nested list takes its slot); it is bounded by the number of children lists in the models in use.
  struct CacheSlot {
    const void* data = nullptr;
    const ChildPlan* plan = nullptr;
    const ModelInfo* model = nullptr;
  };
  constexpr unsigned kBits = 10;
  thread_local std::array<CacheSlot, size_t{1} << kBits> cache{};
  using Key = std::tuple<const void*, size_t, const ModelInfo*>;
  thread_local std::map<Key, std::unique_ptr<ChildPlan>> owned;
  const uint64_t h = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(children.data())) * 0x9E3779B97F4A7C15ull;
  CacheSlot& slot = cache[h >> (64 - kBits)];
  if (slot.data == children.data() && slot.model == &model && slot.plan->children_size_ == children.size()) {
    return *slot.plan;
  }
  std::unique_ptr<ChildPlan>& owner = owned[Key{children.data(), children.size(), &model}];
  if (owner == nullptr) owner.reset(new ChildPlan(model, children));
  slot = CacheSlot{children.data(), owner.get(), &model};
  return *owner;
}

}  // namespace planbro::fhir::validation
