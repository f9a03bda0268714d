#include "planbro/fhir-model/model_info.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>

namespace planbro::fhir {
namespace {

const ModelInfo& model() { return ModelInfo::r4(); }

const ElementDef* childNamed(std::span<const ElementDef* const> children, std::string_view name) {
  for (const ElementDef* c : children) {
    if (c->name == name && c->slice_name.empty()) return c;
  }
  return nullptr;
}

TEST(ModelInfo, HasAConcreteTypeForEveryR4Resource) {
  EXPECT_GE(model().resourceTypes().size(), 145u);
  for (const char* name : {"CarePlan", "CareTeam", "Goal", "Consent", "Patient", "Practitioner", "PractitionerRole",
                           "Organization", "RelatedPerson", "Provenance", "AuditEvent", "Bundle", "OperationOutcome",
                           "Parameters", "Binary", "Questionnaire", "QuestionnaireResponse", "Observation"}) {
    EXPECT_TRUE(model().isResourceType(name)) << name;
  }
  EXPECT_FALSE(model().isResourceType("DomainResource"));
  EXPECT_FALSE(model().isResourceType("Resource"));
  EXPECT_FALSE(model().isResourceType("HumanName"));
  EXPECT_FALSE(model().isResourceType("Carepan"));
  EXPECT_TRUE(model().isPrimitiveType("dateTime"));
  EXPECT_FALSE(model().isPrimitiveType("Quantity"));
}

TEST(ModelInfo, ResourceTypesAreSortedAndDeriveFromResource) {
  auto types = model().resourceTypes();
  EXPECT_TRUE(std::is_sorted(types.begin(), types.end(), [](auto* a, auto* b) { return a->name < b->name; }));
  const TypeDef* care_plan = model().type("CarePlan");
  ASSERT_NE(care_plan, nullptr);
  ASSERT_NE(care_plan->base_type, nullptr);
  EXPECT_EQ(care_plan->base_type->name, "DomainResource");
  ASSERT_NE(care_plan->base_type->base_type, nullptr);
  EXPECT_EQ(care_plan->base_type->base_type->name, "Resource");
  EXPECT_EQ(care_plan->url, "http://hl7.org/fhir/StructureDefinition/CarePlan");
  EXPECT_EQ(care_plan->kind, TypeKind::kResource);
  EXPECT_EQ(care_plan->root().path, "CarePlan");
}

TEST(ModelInfo, KnowsTheTypeHierarchy) {
  EXPECT_TRUE(model().isA("Patient", "Patient"));
  EXPECT_TRUE(model().isA("Patient", "DomainResource"));
  EXPECT_TRUE(model().isA("Bundle", "Resource"));
  EXPECT_FALSE(model().isA("Bundle", "DomainResource"));
  EXPECT_TRUE(model().isA("Age", "Quantity"));
  EXPECT_TRUE(model().isA("code", "string"));
  EXPECT_FALSE(model().isA("string", "code"));
  EXPECT_FALSE(model().isA("NoSuchType", "Resource"));
}

TEST(ModelInfo, CarePlanStatusIsRequiredAndBoundToRequestStatus) {
  const TypeDef* care_plan = model().type("CarePlan");
  ASSERT_NE(care_plan, nullptr);
  const ElementDef* status = childNamed(care_plan->rootChildren(), "status");
  ASSERT_NE(status, nullptr);
  EXPECT_EQ(status->path, "CarePlan.status");
  EXPECT_EQ(status->min, 1u);
  EXPECT_EQ(status->max, 1u);
  EXPECT_TRUE(status->is_modifier);
  EXPECT_TRUE(status->is_summary);
  ASSERT_EQ(status->types.size(), 1u);
  EXPECT_EQ(status->types[0].code, "code");
  ASSERT_TRUE(status->binding.has_value());
  EXPECT_EQ(status->binding->strength, BindingStrength::kRequired);
  const ValueSetCodes* codes = model().valueSet(status->binding->value_set);
  ASSERT_NE(codes, nullptr);
  EXPECT_TRUE(codes->complete);
  EXPECT_TRUE(codes->containsCode("active"));
  EXPECT_TRUE(codes->contains("http://hl7.org/fhir/request-status", "active"));
  EXPECT_FALSE(codes->containsCode("foo"));
  EXPECT_FALSE(codes->contains("http://example.org/other", "active"));
  EXPECT_EQ(model().valueSet(status->binding->value_set + "|4.0.1"), codes);
}

TEST(ModelInfo, CarePlanActivityIsAnArrayOfBackboneElementsWithInlineChildren) {
  const ElementDef* activity = model().element("CarePlan.activity");
  ASSERT_NE(activity, nullptr);
  EXPECT_TRUE(activity->isArray());
  EXPECT_EQ(activity->max, kUnbounded);
  const ElementDef* detail_status = model().element("CarePlan.activity.detail.status");
  ASSERT_NE(detail_status, nullptr);
  EXPECT_EQ(detail_status->min, 1u);
  ASSERT_TRUE(detail_status->binding.has_value());
  EXPECT_EQ(detail_status->binding->value_set, "http://hl7.org/fhir/ValueSet/care-plan-activity-status");
  // Constraints are carried, but not ele-1 which validators check natively.
  const TypeDef* care_plan = model().type("CarePlan");
  const auto& root_constraints = care_plan->root().constraints;
  EXPECT_TRUE(std::any_of(root_constraints.begin(), root_constraints.end(), [](const Constraint& c) {
    return c.key == "dom-2" && !c.expression.empty() && c.severity == Severity::kError;
  }));
  const ElementDef* activity_detail = model().element("CarePlan.activity.detail");
  ASSERT_NE(activity_detail, nullptr);
  EXPECT_TRUE(std::none_of(activity_detail->constraints.begin(), activity_detail->constraints.end(),
                           [](const Constraint& c) { return c.key == "ele-1"; }));
  EXPECT_TRUE(std::any_of(activity->constraints.begin(), activity->constraints.end(),
                          [](const Constraint& c) { return c.key == "cpl-3"; }));
}

TEST(ModelInfo, MatchesChoiceElementsByTypeSuffix) {
  const TypeDef* observation = model().type("Observation");
  ASSERT_NE(observation, nullptr);
  auto children = observation->rootChildren();
  auto quantity = model().matchChild(children, "valueQuantity");
  ASSERT_TRUE(quantity.has_value());
  EXPECT_EQ(quantity->element->path, "Observation.value[x]");
  EXPECT_TRUE(quantity->element->is_choice);
  EXPECT_EQ(quantity->type_code, "Quantity");
  auto string_value = model().matchChild(children, "valueString");
  ASSERT_TRUE(string_value.has_value());
  EXPECT_EQ(string_value->type_code, "string");
  auto date_time = model().matchChild(children, "effectiveDateTime");
  ASSERT_TRUE(date_time.has_value());
  EXPECT_EQ(date_time->type_code, "dateTime");
  EXPECT_FALSE(model().matchChild(children, "valueFoo").has_value());
  EXPECT_FALSE(model().matchChild(children, "value").has_value());
  EXPECT_FALSE(model().matchChild(children, "valuequantity").has_value());
  auto status = model().matchChild(children, "status");
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->type_code, "code");
  EXPECT_EQ(ModelInfo::jsonName(*quantity->element, "Quantity"), "valueQuantity");
  EXPECT_EQ(ModelInfo::jsonName(*status->element, "code"), "status");

  // Children of a value come from its data type when the element has no inline children.
  auto quantity_children = model().childrenOf(*quantity->element, quantity->type_code);
  EXPECT_NE(childNamed(quantity_children, "unit"), nullptr);
  EXPECT_NE(childNamed(quantity_children, "system"), nullptr);
}

TEST(ModelInfo, ResolvesQuestionnaireItemItemThroughItsContentReference) {
  const ElementDef* item = model().element("Questionnaire.item");
  ASSERT_NE(item, nullptr);
  const ElementDef* nested = model().element("Questionnaire.item.item");
  ASSERT_NE(nested, nullptr);
  EXPECT_EQ(nested->content_reference, item);
  EXPECT_TRUE(nested->types.empty());
  EXPECT_EQ(nested->children.size(), item->children.size());
  EXPECT_NE(childNamed(nested->children, "linkId"), nullptr);
  auto match = model().matchChild(item->children, "item");
  ASSERT_TRUE(match.has_value());
  EXPECT_EQ(match->element, nested);
  EXPECT_EQ(match->type_code, "BackboneElement");
  // Two levels down still resolves: item.item.item is the same shared definition.
  auto deeper = model().matchChild(model().childrenOf(*nested, match->type_code), "item");
  ASSERT_TRUE(deeper.has_value());
  EXPECT_EQ(deeper->element, nested);
  const ElementDef* answer_value = model().element("Questionnaire.item.enableWhen.answer[x]");
  ASSERT_NE(answer_value, nullptr);
  EXPECT_TRUE(answer_value->is_choice);
}

TEST(ModelInfo, MapsSystemTypesToFhirTypesAndKeepsPrimitiveRegexes) {
  const ElementDef* id = model().element("Patient.id");
  ASSERT_NE(id, nullptr);
  ASSERT_EQ(id->types.size(), 1u);
  EXPECT_EQ(id->types[0].code, "string");
  const TypeDef* date = model().type("date");
  ASSERT_NE(date, nullptr);
  EXPECT_EQ(date->kind, TypeKind::kPrimitive);
  EXPECT_FALSE(date->value_regex.empty());
  const TypeDef* boolean = model().type("boolean");
  ASSERT_NE(boolean, nullptr);
  EXPECT_EQ(boolean->value_regex, "true|false");
  const ElementDef* url = model().element("Extension.url");
  ASSERT_NE(url, nullptr);
  ASSERT_EQ(url->types.size(), 1u);
  EXPECT_EQ(url->types[0].code, "uri");
}

TEST(ModelInfo, KeepsReferenceTargetProfiles) {
  const ElementDef* subject = model().element("CarePlan.subject");
  ASSERT_NE(subject, nullptr);
  ASSERT_EQ(subject->types.size(), 1u);
  EXPECT_EQ(subject->types[0].code, "Reference");
  const auto& targets = subject->types[0].target_profiles;
  EXPECT_NE(std::find(targets.begin(), targets.end(), "http://hl7.org/fhir/StructureDefinition/Patient"), targets.end());
  EXPECT_NE(std::find(targets.begin(), targets.end(), "http://hl7.org/fhir/StructureDefinition/Group"), targets.end());
}

TEST(ModelInfo, FindsCoreProfilesByUrlWithSlicesAndFixedValues) {
  const TypeDef* vitals = model().profile("http://hl7.org/fhir/StructureDefinition/vitalsigns");
  ASSERT_NE(vitals, nullptr);
  EXPECT_TRUE(vitals->isProfile());
  EXPECT_EQ(vitals->constrained_type, "Observation");
  ASSERT_NE(vitals->base_type, nullptr);
  EXPECT_EQ(vitals->base_type->name, "Observation");
  const TypeDef* weight = model().profile("http://hl7.org/fhir/StructureDefinition/bodyweight|4.0.1");
  ASSERT_NE(weight, nullptr);
  EXPECT_EQ(weight->base_type, vitals);
  EXPECT_EQ(model().profile("http://hl7.org/fhir/StructureDefinition/Observation"), nullptr);

  const ElementDef* category = childNamed(vitals->rootChildren(), "category");
  ASSERT_NE(category, nullptr);
  ASSERT_TRUE(category->slicing.has_value());
  EXPECT_FALSE(category->slicing->discriminators.empty());
  const ElementDef* slice = nullptr;
  for (const ElementDef* c : vitals->rootChildren()) {
    if (c->slice_name == "VSCat") slice = c;
  }
  ASSERT_NE(slice, nullptr);
  EXPECT_EQ(slice->id, "Observation.category:VSCat");
  const ElementDef* coding = childNamed(slice->children, "coding");
  ASSERT_NE(coding, nullptr);
  const ElementDef* code = childNamed(coding->children, "code");
  ASSERT_NE(code, nullptr);
  EXPECT_EQ(code->fixed_json, "\"vital-signs\"");
  EXPECT_NE(model().profile("http://hl7.org/fhir/StructureDefinition/SimpleQuantity"), nullptr);
}

TEST(ModelInfo, ListsCarePlanSearchParametersWithExpressions) {
  auto params = model().searchParams("CarePlan");
  EXPECT_GE(params.size(), 20u);
  const SearchParamDef* subject = model().searchParam("CarePlan", "subject");
  ASSERT_NE(subject, nullptr);
  EXPECT_EQ(subject->type, SearchParamType::kReference);
  EXPECT_EQ(subject->expression, "CarePlan.subject");
  EXPECT_NE(std::find(subject->target.begin(), subject->target.end(), "Patient"), subject->target.end());
  const SearchParamDef* patient = model().searchParam("CarePlan", "patient");
  ASSERT_NE(patient, nullptr);
  EXPECT_EQ(patient->type, SearchParamType::kReference);
  // Multi-base parameters keep their whole expression; the indexer picks this type's part.
  EXPECT_NE(patient->expression.find("CarePlan.subject.where(resolve() is Patient)"), std::string::npos);
  EXPECT_NE(patient->expression.find("Observation.subject"), std::string::npos);
  const SearchParamDef* status = model().searchParam("CarePlan", "status");
  ASSERT_NE(status, nullptr);
  EXPECT_EQ(status->type, SearchParamType::kToken);
  EXPECT_EQ(status->expression, "CarePlan.status");
  // Resource and DomainResource parameters apply to every type.
  const SearchParamDef* id = model().searchParam("CarePlan", "_id");
  ASSERT_NE(id, nullptr);
  EXPECT_EQ(id->expression, "Resource.id");
  EXPECT_NE(model().searchParam("CarePlan", "_lastUpdated"), nullptr);
  EXPECT_NE(model().searchParam("Bundle", "_id"), nullptr);
  EXPECT_EQ(model().searchParam("CarePlan", "nonexistent"), nullptr);
  EXPECT_TRUE(model().searchParams("NotAType").empty());
}

TEST(ModelInfo, KeepsCompositeSearchParameterComponents) {
  const SearchParamDef* combo = model().searchParam("Observation", "code-value-quantity");
  ASSERT_NE(combo, nullptr);
  EXPECT_EQ(combo->type, SearchParamType::kComposite);
  ASSERT_EQ(combo->components.size(), 2u);
  ASSERT_EQ(combo->component_expressions.size(), 2u);
  EXPECT_EQ(combo->components[0], "http://hl7.org/fhir/SearchParameter/clinical-code");
}

TEST(ModelInfo, ExpandsValueSetsFromNestedCodeSystemsAndMarksExternalOnesIncomplete) {
  // administrative-gender: a whole small code system.
  const ValueSetCodes* gender = model().valueSet("http://hl7.org/fhir/ValueSet/administrative-gender");
  ASSERT_NE(gender, nullptr);
  EXPECT_EQ(gender->codes.size(), 4u);
  EXPECT_TRUE(gender->containsCode("unknown"));
  // resource-types lists every resource type.
  const ValueSetCodes* resource_types = model().valueSet("http://hl7.org/fhir/ValueSet/resource-types");
  ASSERT_NE(resource_types, nullptr);
  EXPECT_TRUE(resource_types->containsCode("CarePlan"));
  // UCUM units cannot be expanded from the core package.
  const ValueSetCodes* ucum = model().valueSet("http://hl7.org/fhir/ValueSet/ucum-units");
  ASSERT_NE(ucum, nullptr);
  EXPECT_FALSE(ucum->complete);
  EXPECT_EQ(model().valueSet("http://example.org/nope"), nullptr);
}

TEST(ModelInfo, RejectsMalformedCompiledDefinitions) {
  EXPECT_FALSE(ModelInfo::parse("").isOk());
  EXPECT_FALSE(ModelInfo::parse("{").isOk());
  EXPECT_FALSE(ModelInfo::parse("[]").isOk());
  EXPECT_FALSE(ModelInfo::parse(R"({"types":[],"profiles":[],"vs":[]})").isOk());
  EXPECT_FALSE(ModelInfo::parse(R"({"types":[{"n":"X","k":"q","e":[{"p":"X"}]}],"profiles":[],"vs":[],"sp":[]})").isOk());
  EXPECT_FALSE(ModelInfo::parse(R"({"types":[{"n":"X","k":"c","e":[{"p":"X"},{"p":"Y.a"}]}],"profiles":[],"vs":[],"sp":[]})").isOk());
  auto minimal = ModelInfo::parse(R"({"types":[{"n":"X","k":"c","e":[{"p":"X"},{"p":"X.a","t":["string"]}]}],"profiles":[],"vs":[],"sp":[]})");
  ASSERT_TRUE(minimal.isOk()) << minimal.status().message();
  EXPECT_NE((*minimal)->element("X.a"), nullptr);
}

TEST(ModelInfo, EmbedsTheCompiledDefinitions) {
  std::string_view text = ModelInfo::embeddedDefinitions();
  ASSERT_GT(text.size(), 1000u);
  EXPECT_EQ(text.front(), '{');
  // Loading a second copy gives the same model; the figure printed is informational, not asserted.
  auto start = std::chrono::steady_clock::now();
  auto copy = ModelInfo::parse(text);
  auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  ASSERT_TRUE(copy.isOk()) << copy.status().message();
  std::printf("[ info ] parsed %zu bytes of definitions in %lld ms\n", text.size(),
              static_cast<long long>(elapsed.count()));
  EXPECT_EQ((*copy)->resourceTypes().size(), model().resourceTypes().size());
}

}  // namespace
}  // namespace planbro::fhir
