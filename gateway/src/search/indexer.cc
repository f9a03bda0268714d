// Index rows from FHIRPath results. Each parameter's expression is compiled once per process (the model's
// definitions are immutable and never freed, so SearchParamDef pointers are stable cache keys).
#include "planbro/gateway/search/indexer.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>

#include <spdlog/spdlog.h>

#include "planbro/fhir-model/fhirpath.h"

namespace planbro::gateway::search {
namespace {

using fhir::JsonValue;
using fhir::SearchParamDef;
using fhir::SearchParamType;
using store::IndexRow;
using store::IndexValueKind;
namespace fp = fhir::fhirpath;

constexpr int64_t kMinTime = std::numeric_limits<int64_t>::min();
constexpr int64_t kMaxTime = std::numeric_limits<int64_t>::max();

const fhir::ModelInfo& model() { return fhir::ModelInfo::r4(); }

// ---- parameter tables and compiled expressions -------------------------------------------------------------------

struct ParamCache {
  std::shared_mutex mutex;
  // Entries are never erased, so references to the vectors stay valid (unordered_map nodes do not move).
  std::unordered_map<std::string, std::vector<const SearchParamDef*>> by_type;
  // Keyed by resource type and parameter URL: a multi-base expression is compiled per type with only its branches.
  std::unordered_map<std::string, std::shared_ptr<const Result<fp::ExpressionPtr>>> compiled;
};

ParamCache& cache() {
  static ParamCache* c = new ParamCache();  // never freed: used from any thread until exit
  return *c;
}

// The parameters a type is indexed (and searchable) by, for the types where that is not every R4 parameter; nullptr
// for all others. AuditEvent: only the auditor searches it, by the IHE BALP / ATNA parameters; the others
// (agent-role, entity-role, entity-name, _profile, _security, _source, _tag) were rows on every audited request
// that no search asked for. `_id` and `_lastUpdated` cost no rows (the store answers them from the head row).
// Provenance: every R4 parameter but `agent-type`. The gateway writes a Provenance with every change of an IP
// resource (GW-50), always with the same agent types (author, and assembler for the source system), so an
// `agent-type` search selects every record; its two rows were a third of the record's index rows on every IP write
// (docs/performance.md). Who and which system stay searchable by `agent` (`agent:identifier`).
const std::vector<std::string_view>* indexedOnly(std::string_view type) {
  static const std::vector<std::string_view> kAuditEvent = {
      "_id",   "_lastUpdated", "action", "address", "agent",  "agent-name", "altid", "date",
      "entity", "entity-type", "outcome", "patient", "policy", "site",       "source", "subtype", "type"};
  static const std::vector<std::string_view> kProvenance = {
      "_content", "_filter", "_id",      "_lastUpdated", "_profile", "_query",   "_security",      "_source",
      "_tag",     "_text",   "agent",    "agent-role",   "entity",   "location", "patient",        "recorded",
      "signature-type",      "target",   "when"};
  if (type == "AuditEvent") return &kAuditEvent;
  if (type == "Provenance") return &kProvenance;
  return nullptr;
}

// The core package defines `_id` twice (Resource-id and the `example` SearchParameter); keep one definition per code,
// preferring the official ones over examples.
std::vector<const SearchParamDef*> buildParams(std::string_view type) {
  std::map<std::string, const SearchParamDef*, std::less<>> by_code;
  for (const SearchParamDef* p : model().searchParams(type)) {
    auto [it, inserted] = by_code.emplace(p->code, p);
    if (!inserted) {
      bool old_example = it->second->url.ends_with("/example") || it->second->url.find("/example-") != std::string::npos;
      if (old_example) it->second = p;
    }
  }
  const std::vector<std::string_view>* only = indexedOnly(type);
  std::vector<const SearchParamDef*> out;
  out.reserve(by_code.size());
  for (auto& [code, p] : by_code) {
    if (only && std::find(only->begin(), only->end(), code) == only->end()) continue;
    out.push_back(p);
  }
  return out;
}

// The branches of a multi-base expression (`CarePlan.subject | Goal.subject | ...`) that can apply to `type`.
// FHIRPath would give empty for the others (a leading type name filters the focus), so dropping them changes no
// result and saves evaluating dozens of branches per parameter on every write. A branch is dropped only when it
// starts with another resource type's name and holds no nested union.
std::string branchesFor(std::string_view type, std::string_view expression) {
  std::vector<std::string_view> branches;
  int depth = 0;
  char quote = 0;
  size_t start = 0;
  for (size_t i = 0; i < expression.size(); ++i) {
    char c = expression[i];
    if (quote != 0) {
      if (c == '\\') ++i;
      else if (c == quote) quote = 0;
    } else if (c == '\'' || c == '`') {
      quote = c;
    } else if (c == '(' || c == '[' || c == '{') {
      ++depth;
    } else if (c == ')' || c == ']' || c == '}') {
      --depth;
    } else if (c == '|' && depth == 0) {
      branches.push_back(expression.substr(start, i - start));
      start = i + 1;
    }
  }
  branches.push_back(expression.substr(start));
  if (branches.size() == 1) return std::string(expression);
  std::string out;
  for (std::string_view b : branches) {
    size_t k = b.find_first_not_of(" \t\n(");
    std::string_view head = k == std::string_view::npos ? std::string_view() : b.substr(k);
    size_t end = 0;
    while (end < head.size() && (std::isalnum(static_cast<unsigned char>(head[end])) || head[end] == '_')) ++end;
    std::string_view first = head.substr(0, end);
    bool typed = !first.empty() && std::isupper(static_cast<unsigned char>(first[0])) &&
                 (model().isResourceType(first) || first == "Resource" || first == "DomainResource");
    if (typed && b.find('|') == std::string_view::npos && first != type && !model().isA(type, first)) continue;
    if (!out.empty()) out += " | ";
    size_t lo = b.find_first_not_of(' ');
    size_t hi = b.find_last_not_of(' ');
    out += lo == std::string_view::npos ? std::string_view() : b.substr(lo, hi - lo + 1);
  }
  return out;
}

// Null when no branch of the expression applies to `type`.
std::shared_ptr<const Result<fp::ExpressionPtr>> compiled(std::string_view type, const SearchParamDef* p) {
  ParamCache& c = cache();
  std::string key = std::string(type) + "#" + p->url;
  {
    std::shared_lock lock(c.mutex);
    auto it = c.compiled.find(key);
    if (it != c.compiled.end()) return it->second;
  }
  std::string text = branchesFor(type, p->expression);
  std::shared_ptr<const Result<fp::ExpressionPtr>> result;
  if (!text.empty()) result = std::make_shared<const Result<fp::ExpressionPtr>>(fp::compile(text));
  std::unique_lock lock(c.mutex);
  return c.compiled.emplace(std::move(key), std::move(result)).first->second;
}

// A component expression of a composite parameter, compiled once (keyed by type, parameter URL and component).
std::shared_ptr<const Result<fp::ExpressionPtr>> compiledComponent(std::string_view type, const SearchParamDef* p,
                                                                   size_t component) {
  ParamCache& c = cache();
  std::string key = std::string(type) + "#" + p->url + "#" + std::to_string(component);
  {
    std::shared_lock lock(c.mutex);
    auto it = c.compiled.find(key);
    if (it != c.compiled.end()) return it->second;
  }
  auto result = std::make_shared<const Result<fp::ExpressionPtr>>(fp::compile(p->component_expressions[component]));
  std::unique_lock lock(c.mutex);
  return c.compiled.emplace(std::move(key), std::move(result)).first->second;
}

// ---- JSON helpers -------------------------------------------------------------------------------------------------

std::string_view member(const JsonValue* obj, std::string_view key) {
  if (obj == nullptr) return {};
  const JsonValue* v = obj->find(key);
  return (v != nullptr && v->isString()) ? v->text() : std::string_view();
}

std::optional<double> toDouble(std::string_view text) {
  double d = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), d);
  if (ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  return d;
}

bool isQuantityType(std::string_view type) {
  return type == "Quantity" || type == "Age" || type == "Duration" || type == "Money" || type == "SimpleQuantity" ||
         type == "Count" || type == "Distance" || type == "MoneyQuantity";
}
// The system of a bound code, from the expanded value set of its required/extensible binding ("male" in
// Patient.gender → http://hl7.org/fhir/administrative-gender), so `system|code` matches plain codes too.
std::string_view boundSystem(const fhir::ElementDef* element, std::string_view code) {
  if (element == nullptr || !element->binding) return {};
  const fhir::ValueSetCodes* vs = model().valueSet(element->binding->value_set);
  if (vs == nullptr) return {};
  for (const auto& c : vs->codes) {
    if (c.code == code) return c.system;
  }
  return {};
}

std::string formatSystemDate(const fp::DateTime& d) {
  char buf[64];
  int n = 0;
  switch (d.precision) {
    case fp::DateTime::kYear: n = std::snprintf(buf, sizeof buf, "%04d", d.year); break;
    case fp::DateTime::kMonth: n = std::snprintf(buf, sizeof buf, "%04d-%02u", d.year, d.month); break;
    case fp::DateTime::kDay: n = std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", d.year, d.month, d.day); break;
    default:
      n = std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02u:%02u:%02u.%03u", d.year, d.month, d.day, d.hour,
                        d.minute, d.second, d.millisecond);
      break;
  }
  std::string out(buf, n > 0 ? static_cast<size_t>(n) : 0);
  if (d.precision > fp::DateTime::kDay) {
    if (d.has_timezone) {
      int off = d.tz_offset_minutes;
      std::snprintf(buf, sizeof buf, "%c%02d:%02d", off < 0 ? '-' : '+', std::abs(off) / 60, std::abs(off) % 60);
      out += buf;
    } else {
      out += 'Z';
    }
  }
  return out;
}

// ---- turning one value into rows ----------------------------------------------------------------------------------

class RowBuilder {
 public:
  RowBuilder(const SearchParamDef& param, std::string_view own_base_url, std::vector<IndexRow>& rows)
      : param_(param), own_base_url_(own_base_url), rows_(rows) {}

  void add(const fp::Value& v) {
    if (v.isNode()) {
      const fp::Node& n = v.asNode();
      if (n.json == nullptr) return;
      addJson(n.type, *n.json, n.element);
      return;
    }
    switch (v.kind()) {
      case fp::ValueKind::kBoolean: addPrimitive("boolean", v.asBoolean() ? "true" : "false", nullptr); break;
      case fp::ValueKind::kInteger: addPrimitive("integer", std::to_string(v.asInteger()), nullptr); break;
      case fp::ValueKind::kDecimal: addPrimitive("decimal", v.asDecimal().toString(), nullptr); break;
      case fp::ValueKind::kString: addPrimitive("string", v.asString(), nullptr); break;
      case fp::ValueKind::kDate:
      case fp::ValueKind::kDateTime: addPrimitive("dateTime", formatSystemDate(v.asDateTime()), nullptr); break;
      case fp::ValueKind::kQuantity:
        if (param_.type == SearchParamType::kQuantity || param_.type == SearchParamType::kNumber) {
          number(v.asDecimal().toDouble());
          if (param_.type == SearchParamType::kQuantity) token(param_.code + std::string(kUnitSuffix), "", v.quantityUnit());
        }
        break;
      default: break;
    }
  }

 private:
  void addJson(std::string_view type, const JsonValue& json, const fhir::ElementDef* element) {
    if (json.isString() || json.isNumber()) {
      addPrimitive(type, json.text(), element);
      return;
    }
    if (json.isBool()) {
      addPrimitive("boolean", json.boolean() ? "true" : "false", element);
      return;
    }
    if (!json.isObject()) return;
    if (type == "Extension") {
      for (const auto& m : json.members()) {
        if (m.key.size() > 5 && m.key.starts_with("value")) {
          std::string t(m.key.substr(5));
          std::string lower = t;
          lower[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(lower[0])));
          addJson(model().isPrimitiveType(lower) ? std::string_view(lower) : std::string_view(t), m.value, nullptr);
          return;
        }
      }
      return;
    }
    switch (param_.type) {
      case SearchParamType::kToken: complexToken(type, json); break;
      case SearchParamType::kString: complexString(type, json); break;
      case SearchParamType::kDate: complexDate(type, json); break;
      case SearchParamType::kReference: complexReference(type, json); break;
      case SearchParamType::kNumber:
      case SearchParamType::kQuantity: complexQuantity(type, json); break;
      case SearchParamType::kUri:
      case SearchParamType::kComposite:
      case SearchParamType::kSpecial: break;
    }
  }

  void addPrimitive(std::string_view type, std::string_view text, const fhir::ElementDef* element) {
    if (text.empty()) return;
    switch (param_.type) {
      case SearchParamType::kToken:
        token(param_.code, type == "code" ? boundSystem(element, text) : std::string_view(), text);
        break;
      case SearchParamType::kString: string(text); break;
      case SearchParamType::kDate:
        if (auto r = parseDateRange(text)) date(r->low, r->high);
        break;
      case SearchParamType::kReference:
        if (type == "canonical" || type == "uri" || type == "url") {
          refText(text);
          if (auto bar = text.find('|'); type == "canonical" && bar != std::string_view::npos) refText(text.substr(0, bar));
        } else {
          referenceString(text);
        }
        break;
      case SearchParamType::kUri: uri(text); break;
      case SearchParamType::kNumber:
      case SearchParamType::kQuantity:
        if (auto d = toDouble(text)) number(*d);
        break;
      case SearchParamType::kComposite:
      case SearchParamType::kSpecial: break;
    }
  }

  void complexToken(std::string_view type, const JsonValue& json) {
    if (type == "Coding") {
      coding(json);
      tokenText(member(&json, "display"));
    } else if (type == "CodeableConcept") {
      if (const JsonValue* codings = json.find("coding")) {
        for (const JsonValue& c : codings->items()) {
          coding(c);
          tokenText(member(&c, "display"));
        }
      }
      tokenText(member(&json, "text"));
    } else if (type == "Identifier") {
      std::string_view value = member(&json, "value");
      if (value.empty()) return;
      token(param_.code, member(&json, "system"), value);
      // `:of-type`: how an identifier is found by its type (an H-nummer by type HNR), not by its system.
      if (const JsonValue* t = json.find("type"); t != nullptr && t->isObject()) {
        if (const JsonValue* codings = t->find("coding"); codings != nullptr && codings->isArray()) {
          for (const JsonValue& c : codings->items()) {
            std::string_view code = member(&c, "code");
            if (!code.empty()) token(param_.code + std::string(kOfTypeSuffix), member(&c, "system"), ofTypeCode(code, value));
          }
        }
      }
    } else if (type == "ContactPoint") {
      std::string_view value = member(&json, "value");
      if (!value.empty()) token(param_.code, member(&json, "system"), value);
    } else if (type == "Reference") {
      // Token parameters over references (rare): the identifier is what a token can match.
      if (const JsonValue* id = json.find("identifier")) complexToken("Identifier", *id);
    }
  }

  // `:text` rows: CodeableConcept.text and Coding.display, normalised like string parameters.
  void tokenText(std::string_view text) {
    std::string norm = normalizeString(text);
    if (norm.empty()) return;
    addRow(param_.code + std::string(kTextSuffix), IndexValueKind::kString).text = std::move(norm);
  }

  void coding(const JsonValue& c) {
    std::string_view code = member(&c, "code");
    if (!code.empty()) token(param_.code, member(&c, "system"), code);
  }

  void complexString(std::string_view type, const JsonValue& json) {
    static constexpr std::string_view kNameParts[] = {"family", "given", "prefix", "suffix", "text"};
    static constexpr std::string_view kAddressParts[] = {"line", "city", "district", "state", "postalCode", "country",
                                                         "text"};
    std::span<const std::string_view> parts;
    if (type == "HumanName") {
      parts = kNameParts;
    } else if (type == "Address") {
      parts = kAddressParts;
    }
    if (!parts.empty()) {
      for (std::string_view p : parts) stringsOf(json.find(p));
      return;
    }
    // Other complex types (Annotation, CodeableConcept, ...): their direct string members.
    for (const auto& m : json.members()) {
      if (m.key != "id" && m.key != "system" && m.key != "url") stringsOf(&m.value);
    }
  }

  void stringsOf(const JsonValue* v) {
    if (v == nullptr) return;
    if (v->isString()) {
      string(v->text());
    } else if (v->isArray()) {
      for (const JsonValue& item : v->items()) {
        if (item.isString()) string(item.text());
      }
    }
  }

  void complexDate(std::string_view type, const JsonValue& json) {
    if (type == "Period") {
      auto start = parseDateRange(member(&json, "start"));
      auto end = parseDateRange(member(&json, "end"));
      if (start || end) date(start ? start->low : kMinTime, end ? end->high : kMaxTime);
    } else if (type == "Timing") {
      if (const JsonValue* events = json.find("event")) {
        for (const JsonValue& e : events->items()) {
          if (auto r = e.isString() ? parseDateRange(e.text()) : std::nullopt) date(r->low, r->high);
        }
      }
    }
  }

  void complexReference(std::string_view type, const JsonValue& json) {
    if (type == "Reference") {
      referenceString(member(&json, "reference"));
      if (const JsonValue* id = json.find("identifier"); id != nullptr && id->isObject()) {
        std::string_view value = member(id, "value");
        if (!value.empty()) token(param_.code + std::string(kIdentifierSuffix), member(id, "system"), value);
      }
      return;
    }
    // A resource reached through resolve() or Bundle.entry.resource.
    std::string_view rt = member(&json, "resourceType");
    std::string_view id = member(&json, "id");
    if (!rt.empty() && !id.empty()) reference(rt, id);
  }

  void complexQuantity(std::string_view type, const JsonValue& json) {
    if (!isQuantityType(type)) return;
    const JsonValue* value = json.find("value");
    if (value == nullptr || !value->isNumber()) return;
    auto d = toDouble(value->text());
    if (!d) return;
    number(*d);
    if (param_.type == SearchParamType::kQuantity) {
      // R4: `value||unit` matches "either the code or the stated human unit"; both are rows (the unit without a
      // system, since the system qualifies the code only).
      const std::string unit_param = param_.code + std::string(kUnitSuffix);
      std::string_view code = member(&json, "code");
      if (code.empty()) code = member(&json, "currency");
      if (!code.empty()) token(unit_param, member(&json, "system"), code);
      std::string_view unit = member(&json, "unit");
      if (!unit.empty()) token(unit_param, "", unit);
    }
  }

  void referenceString(std::string_view ref) {
    if (ref.empty() || ref[0] == '#') return;  // contained resources are not separately searchable
    if (auto rel = relativeToBase(ref, own_base_url_)) {
      reference(rel->first, rel->second);
      return;
    }
    const ReferenceRowShape shape = referenceRowShape(ref);
    if (shape.kind == ReferenceRowShape::Kind::kText) refText(ref);
    if (shape.kind == ReferenceRowShape::Kind::kTyped) reference(shape.type, shape.id);
  }

  void token(std::string param, std::string_view system, std::string_view code) {
    IndexRow& r = addRow(std::move(param), IndexValueKind::kToken);
    r.system = canonicalTokenSystem(system);
    r.code = code;
  }
  void string(std::string_view text) {
    std::string norm = normalizeString(text);
    if (norm.empty()) return;
    addRow(param_.code, IndexValueKind::kString).text = std::move(norm);
    addRow(param_.code + std::string(kExactSuffix), IndexValueKind::kString).text = text;
  }
  void date(int64_t low, int64_t high) {
    IndexRow& r = addRow(param_.code, IndexValueKind::kDate);
    r.date_low = low;
    r.date_high = high;
  }
  void number(double d) {
    addRow(param_.code, IndexValueKind::kNumber).number = d;
  }
  void uri(std::string_view text) {
    addRow(param_.code, IndexValueKind::kUri).text = text;
  }
  void refText(std::string_view text) {
    addRow(param_.code, IndexValueKind::kReference).text = text;
  }
  void reference(std::string_view type, std::string_view id) {
    if (type.empty() || id.empty()) return;
    IndexRow& r = addRow(param_.code, IndexValueKind::kReference);
    r.ref_type = type;
    r.ref_id = id;
  }

  // Appends a row of `kind` for `param`; the caller fills the fields of its kind.
  IndexRow& addRow(std::string param, IndexValueKind kind) {
    IndexRow& r = rows_.emplace_back();
    r.param = std::move(param);
    r.kind = kind;
    return r;
  }

  const SearchParamDef& param_;
  std::string_view own_base_url_;
  std::vector<IndexRow>& rows_;
};

void logIssue(std::string_view type, const IndexIssue& issue) {
  auto logger = spdlog::get("planbro");
  if (!logger) logger = spdlog::default_logger();
  logger->warn("search index: {} parameter '{}' skipped: {}", type, issue.param, issue.message);
}

// The definition of a composite's component (by URL, among the type's parameters, duplicates included).
const SearchParamDef* componentDef(std::string_view type, std::string_view url) {
  for (const SearchParamDef* p : model().searchParams(type)) {
    if (p->url == url) return p;
  }
  return nullptr;
}

// Composite rows (docs/search.md): the first component's value becomes part of the row parameter name
// (compositeParam), and the second component's rows are stored under that name with their own kind, so one row
// pairs the two values of one focus (one Observation.component, say).
void compositeRows(const SearchParamDef& p, const JsonValue& resource, std::string_view type,
                   const fp::Collection& focus, std::vector<IndexRow>& rows) {
  if (p.components.size() != 2 || p.component_expressions.size() != 2) return;
  const SearchParamDef* first = componentDef(type, p.components[0]);
  const SearchParamDef* second = componentDef(type, p.components[1]);
  if (first == nullptr || second == nullptr) return;
  auto e0 = compiledComponent(type, &p, 0);
  auto e1 = compiledComponent(type, &p, 1);
  if (!e0->isOk() || !e1->isOk()) return;
  for (const fp::Value& f : focus) {
    if (!f.isNode()) continue;
    auto v0 = fp::evaluateAt(***e0, f.asNode(), resource);
    auto v1 = fp::evaluateAt(***e1, f.asNode(), resource);
    if (!v0.isOk() || !v1.isOk() || v0->empty() || v1->empty()) continue;
    std::vector<IndexRow> keys_rows, value_rows;
    RowBuilder keys(*first, {}, keys_rows);
    for (const fp::Value& v : *v0) keys.add(v);
    RowBuilder values(*second, {}, value_rows);
    for (const fp::Value& v : *v1) values.add(v);
    for (const IndexRow& k : keys_rows) {
      if (k.param != first->code) continue;  // derived rows (:text, :identifier) are not keys
      for (const std::string& key : compositeKeys(k)) {
        for (const IndexRow& v : value_rows) {
          IndexRow r = v;
          r.param = compositeParam(p.code, key) + v.param.substr(second->code.size());
          rows.push_back(std::move(r));
        }
      }
    }
  }
}

// Rows of one parameter; false (and an issue) when its expression failed.
// With `max_rows` (0: none) it stops adding values once the rows pass it; the caller reports the excess.
bool indexOne(const SearchParamDef& p, const JsonValue& resource, std::string_view type, std::vector<IndexRow>& rows,
              std::vector<IndexIssue>* issues, std::string_view own_base_url = {}, size_t max_rows = 0) {
  if (p.expression.empty() || p.type == SearchParamType::kSpecial) return true;
  auto report = [&](std::string message) {
    IndexIssue issue{p.code, std::move(message)};
    logIssue(type, issue);
    if (issues) issues->push_back(std::move(issue));
    return false;
  };
  auto expr = compiled(type, &p);
  if (!expr) return true;
  if (!expr->isOk()) return report("expression does not compile: " + expr->status().message());
  auto result = fp::evaluate(***expr, resource);
  if (!result.isOk()) return report(result.status().message());
  const size_t before = rows.size();
  if (p.type == SearchParamType::kComposite) {
    compositeRows(p, resource, type, *result, rows);
  } else {
    RowBuilder builder(p, own_base_url, rows);
    for (const fp::Value& v : *result) {
      builder.add(v);
      if (max_rows != 0 && rows.size() > max_rows) return true;
    }
  }
  // `:missing` reads presence from the value rows (kPresentSuffix); only an element with nothing searchable of its
  // kind (a CodeableConcept with text only, a reference to a contained resource) needs a row of its own. A row
  // per present parameter cost a third more rows, and so SQL work, per create.
  const std::optional<IndexValueKind> own_kind = valueKindOf(p.type);
  const bool has_value_row =
      own_kind && std::any_of(rows.begin() + static_cast<std::ptrdiff_t>(before), rows.end(),
                              [&](const IndexRow& r) { return r.kind == *own_kind && r.param == p.code; });
  if (!result->empty() && !has_value_row) {
    IndexRow present;
    present.param = p.code + std::string(kPresentSuffix);
    present.kind = IndexValueKind::kToken;
    present.code = "1";
    rows.push_back(std::move(present));
  }
  return true;
}

Result<std::string_view> resourceTypeOf(const JsonValue& resource) {
  std::string_view type = member(&resource, "resourceType");
  if (type.empty() || !model().isResourceType(type)) {
    return invalidArgument("cannot index: not a resource with a known resourceType");
  }
  return type;
}

// Rows are deduplicated so that a value reached twice (e.g. a code and its CodeableConcept) is stored once.
void dedupe(std::vector<IndexRow>& rows) {
  auto key = [](const IndexRow& r) {
    return std::tie(r.param, r.kind, r.text, r.system, r.code, r.date_low, r.date_high, r.number, r.ref_type, r.ref_id);
  };
  std::sort(rows.begin(), rows.end(), [&](const IndexRow& a, const IndexRow& b) { return key(a) < key(b); });
  rows.erase(std::unique(rows.begin(), rows.end(), [&](const IndexRow& a, const IndexRow& b) { return key(a) == key(b); }),
             rows.end());
}

}  // namespace

std::optional<IndexValueKind> valueKindOf(SearchParamType type) {
  switch (type) {
    case SearchParamType::kString: return IndexValueKind::kString;
    case SearchParamType::kToken: return IndexValueKind::kToken;
    case SearchParamType::kDate: return IndexValueKind::kDate;
    case SearchParamType::kReference: return IndexValueKind::kReference;
    case SearchParamType::kNumber:
    case SearchParamType::kQuantity: return IndexValueKind::kNumber;
    case SearchParamType::kUri: return IndexValueKind::kUri;
    case SearchParamType::kComposite:
    case SearchParamType::kSpecial: return std::nullopt;
  }
  return std::nullopt;
}

const std::vector<const SearchParamDef*>& searchParamsFor(std::string_view type) {
  ParamCache& c = cache();
  {
    std::shared_lock lock(c.mutex);
    auto it = c.by_type.find(std::string(type));
    if (it != c.by_type.end()) return it->second;
  }
  std::vector<const SearchParamDef*> params = buildParams(type);
  std::unique_lock lock(c.mutex);
  return c.by_type.emplace(std::string(type), std::move(params)).first->second;
}

bool definedButNotIndexed(std::string_view type, std::string_view code) {
  const std::vector<std::string_view>* only = indexedOnly(type);
  if (!only || std::find(only->begin(), only->end(), code) != only->end()) return false;
  const auto& defined = model().searchParams(type);
  return std::any_of(defined.begin(), defined.end(), [&](const SearchParamDef* p) { return p->code == code; });
}

const SearchParamDef* findSearchParam(std::string_view type, std::string_view code) {
  for (const SearchParamDef* p : searchParamsFor(type)) {
    if (p->code == code) return p;
  }
  return nullptr;
}

Result<std::vector<IndexRow>> indexResource(const JsonValue& resource, std::vector<IndexIssue>* issues,
                                            const IndexOptions& options) {
  ASSIGN_OR_RETURN(std::string_view type, resourceTypeOf(resource));
  std::vector<IndexRow> rows;
  for (const SearchParamDef* p : searchParamsFor(type)) {
    if (p->code == "_lastUpdated" && options.last_updated) {
      IndexRow r;
      r.param = p->code;
      r.kind = IndexValueKind::kDate;
      r.date_low = r.date_high = options.last_updated->time_since_epoch().count();
      rows.push_back(std::move(r));  // its own presence (kPresentSuffix)
      continue;
    }
    indexOne(*p, resource, type, rows, issues, options.own_base_url, options.max_rows);
    // Checked before the sort of dedupe() and before the store sees a row: the work and memory of one write stay
    // proportional to the bound, not to what a 16 MB body can name (each value of a string parameter is several rows).
    if (options.max_rows != 0 && rows.size() > options.max_rows) {
      return Status(StatusCode::kResourceExhausted,
                    "the " + std::string(type) + " yields more than " + std::to_string(options.max_rows) +
                        " search index entries (limits.max_index_rows_per_resource), the excess at search parameter '" +
                        p->code + "'; split it into smaller resources");
    }
  }
  dedupe(rows);
  return rows;
}

Result<std::vector<IndexRow>> indexParameter(const JsonValue& resource, std::string_view code,
                                             std::vector<IndexIssue>* issues) {
  ASSIGN_OR_RETURN(std::string_view type, resourceTypeOf(resource));
  std::vector<IndexRow> rows;
  if (const SearchParamDef* p = findSearchParam(type, code)) indexOne(*p, resource, type, rows, issues);
  dedupe(rows);
  return rows;
}

}  // namespace planbro::gateway::search
