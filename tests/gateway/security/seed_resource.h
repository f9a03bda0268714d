#pragma once
// Writing a test's resources through the real write path (ops::Operations::update), for the security tests that
// seed a store before they exercise the access checks on it.

#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "planbro/fhir-model/json.h"
#include "planbro/fhir-model/operation_outcome.h"
#include "planbro/gateway/ops/operations.h"

namespace planbro::gateway::security::testing {

/** Writes `json` (a resource with no id) as `type`/`id` by `actor` through `ops`; a refused write fails the calling
 *  test with the store's message and the OperationOutcome. */
inline void putResource(ops::Operations& ops, const std::string& actor, const std::string& type, const std::string& id,
                        std::string json) {
  json.insert(1, "\"id\":\"" + id + "\",");
  auto doc = fhir::JsonDocument::parse(json);
  ASSERT_TRUE(doc.isOk()) << json;
  ops::WriteContext wc;
  wc.actor = actor;
  fhir::OperationOutcome outcome;
  auto r = ops.update(wc, type, id, doc->root(), std::nullopt, &outcome);
  ASSERT_TRUE(r.isOk()) << type << "/" << id << ": " << r.status().message() << " " << outcome.toJson();
}

}  // namespace planbro::gateway::security::testing
