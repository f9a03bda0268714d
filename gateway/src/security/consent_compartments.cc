// The patient compartment of each resource type, for consent enforcement: which search parameters tie a resource to
// the patient it is about (the table is the store's, store/patient_compartment.h: the R4 Patient
// CompartmentDefinition's parameters that name the resource's own patient, so that a patient named only as a
// performer or participant of someone else's resource does not make it theirs; plus Task's `patient`).
#include <algorithm>

#include "planbro/fhir-model/json.h"
#include "planbro/gateway/search/index_predicates.h"
#include "planbro/gateway/search/indexer.h"
#include "planbro/gateway/security/consent_policy.h"
#include "planbro/gateway/store/patient_compartment.h"

namespace planbro::gateway::security {

bool inPatientCompartment(std::string_view type) {
  return type == "Patient" || !store::patientCompartmentParams(type).empty();
}

std::vector<std::string> patientCompartmentsOf(std::string_view type, std::string_view id, std::string_view json) {
  std::vector<std::string> out;
  if (type == "Patient") {
    out.emplace_back(id);
    return out;
  }
  const std::span<const std::string_view> params = store::patientCompartmentParams(type);
  if (params.empty() || json.empty()) return out;
  auto doc = fhir::JsonDocument::parse(std::string(json));
  if (!doc.isOk() || !doc->root().isObject()) return out;
  for (std::string_view param : params) {
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
  // Every compartment parameter for every patient: the shape the store recognises as a compartment group and
  // answers from the head row's compartment column (store/patient_compartment.h, index_query_sql.h).
  for (std::string_view param : store::patientCompartmentParams(type)) {
    for (const std::string& id : patients) group.push_back(search::referencePredicate(param, "Patient", id));
  }
  return group;
}

}  // namespace planbro::gateway::security
