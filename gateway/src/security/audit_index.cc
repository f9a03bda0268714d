// The index rows of an AuditEvent from its record (audit_log.h, auditEventIndexRows). The log's thread writes one
// AuditEvent per access, and indexing it through the generic indexer (a parse, then a FHIRPath evaluation per R4
// search parameter) cost more than the rest of the event. The event's shape is the gateway's own and fixed
// (audit_event_shape.h), so each parameter's rows are read off the parts directly, by the indexer's own rules
// (search/indexer.cc RowBuilder: token systems canonical, `code` elements with their bound system, strings
// normalised with an `:exact` twin, Coding.display as `:text`, Reference.identifier as `:identifier`, `:present`
// where a present element has no value row). The parameter list is the indexer's (searchParamsFor): a parameter
// this file does not know is handed to the indexer over the parsed JSON, so a change there (more or fewer
// parameters) never leaves the trail indexed differently from any other AuditEvent. A test compares every row.
#include <algorithm>
#include <tuple>

#include "audit_event_shape.h"
#include "planbro/fhir-model/json.h"
#include "planbro/fhir-model/model_info.h"
#include "planbro/gateway/search/indexer.h"
#include "planbro/gateway/security/audit_log.h"

namespace planbro::gateway::security {
namespace {

using audit_shape::Coding;
using audit_shape::Entity;
using audit_shape::Event;
using fhir::SearchParamType;
using store::IndexRow;
using store::IndexValueKind;

class Rows {
 public:
  explicit Rows(std::vector<IndexRow>& rows) : rows_(rows) {}

  // One parameter at a time: rows are added under `code`; done() adds `:present` when the element was there but
  // left no row of the parameter's own kind.
  void begin(std::string_view code, SearchParamType type) {
    code_ = code;
    kind_ = search::valueKindOf(type);
    first_ = rows_.size();
    present_ = false;
  }
  void present() { present_ = true; }
  void done() {
    if (!present_) return;
    const bool has_value_row = kind_ && std::any_of(rows_.begin() + static_cast<std::ptrdiff_t>(first_), rows_.end(),
                                                    [&](const IndexRow& r) { return r.kind == *kind_ && r.param == code_; });
    if (!has_value_row) token(suffixed(search::kPresentSuffix), "", "1");
  }

  std::string suffixed(std::string_view suffix) const {
    std::string p(code_);
    p += suffix;
    return p;
  }
  void token(std::string param, std::string_view system, std::string_view code) {
    IndexRow& r = add(std::move(param), IndexValueKind::kToken);
    r.system = search::canonicalTokenSystem(system);
    r.code = code;
  }
  void tokenText(std::string_view text) {
    std::string norm = search::normalizeString(text);
    if (!norm.empty()) add(suffixed(search::kTextSuffix), IndexValueKind::kString).text = std::move(norm);
  }
  // A Coding element (or the one coding of a CodeableConcept without text).
  void coding(const Coding& c) {
    present();
    if (!c.code.empty()) token(std::string(code_), c.system, c.code);
    tokenText(c.display);
  }
  // A `code` or `string` primitive as a token: `system` is the code's bound system ("" for strings).
  void primitiveToken(std::string_view system, std::string_view value) {
    if (value.empty()) return;
    present();
    token(std::string(code_), system, value);
  }
  void string(std::string_view text) {
    if (text.empty()) return;
    present();
    std::string norm = search::normalizeString(text);
    if (norm.empty()) return;
    add(std::string(code_), IndexValueKind::kString).text = std::move(norm);
    add(suffixed(search::kExactSuffix), IndexValueKind::kString).text = text;
  }
  void uri(std::string_view text) {
    if (text.empty()) return;
    present();
    add(std::string(code_), IndexValueKind::kUri).text = text;
  }
  void date(std::string_view text) {
    if (text.empty()) return;
    present();
    if (auto range = search::parseDateRange(text)) {
      IndexRow& r = add(std::string(code_), IndexValueKind::kDate);
      r.date_low = range->low;
      r.date_high = range->high;
    }
  }
  // A Reference element: its `reference` (relative, absolute or other text) and its identifier.
  void reference(std::string_view ref, std::string_view identifier_system = {}, std::string_view identifier_value = {}) {
    present();
    referenceString(ref);
    if (!identifier_value.empty()) token(suffixed(search::kIdentifierSuffix), identifier_system, identifier_value);
  }

 private:
  // The indexer's rule (search::referenceRowShape); the trail has no base URL of its own to strip.
  void referenceString(std::string_view ref) {
    const search::ReferenceRowShape shape = search::referenceRowShape(ref);
    if (shape.kind == search::ReferenceRowShape::Kind::kText) {
      add(std::string(code_), IndexValueKind::kReference).text = ref;
    } else if (shape.kind == search::ReferenceRowShape::Kind::kTyped) {
      IndexRow& r = add(std::string(code_), IndexValueKind::kReference);
      r.ref_type = shape.type;
      r.ref_id = shape.id;
    }
  }
  IndexRow& add(std::string param, IndexValueKind kind) {
    IndexRow& r = rows_.emplace_back();
    r.param = std::move(param);
    r.kind = kind;
    return r;
  }

  std::vector<IndexRow>& rows_;
  std::string_view code_;
  std::optional<IndexValueKind> kind_;
  size_t first_ = 0;
  bool present_ = false;
};

// The type FHIRPath's resolve() gives an unresolvable reference (fhirpath functions.cc, resolveReference): the
// segment before the last '/' once any `/_history/n` is cut off.
std::string_view resolvedType(std::string_view ref) {
  if (ref.empty() || ref[0] == '#') return {};
  if (size_t h = ref.find("/_history/"); h != std::string_view::npos) ref = ref.substr(0, h);
  size_t slash = ref.rfind('/');
  if (slash == std::string_view::npos || slash == 0) return {};
  size_t prev = ref.rfind('/', slash - 1);
  size_t from = prev == std::string_view::npos ? 0 : prev + 1;
  return ref.substr(from, slash - from);
}

// The rows of `code`; false when this file does not know the parameter.
bool rowsOf(std::string_view code, const Event& e, std::string_view id, Rows& rows) {
  auto entityRef = [](const Entity& x) { return x.what_kind == Entity::What::kReference ? x.what : std::string_view(); };
  if (code == "_id") {
    rows.primitiveToken("", id);
  } else if (code == "action") {
    const char action[2] = {e.action, 0};
    rows.primitiveToken("http://hl7.org/fhir/audit-event-action", action);
  } else if (code == "address") {
    for (size_t i = 0; i < e.agent_count; ++i) rows.string(e.agents[i].address);
  } else if (code == "agent") {
    for (size_t i = 0; i < e.agent_count; ++i) {
      const audit_shape::Who& w = e.agents[i].who;
      rows.reference({}, w.identifier ? w.system : std::string_view(), w.identifier ? w.value : std::string_view());
    }
  } else if (code == "agent-role") {
    for (size_t i = 0; i < e.agent_count; ++i) {
      if (!e.agents[i].role.code.empty()) rows.coding(e.agents[i].role);
    }
  } else if (code == "date") {
    rows.date(e.recordedText());
  } else if (code == "entity") {
    for (size_t i = 0; i < e.entity_count; ++i) {
      const Entity& x = e.entities[i];
      rows.reference(entityRef(x), {}, x.what_kind == Entity::What::kIdentifier ? x.what : std::string_view());
    }
  } else if (code == "entity-role") {
    for (size_t i = 0; i < e.entity_count; ++i) {
      if (!e.entities[i].role.code.empty()) rows.coding(e.entities[i].role);
    }
  } else if (code == "entity-type") {
    for (size_t i = 0; i < e.entity_count; ++i) rows.coding(e.entities[i].type);
  } else if (code == "outcome") {
    rows.primitiveToken("http://hl7.org/fhir/audit-event-outcome", e.outcome);
  } else if (code == "patient") {
    // agent.who.where(resolve() is Patient) | entity.what.where(resolve() is Patient): agents name people by
    // identifier (nothing to resolve); entities by reference.
    for (size_t i = 0; i < e.entity_count; ++i) {
      if (resolvedType(entityRef(e.entities[i])) == "Patient") rows.reference(entityRef(e.entities[i]));
    }
  } else if (code == "policy") {
    for (size_t i = 0; i < e.agent_count; ++i) rows.uri(e.agents[i].policy);
  } else if (code == "site") {
    rows.primitiveToken("", e.site);
  } else if (code == "source") {
    rows.reference({});  // source.observer: a display only
  } else if (code == "subtype") {
    for (size_t i = 0; i < e.subtypes; ++i) rows.coding(e.subtype[i]);
  } else if (code == "type") {
    rows.coding(e.type);
  } else if (code == "agent-name" || code == "altid" || code == "entity-name" || code == "_profile" ||
             code == "_security" || code == "_source" || code == "_tag") {
    // agent.name, agent.altId, entity.name and meta are never written.
  } else {
    return false;
  }
  return true;
}

}  // namespace

std::vector<IndexRow> auditEventIndexRows(const AuditRecord& record, std::string_view id, std::string_view observer,
                                          store::Timestamp last_updated) {
  audit_shape::Event e;
  audit_shape::shapeOf(record, observer, e);
  std::vector<IndexRow> rows;
  rows.reserve(64);
  Rows builder(rows);
  std::optional<fhir::JsonDocument> parsed;  // only for a parameter this file does not know
  for (const fhir::SearchParamDef* p : search::searchParamsFor("AuditEvent")) {
    if (p->code == "_lastUpdated") {
      IndexRow& r = rows.emplace_back();
      r.param = p->code;
      r.kind = IndexValueKind::kDate;
      r.date_low = r.date_high = last_updated.time_since_epoch().count();
      continue;
    }
    if (p->expression.empty() || p->type == SearchParamType::kSpecial) continue;
    builder.begin(p->code, p->type);
    if (p->type != SearchParamType::kComposite && rowsOf(p->code, e, id, builder)) {
      builder.done();
      continue;
    }
    if (!parsed) {
      auto doc = fhir::JsonDocument::parse(auditEventJson(record, id, observer));
      if (!doc.isOk()) continue;  // never: the writer's JSON (a test parses every shape)
      parsed.emplace(std::move(doc).value());
    }
    auto more = search::indexParameter(parsed->root(), p->code);
    if (more.isOk()) rows.insert(rows.end(), std::make_move_iterator(more->begin()), std::make_move_iterator(more->end()));
  }
  // The indexer's order and deduplication (a value reached twice is one row).
  auto key = [](const IndexRow& r) {
    return std::tie(r.param, r.kind, r.text, r.system, r.code, r.date_low, r.date_high, r.number, r.ref_type, r.ref_id);
  };
  std::sort(rows.begin(), rows.end(), [&](const IndexRow& a, const IndexRow& b) { return key(a) < key(b); });
  rows.erase(std::unique(rows.begin(), rows.end(), [&](const IndexRow& a, const IndexRow& b) { return key(a) == key(b); }),
             rows.end());
  return rows;
}

}  // namespace planbro::gateway::security
