#pragma once
// The canonical URLs and codes of planbro's individual-plan package (conformance/ip/input/fsh/) that the gateway's
// IP code reads: the rules (gateway/src/ip/), the read operations and narrative (gateway/src/ip_read/) and the
// figures (gateway/src/ip_figures/). One place, so a renamed extension in the FSH has one place to follow it here.

#include <string_view>

namespace planbro::gateway::ip {

// CodeSystems
inline constexpr std::string_view kIpCategorySystem = "http://planbro.no/fhir/CodeSystem/ip-category";
inline constexpr std::string_view kConsentKindSystem = "http://planbro.no/fhir/CodeSystem/ip-consent-kind";
inline constexpr std::string_view kLegalBasisSystem = "http://planbro.no/fhir/CodeSystem/ip-legal-basis";
inline constexpr std::string_view kGoalLevelSystem = "http://planbro.no/fhir/CodeSystem/ip-goal-level";
inline constexpr std::string_view kClinicalAreaSystem = "http://planbro.no/fhir/CodeSystem/ip-clinical-area";

// Extensions
inline constexpr std::string_view kLifecycleUrl = "http://planbro.no/fhir/StructureDefinition/ip-plan-lifecycle";
inline constexpr std::string_view kLegalBasisUrl = "http://planbro.no/fhir/StructureDefinition/ip-legal-basis";
inline constexpr std::string_view kMeasureStatusUrl = "http://planbro.no/fhir/StructureDefinition/ip-measure-status";
inline constexpr std::string_view kHandoverUrl = "http://planbro.no/fhir/StructureDefinition/ip-handover";
inline constexpr std::string_view kNextRevisionUrl = "http://planbro.no/fhir/StructureDefinition/ip-next-revision";
inline constexpr std::string_view kEvaluationDateUrl = "http://planbro.no/fhir/StructureDefinition/ip-evaluation-date";
inline constexpr std::string_view kInPlanUrl = "http://planbro.no/fhir/StructureDefinition/ip-in-plan";
inline constexpr std::string_view kLinkKindUrl = "http://planbro.no/fhir/StructureDefinition/ip-link-kind";
inline constexpr std::string_view kLifeDomainUrl = "http://planbro.no/fhir/StructureDefinition/ip-life-domain";

// The coordinator: kodeverk 9034 (roles of health personnel) code 8 «Koordinator Individuell plan».
inline constexpr std::string_view kCoordinatorRoleSystem = "urn:oid:2.16.578.1.12.4.1.1.9034";
inline constexpr std::string_view kCoordinatorRoleCode = "8";

// The legal basis that lets a plan start without the plan consent (GW-45).
inline constexpr std::string_view kCompulsoryCare = "tvungent-psykisk-helsevern";

}  // namespace planbro::gateway::ip
