// GW-50: a Provenance for every change of an IP resource, written by the hook in the store transaction of the
// change itself (so there is never a change without its record, nor a record of a change rolled back). The gateway
// writes it with the transaction's own create, not through the write pipeline, so it never triggers itself; and
// clients cannot write Provenance at all (the guard below), so the record cannot be forged or edited.
#include <cstdio>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "ip_resource.h"
#include "planbro/fhir-model/model_info.h"
#include "planbro/fhir-model/resource_json.h"
#include "planbro/gateway/ip/ip_rules.h"
#include "planbro/gateway/search/indexer.h"
#include "planbro/gateway/store/resource_id.h"
#include "planbro/gateway/store/time_format.h"

namespace planbro::gateway::ip::internal {

using fhir::JsonDocument;
using fhir::JsonMember;
using fhir::JsonValue;

namespace {

constexpr std::string_view kParticipantType = "http://terminology.hl7.org/CodeSystem/provenance-participant-type";
constexpr std::string_view kDataOperation = "http://terminology.hl7.org/CodeSystem/v3-DataOperation";
constexpr std::string_view kPrincipalSystem = "http://planbro.no/fhir/NamingSystem/principal";
constexpr std::string_view kSourceSystem = "http://planbro.no/fhir/NamingSystem/source-system";

// A CodeableConcept of one coding; `display` empty: none.
JsonValue coding(JsonDocument& doc, std::string_view system, std::string_view code, std::string_view display = {}) {
  std::vector<JsonMember> c{{"system", doc.makeString(system)}, {"code", doc.makeString(code)}};
  if (!display.empty()) c.push_back({"display", doc.makeString(display)});
  const JsonValue one = doc.makeObject(c);
  const JsonMember codeable[] = {{"coding", doc.makeArray({&one, 1})}};
  return doc.makeObject(codeable);
}

// Who: a principal that is a FHIR reference ("Practitioner/123") is one; any other (a HelseID subject, a client
// id) is an identifier under planbro's principal system.
JsonValue principal(JsonDocument& doc, const std::string& who) {
  if (who.empty()) {
    const JsonMember m[] = {{"display", doc.makeString("planbro (no authenticated principal)")}};
    return doc.makeObject(m);
  }
  size_t slash = who.find('/');
  if (slash != std::string::npos && who.find('/', slash + 1) == std::string::npos &&
      fhir::ModelInfo::r4().isResourceType(std::string_view(who).substr(0, slash))) {
    const JsonMember m[] = {{"reference", doc.makeString(who)}};
    return doc.makeObject(m);
  }
  const JsonMember id[] = {{"system", doc.makeString(kPrincipalSystem)}, {"value", doc.makeString(who)}};
  const JsonMember m[] = {{"identifier", doc.makeObject(id)}, {"display", doc.makeString(who)}};
  return doc.makeObject(m);
}

struct Activity {
  std::string_view code;
  std::string_view display;
};

Activity activityOf(store::WriteResult::Outcome outcome) {
  if (outcome == store::WriteResult::Outcome::kCreated) return {"CREATE", "create"};
  if (outcome == store::WriteResult::Outcome::kDeleted) return {"DELETE", "delete"};
  return {"UPDATE", "update"};
}

// The outcome a write of this kind has when it writes a version (an update of a missing resource creates it: that
// write's plan does not fit and is not used).
store::WriteResult::Outcome expectedOutcome(ops::WriteKind kind) {
  if (kind == ops::WriteKind::kCreate) return store::WriteResult::Outcome::kCreated;
  if (kind == ops::WriteKind::kDelete) return store::WriteResult::Outcome::kDeleted;
  return store::WriteResult::Outcome::kUpdated;
}

JsonValue buildProvenance(JsonDocument& doc, const std::string& id, const std::string& target_ref,
                          const std::string& recorded, Activity activity, const ops::WriteOrigin& origin) {
  const JsonMember target_m[] = {{"reference", doc.makeString(target_ref)}};
  const JsonValue target = doc.makeObject(target_m);
  std::vector<JsonValue> agents;
  {
    // The agent types carry their code alone: the HL7 participant-type code says all a display would. They are
    // the same on every record, so `agent-type` is not indexed for Provenance (search/indexer.cc): the agents
    // are found by `agent` (the principal, and the source system below).
    std::vector<JsonMember> author{{"type", coding(doc, kParticipantType, "author")},
                                   {"who", principal(doc, origin.actor)}};
    if (!origin.on_behalf_of.empty()) author.push_back({"onBehalfOf", principal(doc, origin.on_behalf_of)});
    agents.push_back(doc.makeObject(author));
  }
  if (!origin.source_system.empty()) {
    // The system the change came through, as the device that assembled it (REST, an adapter, the loader).
    const JsonMember sid[] = {{"system", doc.makeString(kSourceSystem)}, {"value", doc.makeString(origin.source_system)}};
    const JsonMember who[] = {{"type", doc.makeString("Device")}, {"identifier", doc.makeObject(sid)},
                              {"display", doc.makeString(origin.source_system)}};
    const JsonMember agent[] = {{"type", coding(doc, kParticipantType, "assembler")},
                                {"who", doc.makeObject(who)}};
    agents.push_back(doc.makeObject(agent));
  }
  std::vector<JsonMember> members{{"resourceType", doc.makeString("Provenance")},
                                  {"id", doc.makeString(id)},
                                  {"target", doc.makeArray({&target, 1})},
                                  {"recorded", doc.makeString(recorded)},
                                  {"activity", coding(doc, kDataOperation, activity.code, activity.display)},
                                  {"agent", doc.makeArray(agents)}};
  return doc.makeObject(members);
}

std::string targetPrefix(const ops::PreparedWrite& write) {
  return write.intent.type + "/" + write.intent.id + "/_history/";
}

// The Provenance of one write, made before the writer turn: everything but the two values only the turn knows,
// the version number in the target reference and the time recorded. Its JSON is cut around them, and its index
// rows are those of the whole resource (the indexer drops a reference's _history, so the version changes no row;
// the rows of `recorded` and `_lastUpdated` are set in the turn).
struct ProvenancePlan final : ops::HookPlan {
  ops::WriteOrigin origin;             // whom it was made for: a write applied for another origin does not use it
  store::WriteResult::Outcome outcome;  // the activity it records
  std::string id;
  std::string head;    // up to the version number of the target reference
  std::string middle;  // from after the version number up to the recorded instant
  std::string tail;    // after the recorded instant
  std::vector<store::IndexRow> rows;
};

// A recorded instant the planned JSON holds in its place; any instant would do, it is cut out again.
constexpr std::string_view kRecordedStandIn = "2000-01-01T00:00:00.000000Z";
// The Provenance id and the target id a template holds in their places (valid FHIR ids, cut out again).
constexpr std::string_view kIdStandIn = "planbro-provenance-id-stand-in";
constexpr std::string_view kTargetStandIn = "planbro-provenance-target-stand-in";

// The Provenance of every write of one target type, activity and origin, with the Provenance id, the target id,
// the version and the recorded instant cut out: the JSON in five pieces around them and the index rows with the
// two ids as stand-ins. The gateway builds the Provenance, so all else is the same for every such write; a plan
// is then four string copies instead of a build, a serialisation and an indexing pass (docs/performance.md).
struct ProvenanceTemplate {
  std::string before_id, before_target, before_version, before_recorded, after_recorded;
  std::vector<store::IndexRow> rows;
};

bool mentions(std::string_view text, std::string_view stand_in) { return text.find(stand_in) != std::string_view::npos; }

// The template, or nullopt when the JSON or the rows do not have the expected shape (the plan is then built whole).
std::optional<ProvenanceTemplate> makeTemplate(const std::string& type, Activity activity,
                                               const ops::WriteOrigin& origin) {
  // A stand-in inside a value of the origin could not be told apart from the one cut out.
  for (const std::string* v : {&origin.actor, &origin.on_behalf_of, &origin.source_system}) {
    if (mentions(*v, "stand-in")) return std::nullopt;
  }
  JsonDocument doc;
  const std::string target_prefix = type + "/" + std::string(kTargetStandIn) + "/_history/";
  const JsonValue provenance = buildProvenance(doc, std::string(kIdStandIn), target_prefix + "1",
                                               std::string(kRecordedStandIn), activity, origin);
  const std::string json = fhir::writeResourceJson(provenance);
  // Definition order (resourceType, id, target, recorded, activity, agent): every stand-in's first match is its
  // own place, before anything a client named.
  const std::string id_at = "\"id\":\"" + std::string(kIdStandIn) + "\"";
  const std::string target_at = "\"target\":[{\"reference\":\"" + target_prefix;
  const std::string recorded_at = "\"recorded\":\"" + std::string(kRecordedStandIn) + "\"";
  const size_t id = json.find(id_at);
  if (id == std::string::npos) return std::nullopt;
  const size_t id_value = id + std::string_view("\"id\":\"").size();
  const size_t target = json.find(target_at, id_value);
  if (target == std::string::npos) return std::nullopt;
  const size_t target_value = target + std::string_view("\"target\":[{\"reference\":\"").size() + type.size() + 1;
  const size_t version = target + target_at.size();  // the "1"
  const size_t recorded = json.find(recorded_at, version);
  if (recorded == std::string::npos) return std::nullopt;
  const size_t instant = recorded + std::string_view("\"recorded\":\"").size();
  ProvenanceTemplate t;
  t.before_id = json.substr(0, id_value);
  t.before_target = json.substr(id_value + kIdStandIn.size(), target_value - id_value - kIdStandIn.size());
  t.before_version = json.substr(target_value + kTargetStandIn.size(), version - target_value - kTargetStandIn.size());
  t.before_recorded = json.substr(version + 1, instant - version - 1);
  t.after_recorded = json.substr(instant + kRecordedStandIn.size());
  if (mentions(t.after_recorded, "stand-in")) return std::nullopt;
  search::IndexOptions index;
  index.last_updated = store::Timestamp{};
  auto rows = search::indexResource(provenance, nullptr, index);
  if (!rows.isOk()) return std::nullopt;
  // The ids may stand only as whole values, which the plan replaces; any other use of them is not a template.
  for (const store::IndexRow& r : rows.value()) {
    for (const std::string* v : {&r.text, &r.system, &r.code, &r.ref_type, &r.ref_id}) {
      if (mentions(*v, "stand-in") && *v != kIdStandIn && *v != kTargetStandIn) return std::nullopt;
    }
  }
  t.rows = std::move(rows).value();
  return t;
}

// The templates made so far, bounded: a gateway sees few origins (one per principal and system), and when more
// come the set starts again rather than grow.
class TemplateCache {
 public:
  static constexpr size_t kMaxTemplates = 1024;

  std::shared_ptr<const ProvenanceTemplate> get(const std::string& type, Activity activity,
                                                const ops::WriteOrigin& origin) {
    std::string key;
    key.reserve(type.size() + activity.code.size() + origin.actor.size() + origin.on_behalf_of.size() +
                origin.source_system.size() + 4);
    key.append(type).push_back('\0');
    key.append(activity.code).push_back('\0');
    key.append(origin.actor).push_back('\0');
    key.append(origin.on_behalf_of).push_back('\0');
    key.append(origin.source_system);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = templates_.find(key);
      if (it != templates_.end()) return it->second;
    }
    std::optional<ProvenanceTemplate> made = makeTemplate(type, activity, origin);
    if (!made) return nullptr;
    auto shared = std::make_shared<const ProvenanceTemplate>(std::move(*made));
    std::lock_guard<std::mutex> lock(mutex_);
    if (templates_.size() >= kMaxTemplates) templates_.clear();
    templates_.emplace(std::move(key), shared);
    return shared;
  }

 private:
  std::mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<const ProvenanceTemplate>> templates_;
};

class ProvenanceHook final : public ops::TransactionHook {
 public:
  bool watches(std::string_view type) const override {
    return type == "CarePlan" || type == "CareTeam" || type == "Goal" || type == "Consent";
  }

  std::shared_ptr<const ops::HookPlan> plan(const ops::PreparedWrite& write, const ops::WriteOrigin& origin,
                                            const JsonValue* proposed) const override {
    // A delete, or an update of a version that is not an IP resource, records one only when the stored version
    // is one: the turn decides; only the writes whose record is certain are planned.
    if (!proposed || !isIpResource(write.intent.type, *proposed)) return nullptr;
    auto plan = std::make_shared<ProvenancePlan>();
    plan->origin = origin;
    plan->outcome = expectedOutcome(write.intent.kind);
    auto shape = templates_->get(write.intent.type, activityOf(plan->outcome), origin);
    if (!shape) return nullptr;  // written() builds it whole in the turn
    plan->id = store::newResourceId();
    plan->head.reserve(shape->before_id.size() + plan->id.size() + shape->before_target.size() +
                       write.intent.id.size() + shape->before_version.size());
    plan->head.append(shape->before_id).append(plan->id).append(shape->before_target);
    plan->head.append(write.intent.id).append(shape->before_version);
    plan->middle = shape->before_recorded;
    plan->tail = shape->after_recorded;
    plan->rows = shape->rows;
    for (store::IndexRow& r : plan->rows) {
      for (std::string* v : {&r.text, &r.system, &r.code, &r.ref_type, &r.ref_id}) {
        if (*v == kIdStandIn) {
          *v = plan->id;
        } else if (*v == kTargetStandIn) {
          *v = write.intent.id;
        }
      }
    }
    return plan;
  }

  Status written(ops::HookContext& context, const ops::PreparedWrite& write, const store::WriteResult& result,
                 const JsonValue* current, const JsonValue* proposed) const override {
    const std::string& type = write.intent.type;
    const bool ip = (proposed && isIpResource(type, *proposed)) || (current && isIpResource(type, *current));
    if (!ip) return Status::ok();
    const std::string recorded = store::formatInstant(result.last_updated);
    const auto* planned = dynamic_cast<const ProvenancePlan*>(write.planOf(this));
    if (planned && planned->outcome == result.outcome && sameOrigin(planned->origin, context.origin)) {
      // Inside the writer turn only the two values it knows are put in.
      std::string json;
      json.reserve(planned->head.size() + planned->middle.size() + planned->tail.size() + 48);
      json.append(planned->head).append(std::to_string(result.version)).append(planned->middle);
      json.append(recorded).append(planned->tail);
      ASSIGN_OR_RETURN(store::WriteResult stored,
                       context.tx.create("Provenance", store::ResourceContent{std::move(json), {}},
                                         std::string_view(planned->id)));
      std::vector<store::IndexRow> rows = planned->rows;
      const auto recorded_range = search::parseDateRange(recorded);
      const int64_t last_updated = stored.last_updated.time_since_epoch().count();
      for (store::IndexRow& r : rows) {
        if (r.param == "_lastUpdated") {
          r.date_low = r.date_high = last_updated;
        } else if (r.param == "recorded" && recorded_range) {
          r.date_low = recorded_range->low;
          r.date_high = recorded_range->high;
        }
      }
      return context.tx.addIndex("Provenance", planned->id, rows);
    }
    JsonDocument doc;
    const std::string id = store::newResourceId();
    const JsonValue provenance = buildProvenance(doc, id, targetPrefix(write) + std::to_string(result.version),
                                                 recorded, activityOf(result.outcome), context.origin);
    const std::string json = fhir::writeResourceJson(provenance);
    ASSIGN_OR_RETURN(store::WriteResult stored,
                     context.tx.create("Provenance", store::ResourceContent{json, {}}, std::string_view(id)));
    search::IndexOptions index;
    index.last_updated = stored.last_updated;
    ASSIGN_OR_RETURN(std::vector<store::IndexRow> rows, search::indexResource(provenance, nullptr, index));
    return context.tx.addIndex("Provenance", id, rows);
  }

 private:
  static bool sameOrigin(const ops::WriteOrigin& a, const ops::WriteOrigin& b) {
    return a.actor == b.actor && a.on_behalf_of == b.on_behalf_of && a.source_system == b.source_system;
  }

  std::shared_ptr<TemplateCache> templates_ = std::make_shared<TemplateCache>();
};

class ProvenanceGuard final : public ops::TransactionHook {
 public:
  explicit ProvenanceGuard(std::set<std::string> writers) : writers_(std::move(writers)) {}
  bool watches(std::string_view type) const override { return type == "Provenance"; }
  Result<ops::KeyChanges> keysInTransaction(ops::HookContext& context, const ops::PreparedWrite& write,
                                            const JsonValue* current, const JsonValue* proposed) const override {
    (void)write;
    (void)current;
    (void)proposed;
    if (writers_.count(context.origin.source_system) != 0) return ops::KeyChanges{};
    return violation(context.outcome, StatusCode::kPermissionDenied, "forbidden", "GW-50", "Provenance",
                     "Provenance is recorded by the gateway for every change and is read-only: it cannot be created, "
                     "changed or deleted through the API",
                     "Provenance registreres av gatewayen ved hver endring og kan bare leses: den kan ikke opprettes, "
                     "endres eller slettes gjennom API-et");
  }

 private:
  std::set<std::string> writers_;
};

}  // namespace

std::shared_ptr<const ops::TransactionHook> makeProvenanceHook() { return std::make_shared<ProvenanceHook>(); }
std::shared_ptr<const ops::TransactionHook> makeProvenanceGuard(std::set<std::string> writers) {
  return std::make_shared<ProvenanceGuard>(std::move(writers));
}

}  // namespace planbro::gateway::ip::internal
