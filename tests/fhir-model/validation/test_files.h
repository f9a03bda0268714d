#pragma once
// Helpers for the validation tests: read files, list a folder's JSON files, render an outcome for messages.

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "planbro/fhir-model/operation_outcome.h"

namespace planbro::fhir::testing {

inline std::string readFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::vector<std::filesystem::path> jsonFilesIn(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> files;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.path().extension() == ".json") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

inline std::string describeErrors(const OperationOutcome& outcome, size_t max_issues = 8) {
  std::string s;
  size_t n = 0;
  for (const Issue& issue : outcome.issues()) {
    if (issue.severity != Severity::kError && issue.severity != Severity::kFatal) continue;
    if (n++ == max_issues) {
      s += "  ...\n";
      break;
    }
    s += "  " + issue.location + ": [" + issue.code + "] " + issue.diagnostics + "\n";
  }
  return s;
}

inline bool hasIssueAt(const OperationOutcome& outcome, std::string_view location, Severity severity = Severity::kError) {
  for (const Issue& issue : outcome.issues()) {
    if (issue.location == location && issue.severity == severity) return true;
  }
  return false;
}

}  // namespace planbro::fhir::testing
