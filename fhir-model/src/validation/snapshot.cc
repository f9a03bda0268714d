#include "snapshot.h"

#include <string_view>
#include <unordered_map>

namespace planbro::fhir::validation {
namespace {

constexpr std::string_view kSystemPrefix = "http://hl7.org/fhirpath/System.";
constexpr std::string_view kFhirTypeExtension =
    "http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type";

std::string_view text(const JsonValue* v) { return v != nullptr && v->isString() ? v->text() : std::string_view(); }

std::string stripVersion(std::string_view url) {
  size_t bar = url.find('|');
  return std::string(bar == std::string_view::npos ? url : url.substr(0, bar));
}

uint32_t parseMax(std::string_view max) {
  if (max == "*" || max.empty()) return kUnbounded;
  uint32_t n = 0;
  for (char c : max) {
    if (c < '0' || c > '9' || n > 100000000) return kUnbounded;
    n = n * 10 + static_cast<uint32_t>(c - '0');
  }
  return n;
}

std::vector<std::string> urls(const JsonValue* v) {
  std::vector<std::string> out;
  if (v == nullptr) return out;
  for (const JsonValue& item : v->items()) {
    if (item.isString()) out.push_back(stripVersion(item.text()));
  }
  return out;
}

// The FHIR type a snapshot type names: FHIRPath system types ("http://hl7.org/fhirpath/System.String") stand for the
// type in their structuredefinition-fhir-type extension, as the compiled core model maps them.
std::string typeCode(const JsonValue& type) {
  std::string_view code = text(type.find("code"));
  if (!code.starts_with(kSystemPrefix)) return std::string(code);
  if (const JsonValue* exts = type.find("extension"); exts != nullptr) {
    for (const JsonValue& ext : exts->items()) {
      if (text(ext.find("url")) == kFhirTypeExtension) {
        std::string_view v = text(ext.find("valueUrl"));
        if (v.empty()) v = text(ext.find("valueUri"));
        if (!v.empty()) return std::string(v);
      }
    }
  }
  return "string";
}

BindingStrength strengthOf(std::string_view s) {
  if (s == "required") return BindingStrength::kRequired;
  if (s == "extensible") return BindingStrength::kExtensible;
  if (s == "preferred") return BindingStrength::kPreferred;
  return BindingStrength::kExample;
}

std::string lastSegment(std::string_view path) {
  size_t dot = path.rfind('.');
  return std::string(dot == std::string_view::npos ? path : path.substr(dot + 1));
}

void setNameFromPath(ElementDef& e) {
  std::string last = lastSegment(e.path);
  e.is_choice = last.ends_with("[x]");
  if (e.is_choice) last.resize(last.size() - 3);
  e.name = std::move(last);
}

char upper(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }

// True when `json_name` is `choice.name` followed by one of its type codes with the first letter upper-cased; the
// type code goes to `code`.
bool isRenamedChoice(const ElementDef& choice, std::string_view json_name, std::string& code) {
  if (!choice.is_choice || json_name.size() <= choice.name.size() || !json_name.starts_with(choice.name)) {
    return false;
  }
  std::string_view suffix = json_name.substr(choice.name.size());
  for (const TypeRef& t : choice.types) {
    if (t.code.size() == suffix.size() && !t.code.empty() && upper(t.code[0]) == suffix[0] &&
        std::string_view(t.code).substr(1) == suffix.substr(1)) {
      code = t.code;
      return true;
    }
  }
  return false;
}

class SnapshotBuilder {
 public:
  SnapshotBuilder(const ModelInfo& model, const TypeDef& base, const std::string& url,
                  std::vector<std::string>& warnings)
      : model_(model), url_(url), warnings_(warnings) {
    elements_.reserve(base.elements.size() * 2);
    for (const ElementDef& e : base.elements) {
      ElementDef copy = e;
      copy.children.clear();
      elements_.push_back(std::move(copy));
    }
  }

  void apply(const JsonValue& diff) {
    if (diff.isObject()) {
      std::string id(text(diff.find("id")));
      if (id.empty()) {
        // Differentials written before element ids: the path, and a slice's name on its last segment.
        id = std::string(text(diff.find("path")));
        std::string_view slice = text(diff.find("sliceName"));
        if (!id.empty() && !slice.empty()) id += ":" + std::string(slice);
      }
      if (id.empty()) return;
      std::string choice_code;
      int at = ensure(id, &choice_code);
      if (at < 0) {
        warnings_.push_back(url_ + ": differential element '" + id + "' does not resolve against the base; skipped");
        return;
      }
      ElementDef& e = elements_[static_cast<size_t>(at)];
      mergeElement(diff, e);
      if (!choice_code.empty() && diff.find("type") == nullptr) {
        std::vector<TypeRef> kept;
        for (const TypeRef& t : e.types) {
          if (t.code == choice_code) kept.push_back(t);
        }
        e.types = std::move(kept);
      }
    }
  }

  std::vector<ElementDef> take() { return std::move(elements_); }

 private:
  int find(std::string_view id) const {
    for (size_t i = 0; i < elements_.size(); ++i) {
      if (elements_[i].id == id) return static_cast<int>(i);
    }
    return -1;
  }

  // The position after the subtree of element `at` (its descendants and, for an unsliced element, its slices).
  size_t subtreeEnd(size_t at) const {
    const std::string& id = elements_[at].id;
    size_t i = at + 1;
    while (i < elements_.size()) {
      std::string_view other = elements_[i].id;
      if (other.size() > id.size() && other.starts_with(id) && (other[id.size()] == '.' || other[id.size()] == ':')) {
        ++i;
      } else {
        break;
      }
    }
    return i;
  }

  bool hasChildren(size_t at) const {
    const std::string& id = elements_[at].id;
    return at + 1 < elements_.size() && elements_[at + 1].id.size() > id.size() &&
           elements_[at + 1].id.starts_with(id) && elements_[at + 1].id[id.size()] == '.';
  }

  // Copies the children of the element's data type below it ("Identifier.system" becomes "<id>.system").
  bool expand(size_t at) {
    const ElementDef& e = elements_[at];
    if (e.content_reference != nullptr || e.types.size() != 1) return false;
    const TypeDef* type = model_.type(e.types.front().code);
    if (type == nullptr || type->elements.size() < 2) return false;
    std::vector<ElementDef> added;
    added.reserve(type->elements.size() - 1);
    const std::string path = e.path;
    const std::string id = e.id;
    for (size_t i = 1; i < type->elements.size(); ++i) {
      ElementDef copy = type->elements[i];
      copy.children.clear();
      copy.path = path + copy.path.substr(type->name.size());
      copy.id = id + copy.id.substr(type->name.size());
      added.push_back(std::move(copy));
    }
    elements_.insert(elements_.begin() + static_cast<std::ptrdiff_t>(at + 1), std::make_move_iterator(added.begin()),
                     std::make_move_iterator(added.end()));
    return true;
  }

  int ensure(const std::string& id, std::string* choice_code, int depth = 0) {
    if (int at = find(id); at >= 0) return at;
    if (depth > 64) return -1;
    size_t colon_or_dot = id.find_last_of('.');
    if (colon_or_dot == std::string::npos) return -1;
    std::string parent_id = id.substr(0, colon_or_dot);
    std::string last = id.substr(colon_or_dot + 1);
    int parent = ensure(parent_id, nullptr, depth + 1);
    if (parent < 0) return -1;
    // The parent may be a renamed choice ("Observation.valueQuantity" is "Observation.value[x]").
    if (elements_[static_cast<size_t>(parent)].id != parent_id) {
      parent_id = elements_[static_cast<size_t>(parent)].id;
      std::string real_id = parent_id + "." + last;
      if (int at = find(real_id); at >= 0) return at;
    }
    size_t colon = last.find(':');
    if (colon != std::string::npos) {
      std::string name = last.substr(0, colon);
      std::string slice = last.substr(colon + 1);
      int sliced = ensure(parent_id + "." + name, nullptr, depth + 1);
      if (sliced < 0 || slice.empty()) return -1;
      // A slice starts as a copy of the sliced element with its constrained descendants ("Bundle.entry.resource"
      // becomes "Bundle.entry:patient.resource"), but not its other slices.
      const std::string sliced_id = elements_[static_cast<size_t>(sliced)].id;
      std::vector<ElementDef> copies;
      ElementDef copy = elements_[static_cast<size_t>(sliced)];
      copy.children.clear();
      copy.id = parent_id + "." + last;
      copy.slice_name = slice;
      copy.slicing.reset();
      copies.push_back(std::move(copy));
      for (size_t i = static_cast<size_t>(sliced) + 1; i < elements_.size(); ++i) {
        const ElementDef& e = elements_[i];
        if (!e.id.starts_with(sliced_id) || e.id.size() <= sliced_id.size()) break;
        if (e.id[sliced_id.size()] == ':') continue;
        if (e.id[sliced_id.size()] != '.') break;
        ElementDef child = e;
        child.children.clear();
        child.id = copies.front().id + e.id.substr(sliced_id.size());
        copies.push_back(std::move(child));
      }
      size_t where = subtreeEnd(static_cast<size_t>(sliced));
      elements_.insert(elements_.begin() + static_cast<std::ptrdiff_t>(where), std::make_move_iterator(copies.begin()),
                       std::make_move_iterator(copies.end()));
      return static_cast<int>(where);
    }
    if (!hasChildren(static_cast<size_t>(parent)) && !expand(static_cast<size_t>(parent))) return -1;
    if (int at = find(parent_id + "." + last); at >= 0) return at;
    // "Observation.valueQuantity" constrains "Observation.value[x]" to Quantity.
    std::string prefix = elements_[static_cast<size_t>(parent)].id + ".";
    for (size_t i = static_cast<size_t>(parent) + 1; i < elements_.size(); ++i) {
      const ElementDef& e = elements_[i];
      if (!e.id.starts_with(prefix)) break;
      std::string code;
      if (e.id.size() > prefix.size() && e.id.find_first_of(".:", prefix.size()) == std::string::npos &&
          isRenamedChoice(e, last, code)) {
        if (choice_code != nullptr) *choice_code = code;
        return static_cast<int>(i);
      }
    }
    return -1;
  }

  const ModelInfo& model_;
  const std::string& url_;
  std::vector<std::string>& warnings_;
  std::vector<ElementDef> elements_;
};

}  // namespace

void mergeElement(const JsonValue& json, ElementDef& e) {
  if (std::string_view path = text(json.find("path")); !path.empty() && e.path.empty()) {
    e.path = std::string(path);
    setNameFromPath(e);
  }
  if (std::string_view id = text(json.find("id")); !id.empty() && e.id.empty()) e.id = std::string(id);
  if (std::string_view slice = text(json.find("sliceName")); !slice.empty()) e.slice_name = std::string(slice);
  if (const JsonValue* min = json.find("min"); min != nullptr && min->isNumber()) {
    uint32_t n = 0;
    for (char c : min->text()) {
      if (c < '0' || c > '9' || n > 100000000) break;
      n = n * 10 + static_cast<uint32_t>(c - '0');
    }
    e.min = n;
  }
  if (const JsonValue* max = json.find("max"); max != nullptr && max->isString()) e.max = parseMax(max->text());
  if (const JsonValue* types = json.find("type"); types != nullptr && types->isArray()) {
    e.types.clear();
    for (const JsonValue& t : types->items()) {
      TypeRef ref;
      ref.code = typeCode(t);
      ref.profiles = urls(t.find("profile"));
      ref.target_profiles = urls(t.find("targetProfile"));
      if (!ref.code.empty()) e.types.push_back(std::move(ref));
    }
    if (!e.types.empty()) e.content_reference = nullptr;
  }
  if (const JsonValue* b = json.find("binding"); b != nullptr && b->isObject()) {
    std::string vs = stripVersion(text(b->find("valueSet")));
    if (!vs.empty()) e.binding = Binding{strengthOf(text(b->find("strength"))), std::move(vs)};
  }
  if (const JsonValue* cs = json.find("constraint"); cs != nullptr) {
    for (const JsonValue& c : cs->items()) {
      std::string key(text(c.find("key")));
      std::string expression(text(c.find("expression")));
      if (key.empty() || expression.empty() || key == "ele-1" || key == "ext-1") continue;
      Constraint constraint{key, text(c.find("severity")) == "warning" ? Severity::kWarning : Severity::kError,
                            std::string(text(c.find("human"))), std::move(expression)};
      bool replaced = false;
      for (Constraint& existing : e.constraints) {
        if (existing.key == constraint.key) {
          existing = constraint;
          replaced = true;
        }
      }
      if (!replaced) e.constraints.push_back(std::move(constraint));
    }
  }
  if (const JsonValue* m = json.find("isModifier"); m != nullptr && m->isBool()) e.is_modifier = m->boolean();
  for (const JsonMember& m : json.members()) {
    if (m.key.size() > 5 && m.key.starts_with("fixed")) e.fixed_json = writeJson(m.value);
    if (m.key.size() > 7 && m.key.starts_with("pattern")) e.pattern_json = writeJson(m.value);
  }
  if (const JsonValue* s = json.find("slicing"); s != nullptr && s->isObject()) {
    Slicing slicing;
    if (std::string_view rules = text(s->find("rules")); !rules.empty()) slicing.rules = std::string(rules);
    if (const JsonValue* o = s->find("ordered"); o != nullptr) slicing.ordered = o->boolean();
    if (const JsonValue* ds = s->find("discriminator"); ds != nullptr) {
      for (const JsonValue& d : ds->items()) {
        slicing.discriminators.push_back({std::string(text(d.find("type"))), std::string(text(d.find("path")))});
      }
    }
    e.slicing = std::move(slicing);
  }
}

std::vector<ElementDef> readSnapshot(const JsonValue& elements) {
  std::vector<ElementDef> out;
  out.reserve(elements.size());
  for (const JsonValue& json : elements.items()) {
    if (!json.isObject()) continue;
    ElementDef e;
    e.max = 1;
    mergeElement(json, e);
    if (const JsonValue* max = json.find("max"); max == nullptr) e.max = 1;
    if (e.path.empty()) continue;
    if (e.id.empty()) e.id = e.path;
    out.push_back(std::move(e));
  }
  return out;
}

std::vector<ElementDef> generateSnapshot(const ModelInfo& model, const TypeDef& base, const JsonValue& differential,
                                         const std::string& url, std::vector<std::string>& warnings) {
  SnapshotBuilder builder(model, base, url, warnings);
  for (const JsonValue& diff : differential.items()) builder.apply(diff);
  return builder.take();
}

bool linkElements(TypeDef& def, std::vector<std::string>& warnings) {
  std::unordered_map<std::string_view, ElementDef*> by_id;
  by_id.reserve(def.elements.size());
  for (ElementDef& e : def.elements) {
    e.children.clear();
    by_id.emplace(e.id, &e);
  }
  bool ok = true;
  for (size_t i = 1; i < def.elements.size(); ++i) {
    ElementDef& e = def.elements[i];
    size_t dot = e.id.rfind('.');
    auto parent = dot == std::string::npos ? by_id.end() : by_id.find(std::string_view(e.id).substr(0, dot));
    if (parent == by_id.end()) {
      warnings.push_back(def.url + ": element '" + e.id + "' has no parent");
      ok = false;
      continue;
    }
    parent->second->children.push_back(&e);
  }
  for (ElementDef& e : def.elements) {
    if (e.content_reference != nullptr && e.children.empty()) e.children = e.content_reference->children;
  }
  return ok;
}

}  // namespace planbro::fhir::validation
