#pragma once
// Issues collected by parsing and validation, in exactly the shape of a FHIR OperationOutcome.

#include <string>
#include <vector>

#include "planbro/fhir-model/json.h"
#include "planbro/fhir-model/status.h"

namespace planbro::fhir {

enum class Severity : uint8_t { kFatal, kError, kWarning, kInformation };

/** One OperationOutcome.issue. `code` is a value of http://hl7.org/fhir/issue-type ("structure", "required",
 * "value", "invariant", "code-invalid", "not-found", ...). `location` is a FHIRPath-style element path such as
 * "CarePlan.activity[1].detail.status" (or "line 3, col 7" for JSON syntax errors). */
struct Issue {
  Severity severity = Severity::kError;
  std::string code;
  std::string diagnostics;
  std::string location;
  /** issue.details.text: the same finding for the person at the screen, in their language (the gateway's business
   *  rules give bokmål here and English in diagnostics). Empty: none. */
  std::string details;
  /** More issue.expression entries after `location`: e.g. the resource a conflict is with ("CarePlan/abc"). */
  std::vector<std::string> related;
};

/** An ordered list of issues. */
class OperationOutcome {
 public:
  void add(Severity severity, std::string code, std::string diagnostics, std::string location = {});
  void add(Issue issue);
  void append(const OperationOutcome& other);
  const std::vector<Issue>& issues() const { return issues_; }
  /** True when any issue is fatal or error. */
  bool hasErrors() const;
  size_t errorCount() const;

  /** An OperationOutcome resource as JSON. With no issues, one "information" issue says all is well. */
  std::string toJson(bool pretty = false) const;

 private:
  std::vector<Issue> issues_;
};

std::string_view severityName(Severity severity);

/** The OperationOutcome.issue.code that best describes a Status. */
std::string_view issueCodeFor(StatusCode code);
/** The HTTP status for a Status code (the one mapping table for the gateway). */
int httpStatusFor(StatusCode code);

/** A one-issue OperationOutcome for a Status. */
OperationOutcome outcomeFromStatus(const Status& status, std::string location = {});

}  // namespace planbro::fhir
