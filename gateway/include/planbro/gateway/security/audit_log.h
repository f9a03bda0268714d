#pragma once
// The gateway's AuditSink: a bounded in-memory queue that one thread drains in batches into the store, each batch
// one store transaction of AuditEvents (IHE BALP shape, audit_event.h). Records are accepted without I/O, so the
// request that caused them never waits for the database; a full queue refuses (kUnavailable, and the caller
// refuses the access: no access without its trace). stop() — a clean shutdown — writes every accepted record
// before it returns; a crash loses at most what was queued and not yet committed (one flush interval, at most the
// queue). AuditEvents are written with the store transaction directly, never through the write pipeline: the
// pipeline refuses every write of AuditEvent (append-only; write_pipeline.cc), so no client can forge, change or
// delete one. Thread-safe.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "planbro/gateway/security/access_policy.h"
#include "planbro/gateway/security/audit_sink.h"
#include "planbro/gateway/security/principal.h"
#include "planbro/gateway/store/resource_store.h"

namespace planbro::gateway::security {

struct AccessDecision;  // consent_policy.h

struct AuditLogOptions {
  size_t queue_entries = 65536;  // records waiting at most; beyond: record() is kUnavailable
  size_t batch_entries = 500;    // records one store transaction writes at most
  std::chrono::milliseconds flush_interval{200};  // the longest a record waits for its batch
  std::string observer = "planbro";               // AuditEvent.source.observer (this node)
  std::function<int64_t()> clock_us;              // microseconds since the epoch; empty: the system clock
};

struct AuditLogStats {
  uint64_t accepted = 0;
  uint64_t stored = 0;
  uint64_t refused = 0;         // record() answered kUnavailable (queue full or stopped)
  uint64_t failed_batches = 0;  // store transactions that failed (the batch is kept and written again)
  uint64_t lost = 0;            // records given up at stop() because the store kept failing
  size_t queued = 0;
};

class AuditLog final : public AuditSink {
 public:
  /** Starts the flushing thread. `store` must outlive stop() (the destructor calls it). */
  AuditLog(store::ResourceStore& store, AuditLogOptions options = {});
  ~AuditLog() override;
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  Status record(AuditRecord record) override;
  /** Waits until every record accepted before the call is stored (ok) or a batch failed (kUnavailable). Bounded
   *  by the store's own timeouts. Blocking: never on an I/O thread. */
  Status flush();
  /** Writes every accepted record (up to 3 attempts per batch while the store fails), then stops the thread;
   *  record() is kUnavailable afterwards and the store is never touched again. Idempotent. */
  void stop();
  AuditLogStats stats() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

/** The agent of a record, from the principal (never its token). */
AuditAgent auditAgentOf(const Principal& principal);

/** The AuditEvent (R4 JSON, IHE BALP shape) of `record`, with `id`; `observer` names this node. The bytes are the
 *  canonical form (what fhir::writeResourceJson writes for them), so they are stored as they are. */
std::string auditEventJson(const AuditRecord& record, std::string_view id, std::string_view observer);
/** As auditEventJson, appended to `out`. */
void writeAuditEventJson(const AuditRecord& record, std::string_view id, std::string_view observer, std::string& out);

/** The search-index rows of that AuditEvent, computed from the record itself: the rows search::indexResource
 *  gives for the same JSON with IndexOptions::last_updated = `last_updated` (the same parameters, values, systems,
 *  normalisation, `:exact`/`:identifier`/`:text`/`:present` rows; sorted and deduplicated alike), without a parse
 *  or a FHIRPath evaluation. A parameter the indexer has for AuditEvent that this builder does not know is indexed
 *  by the indexer itself from the JSON, so the rows stay the indexer's whatever its parameter list. */
std::vector<store::IndexRow> auditEventIndexRows(const AuditRecord& record, std::string_view id,
                                                 std::string_view observer, store::Timestamp last_updated);

/** A policy that records every interaction-level decision of `inner` (permit or deny) in `sink`, and refuses
 *  (kUnavailable, 503) a permit the sink cannot take. decide() passes through (per-resource decisions are the
 *  consent policy's to record). */
std::shared_ptr<AccessPolicy> makeAuditedPolicy(std::shared_ptr<AccessPolicy> inner, std::shared_ptr<AuditSink> sink);

/** An observer for the consent policy's per-resource decisions (consent_policy.h, on_access_decision): each one
 *  becomes an audit record in `sink` (permit, deny, emergency, redact, with the purpose of use). A record the sink
 *  cannot take is counted by the sink and dropped here: the request's interaction-level record has already been
 *  taken or has refused the request. */
std::function<void(const AccessDecision&)> auditObserverOf(std::shared_ptr<AuditSink> sink);

/** The AuditEvent.action code of a REST interaction label: C, R, U, D or E. */
char auditActionOf(std::string_view interaction);

}  // namespace planbro::gateway::security
