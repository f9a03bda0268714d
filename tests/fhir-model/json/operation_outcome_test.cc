#include <gtest/gtest.h>

#include "planbro/fhir-model/operation_outcome.h"

namespace planbro::fhir {
namespace {

TEST(OperationOutcome, SerialisesIssuesWithLocationAndExpression) {
  OperationOutcome outcome;
  outcome.add(Severity::kError, "required", "missing \"status\"", "CarePlan.status");
  outcome.add(Severity::kWarning, "invariant", "w", "");
  EXPECT_TRUE(outcome.hasErrors());
  EXPECT_EQ(outcome.errorCount(), 1u);
  EXPECT_EQ(outcome.toJson(),
            R"({"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"required",)"
            R"("diagnostics":"missing \"status\"","location":["CarePlan.status"],"expression":["CarePlan.status"]},)"
            R"({"severity":"warning","code":"invariant","diagnostics":"w"}]})");
}

TEST(OperationOutcome, EmptyOutcomeSaysAllIsWell) {
  OperationOutcome outcome;
  EXPECT_FALSE(outcome.hasErrors());
  EXPECT_NE(outcome.toJson().find("\"informational\""), std::string::npos);
}

TEST(OperationOutcome, MapsStatusCodesToHttp) {
  EXPECT_EQ(httpStatusFor(StatusCode::kFailedPrecondition), 412);
  EXPECT_EQ(httpStatusFor(StatusCode::kUnprocessable), 422);
  EXPECT_EQ(issueCodeFor(StatusCode::kNotFound), "not-found");
  EXPECT_EQ(outcomeFromStatus(invalidArgument("bad")).issues().front().code, "invalid");
}

}  // namespace
}  // namespace planbro::fhir
