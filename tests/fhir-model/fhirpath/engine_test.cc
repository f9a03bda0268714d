// Unit tests of the parser and of the semantics that are easy to get wrong: empty propagation, three-valued logic,
// decimal precision, partial-precision dates, navigation over choice types and primitive extensions.
#include <gtest/gtest.h>

#include "planbro/fhir-model/fhirpath.h"

namespace planbro::fhir::fhirpath {
namespace {

constexpr const char* kPatient = R"({
  "resourceType": "Patient", "id": "p1",
  "contained": [{"resourceType": "Organization", "id": "org1", "name": "Clinic"}],
  "extension": [{"url": "http://example.org/ext", "valueString": "x"}],
  "active": true,
  "name": [{"use": "official", "family": "Nordmann", "given": ["Ola", "Kari"]}, {"given": ["Jo"]}],
  "birthDate": "1974-12-25",
  "_birthDate": {"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/patient-birthTime",
                                "valueDateTime": "1974-12-25T14:35:45-05:00"}]},
  "managingOrganization": {"reference": "#org1"},
  "generalPractitioner": [{"reference": "Practitioner/123"}]
})";

constexpr const char* kObservation = R"({
  "resourceType": "Observation", "status": "final",
  "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
  "valueQuantity": {"value": 185.0, "unit": "lbs", "system": "http://unitsofmeasure.org", "code": "[lb_av]"},
  "component": [{"code": {"text": "a"}, "valueString": "s"}, {"code": {"text": "b"}, "valueInteger": 3}]
})";

class Engine : public ::testing::Test {
 protected:
  void SetUp() override {
    auto p = JsonDocument::parse(kPatient);
    ASSERT_TRUE(p.isOk()) << p.status().message();
    patient_ = std::make_unique<JsonDocument>(std::move(p).value());
    auto o = JsonDocument::parse(kObservation);
    ASSERT_TRUE(o.isOk()) << o.status().message();
    observation_ = std::make_unique<JsonDocument>(std::move(o).value());
  }

  Result<Collection> eval(const std::string& expr, const JsonDocument* doc = nullptr) {
    auto e = compile(expr);
    if (!e.isOk()) return e.status();
    return evaluate(**e, (doc ? doc : patient_.get())->root());
  }
  // The result as JSON text, or "error: ..." .
  std::string run(const std::string& expr, const JsonDocument* doc = nullptr) {
    auto r = eval(expr, doc);
    if (!r.isOk()) return "error: " + r.status().message();
    return toJson(*r);
  }

  std::unique_ptr<JsonDocument> patient_, observation_;
};

TEST(FhirPathParser, RejectsSyntaxErrorsWithPosition) {
  auto r = compile("name.given.where(");
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("offset"), std::string::npos);
  EXPECT_FALSE(compile("1 +").isOk());
  EXPECT_FALSE(compile("'unterminated").isOk());
  EXPECT_FALSE(compile("name.noSuchFunction()").isOk());
  EXPECT_FALSE(compile("substring()").isOk());  // arity checked at compile time
  EXPECT_FALSE(compile("@2015-13-01").isOk());
}

TEST(FhirPathParser, RejectsPathologicalNesting) {
  std::string deep(5000, '(');
  deep += "1";
  deep += std::string(5000, ')');
  auto r = compile(deep);
  EXPECT_FALSE(r.isOk());
  // Long chains nest without parser recursion; they are capped so evaluation and destruction stay shallow.
  std::string chain = "name";
  for (int i = 0; i < 20000; ++i) chain += ".given";
  EXPECT_FALSE(compile(chain).isOk());
  std::string sum = "1";
  for (int i = 0; i < 20000; ++i) sum += " + 1";
  EXPECT_FALSE(compile(sum).isOk());
  std::string ok_sum = "1";
  for (int i = 0; i < 100; ++i) ok_sum += " + 1";
  EXPECT_TRUE(compile(ok_sum).isOk());
}

TEST_F(Engine, AppliesSpecPrecedence) {
  EXPECT_EQ(run("1 + 2 * 3"), "[7]");
  EXPECT_EQ(run("(1 + 2) * 3"), "[9]");
  EXPECT_EQ(run("2 - 1 - 1"), "[0]");
  EXPECT_EQ(run("true or false and false"), "[true]");
  EXPECT_EQ(run("1 | 2 = 1 | 2"), "[true]");  // | binds tighter than =
  EXPECT_EQ(run("true implies false or true"), "[true]");
  EXPECT_EQ(run("-2.abs()"), "[-2]");  // invocation binds tighter than unary minus
}

TEST_F(Engine, PropagatesEmptyThroughOperators) {
  EXPECT_EQ(run("{} = 1"), "[]");
  EXPECT_EQ(run("1 + {}"), "[]");
  EXPECT_EQ(run("name.suffix < 1"), "[]");
  EXPECT_EQ(run("{} ~ {}"), "[true]");
  EXPECT_EQ(run("{}.empty()"), "[true]");
  EXPECT_EQ(run("{}.count()"), "[0]");
}

TEST_F(Engine, UsesThreeValuedLogic) {
  EXPECT_EQ(run("{} and false"), "[false]");
  EXPECT_EQ(run("{} and true"), "[]");
  EXPECT_EQ(run("{} or true"), "[true]");
  EXPECT_EQ(run("{} or false"), "[]");
  EXPECT_EQ(run("false implies {}"), "[true]");
  EXPECT_EQ(run("{} implies true"), "[true]");
  EXPECT_EQ(run("true implies {}"), "[]");
  EXPECT_EQ(run("true xor {}"), "[]");
}

TEST_F(Engine, KeepsDecimalPrecision) {
  EXPECT_EQ(run("0.1 + 0.2 = 0.3"), "[true]");
  EXPECT_EQ(run("1.10 + 1"), "[2.10]");
  EXPECT_EQ(run("1.0 = 1"), "[true]");
  EXPECT_EQ(run("1.20 ~ 1.2"), "[true]");
  EXPECT_EQ(run("(10 / 4)"), "[2.5]");
  EXPECT_EQ(run("7 div 2"), "[3]");
  EXPECT_EQ(run("7 mod 2"), "[1]");
  EXPECT_EQ(run("1 / 0"), "[]");
  EXPECT_EQ(run("3.14159.round(2)"), "[3.14]");
  EXPECT_EQ(run("Observation.value.value", observation_.get()), "[185.0]");
}

TEST_F(Engine, ComparesDatesWithPartialPrecision) {
  EXPECT_EQ(run("@2012 = @2012-01"), "[]");
  EXPECT_EQ(run("@2012 < @2013-01"), "[true]");
  EXPECT_EQ(run("@2012-01 < @2012"), "[]");
  EXPECT_EQ(run("@2012-01-01T10:30 = @2012-01-01T10:30:00"), "[]");
  EXPECT_EQ(run("@2012-01-01T10:30:00 = @2012-01-01T10:30:00.000"), "[true]");  // seconds and ms: one precision
  EXPECT_EQ(run("@2012-01-01T10:00:00Z = @2012-01-01T12:00:00+02:00"), "[true]");
  EXPECT_EQ(run("@2012 ~ @2012-01"), "[false]");
  EXPECT_EQ(run("birthDate > @1974-01-01"), "[true]");
  EXPECT_EQ(run("@2019-01-31 + 1 month"), "[\"2019-02-28\"]");
  EXPECT_EQ(run("@2019-03-01 - 1 day"), "[\"2019-02-28\"]");
}

TEST_F(Engine, NavigatesChoiceTypesAndTypes) {
  EXPECT_EQ(run("Observation.value.unit", observation_.get()), "[\"lbs\"]");
  EXPECT_EQ(run("Observation.value is Quantity", observation_.get()), "[true]");
  EXPECT_EQ(run("Observation.value.ofType(Quantity).code", observation_.get()), "[\"[lb_av]\"]");
  EXPECT_EQ(run("Observation.component.value.ofType(integer)", observation_.get()), "[3]");
  EXPECT_EQ(run("(Observation.value as Quantity) > 100 'kg'", observation_.get()), "[false]");
  EXPECT_EQ(run("Observation.value = 185 '[lb_av]'", observation_.get()), "[true]");
  EXPECT_EQ(run("Patient.name.given"), "[\"Ola\",\"Kari\",\"Jo\"]");
  EXPECT_EQ(run("Observation.name"), "[]");  // another type's name at the root: empty, not an error
  // `as` filters repeating elements, as R4 search parameters need (Goal.target.due as date).
  EXPECT_EQ(run("(Observation.component.value as string)", observation_.get()), "[\"s\"]");
}

TEST_F(Engine, ReadsPrimitiveExtensionsAndResolvesReferences) {
  EXPECT_EQ(run("birthDate.extension('http://hl7.org/fhir/StructureDefinition/patient-birthTime').exists()"),
            "[true]");
  EXPECT_EQ(run("birthDate.hasValue()"), "[true]");
  EXPECT_EQ(run("managingOrganization.resolve().name"), "[\"Clinic\"]");
  EXPECT_EQ(run("generalPractitioner.resolve() is Practitioner"), "[true]");
  EXPECT_EQ(run("extension('http://example.org/ext').value"), "[\"x\"]");
  EXPECT_EQ(run("%resource.id"), "[\"p1\"]");
  EXPECT_EQ(run("contained.id"), "[\"org1\"]");
}

TEST_F(Engine, EvaluatesCoreInvariantShapes) {
  // ele-1, dom-2, dom-3 and txt-style expressions as written in the R4 definitions.
  EXPECT_EQ(run("name.all(hasValue() or (children().count() > id.count()))"), "[true]");
  EXPECT_EQ(run("contained.contained.empty()"), "[true]");
  EXPECT_EQ(run("contained.where((('#'+id in (%resource.descendants().reference | "
                "%resource.descendants().as(canonical) | %resource.descendants().as(uri) | "
                "%resource.descendants().as(url))) or descendants().where(reference = '#').exists() or "
                "descendants().where(as(canonical) = '#').exists() or descendants().where(as(canonical) = "
                "'#').exists()).not()).trace('unmatched', id).empty()"),
            "[true]");
  EXPECT_EQ(run("text.`div`.exists()"), "[false]");
}

TEST_F(Engine, EvaluatesAtAFocusInsideTheResource) {
  auto names = eval("name");
  ASSERT_TRUE(names.isOk());
  ASSERT_EQ(names->size(), 2u);
  auto e = compile("given.count() = 2 and %resource.id = 'p1' and %context.use = 'official'");
  ASSERT_TRUE(e.isOk());
  auto r = evaluateBoolean(**e, (*names)[0].asNode(), patient_->root());
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_TRUE(*r);
  auto r2 = evaluateBoolean(**e, (*names)[1].asNode(), patient_->root());
  ASSERT_TRUE(r2.isOk());
  EXPECT_FALSE(*r2);
}

TEST_F(Engine, ReportsSingletonErrors) {
  auto r = eval("name.given.single()");
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(eval("(1 | 2) + 1").isOk());
  EXPECT_FALSE(eval("%undefined").isOk());
  Collection two{Value::boolean(true), Value::boolean(false)};
  EXPECT_FALSE(toBoolean(two).isOk());
  EXPECT_EQ(*toBoolean(Collection{Value::string("x")}), std::optional<bool>(true));
  EXPECT_EQ(*toBoolean(Collection{}), std::optional<bool>());
}

TEST_F(Engine, SupportsEnvironmentVariablesAndAggregates) {
  auto e = compile("%limit + (1 | 2 | 3).aggregate($this + $total, 0)");
  ASSERT_TRUE(e.isOk());
  Environment env;
  env.variables.push_back({"limit", Collection{Value::integer(10)}});
  auto r = evaluate(**e, patient_->root(), env);
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(toJson(*r), "[16]");
  EXPECT_EQ(run("name.given.select($index)"), "[0,1,2]");
  EXPECT_EQ(run("name.select(given.select($index))"), "[0,1,0]");
  EXPECT_EQ(run("%ucum"), "[\"http://unitsofmeasure.org\"]");
}

TEST_F(Engine, SharesOneExpressionAcrossEvaluations) {
  auto e = compile("name.where(use = 'official').given.first()");
  ASSERT_TRUE(e.isOk());
  for (int i = 0; i < 3; ++i) {
    auto r = evaluate(**e, patient_->root());
    ASSERT_TRUE(r.isOk());
    EXPECT_EQ(toJson(*r), "[\"Ola\"]");
  }
}

}  // namespace
}  // namespace planbro::fhir::fhirpath
