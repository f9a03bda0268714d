// The patient compartment of each resource type, for consent enforcement: which search parameters tie a resource to
// the patient it is about. From the R4 Patient CompartmentDefinition (hl7.fhir.r4.core), keeping the parameters that
// name the resource's own patient (patient, subject, beneficiary, individual) where a type has one, so that a
// patient named only as a performer or participant of someone else's resource does not make it theirs; plus Task
// (`patient`, Task.for), which R4 leaves out of the compartment and the IP workflow uses for patients.
#include <algorithm>
#include <array>
#include <unordered_map>

#include "planbro/fhir-model/json.h"
#include "planbro/gateway/search/index_predicates.h"
#include "planbro/gateway/search/indexer.h"
#include "planbro/gateway/security/consent_policy.h"

namespace planbro::gateway::security {
namespace {

struct CompartmentRule {
  std::string_view type;
  std::array<std::string_view, 4> params;
};

// Sorted by type (for the reader; ruleFor() looks them up by hash).
constexpr CompartmentRule kRules[] = {
    {"Account", {"subject"}},
    {"AdverseEvent", {"subject"}},
    {"AllergyIntolerance", {"patient"}},
    {"Appointment", {"actor"}},
    {"AppointmentResponse", {"actor"}},
    {"AuditEvent", {"patient"}},
    {"Basic", {"patient"}},
    {"BodyStructure", {"patient"}},
    {"CarePlan", {"patient"}},
    {"CareTeam", {"patient"}},
    {"ChargeItem", {"subject"}},
    {"Claim", {"patient"}},
    {"ClaimResponse", {"patient"}},
    {"ClinicalImpression", {"subject"}},
    {"Communication", {"subject"}},
    {"CommunicationRequest", {"subject"}},
    {"Composition", {"subject"}},
    {"Condition", {"patient"}},
    {"Consent", {"patient"}},
    {"Coverage", {"beneficiary"}},
    {"CoverageEligibilityRequest", {"patient"}},
    {"CoverageEligibilityResponse", {"patient"}},
    {"DetectedIssue", {"patient"}},
    {"DeviceRequest", {"subject"}},
    {"DeviceUseStatement", {"subject"}},
    {"DiagnosticReport", {"subject"}},
    {"DocumentManifest", {"subject"}},
    {"DocumentReference", {"subject"}},
    {"Encounter", {"patient"}},
    {"EnrollmentRequest", {"subject"}},
    {"EpisodeOfCare", {"patient"}},
    {"ExplanationOfBenefit", {"patient"}},
    {"FamilyMemberHistory", {"patient"}},
    {"Flag", {"patient"}},
    {"Goal", {"patient"}},
    {"Group", {"member"}},
    {"ImagingStudy", {"patient"}},
    {"Immunization", {"patient"}},
    {"ImmunizationEvaluation", {"patient"}},
    {"ImmunizationRecommendation", {"patient"}},
    {"Invoice", {"subject", "patient"}},
    {"List", {"subject"}},
    {"MeasureReport", {"patient"}},
    {"Media", {"subject"}},
    {"MedicationAdministration", {"patient", "subject"}},
    {"MedicationDispense", {"subject", "patient"}},
    {"MedicationRequest", {"subject"}},
    {"MedicationStatement", {"subject"}},
    {"MolecularSequence", {"patient"}},
    {"NutritionOrder", {"patient"}},
    {"Observation", {"subject"}},
    {"Person", {"patient"}},
    {"Procedure", {"patient"}},
    {"Provenance", {"patient"}},
    {"QuestionnaireResponse", {"subject"}},
    {"RelatedPerson", {"patient"}},
    {"RequestGroup", {"subject"}},
    {"ResearchSubject", {"individual"}},
    {"RiskAssessment", {"subject"}},
    {"Schedule", {"actor"}},
    {"ServiceRequest", {"subject"}},
    {"Specimen", {"subject"}},
    {"SupplyDelivery", {"patient"}},
    {"SupplyRequest", {"subject"}},
    {"Task", {"patient"}},
    {"VisionPrescription", {"patient"}},
};

// A hash lookup, not the binary search over kRules: every consent decision asks (per read, per search entry), and
// eight string comparisons cost more than the rest of a decision's bookkeeping.
const CompartmentRule* ruleFor(std::string_view type) {
  static const std::unordered_map<std::string_view, const CompartmentRule*> kByType = [] {
    std::unordered_map<std::string_view, const CompartmentRule*> m;
    for (const CompartmentRule& r : kRules) m.emplace(r.type, &r);
    return m;
  }();
  auto it = kByType.find(type);
  return it != kByType.end() ? it->second : nullptr;
}

}  // namespace

bool inPatientCompartment(std::string_view type) { return type == "Patient" || ruleFor(type) != nullptr; }

std::vector<std::string> patientCompartmentsOf(std::string_view type, std::string_view id, std::string_view json) {
  std::vector<std::string> out;
  if (type == "Patient") {
    out.emplace_back(id);
    return out;
  }
  const CompartmentRule* rule = ruleFor(type);
  if (rule == nullptr || json.empty()) return out;
  auto doc = fhir::JsonDocument::parse(std::string(json));
  if (!doc.isOk() || !doc->root().isObject()) return out;
  for (std::string_view param : rule->params) {
    if (param.empty()) break;
    auto rows = search::indexParameter(doc->root(), param);
    if (!rows.isOk()) continue;
    for (const store::IndexRow& r : *rows) {
      if (r.kind != store::IndexValueKind::kReference || r.ref_type != "Patient" || r.ref_id.empty()) continue;
      if (std::find(out.begin(), out.end(), r.ref_id) == out.end()) out.push_back(r.ref_id);
    }
  }
  return out;
}

std::vector<store::IndexPredicate> compartmentPredicates(std::string_view type, const std::set<std::string>& patients) {
  std::vector<store::IndexPredicate> group;
  if (type == "Patient") {
    for (const std::string& id : patients) group.push_back(search::tokenPredicate("_id", std::nullopt, id));
    return group;
  }
  const CompartmentRule* rule = ruleFor(type);
  if (rule == nullptr) return group;
  for (std::string_view param : rule->params) {
    if (param.empty()) break;
    for (const std::string& id : patients) group.push_back(search::referencePredicate(param, "Patient", id));
  }
  return group;
}

}  // namespace planbro::gateway::security
