// The consent policy: one entitlement per request (from the entitlement cache on first use, kept in
// RequestContext::access_state for the rest of that request), turned into search narrowing, per-resource decisions on stored versions, and redaction.
#include "planbro/gateway/security/consent_policy.h"

#include <algorithm>

#include "planbro/fhir-model/json.h"
#include "planbro/gateway/search/index_predicates.h"
#include "planbro/gateway/security/emergency_access.h"
#include "planbro/gateway/security/entitlement_cache.h"
#include "compartment_memo.h"

namespace planbro::gateway::security {
namespace {

using fhir::JsonDocument;
using fhir::JsonValue;
using Outcome = AccessDecision::Outcome;

// Audit resources: the auditor's, and nobody else's (AuditEvent); Provenance also by the compartment rule.
bool isAuditType(std::string_view type) { return type == "AuditEvent" || type == "Provenance"; }

bool isWrite(AccessAction a) {
  return a == AccessAction::kCreate || a == AccessAction::kUpdate || a == AccessAction::kDelete;
}

// GW-48: what the KE administrator sees of a CarePlan (existence, status, coordinator, dates), and may search on.
constexpr std::string_view kPlanMetadata[] = {"resourceType", "id", "meta", "status", "intent", "category",
                                              "period", "created", "author", "careTeam"};
const std::set<std::string> kPlanMetadataParams = {"_id", "_lastUpdated", "status", "intent", "category", "date",
                                                   "care-team"};
constexpr std::string_view kPlanLifecycleUrl = "http://planbro.no/fhir/StructureDefinition/ip-plan-lifecycle";

// Whether `json` is an emergency-access grant (emergency_access.h): only $emergency-access writes those, so that no
// one grants access by writing such a Communication, nor ends one (or its trace) early by changing or deleting it.
bool isEmergencyGrant(std::string_view type, std::string_view json) {
  if (type != "Communication" || json.find(kAccessEventSystem) == std::string_view::npos) return false;
  auto doc = JsonDocument::parse(std::string(json));
  if (!doc.isOk() || !doc->root().isObject()) return true;  // unreadable but naming the system: refuse
  const JsonValue* categories = doc->root().find("category");
  if (categories == nullptr) return false;
  for (const JsonValue& cc : categories->items()) {
    const JsonValue* codings = cc.find("coding");
    if (codings == nullptr) continue;
    for (const JsonValue& c : codings->items()) {
      const JsonValue* system = c.find("system");
      if (system != nullptr && system->isString() && system->text() == kAccessEventSystem) return true;
    }
  }
  return false;
}

std::string notKnown(std::string_view type, std::string_view id) {
  // Word for word what a read of a missing resource answers: a hidden resource is indistinguishable from one.
  return std::string(type) + "/" + std::string(id) + " is not known";
}

class ConsentPolicy final : public AccessPolicy {
 public:
  ConsentPolicy(store::ResourceStore& store, ConsentPolicyOptions options, std::shared_ptr<AccessPolicy> inner)
      : store_(store),
        options_(std::move(options)),
        inner_(inner ? std::move(inner) : makeAllowAllPolicy()),
        entitlements_(store, options_.entitlement_cache_entries),
        compartments_(options_.compartment_cache_bytes) {}

  Status permitInteraction(const http::RequestContext& context, const InteractionSubject& s) const override {
    RETURN_IF_ERROR(inner_->permitInteraction(context, s));
    if (!context.principal) return Status::ok();
    const PrincipalKind kind = context.principal->kind;
    // $ip-figures counts every plan of the municipality: aggregate figures for the KE administrator only (GW-48,
    // GW-64); anyone else would learn how many plans exist beyond the ones they may see.
    if (s.interaction == "operation-ip-figures" && kind != PrincipalKind::kKeAdministrator) {
      return {StatusCode::kPermissionDenied, "the figures ($ip-figures) are for the KE administrator role"};
    }
    if (s.type.empty()) return Status::ok();
    const bool writes = s.interaction == "create" || s.interaction == "update" || s.interaction == "patch" ||
                        s.interaction == "delete";
    // Type-level refusals name the role and type only: they say nothing about any resource.
    if (kind == PrincipalKind::kAuditor && (writes || (inPatientCompartment(s.type) && !isAuditType(s.type)))) {
      return {StatusCode::kPermissionDenied, "the auditor role reads the audit trail only, not " + std::string(s.type)};
    }
    if (kind == PrincipalKind::kKeAdministrator &&
        (writes || (inPatientCompartment(s.type) && s.type != "CarePlan"))) {
      return {StatusCode::kPermissionDenied,
              "the KE administrator role sees plan metadata only (GW-48), not " + std::string(s.type)};
    }
    if (kind != PrincipalKind::kAuditor && s.type == "AuditEvent") {
      return {StatusCode::kPermissionDenied, "only the auditor role reads AuditEvent"};
    }
    return Status::ok();
  }

  Status decide(const http::RequestContext& context, const AccessSubject& subject) const override {
    RETURN_IF_ERROR(inner_->decide(context, subject));
    const std::string_view action = accessActionName(subject.action);
    if (!inPatientCompartment(subject.type)) return Status::ok();  // directory and conformance data
    ASSIGN_OR_RETURN(const Entitlement* e, entitlement(context));
    const std::string_view purpose = purposeOf(context);
    // The type-level question of $ip-figures (aggregate MeasureReports, no resource of anyone's): KE administrator.
    if (e->role == Entitlement::Role::kKeAdmin && subject.type == "MeasureReport" && subject.id.empty() &&
        subject.action == AccessAction::kSearch) {
      report(context, Outcome::kRedact, action, subject.type, subject.id, "HOPERAT");
      return Status::ok();
    }
    auto deny = [&](Status s) {
      report(context, Outcome::kDeny, action, subject.type, subject.id, purpose);
      return s;
    };
    auto hidden = [&]() { return deny(Status(StatusCode::kNotFound, notKnown(subject.type, subject.id))); };
    switch (e->role) {
      case Entitlement::Role::kNone: return hidden();
      case Entitlement::Role::kAuditor:
        if (!isAuditType(subject.type) || isWrite(subject.action)) return hidden();
        report(context, Outcome::kPermit, action, subject.type, subject.id, "HOPERAT");
        return Status::ok();
      case Entitlement::Role::kKeAdmin:
        if (subject.type != "CarePlan" || isWrite(subject.action)) return hidden();
        report(context, Outcome::kRedact, action, subject.type, subject.id, "HOPERAT");
        return Status::ok();
      case Entitlement::Role::kCompartments: break;
    }
    if (subject.type == "AuditEvent") return hidden();
    // Update and delete are decided on the stored version too, whatever the path (REST, batch, transaction):
    // a hidden resource is "not known" to its writer as to its reader.
    bool emergency = false;
    bool creates = subject.action == AccessAction::kCreate;  // or an update that creates (PUT with a new id)
    if (subject.action == AccessAction::kUpdate || subject.action == AccessAction::kDelete) {
      auto stored = store_.read(subject.type, subject.id);
      if (stored.isOk()) {
        if (!visibleIn(*e, subject.type, subject.id, stored->json, emergency)) return hidden();
        if (isEmergencyGrant(subject.type, stored->json)) {
          return deny(Status(StatusCode::kPermissionDenied, "an emergency-access grant cannot be changed or deleted"));
        }
      } else if (stored.status().code() == StatusCode::kGone) {
        return hidden();  // its last content is not at hand: a deletion stays as hidden as what it deleted
      } else if (stored.status().code() != StatusCode::kNotFound) {
        return stored.status();
      } else {
        creates = subject.action == AccessAction::kUpdate;
      }
      if (subject.action == AccessAction::kDelete) {
        report(context, emergency ? Outcome::kEmergency : Outcome::kPermit, action, subject.type, subject.id, purpose);
        return Status::ok();
      }
    }
    if (!visibleIn(*e, subject.type, subject.id, subject.json, emergency)) {
      if (creates) {
        ASSIGN_OR_RETURN(bool starts, startsAPlan(*e, *context.principal, subject));
        if (starts) {
          report(context, Outcome::kPermit, action, subject.type, subject.id, purpose);
          return Status::ok();
        }
      }
      if (subject.action == AccessAction::kCreate || subject.action == AccessAction::kUpdate) {
        return deny(Status(StatusCode::kPermissionDenied,
                           "the requester may not write " + std::string(subject.type) +
                               " outside the patients whose plans they may see"));
      }
      return hidden();
    }
    if ((subject.action == AccessAction::kCreate || subject.action == AccessAction::kUpdate) &&
        isEmergencyGrant(subject.type, subject.json)) {
      return deny(Status(StatusCode::kPermissionDenied,
                         "emergency-access grants are written by Patient/$emergency-access only"));
    }
    if (emergency && isWrite(subject.action)) {
      return deny(Status(StatusCode::kPermissionDenied, "emergency access reads only"));
    }
    report(context, emergency ? Outcome::kEmergency : Outcome::kPermit, action, subject.type, subject.id,
           emergency ? std::string_view("ETREAT") : purpose);
    return Status::ok();
  }

  Result<search::SearchScope> narrowSearch(const http::RequestContext& context, std::string_view type) const override {
    ASSIGN_OR_RETURN(search::SearchScope outer, inner_->narrowSearch(context, type));
    if (outer.kind == search::SearchScope::Kind::kNone) return outer;
    if (!inPatientCompartment(type)) return outer;
    ASSIGN_OR_RETURN(const Entitlement* e, entitlement(context));
    search::SearchScope scope;
    switch (e->role) {
      case Entitlement::Role::kNone: scope = search::SearchScope::none(); break;
      case Entitlement::Role::kAuditor:
        if (!isAuditType(type)) scope = search::SearchScope::none();
        break;
      case Entitlement::Role::kKeAdmin:
        if (type == "CarePlan") {
          scope.allowed_params = kPlanMetadataParams;
        } else {
          scope = search::SearchScope::none();
        }
        break;
      case Entitlement::Role::kCompartments:
        if (type == "AuditEvent") {
          scope = search::SearchScope::none();
          break;
        }
        scope.any_of = compartmentPredicates(type, e->patients);
        scope.kind = scope.any_of.empty() ? search::SearchScope::Kind::kNone : search::SearchScope::Kind::kOnly;
        break;
    }
    report(context, scope.kind == search::SearchScope::Kind::kNone ? Outcome::kDeny : Outcome::kPermit, "search", type,
           "", purposeOf(context));
    if (outer.kind == search::SearchScope::Kind::kOnly) {
      // Both narrowings hold: the inner one's group is AND-ed through the scope's group; keep the tighter.
      if (scope.kind == search::SearchScope::Kind::kAll) return outer;
    }
    return scope;
  }

  std::optional<std::string> redact(const http::RequestContext& context, std::string_view type,
                                    std::string_view json) const override {
    if (auto inner = inner_->redact(context, type, json)) return inner;
    if (!context.principal || context.principal->kind != PrincipalKind::kKeAdministrator || type != "CarePlan") {
      return std::nullopt;
    }
    auto doc = JsonDocument::parse(std::string(json));
    if (!doc.isOk() || !doc->root().isObject()) return std::string(R"({"resourceType":"CarePlan"})");
    // The kept members, re-serialised from the stored bytes' own members; plus the plan's lifecycle extension.
    std::string out = "{";
    bool first = true;
    for (const auto& m : doc->root().members()) {
      std::string_view key = m.key;
      bool keep = std::find(std::begin(kPlanMetadata), std::end(kPlanMetadata), key) != std::end(kPlanMetadata);
      if (key == "extension") {
        std::string ext;
        for (const JsonValue& x : m.value.items()) {
          const JsonValue* url = x.find("url");
          if (url != nullptr && url->isString() && url->text() == kPlanLifecycleUrl) {
            if (!ext.empty()) ext += ',';
            ext += fhir::writeJson(x);
          }
        }
        if (!ext.empty()) {
          if (!first) out += ',';
          out += "\"extension\":[" + ext + "]";
          first = false;
        }
        continue;
      }
      if (!keep) continue;
      if (!first) out += ',';
      first = false;
      out += "\"" + std::string(key) + "\":" + fhir::writeJson(m.value);
    }
    out += '}';
    return out;
  }

  bool mayBlock() const override { return true; }

 private:
  Result<const Entitlement*> entitlement(const http::RequestContext& context) const {
    if (context.access_state) return static_cast<const Entitlement*>(context.access_state.get());
    std::shared_ptr<const Entitlement> e;
    if (!context.principal) {
      e = std::make_shared<Entitlement>();
    } else {
      ASSIGN_OR_RETURN(e, entitlements_.get(*context.principal, options_));
    }
    const Entitlement* kept = e.get();
    context.access_state = std::move(e);  // moved, not copied: no reference-count round trip
    return kept;
  }

  // Starting a plan needs writes before any consent shares it: health personnel (or a trusted integration engine)
  // may register a Patient, form the first CareTeam of a patient who has none with themselves as its coordinator,
  // and, as the current coordinator of the patient's team, record the patient's Consents and CarePlan (a reserved or
  // unnamed member is no coordinator, so cannot consent themselves in). Each refusal is the same
  // 403 whatever exists, so this reveals nothing; a business-key conflict on a Patient's person number (409) is the
  // one fact a registration may learn, as it must to avoid a duplicate.
  Result<bool> startsAPlan(const Entitlement& e, const Principal& principal, const AccessSubject& subject) const {
    const bool personnel = principal.kind == PrincipalKind::kPractitioner ||
                           (principal.kind == PrincipalKind::kSystem && principal.trusted_client);
    if (!personnel || e.role != Entitlement::Role::kCompartments || e.own_references.empty()) return false;
    if (subject.type == "Patient") return true;
    if (subject.type != "CareTeam" && subject.type != "Consent" && subject.type != "CarePlan") return false;
    const std::vector<std::string> patients = patientCompartmentsOf(subject.type, subject.id, subject.json);
    if (patients.size() != 1) return false;
    if (e.coordinated_patients.contains(patients[0])) return true;
    if (subject.type != "CareTeam") return false;
    // The first team: the patient has none yet, and the requester is in the new one.
    auto doc = JsonDocument::parse(std::string(subject.json));
    if (!doc.isOk() || !doc->root().isObject()) return false;
    bool names_them = false;
    if (const JsonValue* participants = doc->root().find("participant")) {
      for (const JsonValue& p : participants->items()) {
        const JsonValue* member = p.find("member");
        const JsonValue* ref = member != nullptr ? member->find("reference") : nullptr;
        if (ref == nullptr || !ref->isString() || !e.own_references.contains(std::string(ref->text()))) continue;
        const JsonValue* roles = p.find("role");
        for (const JsonValue& role : roles != nullptr ? roles->items() : std::span<const JsonValue>{}) {
          const JsonValue* codings = role.find("coding");
          for (const JsonValue& c : codings != nullptr ? codings->items() : std::span<const JsonValue>{}) {
            const JsonValue* system = c.find("system");
            const JsonValue* code = c.find("code");
            if (system != nullptr && system->isString() && system->text() == "urn:oid:2.16.578.1.12.4.1.1.9034" &&
                code != nullptr && code->isString() && code->text() == "8") {
              names_them = true;
            }
          }
        }
      }
    }
    if (!names_them) return false;
    store::IndexQuery q;
    q.type = "CareTeam";
    q.all_of.push_back({search::referencePredicate("subject", "Patient", patients[0])});
    q.count = 1;
    ASSIGN_OR_RETURN(store::IndexPage page, store_.searchIndex(q));
    return page.ids.empty();
  }

  bool visibleIn(const Entitlement& e, std::string_view type, std::string_view id, std::string_view json,
                 bool& emergency) const {
    bool seen = false;
    bool full = false;
    compartments_.visit(type, id, json, [&](const std::vector<std::string>& patients) {
      for (const std::string& p : patients) {
        if (!e.patients.contains(p)) continue;
        seen = true;
        if (!e.emergency_patients.contains(p)) full = true;
      }
    });
    emergency = seen && !full;
    return seen;
  }

  static std::string_view purposeOf(const http::RequestContext& context) {
    if (!context.principal) return "";
    switch (context.principal->kind) {
      case PrincipalKind::kPatient: return "PATRQT";
      case PrincipalKind::kAuditor:
      case PrincipalKind::kKeAdministrator: return "HOPERAT";
      default: return "TREAT";
    }
  }

  void report(const http::RequestContext& context, Outcome outcome, std::string_view action, std::string_view type,
              std::string_view id, std::string_view purpose) const {
    if (!options_.on_access_decision || !context.principal) return;
    options_.on_access_decision(AccessDecision{outcome, action, type, id, purpose, &*context.principal});
  }

  store::ResourceStore& store_;
  ConsentPolicyOptions options_;
  std::shared_ptr<AccessPolicy> inner_;
  mutable EntitlementCache entitlements_;
  mutable CompartmentMemo compartments_;
};

}  // namespace

std::string_view accessOutcomeName(AccessDecision::Outcome outcome) {
  switch (outcome) {
    case Outcome::kPermit: return "permit";
    case Outcome::kDeny: return "deny";
    case Outcome::kEmergency: return "emergency";
    case Outcome::kRedact: return "redact";
  }
  return "unknown";
}

std::shared_ptr<AccessPolicy> makeConsentPolicy(store::ResourceStore& store, ConsentPolicyOptions options,
                                                std::shared_ptr<AccessPolicy> inner) {
  return std::make_shared<ConsentPolicy>(store, std::move(options), std::move(inner));
}

}  // namespace planbro::gateway::security
