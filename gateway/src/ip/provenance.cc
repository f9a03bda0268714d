// GW-50: a Provenance for every change of an IP resource, written by the hook in the store transaction of the
// change itself (so there is never a change without its record, nor a record of a change rolled back). The gateway
// writes it with the transaction's own create, not through the write pipeline, so it never triggers itself; and
// clients cannot write Provenance at all (the guard below), so the record cannot be forged or edited.
#include <cstdio>
#include <memory>

#include "ip_resource.h"
#include "planbro/fhir-model/model_info.h"
#include "planbro/fhir-model/resource_json.h"
#include "planbro/gateway/ip/ip_rules.h"
#include "planbro/gateway/search/indexer.h"
#include "planbro/gateway/store/resource_id.h"

namespace planbro::gateway::ip::internal {

using fhir::JsonDocument;
using fhir::JsonMember;
using fhir::JsonValue;

namespace {

constexpr std::string_view kParticipantType = "http://terminology.hl7.org/CodeSystem/provenance-participant-type";
constexpr std::string_view kDataOperation = "http://terminology.hl7.org/CodeSystem/v3-DataOperation";
constexpr std::string_view kPrincipalSystem = "http://planbro.no/fhir/NamingSystem/principal";
constexpr std::string_view kSourceSystem = "http://planbro.no/fhir/NamingSystem/source-system";

std::string instantOf(store::Timestamp t) {
  using namespace std::chrono;
  const sys_days day = floor<days>(t);
  const year_month_day ymd{day};
  const hh_mm_ss<microseconds> clock{t - day};
  char out[40];
  std::snprintf(out, sizeof out, "%04d-%02u-%02uT%02ld:%02ld:%02ld.%06ldZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<long>(clock.hours().count()), static_cast<long>(clock.minutes().count()),
                static_cast<long>(clock.seconds().count()), static_cast<long>(clock.subseconds().count()));
  return out;
}

JsonValue coding(JsonDocument& doc, std::string_view system, std::string_view code, std::string_view display) {
  const JsonMember c[] = {{"system", doc.makeString(system)}, {"code", doc.makeString(code)},
                          {"display", doc.makeString(display)}};
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

class ProvenanceHook final : public ops::TransactionHook {
 public:
  bool watches(std::string_view type) const override {
    return type == "CarePlan" || type == "CareTeam" || type == "Goal" || type == "Consent";
  }

  Status written(ops::HookContext& context, const ops::PreparedWrite& write, const store::WriteResult& result,
                 const JsonValue* current, const JsonValue* proposed) const override {
    const std::string& type = write.intent.type;
    const bool ip = (proposed && isIpResource(type, *proposed)) || (current && isIpResource(type, *current));
    if (!ip) return Status::ok();
    std::string_view code = "UPDATE", display = "update";
    if (result.outcome == store::WriteResult::Outcome::kCreated) code = "CREATE", display = "create";
    if (result.outcome == store::WriteResult::Outcome::kDeleted) code = "DELETE", display = "delete";

    JsonDocument doc;
    const std::string id = store::newResourceId();
    const std::string target_ref = type + "/" + write.intent.id + "/_history/" + std::to_string(result.version);
    const JsonMember target_m[] = {{"reference", doc.makeString(target_ref)}};
    const JsonValue target = doc.makeObject(target_m);

    std::vector<JsonValue> agents;
    {
      std::vector<JsonMember> author{{"type", coding(doc, kParticipantType, "author", "Author")},
                                     {"who", principal(doc, context.origin.actor)}};
      if (!context.origin.on_behalf_of.empty()) {
        author.push_back({"onBehalfOf", principal(doc, context.origin.on_behalf_of)});
      }
      agents.push_back(doc.makeObject(author));
    }
    if (!context.origin.source_system.empty()) {
      // The system the change came through, as the device that assembled it (REST, an adapter, the loader).
      const JsonMember sid[] = {{"system", doc.makeString(kSourceSystem)},
                                {"value", doc.makeString(context.origin.source_system)}};
      const JsonMember who[] = {{"type", doc.makeString("Device")}, {"identifier", doc.makeObject(sid)},
                                {"display", doc.makeString(context.origin.source_system)}};
      const JsonMember agent[] = {{"type", coding(doc, kParticipantType, "assembler", "Assembler")},
                                  {"who", doc.makeObject(who)}};
      agents.push_back(doc.makeObject(agent));
    }
    std::vector<JsonMember> members{{"resourceType", doc.makeString("Provenance")},
                                    {"id", doc.makeString(id)},
                                    {"target", doc.makeArray({&target, 1})},
                                    {"recorded", doc.makeString(instantOf(result.last_updated))},
                                    {"activity", coding(doc, kDataOperation, code, display)},
                                    {"agent", doc.makeArray(agents)}};
    const JsonValue provenance = doc.makeObject(members);
    const std::string json = fhir::writeResourceJson(provenance);
    ASSIGN_OR_RETURN(store::WriteResult stored,
                     context.tx.create("Provenance", store::ResourceContent{json, {}}, std::string_view(id)));
    search::IndexOptions index;
    index.last_updated = stored.last_updated;
    ASSIGN_OR_RETURN(std::vector<store::IndexRow> rows, search::indexResource(provenance, nullptr, index));
    return context.tx.addIndex("Provenance", id, rows);
  }
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
