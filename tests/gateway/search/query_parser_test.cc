// Parsing search parameters into index predicates (no store involved).
#include <gtest/gtest.h>

#include "planbro/gateway/search/indexer.h"
#include "planbro/gateway/search/search_request.h"

namespace planbro::gateway::search {
namespace {

using store::IndexPredicate;
using store::IndexValueKind;

SearchRequest parseOk(std::string_view type, const QueryParams& params, Handling handling = Handling::kStrict) {
  auto r = parseSearch(type, params, handling);
  EXPECT_TRUE(r.isOk()) << r.status().message();
  return r.isOk() ? std::move(r).value() : SearchRequest{};
}

TEST(ParseSearch, TokenFormsMapToSystemAndCode) {
  auto req = parseOk("Patient", {{"identifier", "urn:oid:2.16.578.1.12.4.1.4.1|15858512066"},
                                 {"gender", "|male"}, {"language", "urn:ietf:bcp:47|"}, {"active", "true"}});
  ASSERT_EQ(req.criteria.size(), 4u);
  const IndexPredicate& id = req.criteria[0].any_of.at(0);
  EXPECT_EQ(id.kind, IndexValueKind::kToken);
  EXPECT_EQ(id.system, "urn:oid:2.16.578.1.12.4.1.4.1");
  EXPECT_EQ(id.code, "15858512066");
  EXPECT_EQ(req.criteria[1].any_of[0].system, "");
  EXPECT_EQ(req.criteria[1].any_of[0].code, "male");
  EXPECT_EQ(req.criteria[2].any_of[0].system, "urn:ietf:bcp:47");
  EXPECT_FALSE(req.criteria[2].any_of[0].code.has_value());
  EXPECT_FALSE(req.criteria[3].any_of[0].system.has_value());
}

TEST(ParseSearch, CommaIsOrRepeatedParameterIsAnd) {
  auto req = parseOk("CarePlan", {{"status", "active,completed"}, {"category", "a"}, {"category", "b"}});
  ASSERT_EQ(req.criteria.size(), 3u);
  EXPECT_EQ(req.criteria[0].any_of.size(), 2u);
  EXPECT_EQ(req.criteria[1].any_of.size(), 1u);
}

TEST(ParseSearch, EscapedCommaStaysInTheValue) {
  auto req = parseOk("Patient", {{"name", "a\\,b"}});
  ASSERT_EQ(req.criteria.at(0).any_of.size(), 1u);
  EXPECT_EQ(req.criteria[0].any_of[0].text, "a,b");
}

// Issue 8: `name:contains=%00x` matched everything (SQLite's LIKE ends the pattern at NUL). Control characters are
// never part of a search value: 400, whichever handling, and the message does not echo them.
TEST(ParseSearch, ControlCharactersInNamesOrValuesAreRejected) {
  for (std::string bad : {std::string("a\0b", 3), std::string("\0x", 2), std::string("x\ty"), std::string("a\x7f")}) {
    for (Handling h : {Handling::kStrict, Handling::kLenient}) {
      auto r = parseSearch("Patient", {{"name:contains", bad}}, h);
      ASSERT_FALSE(r.isOk());
      EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
      EXPECT_EQ(r.status().message().find(bad), std::string::npos);
    }
  }
  EXPECT_FALSE(parseSearch("Patient", {{std::string("na\0me", 5), "x"}}, Handling::kLenient).isOk());
}

TEST(ParseSearch, ParameterAndValueCountsAreBounded) {
  ParseOptions o;
  o.max_parameters = 3;
  o.max_or_values = 4;
  EXPECT_TRUE(parseSearch("Patient", {{"_id", "a,b,c,d"}}, o).isOk());
  auto values = parseSearch("Patient", {{"_id", "a,b,c,d,e"}}, o);
  ASSERT_FALSE(values.isOk());
  EXPECT_EQ(values.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(values.status().message().find("at most 4"), std::string::npos);
  auto params = parseSearch("Patient", {{"name", "a"}, {"name", "b"}, {"name", "c"}, {"name", "d"}}, o);
  ASSERT_FALSE(params.isOk());
  EXPECT_EQ(params.status().code(), StatusCode::kInvalidArgument);
  // The defaults: 100 parameters, 1,000 values each.
  std::string many = "x";
  for (int i = 0; i < 1000; ++i) many += ",x" + std::to_string(i);
  EXPECT_FALSE(parseSearch("Patient", {{"_id", many}}, Handling::kStrict).isOk());
}

TEST(ParseSearch, StringModifiersAndNormalisation) {
  auto req = parseOk("Patient", {{"name", "ÅSE"}, {"family:exact", "Ødegård"}, {"given:contains", "ola"}});
  EXPECT_EQ(req.criteria[0].any_of[0].match, IndexPredicate::Match::kPrefix);
  EXPECT_EQ(req.criteria[0].any_of[0].text, "åse");
  EXPECT_EQ(req.criteria[1].any_of[0].param, "family:exact");
  EXPECT_EQ(req.criteria[1].any_of[0].text, "Ødegård");
  EXPECT_EQ(req.criteria[2].any_of[0].match, IndexPredicate::Match::kContains);
}

TEST(ParseSearch, DatePrefixesBecomeRowBounds) {
  auto month = parseDateRange("2013-01").value();
  auto req = parseOk("Observation", {{"date", "ge2013-01"}, {"date", "lt2013-01"}, {"date", "2013-01"},
                                     {"date", "sa2013-01"}, {"date", "eb2013-01"}, {"date", "ne2013-01"}});
  ASSERT_EQ(req.criteria.size(), 6u);
  EXPECT_EQ(req.criteria[0].any_of[0].high_ge, month.low);
  EXPECT_EQ(req.criteria[1].any_of[0].low_le, month.low - 1);
  EXPECT_EQ(req.criteria[2].any_of[0].low_ge, month.low);
  EXPECT_EQ(req.criteria[2].any_of[0].high_le, month.high);
  EXPECT_EQ(req.criteria[3].any_of[0].low_ge, month.high + 1);
  EXPECT_EQ(req.criteria[4].any_of[0].high_le, month.low - 1);
  EXPECT_TRUE(req.criteria[5].any_of[0].negate);
}

TEST(ParseSearch, MalformedDateIsAnErrorEvenWhenLenient) {
  auto r = parseSearch("Observation", {{"date", "ge2013-13"}}, Handling::kLenient);
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("date"), std::string::npos);
}

TEST(ParseSearch, ReferenceForms) {
  auto req = parseOk("CarePlan", {{"subject", "Patient/example"}, {"subject:Patient", "abc"},
                                  {"subject", "http://x.example/fhir/Patient/1"},
                                  {"subject:identifier", "urn:oid:2.16.578.1.12.4.1.4.1|15858512066"},
                                  {"subject:missing", "true"}});
  ASSERT_EQ(req.criteria.size(), 5u);
  EXPECT_EQ(req.criteria[0].any_of[0].ref_type, "Patient");
  EXPECT_EQ(req.criteria[0].any_of[0].ref_id, "example");
  EXPECT_EQ(req.criteria[1].any_of[0].ref_type, "Patient");
  EXPECT_EQ(req.criteria[1].any_of[0].ref_id, "abc");
  EXPECT_EQ(req.criteria[2].any_of[0].text, "http://x.example/fhir/Patient/1");
  EXPECT_EQ(req.criteria[3].any_of[0].param, std::string("subject") + std::string(kIdentifierSuffix));
  EXPECT_EQ(req.criteria[3].any_of[0].kind, IndexValueKind::kToken);
  EXPECT_TRUE(req.criteria[4].any_of[0].negate);
  EXPECT_EQ(req.criteria[4].any_of[0].param, "subject");
  EXPECT_EQ(req.criteria[4].any_of[0].kind, IndexValueKind::kReference);
  EXPECT_EQ(req.criteria[4].any_of[0].presence_param, std::string("subject") + std::string(kPresentSuffix));
}

TEST(ParseSearch, ChainAndReverseChain) {
  auto req = parseOk("CarePlan", {{"subject:Patient.identifier", "urn:oid:2.16.578.1.12.4.1.4.1|15858512066"},
                                  {"subject.name", "pet"}});
  ASSERT_EQ(req.criteria.size(), 2u);
  ASSERT_TRUE(req.criteria[0].chain);
  EXPECT_EQ(req.criteria[0].chain->reference_param, "subject");
  ASSERT_EQ(req.criteria[0].chain->targets.size(), 1u);
  EXPECT_EQ(req.criteria[0].chain->targets[0].type, "Patient");
  ASSERT_TRUE(req.criteria[1].chain);
  EXPECT_GE(req.criteria[1].chain->targets.size(), 1u);  // Patient (and Group has no name parameter)
  auto has = parseOk("Patient", {{"_has:CarePlan:subject:status", "active"}});
  ASSERT_TRUE(has.criteria.at(0).has);
  EXPECT_EQ(has.criteria[0].has->source_type, "CarePlan");
  EXPECT_EQ(has.criteria[0].has->reference_param, "subject");
  // Two levels: the plan's subject's managing organisation by name.
  auto deep = parseOk("CarePlan", {{"subject:Patient.organization.name", "x"}});
  ASSERT_TRUE(deep.criteria.at(0).chain);
  const ChainTarget& patient = deep.criteria[0].chain->targets.at(0);
  EXPECT_EQ(patient.type, "Patient");
  ASSERT_EQ(patient.nested.size(), 1u);
  ASSERT_TRUE(patient.nested[0].chain);
  EXPECT_EQ(patient.nested[0].chain->reference_param, "organization");
  EXPECT_EQ(patient.nested[0].chain->targets.at(0).type, "Organization");
  EXPECT_FALSE(patient.nested[0].chain->targets[0].any_of.empty());
  // Nested _has: patients with an Observation that some AuditEvent names as its entity.
  auto nested = parseOk("Patient", {{"_has:Observation:patient:_has:AuditEvent:entity:agent", "Practitioner/x"}});
  ASSERT_TRUE(nested.criteria.at(0).has);
  EXPECT_EQ(nested.criteria[0].has->source_type, "Observation");
  ASSERT_EQ(nested.criteria[0].has->nested.size(), 1u);
  ASSERT_TRUE(nested.criteria[0].has->nested[0].has);
  EXPECT_EQ(nested.criteria[0].has->nested[0].has->source_type, "AuditEvent");
  // Depth is bounded.
  ParseOptions shallow;
  shallow.max_chain_depth = 1;
  EXPECT_FALSE(parseSearch("CarePlan", {{"subject:Patient.organization.name", "x"}}, shallow).isOk());
}

TEST(ParseSearch, UnknownParameterIsAnErrorUnlessLenient) {
  auto strict = parseSearch("CarePlan", {{"colour", "red"}}, Handling::kStrict);
  ASSERT_FALSE(strict.isOk());
  EXPECT_EQ(strict.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(strict.status().message().find("colour"), std::string::npos);
  auto lenient = parseOk("CarePlan", {{"colour", "red"}, {"status", "active"}}, Handling::kLenient);
  EXPECT_EQ(lenient.criteria.size(), 1u);
  ASSERT_EQ(lenient.warnings.size(), 1u);
  EXPECT_NE(lenient.warnings[0].find("colour"), std::string::npos);
  ASSERT_EQ(lenient.link_params.size(), 1u);  // the dropped parameter is not in the links
  EXPECT_FALSE(parseSearch("CarePlan", {{"status:in", "http://x"}}, Handling::kStrict).isOk());
  EXPECT_FALSE(parseSearch("Patient", {{"_text", "x"}}, Handling::kStrict).isOk());
}

// A parameter R4 defines for AuditEvent that it is not indexed by is refused with a message naming it, never
// answered from rows that were never written (an empty page).
TEST(ParseSearch, AnAuditEventParameterThatIsNotIndexedIsRefusedNamingIt) {
  for (const char* name : {"agent-role", "entity-role", "entity-name:exact", "_tag"}) {
    auto r = parseSearch("AuditEvent", {{name, "x"}}, Handling::kStrict);
    ASSERT_FALSE(r.isOk()) << name;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << name;
    EXPECT_NE(r.status().message().find(std::string("'") + name + "' is not indexed for AuditEvent"), std::string::npos)
        << r.status().message();
  }
  EXPECT_EQ(parseOk("AuditEvent", {{"entity-type", "1"}, {"agent", "Practitioner/pr1"}, {"date", "ge2026-12-01"}})
                .criteria.size(),
            3u);
}

// Provenance is indexed by every R4 parameter but agent-type (the gateway's records all carry the same two agent
// types): agent-type is refused naming it; who, which system, what and when are searchable.
TEST(ParseSearch, ProvenanceAgentTypeIsNotIndexedAndItsOtherParametersAre) {
  for (const char* name : {"agent-type", "agent-type:text"}) {
    auto r = parseSearch("Provenance", {{name, "author"}}, Handling::kStrict);
    ASSERT_FALSE(r.isOk()) << name;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << name;
    EXPECT_NE(r.status().message().find(std::string("'") + name + "' is not indexed for Provenance"), std::string::npos)
        << r.status().message();
  }
  EXPECT_EQ(parseOk("Provenance", {{"target", "CarePlan/p1"},
                                   {"agent", "Practitioner/pr1"},
                                   {"agent:identifier", "http://planbro.no/fhir/NamingSystem/source-system|rest"},
                                   {"recorded", "ge2026-12-01"},
                                   {"patient", "Patient/a"},
                                   {"entity", "DocumentReference/d"},
                                   {"agent-role", "x"},
                                   {"when", "2026"},
                                   {"_lastUpdated", "ge2026-12-01"}})
                .criteria.size(),
            9u);
}

TEST(ParseSearch, ResultParameters) {
  auto req = parseOk("CarePlan", {{"_count", "5000"}, {"_sort", "-_lastUpdated,status"},
                                  {"_include", "CarePlan:care-team"}, {"_revinclude:iterate", "Provenance:target"},
                                  {"_summary", "data"}, {"_elements", "status,subject"}, {"_total", "accurate"},
                                  {"_format", "json"}, {"_pretty", "true"}, {"_cursor", "k.abc"}});
  EXPECT_EQ(req.count, store::kMaxPageSize);
  ASSERT_EQ(req.sort.size(), 2u);
  EXPECT_TRUE(req.sort[0].descending);
  EXPECT_EQ(req.sort[0].param, "_lastUpdated");
  ASSERT_EQ(req.includes.size(), 1u);
  EXPECT_EQ(req.includes[0].param, "care-team");
  ASSERT_EQ(req.revincludes.size(), 1u);
  EXPECT_TRUE(req.revincludes[0].iterate);
  EXPECT_EQ(req.summary, SummaryMode::kData);
  EXPECT_EQ(req.elements.size(), 2u);
  EXPECT_EQ(req.total, TotalMode::kAccurate);
  EXPECT_EQ(req.format, "json");
  EXPECT_EQ(req.cursor, "k.abc");
  EXPECT_EQ(req.link_params.size(), 9u);
  EXPECT_FALSE(parseSearch("CarePlan", {{"_include", "CarePlan:status"}}, Handling::kStrict).isOk());
  EXPECT_FALSE(parseSearch("CarePlan", {{"_count", "-1"}}, Handling::kStrict).isOk());
  EXPECT_EQ(parseOk("CarePlan", {{"_count", "0"}}).summary, SummaryMode::kCount);
}

TEST(ParseSearch, NumberAndQuantityPrefixes) {
  auto req = parseOk("Observation", {{"value-quantity", "gt5.4|http://unitsofmeasure.org|mg"}});
  ASSERT_EQ(req.criteria.size(), 2u);  // the value and its unit
  bool value = false, unit = false;
  for (const auto& c : req.criteria) {
    const auto& p = c.any_of.at(0);
    if (p.kind == IndexValueKind::kNumber) {
      value = true;
      EXPECT_GT(*p.number_ge, 5.4);
    } else {
      unit = p.code == "mg" && p.system == "http://unitsofmeasure.org";
    }
  }
  EXPECT_TRUE(value);
  EXPECT_TRUE(unit);
}

TEST(ParseSearch, HostileValuesGiveOkOrInvalidArgumentNeverAnotherCode) {
  const std::vector<std::string> values = {"", "|", "||", "\\", "a\\", ",", ",,", "ge", "ap", "eq-", "1e400",
                                           "99999999999999999999", "Patient/", "/x", "Patient//x", "urn:", "%",
                                           "2026-02-30", "2026-01-01T25:00:00Z", "sa9999-12-31", "eb0001-01-01",
                                           "x|y|z", "true", std::string(4096, 'a'), "\xff\xfe", "Ødegård"};
  const std::vector<std::string> modifiers = {"", ":missing", ":not", ":exact", ":contains", ":text", ":Patient",
                                              ":identifier", ":below", ":above", ":bogus"};
  size_t checked = 0;
  for (std::string_view type : {"CarePlan", "Patient", "Observation"}) {
    for (const auto* p : searchParamsFor(type)) {
      for (const auto& m : modifiers) {
        for (const auto& v : values) {
          {
            Handling h = checked % 2 == 0 ? Handling::kStrict : Handling::kLenient;
            auto r = parseSearch(type, {{p->code + m, v}}, h);
            ++checked;
            if (!r.isOk()) {
              EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << p->code << m << "=" << v;
            }
          }
        }
      }
    }
  }
  for (const std::string name : {"_count", "_sort", "_include", "_revinclude", "_summary", "_total", "_has:X:y:z",
                                 "_has:CarePlan:subject:status", "subject.name", "subject:Patient.identifier"}) {
    for (const auto& v : values) {
      auto r = parseSearch("Patient", {{name, v}}, Handling::kStrict);
      if (!r.isOk()) {
        EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << name << "=" << v;
      }
    }
  }
  EXPECT_GT(checked, 10000u);
}

TEST(DecodeQuery, PercentAndPlusDecoding) {
  auto form = decodeQuery("subject%3APatient.identifier=urn%3Aoid%3A2.16.578.1.12.4.1.4.1%7C15858512066&name=per+ola", true);
  ASSERT_TRUE(form.isOk());
  ASSERT_EQ(form->size(), 2u);
  EXPECT_EQ((*form)[0].first, "subject:Patient.identifier");
  EXPECT_EQ((*form)[0].second, "urn:oid:2.16.578.1.12.4.1.4.1|15858512066");
  EXPECT_EQ((*form)[1].second, "per ola");
  auto query = decodeQuery("date=ge2013-01-01T00:00:00+01:00", false);
  ASSERT_TRUE(query.isOk());
  EXPECT_EQ((*query)[0].second, "ge2013-01-01T00:00:00+01:00");
  EXPECT_FALSE(decodeQuery("a=%zz", false).isOk());
  EXPECT_FALSE(decodeQuery("a=%", false).isOk());
  EXPECT_FALSE(decodeQuery("a=%ff", false).isOk());
  auto roundtrip = decodeQuery(encodeQuery({{"name", "Ødegård & co"}, {"x", "a|b"}}), false);
  ASSERT_TRUE(roundtrip.isOk());
  EXPECT_EQ((*roundtrip)[0].second, "Ødegård & co");
  EXPECT_EQ((*roundtrip)[1].second, "a|b");
}

TEST(ParseSearch, TwoComponentCompositesAreSupportedAndSaySo) {
  const fhir::SearchParamDef* cvq = findSearchParam("Observation", "component-code-value-quantity");
  ASSERT_NE(cvq, nullptr);
  EXPECT_TRUE(isSupportedSearchParam("Observation", *cvq));
  auto req = parseOk("Observation", {{"component-code-value-quantity", "http://loinc.org|8480-6$gt130"}});
  ASSERT_EQ(req.criteria.size(), 1u);
  ASSERT_EQ(req.criteria[0].any_of.size(), 1u);
  EXPECT_EQ(req.criteria[0].any_of[0].param, "component-code-value-quantity$http://loinc.org|8480-6");
  EXPECT_EQ(req.criteria[0].any_of[0].kind, IndexValueKind::kNumber);
  int supported = 0, composites = 0;
  for (std::string_view type : {"Observation", "DocumentReference", "Group", "MolecularSequence", "RiskAssessment"}) {
    for (const fhir::SearchParamDef* p : searchParamsFor(type)) {
      if (p->type != fhir::SearchParamType::kComposite) continue;
      ++composites;
      supported += isSupportedSearchParam(type, *p) ? 1 : 0;
    }
  }
  EXPECT_GT(composites, supported);  // the three-component ones (MolecularSequence) are not
  EXPECT_GE(supported, 8);
}

}  // namespace
}  // namespace planbro::gateway::search
