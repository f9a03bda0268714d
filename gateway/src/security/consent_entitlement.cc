// Computing an entitlement (consent_policy.h) from the store: the requester's own resources by identifier, then the
// CareTeams they take part in, then the consents of those patients, evaluated here (status, kind, period with the
// plan's period as default, permit actors, nested deny provisions). Every query is bounded by max_team_entries.
#include <algorithm>

#include "planbro/fhir-model/json.h"
#include "planbro/gateway/search/index_predicates.h"
#include "planbro/gateway/search/indexer.h"
#include "planbro/gateway/security/consent_policy.h"
#include "planbro/gateway/security/emergency_access.h"

namespace planbro::gateway::security {
namespace {

using fhir::JsonDocument;
using fhir::JsonValue;
using store::IndexPredicate;
using store::IndexQuery;

constexpr std::string_view kFnr = "urn:oid:2.16.578.1.12.4.1.4.1";
constexpr std::string_view kDnr = "urn:oid:2.16.578.1.12.4.1.4.2";
constexpr std::string_view kFhn = "urn:oid:2.16.578.1.12.4.1.4.3";
constexpr std::string_view kHpr = "urn:oid:2.16.578.1.12.4.1.4.4";
constexpr std::string_view kEnh = "urn:oid:2.16.578.1.12.4.1.4.101";
constexpr std::string_view kCoordinatorRoleSystem = "urn:oid:2.16.578.1.12.4.1.1.9034";
constexpr std::string_view kConsentKind = "http://planbro.no/fhir/CodeSystem/ip-consent-kind";

using search::tokenPredicate;

// `param` refers to `reference` ("Type/id").
IndexPredicate referenceTo(std::string_view param, std::string_view reference) {
  const size_t slash = reference.find('/');
  return search::referencePredicate(param, reference.substr(0, slash), reference.substr(slash + 1));
}

class Reader {
 public:
  Reader(store::ResourceStore& store, const ConsentPolicyOptions& options, store::Timestamp now)
      : store_(store), options_(options), now_us_(now.time_since_epoch().count()) {}

  // The ids of `type` matching every group, at most max_team_entries (beyond: the rest is not looked at, so an
  // over-broad entitlement narrows rather than widens).
  Result<std::vector<std::string>> ids(std::string type, std::vector<std::vector<IndexPredicate>> all_of) {
    for (const auto& g : all_of) {
      if (g.empty()) return std::vector<std::string>{};
    }
    IndexQuery q;
    q.type = std::move(type);
    q.all_of = std::move(all_of);
    q.count = std::clamp<size_t>(options_.max_team_entries, 1, store::kMaxPageSize);
    ASSIGN_OR_RETURN(store::IndexPage page, store_.searchIndex(q));
    return std::move(page.ids);
  }

  // The current version of each, parsed; deleted or unparsable ones are skipped.
  Result<std::vector<JsonDocument>> read(std::string_view type, const std::vector<std::string>& ids) {
    std::vector<JsonDocument> out;
    for (const std::string& id : ids) {
      auto v = store_.read(type, id);
      if (!v.isOk()) {
        if (v.status().code() == StatusCode::kNotFound || v.status().code() == StatusCode::kGone) continue;
        return v.status();
      }
      auto doc = JsonDocument::parse(v->json);
      if (doc.isOk() && doc->root().isObject()) out.push_back(std::move(doc).value());
    }
    return out;
  }

  // "Type/id" of every resource of `type` whose identifier is (system, value) for one of `systems`.
  Result<std::vector<std::string>> byIdentifier(const std::string& type, std::initializer_list<std::string_view> systems,
                                                std::string_view value) {
    std::vector<IndexPredicate> group;
    if (value.empty()) return std::vector<std::string>{};
    for (std::string_view s : systems) group.push_back(tokenPredicate("identifier", s, value));
    ASSIGN_OR_RETURN(std::vector<std::string> found, ids(type, {std::move(group)}));
    for (std::string& id : found) id = type + "/" + id;
    return found;
  }

  // Whether now lies in `period` (start and end inclusive at their precision); an absent or empty period: `fallback`.
  // Every bound still ahead is a boundary at which the answer may change (nextBoundaryUs).
  bool inPeriod(const JsonValue* period, bool fallback) {
    if (period == nullptr || !period->isObject()) return fallback;
    const JsonValue* start = period->find("start");
    const JsonValue* end = period->find("end");
    if ((start == nullptr || !start->isString()) && (end == nullptr || !end->isString())) return fallback;
    bool in = true;
    if (start != nullptr && start->isString()) {
      auto r = search::parseDateRange(start->text());
      if (!r) return false;
      if (r->low > now_us_) {
        boundary(r->low);
        in = false;
      }
    }
    if (end != nullptr && end->isString()) {
      auto r = search::parseDateRange(end->text());
      if (!r) return false;
      if (r->high < now_us_) return false;  // over for good
      if (r->high < INT64_MAX) boundary(r->high + 1);
    }
    return in;
  }

  void boundary(int64_t at_us) { next_boundary_us_ = std::min(next_boundary_us_, at_us); }
  int64_t nextBoundaryUs() const { return next_boundary_us_; }
  int64_t* nextBoundaryOut() { return &next_boundary_us_; }
  int64_t nowUs() const { return now_us_; }
  store::ResourceStore& store() { return store_; }

 private:
  store::ResourceStore& store_;
  const ConsentPolicyOptions& options_;
  int64_t now_us_;
  int64_t next_boundary_us_ = INT64_MAX;
};

std::string_view referenceOf(const JsonValue* element) {
  if (element == nullptr || !element->isObject()) return {};
  const JsonValue* r = element->find("reference");
  return r != nullptr && r->isString() ? r->text() : std::string_view();
}

std::string_view stringOf(const JsonValue& object, std::string_view key) {
  const JsonValue* v = object.find(key);
  return v != nullptr && v->isString() ? v->text() : std::string_view();
}

// "Patient/x" → "x"; anything else "".
std::string patientIdOf(std::string_view reference) {
  if (!reference.starts_with("Patient/")) return {};
  std::string_view id = reference.substr(8);
  if (id.empty() || id.find('/') != std::string_view::npos) return {};
  return std::string(id);
}

bool hasCoding(const JsonValue& resource, std::string_view element, std::string_view system, std::string_view code) {
  const JsonValue* list = resource.find(element);
  if (list == nullptr) return false;
  for (const JsonValue& cc : list->items()) {
    const JsonValue* codings = cc.find("coding");
    if (codings == nullptr) continue;
    for (const JsonValue& c : codings->items()) {
      if (stringOf(c, "system") == system && stringOf(c, "code") == code) return true;
    }
  }
  return false;
}

bool namesAny(const JsonValue& provision, const std::set<std::string>& refs) {
  const JsonValue* actors = provision.find("actor");
  if (actors == nullptr) return false;
  for (const JsonValue& a : actors->items()) {
    if (refs.contains(std::string(referenceOf(a.find("reference"))))) return true;
  }
  return false;
}

// Whether a CareTeam participant has the coordinator role (kodeverk 9034, code 8).
bool isCoordinator(const JsonValue& participant) {
  const JsonValue* roles = participant.find("role");
  if (roles == nullptr) return false;
  for (const JsonValue& role : roles->items()) {
    const JsonValue* codings = role.find("coding");
    if (codings == nullptr) continue;
    for (const JsonValue& c : codings->items()) {
      if (stringOf(c, "system") == kCoordinatorRoleSystem && stringOf(c, "code") == "8") return true;
    }
  }
  return false;
}

// The patients for whom (members, organisations) take part in a CareTeam and are permitted by a sharing consent.
Status planMembers(Reader& reader, const std::set<std::string>& members, const std::set<std::string>& organisations,
                   Entitlement& out) {
  if (members.empty()) return Status::ok();
  std::vector<IndexPredicate> participant;
  for (const std::string& m : members) participant.push_back(referenceTo("participant", m));
  ASSIGN_OR_RETURN(std::vector<std::string> team_ids, reader.ids("CareTeam", {participant}));
  ASSIGN_OR_RETURN(std::vector<JsonDocument> teams, reader.read("CareTeam", team_ids));
  std::set<std::string> candidates;
  for (const JsonDocument& team : teams) {
    const JsonValue& t = team.root();
    std::string_view status = stringOf(t, "status");
    if (status == "inactive" || status == "entered-in-error") continue;
    std::string patient = patientIdOf(referenceOf(t.find("subject")));
    if (patient.empty()) continue;
    const JsonValue* participants = t.find("participant");
    if (participants == nullptr) continue;
    for (const JsonValue& p : participants->items()) {
      if (!members.contains(std::string(referenceOf(p.find("member"))))) continue;
      if (!reader.inPeriod(p.find("period"), true)) continue;
      candidates.insert(patient);
      if (isCoordinator(p)) out.coordinated_patients.insert(patient);
    }
  }
  if (candidates.empty()) return Status::ok();
  std::vector<IndexPredicate> of_patient;
  for (const std::string& id : candidates) of_patient.push_back(referenceTo("patient", "Patient/" + id));
  ASSIGN_OR_RETURN(std::vector<std::string> consent_ids,
                   reader.ids("Consent", {of_patient, {tokenPredicate("status", std::nullopt, "active")}}));
  ASSIGN_OR_RETURN(std::vector<JsonDocument> consents, reader.read("Consent", consent_ids));
  std::set<std::string> covering = members;
  covering.insert(organisations.begin(), organisations.end());
  std::set<std::string> permitted, reserved;
  for (const JsonDocument& consent : consents) {
    const JsonValue& c = consent.root();
    if (stringOf(c, "status") != "active" || !hasCoding(c, "category", kConsentKind, "sharing")) continue;
    std::string patient = patientIdOf(referenceOf(c.find("patient")));
    if (!candidates.contains(patient)) continue;
    const JsonValue* provision = c.find("provision");
    if (provision == nullptr || !provision->isObject()) continue;
    // A reservation (nested deny naming them or their organisation) wins over every permit (GW-42).
    if (const JsonValue* nested = provision->find("provision")) {
      for (const JsonValue& n : nested->items()) {
        if (stringOf(n, "type") == "deny" && namesAny(n, covering)) reserved.insert(patient);
      }
    }
    if (stringOf(*provision, "type") != "permit" || !namesAny(*provision, covering)) continue;
    // Validity: the consent's own period, else the plan's (GW-41); neither given: the consent's status decides.
    bool valid = false;
    if (const JsonValue* period = provision->find("period"); period != nullptr) {
      valid = reader.inPeriod(period, true);
    } else {
      valid = true;
      if (const JsonValue* data = provision->find("data")) {
        for (const JsonValue& d : data->items()) {
          std::string_view plan = referenceOf(d.find("reference"));
          if (!plan.starts_with("CarePlan/")) continue;
          ASSIGN_OR_RETURN(std::vector<JsonDocument> plans, reader.read("CarePlan", {std::string(plan.substr(9))}));
          for (const JsonDocument& p : plans) valid = valid && reader.inPeriod(p.root().find("period"), true);
        }
      }
    }
    if (valid) permitted.insert(patient);
  }
  for (const std::string& p : permitted) {
    if (!reserved.contains(p)) out.patients.insert(p);
  }
  return Status::ok();
}

// A patient's own Patient resources, and those they consent for as a proxy or guardian (GW-44).
Status patientSide(Reader& reader, const Principal& principal, Entitlement& out) {
  ASSIGN_OR_RETURN(std::vector<std::string> self, reader.byIdentifier("Patient", {kFnr, kDnr, kFhn}, principal.pid));
  for (const std::string& s : self) out.patients.insert(s.substr(8));
  ASSIGN_OR_RETURN(std::vector<std::string> related,
                   reader.byIdentifier("RelatedPerson", {kFnr, kDnr, kFhn}, principal.pid));
  if (related.empty()) return Status::ok();
  // The proxy is Consent.performer (no R4 search parameter): the wards' consents are read and checked here.
  std::vector<IndexPredicate> of_patient;
  ASSIGN_OR_RETURN(std::vector<JsonDocument> people,
                   reader.read("RelatedPerson", [&] {
                     std::vector<std::string> ids;
                     for (const std::string& r : related) ids.push_back(r.substr(14));
                     return ids;
                   }()));
  std::set<std::string> wards;
  for (const JsonDocument& p : people) {
    std::string ward = patientIdOf(referenceOf(p.root().find("patient")));
    if (!ward.empty()) wards.insert(ward);
  }
  if (wards.empty()) return Status::ok();
  for (const std::string& w : wards) of_patient.push_back(referenceTo("patient", "Patient/" + w));
  ASSIGN_OR_RETURN(std::vector<std::string> consent_ids,
                   reader.ids("Consent", {of_patient, {tokenPredicate("status", std::nullopt, "active")}}));
  ASSIGN_OR_RETURN(std::vector<JsonDocument> consents, reader.read("Consent", consent_ids));
  std::set<std::string> related_set(related.begin(), related.end());
  for (const JsonDocument& consent : consents) {
    const JsonValue& c = consent.root();
    if (stringOf(c, "status") != "active") continue;
    std::string ward = patientIdOf(referenceOf(c.find("patient")));
    if (!wards.contains(ward)) continue;
    const JsonValue* performers = c.find("performer");
    if (performers == nullptr) continue;
    bool by_them = false;
    for (const JsonValue& p : performers->items()) by_them = by_them || related_set.contains(std::string(referenceOf(&p)));
    const JsonValue* provision = c.find("provision");
    if (by_them && reader.inPeriod(provision != nullptr ? provision->find("period") : nullptr, true)) {
      out.patients.insert(ward);
    }
  }
  return Status::ok();
}

}  // namespace

namespace {

Status computeInto(Reader& reader, store::ResourceStore& store, const Principal& principal,
                   const ConsentPolicyOptions& options, store::Timestamp now, Entitlement& out) {
  switch (principal.kind) {
    case PrincipalKind::kAuditor: out.role = Entitlement::Role::kAuditor; return Status::ok();
    case PrincipalKind::kKeAdministrator: out.role = Entitlement::Role::kKeAdmin; return Status::ok();
    case PrincipalKind::kUnknown: return Status::ok();
    case PrincipalKind::kPatient:
      out.role = Entitlement::Role::kCompartments;
      RETURN_IF_ERROR(patientSide(reader, principal, out));
      return Status::ok();
    case PrincipalKind::kPractitioner:
    case PrincipalKind::kSystem: break;
  }
  out.role = Entitlement::Role::kCompartments;
  std::set<std::string> organisations;
  for (const std::string* orgnr : {&principal.organization_number, &principal.child_organization_number}) {
    ASSIGN_OR_RETURN(std::vector<std::string> found, reader.byIdentifier("Organization", {kEnh}, *orgnr));
    organisations.insert(found.begin(), found.end());
  }
  std::set<std::string> members;
  if (principal.kind == PrincipalKind::kPractitioner) {
    ASSIGN_OR_RETURN(std::vector<std::string> found, reader.byIdentifier("Practitioner", {kHpr}, principal.hpr_number));
    members.insert(found.begin(), found.end());
  } else {
    // A system client acts for its organisation, and only when it is a trusted integration engine.
    if (!principal.trusted_client) return Status::ok();
    members = organisations;
  }
  out.own_references = members;
  RETURN_IF_ERROR(planMembers(reader, members, organisations, out));
  if (principal.kind == PrincipalKind::kPractitioner && !members.empty()) {
    ASSIGN_OR_RETURN(std::vector<std::string> granted,
                     activeEmergencyPatients(store, members, now, options.emergency_access_minutes,
                                             options.max_team_entries, reader.nextBoundaryOut()));
    for (std::string& p : granted) {
      if (!out.patients.contains(p)) {
        out.emergency_patients.insert(p);
        out.patients.insert(std::move(p));
      }
    }
  }
  return Status::ok();
}

}  // namespace

Result<Entitlement> computeEntitlement(store::ResourceStore& store, const Principal& principal,
                                       const ConsentPolicyOptions& options) {
  const store::Timestamp now = options.clock ? options.clock() : store::systemClock()();
  Reader reader(store, options, now);
  Entitlement out;
  RETURN_IF_ERROR(computeInto(reader, store, principal, options, now, out));
  out.valid_until_us = reader.nextBoundaryUs();
  return out;
}

}  // namespace planbro::gateway::security
