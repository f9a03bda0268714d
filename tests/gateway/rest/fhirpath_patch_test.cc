#include "planbro/gateway/rest/fhirpath_patch.h"

#include <gtest/gtest.h>

#include "planbro/fhir-model/json.h"

namespace planbro::gateway::rest {
namespace {

using fhir::JsonDocument;

constexpr std::string_view kPatient = R"({"resourceType":"Patient","id":"p1",
  "identifier":[{"system":"urn:a","value":"1"},{"system":"urn:b","value":"2"}],
  "name":[{"family":"Testesen","given":["Kari","Nordmann"],"_given":[null,{"extension":[{"url":"urn:x","valueString":"y"}]}]}],
  "birthDate":"1985-05-18","_birthDate":{"id":"bd"}})";

// One operation as the Parameters of a FHIRPath Patch; `parts` is the JSON of the extra parts.
std::string operation(std::string_view type, std::string_view path, std::string_view parts = "") {
  std::string s = R"({"name":"operation","part":[{"name":"type","valueCode":")" + std::string(type) +
                  R"("},{"name":"path","valueString":")" + std::string(path) + "\"}";
  if (!parts.empty()) s += "," + std::string(parts);
  return s + "]}";
}

std::string parameters(std::initializer_list<std::string> ops) {
  std::string s = R"({"resourceType":"Parameters","parameter":[)";
  bool first = true;
  for (const auto& op : ops) {
    if (!first) s += ",";
    s += op;
    first = false;
  }
  return s + "]}";
}

// Applies the patch to kPatient; the result as compact JSON, or "error <code>: <message>".
std::string patched(const std::string& patch) {
  auto doc = JsonDocument::parse(std::string(kPatient));
  auto p = JsonDocument::parse(patch);
  if (!doc.isOk() || !p.isOk()) return "bad test input";
  auto r = applyFhirPathPatch(*doc, doc->root(), p->root());
  if (!r.isOk()) return "error " + std::to_string(static_cast<int>(r.status().code())) + ": " + r.status().message();
  return fhir::writeJson(*r);
}

bool contains(const std::string& s, std::string_view part) { return s.find(part) != std::string::npos; }

TEST(FhirPathPatch, AddsAnElementAndAppendsToARepeatingOne) {
  std::string r = patched(parameters({operation("add", "Patient", R"({"name":"name","valueString":"gender"},{"name":"value","valueCode":"female"})"),
                                      operation("add", "Patient", R"({"name":"name","valueString":"identifier"},{"name":"value","valueIdentifier":{"system":"urn:c","value":"3"}})")}));
  EXPECT_TRUE(contains(r, R"("gender":"female")")) << r;
  EXPECT_TRUE(contains(r, R"({"system":"urn:b","value":"2"},{"system":"urn:c","value":"3"}])")) << r;
}

TEST(FhirPathPatch, AddsAChoiceElementUnderTheNameOfItsValueType) {
  std::string r = patched(parameters({operation("add", "Patient", R"({"name":"name","valueString":"deceased"},{"name":"value","valueBoolean":false})")}));
  EXPECT_TRUE(contains(r, R"("deceasedBoolean":false)")) << r;
}

TEST(FhirPathPatch, AddsABackboneElementMadeOfParts) {
  std::string r = patched(parameters({operation(
      "add", "Patient",
      R"({"name":"name","valueString":"contact"},{"name":"value","part":[{"name":"name","valueHumanName":{"family":"Hansen"}},)"
      R"({"name":"telecom","valueContactPoint":{"system":"phone","value":"1"}},{"name":"telecom","valueContactPoint":{"system":"email","value":"a@b.no"}}]})")}));
  EXPECT_TRUE(contains(r, R"("contact":[{"name":{"family":"Hansen"},"telecom":[{"system":"phone","value":"1"},{"system":"email","value":"a@b.no"}]}])")) << r;
}

TEST(FhirPathPatch, RefusesToAddASingleElementThatIsAlreadyThereOrUnknown) {
  EXPECT_TRUE(contains(patched(parameters({operation("add", "Patient", R"({"name":"name","valueString":"birthDate"},{"name":"value","valueDate":"1990-01-01"})")})),
                       "already there"));
  EXPECT_TRUE(contains(patched(parameters({operation("add", "Patient", R"({"name":"name","valueString":"shoeSize"},{"name":"value","valueInteger":44})")})),
                       "no element 'shoeSize'"));
}

TEST(FhirPathPatch, InsertsAndMovesListItems) {
  std::string r = patched(parameters({operation("insert", "Patient.identifier",
                                                R"({"name":"value","valueIdentifier":{"system":"urn:z","value":"0"}},{"name":"index","valueInteger":0})"),
                                      operation("move", "Patient.identifier", R"({"name":"source","valueInteger":2},{"name":"destination","valueInteger":0})")}));
  EXPECT_TRUE(contains(r, R"("identifier":[{"system":"urn:b","value":"2"},{"system":"urn:z","value":"0"},{"system":"urn:a","value":"1"}])")) << r;
  EXPECT_TRUE(contains(patched(parameters({operation("insert", "Patient.identifier",
                                                     R"({"name":"value","valueIdentifier":{"value":"x"}},{"name":"index","valueInteger":3})")})),
                       "past the end"));
}

TEST(FhirPathPatch, ReplacesAPrimitiveAndKeepsItsExtensionTwin) {
  std::string r = patched(parameters({operation("replace", "Patient.birthDate", R"({"name":"value","valueDate":"1990-02-03"})")}));
  EXPECT_TRUE(contains(r, R"("birthDate":"1990-02-03","_birthDate":{"id":"bd"})")) << r;
}

TEST(FhirPathPatch, DeletesElementsWithTheirTwinsAndEmptyListsWithThem) {
  std::string r = patched(parameters({operation("delete", "Patient.birthDate"),
                                      operation("delete", "Patient.name.given[0]"),
                                      operation("delete", "Patient.identifier.where(system = 'urn:a')"),
                                      operation("delete", "Patient.identifier.where(system = 'urn:b')")}));
  EXPECT_FALSE(contains(r, "birthDate")) << r;
  EXPECT_FALSE(contains(r, "identifier")) << r;  // the last item went, so did the list
  EXPECT_TRUE(contains(r, R"("given":["Nordmann"],"_given":[{"extension")")) << r;
  // Deleting what is not there is not an error.
  EXPECT_FALSE(contains(patched(parameters({operation("delete", "Patient.gender")})), "error"));
}

TEST(FhirPathPatch, NamesTheFailingOperationAndChangesNothingOnError) {
  std::string r = patched(parameters({operation("delete", "Patient.birthDate"), operation("replace", "Patient.identifier",
                                                                                          R"({"name":"value","valueIdentifier":{"value":"x"}})")}));
  EXPECT_TRUE(contains(r, "Parameters.parameter[1]")) << r;
  EXPECT_TRUE(contains(r, "selects 2")) << r;
  EXPECT_TRUE(contains(patched(parameters({operation("frobnicate", "Patient")})), "type must be add"));
  EXPECT_TRUE(contains(patched(parameters({operation("replace", "Patient.(((", R"({"name":"value","valueString":"x"})")})),
                       "Parameters.parameter[0]: path"));
  EXPECT_TRUE(contains(patched(parameters({operation("replace", "Patient.birthDate")})), "needs a value"));
  EXPECT_TRUE(contains(patched(R"({"resourceType":"Patient"})"), "Parameters resource"));
}

}  // namespace
}  // namespace planbro::gateway::rest
