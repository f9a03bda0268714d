// Emergency access: the grant (one Communication, written through ops so the outbox carries it) and its lookup.
// The grant is a stored resource rather than process state so that it holds, and ends, on every node alike.
#include "planbro/gateway/security/emergency_access.h"

#include <algorithm>
#include <cstdio>
#include <ctime>

#include "planbro/fhir-model/json.h"
#include "planbro/gateway/search/index_predicates.h"
#include "planbro/gateway/search/indexer.h"
#include "planbro/gateway/search/search_executor.h"
#include "planbro/gateway/store/time_format.h"

namespace planbro::gateway::security {
namespace {

using fhir::JsonDocument;
using fhir::JsonValue;

constexpr std::string_view kV9034 = "urn:oid:2.16.578.1.12.4.1.1.9034";  // kodeverk 9034; code 8: coordinator

std::string_view textOf(const JsonValue* v) { return v != nullptr && v->isString() ? v->text() : std::string_view(); }

std::string_view referenceOf(const JsonValue* element) {
  return element != nullptr && element->isObject() ? textOf(element->find("reference")) : std::string_view();
}

// `param` refers to `ref` ("Type/id").
store::IndexPredicate reference(std::string_view param, std::string_view ref) {
  const size_t slash = ref.find('/');
  return search::referencePredicate(param, ref.substr(0, slash), ref.substr(slash + 1));
}

// A named member of a Parameters resource.
const JsonValue* parameter(const JsonValue* parameters, std::string_view name) {
  if (parameters == nullptr) return nullptr;
  const JsonValue* list = parameters->find("parameter");
  if (list == nullptr) return nullptr;
  for (const JsonValue& p : list->items()) {
    if (textOf(p.find("name")) == name) return &p;
  }
  return nullptr;
}

class EmergencyAccessOperation final : public rest::Operation {
 public:
  EmergencyAccessOperation(store::ResourceStore& store, EmergencyAccessOptions options)
      : store_(store),
        options_(std::move(options)),
        executor_(store),
        operations_(store, executor_, options_.operations) {}

  std::string_view name() const override { return "emergency-access"; }
  rest::OperationLevel level() const override { return rest::OperationLevel::kType; }
  std::string_view resourceType() const override { return "Patient"; }
  bool allowsGet() const override { return false; }
  std::string_view definitionUrl() const override {
    return "http://planbro.no/fhir/OperationDefinition/emergency-access";
  }

  Result<rest::OperationResult> invoke(const rest::OperationCall& call, fhir::OperationOutcome& outcome) const override {
    const http::RequestContext& ctx = *call.context;
    if (!ctx.principal || ctx.principal->kind != PrincipalKind::kPractitioner || ctx.principal->hpr_number.empty()) {
      return Status(StatusCode::kPermissionDenied, "emergency access is for health personnel with an HPR number");
    }
    const Principal& who = *ctx.principal;
    const JsonValue* id_param = parameter(call.parameters, "identifier");
    const JsonValue* identifier = id_param != nullptr ? id_param->find("valueIdentifier") : nullptr;
    std::string_view system = identifier != nullptr ? textOf(identifier->find("system")) : std::string_view();
    std::string_view value = identifier != nullptr ? textOf(identifier->find("value")) : std::string_view();
    if (value.empty() || value.size() > 64) {
      outcome.add(fhir::Severity::kError, "required", "identifier (valueIdentifier) names the patient",
                  "Parameters.parameter[identifier]");
      return invalidArgument("$emergency-access needs the patient's identifier (a valueIdentifier)");
    }
    const JsonValue* reason_param = parameter(call.parameters, "reason");
    std::string_view reason = reason_param != nullptr ? textOf(reason_param->find("valueString")) : std::string_view();
    if (reason.find_first_not_of(" \t\r\n") == std::string_view::npos || reason.size() > kMaxEmergencyReasonBytes) {
      outcome.add(fhir::Severity::kError, "required",
                  "reason (valueString, 1.." + std::to_string(kMaxEmergencyReasonBytes) + " bytes) is mandatory",
                  "Parameters.parameter[reason]");
      return invalidArgument("$emergency-access needs a reason");
    }
    // The practitioner's own resource (the sender): without it no grant can be matched to them later.
    ASSIGN_OR_RETURN(std::vector<std::string> practitioner,
                     ids("Practitioner",
                         {{search::tokenPredicate("identifier", "urn:oid:2.16.578.1.12.4.1.4.4", who.hpr_number)}}, 1));
    if (practitioner.empty()) {
      return Status(StatusCode::kPermissionDenied, "no Practitioner with the token's HPR number is registered");
    }
    std::vector<store::IndexPredicate> by_identifier;
    if (!system.empty()) {
      by_identifier.push_back(search::tokenPredicate("identifier", system, value));
    } else {
      for (const char* s : {"urn:oid:2.16.578.1.12.4.1.4.1", "urn:oid:2.16.578.1.12.4.1.4.2", "urn:oid:2.16.578.1.12.4.1.4.3"}) {
        by_identifier.push_back(search::tokenPredicate("identifier", s, value));
      }
    }
    ASSIGN_OR_RETURN(std::vector<std::string> patients, ids("Patient", {by_identifier}, 2));
    if (patients.size() != 1) {
      return Status(StatusCode::kNotFound, patients.empty() ? "no patient has that identifier"
                                                            : "the identifier names more than one patient");
    }
    const std::string patient = "Patient/" + patients[0];
    const std::string sender = "Practitioner/" + practitioner[0];
    ASSIGN_OR_RETURN(std::vector<std::string> coordinators, coordinatorsOf(patient));
    const store::Timestamp now = options_.clock ? options_.clock() : call.clock();
    const store::Timestamp ends = now + std::chrono::minutes(options_.minutes);
    std::string json = R"({"resourceType":"Communication","status":"completed","category":[{"coding":[{"system":")" +
                       std::string(kAccessEventSystem) + R"(","code":")" + std::string(kEmergencyAccessCode) +
                       R"(","display":"Nødtilgang"}]}],"subject":{"reference":")" + patient + R"("},"sent":")" +
                       store::formatInstant(now) + R"(","recipient":[{"reference":")" + patient + "\"}";
    for (const std::string& c : coordinators) json += ",{\"reference\":\"" + c + "\"}";
    json += R"(],"sender":{"reference":")" + sender +
            R"("},"reasonCode":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ActReason","code":"ETREAT","display":"Emergency Treatment"}],"text":)";
    fhir::writeJsonString(reason, json);
    json += R"(}],"payload":[{"contentString":)";
    fhir::writeJsonString("Nødtilgang til individuell plan fra " + store::formatInstant(now) + " til " +
                              store::formatInstant(ends) + " (emergency access). Begrunnelse: " + std::string(reason),
                          json);
    json += "}]}";
    auto doc = JsonDocument::parse(json);
    if (!doc.isOk()) return doc.status();
    ops::WriteContext wc;
    wc.actor = !who.subject.empty() ? who.subject : who.client_id;
    wc.source_system = "emergency-access";
    wc.correlation_id = ctx.request_id;
    ASSIGN_OR_RETURN(ops::WriteOutcome written,
                     operations_.create(wc, "Communication", doc->root(), {}, &outcome));
    if (options_.on_access_decision) {
      options_.on_access_decision(AccessDecision{AccessDecision::Outcome::kEmergency, "emergency-access", "Patient",
                                                 patients[0], "ETREAT", &who});
    }
    rest::OperationResult r;
    r.status = 201;
    r.json = R"({"resourceType":"Parameters","parameter":[{"name":"patient","valueReference":{"reference":")" + patient +
             R"("}},{"name":"grant","valueReference":{"reference":"Communication/)" + written.version.id +
             R"("}},{"name":"expires","valueInstant":")" + store::formatInstant(ends) + R"("}]})";
    return r;
  }

 private:
  Result<std::vector<std::string>> ids(std::string type, std::vector<std::vector<store::IndexPredicate>> all_of,
                                       size_t count) const {
    store::IndexQuery q;
    q.type = std::move(type);
    q.all_of = std::move(all_of);
    q.count = count;
    ASSIGN_OR_RETURN(store::IndexPage page, store_.searchIndex(q));
    return std::move(page.ids);
  }

  // The coordinators (kodeverk 9034 code 8) of the patient's CareTeams: the grant's recipients besides the patient.
  Result<std::vector<std::string>> coordinatorsOf(const std::string& patient) const {
    ASSIGN_OR_RETURN(std::vector<std::string> teams, ids("CareTeam", {{reference("subject", patient)}}, 20));
    std::vector<std::string> out;
    for (const std::string& id : teams) {
      auto v = store_.read("CareTeam", id);
      if (!v.isOk()) continue;
      auto doc = JsonDocument::parse(v->json);
      if (!doc.isOk()) continue;
      const JsonValue* participants = doc->root().find("participant");
      if (participants == nullptr) continue;
      for (const JsonValue& p : participants->items()) {
        bool coordinator = false;
        if (const JsonValue* roles = p.find("role")) {
          for (const JsonValue& role : roles->items()) {
            if (const JsonValue* codings = role.find("coding")) {
              for (const JsonValue& c : codings->items()) {
                coordinator = coordinator || (textOf(c.find("system")) == kV9034 && textOf(c.find("code")) == "8");
              }
            }
          }
        }
        std::string member(referenceOf(p.find("member")));
        if (coordinator && (member.starts_with("Practitioner/") || member.starts_with("PractitionerRole/")) &&
            std::find(out.begin(), out.end(), member) == out.end()) {
          out.push_back(std::move(member));
        }
      }
    }
    return out;
  }

  store::ResourceStore& store_;
  EmergencyAccessOptions options_;
  search::SearchExecutor executor_;
  mutable ops::Operations operations_;
};

}  // namespace

Result<std::vector<std::string>> activeEmergencyPatients(store::ResourceStore& store,
                                                         const std::set<std::string>& practitioners,
                                                         store::Timestamp now, int minutes, size_t max_grants,
                                                         int64_t* next_change_us) {
  std::vector<std::string> out;
  if (practitioners.empty()) return out;
  store::IndexQuery q;
  q.type = "Communication";
  std::vector<store::IndexPredicate> senders;
  for (const std::string& p : practitioners) {
    if (p.starts_with("Practitioner/")) senders.push_back(reference("sender", p));
  }
  if (senders.empty()) return out;
  q.all_of.push_back(std::move(senders));
  q.all_of.push_back({search::tokenPredicate("category", kAccessEventSystem, kEmergencyAccessCode)});
  q.count = std::clamp<size_t>(max_grants, 1, store::kMaxPageSize);
  ASSIGN_OR_RETURN(store::IndexPage page, store.searchIndex(q));
  const int64_t now_us = now.time_since_epoch().count();
  const int64_t span_us = int64_t{minutes} * 60 * 1'000'000;
  for (const std::string& id : page.ids) {
    auto v = store.read("Communication", id);
    if (!v.isOk()) continue;
    auto doc = JsonDocument::parse(v->json);
    if (!doc.isOk() || !doc->root().isObject()) continue;
    auto sent = search::parseDateRange(textOf(doc->root().find("sent")));
    if (sent && next_change_us != nullptr) {
      // The grant starts at sent->low and ends at sent->low + span: whichever comes next changes the answer.
      if (sent->low > now_us) *next_change_us = std::min(*next_change_us, sent->low);
      else if (now_us < sent->low + span_us) *next_change_us = std::min(*next_change_us, sent->low + span_us);
    }
    if (!sent || sent->low > now_us || now_us >= sent->low + span_us) continue;
    std::string_view subject = referenceOf(doc->root().find("subject"));
    if (!subject.starts_with("Patient/")) continue;
    std::string patient(subject.substr(8));
    if (std::find(out.begin(), out.end(), patient) == out.end()) out.push_back(std::move(patient));
  }
  return out;
}

std::shared_ptr<rest::Operation> makeEmergencyAccessOperation(store::ResourceStore& store,
                                                              EmergencyAccessOptions options) {
  return std::make_shared<EmergencyAccessOperation>(store, std::move(options));
}

}  // namespace planbro::gateway::security
