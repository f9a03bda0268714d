// AuditRecord → AuditEvent (R4), in the shape of IHE BALP (Basic Audit Log Patterns): type `rest` with the
// restful-interaction subtype for access decisions and writes, DICOM 110114/110122 for authentication; agents in
// BALP's slices (the user with the OAuth token's jti as policy, the client as Source Role ID, the server as
// Destination Role ID); entities for the patient, the resource and the X-Request-Id. The shape is built once as
// parts (audit_event_shape.h) and written straight into one string in the order the R4 definitions give, every
// value escaped by writeJsonString: the bytes are already what writeResourceJson would make of them (a test holds
// it), so the log's thread stores them as they are, with no parse and re-serialisation.
#include <cstdio>
#include <string>

#include "audit_event_shape.h"
#include "planbro/fhir-model/json.h"
#include "planbro/gateway/security/audit_log.h"

namespace planbro::gateway::security {
namespace audit_shape {
namespace {

constexpr std::string_view kDicom = "http://dicom.nema.org/resources/ontology/DCM";
constexpr std::string_view kHprSystem = "urn:oid:2.16.578.1.12.4.1.4.4";
constexpr std::string_view kPidSystem = "urn:oid:2.16.578.1.12.4.1.4.1";
constexpr std::string_view kOrgSystem = "urn:oid:2.16.578.1.12.4.1.4.101";
constexpr std::string_view kClientSystem = "http://planbro.no/fhir/NamingSystem/helseid-client-id";
constexpr std::string_view kPrincipalSystem = "http://planbro.no/fhir/NamingSystem/principal";
constexpr std::string_view kAgentRole = "http://planbro.no/fhir/CodeSystem/audit-agent-role";
constexpr std::string_view kActReason = "http://terminology.hl7.org/CodeSystem/v3-ActReason";
constexpr std::string_view kEntityType = "http://terminology.hl7.org/CodeSystem/audit-entity-type";
constexpr std::string_view kObjectRole = "http://terminology.hl7.org/CodeSystem/object-role";

size_t formatInstant(int64_t us, std::array<char, 32>& out) {
  using namespace std::chrono;
  const sys_time<microseconds> t{microseconds(us)};
  const sys_days day = floor<days>(t);
  const year_month_day ymd{day};
  const hh_mm_ss<microseconds> clock{t - day};
  const int n = std::snprintf(out.data(), out.size(), "%04d-%02u-%02uT%02ld:%02ld:%02ld.%06ldZ",
                              static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                              static_cast<unsigned>(ymd.day()), static_cast<long>(clock.hours().count()),
                              static_cast<long>(clock.minutes().count()), static_cast<long>(clock.seconds().count()),
                              static_cast<long>(clock.subseconds().count()));
  return n < 0 ? 0 : std::min(static_cast<size_t>(n), out.size() - 1);
}

// The R4 restful-interaction code of a planbro interaction label.
std::string_view restfulInteraction(std::string_view i) {
  for (std::string_view known : {"read", "vread", "update", "patch", "delete", "history-instance", "history-type",
                                 "history-system", "create", "search-type", "search-system", "capabilities",
                                 "transaction", "batch"}) {
    if (i == known) return known;
  }
  return "operation";
}

// ---- writing ------------------------------------------------------------------------------------------------------

class Writer {
 public:
  explicit Writer(std::string& out) : out_(out) {}
  Writer& raw(std::string_view s) {
    out_ += s;
    return *this;
  }
  Writer& str(std::string_view s) {
    fhir::writeJsonString(s, out_);
    return *this;
  }
  Writer& coding(const Coding& c) {
    raw("{\"system\":").str(c.system).raw(",\"code\":").str(c.code);
    if (!c.display.empty()) raw(",\"display\":").str(c.display);
    return raw("}");
  }
  Writer& codeable(const Coding& c) { return raw("{\"coding\":[").coding(c).raw("]}"); }
  Writer& who(const Who& w) {
    if (!w.identifier) return raw("{\"display\":").str(w.value).raw("}");
    return raw("{\"identifier\":{\"system\":").str(w.system).raw(",\"value\":").str(w.value).raw("}}");
  }
  Writer& agent(const Agent& a) {
    raw("{\"type\":").codeable(a.type);
    if (!a.role.code.empty()) raw(",\"role\":[").codeable(a.role).raw("]");
    raw(",\"who\":").who(a.who).raw(a.requestor ? ",\"requestor\":true" : ",\"requestor\":false");
    if (!a.policy.empty()) raw(",\"policy\":[").str(a.policy).raw("]");
    if (!a.address.empty()) raw(",\"network\":{\"address\":").str(a.address).raw(",\"type\":\"2\"}");
    if (!a.purpose_of_use.code.empty()) raw(",\"purposeOfUse\":[").codeable(a.purpose_of_use).raw("]");
    return raw("}");
  }
  Writer& entity(const Entity& e) {
    switch (e.what_kind) {
      case Entity::What::kReference: raw("{\"what\":{\"reference\":").str(e.what).raw("}"); break;
      case Entity::What::kDisplay: raw("{\"what\":{\"display\":").str(e.what).raw("}"); break;
      case Entity::What::kIdentifier: raw("{\"what\":{\"identifier\":{\"value\":").str(e.what).raw("}}"); break;
    }
    raw(",\"type\":").coding(e.type);
    if (!e.role.code.empty()) raw(",\"role\":").coding(e.role);
    return raw("}");
  }

 private:
  std::string& out_;
};

}  // namespace

AgentFields agentFieldsOf(const AuditRecord& r) {
  if (r.principal) {
    const Principal& p = *r.principal;
    return {principalKindName(p.kind), p.subject,    p.client_id,           p.token_id,
            p.hpr_number,              p.pid,        p.organization_number, p.child_organization_number};
  }
  const AuditAgent& a = r.who;
  return {a.kind, a.subject, a.client_id, a.token_id, a.hpr_number, a.pid, a.organization_number,
          a.child_organization_number};
}

void shapeOf(const AuditRecord& r, std::string_view observer, Event& e) {
  const bool auth = r.category == AuditCategory::kAuthentication;
  const AgentFields a = agentFieldsOf(r);
  e.type = auth ? Coding{kDicom, "110114", "User Authentication"}
                : Coding{"http://terminology.hl7.org/CodeSystem/audit-event-type", "rest", "Restful Operation"};
  e.subtypes = 0;
  e.subtype[e.subtypes++] = auth ? Coding{kDicom, "110122", "Login"}
                                 : Coding{"http://hl7.org/fhir/restful-interaction", restfulInteraction(r.interaction), {}};
  // The access decision itself, where it is not plain permit: deny, emergency (nødtilgang), redact.
  if (!auth && r.decision != AuditDecision::kPermit) {
    std::string_view d = r.decision == AuditDecision::kDeny        ? "deny"
                         : r.decision == AuditDecision::kEmergency ? "emergency"
                                                                   : "redact";
    e.subtype[e.subtypes++] = Coding{"http://planbro.no/fhir/CodeSystem/access-decision", d, {}};
  }
  e.action = r.action;
  e.recorded_size = formatInstant(r.recorded_us, e.recorded);
  e.outcome = r.outcome == AuditOutcome::kSuccess ? "0" : r.outcome == AuditOutcome::kMinorFailure ? "4" : "8";
  e.outcome_desc = r.outcome_text;
  e.purpose_of_event = r.purpose_of_use.empty() ? Coding{} : Coding{kActReason, r.purpose_of_use, {}};

  // The user: who the token names (HPR number, pid, else the subject), with the token's jti as BALP's policy.
  e.agent_count = 0;
  Agent& user = e.agents[e.agent_count++];
  user = Agent{};
  user.type = {"https://profiles.ihe.net/ITI/BALP/CodeSystem/UserAgentTypes", "UserOauthAgent",
               "User OAuth Agent participant"};
  if (!a.kind.empty()) user.role = {kAgentRole, a.kind, {}};
  if (!a.hpr_number.empty()) {
    user.who = {true, kHprSystem, a.hpr_number};
  } else if (!a.pid.empty()) {
    user.who = {true, kPidSystem, a.pid};
  } else if (!a.subject.empty()) {
    user.who = {true, kPrincipalSystem, a.subject};
  } else if (!a.client_id.empty()) {
    user.who = {true, kClientSystem, a.client_id};
  } else {
    user.who = {false, {}, "unauthenticated"};
  }
  user.requestor = true;
  user.policy = a.token_id;
  user.purpose_of_use = e.purpose_of_event;
  if (!r.on_behalf_of.empty()) {
    Agent& g = e.agents[e.agent_count++];
    g = Agent{};
    g.type = {kAgentRole, "on-behalf-of", "acted for"};
    g.who = {true, kPrincipalSystem, r.on_behalf_of};
  }
  if (!a.organization_number.empty()) {
    Agent& o = e.agents[e.agent_count++];
    o = Agent{};
    o.type = {kAgentRole, "organization", "the requester's organisation"};
    o.who = {true, kOrgSystem, a.child_organization_number.empty() ? a.organization_number : a.child_organization_number};
  }
  // BALP: the client is the Source Role ID, the server the Destination Role ID.
  Agent& source = e.agents[e.agent_count++];
  source = Agent{};
  source.type = {kDicom, "110153", "Source Role ID"};
  source.who = a.client_id.empty() ? Who{false, {}, "unknown client"} : Who{true, kClientSystem, a.client_id};
  source.address = r.remote_address;
  Agent& destination = e.agents[e.agent_count++];
  destination = Agent{};
  destination.type = {kDicom, "110152", "Destination Role ID"};
  destination.who = {false, {}, observer};

  e.site = r.source_system;
  e.observer = observer;
  e.source_type = {"http://terminology.hl7.org/CodeSystem/security-source-type", "4", "Application Server"};

  e.entity_count = 0;
  if (!r.patient.empty()) {
    e.entities[e.entity_count++] = {Entity::What::kReference, r.patient, {kEntityType, "1", "Person"},
                                    {kObjectRole, "1", "Patient"}};
  }
  if (!r.resource_type.empty()) {
    e.resource_what = r.resource_type;
    if (!r.resource_id.empty()) (e.resource_what += '/') += r.resource_id;
    if (!r.resource_id.empty() && r.resource_version > 0) {
      e.resource_what += "/_history/";
      e.resource_what += std::to_string(r.resource_version);
    }
    e.entities[e.entity_count++] = {r.resource_id.empty() ? Entity::What::kDisplay : Entity::What::kReference,
                                    e.resource_what, {kEntityType, "2", "System Object"},
                                    {kObjectRole, "4", "Domain Resource"}};
  }
  if (!r.correlation_id.empty()) {
    e.entities[e.entity_count++] = {Entity::What::kIdentifier, r.correlation_id,
                                    {"https://profiles.ihe.net/ITI/BALP/CodeSystem/BasicAuditEntityType",
                                     "XrequestId", "X-Request-Id"},
                                    {}};
  }
}

}  // namespace audit_shape

char auditActionOf(std::string_view i) {
  if (i == "create") return 'C';
  if (i == "update" || i == "patch") return 'U';
  if (i == "delete") return 'D';
  if (i == "read" || i == "vread" || i.starts_with("search") || i.starts_with("history") || i == "capabilities") {
    return 'R';
  }
  return 'E';
}

void writeAuditEventJson(const AuditRecord& r, std::string_view id, std::string_view observer, std::string& out) {
  using namespace audit_shape;
  Event e;
  shapeOf(r, observer, e);
  Writer w(out);
  w.raw("{\"resourceType\":\"AuditEvent\",\"id\":").str(id);
  w.raw(",\"type\":").coding(e.type).raw(",\"subtype\":[");
  for (size_t i = 0; i < e.subtypes; ++i) (i ? w.raw(",") : w).coding(e.subtype[i]);
  const char action[2] = {e.action, 0};
  w.raw("],\"action\":").str(action).raw(",\"recorded\":").str(e.recordedText());
  w.raw(",\"outcome\":").str(e.outcome);
  if (!e.outcome_desc.empty()) w.raw(",\"outcomeDesc\":").str(e.outcome_desc);
  if (!e.purpose_of_event.code.empty()) w.raw(",\"purposeOfEvent\":[").codeable(e.purpose_of_event).raw("]");
  w.raw(",\"agent\":[");
  for (size_t i = 0; i < e.agent_count; ++i) (i ? w.raw(",") : w).agent(e.agents[i]);
  w.raw("],\"source\":{");
  if (!e.site.empty()) w.raw("\"site\":").str(e.site).raw(",");
  w.raw("\"observer\":{\"display\":").str(e.observer).raw("},\"type\":[").coding(e.source_type).raw("]}");
  if (e.entity_count > 0) {
    w.raw(",\"entity\":[");
    for (size_t i = 0; i < e.entity_count; ++i) (i ? w.raw(",") : w).entity(e.entities[i]);
    w.raw("]");
  }
  w.raw("}");
}

std::string auditEventJson(const AuditRecord& record, std::string_view id, std::string_view observer) {
  std::string out;
  out.reserve(1536);
  writeAuditEventJson(record, id, observer, out);
  return out;
}

AuditAgent auditAgentOf(const Principal& p) {
  AuditAgent a;
  a.kind = std::string(principalKindName(p.kind));
  a.subject = p.subject;
  a.client_id = p.client_id;
  a.token_id = p.token_id;
  a.hpr_number = p.hpr_number;
  a.pid = p.pid;
  a.organization_number = p.organization_number;
  a.child_organization_number = p.child_organization_number;
  return a;
}

}  // namespace planbro::gateway::security
