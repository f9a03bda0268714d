// The validator's native fast paths for invariants give the FHIRPath result: per-1 (Period start <= end) on every
// shape, whether it is decided natively (same precision, same zone) or left to the engine (mixed precision, zones).

#include <gtest/gtest.h>

#include <string>
#include <utility>

#include "../../../fhir-model/src/validation/constraint_cache.h"
#include "../../../fhir-model/src/validation/primitive_checks.h"
#include "planbro/fhir-model/fhirpath.h"
#include "planbro/fhir-model/json.h"
#include "planbro/fhir-model/model_info.h"
#include "planbro/fhir-model/validator.h"
#include "test_files.h"

namespace planbro::fhir {
namespace {

using testing::describeErrors;

bool hasPer1(const OperationOutcome& out) {
  for (const auto& issue : out.issues()) {
    if (issue.diagnostics.starts_with("per-1")) return true;
  }
  return false;
}

OperationOutcome validatePeriod(const std::string& period) {
  return validateJsonText(R"({"resourceType": "Encounter", "status": "finished",
                              "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
                              "period": )" + period + "}");
}

TEST(Per1FastPath, PassesWhenEitherEndIsMissing) {
  EXPECT_FALSE(hasPer1(validatePeriod(R"({"start": "2020-01-02"})")));
  EXPECT_FALSE(hasPer1(validatePeriod(R"({"end": "2020-01-02"})")));
  EXPECT_FALSE(hasPer1(validatePeriod(
      R"({"start": "2020-01-02", "_end": {"extension": [{"url": "http://example.org/x", "valueString": "y"}]}})")));
}

TEST(Per1FastPath, ComparesDatesOfTheSamePrecision) {
  auto ok = validatePeriod(R"({"start": "2020-01-02", "end": "2020-01-02"})");
  EXPECT_FALSE(ok.hasErrors()) << describeErrors(ok);
  EXPECT_FALSE(hasPer1(validatePeriod(R"({"start": "2020-01", "end": "2020-02"})")));
  EXPECT_TRUE(hasPer1(validatePeriod(R"({"start": "2020-01-03", "end": "2020-01-02"})")));
  EXPECT_TRUE(hasPer1(validatePeriod(R"({"start": "2021", "end": "2020"})")));
}

TEST(Per1FastPath, ComparesDateTimesInTheSameZone) {
  EXPECT_FALSE(hasPer1(validatePeriod(R"({"start": "2020-01-02T10:00:00Z", "end": "2020-01-02T10:00:01Z"})")));
  EXPECT_TRUE(hasPer1(validatePeriod(R"({"start": "2020-01-02T10:00:01Z", "end": "2020-01-02T10:00:00Z"})")));
  EXPECT_TRUE(hasPer1(
      validatePeriod(R"({"start": "2020-01-02T10:00:00.5+01:00", "end": "2020-01-02T10:00:00.4+01:00"})")));
}

TEST(Per1FastPath, NormalisesDifferentZonesBeforeComparing) {
  // 10:00+02:00 is 08:00Z: before 09:00Z although its text sorts after it.
  EXPECT_FALSE(hasPer1(validatePeriod(R"({"start": "2020-01-02T10:00:00+02:00", "end": "2020-01-02T09:00:00Z"})")));
  EXPECT_TRUE(hasPer1(validatePeriod(R"({"start": "2020-01-02T10:00:00-02:00", "end": "2020-01-02T11:00:00Z"})")));
}

TEST(Per1FastPath, MixedPrecisionIsNotAFailure) {
  // FHIRPath: comparing values of different precision may be empty, and an empty invariant result passes.
  EXPECT_FALSE(hasPer1(validatePeriod(R"({"start": "2020-01-02", "end": "2020-01-02T10:00:00Z"})")));
  EXPECT_TRUE(hasPer1(validatePeriod(R"({"start": "2020-01-03", "end": "2020-01-02T10:00:00Z"})")));
}

// isValidBase64 checks 16-byte blocks at once before its exact loop: every position in and across blocks counts.
TEST(Base64FastPath, JudgesEveryPositionOfLongValues) {
  const std::string block = "QUJDREVGR0hJSktM";  // 16 alphabet characters
  std::string long_value;
  for (int i = 0; i < 8; ++i) long_value += block;
  EXPECT_TRUE(validation::isValidBase64(long_value));
  EXPECT_TRUE(validation::isValidBase64(long_value + "QQ=="));
  EXPECT_TRUE(validation::isValidBase64(long_value.substr(0, 40) + "\n" + long_value.substr(40)));
  for (size_t at : {size_t{0}, size_t{15}, size_t{16}, size_t{17}, size_t{63}, size_t{127}}) {
    std::string bad = long_value;
    bad[at] = '%';
    EXPECT_FALSE(validation::isValidBase64(bad)) << "invalid byte at " << at;
    std::string padded_inside = long_value;
    padded_inside[at] = '=';
    EXPECT_EQ(validation::isValidBase64(padded_inside), at >= 126) << "padding at " << at;
  }
  EXPECT_FALSE(validation::isValidBase64(long_value + "QQ===")) << "three padding characters";
}


// con-3/4/5, obs-7, the Bundle's bdl-3/4/7/11/12 and org-1 pass without the engine when the members present decide them (ConstraintCache::passesByShape);
// on every shape below the validator's verdict must be the engine's, and the shapes cover both the shortcut and
// the engine path.
struct ShapeCase {
  std::string key;
  std::string json;
  bool shortcut;  // expected: decided by the shortcut
  bool passes;    // expected verdict
};

bool engineVerdict(const JsonValue& resource, std::string_view key) {
  const TypeDef* type = ModelInfo::r4().type(resource.find("resourceType")->text());
  for (const Constraint& c : type->root().constraints) {
    if (c.key != key) continue;
    auto expr = fhirpath::compile(c.expression);
    EXPECT_TRUE(expr.isOk());
    fhirpath::Node node;
    node.json = &resource;
    node.type = type->name;
    auto r = fhirpath::evaluateBoolean(**expr, node, resource, {}, /*empty_is=*/true);
    EXPECT_TRUE(r.isOk()) << r.status().message();
    return r.isOk() && r.value();
  }
  ADD_FAILURE() << "no constraint " << key;
  return false;
}

const validation::ConstraintCache::Compiled* compiledFor(const JsonValue& resource, std::string_view key) {
  const TypeDef* type = ModelInfo::r4().type(resource.find("resourceType")->text());
  for (const Constraint& c : type->root().constraints) {
    if (c.key == key) return validation::ConstraintCache::get().find(c);
  }
  return nullptr;
}

TEST(InvariantShortcuts, AgreeWithTheEngineOnEveryShape) {
  const std::string cond = R"("resourceType": "Condition", "subject": {"reference": "Patient/1"})";
  const std::string active =
      R"("clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]})";
  const std::string resolved =
      R"("clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "resolved"}]})";
  const std::string in_error =
      R"("verificationStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "entered-in-error"}]})";
  const std::string confirmed =
      R"("verificationStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "confirmed"}]})";
  const std::string problem =
      R"("category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-category", "code": "problem-list-item"}]}])";
  const std::string obs = R"("resourceType": "Observation", "status": "final",
      "code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]})";
  const std::string same_component =
      R"("component": [{"code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]}, "valueString": "x"}])";
  const std::string other_component =
      R"("component": [{"code": {"coding": [{"system": "http://loinc.org", "code": "8462-4"}]}, "valueString": "x"}])";
  auto bundle = [](const std::string& type, const std::vector<std::string>& entries) {
    std::string list;
    for (const std::string& e : entries) list += (list.empty() ? "" : ",") + e;
    return R"({"resourceType":"Bundle","type":")" + type + "\"" + (entries.empty() ? "" : R"(,"entry":[)" + list + "]") + "}";
  };
  auto entry = [](const std::string& full_url, const std::string& version) {
    return R"({"fullUrl":")" + full_url + R"(","resource":{"resourceType":"Basic","code":{"text":"x"})" +
           (version.empty() ? "" : R"(,"meta":{"versionId":")" + version + "\"}") + "}}";
  };
  const std::string plain_entry = R"({"resource":{"resourceType":"Basic","code":{"text":"x"}}})";
  const std::string with_request = R"({"resource":{"resourceType":"Basic","code":{"text":"x"}},"request":{"method":"POST","url":"Basic"}})";
  const std::string with_response = R"({"resource":{"resourceType":"Basic","code":{"text":"x"}},"response":{"status":"201"}})";
  const std::string patient_entry = R"({"fullUrl":"urn:x:p","resource":{"resourceType":"Patient"}})";
  const std::string composition_entry = R"({"fullUrl":"urn:x:c","resource":{"resourceType":"Composition","status":"final",
      "type":{"text":"x"},"date":"2020-01-01","author":[{"display":"a"}],"title":"t"}})";
  const std::vector<ShapeCase> cases = {
      {"con-3", "{" + cond + "," + active + "," + problem + "}", true, true},
      {"con-3", "{" + cond + "," + confirmed + "}", true, true},
      {"con-3", "{" + cond + "," + confirmed + "," + problem + "}", false, false},
      {"con-3", "{" + cond + "," + in_error + "," + problem + "}", false, true},
      {"con-4", "{" + cond + "," + active + "}", true, true},
      {"con-4", "{" + cond + "," + active + R"(, "abatementDateTime": "2020-01-01"})", false, false},
      {"con-4", "{" + cond + "," + resolved + R"(, "abatementString": "gone"})", false, true},
      {"con-4", "{" + cond + "," + active +
                    R"(, "_abatementDateTime": {"extension": [{"url": "http://example.org/x", "valueString": "y"}]}})",
       false, false},
      {"con-5", "{" + cond + "," + active + "}", true, true},
      {"con-5", "{" + cond + "," + in_error + "}", true, true},
      {"con-5", "{" + cond + "," + in_error + "," + active + "}", false, false},
      {"con-5", "{" + cond + "," + confirmed + "," + active + "}", false, true},
      {"obs-7", "{" + obs + R"(, "valueString": "x"})", true, true},
      {"obs-7", "{" + obs + R"(, "valueString": "x",)" + same_component + "}", false, false},
      {"obs-7", "{" + obs + R"(, "valueString": "x",)" + other_component + "}", false, true},
      {"obs-7", "{" + obs + "," + same_component + "}", false, true},
      // The Bundle's, and org-1.
      {"bdl-3", bundle("transaction", {with_request, with_request}), true, true},
      {"bdl-3", bundle("transaction", {with_request, plain_entry}), false, false},
      {"bdl-3", bundle("collection", {plain_entry, with_request}), false, false},
      {"bdl-3", bundle("collection", {}), true, true},
      {"bdl-3", R"({"resourceType":"Bundle","type":"transaction","entry":[{"request":{}}]})", false, true},
      {"bdl-4", bundle("batch-response", {with_response}), true, true},
      {"bdl-4", bundle("collection", {with_response}), false, false},
      {"bdl-4", bundle("history", {plain_entry}), false, false},
      {"bdl-7", bundle("collection", {entry("urn:x:a", ""), entry("urn:x:b", "")}), true, true},
      {"bdl-7", bundle("collection", {entry("urn:x:a", ""), entry("urn:x:a", "")}), false, false},
      {"bdl-7", bundle("collection", {entry("urn:x:a", "1"), entry("urn:x:a", "2")}), true, true},
      {"bdl-7", bundle("collection", {entry("urn:x:a1", ""), entry("urn:x:a", "1")}), false, false},
      {"bdl-7", bundle("history", {entry("urn:x:a", ""), entry("urn:x:a", "")}), true, true},
      {"bdl-7", bundle("collection", {plain_entry, plain_entry}), true, true},
      {"bdl-11", bundle("collection", {patient_entry}), true, true},
      {"bdl-11", bundle("document", {patient_entry}), false, false},
      {"bdl-11", bundle("document", {composition_entry, patient_entry}), false, true},
      {"bdl-12", bundle("transaction", {patient_entry}), true, true},
      {"bdl-12", bundle("message", {patient_entry}), false, false},
      {"bdl-12", R"({"resourceType":"Bundle","_type":{"extension":[{"url":"http://example.org/x","valueString":"y"}]}})", false, true},
      {"org-1", R"({"resourceType":"Organization","name":"A"})", true, true},
      {"org-1", R"({"resourceType":"Organization","identifier":[{"value":"1"}]})", true, true},
      {"org-1", R"({"resourceType":"Organization","active":true})", false, false},
      {"org-1", R"({"resourceType":"Organization","_name":{"extension":[{"url":"http://example.org/x","valueString":"y"}]}})", false, true},
  };
  for (const ShapeCase& c : cases) {
    auto doc = JsonDocument::parse(c.json);
    ASSERT_TRUE(doc.isOk()) << doc.status().message() << "\n" << c.json;
    const auto* compiled = compiledFor(doc->root(), c.key);
    ASSERT_NE(compiled, nullptr) << c.key;
    ASSERT_NE(compiled->shortcut, validation::ConstraintCache::Compiled::Shortcut::kNone) << c.key;
    EXPECT_EQ(validation::ConstraintCache::passesByShape(compiled->shortcut, doc->root(), &doc->root()), c.shortcut)
        << c.key << " " << c.json;
    const bool engine = engineVerdict(doc->root(), c.key);
    EXPECT_EQ(engine, c.passes) << c.key << " " << c.json;
    bool reported = false;
    const OperationOutcome outcome = validateJsonText(c.json);
    for (const auto& issue : outcome.issues()) {
      if (issue.diagnostics.starts_with(c.key + ":")) reported = true;
    }
    EXPECT_EQ(!reported, engine) << c.key << " " << c.json;
  }
}


// The generic shortcut: an expression of the form `m.exists() implies X` or `m.empty() or X` holds on a focus
// without `m`, so the engine is not run there. Only those forms, where FHIRPath's precedence makes the absence
// decide (a second `implies`, or an `xor` beside the `or`, would not).
TEST(InvariantShortcuts, AMemberWhoseAbsenceDecidesIsReadFromTheExpressionsForm) {
  using validation::ConstraintCache;
  EXPECT_EQ(ConstraintCache::absentMemberOf(
                "onBehalfOf.exists() implies (member.resolve().iif(empty(), true, ofType(Practitioner).exists()))"),
            "onBehalfOf");
  EXPECT_EQ(ConstraintCache::absentMemberOf("value.empty() or code!=component.code"), "value");
  EXPECT_EQ(ConstraintCache::absentMemberOf("a.exists() implies b.exists() implies c.exists()"), "");
  EXPECT_EQ(ConstraintCache::absentMemberOf("a.empty() or b.exists() implies c.exists()"), "");
  EXPECT_EQ(ConstraintCache::absentMemberOf("a.empty() or b.exists() xor c.exists()"), "");
  EXPECT_EQ(ConstraintCache::absentMemberOf("a.exists() and b.exists() implies c.exists()"), "");
  EXPECT_EQ(ConstraintCache::absentMemberOf("%resource.a.exists() implies b.exists()"), "");
  EXPECT_EQ(ConstraintCache::absentMemberOf("Patient.a.exists() implies b.exists()"), "");
  EXPECT_EQ(ConstraintCache::absentMemberOf("a.where(b).exists() implies c.exists()"), "");

  auto focus = JsonDocument::parse(R"({"member": {"reference": "#o"}, "_onBehalfOfX": 1, "valueString": "x"})");
  ASSERT_TRUE(focus.isOk());
  EXPECT_TRUE(ConstraintCache::passesWhenAbsent("role", focus->root()));
  EXPECT_FALSE(ConstraintCache::passesWhenAbsent("member", focus->root()));
  EXPECT_FALSE(ConstraintCache::passesWhenAbsent("onBehalfOf", focus->root()));  // a twin: not decided
  EXPECT_FALSE(ConstraintCache::passesWhenAbsent("value", focus->root()));       // a choice: not decided
}

// ctm-1 (on CareTeam.participant) takes the shortcut without onBehalfOf and still runs, and fails, with it.
TEST(InvariantShortcuts, TheAbsenceShortcutKeepsTheConstraintWhereTheMemberIsPresent) {
  auto ctm1 = [](const std::string& participant) {
    const OperationOutcome out = validateJsonText(R"({"resourceType": "CareTeam",
        "contained": [{"resourceType": "Organization", "id": "o", "name": "Team"}],
        "participant": [)" + participant + "]}");
    for (const auto& issue : out.issues()) {
      if (issue.diagnostics.starts_with("ctm-1:")) return true;
    }
    return false;
  };
  const auto* compiled = [] () -> const validation::ConstraintCache::Compiled* {
    const TypeDef* team = ModelInfo::r4().type("CareTeam");
    for (const ElementDef& el : team->elements) {
      for (const Constraint& c : el.constraints) {
        if (c.key == "ctm-1") return validation::ConstraintCache::get().find(c);
      }
    }
    return nullptr;
  }();
  ASSERT_NE(compiled, nullptr);
  EXPECT_EQ(compiled->absent_member, "onBehalfOf");
  EXPECT_FALSE(ctm1(R"({"member": {"reference": "#o"}})"));
  EXPECT_TRUE(ctm1(R"({"member": {"reference": "#o"}, "onBehalfOf": {"reference": "#o"}})"));
}

// The reference check cuts a reference at its first '?' or '#' (by 16-byte blocks for references of 16 bytes or
// more, the last block overlapping): a '#' at every position of references of every length from 7 to 48 bytes,
// the issue judged by the rule itself. Observation.subject does not allow Basic, so a reference that still reads
// "Basic/<id>" after the cut is refused as a target; one cut before its id is not a reference at all.
TEST(ReferenceFastPath, CutsAtTheFirstFragmentOrQueryAtEveryPosition) {
  auto issuesOf = [](const std::string& reference) {
    OperationOutcome out = validateJsonText(
        R"({"resourceType": "Observation", "status": "final", "code": {"text": "x"}, "subject": {"reference": ")" +
        reference + R"("}})");
    bool not_allowed = false;
    bool not_a_reference = false;
    for (const auto& issue : out.issues()) {
      not_allowed |= issue.diagnostics.find("a reference to a Basic is not allowed") != std::string::npos;
      not_a_reference |= issue.diagnostics.find("is not a valid reference") != std::string::npos;
    }
    return std::pair<bool, bool>{not_allowed, not_a_reference};
  };
  for (size_t id_length = 1; id_length <= 42; ++id_length) {
    std::string id;
    for (size_t i = 0; i < id_length; ++i) id += "a1-.Z9"[i % 6];
    const std::string plain = "Basic/" + id;
    EXPECT_EQ(issuesOf(plain), (std::pair<bool, bool>{true, false})) << plain;
    for (size_t k = 0; k < plain.size(); ++k) {
      for (char cut : {'#', '?'}) {
        std::string reference = plain;
        reference[k] = cut;
        // The text before the cut is "Basic/" and at least one byte of id exactly when k > 6.
        const bool typed = k > 6;
        // Without a type, a reference with a '?' is a search URL (not judged), one starting with '#' a local reference
        // (its own issue); with a '#' elsewhere it is no reference.
        const std::pair<bool, bool> expected{typed, !typed && cut == '#' && k != 0};
        EXPECT_EQ(issuesOf(reference), expected) << reference;
      }
    }
  }
}

}  // namespace
}  // namespace planbro::fhir
