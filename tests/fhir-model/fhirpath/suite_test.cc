// Runs every test of the official FHIRPath R4 suite (tests/data/fhirpath/tests-fhir-r4.xml) and fails when any test
// not named in knownCauses() fails, or a named one passes. With PLANBRO_FHIRPATH_FAILURES=<file> it writes the failing tests with a
// one-line reason each (docs/conformance-fhirpath-failures.md is generated that way).
#include <libxml/parser.h>
#include <libxml/tree.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

#include "planbro/fhir-model/fhir_xml.h"
#include "planbro/fhir-model/fhirpath.h"

namespace planbro::fhir::fhirpath {
namespace {

const std::string kDir = std::string(PLANBRO_TEST_DATA_DIR) + "/fhirpath/";

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Expected {
  std::string type;
  std::string value;
};

struct SuiteTest {
  std::string group;
  std::string name;
  std::string input;
  std::string expression;
  std::string invalid;
  std::string mode;
  bool predicate = false;
  bool ordered = true;
  std::vector<Expected> outputs;
};

std::string prop(xmlNode* n, const char* name) {
  xmlChar* v = xmlGetProp(n, reinterpret_cast<const xmlChar*>(name));
  if (!v) return {};
  std::string s(reinterpret_cast<const char*>(v));
  xmlFree(v);
  return s;
}

std::string text(xmlNode* n) {
  xmlChar* v = xmlNodeGetContent(n);
  if (!v) return {};
  std::string s(reinterpret_cast<const char*>(v));
  xmlFree(v);
  return s;
}

bool named(xmlNode* n, const char* name) {
  return n->type == XML_ELEMENT_NODE && xmlStrcmp(n->name, reinterpret_cast<const xmlChar*>(name)) == 0;
}

std::vector<SuiteTest> loadSuite() {
  std::vector<SuiteTest> tests;
  std::string xml = readFile(kDir + "tests-fhir-r4.xml");
  xmlDoc* doc = xmlReadMemory(xml.data(), static_cast<int>(xml.size()), "suite.xml", nullptr, XML_PARSE_NONET);
  if (!doc) return tests;
  for (xmlNode* g = xmlDocGetRootElement(doc)->children; g; g = g->next) {
    if (!named(g, "group")) continue;
    for (xmlNode* t = g->children; t; t = t->next) {
      if (!named(t, "test") && !named(t, "modeTest")) continue;
      SuiteTest st;
      st.group = prop(g, "name");
      st.name = prop(t, "name");
      st.input = prop(t, "inputfile");
      st.mode = prop(t, "mode");
      st.predicate = prop(t, "predicate") == "true";
      st.ordered = prop(t, "ordered") != "false";
      for (xmlNode* c = t->children; c; c = c->next) {
        if (named(c, "expression")) {
          st.expression = text(c);
          st.invalid = prop(c, "invalid");
        } else if (named(c, "output")) {
          st.outputs.push_back({prop(c, "type"), text(c)});
        }
      }
      tests.push_back(std::move(st));
    }
  }
  xmlFreeDoc(doc);
  return tests;
}

class Inputs {
 public:
  const JsonValue* get(const std::string& file, std::string& error) {
    auto it = docs_.find(file);
    if (it != docs_.end()) return it->second ? &it->second->root() : nullptr;
    std::unique_ptr<JsonDocument> doc;
    // Tests without an input file evaluate against an empty object.
    std::string body = file.empty() ? std::string("{}") : readFile(kDir + file);
    std::string name = file;
    if (body.empty() && file.size() > 4 && file.substr(file.size() - 4) == ".xml") {
      // codesystem-example.xml is not in the shared copy; the same example ships as JSON in the core package.
      name = file.substr(0, file.size() - 4) + ".json";
      body = readFile(kDir + name);
    }
    if (body.empty()) {
      error = "input file missing";
    } else if (name.empty() || (name.size() > 5 && name.substr(name.size() - 5) == ".json")) {
      auto r = JsonDocument::parse(body);
      if (r.isOk()) doc = std::make_unique<JsonDocument>(std::move(r).value());
      else error = "input JSON: " + r.status().message();
    } else {
      auto r = fhirXmlToJson(body);
      if (r.isOk()) doc = std::make_unique<JsonDocument>(std::move(r).value());
      else error = "input XML: " + r.status().message();
    }
    auto& slot = docs_[file];
    slot = std::move(doc);
    return slot ? &slot->root() : nullptr;
  }

 private:
  std::map<std::string, std::unique_ptr<JsonDocument>> docs_;
};

std::string typeOf(const Value& v) {
  switch (v.kind()) {
    case ValueKind::kNode: return std::string(v.asNode().type);
    case ValueKind::kBoolean: return "boolean";
    case ValueKind::kInteger: return "integer";
    case ValueKind::kDecimal: return "decimal";
    case ValueKind::kString: return "string";
    case ValueKind::kDate: return "date";
    case ValueKind::kDateTime: return "dateTime";
    case ValueKind::kTime: return "time";
    case ValueKind::kQuantity: return "Quantity";
  }
  return {};
}

std::string render(const Value& v) {
  auto s = v.toSystem();
  if (!s) return "<" + typeOf(v) + ">";
  std::string t = valueToString(*s);
  if (s->kind() == ValueKind::kDate || s->kind() == ValueKind::kDateTime) return "@" + t;
  if (s->kind() == ValueKind::kTime) return "@T" + t;
  return t;
}

bool matches(const Value& v, const Expected& e) {
  if (!e.type.empty()) {
    std::string t = typeOf(v);
    if (t != e.type) {
      // FHIR primitives derived from string (code, id, uri) are accepted as string and vice versa only by name.
      return false;
    }
  }
  std::string r = render(v);
  if (r == e.value) return true;
  auto s = v.toSystem();
  if (s && (s->kind() == ValueKind::kDecimal || s->kind() == ValueKind::kInteger) && e.type == "decimal") {
    auto a = Decimal::parse(r), b = Decimal::parse(e.value);
    return a && b && compare(*a, *b) == 0;
  }
  return false;
}

std::string describe(const Collection& c) {
  std::string s = "[";
  for (size_t i = 0; i < c.size(); ++i) {
    if (i) s += ", ";
    s += typeOf(c[i]) + " " + render(c[i]);
  }
  return s + "]";
}

// The known failures, by test name, and why they fail. Every other test of the suite must pass, and a test listed
// here that passes fails the suite too (take it off the list): one regression cannot hide behind a pass rate.
const std::map<std::string, std::string>& knownCauses() {
  static const std::map<std::string, std::string> causes = {
      {"testPolymorphismAsB", "needs static typing: `as Period` is empty at run time, so `.unit` is not checked"},
      {"testDollarOrderNotAllowed", "needs static analysis of ordered functions on unordered children()"},
      {"testCombine1", "codesystem-example.xml is not shared; the JSON stand-in lacks the nested concepts"},
      {"LowBoundaryDecimal15", "boundary of a value smaller than its precision: sign handling differs"},
      {"HighBoundaryDecimal15", "boundary of a value smaller than its precision: sign handling differs"},
      {"HighBoundaryDecimal16", "boundary of a value smaller than its precision: sign handling differs"},
      {"testFHIRPathAsFunction21",
       "deliberate: as() filters many items because R4 invariants (dom-3) call descendants().as(canonical)"},
      {"testPrimitiveExtensions", "input patient-name-extensions.json is not in the shared copy"},
  };
  return causes;
}

std::string oneLine(std::string s) {
  std::replace(s.begin(), s.end(), '\n', ' ');
  std::replace(s.begin(), s.end(), '|', '/');
  if (s.size() > 160) s = s.substr(0, 157) + "...";
  return s;
}

// Returns an empty string when the test passes, else the reason.
std::string runOne(const SuiteTest& t, Inputs& inputs) {
  std::string load_error;
  const JsonValue* resource = inputs.get(t.input, load_error);
  auto compiled = compile(t.expression);
  if (!compiled.isOk()) {
    if (!t.invalid.empty()) return {};
    return "compile error: " + compiled.status().message();
  }
  if (!resource) {
    if (!t.invalid.empty()) return {};
    return load_error.empty() ? "no input" : load_error;
  }
  Environment env;
  env.strict = t.mode.rfind("lenient", 0) != 0;
  auto result = evaluate(**compiled, *resource, env);
  if (!result.isOk()) {
    if (!t.invalid.empty()) return {};
    return "error: " + result.status().message();
  }
  if (!t.invalid.empty()) return "expected an error (" + t.invalid + "), got " + describe(*result);
  Collection actual = std::move(*result);
  if (t.predicate) actual = {Value::boolean(!actual.empty())};
  bool ok = actual.size() == t.outputs.size();
  if (ok && t.ordered) {
    for (size_t i = 0; i < actual.size() && ok; ++i) ok = matches(actual[i], t.outputs[i]);
  } else if (ok) {
    std::vector<bool> used(actual.size(), false);
    for (const Expected& e : t.outputs) {
      bool found = false;
      for (size_t i = 0; i < actual.size() && !found; ++i) {
        if (!used[i] && matches(actual[i], e)) found = used[i] = true;
      }
      ok = ok && found;
    }
  }
  if (ok) return {};
  std::string expected = "[";
  for (size_t i = 0; i < t.outputs.size(); ++i) {
    if (i) expected += ", ";
    expected += t.outputs[i].type + " " + t.outputs[i].value;
  }
  return "expected " + expected + "], got " + describe(actual);
}

TEST(FhirPathSuite, PassesEveryOfficialR4TestButTheNamedKnownFailures) {
  std::vector<SuiteTest> tests = loadSuite();
  ASSERT_GT(tests.size(), 900u) << "suite not loaded";
  Inputs inputs;
  size_t passed = 0;
  std::vector<std::pair<const SuiteTest*, std::string>> failures;
  for (const SuiteTest& t : tests) {
    std::string reason = runOne(t, inputs);
    if (reason.empty()) ++passed;
    else failures.emplace_back(&t, reason);
  }
  double rate = 100.0 * static_cast<double>(passed) / static_cast<double>(tests.size());
  std::cout << "FHIRPath R4 suite: " << passed << " of " << tests.size() << " passed (" << rate << "%)\n";
  if (const char* path = std::getenv("PLANBRO_FHIRPATH_FAILURES")) {
    std::ofstream out(path);
    out << "# FHIRPath R4 suite: failing tests\n\n"
        << "Generated by `tests/fhir-model/fhirpath/suite_test.cc` with `PLANBRO_FHIRPATH_FAILURES=<this file>`.\n"
        << "Passed " << passed << " of " << tests.size() << " (" << rate << "%).\n\n"
        << "| group | test | expression | reason |\n|---|---|---|---|\n";
    for (const auto& [t, reason] : failures) {
      auto cause = knownCauses().find(t->name);
      out << "| " << t->group << " | " << t->name << " | `" << oneLine(t->expression) << "` | " << oneLine(reason)
          << (cause == knownCauses().end() ? "" : " — " + cause->second) << " |\n";
    }
  }
  if (std::getenv("PLANBRO_FHIRPATH_VERBOSE")) {
    for (const auto& [t, reason] : failures) std::cout << t->name << ": " << oneLine(t->expression) << " -> " << reason << "\n";
  }
  std::set<std::string> failed_names;
  for (const auto& [t, reason] : failures) {
    failed_names.insert(t->name);
    if (knownCauses().count(t->name) == 0) {
      ADD_FAILURE() << "regression: " << t->group << "/" << t->name << " `" << oneLine(t->expression) << "`: " << reason;
    }
  }
  for (const auto& [name, cause] : knownCauses()) {
    EXPECT_TRUE(failed_names.count(name) != 0) << name << " is listed as a known failure but passes (or is no longer "
                                                "in the suite): remove it from knownCauses()";
  }
}

}  // namespace
}  // namespace planbro::fhir::fhirpath
