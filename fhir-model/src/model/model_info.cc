#include "planbro/fhir-model/model_info.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <unordered_map>

#include "../validation/name_hash.h"

extern "C" {
extern const char planbro_r4_definitions[];
extern const uint64_t planbro_r4_definitions_size;
}

namespace planbro::fhir {
namespace {

using RjValue = rapidjson::Value;

std::string_view str(const RjValue& v) {
  return v.IsString() ? std::string_view(v.GetString(), v.GetStringLength()) : std::string_view();
}

const RjValue* member(const RjValue& object, const char* key) {
  auto it = object.FindMember(key);
  return it == object.MemberEnd() ? nullptr : &it->value;
}

std::string stringMember(const RjValue& object, const char* key) {
  const RjValue* v = member(object, key);
  return v != nullptr ? std::string(str(*v)) : std::string();
}

std::vector<std::string> stringArray(const RjValue* v) {
  std::vector<std::string> out;
  if (v == nullptr || !v->IsArray()) return out;
  out.reserve(v->Size());
  for (const RjValue& item : v->GetArray()) out.emplace_back(str(item));
  return out;
}

std::string toJsonText(const RjValue& v) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  v.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

uint32_t parseMax(std::string_view max) {
  if (max == "*") return kUnbounded;
  uint32_t n = 0;
  for (char c : max) {
    if (c < '0' || c > '9') return kUnbounded;
    n = n * 10 + static_cast<uint32_t>(c - '0');
  }
  return n;
}

std::optional<TypeKind> parseKind(std::string_view k) {
  if (k == "p") return TypeKind::kPrimitive;
  if (k == "c") return TypeKind::kComplex;
  if (k == "r") return TypeKind::kResource;
  if (k == "l") return TypeKind::kLogical;
  return std::nullopt;
}

BindingStrength parseStrength(std::string_view s) {
  if (s == "r") return BindingStrength::kRequired;
  if (s == "e") return BindingStrength::kExtensible;
  if (s == "p") return BindingStrength::kPreferred;
  return BindingStrength::kExample;
}

SearchParamType parseSearchType(std::string_view t) {
  if (t == "number") return SearchParamType::kNumber;
  if (t == "date") return SearchParamType::kDate;
  if (t == "string") return SearchParamType::kString;
  if (t == "token") return SearchParamType::kToken;
  if (t == "reference") return SearchParamType::kReference;
  if (t == "composite") return SearchParamType::kComposite;
  if (t == "quantity") return SearchParamType::kQuantity;
  if (t == "uri") return SearchParamType::kUri;
  return SearchParamType::kSpecial;
}

Status formatError(std::string_view what) {
  return invalidArgument("compiled definitions: " + std::string(what));
}

Result<ElementDef> parseElement(const RjValue& e) {
  if (!e.IsObject()) return formatError("element is not an object");
  ElementDef def;
  def.path = stringMember(e, "p");
  if (def.path.empty()) return formatError("element without path");
  def.id = member(e, "i") != nullptr ? stringMember(e, "i") : def.path;
  def.slice_name = stringMember(e, "sn");
  std::string_view last = def.path;
  if (size_t dot = last.rfind('.'); dot != std::string_view::npos) last = last.substr(dot + 1);
  if (last.ends_with("[x]")) {
    def.is_choice = true;
    last.remove_suffix(3);
  }
  def.name = std::string(last);
  if (const RjValue* n = member(e, "n"); n != nullptr && n->IsUint()) def.min = n->GetUint();
  if (const RjValue* x = member(e, "x"); x != nullptr) def.max = parseMax(str(*x));
  if (const RjValue* types = member(e, "t"); types != nullptr && types->IsArray()) {
    for (const RjValue& t : types->GetArray()) {
      TypeRef ref;
      if (t.IsString()) {
        ref.code = std::string(str(t));
      } else if (t.IsArray() && t.Size() == 3) {
        ref.code = std::string(str(t[0]));
        ref.target_profiles = stringArray(&t[1]);
        ref.profiles = stringArray(&t[2]);
      } else {
        return formatError("bad type of " + def.path);
      }
      def.types.push_back(std::move(ref));
    }
  }
  if (const RjValue* b = member(e, "bd"); b != nullptr) {
    if (!b->IsArray() || b->Size() != 2) return formatError("bad binding of " + def.path);
    def.binding = Binding{parseStrength(str((*b)[0])), std::string(str((*b)[1]))};
  }
  if (const RjValue* cs = member(e, "c"); cs != nullptr && cs->IsArray()) {
    for (const RjValue& c : cs->GetArray()) {
      if (!c.IsArray() || c.Size() != 4) return formatError("bad constraint of " + def.path);
      def.constraints.push_back(Constraint{std::string(str(c[0])),
                                           str(c[1]) == "w" ? Severity::kWarning : Severity::kError,
                                           std::string(str(c[2])), std::string(str(c[3]))});
    }
  }
  def.is_modifier = member(e, "m") != nullptr;
  def.is_summary = member(e, "s") != nullptr;
  if (const RjValue* f = member(e, "f"); f != nullptr) def.fixed_json = toJsonText(*f);
  if (const RjValue* p = member(e, "pt"); p != nullptr) def.pattern_json = toJsonText(*p);
  if (const RjValue* s = member(e, "sl"); s != nullptr) {
    if (!s->IsArray() || s->Size() != 3 || !(*s)[2].IsArray()) return formatError("bad slicing of " + def.path);
    Slicing slicing;
    slicing.ordered = (*s)[0].IsInt() && (*s)[0].GetInt() != 0;
    slicing.rules = std::string(str((*s)[1]));
    for (const RjValue& d : (*s)[2].GetArray()) {
      if (!d.IsArray() || d.Size() != 2) return formatError("bad discriminator of " + def.path);
      slicing.discriminators.push_back({std::string(str(d[0])), std::string(str(d[1]))});
    }
    def.slicing = std::move(slicing);
  }
  return def;
}

// Content references name a path ("Questionnaire.item"); resolved after every element of the type exists.
struct PendingReference {
  size_t element;
  std::string target_path;
};

Result<std::unique_ptr<TypeDef>> parseType(const RjValue& t, bool is_profile) {
  if (!t.IsObject()) return formatError("type is not an object");
  auto def = std::make_unique<TypeDef>();
  def->name = stringMember(t, "n");
  def->url = stringMember(t, "u");
  std::optional<TypeKind> kind = parseKind(stringMember(t, "k"));
  if (def->name.empty() || !kind) return formatError("type without name or kind");
  def->kind = *kind;
  def->is_abstract = member(t, "a") != nullptr;
  def->base = stringMember(t, "b");
  def->constrained_type = stringMember(t, "ty");
  if (is_profile && def->constrained_type.empty()) return formatError("profile without type: " + def->url);
  def->value_regex = stringMember(t, "rx");
  if (const RjValue* cx = member(t, "cx"); cx != nullptr && cx->IsArray()) {
    for (const RjValue& c : cx->GetArray()) {
      if (!c.IsArray() || c.Size() != 2) return formatError("bad context of " + def->url);
      def->contexts.emplace_back(std::string(str(c[0])), std::string(str(c[1])));
    }
  }
  const RjValue* elements = member(t, "e");
  if (elements == nullptr || !elements->IsArray() || elements->Empty()) return formatError("type without elements");
  def->elements.reserve(elements->Size());
  std::vector<PendingReference> references;
  for (const RjValue& e : elements->GetArray()) {
    Result<ElementDef> element = parseElement(e);
    if (!element.isOk()) return element.status();
    if (const RjValue* cr = member(e, "cr"); cr != nullptr) {
      references.push_back({def->elements.size(), std::string(str(*cr))});
    }
    def->elements.push_back(std::move(element).value());
  }

  // Inline children by element id: the parent of "A.b:slice.c" is "A.b:slice". The elements vector is complete,
  // so the pointers stay valid.
  std::unordered_map<std::string_view, ElementDef*> by_id;
  std::unordered_map<std::string_view, ElementDef*> by_path;  // first (unsliced) element of a path
  by_id.reserve(def->elements.size());
  for (ElementDef& e : def->elements) {
    by_id.emplace(e.id, &e);
    by_path.emplace(e.path, &e);
  }
  for (size_t i = 1; i < def->elements.size(); ++i) {
    ElementDef& e = def->elements[i];
    size_t dot = e.id.rfind('.');
    if (dot == std::string::npos) return formatError("element outside its type: " + e.id);
    auto parent = by_id.find(std::string_view(e.id).substr(0, dot));
    if (parent == by_id.end()) return formatError("element without parent: " + e.id);
    parent->second->children.push_back(&e);
  }
  // Targets are resolved after all children lists are complete, so a reference shares the target's whole list.
  for (const PendingReference& ref : references) {
    // Core types name a path; profiles may name an element id ("Provenance.agent:Author").
    ElementDef* target = nullptr;
    if (auto it = by_id.find(ref.target_path); it != by_id.end()) {
      target = it->second;
    } else if (auto by_p = by_path.find(ref.target_path); by_p != by_path.end()) {
      target = by_p->second;
    } else {
      return formatError("unresolved content reference " + ref.target_path);
    }
    ElementDef& e = def->elements[ref.element];
    e.content_reference = target;
    e.children = target->children;
  }
  return def;
}

char upperFirstChar(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }

std::string upperFirst(std::string_view s) {
  std::string out(s);
  if (!out.empty()) out[0] = upperFirstChar(out[0]);
  return out;
}

}  // namespace

struct ModelInfo::Impl {
  std::vector<std::unique_ptr<TypeDef>> types;     // sorted by name
  std::vector<std::unique_ptr<TypeDef>> profiles;  // sorted by url
  std::vector<const TypeDef*> type_list;
  std::vector<const TypeDef*> profile_list;
  std::vector<const TypeDef*> resource_types;
  std::unordered_map<std::string_view, const TypeDef*> type_by_name;
  // The same names in an open-addressing table probed by ModelInfo::type, which the validating walk calls per
  // resource and reference: a word hash and one comparison instead of std::hash over every byte and a modulo.
  std::vector<std::pair<std::string_view, const TypeDef*>> type_slots;
  uint32_t type_mask = 0;
  std::unordered_map<std::string_view, const TypeDef*> by_url;  // core types and profiles
  std::vector<ValueSetCodes> value_sets;
  std::unordered_map<std::string_view, const ValueSetCodes*> value_set_by_url;
  std::vector<SearchParamDef> search_params;
  // Per concrete resource type: its own parameters, then those of DomainResource and Resource.
  std::unordered_map<std::string_view, std::vector<const SearchParamDef*>> params_by_type;
};

ModelInfo::ModelInfo(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ModelInfo::~ModelInfo() = default;

std::string_view ModelInfo::embeddedDefinitions() {
  return {planbro_r4_definitions, static_cast<size_t>(planbro_r4_definitions_size)};
}

Result<std::unique_ptr<ModelInfo>> ModelInfo::parse(std::string_view compiled_json) {
  rapidjson::Document doc;
  doc.Parse(compiled_json.data(), compiled_json.size());
  if (doc.HasParseError()) {
    return formatError(std::string("JSON error at offset ") + std::to_string(doc.GetErrorOffset()) + ": " +
                       rapidjson::GetParseError_En(doc.GetParseError()));
  }
  if (!doc.IsObject()) return formatError("not an object");
  const RjValue* types = member(doc, "types");
  const RjValue* profiles = member(doc, "profiles");
  const RjValue* value_sets = member(doc, "vs");
  const RjValue* params = member(doc, "sp");
  if (types == nullptr || !types->IsArray() || profiles == nullptr || !profiles->IsArray() || value_sets == nullptr ||
      !value_sets->IsArray() || params == nullptr || !params->IsArray()) {
    return formatError("missing types, profiles, vs or sp");
  }

  auto impl = std::make_unique<Impl>();
  for (const RjValue& t : types->GetArray()) {
    Result<std::unique_ptr<TypeDef>> def = parseType(t, false);
    if (!def.isOk()) return def.status();
    impl->types.push_back(std::move(def).value());
  }
  for (const RjValue& t : profiles->GetArray()) {
    Result<std::unique_ptr<TypeDef>> def = parseType(t, true);
    if (!def.isOk()) return def.status();
    impl->profiles.push_back(std::move(def).value());
  }
  std::sort(impl->types.begin(), impl->types.end(), [](const auto& a, const auto& b) { return a->name < b->name; });
  std::sort(impl->profiles.begin(), impl->profiles.end(), [](const auto& a, const auto& b) { return a->url < b->url; });
  for (const auto& t : impl->types) {
    impl->type_list.push_back(t.get());
    if (!impl->type_by_name.emplace(t->name, t.get()).second) return formatError("duplicate type " + t->name);
    impl->by_url.emplace(t->url, t.get());
    if (t->kind == TypeKind::kResource && !t->is_abstract) impl->resource_types.push_back(t.get());
  }
  uint32_t capacity = 16;
  while (capacity < impl->types.size() * 2) capacity *= 2;
  impl->type_slots.assign(capacity, {});
  impl->type_mask = capacity - 1;
  for (const auto& t : impl->types) {
    uint32_t at = validation::wordNameHash(t->name) & impl->type_mask;
    while (impl->type_slots[at].second != nullptr) at = (at + 1) & impl->type_mask;
    impl->type_slots[at] = {t->name, t.get()};  // names are unique (checked above)
  }
  for (const auto& p : impl->profiles) {
    impl->profile_list.push_back(p.get());
    if (!impl->by_url.emplace(p->url, p.get()).second) return formatError("duplicate profile " + p->url);
  }
  for (const auto& t : impl->types) {
    if (t->base.empty()) continue;
    auto base = impl->type_by_name.find(t->base);
    if (base == impl->type_by_name.end()) return formatError("unknown base " + t->base + " of " + t->name);
    t->base_type = base->second;
  }
  for (const auto& p : impl->profiles) {
    auto base = impl->by_url.find(p->base);
    if (base == impl->by_url.end()) return formatError("unknown base " + p->base + " of " + p->url);
    p->base_type = base->second;
  }

  impl->value_sets.reserve(value_sets->Size());
  for (const RjValue& v : value_sets->GetArray()) {
    if (!v.IsObject()) return formatError("value set is not an object");
    ValueSetCodes vs;
    vs.url = stringMember(v, "u");
    vs.complete = member(v, "i") == nullptr;
    const RjValue* groups = member(v, "g");
    if (vs.url.empty() || groups == nullptr || !groups->IsArray()) return formatError("bad value set");
    for (const RjValue& g : groups->GetArray()) {
      if (!g.IsArray() || g.Size() != 2 || !g[1].IsArray()) return formatError("bad value set group in " + vs.url);
      std::string system(str(g[0]));
      for (const RjValue& c : g[1].GetArray()) {
        if (!c.IsArray() || c.Empty()) return formatError("bad code in " + vs.url);
        vs.codes.push_back({system, std::string(str(c[0])), c.Size() > 1 ? std::string(str(c[1])) : std::string()});
      }
    }
    impl->value_sets.push_back(std::move(vs));
  }
  for (ValueSetCodes& vs : impl->value_sets) {
    vs.buildIndex();  // after the vector is final: the index holds views of the codes' strings
    impl->value_set_by_url.emplace(vs.url, &vs);
  }

  impl->search_params.reserve(params->Size());
  for (const RjValue& p : params->GetArray()) {
    if (!p.IsObject()) return formatError("search parameter is not an object");
    SearchParamDef sp;
    sp.code = stringMember(p, "c");
    sp.url = stringMember(p, "u");
    sp.type = parseSearchType(stringMember(p, "t"));
    sp.expression = stringMember(p, "x");
    sp.base = stringArray(member(p, "b"));
    sp.target = stringArray(member(p, "tg"));
    if (const RjValue* cp = member(p, "cp"); cp != nullptr && cp->IsArray()) {
      for (const RjValue& c : cp->GetArray()) {
        if (!c.IsArray() || c.Size() != 2) return formatError("bad component of " + sp.url);
        sp.components.emplace_back(str(c[0]));
        sp.component_expressions.emplace_back(str(c[1]));
      }
    }
    if (sp.code.empty()) return formatError("search parameter without code");
    impl->search_params.push_back(std::move(sp));
  }
  std::unordered_map<std::string_view, std::vector<const SearchParamDef*>> by_base;
  for (const SearchParamDef& sp : impl->search_params) {
    for (const std::string& base : sp.base) by_base[base].push_back(&sp);
  }
  for (const TypeDef* rt : impl->resource_types) {
    std::vector<const SearchParamDef*>& list = impl->params_by_type[rt->name];
    auto add = [&](std::string_view base) {
      auto it = by_base.find(base);
      if (it != by_base.end()) list.insert(list.end(), it->second.begin(), it->second.end());
    };
    add(rt->name);
    for (const TypeDef* b = rt->base_type; b != nullptr; b = b->base_type) add(b->name);
  }
  return std::make_unique<ModelInfo>(std::move(impl));
}

const ModelInfo& ModelInfo::r4() {
  static const ModelInfo* const instance = [] {
    Result<std::unique_ptr<ModelInfo>> model = parse(embeddedDefinitions());
    if (!model.isOk()) {
      // The embedded tables are part of the binary: failing here is a build defect, not a runtime condition.
      std::fprintf(stderr, "planbro: embedded R4 definitions are corrupt: %s\n", model.status().message().c_str());
      std::abort();
    }
    return std::move(model).value().release();
  }();
  return *instance;
}

const TypeDef* ModelInfo::type(std::string_view name) const {
  const auto& slots = impl_->type_slots;
  if (slots.empty()) return nullptr;
  for (uint32_t at = validation::wordNameHash(name) & impl_->type_mask;; at = (at + 1) & impl_->type_mask) {
    const auto& [slot_name, type] = slots[at];
    if (type == nullptr) return nullptr;
    if (slot_name == name) return type;
  }
}

const TypeDef* ModelInfo::profile(std::string_view url) const {
  if (size_t bar = url.find('|'); bar != std::string_view::npos) url = url.substr(0, bar);
  auto it = impl_->by_url.find(url);
  return it == impl_->by_url.end() || !it->second->isProfile() ? nullptr : it->second;
}

bool ModelInfo::isResourceType(std::string_view name) const {
  const TypeDef* t = type(name);
  return t != nullptr && t->kind == TypeKind::kResource && !t->is_abstract;
}

bool ModelInfo::isPrimitiveType(std::string_view name) const {
  const TypeDef* t = type(name);
  return t != nullptr && t->kind == TypeKind::kPrimitive;
}

bool ModelInfo::isA(std::string_view name, std::string_view ancestor) const {
  for (const TypeDef* t = type(name); t != nullptr; t = t->base_type) {
    if (t->name == ancestor) return true;
  }
  return false;
}

std::span<const TypeDef* const> ModelInfo::resourceTypes() const { return impl_->resource_types; }
std::span<const TypeDef* const> ModelInfo::types() const { return impl_->type_list; }
std::span<const TypeDef* const> ModelInfo::profiles() const { return impl_->profile_list; }

const ElementDef* ModelInfo::element(std::string_view path) const {
  size_t dot = path.find('.');
  const TypeDef* t = type(path.substr(0, dot));
  if (t == nullptr) return nullptr;
  const ElementDef* current = &t->root();
  while (dot != std::string_view::npos) {
    path = path.substr(dot + 1);
    dot = path.find('.');
    std::string_view name = path.substr(0, dot);
    if (name.ends_with("[x]")) name.remove_suffix(3);
    const ElementDef* next = nullptr;
    for (const ElementDef* child : current->children) {
      if (child->name == name && child->slice_name.empty()) {
        next = child;
        break;
      }
    }
    if (next == nullptr) return nullptr;
    current = next;
  }
  return current;
}

std::span<const ElementDef* const> ModelInfo::childrenOf(const ElementDef& element, std::string_view type_code) const {
  if (!element.children.empty()) return element.children;
  const TypeDef* t = type(type_code);
  if (t == nullptr) return {};
  return t->rootChildren();
}

std::optional<ModelInfo::ChildMatch> ModelInfo::matchChild(std::span<const ElementDef* const> children,
                                                           std::string_view json_name) const {
  for (const ElementDef* child : children) {
    if (!child->slice_name.empty()) continue;
    if (!child->is_choice) {
      if (child->name != json_name) continue;
      const ElementDef* typed = child->content_reference != nullptr ? child->content_reference : child;
      std::string_view code = typed->types.size() == 1 ? std::string_view(typed->types.front().code) : std::string_view();
      return ChildMatch{child, code};
    }
    if (json_name.size() <= child->name.size() || !json_name.starts_with(child->name)) continue;
    std::string_view suffix = json_name.substr(child->name.size());
    for (const TypeRef& t : child->types) {
      // The suffix is the type code with its first letter upper-cased: valueDateTime, valueQuantity.
      if (t.code.size() == suffix.size() && upperFirstChar(t.code[0]) == suffix[0] &&
          std::string_view(t.code).substr(1) == suffix.substr(1)) {
        return ChildMatch{child, t.code};
      }
    }
  }
  return std::nullopt;
}

std::string ModelInfo::jsonName(const ElementDef& element, std::string_view type_code) {
  if (!element.is_choice) return element.name;
  return element.name + upperFirst(type_code);
}

const ValueSetCodes* ModelInfo::valueSet(std::string_view url) const {
  if (size_t bar = url.find('|'); bar != std::string_view::npos) url = url.substr(0, bar);
  auto it = impl_->value_set_by_url.find(url);
  return it == impl_->value_set_by_url.end() ? nullptr : it->second;
}

std::vector<const SearchParamDef*> ModelInfo::searchParams(std::string_view resource_type) const {
  auto it = impl_->params_by_type.find(resource_type);
  return it == impl_->params_by_type.end() ? std::vector<const SearchParamDef*>() : it->second;
}

const SearchParamDef* ModelInfo::searchParam(std::string_view resource_type, std::string_view code) const {
  auto it = impl_->params_by_type.find(resource_type);
  if (it == impl_->params_by_type.end()) return nullptr;
  for (const SearchParamDef* sp : it->second) {
    if (sp->code == code) return sp;
  }
  return nullptr;
}

std::span<const SearchParamDef> ModelInfo::allSearchParams() const { return impl_->search_params; }

void ValueSetCodes::buildIndex() {
  index.clear();
  index.by_code.reserve(codes.size());
  for (const Code& c : codes) index.by_code.emplace(c.code, c.system);
  index.owner = this;
  index.size = codes.size();
}

bool ValueSetCodes::containsCode(std::string_view code) const {
  if (indexed()) return index.by_code.find(code) != index.by_code.end();
  return std::any_of(codes.begin(), codes.end(), [&](const Code& c) { return c.code == code; });
}

bool ValueSetCodes::contains(std::string_view system, std::string_view code) const {
  if (indexed()) {
    auto [first, last] = index.by_code.equal_range(code);
    for (auto it = first; it != last; ++it) {
      if (it->second == system) return true;
    }
    return false;
  }
  return std::any_of(codes.begin(), codes.end(), [&](const Code& c) { return c.code == code && c.system == system; });
}

}  // namespace planbro::fhir
