// The rules on IP CarePlans: one active plan per patient (GW-01), no start without the plan consent (GW-40, GW-45),
// measure statuses along the allowed graph (GW-18). One hook, so the stored version is read and parsed once.
#include "plan_rules.h"

#include <optional>
#include <unordered_map>

#include "ip_resource.h"
#include "planbro/gateway/ops/identity_keys.h"

namespace planbro::gateway::ip::internal {

using fhir::JsonDocument;
using fhir::JsonValue;

namespace {

// The id of a local reference "Type/id" (or "Type/id/_history/n"), else "".
std::string localId(std::string_view reference, std::string_view type) {
  if (!reference.starts_with(type) || reference.size() <= type.size() + 1 || reference[type.size()] != '/') return {};
  std::string_view rest = reference.substr(type.size() + 1);
  return std::string(rest.substr(0, rest.find('/')));
}

std::vector<std::string> personNumbersOfPatient(const JsonValue& patient) {
  std::vector<std::string> out;
  const JsonValue* identifiers = patient.find("identifier");
  if (!identifiers || !identifiers->isArray()) return out;
  for (const JsonValue& identifier : identifiers->items()) {
    std::string digits = personNumberOf(identifier);
    if (!digits.empty()) out.push_back(std::move(digits));
  }
  return out;
}

// One measure («tiltak») of a plan, as far as its identity across versions and its status go.
struct Measure {
  size_t index = 0;
  std::string id;    // CarePlan.activity.id (Element id): the identity a client keeps stable
  std::string code;  // detail.code.coding[0] system|code
  std::string text;  // detail.code.text
  std::string status;
};

std::vector<Measure> measuresOf(const JsonValue& plan) {
  std::vector<Measure> out;
  const JsonValue* activities = plan.find("activity");
  if (!activities || !activities->isArray()) return out;
  size_t i = 0;
  for (const JsonValue& activity : activities->items()) {
    Measure m;
    m.index = i++;
    if (!activity.isObject()) continue;
    m.id = std::string(textOf(activity.find("id")));
    const JsonValue* detail = activity.find("detail");
    if (!detail || !detail->isObject()) continue;
    m.status = std::string(extensionCode(*detail, kMeasureStatusUrl));
    if (const JsonValue* code = detail->find("code"); code && code->isObject()) {
      m.text = std::string(textOf(code->find("text")));
      if (const JsonValue* codings = code->find("coding"); codings && codings->isArray() && codings->size() > 0) {
        const JsonValue& c = codings->items()[0];
        if (!textOf(c.find("code")).empty()) {
          m.code = std::string(textOf(c.find("system"))) + "|" + std::string(textOf(c.find("code")));
        }
      }
    }
    out.push_back(std::move(m));
  }
  return out;
}

// The measures of one version by identity, each kind of identity counted, so matching is O(n), not O(n²): a plan
// may carry thousands of measures and the match runs inside the writer turn.
struct MeasureIndex {
  std::unordered_map<std::string, const Measure*> by_id;
  std::unordered_map<std::string, std::pair<size_t, const Measure*>> by_code, by_text;  // count, the id-less one

  explicit MeasureIndex(const std::vector<Measure>& measures) {
    for (const Measure& m : measures) {
      if (!m.id.empty()) by_id.emplace(m.id, &m);
      for (auto [map, value] : {std::pair{&by_code, &m.code}, std::pair{&by_text, &m.text}}) {
        if (value->empty()) continue;
        auto& entry = (*map)[*value];
        ++entry.first;
        if (m.id.empty()) entry.second = &m;
      }
    }
  }
  static size_t count(const std::unordered_map<std::string, std::pair<size_t, const Measure*>>& map,
                      const std::string& value) {
    auto it = map.find(value);
    return it == map.end() ? 0 : it->second.first;
  }
};

// The earlier version of measure `m`: by Element id when it has one; else by its coded name, else by its name as
// written, each only when it names exactly one measure in both versions (an ambiguous measure is a new one).
const Measure* previousOf(const Measure& m, const MeasureIndex& before, const MeasureIndex& after) {
  if (!m.id.empty()) {
    auto it = before.by_id.find(m.id);
    return it == before.by_id.end() ? nullptr : it->second;
  }
  for (bool coded : {true, false}) {
    const std::string& value = coded ? m.code : m.text;
    if (value.empty()) continue;
    const auto& was = coded ? before.by_code : before.by_text;
    const auto& now = coded ? after.by_code : after.by_text;
    if (MeasureIndex::count(now, value) != 1 || MeasureIndex::count(was, value) != 1) return nullptr;
    return was.find(value)->second.second;  // null when the one earlier measure had an id
  }
  return nullptr;
}

std::string statusExpression(size_t index) {
  return "CarePlan.activity[" + std::to_string(index) + "].detail.extension('" + std::string(kMeasureStatusUrl) +
         "')";
}

}  // namespace

PlanRulesHook::PlanRulesHook(IpRulesOptions options, MeasureStatusGraph graph)
    : options_(std::move(options)), graph_(std::move(graph)) {
  if (!options_.clock) options_.clock = store::systemClock();
}

Result<std::string> PlanRulesHook::patientKey(ops::HookContext& context, const JsonValue& plan) const {
  const JsonValue* subject = plan.find("subject");
  std::string digits;
  std::string patient_id;
  if (subject && subject->isObject()) {
    if (const JsonValue* identifier = subject->find("identifier")) digits = personNumberOf(*identifier);
    patient_id = localId(textOf(subject->find("reference")), "Patient");
  }
  if (!patient_id.empty() && !digits.empty()) {
    // The Patient's person-number key (identity_keys.h) says whether it carries this number, without reading and
    // parsing it: the key is claimed with every version that carries the number and released with the version
    // that drops it or deletes the Patient. Held by this Patient: the same person. Held by another or by none (no
    // identity hook, or two Patients stored before it with one number): the Patient itself decides, below.
    ASSIGN_OR_RETURN(std::optional<std::string> holder,
                     context.tx.findKeyOwner(store::BusinessKey{"Patient", std::string(ops::kPersonNumberKey), digits}));
    if (holder && *holder == patient_id) return digits;
  }
  if (!patient_id.empty()) {
    auto stored = context.tx.read("Patient", patient_id);
    if (stored.isOk()) {
      auto doc = JsonDocument::parse(stored->json);
      if (!doc.isOk()) return Status(StatusCode::kInternal, "the stored Patient cannot be parsed");
      std::vector<std::string> numbers = personNumbersOfPatient(doc->root());
      if (digits.empty() && !numbers.empty()) digits = numbers.front();
      bool same = numbers.empty();
      for (const std::string& n : numbers) same = same || n == digits;
      if (!same) {
        return violation(context.outcome, StatusCode::kUnprocessable, "business-rule", "GW-01", "CarePlan.subject",
                         "subject.reference and subject.identifier name different persons: the Patient referenced "
                         "does not carry the person number given",
                         "subject.reference og subject.identifier peker på ulike personer: pasienten det vises til "
                         "har ikke fødselsnummeret som er oppgitt");
      }
    } else if (stored.status().code() != StatusCode::kNotFound && stored.status().code() != StatusCode::kGone) {
      return stored.status();
    }
  }
  if (!digits.empty()) return digits;
  if (!patient_id.empty()) return "Patient/" + patient_id;  // a patient without a person number
  return violation(context.outcome, StatusCode::kUnprocessable, "business-rule", "GW-01", "CarePlan.subject",
                   "an individual plan must name its patient: a person number in subject.identifier (fødselsnummer, "
                   "D-nummer or felles hjelpenummer) or a reference to a Patient",
                   "en individuell plan må angi pasienten: fødselsnummer, D-nummer eller felles hjelpenummer i "
                   "subject.identifier, eller en referanse til en Patient");
}

Status PlanRulesHook::checkMeasures(fhir::OperationOutcome* outcome, const JsonValue& current,
                                    const JsonValue& proposed) const {
  if (!graph_.loaded()) return Status::ok();  // no package: the start-up log says the rule is off
  std::vector<Measure> before = measuresOf(current);
  std::vector<Measure> after = measuresOf(proposed);
  const MeasureIndex before_index(before), after_index(after);
  for (const Measure& m : after) {
    const Measure* was = previousOf(m, before_index, after_index);
    if (!was || was->status.empty() || m.status.empty() || graph_.allowed(was->status, m.status)) continue;
    std::string next = graph_.nextOf(was->status);
    std::string name = m.text.empty() ? std::string("#") + std::to_string(m.index) : "'" + m.text + "'";
    return violation(outcome, StatusCode::kUnprocessable, "business-rule", "GW-18", statusExpression(m.index),
                     "the measure " + name + " cannot change status from '" + was->status + "' to '" + m.status +
                         "' (allowed from '" + was->status + "': " + (next.empty() ? "none, it is final" : next) +
                         ")",
                     "tiltaket " + name + " kan ikke endre status fra '" + was->status + "' til '" + m.status +
                         "' (tillatt fra '" + was->status + "': " + (next.empty() ? "ingen, statusen er endelig" : next) +
                         ")");
  }
  return Status::ok();
}

namespace {

// The consent rule, run once the whole transaction is written (the Bundle may create the consent after the plan).
struct ConsentCheck {
  std::string patient_key;       // person number, or "Patient/<id>"
  std::string subject_reference;  // "Patient/<id>" when the plan has one
  std::vector<std::string> consent_ids;
  store::Clock clock;

  Status operator()(store::WriteTransaction& tx, fhir::OperationOutcome* outcome) const {
    const Day today = dayOf(clock());
    std::string reasons;
    for (const std::string& id : consent_ids) {
      // Locked: a concurrent withdrawal of this consent waits for our commit, or we see it (docs/ip-rules.md).
      auto stored = tx.readForUpdate("Consent", id);
      std::string why;
      if (!stored.isOk()) {
        why = "does not exist";
      } else if (auto doc = JsonDocument::parse(stored->json); !doc.isOk()) {
        return Status(StatusCode::kInternal, "the stored Consent cannot be parsed");
      } else {
        const JsonValue& consent = doc->root();
        const JsonValue* patient = consent.find("patient");
        std::string digits;
        std::string reference;
        if (patient && patient->isObject()) {
          if (const JsonValue* identifier = patient->find("identifier")) digits = personNumberOf(*identifier);
          reference = std::string(textOf(patient->find("reference")));
        }
        const JsonValue* provision = consent.find("provision");
        if (!hasCategory(consent, kConsentKindSystem, "plan")) {
          why = "is not a plan consent (ip-consent-kind plan)";
        } else if (textOf(consent.find("status")) != "active") {
          why = "has status '" + std::string(textOf(consent.find("status"))) + "', not 'active'";
        } else if (!((!digits.empty() && digits == patient_key) ||
                     (!reference.empty() && (reference == subject_reference || reference == patient_key)))) {
          why = "is for another patient";
        } else if (!periodCovers(provision && provision->isObject() ? provision->find("period") : nullptr, today)) {
          why = "is not valid today (provision.period)";
        } else {
          return Status::ok();
        }
      }
      reasons += (reasons.empty() ? " (" : "; ") + std::string("Consent/") + id + " " + why;
    }
    if (!reasons.empty()) reasons += ")";
    return violation(outcome, StatusCode::kUnprocessable, "business-rule", "GW-40",
                     consent_ids.empty() ? "CarePlan.extension('" + std::string(kLifecycleUrl) + "')"
                                         : std::string("CarePlan.supportingInfo"),
                     "a plan cannot be started (lifecycle started, finished or under-revision) without the user's "
                     "consent to the plan: link an active IP Consent of kind 'plan' for this patient, valid today, in "
                     "CarePlan.supportingInfo, or give the legal basis 'tvungent-psykisk-helsevern' (GW-45)" +
                         reasons,
                     "planen kan ikke påbegynnes uten brukerens samtykke til planen: lenk et aktivt IP-samtykke av "
                     "typen 'plan' for denne pasienten, gyldig i dag, i CarePlan.supportingInfo, eller oppgi "
                     "rettsgrunnlaget 'tvungent-psykisk-helsevern' (GW-45)" + reasons);
  }
};

}  // namespace

Result<ops::KeyChanges> PlanRulesHook::keysInTransaction(ops::HookContext& context, const ops::PreparedWrite& write,
                                                         const JsonValue* current, const JsonValue* proposed) const {
  (void)write;
  ops::KeyChanges changes;
  const bool was_ip = current && isIpCarePlan(*current);
  const bool is_ip = proposed && isIpCarePlan(*proposed);
  if (!was_ip && !is_ip) return changes;
  std::optional<std::string> claimed;
  if (is_ip) {
    ASSIGN_OR_RETURN(std::string patient, patientKey(context, *proposed));
    if (isActivePlan(*proposed)) {
      ops::KeyClaim claim;
      claim.key = store::BusinessKey{"CarePlan", std::string(kActivePlanKey), patient};
      claim.location = "CarePlan.subject";
      claim.description = "active individual plan of the patient";
      claim.rule = "GW-01";
      claim.conflict_en = "the patient already has an active individual plan, {holder}: a patient has at most one. "
                          "Update that plan, or end it (lifecycle 'ended', status completed or revoked) first";
      claim.conflict_nb = "pasienten har allerede en aktiv individuell plan, {holder}: en pasient har høyst én. "
                          "Oppdater den planen, eller avslutt den først (livsløp 'ended', status completed eller "
                          "revoked)";
      changes.claims.push_back(std::move(claim));
      claimed = patient;
    }
    if (was_ip) RETURN_IF_ERROR(checkMeasures(context.outcome, *current, *proposed));
    const bool starts = isStartedOrBeyond(lifecycleOf(*proposed)) && !(was_ip && isStartedOrBeyond(lifecycleOf(*current)));
    if (starts && extensionCode(*proposed, kLegalBasisUrl) != kCompulsoryCare) {
      ConsentCheck check;
      check.patient_key = patient;
      check.clock = options_.clock;
      if (const JsonValue* subject = proposed->find("subject"); subject && subject->isObject()) {
        std::string id = localId(textOf(subject->find("reference")), "Patient");
        if (!id.empty()) check.subject_reference = "Patient/" + id;
      }
      if (const JsonValue* info = proposed->find("supportingInfo"); info && info->isArray()) {
        for (const JsonValue& ref : info->items()) {
          std::string id = ref.isObject() ? localId(textOf(ref.find("reference")), "Consent") : std::string();
          if (!id.empty()) check.consent_ids.push_back(std::move(id));
        }
      }
      context.defer(std::move(check));
    }
  }
  if (was_ip && isActivePlan(*current)) {
    // The key the stored version holds, unless this version keeps it; released only while this plan holds it.
    ops::HookContext quiet{context.tx, context.origin, context.deferred, nullptr};  // its issues are not this write's
    auto before = patientKey(quiet, *current);
    if (before.isOk() && (!claimed || *before != *claimed)) {
      changes.releases.push_back(store::BusinessKey{"CarePlan", std::string(kActivePlanKey), *before});
    }
  }
  return changes;
}

}  // namespace planbro::gateway::ip::internal
