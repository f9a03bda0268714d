// The evaluator core: navigation over the JSON tree typed by ModelInfo, operators, and the public entry points.
// Collections flow through `Collection& out` parameters so a path step appends into one vector instead of building
// temporaries; single items are passed on as spans over existing storage.
#include "evaluator.h"

#include <atomic>
#include <chrono>
#include <cmath>

#include "functions.h"
#include "item_set.h"

namespace planbro::fhir::fhirpath {
namespace {

constexpr std::string_view kSystemPrefix = "http://hl7.org/fhirpath/System.";

enum class Prim : uint8_t { kNone, kBoolean, kInteger, kDecimal, kString, kDate, kDateTime, kTime };

Prim primitiveOf(std::string_view type) {
  if (type.substr(0, kSystemPrefix.size()) == kSystemPrefix) type.remove_prefix(kSystemPrefix.size());
  switch (type.empty() ? 0 : type[0]) {
    case 'b':
      if (type == "boolean") return Prim::kBoolean;
      if (type == "base64Binary") return Prim::kString;
      break;
    case 'B':
      if (type == "Boolean") return Prim::kBoolean;
      break;
    case 'i':
      if (type == "integer") return Prim::kInteger;
      if (type == "instant") return Prim::kDateTime;
      if (type == "id") return Prim::kString;
      break;
    case 'I':
      if (type == "Integer") return Prim::kInteger;
      break;
    case 'p':
      if (type == "positiveInt") return Prim::kInteger;
      break;
    case 'u':
      if (type == "unsignedInt") return Prim::kInteger;
      if (type == "uri" || type == "url" || type == "uuid") return Prim::kString;
      break;
    case 'd':
      if (type == "decimal") return Prim::kDecimal;
      if (type == "date") return Prim::kDate;
      if (type == "dateTime") return Prim::kDateTime;
      break;
    case 'D':
      if (type == "Decimal") return Prim::kDecimal;
      if (type == "Date") return Prim::kDate;
      if (type == "DateTime") return Prim::kDateTime;
      break;
    case 't':
      if (type == "time") return Prim::kTime;
      break;
    case 'T':
      if (type == "Time") return Prim::kTime;
      break;
    case 's':
      if (type == "string") return Prim::kString;
      break;
    case 'S':
      if (type == "String") return Prim::kString;
      break;
    case 'c':
      if (type == "code" || type == "canonical") return Prim::kString;
      break;
    case 'o':
      if (type == "oid") return Prim::kString;
      break;
    case 'm':
      if (type == "markdown") return Prim::kString;
      break;
    case 'x':
      if (type == "xhtml") return Prim::kString;
      break;
    default:
      break;
  }
  return Prim::kNone;
}

bool isQuantityType(std::string_view t) {
  return t == "Quantity" || t == "Age" || t == "Duration" || t == "Distance" || t == "Count" ||
         t == "SimpleQuantity" || t == "MoneyQuantity";
}

std::string_view resourceTypeOf(const JsonValue& json) {
  const JsonValue* rt = json.find("resourceType");
  return rt && rt->isString() ? rt->text() : std::string_view();
}

// The type a JSON value has when the model cannot tell (unknown element): inferred from its JSON kind.
std::string_view inferredType(const JsonValue* json) {
  if (!json) return {};
  switch (json->kind()) {
    case JsonKind::kTrue:
    case JsonKind::kFalse: return "boolean";
    case JsonKind::kNumber: return json->text().find_first_of(".eE") == std::string_view::npos ? "integer" : "decimal";
    case JsonKind::kString: return "string";
    case JsonKind::kObject: {
      std::string_view rt = resourceTypeOf(*json);
      return rt;
    }
    default: return {};
  }
}

std::span<const ElementDef* const> childDefs(const Node& n, const ModelInfo& model) {
  if (n.element) return model.childrenOf(*n.element, n.type);
  if (n.type.empty()) return {};
  const TypeDef* t = model.type(n.type);
  if (!t || t->elements.empty()) return {};
  return t->rootChildren();
}

// Appends nodes for a JSON member (value, optional `_` twin), flattening arrays and aligning twins by index.
void appendMember(const JsonValue* value, const JsonValue* twin, const ElementDef* def, std::string_view type,
                  std::string_view name, Collection& out) {
  auto typeFor = [&](const JsonValue* v) -> std::string_view {
    if (type.empty() || type == "Resource" || type == "DomainResource") {
      std::string_view inferred = inferredType(v);
      return inferred.empty() ? type : inferred;
    }
    if (type.substr(0, kSystemPrefix.size()) == kSystemPrefix) return primitiveOf(type) == Prim::kString ? "string" : type;
    return type;
  };
  const ElementDef* el = def && def->content_reference ? def->content_reference : def;
  if ((value && value->isArray()) || (twin && twin->isArray())) {
    size_t n = std::max(value && value->isArray() ? value->items().size() : 0,
                        twin && twin->isArray() ? twin->items().size() : 0);
    for (size_t i = 0; i < n; ++i) {
      const JsonValue* v = value && value->isArray() && i < value->items().size() ? &value->items()[i] : nullptr;
      const JsonValue* t = twin && twin->isArray() && i < twin->items().size() ? &twin->items()[i] : nullptr;
      if (v && v->isNull()) v = nullptr;
      if (t && t->isNull()) t = nullptr;
      if (!v && !t) continue;
      out.push_back(makeNode(v, t, typeFor(v), el, name));
    }
    return;
  }
  if (value && value->isNull()) value = nullptr;
  if (!value && !twin) return;
  out.push_back(makeNode(value, twin, typeFor(value), el, name));
}

}  // namespace

Value makeNode(const JsonValue* json, const JsonValue* ext, std::string_view type, const ElementDef* element,
               std::string_view name) {
  Node n;
  n.json = json;
  n.extension = ext;
  n.type = type;
  n.element = element;
  n.name = name;
  return Value::node(n);
}

Node resourceNode(const JsonValue& resource) {
  Node n;
  n.json = &resource;
  n.type = resourceTypeOf(resource);
  return n;
}

Status navigate(const Value& v, std::string_view name, Context& ctx, Collection& out, bool* known) {
  if (!v.isNode()) return Status::ok();
  const Node& n = v.asNode();
  if (n.type.substr(0, 9) == "TypeInfo:") {
    if (known) *known = true;
    if (name == "namespace") out.push_back(Value::string(std::string(n.type.substr(9))));
    else if (name == "name") out.push_back(Value::string(std::string(n.name)));
    return Status::ok();
  }
  // Primitives carry id/extension in their `_` twin object.
  const JsonValue* obj = n.json && n.json->isObject() ? n.json : (n.extension && n.extension->isObject() ? n.extension : nullptr);
  if (!obj) return Status::ok();
  auto defs = childDefs(n, ctx.model);
  const ElementDef* def = nullptr;
  for (const ElementDef* d : defs) {
    if (d->name == name) {
      def = d;
      break;
    }
  }
  if (def && known) *known = true;
  if (def && !def->is_choice) {
    const JsonValue* value = nullptr;
    const JsonValue* twin = nullptr;
    for (const JsonMember& m : obj->members()) {
      if (m.key == name) value = &m.value;
      else if (m.key.size() == name.size() + 1 && m.key[0] == '_' && m.key.substr(1) == name) twin = &m.value;
    }
    std::string_view type = def->types.size() == 1 ? std::string_view(def->types[0].code) : std::string_view();
    if (name == "id" && type == "string" && ctx.model.isResourceType(n.type)) type = "id";  // Resource.id is an id, Element.id a string
    if (def->content_reference) type = def->content_reference->types.size() == 1
                                           ? std::string_view(def->content_reference->types[0].code)
                                           : std::string_view();
    appendMember(value, twin, def, type, name, out);
    return Status::ok();
  }
  if (def) {
    // Choice element: valueQuantity, valueString, ... and their `_` twins.
    for (const JsonMember& m : obj->members()) {
      std::string_view key = m.key;
      if (!key.empty() && key[0] == '_') continue;
      if (key.size() <= name.size() || key.substr(0, name.size()) != name) continue;
      auto match = ctx.model.matchChild(defs, key);
      if (!match || match->element != def) continue;
      const JsonValue* twin = nullptr;
      for (const JsonMember& t : obj->members()) {
        if (t.key.size() == key.size() + 1 && t.key[0] == '_' && t.key.substr(1) == key) twin = &t.value;
      }
      appendMember(&m.value, twin, def, match->type_code, key, out);
    }
    for (const JsonMember& m : obj->members()) {
      // A primitive choice present only as its twin (e.g. only "_valueString").
      std::string_view key = m.key;
      if (key.empty() || key[0] != '_' || key.size() <= name.size() + 1 || key.substr(1, name.size()) != name) continue;
      if (obj->find(key.substr(1))) continue;
      auto match = ctx.model.matchChild(defs, key.substr(1));
      if (!match || match->element != def) continue;
      appendMember(nullptr, &m.value, def, match->type_code, key.substr(1), out);
    }
    return Status::ok();
  }
  // Not in the model: the exact JSON name (lenient: valueQuantity, or elements of unknown types).
  const JsonValue* value = nullptr;
  const JsonValue* twin = nullptr;
  for (const JsonMember& m : obj->members()) {
    if (m.key == name) value = &m.value;
    else if (m.key.size() == name.size() + 1 && m.key[0] == '_' && m.key.substr(1) == name) twin = &m.value;
  }
  if (!value && !twin) {
    if (known && defs.empty()) *known = true;  // nothing to check against
    return Status::ok();
  }
  if (known) *known = true;
  if (!defs.empty()) {
    auto match = ctx.model.matchChild(defs, name);
    if (match) {
      if (ctx.env.strict && match->element->is_choice) {
        return invalidArgument("FHIRPath: use '" + match->element->name + "' rather than '" + std::string(name) + "'");
      }
      appendMember(value, twin, match->element, match->type_code, name, out);
      return Status::ok();
    }
  }
  appendMember(value, twin, nullptr, {}, name, out);
  return Status::ok();
}

void childrenOf(const Value& v, const ModelInfo& model, Collection& out) {
  if (!v.isNode()) return;
  const Node& n = v.asNode();
  const JsonValue* obj = n.json && n.json->isObject() ? n.json : (n.extension && n.extension->isObject() ? n.extension : nullptr);
  if (!obj) return;
  auto defs = childDefs(n, model);
  bool has_twins = false;  // most objects have no `_name` members: skip the pairing scan then
  for (const JsonMember& m : obj->members()) has_twins = has_twins || (!m.key.empty() && m.key[0] == '_');
  for (const JsonMember& m : obj->members()) {
    std::string_view key = m.key;
    if (key.empty() || key == "resourceType" || key == "fhir_comments") continue;
    const JsonValue* value = nullptr;
    const JsonValue* twin = nullptr;
    if (key[0] == '_') {
      if (obj->find(key.substr(1))) continue;  // handled with its value
      key = key.substr(1);
      twin = &m.value;
    } else {
      value = &m.value;
      for (const JsonMember& t : has_twins ? obj->members() : std::span<const JsonMember>()) {
        if (t.key.size() == key.size() + 1 && t.key[0] == '_' && t.key.substr(1) == key) twin = &t.value;
      }
    }
    auto match = defs.empty() ? std::nullopt : model.matchChild(defs, key);
    if (match) {
      std::string_view type = match->type_code;
      const ElementDef* el = match->element;
      if (type.empty()) {
        const ElementDef* src = el->content_reference ? el->content_reference : el;
        if (src->types.size() == 1) type = src->types[0].code;
      }
      appendMember(value, twin, el, type, key, out);
    } else {
      appendMember(value, twin, nullptr, {}, key, out);
    }
  }
}

std::optional<Value> Value::toSystem() const {
  if (kind_ != ValueKind::kNode) return *this;
  const Node& n = node_;
  if (isQuantityType(n.type) && n.json && n.json->isObject()) {
    const JsonValue* val = n.json->find("value");
    if (!val || !val->isNumber()) return std::nullopt;
    auto d = Decimal::parse(val->text());
    if (!d) return std::nullopt;
    Quantity q{*d, "1"};
    const JsonValue* code = n.json->find("code");
    const JsonValue* unit = n.json->find("unit");
    const JsonValue* system = n.json->find("system");
    bool ucum = system && system->isString() && system->text() == "http://unitsofmeasure.org";
    if (code && code->isString() && (ucum || !system)) q.unit = std::string(code->text());
    else if (unit && unit->isString()) q.unit = std::string(unit->text());
    // Calendar durations written as UCUM in data compare as their keywords.
    return Value::quantity(std::move(q));
  }
  if (!n.json || !n.json->isPrimitive() || n.json->isNull()) return std::nullopt;
  Prim p = primitiveOf(n.type);
  if (p == Prim::kNone) {
    if (n.json->isBool()) p = Prim::kBoolean;
    else if (n.json->isString()) p = Prim::kString;
    else if (n.json->isNumber()) p = n.json->text().find('.') == std::string_view::npos ? Prim::kInteger : Prim::kDecimal;
    else return std::nullopt;
  }
  std::string_view text = n.json->text();
  switch (p) {
    case Prim::kBoolean:
      if (!n.json->isBool()) return std::nullopt;
      return Value::boolean(n.json->boolean());
    case Prim::kInteger: {
      auto d = Decimal::parse(text);
      if (!d || !decimalIsInteger(*d)) return std::nullopt;
      auto i = decimalToInt64(*d);
      if (!i) return std::nullopt;
      return Value::integer(*i);
    }
    case Prim::kDecimal: {
      auto d = Decimal::parse(text);
      if (!d) {
        // Exponent notation is legal JSON for decimals.
        char* end = nullptr;
        std::string s(text);
        double v = std::strtod(s.c_str(), &end);
        if (end != s.c_str() + s.size()) return std::nullopt;
        d = decimalFromDouble(v);
        if (!d) return std::nullopt;
      }
      return Value::decimal(*d);
    }
    case Prim::kString:
      if (n.json->isBool()) return Value::string(n.json->boolean() ? "true" : "false");
      return Value::string(std::string(text));
    case Prim::kDate: {
      auto d = parseDate(text);
      if (!d) return std::nullopt;
      return Value::date(*d);
    }
    case Prim::kDateTime: {
      auto d = parseDateTime(text);
      if (!d) return std::nullopt;
      return Value::dateTime(*d);
    }
    case Prim::kTime: {
      auto d = parseTime(text);
      if (!d) return std::nullopt;
      return Value::time(*d);
    }
    case Prim::kNone: break;
  }
  return std::nullopt;
}

std::string Value::typeName() const {
  switch (kind_) {
    case ValueKind::kNode: return std::string(node_.type);
    case ValueKind::kBoolean: return "System.Boolean";
    case ValueKind::kInteger: return "System.Integer";
    case ValueKind::kDecimal: return "System.Decimal";
    case ValueKind::kString: return "System.String";
    case ValueKind::kDate: return "System.Date";
    case ValueKind::kDateTime: return "System.DateTime";
    case ValueKind::kTime: return "System.Time";
    case ValueKind::kQuantity: return "System.Quantity";
  }
  return {};
}

std::optional<Value> systemOf(const Value& v) { return v.toSystem(); }

bool isStringLike(const Value& v) {
  if (v.kind() == ValueKind::kString) return true;
  return v.isNode() && primitiveOf(v.asNode().type) == Prim::kString;
}

std::optional<std::string_view> stringOf(const Value& v) {
  if (v.kind() == ValueKind::kString) return std::string_view(v.asString());
  if (v.isNode() && v.asNode().json && v.asNode().json->isString()) {
    Prim p = primitiveOf(v.asNode().type);
    if (p == Prim::kString || (p == Prim::kNone && v.asNode().element == nullptr)) return v.asNode().json->text();
  }
  return std::nullopt;
}

Status singleton(Items items, const char* what, std::optional<Value>& out) {
  out.reset();
  if (items.empty()) return Status::ok();
  if (items.size() > 1) return invalidArgument(std::string("FHIRPath: ") + what + " expects a single item, got " +
                                               std::to_string(items.size()));
  out = items[0];
  return Status::ok();
}

namespace {

bool derivesFrom(std::string_view type, std::string_view target, const ModelInfo& model) {
  for (int guard = 0; guard < 16 && !type.empty(); ++guard) {
    if (type == target) return true;
    const TypeDef* t = model.type(type);
    if (!t) return false;
    if (t->base_type) type = t->base_type->name;
    else type = t->base;
    // "http://hl7.org/fhir/StructureDefinition/DomainResource" style bases.
    size_t slash = type.rfind('/');
    if (slash != std::string_view::npos) type = type.substr(slash + 1);
  }
  return false;
}

ValueKind systemKindOfName(std::string_view name, bool* ok) {
  *ok = true;
  if (name == "Boolean") return ValueKind::kBoolean;
  if (name == "Integer") return ValueKind::kInteger;
  if (name == "Decimal") return ValueKind::kDecimal;
  if (name == "String") return ValueKind::kString;
  if (name == "Date") return ValueKind::kDate;
  if (name == "DateTime") return ValueKind::kDateTime;
  if (name == "Time") return ValueKind::kTime;
  if (name == "Quantity") return ValueKind::kQuantity;
  *ok = false;
  return ValueKind::kNode;
}

}  // namespace

bool typeMatches(const Value& v, const TypeSpec& spec, const ModelInfo& model, bool exact_primitives) {
  if (v.isNode()) {
    if (spec.ns == "System") return false;
    // as()/ofType() take primitives by their exact type (a code is not cast to string); `is` follows derivation.
    if (exact_primitives && model.isPrimitiveType(v.asNode().type)) return v.asNode().type == spec.name;
    return derivesFrom(v.asNode().type, spec.name, model);
  }
  if (spec.ns == "FHIR") return false;
  bool ok = false;
  ValueKind k = systemKindOfName(spec.name, &ok);
  return ok && k == v.kind();
}

bool isKnownType(const TypeSpec& spec, const ModelInfo& model) {
  bool ok = false;
  if (spec.ns != "FHIR") systemKindOfName(spec.name, &ok);
  if (!ok && spec.ns != "System") ok = model.type(spec.name) != nullptr;
  // System.X for an X System does not have is simply no match, not an error.
  return ok || spec.ns == "System";
}

// -------------------------------------------------------------------------------------------- equality

namespace {

std::string normalizeWhitespace(std::string_view s) {
  std::string out;
  bool space = false;
  for (char c : s) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      space = true;
      continue;
    }
    if (space && !out.empty()) out += ' ';
    space = false;
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

bool isNumeric(ValueKind k) { return k == ValueKind::kInteger || k == ValueKind::kDecimal; }
Decimal numericOf(const Value& v) {
  return v.kind() == ValueKind::kInteger ? Decimal::fromInt(v.asInteger()) : v.asDecimal();
}
bool isDateKind(ValueKind k) { return k == ValueKind::kDate || k == ValueKind::kDateTime; }

}  // namespace

std::optional<bool> itemsEqual(const Value& a0, const Value& b0) {
  // Fast paths without materialising system values: the same tree node, or two strings.
  if (a0.isNode() && b0.isNode() && a0.asNode().json && a0.asNode().json == b0.asNode().json) return true;
  if (auto sa = stringOf(a0)) {
    if (auto sb = stringOf(b0)) return *sa == *sb;
  }
  auto a = a0.toSystem(), b = b0.toSystem();
  if (!a || !b) {
    if (a0.isNode() && b0.isNode() && a0.asNode().json && b0.asNode().json) {
      return jsonEqual(*a0.asNode().json, *b0.asNode().json);
    }
    return false;
  }
  ValueKind ka = a->kind(), kb = b->kind();
  if (isNumeric(ka) && isNumeric(kb)) return compare(numericOf(*a), numericOf(*b)) == 0;
  if (isDateKind(ka) && isDateKind(kb)) {
    auto c = compareDateTimes(a->asDateTime(), b->asDateTime(), false);
    if (!c) return std::nullopt;
    return *c == 0;
  }
  if (ka != kb) return false;
  switch (ka) {
    case ValueKind::kBoolean: return a->asBoolean() == b->asBoolean();
    case ValueKind::kString: return a->asString() == b->asString();
    case ValueKind::kTime: {
      auto c = compareDateTimes(a->asDateTime(), b->asDateTime(), true);
      if (!c) return std::nullopt;
      return *c == 0;
    }
    case ValueKind::kQuantity: {
      auto c = compareQuantities(a->asQuantity(), b->asQuantity());
      if (!c) return std::nullopt;
      return *c == 0;
    }
    default: return false;
  }
}

bool itemsEquivalent(const Value& a0, const Value& b0) {
  auto a = a0.toSystem(), b = b0.toSystem();
  if (!a || !b) {
    if (a0.isNode() && b0.isNode() && a0.asNode().json && b0.asNode().json) {
      return jsonEqual(*a0.asNode().json, *b0.asNode().json);
    }
    return false;
  }
  ValueKind ka = a->kind(), kb = b->kind();
  if (isNumeric(ka) && isNumeric(kb)) {
    Decimal x = numericOf(*a), y = numericOf(*b);
    int s = std::min(x.scale, y.scale);
    return compare(decimalRound(x, s), decimalRound(y, s)) == 0;
  }
  if (isDateKind(ka) && isDateKind(kb)) {
    auto c = compareDateTimes(a->asDateTime(), b->asDateTime(), false);
    return c && *c == 0;
  }
  if (ka != kb) return false;
  switch (ka) {
    case ValueKind::kBoolean: return a->asBoolean() == b->asBoolean();
    case ValueKind::kString: return normalizeWhitespace(a->asString()) == normalizeWhitespace(b->asString());
    case ValueKind::kTime: {
      auto c = compareDateTimes(a->asDateTime(), b->asDateTime(), true);
      return c && *c == 0;
    }
    case ValueKind::kQuantity: {
      Quantity x = a->asQuantity(), y = b->asQuantity();
      auto conv = convertQuantity(y, x.unit);
      if (!conv) return false;
      int s = std::min(x.value.scale, y.value.scale);
      return compare(decimalRound(x.value, s), decimalRound(conv->value, s)) == 0;
    }
    default: return false;
  }
}

// -------------------------------------------------------------------------------------------- operators

namespace {

Status typeError(const char* op, const Value& a, const Value& b) {
  return invalidArgument(std::string("FHIRPath: cannot apply '") + op + "' to " + a.typeName() + " and " +
                         b.typeName());
}

Result<std::optional<bool>> boolOperand(const Collection& c, const char* op) {
  if (c.empty()) return std::optional<bool>();
  if (c.size() > 1) return invalidArgument(std::string("FHIRPath: operand of '") + op + "' has more than one item");
  auto s = c[0].toSystem();
  if (s && s->kind() == ValueKind::kBoolean) return std::optional<bool>(s->asBoolean());
  // A single non-Boolean counts as true (singleton evaluation, §4.5).
  (void)op;
  return std::optional<bool>(true);
}

Status compareOp(BinaryOp op, const Collection& l, const Collection& r, Collection& out) {
  if (l.empty() || r.empty()) return Status::ok();
  if (l.size() > 1 || r.size() > 1) return invalidArgument("FHIRPath: comparison operands must be single items");
  auto a = l[0].toSystem(), b = r[0].toSystem();
  if (!a || !b) return invalidArgument("FHIRPath: comparison of non-primitive values");
  std::optional<int> c;
  ValueKind ka = a->kind(), kb = b->kind();
  if (isNumeric(ka) && isNumeric(kb)) {
    c = compare(numericOf(*a), numericOf(*b));
  } else if (isDateKind(ka) && isDateKind(kb)) {
    c = compareDateTimes(a->asDateTime(), b->asDateTime(), false);
  } else if (ka != kb) {
    return typeError("<", *a, *b);
  } else if (ka == ValueKind::kString) {
    int x = a->asString().compare(b->asString());
    c = x < 0 ? -1 : x > 0 ? 1 : 0;
  } else if (ka == ValueKind::kTime) {
    c = compareDateTimes(a->asDateTime(), b->asDateTime(), true);
  } else if (ka == ValueKind::kQuantity) {
    c = compareQuantities(a->asQuantity(), b->asQuantity());
    if (!c) return Status::ok();
  } else {
    return typeError("<", *a, *b);
  }
  if (!c) return Status::ok();
  bool res = false;
  switch (op) {
    case BinaryOp::kLt: res = *c < 0; break;
    case BinaryOp::kGt: res = *c > 0; break;
    case BinaryOp::kLe: res = *c <= 0; break;
    case BinaryOp::kGe: res = *c >= 0; break;
    default: break;
  }
  out.push_back(Value::boolean(res));
  return Status::ok();
}

std::string multiplyUnits(std::string_view a, std::string_view b, bool divide) {
  if (a == "1" && !divide) return std::string(b);
  if (b == "1") return std::string(a);
  if (divide) {
    if (a == b) return "1";
    std::string r(a);
    r += '/';
    bool group = b.find_first_of("./") != std::string_view::npos;
    if (group) r += '(';
    r.append(b);
    if (group) r += ')';
    return r;
  }
  std::string r(a);
  r += '.';
  r.append(b);
  return r;
}

Status arithmetic(BinaryOp op, const Collection& l, const Collection& r, Collection& out) {
  const char* sym = op == BinaryOp::kAdd ? "+" : op == BinaryOp::kSub ? "-" : op == BinaryOp::kMul ? "*"
                    : op == BinaryOp::kDiv ? "/" : op == BinaryOp::kIntDiv ? "div" : "mod";
  if (l.empty() || r.empty()) return Status::ok();
  if (l.size() > 1 || r.size() > 1) return invalidArgument(std::string("FHIRPath: operands of '") + sym + "' must be single items");
  auto a = l[0].toSystem(), b = r[0].toSystem();
  if (!a || !b) return invalidArgument(std::string("FHIRPath: operands of '") + sym + "' have no value");
  ValueKind ka = a->kind(), kb = b->kind();
  if (ka == ValueKind::kInteger && kb == ValueKind::kInteger && op != BinaryOp::kDiv) {
    int64_t x = a->asInteger(), y = b->asInteger(), res = 0;
    bool overflow = false;
    switch (op) {
      case BinaryOp::kAdd: overflow = __builtin_add_overflow(x, y, &res); break;
      case BinaryOp::kSub: overflow = __builtin_sub_overflow(x, y, &res); break;
      case BinaryOp::kMul: overflow = __builtin_mul_overflow(x, y, &res); break;
      case BinaryOp::kIntDiv:
        if (y == 0) return Status::ok();
        res = x / y;
        break;
      case BinaryOp::kMod:
        if (y == 0) return Status::ok();
        res = x % y;
        break;
      default: break;
    }
    if (overflow) return Status::ok();
    out.push_back(Value::integer(res));
    return Status::ok();
  }
  if (isNumeric(ka) && isNumeric(kb)) {
    Decimal x = numericOf(*a), y = numericOf(*b);
    std::optional<Decimal> res;
    switch (op) {
      case BinaryOp::kAdd: res = decimalAdd(x, y); break;
      case BinaryOp::kSub: res = decimalSub(x, y); break;
      case BinaryOp::kMul: res = decimalMul(x, y); break;
      case BinaryOp::kDiv: res = decimalDiv(x, y); break;
      case BinaryOp::kIntDiv: {
        auto q = decimalDiv(x, y);
        if (!q) return Status::ok();
        auto i = decimalToInt64(decimalTruncate(*q));
        if (!i) return Status::ok();
        out.push_back(Value::integer(*i));
        return Status::ok();
      }
      case BinaryOp::kMod: {
        auto q = decimalDiv(x, y);
        if (!q) return Status::ok();
        auto p = decimalMul(decimalTruncate(*q), y);
        if (p) res = decimalSub(x, *p);
        break;
      }
      default: break;
    }
    if (res) out.push_back(Value::decimal(*res));
    return Status::ok();
  }
  if (ka == ValueKind::kString && kb == ValueKind::kString && op == BinaryOp::kAdd) {
    out.push_back(Value::string(a->asString() + b->asString()));
    return Status::ok();
  }
  if ((isDateKind(ka) || ka == ValueKind::kTime) && kb == ValueKind::kQuantity &&
      (op == BinaryOp::kAdd || op == BinaryOp::kSub)) {
    Decimal amount = b->asQuantity().value;
    if (op == BinaryOp::kSub) amount.mantissa = -amount.mantissa;
    auto d = addToDateTime(a->asDateTime(), amount, b->quantityUnit(), ka == ValueKind::kDate, ka == ValueKind::kTime);
    if (!d) return invalidArgument("FHIRPath: cannot add '" + b->quantityUnit() + "' to a date/time");
    out.push_back(ka == ValueKind::kDate ? Value::date(*d) : ka == ValueKind::kTime ? Value::time(*d) : Value::dateTime(*d));
    return Status::ok();
  }
  if (ka == ValueKind::kQuantity || kb == ValueKind::kQuantity) {
    Quantity x = ka == ValueKind::kQuantity ? a->asQuantity() : Quantity{numericOf(*a), "1"};
    Quantity y = kb == ValueKind::kQuantity ? b->asQuantity() : (isNumeric(kb) ? Quantity{numericOf(*b), "1"} : Quantity{});
    if (!(ka == ValueKind::kQuantity || isNumeric(ka)) || !(kb == ValueKind::kQuantity || isNumeric(kb))) {
      return typeError(sym, *a, *b);
    }
    if (op == BinaryOp::kAdd || op == BinaryOp::kSub) {
      if (ka != kb) return typeError(sym, *a, *b);
      auto conv = convertQuantity(y, x.unit);
      if (!conv) return Status::ok();
      auto v = op == BinaryOp::kAdd ? decimalAdd(x.value, conv->value) : decimalSub(x.value, conv->value);
      if (v) out.push_back(Value::quantity({*v, x.unit}));
      return Status::ok();
    }
    if (op == BinaryOp::kMul || op == BinaryOp::kDiv) {
      auto v = op == BinaryOp::kMul ? decimalMul(x.value, y.value) : decimalDiv(x.value, y.value);
      if (v) out.push_back(Value::quantity({*v, multiplyUnits(x.unit, y.unit, op == BinaryOp::kDiv)}));
      return Status::ok();
    }
  }
  return typeError(sym, *a, *b);
}


}  // namespace

Status unionInto(Items l, Items r, Context& ctx, Collection& out) {
  ItemSet seen(ctx);
  for (Items side : {l, r}) {
    for (const Value& v : side) {
      if (seen.insert(v)) out.push_back(v);
      RETURN_IF_ERROR(ctx.charge(1));
    }
  }
  return Status::ok();
}

namespace {

Status evalNode(const AstNode& node, Items focus, Context& ctx, Collection& out);

}  // namespace

Status Context::charge(uint64_t n) {
  steps += n;
  if (steps > env.limits.max_steps) {
    return invalidArgument("FHIRPath: evaluation budget of " + std::to_string(env.limits.max_steps) +
                           " steps exceeded");
  }
  return Status::ok();
}

// Every node evaluation passes here, so the step budget and the size bounds hold for all operators and functions
// without each one counting for itself: a node costs one step per input item and one per item it produces.
Status eval(const AstNode& node, Items focus, Context& ctx, Collection& out) {
  if (++ctx.depth > kMaxEvalDepth) return resourceExhausted("FHIRPath: evaluation nested too deeply");
  struct DepthGuard {
    Context& c;
    ~DepthGuard() { --c.depth; }
  } guard{ctx};
  RETURN_IF_ERROR(ctx.charge(1 + focus.size()));
  size_t before = out.size();
  RETURN_IF_ERROR(evalNode(node, focus, ctx, out));
  const EvaluationLimits& limits = ctx.env.limits;
  if (out.size() > limits.max_collection_items) {
    return invalidArgument("FHIRPath: a collection of " + std::to_string(out.size()) +
                           " items exceeds the limit of " + std::to_string(limits.max_collection_items));
  }
  // Strings the expression made cost by their length too (copying, hashing, comparing them is work), so
  // `repeat($this & 'a')` runs out of budget instead of doing quadratic work below the size limit.
  uint64_t string_bytes = 0;
  for (size_t i = before; i < out.size(); ++i) {
    if (out[i].kind() != ValueKind::kString) continue;
    size_t size = out[i].asString().size();
    if (size > limits.max_string_bytes) {
      return invalidArgument("FHIRPath: a string of " + std::to_string(size) + " bytes exceeds the limit of " +
                             std::to_string(limits.max_string_bytes));
    }
    string_bytes += size;
  }
  return ctx.charge(out.size() - before + string_bytes / kStringBytesPerStep);
}

namespace {

Status evalNode(const AstNode& node, Items focus, Context& ctx, Collection& out) {
  switch (node.kind) {
    case NodeKind::kLiteral:
      out.push_back(node.literal);
      return Status::ok();
    case NodeKind::kEmpty:
      return Status::ok();
    case NodeKind::kThis:
      out.insert(out.end(), focus.begin(), focus.end());
      return Status::ok();
    case NodeKind::kIndex:
      if (ctx.index) out.push_back(*ctx.index);
      return Status::ok();
    case NodeKind::kTotal:
      if (ctx.total) out.insert(out.end(), ctx.total->begin(), ctx.total->end());
      return Status::ok();
    case NodeKind::kVariable: {
      for (const auto& [name, value] : ctx.env.variables) {
        if (name == node.name) {
          out.insert(out.end(), value.begin(), value.end());
          return Status::ok();
        }
      }
      const std::string& n = node.name;
      if (n == "resource") {
        out.push_back(ctx.resource);
      } else if (n == "rootResource") {
        out.push_back(ctx.root_resource);
      } else if (n == "context") {
        out.push_back(ctx.context);
      } else if (n == "ucum") {
        out.push_back(Value::string("http://unitsofmeasure.org"));
      } else if (n == "sct") {
        out.push_back(Value::string("http://snomed.info/sct"));
      } else if (n == "loinc") {
        out.push_back(Value::string("http://loinc.org"));
      } else if (n.rfind("vs-", 0) == 0) {
        out.push_back(Value::string("http://hl7.org/fhir/ValueSet/" + n.substr(3)));
      } else if (n.rfind("ext-", 0) == 0) {
        out.push_back(Value::string("http://hl7.org/fhir/StructureDefinition/" + n.substr(4)));
      } else {
        return invalidArgument("FHIRPath: unknown variable %" + n);
      }
      return Status::ok();
    }
    case NodeKind::kMember: {
      if (node.base) {
        Collection in;
        RETURN_IF_ERROR(eval(*node.base, focus, ctx, in));
        bool known = in.empty();
        for (const Value& v : in) RETURN_IF_ERROR(navigate(v, node.name, ctx, out, &known));
        // Strict mode: a name no item of the input defines is a mistake in the expression.
        if (ctx.env.strict && !known && !ctx.model.type(node.name)) {
          return invalidArgument("FHIRPath: '" + node.name + "' is not an element of " + in[0].typeName());
        }
        return Status::ok();
      }
      // A leading type name selects the focus when it is of that type (`Patient.name`).
      const TypeDef* target = node.type_def;
      for (const Value& v : focus) {
        if (target && v.isNode()) {
          const TypeDef* t = v.asNode().type == target->name ? target : ctx.model.type(v.asNode().type);
          for (int guard = 0; guard < 16 && t && t != target; ++guard) t = t->base_type;
          if (t == target) {
            out.push_back(v);
            continue;
          }
        }
        if (target && target->kind == TypeKind::kResource && v.isNode() && !v.asNode().element) {
          if (ctx.env.strict) {
            return invalidArgument("FHIRPath: the focus is a " + std::string(v.asNode().type) + ", not a " + node.name);
          }
          continue;
        }
        bool known = false;
        RETURN_IF_ERROR(navigate(v, node.name, ctx, out, &known));
        if (ctx.env.strict && !known && !ctx.model.type(node.name)) {
          return invalidArgument("FHIRPath: '" + node.name + "' is not an element of " + v.typeName());
        }
      }
      return Status::ok();
    }
    case NodeKind::kFunction: {
      if (node.base) {
        Collection in;
        RETURN_IF_ERROR(eval(*node.base, focus, ctx, in));
        return evalFunction(node, in, focus, ctx, out);
      }
      return evalFunction(node, focus, focus, ctx, out);
    }
    case NodeKind::kIndexer: {
      Collection in, idx;
      RETURN_IF_ERROR(eval(*node.base, focus, ctx, in));
      RETURN_IF_ERROR(eval(*node.args[0], focus, ctx, idx));
      if (idx.empty()) return Status::ok();
      auto i = idx[0].toSystem();
      if (idx.size() != 1 || !i || i->kind() != ValueKind::kInteger) {
        return invalidArgument("FHIRPath: an index must be a single Integer");
      }
      if (i->asInteger() >= 0 && static_cast<size_t>(i->asInteger()) < in.size()) out.push_back(in[i->asInteger()]);
      return Status::ok();
    }
    case NodeKind::kUnary: {
      Collection in;
      RETURN_IF_ERROR(eval(*node.base, focus, ctx, in));
      if (in.empty()) return Status::ok();
      if (in.size() > 1) return invalidArgument("FHIRPath: unary operand must be a single item");
      auto v = in[0].toSystem();
      if (!v) return invalidArgument("FHIRPath: unary operand has no value");
      if (node.unary == '+') {
        if (!isNumeric(v->kind()) && v->kind() != ValueKind::kQuantity) return invalidArgument("FHIRPath: bad operand for unary +");
        out.push_back(*v);
        return Status::ok();
      }
      switch (v->kind()) {
        case ValueKind::kInteger:
          if (v->asInteger() != INT64_MIN) out.push_back(Value::integer(-v->asInteger()));
          break;
        case ValueKind::kDecimal: {
          Decimal d = v->asDecimal();
          d.mantissa = -d.mantissa;
          out.push_back(Value::decimal(d));
          break;
        }
        case ValueKind::kQuantity: {
          Quantity q = v->asQuantity();
          q.value.mantissa = -q.value.mantissa;
          out.push_back(Value::quantity(std::move(q)));
          break;
        }
        default: return invalidArgument("FHIRPath: bad operand for unary -");
      }
      return Status::ok();
    }
    case NodeKind::kTypeOp: {
      Collection in;
      RETURN_IF_ERROR(eval(*node.base, focus, ctx, in));
      if (in.empty()) return Status::ok();
      if (!isKnownType(node.type, ctx.model)) return invalidArgument("FHIRPath: unknown type " + node.type.name);
      if (node.is_as) {
        // Filters like ofType(): R4 search parameters apply it to repeating elements
        // (`Goal.target.due as date`, `useContext.value as Quantity`).
        for (const Value& v : in) {
          if (typeMatches(v, node.type, ctx.model, true)) out.push_back(v);
        }
        return Status::ok();
      }
      if (in.size() > 1) return invalidArgument("FHIRPath: 'is' on more than one item");
      out.push_back(Value::boolean(typeMatches(in[0], node.type, ctx.model)));
      return Status::ok();
    }
    case NodeKind::kBinary:
      break;
  }

  // Binary operators. and/or/implies short-circuit on the left operand.
  BinaryOp op = node.op;
  Collection l, r;
  RETURN_IF_ERROR(eval(*node.base, focus, ctx, l));
  if (op == BinaryOp::kAnd || op == BinaryOp::kOr || op == BinaryOp::kImplies || op == BinaryOp::kXor) {
    const char* name = op == BinaryOp::kAnd ? "and" : op == BinaryOp::kOr ? "or" : op == BinaryOp::kXor ? "xor" : "implies";
    ASSIGN_OR_RETURN(std::optional<bool> a, boolOperand(l, name));
    if (op == BinaryOp::kAnd && a == false) {
      out.push_back(Value::boolean(false));
      return Status::ok();
    }
    if (op == BinaryOp::kOr && a == true) {
      out.push_back(Value::boolean(true));
      return Status::ok();
    }
    if (op == BinaryOp::kImplies && a == false) {
      out.push_back(Value::boolean(true));
      return Status::ok();
    }
    RETURN_IF_ERROR(eval(*node.args[0], focus, ctx, r));
    ASSIGN_OR_RETURN(std::optional<bool> b, boolOperand(r, name));
    std::optional<bool> res;
    switch (op) {
      case BinaryOp::kAnd:
        if (b == false) res = false;
        else if (a && b) res = true;
        break;
      case BinaryOp::kOr:
        if (b == true) res = true;
        else if (a && b) res = false;
        break;
      case BinaryOp::kXor:
        if (a && b) res = *a != *b;
        break;
      case BinaryOp::kImplies:
        if (a == true) res = b;
        else if (b == true) res = true;
        break;
      default: break;
    }
    if (res) out.push_back(Value::boolean(*res));
    return Status::ok();
  }
  RETURN_IF_ERROR(eval(*node.args[0], focus, ctx, r));
  switch (op) {
    case BinaryOp::kEq:
    case BinaryOp::kNe: {
      if (l.empty() || r.empty()) return Status::ok();
      std::optional<bool> eq = true;
      if (l.size() != r.size()) {
        eq = false;
      } else {
        for (size_t i = 0; i < l.size() && eq == true; ++i) eq = itemsEqual(l[i], r[i]);
      }
      if (eq) out.push_back(Value::boolean(op == BinaryOp::kEq ? *eq : !*eq));
      return Status::ok();
    }
    case BinaryOp::kEquiv:
    case BinaryOp::kNotEquiv: {
      bool eq = true;
      if (l.size() != r.size()) {
        eq = false;
      } else {
        std::vector<bool> used(r.size(), false);
        for (const Value& a : l) {
          bool found = false;
          // Equivalence ignores case, whitespace and precision, which no hash respects: pairwise, but paid for.
          RETURN_IF_ERROR(ctx.charge(r.size()));
          for (size_t j = 0; j < r.size() && !found; ++j) {
            if (!used[j] && itemsEquivalent(a, r[j])) found = used[j] = true;
          }
          if (!found) {
            eq = false;
            break;
          }
        }
      }
      out.push_back(Value::boolean(op == BinaryOp::kEquiv ? eq : !eq));
      return Status::ok();
    }
    case BinaryOp::kLt:
    case BinaryOp::kGt:
    case BinaryOp::kLe:
    case BinaryOp::kGe:
      return compareOp(op, l, r, out);
    case BinaryOp::kUnion:
      return unionInto(l, r, ctx, out);
    case BinaryOp::kConcat: {
      if (l.size() > 1 || r.size() > 1) return invalidArgument("FHIRPath: '&' operands must be single items");
      std::string s;
      for (const Collection* c : {&l, &r}) {
        if (c->empty()) continue;
        auto str = stringOf((*c)[0]);
        if (!str) return invalidArgument("FHIRPath: '&' operands must be strings");
        s += *str;
      }
      out.push_back(Value::string(std::move(s)));
      return Status::ok();
    }
    case BinaryOp::kIn:
    case BinaryOp::kContains: {
      const Collection& item = op == BinaryOp::kIn ? l : r;
      const Collection& list = op == BinaryOp::kIn ? r : l;
      if (item.empty()) return Status::ok();
      if (item.size() > 1) return invalidArgument("FHIRPath: membership test on more than one item");
      bool found = false;
      for (const Value& v : list) {
        auto e = itemsEqual(item[0], v);
        if (e && *e) {
          found = true;
          break;
        }
      }
      out.push_back(Value::boolean(found));
      return Status::ok();
    }
    default:
      return arithmetic(op, l, r, out);
  }
}

}  // namespace

// -------------------------------------------------------------------------------------------- public API

namespace {

DateTime currentTime() {
  using namespace std::chrono;
  auto now = system_clock::now();
  auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count();
  int64_t days = ms / 86400000;
  int64_t rem = ms % 86400000;
  DateTime d;
  std::optional<DateTime> base = parseDate("1970-01-01");
  Decimal amount = Decimal::fromInt(days);
  auto r = addToDateTime(*base, amount, "day", true, false);
  d = *r;
  d.hour = static_cast<uint8_t>(rem / 3600000);
  d.minute = static_cast<uint8_t>(rem / 60000 % 60);
  d.second = static_cast<uint8_t>(rem / 1000 % 60);
  d.millisecond = static_cast<uint16_t>(rem % 1000);
  d.precision = DateTime::kMillisecond;
  d.has_timezone = true;
  return d;
}

}  // namespace

DateTime Context::now() {
  if (!now_cache) now_cache = env.now ? *env.now : currentTime();
  return *now_cache;
}

namespace {

Result<Collection> run(const Expression& expression, const Value& focus, const JsonValue& resource,
                       const Environment& env) {
  Value root = Value::node(resourceNode(resource));
  Context ctx{env, ModelInfo::r4(), root, env.root_resource ? Value::node(resourceNode(*env.root_resource)) : root,
              focus};
  Collection out;
  Status status = eval(expression.root(), Items(&focus, 1), ctx, out);
  if (env.stats) {
    env.stats->steps += ctx.steps;
    env.stats->comparisons += ctx.comparisons;
  }
  if (!status.isOk()) return status;
  return out;
}

}  // namespace

namespace {

std::atomic<uint64_t> default_max_steps{EvaluationLimits{}.max_steps};
std::atomic<size_t> default_max_collection_items{EvaluationLimits{}.max_collection_items};
std::atomic<size_t> default_max_string_bytes{EvaluationLimits{}.max_string_bytes};

}  // namespace

EvaluationLimits defaultEvaluationLimits() {
  return {default_max_steps.load(std::memory_order_relaxed), default_max_collection_items.load(std::memory_order_relaxed),
          default_max_string_bytes.load(std::memory_order_relaxed)};
}

void setDefaultEvaluationLimits(const EvaluationLimits& limits) {
  default_max_steps.store(limits.max_steps, std::memory_order_relaxed);
  default_max_collection_items.store(limits.max_collection_items, std::memory_order_relaxed);
  default_max_string_bytes.store(limits.max_string_bytes, std::memory_order_relaxed);
}

Result<Collection> evaluate(const Expression& expression, const JsonValue& resource, const Environment& env) {
  return run(expression, Value::node(resourceNode(resource)), resource, env);
}

Result<Collection> evaluateAt(const Expression& expression, const Node& focus, const JsonValue& resource,
                              const Environment& env) {
  return run(expression, Value::node(focus), resource, env);
}

Result<std::optional<bool>> toBoolean(const Collection& collection) {
  if (collection.empty()) return std::optional<bool>();
  if (collection.size() > 1) return invalidArgument("FHIRPath: expected a single Boolean, got " +
                                                    std::to_string(collection.size()) + " items");
  auto v = collection[0].toSystem();
  if (v && v->kind() == ValueKind::kBoolean) return std::optional<bool>(v->asBoolean());
  return std::optional<bool>(true);
}

Result<bool> evaluateBoolean(const Expression& expression, const Node& focus, const JsonValue& resource,
                             const Environment& env, bool empty_is) {
  ASSIGN_OR_RETURN(Collection c, evaluateAt(expression, focus, resource, env));
  ASSIGN_OR_RETURN(std::optional<bool> b, toBoolean(c));
  return b.value_or(empty_is);
}

std::string valueToString(const Value& value) {
  auto v = value.toSystem();
  if (!v) return {};
  switch (v->kind()) {
    case ValueKind::kBoolean: return v->asBoolean() ? "true" : "false";
    case ValueKind::kInteger: return std::to_string(v->asInteger());
    case ValueKind::kDecimal: return v->asDecimal().toString();
    case ValueKind::kString: return v->asString();
    case ValueKind::kDate: return formatDate(v->asDateTime());
    case ValueKind::kDateTime: return formatDateTime(v->asDateTime());
    case ValueKind::kTime: return formatTime(v->asDateTime());
    case ValueKind::kQuantity: {
      const std::string& u = v->quantityUnit();
      bool calendar = false;
      std::string_view t = timeUnitOf(u, &calendar);
      if (!t.empty() && calendar) return v->asDecimal().toString() + " " + u;
      return v->asDecimal().toString() + " '" + u + "'";
    }
    case ValueKind::kNode: break;
  }
  return {};
}

std::string toJson(const Collection& collection) {
  std::string out = "[";
  bool first = true;
  for (const Value& v : collection) {
    if (!first) out += ',';
    first = false;
    if (v.isNode()) {
      if (v.asNode().json) writeJson(*v.asNode().json, out);
      else out += "null";
      continue;
    }
    switch (v.kind()) {
      case ValueKind::kBoolean: out += v.asBoolean() ? "true" : "false"; break;
      case ValueKind::kInteger: out += std::to_string(v.asInteger()); break;
      case ValueKind::kDecimal: out += v.asDecimal().toString(); break;
      default: {
        std::string s = valueToString(v);
        out += '"';
        for (char c : s) {
          if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
          } else if (static_cast<unsigned char>(c) < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
          } else {
            out += c;
          }
        }
        out += '"';
      }
    }
  }
  out += ']';
  return out;
}

}  // namespace planbro::fhir::fhirpath
