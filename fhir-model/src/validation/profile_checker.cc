#include "profile_checker.h"

#include <algorithm>
#include <array>

#include "extension_plan.h"
#include "simple_invariant.h"
#include "slice_paths.h"

namespace planbro::fhir::validation {
namespace {

constexpr std::string_view kStructure = "structure";
constexpr std::string_view kRequired = "required";
constexpr std::string_view kValue = "value";
constexpr std::string_view kCodeInvalid = "code-invalid";
constexpr std::string_view kInvariant = "invariant";
constexpr std::string_view kNotSupported = "not-supported";

std::string_view text(const JsonValue* v) { return v != nullptr && v->isString() ? v->text() : std::string_view(); }

std::string shortJson(const JsonValue& v) {
  std::string s = writeJson(v);
  if (s.size() > 120) s = s.substr(0, 120) + "...";
  return s;
}

char upper(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }

std::string_view lastSegment(std::string_view url) {
  size_t slash = url.rfind('/');
  return slash == std::string_view::npos ? url : url.substr(slash + 1);
}

}  // namespace

// Segments are views of JSON names and definitions, rendered only when an issue is reported.
struct ProfileChecker::LocationGuard {
  LocationGuard(Location& location, std::string_view name, int32_t index) : location_(location) {
    location_.segments.emplace_back(name, index);
  }
  ~LocationGuard() { location_.segments.pop_back(); }
  LocationGuard(const LocationGuard&) = delete;
  LocationGuard& operator=(const LocationGuard&) = delete;
  Location& location_;
};

std::string ProfileChecker::Location::render() const {
  std::string s = base != nullptr ? (*base)() : std::string();
  for (size_t i = start; i < segments.size(); ++i) {
    const auto& [name, index] = segments[i];
    if (!s.empty()) s += '.';
    s += name;
    if (index >= 0) {
      s += '[';
      s += std::to_string(index);
      s += ']';
    }
  }
  return s;
}

namespace {

}  // namespace

ProfileChecker::ProfileChecker(const ProfileSet& profiles, const RequiredProfiles& required, OperationOutcome& out,
                               const ReferenceResolver* resolver, uint32_t max_nesting)
    : profiles_(profiles), required_(required), out_(&out), resolver_(resolver), max_nesting_(max_nesting) {}

void ProfileChecker::report(Severity severity, std::string_view code, std::string message) {
  out_->add(severity, std::string(code), std::move(message), location_.render());
}

std::string ProfileChecker::profileName() const {
  if (profile_ == nullptr) return {};
  return " (profile " + profile_->url + ")";
}

// ---- entry points ----

void ProfileChecker::checkResource(const JsonValue& resource, std::string_view type,
                                   const LocationRenderer& location) {
  std::vector<const Profile*> to_check;
  const Location::Saved saved = location_.enter(location);
  if (const JsonValue* meta = resource.find("meta"); meta != nullptr) {
    if (const JsonValue* claims = meta->find("profile"); claims != nullptr && claims->isArray()) {
      auto items = claims->items();
      for (size_t i = 0; i < items.size(); ++i) {
        std::string_view url = text(&items[i]);
        if (url.empty()) continue;
        const Profile* p = profiles_.find(url);
        LocationGuard g(location_, "meta.profile", static_cast<int32_t>(i));
        if (p == nullptr) {
          // A core type's own definition is a valid claim: the base validation already held the resource to it.
          const TypeDef* core = profiles_.model().type(lastSegment(url));
          if (core == nullptr || core->url != url) {
            report(Severity::kWarning, kNotSupported,
                   "the profile '" + std::string(url) +
                       "' is not known here; the resource was validated against the base definition only");
          }
          continue;
        }
        if (p->type != type) {
          report(Severity::kError, kStructure,
                 "the profile '" + p->url + "' is for " + p->type + ", not " + std::string(type));
          continue;
        }
        to_check.push_back(p);
      }
    }
  }
  if (auto it = required_.find(type); it != required_.end()) {
    for (const std::string& url : it->second) {
      const Profile* p = profiles_.find(url);
      if (p != nullptr && p->type == type && std::find(to_check.begin(), to_check.end(), p) == to_check.end()) {
        to_check.push_back(p);
      }
    }
  }
  const JsonValue* previous_resource = resource_;
  resource_ = &resource;
  // Remembered: a reference to this resource from elsewhere in the document (targetProfile) then needs no second
  // check against the same profile.
  for (const Profile* p : to_check) conformAndRemember(*p, resource, type, /*remember=*/true);
  resource_ = previous_resource;
  location_.leave(saved);
}

void ProfileChecker::checkExtension(const Profile& definition, const JsonValue& extension, const ExtensionSite& site,
                                    const LocationRenderer& location, const JsonValue& resource) {
  const Profile* profile = &definition;
  const Location::Saved saved = location_.enter(location);
  const JsonValue* previous_resource = resource_;
  resource_ = &resource;
  if (!profile->contexts.empty() && !contextAllows(*profile, site)) {
    std::string listed;
    for (const ExtensionContext& ctx : profile->contexts) {
      if (!listed.empty()) listed += ", ";
      listed += ctx.expression;
    }
    report(Severity::kError, kStructure,
           "the extension '" + std::string(text(extension.find("url"))) + "' is not allowed on " +
               std::string(site.resourcePath()) + " (its contexts: " + listed + ")");
  }
  // A definition of the simple shape is decided in one pass; when its plan does not hold, the full walk reports why.
  const ExtensionPlan* plan =
      profile->extension_plan != nullptr ? profile->extension_plan.get() : profile->complex_extension_plan.get();
  bool holds = false;
  if (plan != nullptr && depth_ < max_nesting_) {
    // At the depth the full walk's conformTo would check the definition's elements, so that target checks the plan
    // makes meet the nesting bound where the full walk's would.
    ++depth_;
    deepest_ = std::max(deepest_, depth_);
    holds = extensionPlanHolds(*plan, extension);
    --depth_;
  }
  if (!holds) conformTo(*profile, extension, "Extension");
  resource_ = previous_resource;
  location_.leave(saved);
}

// True only when the full walk of the definition would report nothing: the same checks as gather / checkItems /
// checkValue / checkSlices make for a fixed url, a forbidden nested extension, a narrowed value[x], a forbidden
// value[x] and nested extensions sliced by url, on the members directly. Anything unusual (twins, two values, a type
// not allowed, a nested extension without a url) answers false and leaves it to the full walk.
bool ProfileChecker::extensionPlanHolds(const ExtensionPlan& plan, const JsonValue& extension) {
  if (!extension.isObject()) return false;
  const JsonValue* url = nullptr;
  const JsonValue* value = nullptr;
  const JsonValue* nested = nullptr;
  std::string_view value_code;
  const ExtensionPlan::ValueType* value_type = nullptr;
  for (const JsonMember& m : extension.members()) {
    std::string_view key = m.key;
    if (key == "url") {
      url = &m.value;
    } else if (key == "extension") {
      if (plan.nested_forbidden && !(m.value.isArray() && m.value.items().empty())) return false;
      nested = &m.value;
    } else if (key.starts_with('_')) {
      if (key == "_url" || key == "_extension" || key.starts_with("_value")) return false;
    } else if (plan.value_forbidden && key.size() > 5 && key.starts_with("value")) {
      return false;
    } else if (!plan.value_types.empty() && key.size() > 5 && key.starts_with("value")) {
      if (value != nullptr) return false;
      std::string_view suffix = key.substr(5);
      for (const ExtensionPlan::ValueType& t : plan.value_types) {
        if (t.json_suffix == suffix) {
          value_code = t.code;
          value_type = &t;
        }
      }
      if (value_code.empty()) return false;
      value = &m.value;
    }
  }
  if (url == nullptr || !url->isString() || url->text() != plan.fixed_url) return false;
  if (!plan.nested_slices.empty() && !nestedSlicesHold(plan, nested)) return false;
  if (plan.value_types.empty()) return true;
  if (value == nullptr) return !plan.value_required;
  if (value->isNull() || value->isArray()) return false;
  if (value_type->reference != nullptr && value->isObject() && !targetsHold(*value_type, *value)) return false;
  return plan.value_binding == nullptr || bindingHolds(*plan.value_binding, plan.value_set, *value, value_code);
}

// checkTargetProfiles into a scratch outcome: true when it reported nothing at all (not even a warning), so that
// skipping the full walk loses no issue. The same call the full walk makes (checkType on a Reference value).
bool ProfileChecker::targetsHold(const ExtensionPlan::ValueType& type, const JsonValue& reference) {
  OperationOutcome scratch;
  OperationOutcome* saved = out_;
  out_ = &scratch;
  // As in reportsNothing: a nesting warning given into the scratch outcome must be given again by the full walk.
  const bool nesting_reported = nesting_reported_;
  checkTargetProfiles(*type.reference, type.targets, type.target_cores, reference);
  out_ = saved;
  if (!scratch.issues().empty()) {
    nesting_reported_ = nesting_reported;
    return false;
  }
  return true;
}

// checkSlices' decision for nested extensions sliced by url, without its reports: a nested extension of a slice with
// a plan by that plan, of another slice by the full check of that slice alone (it must report nothing at all).
bool ProfileChecker::nestedSlicesHold(const ExtensionPlan& plan, const JsonValue* nested) {
  std::array<uint32_t, ExtensionPlan::kMaxNestedSlices> counts{};
  uint32_t n = 0;
  if (nested != nullptr) {
    if (!nested->isArray()) return false;
    auto items = nested->items();
    for (size_t i = 0; i < items.size(); ++i) {
      const JsonValue& item = items[i];
      if (!item.isObject()) return false;
      const JsonValue* url = item.find("url");
      if (url == nullptr || !url->isString()) return false;
      ++n;
      const std::string_view text = url->text();
      size_t s = 0;
      while (s < plan.nested_slices.size() && plan.nested_slices[s].url != text) ++s;
      if (s == plan.nested_slices.size()) {
        if (plan.nested_closed) return false;
        continue;  // open: an extension no slice names is checked as any Extension (the base walk did)
      }
      const ExtensionPlan::NestedSlice& slice = plan.nested_slices[s];
      if (slice.plan != nullptr) {
        if (!extensionPlanHolds(*slice.plan, item)) return false;
      } else {
        Item one;
        one.value = &item;
        one.type_code = "Extension";
        one.index = static_cast<int32_t>(i);
        one.json_name = "extension";
        if (!reportsNothing(*slice.element, one)) return false;
      }
      ++counts[s];
    }
  }
  if (n < plan.nested_min || (plan.nested_max != kUnbounded && n > plan.nested_max)) return false;
  for (size_t s = 0; s < plan.nested_slices.size(); ++s) {
    const ExtensionPlan::NestedSlice& slice = plan.nested_slices[s];
    if (counts[s] < slice.min || (slice.max != kUnbounded && counts[s] > slice.max)) return false;
  }
  return true;
}

// checkBinding's decision without its report: true when checkBinding would report nothing for this value.
bool ProfileChecker::bindingHolds(const Binding& binding, const ValueSetCodes* vs, const JsonValue& value,
                                  std::string_view code) {
  if (vs == nullptr || vs->codes.empty() || !vs->complete) return true;
  auto codingIn = [&](const JsonValue& coding) -> int {
    std::string_view system = text(coding.find("system"));
    std::string_view c = text(coding.find("code"));
    if (c.empty()) return 0;
    if (system.empty()) return vs->containsCode(c) ? 1 : -1;
    return vs->contains(system, c) ? 1 : -1;
  };
  if (value.isString() && (code == "code" || code == "string" || code == "uri")) return vs->containsCode(value.text());
  if (code == "Coding" && value.isObject()) return codingIn(value) >= 0;
  if (code == "CodeableConcept" && value.isObject()) {
    const JsonValue* codings = value.find("coding");
    bool judged = false;
    if (codings != nullptr) {
      for (const JsonValue& coding : codings->items()) {
        int r = codingIn(coding);
        if (r > 0) return true;
        if (r < 0) judged = true;
      }
    }
    return !(judged || (binding.strength == BindingStrength::kRequired && codings == nullptr));
  }
  return true;
}

// Decided without building strings: the element's type and the enclosing extension decide most uses, so the site's
// two paths are asked for only when no context allows the use by those; the message listing the contexts is made
// only when none allows it. The answer is the same whichever order the contexts are tried in.
bool ProfileChecker::contextAllows(const Profile& profile, const ExtensionSite& site) const {
  const ModelInfo& model = profiles_.model();
  const std::string_view context_type = site.context_type;
  // The expression with its first "[x]" left out, compared piecewise.
  auto equals = [](const ExtensionContext& ctx, std::string_view candidate) {
    const std::string_view expression = ctx.expression;
    const size_t x = ctx.choice_at;  // found once, when the set was built
    if (x == std::string_view::npos) return candidate == expression;
    return candidate.size() + 3 == expression.size() && candidate.substr(0, x) == expression.substr(0, x) &&
           candidate.substr(x) == expression.substr(x + 3);
  };
  using Kind = ExtensionContext::Kind;
  bool paths_needed = false;
  for (const ExtensionContext& ctx : profile.contexts) {
    if (ctx.kind == Kind::kFhirpath) return true;  // FHIRPath contexts are not evaluated (docs/conformance.md)
    if (ctx.kind == Kind::kExtension) {
      if (equals(ctx, site.parent_extension_url)) return true;
      continue;
    }
    paths_needed = true;
    // An element path ("CarePlan.activity") is never a type name, "Element" or "Base": only the paths can match it.
    if (ctx.is_element_path) continue;
    if (equals(ctx, context_type) || equals(ctx, "Element") || equals(ctx, "Base")) return true;
    if (ctx.choice_at == std::string_view::npos) {
      if (model.isA(context_type, ctx.expression)) return true;
      if (site.at_resource && (ctx.expression == "Resource" || ctx.expression == "DomainResource")) return true;
    }
  }
  if (!paths_needed) return false;
  const std::string_view datatype_path = site.definitionPath();
  if (!datatype_path.empty()) {
    for (const ExtensionContext& ctx : profile.contexts) {
      if (ctx.kind == Kind::kElement && equals(ctx, datatype_path)) return true;
    }
  }
  const std::string_view context_path = site.resourcePath();
  for (const ExtensionContext& ctx : profile.contexts) {
    if (ctx.kind == Kind::kElement && equals(ctx, context_path)) return true;
  }
  return false;
}

// ---- the walk ----

void ProfileChecker::conformTo(const Profile& profile, const JsonValue& value, std::string_view type_code) {
  // Profiles that name each other (a data-type profile whose element names the first again) must not recurse
  // without end.
  if (depth_ >= max_nesting_) {
    ++nesting_hits_;
    if (!nesting_reported_) {
      nesting_reported_ = true;
      report(Severity::kWarning, "too-costly",
             "profiles nest deeper than " + std::to_string(max_nesting_) + " here; " + profile.url +
                 " was not checked");
    }
    return;
  }
  ++depth_;
  deepest_ = std::max(deepest_, depth_);
  const Profile* previous = profile_;
  profile_ = &profile;
  Item item;
  item.value = &value;
  item.type_code = type_code;
  const ProfileElement& root = profile.root();
  if (root.relevant) {
    checkInvariants(root, item);
    checkChildren(root, item);
  }
  profile_ = previous;
  --depth_;
}

void ProfileChecker::checkChildren(const ProfileElement& element, const Item& item) {
  const JsonValue* object = item.value != nullptr && item.value->isObject() ? item.value : nullptr;
  const JsonValue* twin = item.twin != nullptr && item.twin->isObject() ? item.twin : nullptr;
  if (object == nullptr && twin == nullptr) return;
  // One buffer per nesting level (checkItems recurses into checkChildren), kept between calls: no allocation per
  // element once they have grown.
  if (items_depth_ == items_buffers_.size()) items_buffers_.push_back(std::make_unique<std::vector<Item>>());
  std::vector<Item>& items = *items_buffers_[items_depth_];
  ++items_depth_;
  const std::span<const ProfileElement* const> children = element.relevant_children;
  if (!element.member_slots.empty()) {
    // One pass over the members finds every non-choice relevant child's value and `_name` twin, the first of each
    // name as gather's scan takes it; the children are then checked in definition order, as below.
    const JsonValue* source = object != nullptr ? object : twin;
    std::array<std::pair<const JsonValue*, const JsonValue*>, ProfileElement::kMaxMemberSlotChildren> found;
    std::fill_n(found.begin(), children.size(), std::pair<const JsonValue*, const JsonValue*>(nullptr, nullptr));
    const std::span<const ProfileElement::MemberSlot> slots = element.member_slots;
    const size_t mask = slots.size() - 1;
    for (const JsonMember& m : source->members()) {
      std::string_view key = m.key;
      const bool is_twin = !key.empty() && key[0] == '_';
      if (is_twin) key.remove_prefix(1);
      if (key.empty()) continue;
      for (size_t h = ProfileElement::memberSlotHash(key) & mask;; h = (h + 1) & mask) {
        const ProfileElement::MemberSlot& slot = slots[h];
        if (slot.child == ProfileElement::MemberSlot::kNoChild) break;
        if (slot.name == key) {
          auto& [value, value_twin] = found[slot.child];
          if (is_twin) {
            if (value_twin == nullptr) value_twin = &m.value;
          } else if (value == nullptr) {
            value = &m.value;
          }
          break;
        }
      }
    }
    for (size_t k = 0; k < children.size(); ++k) {
      const ProfileElement& child = *children[k];
      items.clear();
      if (child.def->is_choice) {
        gather(child, object, twin, items);
      } else {
        addItems(found[k].first, found[k].second, child.def->name, element.child_codes[k], items);
      }
      checkItems(child, items);
    }
    --items_depth_;
    return;
  }
  for (const ProfileElement* child : children) {
    items.clear();
    gather(*child, object, twin, items);
    checkItems(*child, items);
  }
  --items_depth_;
}

// The items of one element: an array's entries (with the twin array's, by position), or the one value; an entry
// null in both arrays is left out.
void ProfileChecker::addItems(const JsonValue* value, const JsonValue* twin, std::string_view name,
                              std::string_view code, std::vector<Item>& items) {
  const JsonValue* v = value != nullptr ? value : twin;
  if (v == nullptr) return;
  if (v->isArray()) {
    auto values = value != nullptr && value->isArray() ? value->items() : std::span<const JsonValue>();
    auto twins = twin != nullptr && twin->isArray() ? twin->items() : std::span<const JsonValue>();
    size_t n = std::max(values.size(), twins.size());
    for (size_t i = 0; i < n; ++i) {
      Item item;
      item.value = i < values.size() && !values[i].isNull() ? &values[i] : nullptr;
      item.twin = i < twins.size() && !twins[i].isNull() ? &twins[i] : nullptr;
      item.index = static_cast<int32_t>(i);
      item.json_name = name;
      item.type_code = code;
      if (item.value != nullptr || item.twin != nullptr) items.push_back(item);
    }
  } else {
    Item item;
    item.value = value;
    item.twin = twin;
    item.json_name = name;
    item.type_code = code;
    items.push_back(item);
  }
}

// The values of `child` in the object: the plain name (and its `_name` twin), or for a choice element every
// "<name><Type>" member. A primitive's own children (id, extension) live in the twin.
void ProfileChecker::gather(const ProfileElement& child, const JsonValue* object, const JsonValue* twin_object,
                            std::vector<Item>& items) const {
  const ElementDef& def = *child.def;
  const JsonValue* source = object;
  if (source == nullptr || (twin_object != nullptr && (def.name == "extension" || def.name == "id") &&
                            object != nullptr && !object->isObject())) {
    source = twin_object;
  }
  if (source == nullptr) return;
  auto add = [&](const JsonValue* value, const JsonValue* twin, std::string_view name, std::string_view code) {
    addItems(value, twin, name, code, items);
  };
  auto twinOf = [&](std::string_view name) -> const JsonValue* {
    for (const JsonMember& m : source->members()) {
      if (m.key.size() == name.size() + 1 && m.key[0] == '_' && m.key.substr(1) == name) return &m.value;
    }
    return nullptr;
  };
  if (!def.is_choice) {
    // The value and its `_name` twin in one pass over the members (gather runs once per relevant child).
    const JsonValue* value = nullptr;
    const JsonValue* twin = nullptr;
    const std::string_view name = def.name;
    for (const JsonMember& m : source->members()) {
      std::string_view key = m.key;
      if (key.size() == name.size()) {
        if (value == nullptr && key == name) value = &m.value;
      } else if (key.size() == name.size() + 1 && key[0] == '_' && twin == nullptr && key.substr(1) == name) {
        twin = &m.value;
      }
    }
    std::string_view code;
    const ElementDef* typed = def.content_reference != nullptr ? def.content_reference : &def;
    if (typed->types.size() == 1) code = typed->types.front().code;
    if (code.empty() && child.core != nullptr && child.core->types.size() == 1) code = child.core->types.front().code;
    if (code.empty()) code = "BackboneElement";
    add(value, twin, def.name, code);
    return;
  }
  // Choice: the type comes from the JSON name, judged against every type the core element allows (the profile may
  // have narrowed them: checkType reports a type it does not allow).
  const std::vector<TypeRef>& all = child.core != nullptr ? child.core->types : def.types;
  for (const JsonMember& m : source->members()) {
    std::string_view key = m.key;
    if (key.starts_with('_')) continue;
    if (key.size() <= def.name.size() || !key.starts_with(def.name)) continue;
    std::string_view suffix = key.substr(def.name.size());
    for (const TypeRef& t : all) {
      if (t.code.size() == suffix.size() && upper(t.code[0]) == suffix[0] &&
          std::string_view(t.code).substr(1) == suffix.substr(1)) {
        add(&m.value, twinOf(key), key, t.code);
        break;
      }
    }
  }
  if (items.empty()) {
    // Only a `_valueX` twin.
    for (const JsonMember& m : source->members()) {
      std::string_view key = m.key;
      if (!key.starts_with('_') || key.size() <= def.name.size() + 1 || key.substr(1, def.name.size()) != def.name) {
        continue;
      }
      std::string_view suffix = key.substr(1 + def.name.size());
      for (const TypeRef& t : all) {
        if (t.code.size() == suffix.size() && upper(t.code[0]) == suffix[0] &&
            std::string_view(t.code).substr(1) == suffix.substr(1)) {
          add(nullptr, &m.value, key.substr(1), t.code);
          break;
        }
      }
    }
  }
}

void ProfileChecker::checkItems(const ProfileElement& element, std::vector<Item>& items) {
  const ElementDef& def = *element.def;
  const uint32_t n = static_cast<uint32_t>(items.size());
  auto shown = [&def] { return def.is_choice ? def.name + "[x]" : def.name; };
  if (n < def.min && def.min > element.core_min) {
    LocationGuard g(location_, def.name, -1);
    report(Severity::kError, kRequired,
           "'" + shown() + "': minimum required = " + std::to_string(def.min) + ", but only found " + std::to_string(n) +
               profileName());
  } else if (def.max != kUnbounded && n > def.max && def.max < element.core_max) {
    LocationGuard g(location_, def.name, -1);
    report(Severity::kError, kStructure,
           "'" + shown() + "': maximum allowed = " + std::to_string(def.max) + ", but found " + std::to_string(n) +
               profileName());
  }
  for (const Item& item : items) checkValue(element, item);
  if (!element.slices.empty() || (def.slicing && def.slicing->rules == "closed")) checkSlices(element, items);
}

void ProfileChecker::checkValue(const ProfileElement& element, const Item& item) {
  // A simple sub-extension (a slice of a complex extension): decided in one pass when it conforms.
  if (element.extension_plan != nullptr && item.value != nullptr && item.twin == nullptr &&
      extensionPlanHolds(*element.extension_plan, *item.value)) {
    return;
  }
  LocationGuard g(location_, item.json_name.empty() ? std::string_view(element.def->name) : item.json_name,
                  item.index);
  if (element.types_narrowed && !checkType(element, item)) return;
  if (element.fixed) {
    if (item.value == nullptr || !jsonEqual(*item.value, element.fixed->root())) {
      report(Severity::kError, kValue,
             "the value must be exactly " + shortJson(element.fixed->root()) +
                 (item.value != nullptr ? " (found " + shortJson(*item.value) + ")" : std::string(" (it is absent)")) +
                 profileName());
    }
  }
  if (element.pattern) {
    if (item.value == nullptr || !jsonContains(*item.value, element.pattern->root())) {
      report(Severity::kError, kValue,
             "the value must match the pattern " + shortJson(element.pattern->root()) + profileName());
    }
  }
  if (element.binding != nullptr) checkBinding(*element.binding, element.value_set, item);
  if (!element.invariants.empty()) checkInvariants(element, item);
  if (!element.relevant_children.empty()) checkChildren(element, item);
}

// ---- types ----

bool ProfileChecker::checkType(const ProfileElement& element, const Item& item) {
  const ElementDef& def = *element.def;
  std::string_view code = item.type_code;
  const TypeRef* matched = nullptr;
  const ModelInfo& model = profiles_.model();
  std::string_view resource_type;
  // With one type that the JSON name already matches, the resource type could only pick that same type: not looked up.
  const bool single_match = def.types.size() == 1 && def.types.front().code == code;
  if (!single_match && item.value != nullptr && item.value->isObject() &&
      (code == "Resource" || (!code.empty() && code[0] >= 'A' && code[0] <= 'Z'))) {
    resource_type = text(item.value->find("resourceType"));  // contained resources, Bundle.entry.resource
  }
  for (const TypeRef& t : def.types) {
    if (t.code == code) matched = &t;
    if (!resource_type.empty() && (t.code == resource_type || model.isA(resource_type, t.code))) matched = &t;
  }
  if (matched == nullptr) {
    std::string allowed;
    for (const TypeRef& t : def.types) {
      if (!allowed.empty()) allowed += ", ";
      allowed += t.code;
    }
    report(Severity::kError, kStructure,
           "the type " + std::string(resource_type.empty() ? code : resource_type) +
               " is not allowed here (allowed: " + allowed + ")" + profileName());
    return false;
  }
  if (!matched->target_profiles.empty() && item.value != nullptr && item.value->isObject() &&
      (code == "Reference" || code == "canonical")) {
    if (code == "Reference") {
      const size_t t = static_cast<size_t>(matched - def.types.data());
      checkTargetProfiles(*matched, element.target_profiles[t], element.target_cores[t], *item.value);
    }
  }
  if (!matched->profiles.empty() && item.value != nullptr) {
    checkTypeProfiles(element.type_profiles[static_cast<size_t>(matched - def.types.data())], item);
  }
  return true;
}

void ProfileChecker::checkTypeProfiles(std::span<const Profile* const> profiles, const Item& item) {
  // `profiles` holds the known ones only (resolved at load); no copy of it is made.
  for (const Profile* p : profiles) {
    // A known extension is checked by checkExtension wherever it occurs, with its context.
    if (p->isExtension() && item.value->isObject() && text(item.value->find("url")) == p->url) return;
  }
  if (profiles.empty()) return;  // unknown profiles (national, vendor): the type itself was checked
  if (profiles.size() == 1) {
    conformTo(*profiles.front(), *item.value, item.type_code);
    return;
  }
  for (const Profile* p : profiles) {
    if (conformsQuietly(*p, *item.value, item.type_code)) return;
  }
  std::string names;
  for (const Profile* p : profiles) names += (names.empty() ? "" : ", ") + p->url;
  report(Severity::kError, kStructure, "the value conforms to none of the profiles " + names + profileName());
}

void ProfileChecker::checkTargetProfiles(const TypeRef& type, std::span<const Profile* const> resolved,
                                         std::span<const ProfileElement::TargetCore> cores,
                                         const JsonValue& reference) {
  std::string_view ref = text(reference.find("reference"));
  const JsonValue* target = ref.empty() || resolver_ == nullptr || resource_ == nullptr
                                ? nullptr
                                : resolver_->resolve(ref, *resource_);
  std::string_view target_type = target != nullptr ? text(target->find("resourceType")) : referenceTargetType(ref);
  if (target_type.empty()) target_type = text(reference.find("type"));
  if (target_type.empty()) return;
  const ModelInfo& model = profiles_.model();
  // Known target profiles of the target's type are candidates, unless a core type or an unknown profile in the
  // list lets any resource of the type through. Counted here, gathered again below only when the target resolved
  // (no list is built per reference).
  size_t candidate_count = 0;
  const Profile* first_candidate = nullptr;
  bool type_allowed = false;
  // The target's type definition when it is a resource type, looked up once and only when a core URL needs it.
  const TypeDef* target_def = nullptr;
  bool target_looked_up = false;
  for (size_t i = 0; i < type.target_profiles.size(); ++i) {
    if (const Profile* p = resolved[i]; p != nullptr) {
      if (p->type == target_type) {
        type_allowed = true;
        if (candidate_count++ == 0) first_candidate = p;
      }
      continue;
    }
    const ProfileElement::TargetCore& core = cores[i];
    const std::string_view name = core.name;
    bool core_allows = name == target_type || name == "Resource";
    if (!core_allows) {
      if (!target_looked_up) {
        target_looked_up = true;
        if (model.isResourceType(target_type)) target_def = model.type(target_type);
      }
      // ModelInfo::isA(target_type, name), its type found once above.
      for (const TypeDef* t = target_def; t != nullptr && !core_allows; t = t->base_type) core_allows = t->name == name;
    }
    if (core_allows) {
      type_allowed = true;
      candidate_count = 0;
      break;  // the core type itself: any resource of the type will do
    }
    if (core.type == nullptr) {
      type_allowed = true;  // an unknown profile: its type cannot be judged
      candidate_count = 0;
      break;
    }
  }
  LocationGuard g(location_, "reference", -1);
  if (!type_allowed) {
    std::string allowed;
    for (const std::string& url : type.target_profiles) allowed += (allowed.empty() ? "" : ", ") + url;
    report(Severity::kError, kStructure,
           "a reference to a " + std::string(target_type) + " is not allowed here (target profiles: " + allowed + ")" +
               profileName());
    return;
  }
  if (target == nullptr || candidate_count == 0) return;
  for (const Profile* p : resolved) {
    if (p != nullptr && p->type == target_type && conformsQuietly(*p, *target, target_type)) return;
  }
  report(Severity::kError, kStructure,
         "the referenced " + std::string(target_type) + " does not conform to the target profile " +
             first_candidate->url + profileName());
}

// ---- bindings ----

void ProfileChecker::checkBinding(const Binding& binding, const ValueSetCodes* vs, const Item& item) {
  if (item.value == nullptr) return;
  if (vs == nullptr || vs->codes.empty()) return;  // not expandable here (a terminology server's job)
  Severity severity = binding.strength == BindingStrength::kRequired ? Severity::kError : Severity::kWarning;
  // A code missing from an incomplete expansion is unknown, not wrong.
  if (!vs->complete) return;
  std::string_view code = item.type_code;
  auto codingIn = [&](const JsonValue& coding) -> int {
    std::string_view system = text(coding.find("system"));
    std::string_view c = text(coding.find("code"));
    if (c.empty()) return 0;
    if (system.empty()) return vs->containsCode(c) ? 1 : -1;
    return vs->contains(system, c) ? 1 : -1;
  };
  if (item.value->isString() && (code == "code" || code == "string" || code == "uri")) {
    if (!vs->containsCode(item.value->text())) {
      report(severity, kCodeInvalid,
             "the value '" + std::string(item.value->text()) + "' is not in the value set " + binding.value_set +
                 profileName());
    }
  } else if (code == "Coding" && item.value->isObject()) {
    if (codingIn(*item.value) < 0) {
      report(severity, kCodeInvalid, "the Coding is not in the value set " + binding.value_set + profileName());
    }
  } else if (code == "CodeableConcept" && item.value->isObject()) {
    const JsonValue* codings = item.value->find("coding");
    bool judged = false;
    if (codings != nullptr) {
      for (const JsonValue& coding : codings->items()) {
        int r = codingIn(coding);
        if (r > 0) return;
        if (r < 0) judged = true;
      }
    }
    // Extensible: text alone, or codes from elsewhere, are allowed with a warning only.
    if (judged || (binding.strength == BindingStrength::kRequired && codings == nullptr)) {
      report(severity, kCodeInvalid,
             "none of the codings are in the value set " + binding.value_set + profileName());
    }
  }
}

// ---- invariants ----

void ProfileChecker::checkInvariants(const ProfileElement& element, const Item& item) {
  if (resource_ == nullptr) return;
  fhirpath::Node node;
  node.json = item.value;
  node.extension = item.twin;
  node.type = item.type_code;
  node.element = element.def;
  node.name = item.json_name;
  for (const ProfileElement::Invariant& inv : element.invariants) {
    if (inv.simple && item.value != nullptr && item.value->isObject()) {
      if (inv.simple->evaluate(*item.value) == false) {
        report(inv.constraint->severity, kInvariant, inv.constraint->key + ": " + inv.constraint->human + profileName());
      }
      continue;
    }
    if (!inv.expression) continue;
    Result<bool> r = fhirpath::evaluateBoolean(*inv.expression, node, *resource_, env_, /*empty_is=*/true);
    if (!r.isOk()) {
      report(Severity::kWarning, kInvariant,
             "could not evaluate " + inv.constraint->key + " (" + inv.constraint->expression +
                 "): " + r.status().message());
    } else if (!r.value()) {
      report(inv.constraint->severity, kInvariant, inv.constraint->key + ": " + inv.constraint->human + profileName());
    }
  }
}

// ---- slicing ----

void ProfileChecker::checkSlices(const ProfileElement& element, std::vector<Item>& items) {
  const ElementDef& def = *element.def;
  const std::string_view rules = def.slicing ? std::string_view(def.slicing->rules) : std::string_view("open");
  const bool ordered = def.slicing && def.slicing->ordered;
  // The slice of each item; on the stack for the usual few items.
  std::array<int, 16> assigned_inline;
  std::vector<int> assigned_heap;
  std::span<int> assigned;
  if (items.size() <= assigned_inline.size()) {
    assigned = std::span<int>(assigned_inline.data(), items.size());
  } else {
    assigned_heap.resize(items.size());
    assigned = assigned_heap;
  }
  std::fill(assigned.begin(), assigned.end(), -1);
  // Bit i: item i was assigned by its url (below), which an only_its_extension_definition slice needs.
  uint64_t by_url = 0;
  for (size_t i = 0; i < items.size(); ++i) {
    if (element.slices_by_url) {
      // Extension slices by url: one lookup decides what trying every slice would (profile_set.cc, sliceUrl).
      const JsonValue* value = items[i].value;
      const JsonValue* url = value != nullptr && value->isObject() ? value->find("url") : nullptr;
      if (url == nullptr) continue;
      if (url->isString()) {
        if (auto it = element.slice_by_url.find(url->text()); it != element.slice_by_url.end()) {
          assigned[i] = static_cast<int>(it->second);
          if (i < 64) by_url |= uint64_t{1} << i;
        }
        continue;
      }
    }
    for (size_t s = 0; s < element.slices.size(); ++s) {
      if (matchesSlice(element, *element.slices[s], items[i])) {
        assigned[i] = static_cast<int>(s);
        break;
      }
    }
  }
  for (size_t s = 0; s < element.slices.size(); ++s) {
    const ProfileElement& slice = *element.slices[s];
    uint32_t count = static_cast<uint32_t>(std::count(assigned.begin(), assigned.end(), static_cast<int>(s)));
    if (count < slice.def->min || (slice.def->max != kUnbounded && count > slice.def->max)) {
      LocationGuard g(location_, def.name, -1);
      report(Severity::kError, count < slice.def->min ? kRequired : kStructure,
             "slice '" + slice.def->slice_name + "' of '" + def.name + "': " +
                 (count < slice.def->min ? "minimum required = " + std::to_string(slice.def->min)
                                         : "maximum allowed = " + std::to_string(slice.def->max)) +
                 ", but found " + std::to_string(count) + profileName());
    }
  }
  bool seen_unsliced = false;
  int last_slice = -1;
  for (size_t i = 0; i < items.size(); ++i) {
    const Item& item = items[i];
    if (assigned[i] < 0) {
      if (rules == "closed") {
        LocationGuard g(location_, item.json_name, item.index);
        report(Severity::kError, kStructure,
               "this element matches none of the slices of '" + def.name + "', and the slicing is closed" +
                   profileName());
      }
      seen_unsliced = true;
      continue;
    }
    if (rules == "openAtEnd" && seen_unsliced) {
      LocationGuard g(location_, item.json_name, item.index);
      report(Severity::kError, kStructure,
             "slice '" + element.slices[static_cast<size_t>(assigned[i])]->def->slice_name +
                 "' follows an element that is in no slice, but the slicing of '" + def.name +
                 "' is open at the end only" + profileName());
    }
    if (ordered && assigned[i] < last_slice) {
      LocationGuard g(location_, item.json_name, item.index);
      report(Severity::kError, kStructure,
             "slice '" + element.slices[static_cast<size_t>(assigned[i])]->def->slice_name +
                 "' is out of order: the slicing of '" + def.name + "' is ordered" + profileName());
    }
    last_slice = std::max(last_slice, assigned[i]);
    const ProfileElement& slice = *element.slices[static_cast<size_t>(assigned[i])];
    // An extension of the slice's own url, held to nothing but its definition: checkValue would report nothing.
    if (slice.only_its_extension_definition && i < 64 && (by_url >> i & 1) != 0 && item.twin == nullptr &&
        item.type_code == "Extension") {
      continue;
    }
    checkValue(slice, item);
  }
}

bool ProfileChecker::reportsNothing(const ProfileElement& element, const Item& item) {
  OperationOutcome scratch;
  OperationOutcome* saved = out_;
  out_ = &scratch;
  // The nesting warning is given once per validation: one given into the scratch outcome must be given again by
  // the full walk that follows.
  const bool nesting_reported = nesting_reported_;
  checkValue(element, item);
  out_ = saved;
  if (!scratch.issues().empty()) {
    nesting_reported_ = nesting_reported;
    return false;
  }
  return true;
}

bool ProfileChecker::conformsQuietly(const ProfileElement& element, const Item& item) {
  OperationOutcome scratch;
  OperationOutcome* saved = out_;
  out_ = &scratch;
  Item plain = item;
  plain.index = -1;
  checkValue(element, plain);
  out_ = saved;
  for (const Issue& issue : scratch.issues()) {
    if (issue.severity == Severity::kError || issue.severity == Severity::kFatal) return false;
  }
  return true;
}

bool ProfileChecker::conformsQuietly(const Profile& profile, const JsonValue& value, std::string_view type_code) {
  // A resource's answer depends on the resource, the profile and the nesting headroom alone (the resource is its
  // own context for references), so it is kept; a data type's depends on the resource around it and is not.
  const bool is_resource = value.isObject() && value.find("resourceType") != nullptr;
  const auto key = std::make_pair(&profile, &value);
  if (is_resource) {
    if (auto it = conformance_.find(key); it != conformance_.end() && it->second.type_code == type_code &&
                                          depth_ + it->second.nesting_needed <= max_nesting_) {
      return it->second.conforms;
    }
  }
  OperationOutcome scratch;
  OperationOutcome* saved = out_;
  out_ = &scratch;
  const JsonValue* saved_resource = resource_;
  if (is_resource) resource_ = &value;
  const bool conforms = conformAndRemember(profile, value, type_code, is_resource);
  resource_ = saved_resource;
  out_ = saved;
  return conforms;
}

bool ProfileChecker::conformAndRemember(const Profile& profile, const JsonValue& value, std::string_view type_code,
                                        bool remember) {
  const size_t first_issue = out_->issues().size();
  const uint64_t hits_before = nesting_hits_;
  const uint32_t deepest_before = deepest_;
  deepest_ = depth_;
  conformTo(profile, value, type_code);
  const uint32_t nesting_needed = deepest_ - depth_;
  deepest_ = std::max(deepest_, deepest_before);
  bool conforms = true;
  for (size_t i = first_issue; i < out_->issues().size(); ++i) {
    const Severity severity = out_->issues()[i].severity;
    if (severity == Severity::kError || severity == Severity::kFatal) {
      conforms = false;
      break;
    }
  }
  if (remember && nesting_hits_ == hits_before) {
    conformance_[std::make_pair(&profile, &value)] = Conformance{type_code, nesting_needed, conforms};
  }
  return conforms;
}

bool ProfileChecker::matchesSlice(const ProfileElement& sliced, const ProfileElement& slice, const Item& item) {
  const ElementDef& def = *sliced.def;
  if (!def.slicing || def.slicing->discriminators.empty()) return conformsQuietly(slice, item);
  const auto& discriminators = def.slicing->discriminators;
  if (slice_depth_ == slice_buffers_.size()) slice_buffers_.push_back(std::make_unique<SlicePathBuffers>());
  SlicePathBuffers& buffers = *slice_buffers_[slice_depth_];
  struct DepthGuard {
    size_t& depth;
    explicit DepthGuard(size_t& d) : depth(d) { ++depth; }
    ~DepthGuard() { --depth; }
  } depth_guard(slice_depth_);
  for (size_t k = 0; k < discriminators.size(); ++k) {
    const Slicing::Discriminator& d = discriminators[k];
    SliceTarget where;
    if (k < slice.discriminator_targets.size()) {
      const ProfileElement::DiscriminatorTarget& t = slice.discriminator_targets[k];
      where.element = t.element;
      if (t.has_extension_url) where.extension_url = t.extension_url;
      where.through_resolve = t.through_resolve;
    } else {
      where = sliceElementAt(slice, d.path);
    }
    evaluateSlicePath(item.value, item.type_code, d.path, profiles_.model(), resolver_, resource_, buffers);
    const std::vector<PathValue>& values = buffers.values;
    if (d.type == "exists") {
      if (where.element == nullptr) return false;
      bool must = where.element->def->min > 0;
      bool must_not = where.element->def->max == 0;
      if (must && values.empty()) return false;
      if (must_not && !values.empty()) return false;
      if (!must && !must_not) return false;
      continue;
    }
    if (d.type == "value" || d.type == "pattern") {
      std::optional<std::string_view> expected_url = where.extension_url;
      const JsonValue* fixed = nullptr;
      const JsonValue* pattern = nullptr;
      if (where.element != nullptr) {
        if (where.element->fixed) fixed = &where.element->fixed->root();
        if (where.element->pattern) pattern = &where.element->pattern->root();
      }
      // Extension slices: the url is fixed by the extension's definition, named as the slice's type profile.
      if (fixed == nullptr && pattern == nullptr && d.path == "url") {
        for (const TypeRef& t : slice.def->types) {
          if (!t.profiles.empty()) expected_url = t.profiles.front();
        }
      }
      if (where.element == nullptr && !expected_url) return false;
      if (fixed == nullptr && pattern == nullptr && expected_url) {
        bool any = false;
        for (const PathValue& v : values) any = any || (v.json->isString() && v.json->text() == *expected_url);
        if (!any) return false;
        continue;
      }
      if (fixed == nullptr && pattern == nullptr) {
        const Binding* binding = where.element != nullptr && where.element->def->binding
                                     ? &*where.element->def->binding
                                     : nullptr;
        const ValueSetCodes* vs = binding != nullptr ? profiles_.valueSet(binding->value_set) : nullptr;
        if (vs == nullptr || vs->codes.empty()) return false;
        bool any = false;
        for (const PathValue& v : values) {
          if (v.json->isString()) any = any || vs->containsCode(v.json->text());
          if (v.json->isObject()) {
            if (const JsonValue* codings = v.json->find("coding"); codings != nullptr) {
              for (const JsonValue& c : codings->items()) {
                any = any || vs->contains(text(c.find("system")), text(c.find("code")));
              }
            } else {
              any = any || vs->contains(text(v.json->find("system")), text(v.json->find("code")));
            }
          }
        }
        if (!any) return false;
        continue;
      }
      bool any = false;
      for (const PathValue& v : values) {
        if (fixed != nullptr && jsonEqual(*v.json, *fixed)) any = true;
        if (pattern != nullptr && jsonContains(*v.json, *pattern)) any = true;
      }
      if (!any) return false;
      continue;
    }
    if (d.type == "type") {
      if (where.element == nullptr || values.empty()) return false;
      bool any = false;
      for (const PathValue& v : values) {
        for (const TypeRef& t : where.element->def->types) {
          any = any || t.code == v.type || profiles_.model().isA(v.type, t.code);
        }
      }
      if (!any) return false;
      continue;
    }
    if (d.type == "profile") {
      if (where.element == nullptr || values.empty()) return false;
      std::vector<const Profile*> wanted;
      for (const TypeRef& t : where.element->def->types) {
        const std::vector<std::string>& urls = where.through_resolve ? t.target_profiles : t.profiles;
        for (const std::string& url : urls) {
          if (const Profile* p = profiles_.find(url)) wanted.push_back(p);
        }
      }
      if (wanted.empty()) return false;
      bool any = false;
      for (const PathValue& v : values) {
        for (const Profile* p : wanted) any = any || conformsQuietly(*p, *v.json, v.type);
      }
      if (!any) return false;
      continue;
    }
    return false;  // an unknown discriminator type
  }
  return true;
}

}  // namespace planbro::fhir::validation
