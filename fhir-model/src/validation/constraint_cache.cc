#include "constraint_cache.h"

#include <algorithm>
#include <array>
#include <initializer_list>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace planbro::fhir::validation {

namespace {

// Constraints that the validator checks natively (exactly, and faster than FHIRPath could). Resolved here once per
// constraint, so the walk tests a flag instead of comparing keys at every element.
bool isNativeConstraint(std::string_view key) {
  static constexpr std::array<std::string_view, 9> kNative = {"dom-2", "dom-3", "dom-4", "dom-5", "ele-1",
                                                              "ext-1", "txt-1", "txt-2", "ref-1"};
  return std::find(kNative.begin(), kNative.end(), key) != kNative.end();
}

// The shortcuts hold for these exact R4 expressions only: a constraint with the same key and other text (a profile,
// another release) gets no shortcut.
ConstraintCache::Compiled::Shortcut shortcutFor(const Constraint& c) {
  using Shortcut = ConstraintCache::Compiled::Shortcut;
  struct Known {
    std::string_view key;
    std::string_view expression;
    Shortcut shortcut;
  };
  static constexpr std::array<Known, 10> kKnown = {{
      {"obs-7", "value.empty() or component.code.where(coding.intersect(%resource.code.coding).exists()).empty()",
       Shortcut::kObs7},
      {"con-3",
       "clinicalStatus.exists() or verificationStatus.coding.where(system='http://terminology.hl7.org/CodeSystem/"
       "condition-ver-status' and code = 'entered-in-error').exists() or "
       "category.select($this='problem-list-item').empty()",
       Shortcut::kCon3},
      {"con-4",
       "abatement.empty() or clinicalStatus.coding.where(system='http://terminology.hl7.org/CodeSystem/"
       "condition-clinical' and (code='resolved' or code='remission' or code='inactive')).exists()",
       Shortcut::kCon4},
      {"con-5",
       "verificationStatus.coding.where(system='http://terminology.hl7.org/CodeSystem/condition-ver-status' and "
       "code='entered-in-error').empty() or clinicalStatus.empty()",
       Shortcut::kCon5},
      {"bdl-3",
       "entry.all(request.exists() = (%resource.type = 'batch' or %resource.type = 'transaction' or %resource.type = "
       "'history'))",
       Shortcut::kBdl3},
      {"bdl-4",
       "entry.all(response.exists() = (%resource.type = 'batch-response' or %resource.type = 'transaction-response' "
       "or %resource.type = 'history'))",
       Shortcut::kBdl4},
      {"bdl-7",
       "(type = 'history') or entry.where(fullUrl.exists()).select(fullUrl&resource.meta.versionId).isDistinct()",
       Shortcut::kBdl7},
      {"bdl-11", "type = 'document' implies entry.first().resource.is(Composition)", Shortcut::kBdl11},
      {"bdl-12", "type = 'message' implies entry.first().resource.is(MessageHeader)", Shortcut::kBdl12},
      {"org-1", "(identifier.count() + name.count()) > 0", Shortcut::kOrg1},
  }};
  for (const Known& k : kKnown) {
    if (c.key == k.key && c.expression == k.expression) return k.shortcut;
  }
  return Shortcut::kNone;
}

bool hasMemberStartingWith(const JsonValue& object, std::string_view prefix) {
  for (const JsonMember& m : object.members()) {
    if (m.key.starts_with(prefix)) return true;
  }
  return false;
}

// A member that is a non-empty JSON string, without a `_name` twin (whose extensions the engine would also see).
std::string_view plainString(const JsonValue& object, std::string_view name, bool& plain) {
  const JsonValue* v = object.find(name);
  plain = v == nullptr || (v->isString() && !v->text().empty());
  if (plain) {
    for (const JsonMember& m : object.members()) {
      if (m.key.size() == name.size() + 1 && m.key[0] == '_' && m.key.substr(1) == name) plain = false;
    }
  }
  return plain && v != nullptr ? v->text() : std::string_view();
}

// bdl-3 / bdl-4: `entry.all(member.exists() = (%resource.type = a or b or c))` with %resource the focus: true when
// the type is a plain string and each entry (an object) holds `member` as a non-empty object exactly when the type
// is one of `types`. A null, empty or non-object member, a non-object entry or another type shape: not decided.
bool entriesHoldMemberAsTypeRequires(const JsonValue& bundle, std::string_view member,
                                     std::initializer_list<std::string_view> types) {
  bool plain = false;
  const std::string_view type = plainString(bundle, "type", plain);
  if (!plain || type.empty()) return false;
  const bool required = std::find(types.begin(), types.end(), type) != types.end();
  const JsonValue* entries = bundle.find("entry");
  if (entries == nullptr) return true;  // all() of nothing
  if (!entries->isArray()) return false;
  for (const JsonValue& entry : entries->items()) {
    if (!entry.isObject()) return false;
    const JsonValue* m = entry.find(member);
    if (m != nullptr && (!m->isObject() || m->size() == 0)) return false;
    if ((m != nullptr) != required) return false;
  }
  return true;
}

// bdl-7's second operand: the entries with a fullUrl give distinct `fullUrl & resource.meta.versionId` (`&` reads an
// absent versionId as ''). Concatenations are compared, as isDistinct() compares the strings.
bool fullUrlsWithVersionsDistinct(const JsonValue& bundle) {
  const JsonValue* entries = bundle.find("entry");
  if (entries == nullptr) return true;
  if (!entries->isArray()) return false;
  std::unordered_set<std::string> seen;
  for (const JsonValue& entry : entries->items()) {
    if (!entry.isObject()) return false;
    bool plain = false;
    const std::string_view full_url = plainString(entry, "fullUrl", plain);
    if (!plain) return false;
    if (full_url.empty()) continue;  // where(fullUrl.exists()) leaves it out
    std::string_view version;
    if (const JsonValue* resource = entry.find("resource"); resource != nullptr) {
      if (!resource->isObject()) return false;
      if (const JsonValue* meta = resource->find("meta"); meta != nullptr) {
        if (!meta->isObject()) return false;
        version = plainString(*meta, "versionId", plain);
        if (!plain) return false;
      }
    }
    std::string key;
    key.reserve(full_url.size() + version.size());
    key.append(full_url).append(version);
    if (!seen.insert(std::move(key)).second) return false;
  }
  return true;
}

// A JSON array with at least one object item (a count of at least one for the engine).
bool hasObjectItem(const JsonValue* array) {
  if (array == nullptr || !array->isArray()) return false;
  for (const JsonValue& item : array->items()) {
    if (item.isObject()) return true;
  }
  return false;
}

}  // namespace

// Each case makes one operand of the expression's top-level `or` true whatever the rest evaluates to (FHIRPath's
// `or` is true when either side is true, even if the other is empty):
//   obs-7: no `component` → `component.code.where(...)` is empty → `.empty()` is true.
//   con-3: `clinicalStatus` is an object with members → `clinicalStatus.exists()` is true; no `category` →
//          `category.select(...)` is empty → `.empty()` is true.
//   con-4: no member named `abatement...` or `_abatement...` → `abatement.empty()` is true.
//   con-5: no `verificationStatus` → `...where(...).empty()` is true; no `clinicalStatus` →
//          `clinicalStatus.empty()` is true.
//   bdl-11/12: `type` is a code other than document/message → the left side of `implies` is false.
//   bdl-3/4: every entry's `member.exists()` equals the type test → each all() item is true.
//   bdl-7: `type = 'history'` is true, or the select gives distinct strings → isDistinct() is true.
//   org-1: an identifier or a name → a count of at least 1 → the sum is above 0.
bool ConstraintCache::passesByShape(Compiled::Shortcut shortcut, const JsonValue& focus, const JsonValue* resource) {
  using Shortcut = Compiled::Shortcut;
  switch (shortcut) {
    case Shortcut::kBdl11:
    case Shortcut::kBdl12: {
      bool plain = false;
      const std::string_view type = plainString(focus, "type", plain);
      return plain && !type.empty() && type != (shortcut == Shortcut::kBdl11 ? "document" : "message");
    }
    case Shortcut::kBdl3:
      return resource == &focus &&
             entriesHoldMemberAsTypeRequires(focus, "request", {"batch", "transaction", "history"});
    case Shortcut::kBdl4:
      return resource == &focus && entriesHoldMemberAsTypeRequires(focus, "response", {"batch-response",
                                                                                       "transaction-response", "history"});
    case Shortcut::kBdl7: {
      bool plain = false;
      const std::string_view type = plainString(focus, "type", plain);
      if (!plain) return false;
      return type == "history" || fullUrlsWithVersionsDistinct(focus);
    }
    case Shortcut::kOrg1: {
      if (hasObjectItem(focus.find("identifier"))) return true;
      bool plain = false;
      return !plainString(focus, "name", plain).empty();
    }
    case Shortcut::kObs7:
      return focus.find("component") == nullptr;
    case Shortcut::kCon3: {
      const JsonValue* clinical = focus.find("clinicalStatus");
      if (clinical != nullptr && clinical->isObject() && clinical->size() > 0) return true;
      return focus.find("category") == nullptr;
    }
    case Shortcut::kCon4:
      return !hasMemberStartingWith(focus, "abatement") && !hasMemberStartingWith(focus, "_abatement");
    case Shortcut::kCon5:
      return focus.find("verificationStatus") == nullptr || focus.find("clinicalStatus") == nullptr;
    case Shortcut::kNone:
      break;
  }
  return false;
}

namespace {

bool isIdentifier(std::string_view s) {
  if (s.empty() || !(s[0] >= 'a' && s[0] <= 'z')) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

size_t occurrences(std::string_view text, std::string_view word) {
  size_t n = 0;
  for (size_t at = text.find(word); at != std::string_view::npos; at = text.find(word, at + word.size())) ++n;
  return n;
}

}  // namespace

// `implies` binds loosest of all FHIRPath operators, so `m.exists() implies X` is (m.exists()) implies (X) unless a
// second `implies` chains it; `or` binds looser than everything but `xor` (same level, left to right) and
// `implies`, so `m.empty() or X` is (m.empty()) or (X) when neither occurs. The word test is on the raw text: an
// `implies` or `xor` inside a string literal only makes the answer "no form", never a wrong one.
std::string ConstraintCache::absentMemberOf(std::string_view expression) {
  constexpr std::string_view kExistsImplies = ".exists() implies ";
  constexpr std::string_view kEmptyOr = ".empty() or ";
  const size_t dot = expression.find('.');
  if (dot == std::string_view::npos) return {};
  const std::string_view member = expression.substr(0, dot);
  if (!isIdentifier(member)) return {};
  const std::string_view rest = expression.substr(dot);
  if (rest.starts_with(kExistsImplies) && occurrences(expression, "implies") == 1) return std::string(member);
  if (rest.starts_with(kEmptyOr) && occurrences(expression, "implies") == 0 && occurrences(expression, "xor") == 0) {
    return std::string(member);
  }
  return {};
}

bool ConstraintCache::passesWhenAbsent(std::string_view member, const JsonValue& focus) {
  for (const JsonMember& m : focus.members()) {
    std::string_view key = m.key;
    if (!key.empty() && key[0] == '_') key.remove_prefix(1);
    if (key.starts_with(member)) return false;
  }
  return true;
}

const ConstraintCache& ConstraintCache::get() {
  static const ConstraintCache cache(ModelInfo::r4());
  return cache;
}

// ModelInfo lists resource types only; the data types are reached through the element types, so walk the type
// graph from every resource type once.
ConstraintCache::ConstraintCache(const ModelInfo& model) {
  std::vector<const TypeDef*> pending;
  std::unordered_set<const TypeDef*> seen;
  auto enqueue = [&](const TypeDef* t) {
    if (t != nullptr && seen.insert(t).second) pending.push_back(t);
  };
  for (const TypeDef* t : model.resourceTypes()) enqueue(t);
  for (const char* name : {"Resource", "DomainResource", "Element", "BackboneElement", "Extension"}) {
    enqueue(model.type(name));
  }
  while (!pending.empty()) {
    const TypeDef* type = pending.back();
    pending.pop_back();
    for (const ElementDef& el : type->elements) {
      for (const TypeRef& ref : el.types) enqueue(model.type(ref.code));
      if (el.constraints.empty()) continue;
      // The children of the focus the constraint is evaluated on (the element's own, or its single type's).
      std::span<const ElementDef* const> children = el.children;
      if (children.empty() && el.types.size() == 1) children = model.childrenOf(el, el.types.front().code);
      for (const Constraint& c : el.constraints) {
        if (c.expression.empty() || compiled_.count(&c) != 0) continue;
        Compiled compiled;
        Result<fhirpath::ExpressionPtr> expr = fhirpath::compile(c.expression);
        if (expr.isOk()) {
          compiled.expression = std::move(expr).value();
        } else {
          ++failed_;
        }
        compiled.simple = SimpleInvariant::compile(c.expression, children, model);
        if (compiled.simple) ++simple_;
        compiled.native = isNativeConstraint(c.key);
        compiled.per1 = c.key == "per-1";
        compiled.shortcut = shortcutFor(c);
        compiled.absent_member = absentMemberOf(c.expression);
        if (compiled.expression || compiled.simple) compiled_.emplace(&c, std::move(compiled));
      }
    }
  }
}

}  // namespace planbro::fhir::validation
