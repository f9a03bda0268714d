// The patient compartment's parameters per type (patient_compartment.h). The table was the consent layer's; it is
// the store's now because the store keeps each resource's compartment on its head row (schema 8).
#include "planbro/gateway/store/patient_compartment.h"

#include <array>
#include <unordered_map>

namespace planbro::gateway::store {
namespace {

struct CompartmentRule {
  std::string_view type;
  std::array<std::string_view, 2> params;
  size_t count;
};

// Sorted by type (for the reader; patientCompartmentParams() looks them up by hash).
constexpr CompartmentRule kRules[] = {
    {"Account", {"subject"}, 1},
    {"AdverseEvent", {"subject"}, 1},
    {"AllergyIntolerance", {"patient"}, 1},
    {"Appointment", {"actor"}, 1},
    {"AppointmentResponse", {"actor"}, 1},
    {"AuditEvent", {"patient"}, 1},
    {"Basic", {"patient"}, 1},
    {"BodyStructure", {"patient"}, 1},
    {"CarePlan", {"patient"}, 1},
    {"CareTeam", {"patient"}, 1},
    {"ChargeItem", {"subject"}, 1},
    {"Claim", {"patient"}, 1},
    {"ClaimResponse", {"patient"}, 1},
    {"ClinicalImpression", {"subject"}, 1},
    {"Communication", {"subject"}, 1},
    {"CommunicationRequest", {"subject"}, 1},
    {"Composition", {"subject"}, 1},
    {"Condition", {"patient"}, 1},
    {"Consent", {"patient"}, 1},
    {"Coverage", {"beneficiary"}, 1},
    {"CoverageEligibilityRequest", {"patient"}, 1},
    {"CoverageEligibilityResponse", {"patient"}, 1},
    {"DetectedIssue", {"patient"}, 1},
    {"DeviceRequest", {"subject"}, 1},
    {"DeviceUseStatement", {"subject"}, 1},
    {"DiagnosticReport", {"subject"}, 1},
    {"DocumentManifest", {"subject"}, 1},
    {"DocumentReference", {"subject"}, 1},
    {"Encounter", {"patient"}, 1},
    {"EnrollmentRequest", {"subject"}, 1},
    {"EpisodeOfCare", {"patient"}, 1},
    {"ExplanationOfBenefit", {"patient"}, 1},
    {"FamilyMemberHistory", {"patient"}, 1},
    {"Flag", {"patient"}, 1},
    {"Goal", {"patient"}, 1},
    {"Group", {"member"}, 1},
    {"ImagingStudy", {"patient"}, 1},
    {"Immunization", {"patient"}, 1},
    {"ImmunizationEvaluation", {"patient"}, 1},
    {"ImmunizationRecommendation", {"patient"}, 1},
    {"Invoice", {"subject", "patient"}, 2},
    {"List", {"subject"}, 1},
    {"MeasureReport", {"patient"}, 1},
    {"Media", {"subject"}, 1},
    {"MedicationAdministration", {"patient", "subject"}, 2},
    {"MedicationDispense", {"subject", "patient"}, 2},
    {"MedicationRequest", {"subject"}, 1},
    {"MedicationStatement", {"subject"}, 1},
    {"MolecularSequence", {"patient"}, 1},
    {"NutritionOrder", {"patient"}, 1},
    {"Observation", {"subject"}, 1},
    {"Person", {"patient"}, 1},
    {"Procedure", {"patient"}, 1},
    {"Provenance", {"patient"}, 1},
    {"QuestionnaireResponse", {"subject"}, 1},
    {"RelatedPerson", {"patient"}, 1},
    {"RequestGroup", {"subject"}, 1},
    {"ResearchSubject", {"individual"}, 1},
    {"RiskAssessment", {"subject"}, 1},
    {"Schedule", {"actor"}, 1},
    {"ServiceRequest", {"subject"}, 1},
    {"Specimen", {"subject"}, 1},
    {"SupplyDelivery", {"patient"}, 1},
    {"SupplyRequest", {"subject"}, 1},
    {"Task", {"patient"}, 1},
    {"VisionPrescription", {"patient"}, 1},
};

}  // namespace

std::span<const std::string_view> patientCompartmentParams(std::string_view type) {
  // A hash lookup: every consent decision and every write of an indexed resource asks.
  static const std::unordered_map<std::string_view, const CompartmentRule*> kByType = [] {
    std::unordered_map<std::string_view, const CompartmentRule*> m;
    for (const CompartmentRule& r : kRules) m.emplace(r.type, &r);
    return m;
  }();
  auto it = kByType.find(type);
  if (it == kByType.end()) return {};
  return std::span<const std::string_view>(it->second->params.data(), it->second->count);
}

std::span<const std::string_view> patientCompartmentTypes() {
  static const auto kTypes = [] {
    std::array<std::string_view, std::size(kRules)> types{};
    for (size_t i = 0; i < std::size(kRules); ++i) types[i] = kRules[i].type;
    return types;
  }();
  return kTypes;
}

std::optional<std::string_view> singleCompartmentPatient(std::string_view type, const std::vector<IndexRow>& rows) {
  const std::span<const std::string_view> params = patientCompartmentParams(type);
  if (params.empty()) return std::nullopt;
  std::optional<std::string_view> patient;
  for (const IndexRow& r : rows) {
    if (r.kind != IndexValueKind::kReference || r.ref_type != "Patient" || r.ref_id.empty() || !r.text.empty()) continue;
    bool of_compartment = false;
    for (std::string_view p : params) of_compartment = of_compartment || r.param == p;
    if (!of_compartment) continue;
    if (patient && *patient != r.ref_id) return std::nullopt;  // several patients
    patient = r.ref_id;
  }
  return patient;
}

}  // namespace planbro::gateway::store
