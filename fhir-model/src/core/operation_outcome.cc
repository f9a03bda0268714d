#include "planbro/fhir-model/operation_outcome.h"

#include <algorithm>

namespace planbro::fhir {

void OperationOutcome::add(Severity severity, std::string code, std::string diagnostics, std::string location) {
  issues_.push_back(Issue{severity, std::move(code), std::move(diagnostics), std::move(location)});
}

void OperationOutcome::add(Issue issue) { issues_.push_back(std::move(issue)); }

void OperationOutcome::append(const OperationOutcome& other) {
  issues_.insert(issues_.end(), other.issues_.begin(), other.issues_.end());
}

bool OperationOutcome::hasErrors() const { return errorCount() > 0; }

size_t OperationOutcome::errorCount() const {
  return static_cast<size_t>(std::count_if(issues_.begin(), issues_.end(), [](const Issue& i) {
    return i.severity == Severity::kFatal || i.severity == Severity::kError;
  }));
}

std::string_view severityName(Severity severity) {
  switch (severity) {
    case Severity::kFatal: return "fatal";
    case Severity::kError: return "error";
    case Severity::kWarning: return "warning";
    case Severity::kInformation: return "information";
  }
  return "error";
}

std::string OperationOutcome::toJson(bool pretty) const {
  JsonDocument doc;
  auto issueObject = [&doc](const Issue& issue) {
    std::vector<JsonMember> members;
    members.push_back({"severity", doc.makeString(severityName(issue.severity))});
    members.push_back({"code", doc.makeString(issue.code)});
    if (!issue.details.empty()) {
      const JsonMember text[] = {{"text", doc.makeString(issue.details)}};
      members.push_back({"details", doc.makeObject(text)});
    }
    if (!issue.diagnostics.empty()) members.push_back({"diagnostics", doc.makeString(issue.diagnostics)});
    if (!issue.location.empty()) {
      const JsonValue location = doc.makeString(issue.location);
      members.push_back({"location", doc.makeArray({&location, 1})});
      std::vector<JsonValue> expressions{location};
      for (const std::string& r : issue.related) expressions.push_back(doc.makeString(r));
      members.push_back({"expression", doc.makeArray(expressions)});
    }
    return doc.makeObject(members);
  };
  std::vector<JsonValue> issues;
  for (const Issue& issue : issues_) issues.push_back(issueObject(issue));
  if (issues.empty()) {
    issues.push_back(issueObject(Issue{Severity::kInformation, "informational", "All OK", {}}));
  }
  const JsonMember members[] = {{"resourceType", doc.makeString("OperationOutcome")},
                                {"issue", doc.makeArray(issues)}};
  return writeJson(doc.makeObject(members), JsonWriteOptions{pretty});
}

std::string_view issueCodeFor(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return "informational";
    case StatusCode::kInvalidArgument: return "invalid";
    case StatusCode::kNotFound: return "not-found";
    case StatusCode::kGone: return "deleted";
    case StatusCode::kAlreadyExists: return "duplicate";
    case StatusCode::kConflict: return "conflict";
    case StatusCode::kFailedPrecondition: return "conflict";
    case StatusCode::kUnprocessable: return "processing";
    case StatusCode::kPermissionDenied: return "forbidden";
    case StatusCode::kUnauthenticated: return "login";
    case StatusCode::kResourceExhausted: return "too-costly";
    case StatusCode::kUnsupported: return "not-supported";
    case StatusCode::kUnavailable: return "transient";
    case StatusCode::kInternal: return "exception";
  }
  return "exception";
}

int httpStatusFor(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return 200;
    case StatusCode::kInvalidArgument: return 400;
    case StatusCode::kNotFound: return 404;
    case StatusCode::kGone: return 410;
    case StatusCode::kAlreadyExists: return 409;
    case StatusCode::kConflict: return 409;
    case StatusCode::kFailedPrecondition: return 412;
    case StatusCode::kUnprocessable: return 422;
    case StatusCode::kPermissionDenied: return 403;
    case StatusCode::kUnauthenticated: return 401;
    case StatusCode::kResourceExhausted: return 413;
    case StatusCode::kUnsupported: return 415;
    case StatusCode::kUnavailable: return 503;
    case StatusCode::kInternal: return 500;
  }
  return 500;
}

OperationOutcome outcomeFromStatus(const Status& status, std::string location) {
  OperationOutcome outcome;
  const Severity severity = status.code() == StatusCode::kInternal ? Severity::kFatal : Severity::kError;
  outcome.add(severity, std::string(issueCodeFor(status.code())), status.message(), std::move(location));
  return outcome;
}

}  // namespace planbro::fhir
