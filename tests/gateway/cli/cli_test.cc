// Runs the built `planbro` binary (PLANBRO_CLI_BINARY) on official examples and hostile inputs, checking exit codes
// and that every validate result is an OperationOutcome.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cli_runner.h"
#include "planbro/fhir-model/json.h"

namespace planbro::gateway::cli {
namespace {

using fhir::JsonDocument;

const std::string kExamples = std::string(PLANBRO_SHARED_DIR) + "/fhir-r4/examples/";

// Every non-empty stdout line must be an OperationOutcome; returns how many there were and whether any has an error.
struct OutcomeSummary {
  size_t count = 0;
  bool any_error = false;
  std::vector<std::string> codes;
};

OutcomeSummary checkOutcomes(const std::string& out) {
  OutcomeSummary summary;
  std::istringstream lines(out);
  std::string line;
  for (int guard = 0; guard < 10000 && std::getline(lines, line); ++guard) {
    if (line.empty()) continue;
    auto doc = JsonDocument::parse(line);
    EXPECT_TRUE(doc.isOk()) << line.substr(0, 200);
    if (!doc.isOk()) continue;
    const auto* type = doc->root().find("resourceType");
    EXPECT_TRUE(type != nullptr && type->text() == "OperationOutcome") << line.substr(0, 200);
    const auto* issues = doc->root().find("issue");
    EXPECT_TRUE(issues != nullptr && issues->isArray() && issues->size() > 0) << line.substr(0, 200);
    if (issues != nullptr) {
      for (const auto& issue : issues->items()) {
        const auto* severity = issue.find("severity");
        if (severity != nullptr && (severity->text() == "error" || severity->text() == "fatal")) {
          summary.any_error = true;
        }
        if (const auto* code = issue.find("code")) summary.codes.emplace_back(code->text());
      }
    }
    ++summary.count;
  }
  return summary;
}

TEST_F(PlanbroCli, ValidatePrintsOneOperationOutcomePerFileInOrder) {
  auto r = run({"validate", kExamples + "CarePlan-example.json", kExamples + "Patient-f001.json",
                kExamples + "Bundle-101.json"});
  const auto summary = checkOutcomes(r.out);
  EXPECT_EQ(summary.count, 3u) << r.out;
  EXPECT_EQ(r.exit_code, summary.any_error ? 1 : 0) << r.err;
}

TEST_F(PlanbroCli, ValidateAcceptsOfficialCarePlanExample) {
  auto r = run({"validate", kExamples + "CarePlan-example.json"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_FALSE(checkOutcomes(r.out).any_error) << r.out;
}

TEST_F(PlanbroCli, ValidateReadsStdinForDash) {
  auto r = run({"validate", "-"}, readFile(kExamples + "Patient-f001.json"));
  EXPECT_EQ(checkOutcomes(r.out).count, 1u) << r.out << r.err;
  EXPECT_NE(r.exit_code, 2);
}

TEST_F(PlanbroCli, ValidateReportsUnknownElementAsErrorWithExitOne) {
  auto path = file("bad.json", R"({"resourceType":"Patient","notAnElement":true})");
  auto r = run({"validate", path.string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(checkOutcomes(r.out).any_error) << r.out;
  EXPECT_NE(r.err.find("bad.json"), std::string::npos) << r.err;
}

TEST_F(PlanbroCli, ValidateExitsOneWhenAnyOfSeveralFilesHasAnError) {
  auto bad = file("truncated.json", R"({"resourceType":"Patient","active":)");
  auto r = run({"validate", kExamples + "CarePlan-example.json", bad.string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(checkOutcomes(r.out).count, 2u) << r.out;
}

TEST_F(PlanbroCli, TruncatedJsonIsAnErrorWithLineAndColumn) {
  std::string text = readFile(kExamples + "CarePlan-example.json");
  ASSERT_GT(text.size(), 100u);
  auto path = file("truncated.json", text.substr(0, text.size() / 2));
  auto r = run({"validate", path.string()});
  EXPECT_EQ(r.exit_code, 1);
  auto summary = checkOutcomes(r.out);
  EXPECT_EQ(summary.count, 1u);
  EXPECT_TRUE(summary.any_error);
  EXPECT_NE(r.out.find("line "), std::string::npos) << r.out;
}

TEST_F(PlanbroCli, InvalidUtf8IsAnError) {
  auto path = file("utf8.json", "{\"resourceType\":\"Patient\",\"id\":\"a\xC3\x28\"}");
  auto r = run({"validate", path.string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(checkOutcomes(r.out).any_error) << r.out;
}

TEST_F(PlanbroCli, HundredThousandDeepArraysAreRejectedWithoutCrashing) {
  std::string deep = R"({"resourceType":"Patient","extension":)";
  deep.append(100000, '[');
  deep.append(100000, ']');
  deep += "}";
  auto path = file("deep.json", deep);
  auto r = run({"validate", path.string()});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  auto summary = checkOutcomes(r.out);
  EXPECT_TRUE(summary.any_error);
  auto f = run({"fmt", path.string()});
  EXPECT_EQ(f.exit_code, 1);
  EXPECT_TRUE(f.out.empty());
  EXPECT_FALSE(f.err.empty());
}

TEST_F(PlanbroCli, MaxDepthFlagLowersTheNestingLimit) {
  auto path = file("nested.json", R"({"resourceType":"Patient","name":[{"given":["a"]}]})");
  EXPECT_EQ(run({"fmt", path.string()}).exit_code, 0);
  auto r = run({"fmt", "--max-depth", "2", path.string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_FALSE(r.err.empty());
}

TEST_F(PlanbroCli, NumberWithFiveHundredDigitsIsRejected) {
  std::string text = R"({"resourceType":"Observation","status":"final","code":{"text":"x"},"valueQuantity":{"value":)";
  text.append(500, '7');
  text += "}}";
  auto path = file("number.json", text);
  auto r = run({"validate", path.string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(checkOutcomes(r.out).any_error) << r.out;
}

TEST_F(PlanbroCli, InputOverMaxBytesIsRejected) {
  std::string text = readFile(kExamples + "CarePlan-example.json");
  auto path = file("careplan.json", text);
  auto r = run({"validate", "--max-bytes", std::to_string(text.size() - 1), path.string()});
  EXPECT_EQ(r.exit_code, 1);
  auto summary = checkOutcomes(r.out);
  EXPECT_TRUE(summary.any_error);
  EXPECT_NE(r.err.find("--max-bytes"), std::string::npos) << r.err;
  EXPECT_EQ(run({"fmt", "--max-bytes", std::to_string(text.size()), path.string()}).exit_code, 0);
}

TEST_F(PlanbroCli, StdinOverMaxBytesIsRejected) {
  std::string text(5000, ' ');
  text += "{}";
  auto r = run({"validate", "--max-bytes", "1000", "-"}, text);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(checkOutcomes(r.out).any_error);
}

TEST_F(PlanbroCli, HugeFileIsRejectedBySizeBeforeBeingRead) {
  // A sparse 3 GiB file: no disk space used. The message carries the size from fstat(), which proves the check ran
  // before reading; reading it whole would need 3 GiB of memory.
  const fs::path path = dir_ / "huge.json";
  writeFile(path, "{");
  fs::resize_file(path, 3ull << 30);
  auto r = run({"validate", path.string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(checkOutcomes(r.out).any_error);
  EXPECT_NE(r.out.find(std::to_string(3ull << 30) + " bytes"), std::string::npos) << r.out;
}

TEST_F(PlanbroCli, MissingFileIsAnErrorOutcomeNotAUsageError) {
  auto r = run({"validate", (dir_ / "nope.json").string()});
  EXPECT_EQ(r.exit_code, 1);
  auto summary = checkOutcomes(r.out);
  EXPECT_EQ(summary.count, 1u);
  EXPECT_TRUE(summary.any_error);
  EXPECT_NE(r.err.find("no such file"), std::string::npos) << r.err;
}

TEST_F(PlanbroCli, DirectoryIsAnError) {
  auto r = run({"validate", dir_.string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("directory"), std::string::npos) << r.err;
}

TEST_F(PlanbroCli, UsageErrorsExitTwo) {
  EXPECT_EQ(run({}).exit_code, 2);
  EXPECT_EQ(run({"frobnicate"}).exit_code, 2);
  EXPECT_EQ(run({"validate"}).exit_code, 2);
  EXPECT_EQ(run({"fmt"}).exit_code, 2);
  EXPECT_EQ(run({"fhirpath", "Patient.id"}).exit_code, 2);
  EXPECT_EQ(run({"validate", "--max-bytes", "lots", "x.json"}).exit_code, 2);
  EXPECT_EQ(run({"validate", "--max-bytes", "0", "x.json"}).exit_code, 2);
  EXPECT_EQ(run({"validate", "--no-such-flag", "x.json"}).exit_code, 2);
  auto r = run({"validate"});
  EXPECT_FALSE(r.err.empty());
}

TEST_F(PlanbroCli, HelpWorksOnEveryCommand) {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"--help"}, {"validate", "--help"}, {"fmt", "--help"}, {"fhirpath", "--help"}}) {
    auto r = run(args);
    EXPECT_EQ(r.exit_code, 0) << args[0];
    EXPECT_NE(r.out.find("Usage"), std::string::npos) << r.out;
  }
  EXPECT_NE(run({"validate", "--help"}).out.find("--max-bytes"), std::string::npos);
}

TEST_F(PlanbroCli, FmtRoundTripsAnOfficialExample) {
  for (const char* name : {"CarePlan-example.json", "Bundle-101.json", "Patient-f001.json"}) {
    const std::string original = readFile(kExamples + name);
    auto r = run({"fmt", kExamples + name});
    ASSERT_EQ(r.exit_code, 0) << name << ": " << r.err;
    auto a = JsonDocument::parse(original);
    auto b = JsonDocument::parse(r.out);
    ASSERT_TRUE(a.isOk());
    ASSERT_TRUE(b.isOk()) << r.out.substr(0, 200);
    EXPECT_TRUE(jsonEqual(a->root(), b->root())) << name;
    EXPECT_EQ(r.out.find("\n  "), std::string::npos) << "compact output expected";
  }
}

TEST_F(PlanbroCli, FmtPrettyIndentsAndReadsStdin) {
  auto r = run({"fmt", "--pretty", "-"}, R"({"resourceType":"Patient","id":"p1","active":true})");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\n  \"id\""), std::string::npos) << r.out;
}

TEST_F(PlanbroCli, FmtOfBadJsonWritesPlainErrorToStderrOnly) {
  auto path = file("bad.json", "{\"resourceType\": \"Patient\",, }");
  auto r = run({"fmt", path.string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_NE(r.err.find("planbro fmt:"), std::string::npos) << r.err;
}

TEST_F(PlanbroCli, FhirPathPrintsTheResultCollectionAsJsonArray) {
  auto r = run({"fhirpath", "CarePlan.status", kExamples + "CarePlan-example.json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto doc = JsonDocument::parse(r.out);
  ASSERT_TRUE(doc.isOk()) << r.out;
  ASSERT_TRUE(doc->root().isArray());
  ASSERT_EQ(doc->root().size(), 1u);
  EXPECT_EQ(doc->root().items()[0].text(), "active");

  auto empty = run({"fhirpath", "CarePlan.nothingHere", kExamples + "CarePlan-example.json"});
  EXPECT_EQ(empty.exit_code, 0);
  EXPECT_EQ(empty.out, "[]\n");
}

TEST_F(PlanbroCli, FhirPathReportsABadExpressionInPlainWords) {
  auto r = run({"fhirpath", "CarePlan.status.where(", kExamples + "CarePlan-example.json"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(r.out.empty());
  EXPECT_NE(r.err.find("not valid FHIRPath"), std::string::npos) << r.err;
}

TEST_F(PlanbroCli, FhirPathOnBadInputFailsWithExitOne) {
  auto path = file("bad.json", "[1,2");
  auto r = run({"fhirpath", "Patient.id", path.string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_FALSE(r.err.empty());
}

TEST_F(PlanbroCli, ReadsFhirXmlWhenTheInputStartsWithAngleBracket) {
  auto path = file("patient.xml", "\xEF\xBB\xBF<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                                  "<Patient xmlns=\"http://hl7.org/fhir\"><id value=\"x1\"/><active value=\"true\"/>"
                                  "<name><family value=\"Nordmann\"/><given value=\"Kari\"/></name></Patient>\n");
  auto v = run({"validate", path.string()});
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
  EXPECT_EQ(checkOutcomes(v.out).count, 1u);
  auto f = run({"fmt", path.string()});
  ASSERT_EQ(f.exit_code, 0) << f.err;
  EXPECT_EQ(f.out, "{\"resourceType\":\"Patient\",\"id\":\"x1\",\"active\":true,"
                   "\"name\":[{\"family\":\"Nordmann\",\"given\":[\"Kari\"]}]}\n");
  auto p = run({"fhirpath", "Patient.name.given", path.string()});
  EXPECT_EQ(p.out, "[\"Kari\"]\n") << p.err;
}

TEST_F(PlanbroCli, XmlValidationReportsEveryIssueWithItsLocation) {
  // Two conversion problems and one validation problem: all three are reported, as for JSON.
  auto r = run({"validate", "-"}, "<Patient xmlns=\"http://hl7.org/fhir\"><active value=\"yes\"/><bogus/>"
                                  "<name><family value=\"A\"/><nonsense value=\"1\"/></name>"
                                  "<gender value=\"not-a-gender\"/></Patient>");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("invalid boolean 'yes'"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("unknown element 'bogus'"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("unknown element 'nonsense'"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"Patient.name[0]\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"Patient.gender\""), std::string::npos) << r.out;
}

TEST_F(PlanbroCli, XmlWithDoctypeIsRejected) {
  auto r = run({"validate", "-"}, "<?xml version=\"1.0\"?>\n<!DOCTYPE x [<!ENTITY a \"b\">]>\n"
                                  "<Patient xmlns=\"http://hl7.org/fhir\"><id value=\"&a;\"/></Patient>");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(checkOutcomes(r.out).any_error) << r.out;
}

TEST_F(PlanbroCli, NoBasisXmlExampleWithPlaceholderFodselsnummerFailsUnlessIdentifierChecksAreOff) {
  const std::string espen = std::string(PLANBRO_SHARED_DIR) + "/fhir-r4/norway/no-basis-Patient-Espen-Eksempel.xml";
  auto r = run({"validate", espen});  // its fødselsnummer is the placeholder "210377xxxxx"
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("Patient.identifier[0].value"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("210377xxxxx"), std::string::npos) << "diagnostics must not echo the number";
  auto off = run({"validate", "--no-norwegian-ids", espen});
  EXPECT_EQ(off.out.find("Patient.identifier[0].value"), std::string::npos) << off.out;
}

TEST_F(PlanbroCli, InvalidFodselsnummerInJsonIsAnError) {
  auto path = file("patient.json", R"({"resourceType":"Patient","identifier":[)"
                                   R"({"system":"urn:oid:2.16.578.1.12.4.1.4.1","value":"13057444850"}]})");
  auto r = run({"validate", path.string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("Patient.identifier[0].value"), std::string::npos) << r.out;
  auto ok = file("ok.json", R"({"resourceType":"Patient","identifier":[)"
                            R"({"system":"urn:oid:2.16.578.1.12.4.1.4.1","value":"13116900216"}]})");
  EXPECT_EQ(run({"validate", ok.string()}).exit_code, 0);
}

}  // namespace
}  // namespace planbro::gateway::cli
