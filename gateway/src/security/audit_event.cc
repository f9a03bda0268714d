// AuditRecord → AuditEvent (R4), in the shape of IHE BALP (Basic Audit Log Patterns): type `rest` with the
// restful-interaction subtype for access decisions and writes, DICOM 110114/110122 for authentication; agents in
// BALP's slices (the user with the OAuth token's jti as policy, the client as Source Role ID, the server as
// Destination Role ID); entities for the patient, the resource and the X-Request-Id. The JSON is built as text
// (every value escaped by writeJsonString) in R4 element order; the log re-serialises it canonically.
#include <cstdio>
#include <string>

#include "planbro/fhir-model/json.h"
#include "planbro/fhir-model/json_quoted.h"
#include "planbro/gateway/security/audit_log.h"

namespace planbro::gateway::security {
namespace {

constexpr std::string_view kDicom = "http://dicom.nema.org/resources/ontology/DCM";
constexpr std::string_view kHprSystem = "urn:oid:2.16.578.1.12.4.1.4.4";
constexpr std::string_view kPidSystem = "urn:oid:2.16.578.1.12.4.1.4.1";
constexpr std::string_view kOrgSystem = "urn:oid:2.16.578.1.12.4.1.4.101";
constexpr std::string_view kClientSystem = "http://planbro.no/fhir/NamingSystem/helseid-client-id";
constexpr std::string_view kPrincipalSystem = "http://planbro.no/fhir/NamingSystem/principal";
constexpr std::string_view kAgentRole = "http://planbro.no/fhir/CodeSystem/audit-agent-role";

constexpr auto str = &fhir::jsonQuoted;

std::string coding(std::string_view system, std::string_view code, std::string_view display = {}) {
  std::string out = "{\"system\":" + str(system) + ",\"code\":" + str(code);
  if (!display.empty()) out += ",\"display\":" + str(display);
  return out + "}";
}

std::string codeable(std::string_view system, std::string_view code, std::string_view display = {}) {
  return "{\"coding\":[" + coding(system, code, display) + "]}";
}

std::string identifierRef(std::string_view system, std::string_view value) {
  return "{\"identifier\":{\"system\":" + str(system) + ",\"value\":" + str(value) + "}}";
}

std::string instant(int64_t us) {
  using namespace std::chrono;
  const sys_time<microseconds> t{microseconds(us)};
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

// The R4 restful-interaction code of a planbro interaction label.
std::string_view restfulInteraction(std::string_view i) {
  for (std::string_view known : {"read", "vread", "update", "patch", "delete", "history-instance", "history-type",
                                 "history-system", "create", "search-type", "search-system", "capabilities",
                                 "transaction", "batch"}) {
    if (i == known) return known;
  }
  return "operation";
}

// The user: who the token names (HPR number, pid, else the subject), with the token's jti as BALP's policy.
std::string userAgent(const AuditRecord& r) {
  const AuditAgent& a = r.who;
  std::string who;
  if (!a.hpr_number.empty()) {
    who = identifierRef(kHprSystem, a.hpr_number);
  } else if (!a.pid.empty()) {
    who = identifierRef(kPidSystem, a.pid);
  } else if (!a.subject.empty()) {
    who = identifierRef(kPrincipalSystem, a.subject);
  } else if (!a.client_id.empty()) {
    who = identifierRef(kClientSystem, a.client_id);
  } else {
    who = "{\"display\":\"unauthenticated\"}";
  }
  std::string out = "{\"type\":" + codeable("https://profiles.ihe.net/ITI/BALP/CodeSystem/UserAgentTypes",
                                           "UserOauthAgent", "User OAuth Agent participant");
  if (!a.kind.empty()) out += ",\"role\":[" + codeable(kAgentRole, a.kind) + "]";
  out += ",\"who\":" + who + ",\"requestor\":true";
  if (!a.token_id.empty()) out += ",\"policy\":[" + str(a.token_id) + "]";
  if (!r.purpose_of_use.empty()) {
    out += ",\"purposeOfUse\":[" + codeable("http://terminology.hl7.org/CodeSystem/v3-ActReason", r.purpose_of_use) + "]";
  }
  return out + "}";
}

}  // namespace

char auditActionOf(std::string_view i) {
  if (i == "create") return 'C';
  if (i == "update" || i == "patch") return 'U';
  if (i == "delete") return 'D';
  if (i == "read" || i == "vread" || i.starts_with("search") || i.starts_with("history") || i == "capabilities") {
    return 'R';
  }
  return 'E';
}

std::string auditEventJson(const AuditRecord& r, std::string_view id, std::string_view observer) {
  const bool auth = r.category == AuditCategory::kAuthentication;
  std::string j = "{\"resourceType\":\"AuditEvent\",\"id\":" + str(id);
  j += ",\"type\":" + (auth ? coding(kDicom, "110114", "User Authentication")
                            : coding("http://terminology.hl7.org/CodeSystem/audit-event-type", "rest",
                                     "Restful Operation"));
  j += ",\"subtype\":[" + (auth ? coding(kDicom, "110122", "Login")
                                : coding("http://hl7.org/fhir/restful-interaction", restfulInteraction(r.interaction)));
  // The access decision itself, where it is not plain permit: deny, emergency (nødtilgang), redact.
  if (!auth && r.decision != AuditDecision::kPermit) {
    std::string_view d = r.decision == AuditDecision::kDeny        ? "deny"
                         : r.decision == AuditDecision::kEmergency ? "emergency"
                                                                   : "redact";
    j += "," + coding("http://planbro.no/fhir/CodeSystem/access-decision", d);
  }
  j += "],\"action\":" + str(std::string(1, r.action));
  j += ",\"recorded\":" + str(instant(r.recorded_us));
  j += ",\"outcome\":" + str(std::to_string(static_cast<int>(r.outcome)));
  if (!r.outcome_text.empty()) j += ",\"outcomeDesc\":" + str(r.outcome_text);
  if (!r.purpose_of_use.empty()) {
    j += ",\"purposeOfEvent\":[" + codeable("http://terminology.hl7.org/CodeSystem/v3-ActReason", r.purpose_of_use) + "]";
  }
  j += ",\"agent\":[" + userAgent(r);
  if (!r.on_behalf_of.empty()) {
    j += ",{\"type\":" + codeable(kAgentRole, "on-behalf-of", "acted for") + ",\"who\":" +
         identifierRef(kPrincipalSystem, r.on_behalf_of) + ",\"requestor\":false}";
  }
  if (!r.who.organization_number.empty()) {
    j += ",{\"type\":" + codeable(kAgentRole, "organization", "the requester's organisation") + ",\"who\":" +
         identifierRef(kOrgSystem, r.who.child_organization_number.empty() ? r.who.organization_number
                                                                           : r.who.child_organization_number) +
         ",\"requestor\":false}";
  }
  // BALP: the client is the Source Role ID, the server the Destination Role ID.
  j += ",{\"type\":" + codeable(kDicom, "110153", "Source Role ID");
  j += ",\"who\":" + (r.who.client_id.empty() ? std::string("{\"display\":\"unknown client\"}")
                                              : identifierRef(kClientSystem, r.who.client_id));
  j += ",\"requestor\":false";
  if (!r.remote_address.empty()) j += ",\"network\":{\"address\":" + str(r.remote_address) + ",\"type\":\"2\"}";
  j += "},{\"type\":" + codeable(kDicom, "110152", "Destination Role ID") + ",\"who\":{\"display\":" + str(observer) +
       "},\"requestor\":false}]";
  j += ",\"source\":{";
  if (!r.source_system.empty()) j += "\"site\":" + str(r.source_system) + ",";
  j += "\"observer\":{\"display\":" + str(observer) + "},\"type\":[" +
       coding("http://terminology.hl7.org/CodeSystem/security-source-type", "4", "Application Server") + "]}";
  std::string entities;
  auto entity = [&entities](std::string e) { entities += (entities.empty() ? "" : ",") + e; };
  if (!r.patient.empty()) {
    entity("{\"what\":{\"reference\":" + str(r.patient) + "},\"type\":" +
           coding("http://terminology.hl7.org/CodeSystem/audit-entity-type", "1", "Person") + ",\"role\":" +
           coding("http://terminology.hl7.org/CodeSystem/object-role", "1", "Patient") + "}");
  }
  if (!r.resource_type.empty()) {
    std::string what = r.resource_type;
    if (!r.resource_id.empty()) what += "/" + r.resource_id;
    if (!r.resource_id.empty() && r.resource_version > 0) what += "/_history/" + std::to_string(r.resource_version);
    std::string e = "{\"what\":";
    e += r.resource_id.empty() ? "{\"display\":" + str(what) + "}" : "{\"reference\":" + str(what) + "}";
    e += ",\"type\":" + coding("http://terminology.hl7.org/CodeSystem/audit-entity-type", "2", "System Object") +
         ",\"role\":" + coding("http://terminology.hl7.org/CodeSystem/object-role", "4", "Domain Resource") + "}";
    entity(std::move(e));
  }
  if (!r.correlation_id.empty()) {
    entity("{\"what\":{\"identifier\":{\"value\":" + str(r.correlation_id) + "}},\"type\":" +
           coding("https://profiles.ihe.net/ITI/BALP/CodeSystem/BasicAuditEntityType", "XrequestId",
                  "X-Request-Id") + "}");
  }
  if (!entities.empty()) j += ",\"entity\":[" + entities + "]";
  return j + "}";
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
