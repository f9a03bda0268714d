#pragma once
// Internal to the operations layer: what operations.cc (single writes) and transaction.cc share.

#include <string>
#include <string_view>

#include "planbro/fhir-model/operation_outcome.h"
#include "planbro/gateway/ops/operations.h"

namespace planbro::gateway::ops::internal {

using fhir::OperationOutcome;
using fhir::Severity;

// "Patient.identifier[0].value" of an entry's resource → "Bundle.entry[3].resource.identifier[0].value".
inline std::string entryLocation(size_t index, std::string_view location) {
  std::string where = "Bundle.entry[" + std::to_string(index) + "]";
  if (location.empty()) return where;
  size_t dot = location.find('.');
  std::string_view head = location.substr(0, dot);
  bool starts_with_type = !head.empty() && head.find('[') == std::string_view::npos && head.front() >= 'A' &&
                          head.front() <= 'Z';
  if (!starts_with_type) return where + ".resource." + std::string(location);
  return where + ".resource" + (dot == std::string_view::npos ? std::string() : std::string(location.substr(dot)));
}

// Moves `issues` of entry `index` into `out`, their locations made Bundle-relative.
inline void addEntryIssues(OperationOutcome* out, size_t index, const OperationOutcome& issues) {
  if (!out) return;
  for (const fhir::Issue& issue : issues.issues()) {
    fhir::Issue moved = issue;
    moved.location = entryLocation(index, issue.location);
    moved.diagnostics = "Bundle.entry[" + std::to_string(index) + "]: " + issue.diagnostics;
    out->add(std::move(moved));
  }
}

inline WriteOutcome outcomeOf(const PreparedWrite& prepared, const store::WriteResult& wr) {
  WriteOutcome o;
  o.version.type = wr.type.empty() ? prepared.intent.type : wr.type;
  o.version.id = wr.id.empty() ? prepared.intent.id : wr.id;
  o.version.version = wr.version;
  o.version.last_updated = wr.last_updated;
  using O = store::WriteResult::Outcome;
  switch (wr.outcome) {
    case O::kCreated: o.kind = WriteOutcome::Kind::kCreated; break;
    case O::kUpdated: o.kind = WriteOutcome::Kind::kUpdated; break;
    case O::kDeleted: o.kind = WriteOutcome::Kind::kDeleted; break;
    case O::kUnchanged:
      o.kind = prepared.intent.kind == WriteKind::kDelete ? WriteOutcome::Kind::kAlreadyDeleted
                                                          : WriteOutcome::Kind::kUnchanged;
      break;
  }
  if (prepared.intent.kind != WriteKind::kDelete) o.version.json = prepared.json;
  return o;
}

inline Status authorized(const WriteContext& context, const PreparedWrite& write) {
  return context.authorize ? context.authorize(write) : Status::ok();
}

inline Result<WriteOutcome> existingOutcome(store::ResourceVersion v) {
  WriteOutcome o;
  o.kind = WriteOutcome::Kind::kExisting;
  o.version = std::move(v);
  return o;
}

}  // namespace planbro::gateway::ops::internal
