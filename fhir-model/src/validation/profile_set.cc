#include "planbro/fhir-model/profile_set.h"

#include <algorithm>
#include <fstream>
#include <functional>
#include <mutex>
#include <set>
#include <sstream>
#include <unordered_map>

#include "planbro/fhir-model/fhir_xml.h"
#include "extension_plan.h"
#include "simple_invariant.h"
#include "slice_paths.h"
#include "snapshot.h"

namespace planbro::fhir {
namespace {

std::string_view text(const JsonValue* v) { return v != nullptr && v->isString() ? v->text() : std::string_view(); }

std::string stripVersion(std::string_view url) {
  size_t bar = url.find('|');
  return std::string(bar == std::string_view::npos ? url : url.substr(0, bar));
}

// The core element a profile path constrains: "Patient.identifier.system" walks Patient's inline children, then the
// root children of the data type (Identifier). Choice elements match by name ("value[x]"); nullptr when the path
// leaves what the core model defines (a choice with several types, an unknown name).
const ElementDef* coreElement(const ModelInfo& model, std::string_view path) {
  size_t dot = path.find('.');
  const TypeDef* type = model.type(path.substr(0, dot));
  if (type == nullptr) return nullptr;
  const ElementDef* at = &type->root();
  while (dot != std::string_view::npos) {
    size_t next = path.find('.', dot + 1);
    std::string_view segment = path.substr(dot + 1, next == std::string_view::npos ? std::string_view::npos
                                                                                   : next - dot - 1);
    if (segment.ends_with("[x]")) segment.remove_suffix(3);
    const ElementDef* eff = at->content_reference != nullptr ? at->content_reference : at;
    std::span<const ElementDef* const> children = eff->children;
    if (children.empty()) {
      if (eff->types.size() != 1) return nullptr;
      const TypeDef* t = model.type(eff->types.front().code);
      if (t == nullptr) return nullptr;
      children = t->rootChildren();
    }
    const ElementDef* found = nullptr;
    for (const ElementDef* c : children) {
      if (c->slice_name.empty() && c->name == segment) {
        found = c;
        break;
      }
    }
    if (found == nullptr) return nullptr;
    at = found;
    dot = next;
  }
  return at;
}

bool sameTargets(const TypeRef& a, const TypeRef& b) {
  if (a.target_profiles.size() != b.target_profiles.size()) return false;
  for (const std::string& t : a.target_profiles) {
    if (std::find(b.target_profiles.begin(), b.target_profiles.end(), t) == b.target_profiles.end()) return false;
  }
  return true;
}

bool typesNarrowed(const ElementDef& e, const ElementDef* core) {
  for (const TypeRef& t : e.types) {
    if (!t.profiles.empty()) return true;
  }
  if (core == nullptr) return false;
  const ElementDef& eff = core->content_reference != nullptr ? *core->content_reference : *core;
  if (e.types.empty()) return false;
  if (e.types.size() < eff.types.size()) return true;
  for (const TypeRef& t : e.types) {
    const TypeRef* same = nullptr;
    for (const TypeRef& c : eff.types) {
      if (c.code == t.code) same = &c;
    }
    if (same == nullptr || !sameTargets(t, *same)) return true;
  }
  return false;
}

const Binding* addedBinding(const ElementDef& e, const ElementDef* core) {
  if (!e.binding || e.binding->value_set.empty()) return nullptr;
  if (e.binding->strength != BindingStrength::kRequired && e.binding->strength != BindingStrength::kExtensible) {
    return nullptr;
  }
  if (core != nullptr) {
    const ElementDef& eff = core->content_reference != nullptr ? *core->content_reference : *core;
    const std::optional<Binding>& b = core->binding ? core->binding : eff.binding;
    // The base validator already holds the element to a required core binding.
    if (b && b->strength == BindingStrength::kRequired && b->value_set == e.binding->value_set) return nullptr;
  }
  return &*e.binding;
}

std::optional<JsonDocument> parseValue(const std::string& json) {
  if (json.empty()) return std::nullopt;
  Result<JsonDocument> doc = JsonDocument::parse(json);
  if (!doc.isOk()) return std::nullopt;
  return std::move(doc).value();
}

// The URL an extension slice selects under a `url` value/pattern discriminator, decided as
// ProfileChecker::matchesSlice decides it: the slice's fixed or pattern url, else the URL of its type profile.
// nullopt when the slice's match is not a plain URL comparison (then no index is built); an empty string when the
// slice can match nothing.
std::optional<std::string_view> sliceUrl(const ProfileElement& slice) {
  if (slice.discriminator_targets.size() != 1) return std::nullopt;
  const ProfileElement::DiscriminatorTarget& t = slice.discriminator_targets.front();
  std::optional<std::string_view> expected;
  if (t.has_extension_url) expected = t.extension_url;
  const JsonValue* fixed = t.element != nullptr && t.element->fixed ? &t.element->fixed->root() : nullptr;
  const JsonValue* pattern = t.element != nullptr && t.element->pattern ? &t.element->pattern->root() : nullptr;
  if (fixed == nullptr && pattern == nullptr) {
    for (const TypeRef& type : slice.def->types) {
      if (!type.profiles.empty()) expected = type.profiles.front();
    }
    if (t.element == nullptr && !expected) return std::string_view();
    if (!expected) return std::nullopt;  // matched by a binding
    return expected;
  }
  if (fixed != nullptr && !fixed->isString()) return std::nullopt;
  if (pattern != nullptr && !pattern->isString()) return std::nullopt;
  if (fixed != nullptr && pattern != nullptr && fixed->text() != pattern->text()) return std::nullopt;
  std::string_view url = fixed != nullptr ? fixed->text() : pattern->text();
  if (url.empty()) return std::nullopt;  // an empty fixed url would match an empty one: leave it to matchesSlice
  return url;
}

void indexSlicesByUrl(ProfileElement& pe) {
  const ElementDef& e = *pe.def;
  if (!e.slicing || e.slicing->discriminators.size() != 1 || pe.slices.empty()) return;
  const Slicing::Discriminator& d = e.slicing->discriminators.front();
  if (d.path != "url" || (d.type != "value" && d.type != "pattern")) return;
  if (e.types.size() != 1 || e.types.front().code != "Extension") return;
  std::unordered_map<std::string, uint32_t, ProfileElement::UrlHash, std::equal_to<>> by_url;
  for (size_t s = 0; s < pe.slices.size(); ++s) {
    std::optional<std::string_view> url = sliceUrl(*pe.slices[s]);
    if (!url) return;
    if (!url->empty()) by_url.emplace(std::string(*url), static_cast<uint32_t>(s));  // the first slice wins
  }
  pe.slice_by_url = std::move(by_url);
  pe.slices_by_url = true;
}

// True when checkValue of `slice` on an extension whose url is `url` reports nothing whatever the extension holds:
// the slice's one type is Extension with the extension definition of that url among its known profiles
// (checkTypeProfiles returns there) and it checks nothing else (no fixed value, pattern, binding, invariant or
// relevant child, no target profiles).
bool onlyItsExtensionDefinition(const ProfileElement& slice, std::string_view url) {
  const ElementDef& def = *slice.def;
  if (slice.fixed || slice.pattern || slice.binding != nullptr || !slice.invariants.empty() ||
      !slice.relevant_children.empty() || !slice.slices.empty()) {
    return false;
  }
  if (def.types.size() != 1 || def.types.front().code != "Extension" || !def.types.front().target_profiles.empty() ||
      slice.type_profiles.size() != 1) {
    return false;
  }
  for (const Profile* p : slice.type_profiles.front()) {
    if (p->isExtension() && p->url == url) return true;
  }
  return false;
}

// The type code of a non-choice child's items, as the checker's gather gives it: the element's one type (its content
// reference's for a contentReference element), else the core element's one type, else BackboneElement.
std::string_view childItemCode(const ProfileElement& child) {
  const ElementDef& def = *child.def;
  const ElementDef* typed = def.content_reference != nullptr ? def.content_reference : &def;
  std::string_view code;
  if (typed->types.size() == 1) code = typed->types.front().code;
  if (code.empty() && child.core != nullptr && child.core->types.size() == 1) code = child.core->types.front().code;
  if (code.empty()) code = "BackboneElement";
  return code;
}

// ProfileElement::member_slots and child_codes, from relevant_children.
void buildMemberSlots(ProfileElement& pe) {
  const size_t k = pe.relevant_children.size();
  if (k < 2 || k > ProfileElement::kMaxMemberSlotChildren) return;
  size_t size = 4;
  while (size < 2 * k) size <<= 1;
  std::vector<ProfileElement::MemberSlot> slots(size);
  std::vector<std::string_view> codes(k);
  for (size_t i = 0; i < k; ++i) {
    const ProfileElement& child = *pe.relevant_children[i];
    if (child.def->is_choice) continue;  // gathered alone: its JSON names are one per type
    const std::string_view name = child.def->name;
    if (name.empty()) return;
    codes[i] = childItemCode(child);
    size_t h = ProfileElement::memberSlotHash(name) & (size - 1);
    while (slots[h].child != ProfileElement::MemberSlot::kNoChild) {
      if (slots[h].name == name) return;  // two children of one name: left to the per-child gather
      h = (h + 1) & (size - 1);
    }
    slots[h] = {name, static_cast<uint32_t>(i)};
  }
  pe.member_slots = std::move(slots);
  pe.child_codes = std::move(codes);
}

// Fills a Profile's precomputed elements from its snapshot (`profile.def`).
void precompute(const ModelInfo& model, Profile& profile, std::vector<std::string>& warnings,
                const std::function<const ValueSetCodes*(std::string_view)>& value_set,
                const std::function<const Profile*(std::string_view)>& find_profile) {
  const TypeDef& def = *profile.def;
  profile.elements.resize(def.elements.size());
  std::unordered_map<std::string_view, size_t> by_id;
  for (size_t i = 0; i < def.elements.size(); ++i) {
    const ElementDef& e = def.elements[i];
    ProfileElement& pe = profile.elements[i];
    by_id.emplace(e.id, i);
    pe.def = &e;
    pe.core = coreElement(model, e.path);
    if (pe.core != nullptr) {
      pe.core_min = pe.core->min;
      pe.core_max = pe.core->max;
    }
    if (i == 0) {
      pe.core_min = 0;
      pe.core_max = kUnbounded;
    }
    pe.fixed = parseValue(e.fixed_json);
    pe.pattern = parseValue(e.pattern_json);
    pe.binding = addedBinding(e, pe.core);
    if (pe.binding != nullptr) pe.value_set = value_set(pe.binding->value_set);
    pe.types_narrowed = typesNarrowed(e, pe.core);
    pe.type_profiles.resize(e.types.size());
    for (size_t t = 0; t < e.types.size(); ++t) {
      for (const std::string& url : e.types[t].profiles) {
        if (const Profile* p = find_profile(url)) pe.type_profiles[t].push_back(p);
      }
    }
    pe.target_profiles.resize(e.types.size());
    pe.target_cores.resize(e.types.size());
    for (size_t t = 0; t < e.types.size(); ++t) {
      for (const std::string& url : e.types[t].target_profiles) {
        pe.target_profiles[t].push_back(find_profile(url));
        const size_t slash = url.rfind('/');
        const std::string_view name =
            slash == std::string::npos ? std::string_view(url) : std::string_view(url).substr(slash + 1);
        pe.target_cores[t].push_back({name, model.type(name)});
      }
    }
    std::set<std::string_view> known;
    if (pe.core != nullptr) {
      for (const Constraint& c : pe.core->constraints) known.insert(c.key);
      if (i == 0) {
        if (const TypeDef* t = model.type(profile.type); t != nullptr) {
          for (const Constraint& c : t->root().constraints) known.insert(c.key);
        }
      }
    }
    for (const Constraint& c : e.constraints) {
      if (known.count(c.key) != 0) continue;
      Result<fhirpath::ExpressionPtr> compiled = fhirpath::compile(c.expression);
      if (!compiled.isOk()) {
        warnings.push_back(profile.url + ": constraint " + c.key + " does not compile: " +
                           compiled.status().message());
        continue;
      }
      // The same fast path as the core invariants: evaluated directly on the JSON when in its subset.
      std::span<const ElementDef* const> children;
      const TypeDef* focus_type = nullptr;
      if (i == 0) {
        focus_type = model.type(profile.type);
      } else if (pe.core != nullptr) {
        const ElementDef& eff = pe.core->content_reference != nullptr ? *pe.core->content_reference : *pe.core;
        children = eff.children;
        if (children.empty() && eff.types.size() == 1) focus_type = model.type(eff.types.front().code);
      }
      if (focus_type != nullptr) children = focus_type->rootChildren();
      std::shared_ptr<const validation::SimpleInvariant> simple;
      if (!children.empty()) simple = validation::SimpleInvariant::compile(c.expression, children, model);
      pe.invariants.push_back({&c, std::move(compiled).value(), std::move(simple)});
    }
  }
  for (size_t i = 1; i < def.elements.size(); ++i) {
    const ElementDef& e = def.elements[i];
    size_t dot = e.id.rfind('.');
    if (dot == std::string::npos) continue;
    std::string_view last = std::string_view(e.id).substr(dot + 1);
    auto parent = by_id.find(std::string_view(e.id).substr(0, dot));
    if (parent == by_id.end()) continue;
    size_t colon = last.find(':');
    if (colon == std::string_view::npos) {
      profile.elements[parent->second].children.push_back(&profile.elements[i]);
      continue;
    }
    if (last.find('/') != std::string_view::npos) continue;  // re-slicing: not supported (docs/conformance.md)
    std::string sliced = e.id.substr(0, dot + 1 + colon);
    auto base = by_id.find(sliced);
    if (base != by_id.end()) profile.elements[base->second].slices.push_back(&profile.elements[i]);
  }
  for (ProfileElement& pe : profile.elements) {
    if (!pe.def->slicing) continue;
    for (const ProfileElement* slice_const : pe.slices) {
      ProfileElement& slice = profile.elements[static_cast<size_t>(slice_const - profile.elements.data())];
      for (const Slicing::Discriminator& d : pe.def->slicing->discriminators) {
        validation::SliceTarget t = validation::sliceElementAt(slice, d.path);
        slice.discriminator_targets.push_back(
            {t.element, t.extension_url.value_or(std::string_view()), t.extension_url.has_value(), t.through_resolve});
      }
    }
  }
  for (ProfileElement& pe : profile.elements) indexSlicesByUrl(pe);
  // Bottom-up: descendants follow their ancestors in snapshot order.
  for (size_t i = def.elements.size(); i-- > 0;) {
    ProfileElement& pe = profile.elements[i];
    const ElementDef& e = *pe.def;
    bool relevant = pe.relevant || e.min > pe.core_min || (e.max != kUnbounded && e.max < pe.core_max) ||
                    pe.fixed.has_value() || pe.pattern.has_value() || pe.binding != nullptr || pe.types_narrowed ||
                    !pe.invariants.empty() || !pe.slices.empty() ||
                    (e.slicing && e.slicing->rules == "closed");
    for (const ProfileElement* c : pe.children) relevant = relevant || c->relevant;
    pe.relevant = relevant;
    if (relevant && i > 0) {
      size_t dot = e.id.rfind('.');
      if (dot != std::string::npos) {
        if (auto parent = by_id.find(std::string_view(e.id).substr(0, dot)); parent != by_id.end()) {
          profile.elements[parent->second].relevant = true;
        }
      }
    }
  }
  // A slice makes its sliced element relevant (slice counts), which in turn marks the parent above.
  for (size_t i = def.elements.size(); i-- > 0;) {
    ProfileElement& pe = profile.elements[i];
    if (!pe.relevant) continue;
    size_t dot = pe.def->id.rfind('.');
    if (dot == std::string::npos) continue;
    if (auto parent = by_id.find(std::string_view(pe.def->id).substr(0, dot)); parent != by_id.end()) {
      profile.elements[parent->second].relevant = true;
    }
  }
  for (ProfileElement& pe : profile.elements) {
    for (const ProfileElement* c : pe.children) {
      if (c->relevant) pe.relevant_children.push_back(c);
    }
  }
  for (ProfileElement& pe : profile.elements) buildMemberSlots(pe);
  for (ProfileElement& pe : profile.elements) {
    if (!pe.slices_by_url) continue;
    for (const auto& [url, index] : pe.slice_by_url) {
      ProfileElement& slice = profile.elements[static_cast<size_t>(pe.slices[index] - profile.elements.data())];
      slice.only_its_extension_definition = onlyItsExtensionDefinition(slice, url);
    }
  }
}

std::vector<ExtensionContext> readContexts(const JsonValue& sd) {
  std::vector<ExtensionContext> out;
  if (const JsonValue* ctx = sd.find("context"); ctx != nullptr) {
    for (const JsonValue& c : ctx->items()) {
      out.push_back({std::string(text(c.find("type"))), std::string(text(c.find("expression")))});
    }
  }
  return out;
}

}  // namespace

// ---- ValueSets of loaded packages ----

struct ProfileSetBuilder::Pending {
  JsonDocument doc;
  std::string kind;  // "StructureDefinition", "ValueSet", "CodeSystem"
  std::string url;
};

struct ProfileSet::Impl {
  std::vector<std::unique_ptr<TypeDef>> owned_defs;
  std::vector<std::unique_ptr<Profile>> owned;
  std::vector<const Profile*> sorted;
  std::unordered_map<std::string_view, const Profile*, ProfileElement::UrlHash> by_url;
  std::vector<std::unique_ptr<ValueSetCodes>> value_sets;
  std::unordered_map<std::string_view, const ValueSetCodes*> value_set_by_url;
};

ProfileSet::ProfileSet(const ModelInfo& model, std::unique_ptr<Impl> impl, std::vector<std::string> warnings)
    : model_(&model), impl_(std::move(impl)), warnings_(std::move(warnings)) {}
ProfileSet::~ProfileSet() = default;

namespace {

// Errata of the R4 core package's extension contexts: places where the package's own resources use an extension
// that its declared context does not cover. structuredefinition-fhir-type declares ElementDefinition.type.code, but
// every core StructureDefinition (and SUSHI's output, which follows them) puts it on ElementDefinition.type itself
// (R5 corrected the context to ElementDefinition.type). Without this, the core package's own definitions and
// planbro's IP package would not validate.
void applyContextErrata(Profile& profile) {
  if (profile.url != "http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type") return;
  bool declares_code = false;
  for (const ExtensionContext& c : profile.contexts) {
    if (c.type == "element" && c.expression == "ElementDefinition.type") return;
    declares_code = declares_code || (c.type == "element" && c.expression == "ElementDefinition.type.code");
  }
  if (declares_code) profile.contexts.push_back({"element", "ElementDefinition.type"});
}

}  // namespace

const Profile* ProfileSet::find(std::string_view url) const {
  if (size_t bar = url.find('|'); bar != std::string_view::npos) url = url.substr(0, bar);
  auto it = impl_->by_url.find(url);
  return it == impl_->by_url.end() ? nullptr : it->second;
}

std::span<const Profile* const> ProfileSet::profiles() const { return impl_->sorted; }

const ValueSetCodes* ProfileSet::valueSet(std::string_view url) const {
  if (size_t bar = url.find('|'); bar != std::string_view::npos) url = url.substr(0, bar);
  if (auto it = impl_->value_set_by_url.find(url); it != impl_->value_set_by_url.end()) return it->second;
  return model_->valueSet(url);
}

std::shared_ptr<const ProfileSet> ProfileSet::core() {
  static const std::shared_ptr<const ProfileSet> instance = [] {
    ProfileSetBuilder builder(ModelInfo::r4());
    Result<std::shared_ptr<const ProfileSet>> built = builder.build();
    // The embedded core profiles were compiled with their snapshots; building them cannot fail.
    return built.isOk() ? std::move(built).value() : std::shared_ptr<const ProfileSet>();
  }();
  return instance;
}

ProfileSetBuilder::ProfileSetBuilder(const ModelInfo& model) : model_(model) {}
ProfileSetBuilder::~ProfileSetBuilder() = default;

Status ProfileSetBuilder::addResource(const JsonValue& resource) {
  std::string_view type = text(resource.find("resourceType"));
  if (type == "Bundle") {
    if (const JsonValue* entries = resource.find("entry"); entries != nullptr) {
      for (const JsonValue& entry : entries->items()) {
        if (const JsonValue* r = entry.find("resource"); r != nullptr && r->isObject()) {
          RETURN_IF_ERROR(addResource(*r));
        }
      }
    }
    return Status::ok();
  }
  if (type != "StructureDefinition" && type != "ValueSet" && type != "CodeSystem") return Status::ok();
  std::string url = stripVersion(text(resource.find("url")));
  if (type == "StructureDefinition") {
    if (text(resource.find("derivation")) != "constraint") return Status::ok();  // new types: not supported
    if (url.empty() || text(resource.find("type")).empty() || text(resource.find("baseDefinition")).empty()) {
      return invalidArgument("StructureDefinition '" + std::string(text(resource.find("id"))) +
                             "' needs url, type and baseDefinition");
    }
  }
  if (url.empty()) return Status::ok();
  auto pending = std::make_unique<Pending>();
  JsonValue copy = pending->doc.import(resource);
  pending->doc.setRoot(copy);
  pending->kind = std::string(type);
  pending->url = std::move(url);
  pending_.push_back(std::move(pending));
  return Status::ok();
}

Status ProfileSetBuilder::addFile(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return notFound("cannot read " + file.string());
  std::ostringstream buffer;
  buffer << in.rdbuf();
  std::string bytes = buffer.str();
  Result<JsonDocument> doc = file.extension() == ".xml" ? fhirXmlToJson(bytes) : JsonDocument::parse(std::move(bytes));
  if (!doc.isOk()) return invalidArgument(file.string() + ": " + doc.status().message());
  Status added = addResource(doc->root());
  if (!added.isOk()) return invalidArgument(file.string() + ": " + added.message());
  return Status::ok();
}

Status ProfileSetBuilder::addDirectory(const std::filesystem::path& dir) {
  std::error_code ec;
  std::vector<std::filesystem::path> files;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file()) continue;
    const std::filesystem::path& p = it->path();
    std::string name = p.filename().string();
    if (name == "package.json" || name == ".index.json") continue;
    if (p.extension() == ".json" || p.extension() == ".xml") files.push_back(p);
  }
  if (ec) return notFound("cannot read " + dir.string() + ": " + ec.message());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) RETURN_IF_ERROR(addFile(f));
  return Status::ok();
}

namespace {

// Expands a loaded ValueSet: enumerated concepts, whole loaded CodeSystems, imported value sets. Filters and code
// systems that are neither loaded nor in the core model make it incomplete (a missing code is then unknown).
class ValueSetExpander {
 public:
  ValueSetExpander(const ModelInfo& model, const std::unordered_map<std::string, const JsonValue*>& code_systems,
                   const std::unordered_map<std::string, const JsonValue*>& value_sets)
      : model_(model), code_systems_(code_systems), value_sets_(value_sets) {}

  std::unique_ptr<ValueSetCodes> expand(const std::string& url, int depth = 0) {
    auto out = std::make_unique<ValueSetCodes>();
    out->url = url;
    auto vs = value_sets_.find(url);
    if (vs == value_sets_.end() || depth > 8) {
      if (const ValueSetCodes* core = model_.valueSet(url); core != nullptr) {
        *out = *core;
      } else {
        out->complete = false;
      }
      return out;
    }
    const JsonValue* compose = vs->second->find("compose");
    const JsonValue* includes = compose != nullptr ? compose->find("include") : nullptr;
    if (includes == nullptr) out->complete = false;
    if (includes != nullptr) {
      for (const JsonValue& inc : includes->items()) include(inc, *out, depth);
    }
    if (compose != nullptr && compose->find("exclude") != nullptr) out->complete = false;
    return out;
  }

 private:
  void include(const JsonValue& inc, ValueSetCodes& out, int depth) {
    std::string system = stripVersion(text(inc.find("system")));
    if (inc.find("filter") != nullptr) out.complete = false;
    if (const JsonValue* imports = inc.find("valueSet"); imports != nullptr) {
      for (const JsonValue& v : imports->items()) {
        std::unique_ptr<ValueSetCodes> sub = expand(stripVersion(v.text()), depth + 1);
        out.complete = out.complete && sub->complete;
        for (auto& c : sub->codes) out.codes.push_back(c);
      }
    }
    if (system.empty()) return;
    if (const JsonValue* concepts = inc.find("concept"); concepts != nullptr) {
      for (const JsonValue& c : concepts->items()) {
        out.codes.push_back({system, std::string(text(c.find("code"))), std::string(text(c.find("display")))});
      }
      return;
    }
    if (inc.find("filter") != nullptr) return;
    auto cs = code_systems_.find(system);
    if (cs == code_systems_.end()) {
      out.complete = false;
      return;
    }
    if (text(cs->second->find("content")) != "complete" && cs->second->find("content") != nullptr) {
      out.complete = false;
    }
    std::function<void(const JsonValue*)> add = [&](const JsonValue* concepts) {
      if (concepts == nullptr) return;
      for (const JsonValue& c : concepts->items()) {
        out.codes.push_back({system, std::string(text(c.find("code"))), std::string(text(c.find("display")))});
        add(c.find("concept"));
      }
    };
    add(cs->second->find("concept"));
  }

  const ModelInfo& model_;
  const std::unordered_map<std::string, const JsonValue*>& code_systems_;
  const std::unordered_map<std::string, const JsonValue*>& value_sets_;
};

}  // namespace

Result<std::shared_ptr<const ProfileSet>> ProfileSetBuilder::build() {
  auto impl = std::make_unique<ProfileSet::Impl>();
  std::vector<std::string> warnings;
  std::unordered_map<std::string, const Pending*> loaded;  // StructureDefinitions by URL
  std::unordered_map<std::string, const JsonValue*> code_systems;
  std::unordered_map<std::string, const JsonValue*> value_sets;
  for (const auto& p : pending_) {
    if (p->kind == "StructureDefinition") loaded[p->url] = p.get();
    if (p->kind == "CodeSystem") code_systems[p->url] = &p->doc.root();
    if (p->kind == "ValueSet") value_sets[p->url] = &p->doc.root();
  }

  // Core profiles first (unless a loaded one replaces them), then loaded ones, bases before the profiles on them.
  std::unordered_map<std::string, Profile*> built;
  for (const TypeDef* def : model_.profiles()) {
    if (loaded.count(def->url) != 0) continue;
    auto profile = std::make_unique<Profile>();
    profile->url = def->url;
    profile->name = def->name;
    profile->type = def->constrained_type;
    profile->def = def;
    for (const auto& [type, expression] : def->contexts) profile->contexts.push_back({type, expression});
    built[profile->url] = profile.get();
    impl->owned.push_back(std::move(profile));
  }

  std::set<std::string> in_progress;
  std::function<Status(const Pending&)> buildOne = [&](const Pending& p) -> Status {
    if (built.count(p.url) != 0) return Status::ok();
    if (!in_progress.insert(p.url).second) return invalidArgument("profile base definitions form a cycle at " + p.url);
    const JsonValue& sd = p.doc.root();
    std::string base_url = stripVersion(text(sd.find("baseDefinition")));
    const TypeDef* base = nullptr;
    if (auto l = loaded.find(base_url); l != loaded.end()) {
      RETURN_IF_ERROR(buildOne(*l->second));
    }
    if (auto b = built.find(base_url); b != built.end()) {
      base = b->second->def;
    } else {
      std::string_view name = base_url;
      if (size_t slash = name.rfind('/'); slash != std::string_view::npos) name = name.substr(slash + 1);
      const TypeDef* core = model_.type(name);
      if (core != nullptr && core->url == base_url) base = core;
    }
    if (base == nullptr) return invalidArgument(p.url + ": unknown base definition " + base_url);
    auto def = std::make_unique<TypeDef>();
    def->name = std::string(text(sd.find("name")));
    def->url = p.url;
    def->constrained_type = std::string(text(sd.find("type")));
    def->kind = base->kind;
    def->base = base_url;
    def->base_type = base;
    const JsonValue* snapshot = sd.find("snapshot");
    const JsonValue* snapshot_elements = snapshot != nullptr ? snapshot->find("element") : nullptr;
    if (snapshot_elements != nullptr && snapshot_elements->size() > 0) {
      def->elements = validation::readSnapshot(*snapshot_elements);
    } else {
      const JsonValue* diff = sd.find("differential");
      const JsonValue* diff_elements = diff != nullptr ? diff->find("element") : nullptr;
      def->elements = validation::generateSnapshot(model_, *base, diff_elements != nullptr ? *diff_elements : JsonValue(),
                                                   p.url, warnings);
    }
    if (def->elements.empty()) return invalidArgument(p.url + ": no elements");
    validation::linkElements(*def, warnings);
    auto profile = std::make_unique<Profile>();
    profile->url = p.url;
    profile->name = def->name;
    profile->type = def->constrained_type;
    profile->def = def.get();
    profile->contexts = readContexts(sd);
    built[p.url] = profile.get();
    impl->owned_defs.push_back(std::move(def));
    impl->owned.push_back(std::move(profile));
    in_progress.erase(p.url);
    return Status::ok();
  };
  for (const auto& p : pending_) {
    if (p->kind == "StructureDefinition") RETURN_IF_ERROR(buildOne(*p));
  }
  ValueSetExpander expander(model_, code_systems, value_sets);
  for (const auto& [url, vs] : value_sets) {
    (void)vs;
    impl->value_sets.push_back(expander.expand(url));
  }
  for (const auto& vs : impl->value_sets) {
    vs->buildIndex();
    impl->value_set_by_url.emplace(vs->url, vs.get());
  }
  auto lookup = [&](std::string_view url) -> const ValueSetCodes* {
    if (auto it = impl->value_set_by_url.find(url); it != impl->value_set_by_url.end()) return it->second;
    return model_.valueSet(url);
  };
  auto find_profile = [&](std::string_view url) -> const Profile* {
    auto it = built.find(stripVersion(url));
    return it == built.end() ? nullptr : it->second;
  };
  for (auto& profile : impl->owned) {
    applyContextErrata(*profile);
    for (ExtensionContext& context : profile->contexts) {
      context.choice_at = context.expression.find("[x]");
      context.is_element_path = context.expression.find('.') != std::string::npos;
      context.kind = context.type == "fhirpath"    ? ExtensionContext::Kind::kFhirpath
                     : context.type == "extension" ? ExtensionContext::Kind::kExtension
                                                   : ExtensionContext::Kind::kElement;
    }
    precompute(model_, *profile, warnings, lookup, find_profile);
    profile->extension_plan = validation::compileExtensionPlan(*profile);
    // Bottom-up (a nested slice follows the slice it is in, in snapshot order): a complex slice's plan needs the
    // plans of its own slices.
    for (size_t i = profile->elements.size(); i-- > 0;) {
      const ProfileElement& pe = profile->elements[i];
      for (const ProfileElement* slice_const : pe.slices) {
        const ElementDef& slice_def = *slice_const->def;
        if (slice_def.types.size() != 1 || slice_def.types.front().code != "Extension") continue;
        if (!slice_def.types.front().profiles.empty()) continue;  // its own definition is checked where it occurs
        ProfileElement& slice = profile->elements[static_cast<size_t>(slice_const - profile->elements.data())];
        slice.extension_plan = validation::compileExtensionPlan(slice);
      }
    }
    if (profile->extension_plan == nullptr) {
      profile->complex_extension_plan = validation::compileComplexExtensionPlan(*profile);
    }
  }

  for (const auto& p : impl->owned) {
    impl->sorted.push_back(p.get());
    impl->by_url.emplace(p->url, p.get());
  }
  std::sort(impl->sorted.begin(), impl->sorted.end(), [](const Profile* a, const Profile* b) { return a->url < b->url; });
  return std::shared_ptr<const ProfileSet>(std::make_shared<ProfileSet>(model_, std::move(impl), std::move(warnings)));
}

}  // namespace planbro::fhir
