#pragma once
// GET [base]/AuditEvent/$export-ndjson?since=INSTANT[&_count=N][&_cursor=TOKEN]: the audit trail as NDJSON
// (application/fhir+ndjson, one AuditEvent per line), newest first, from now back to `since` (all when absent). At
// most `_count` (default and ceiling: max_entries) per answer; when more remain, a `Link: <…>; rel="next"` header
// names the next part (the same query with a `_cursor`). The auditor's alone: the interaction needs the auditor
// principal and read scope on AuditEvent (the scope policy), and every line passes the access decision.

#include <cstddef>
#include <memory>

#include "planbro/gateway/rest/operation_registry.h"

namespace planbro::gateway::security {

/** `max_entries`: auth.audit_export_max_entries (1..10000; the store's history pages are read 1000 at a time). */
std::shared_ptr<const rest::Operation> makeAuditExportOperation(size_t max_entries);

}  // namespace planbro::gateway::security
