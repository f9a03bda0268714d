#pragma once
// Where access decisions, writes and failed authentications become audit records (docs/security.md, Audit). The
// decision points — the authentication filter, the interaction-level policy, the write path in ops, and the
// per-resource consent decisions — each hand one AuditRecord per event to the one AuditSink; the gateway's sink
// (audit_log.h) stores them as AuditEvents in the IHE BALP shape. Plain values and an interface, header only, so
// every layer (ops among them) can record without depending on the security library.
//
// What a record must never hold: an access token, a DPoP proof, an Authorization header, or any part of one. The
// requester's pid (fødselsnummer) may appear in the record (audit is the one place it belongs, readable by the
// auditor only); it must never reach a log line.

#include <cstdint>
#include <memory>
#include <string>

#include "planbro/fhir-model/status.h"
#include "planbro/gateway/security/principal.h"

namespace planbro::gateway::security {

/** What kind of event: BALP's RESTful interaction (an access decision), a write, or an authentication. */
enum class AuditCategory { kAccess, kWrite, kAuthentication };

/** The access decision the record is about. */
enum class AuditDecision { kPermit, kDeny, kEmergency, kRedact };

/** AuditEvent.outcome: 0 success, 4 minor failure (refused: the client's fault), 8 serious failure (the server's). */
enum class AuditOutcome { kSuccess = 0, kMinorFailure = 4, kSeriousFailure = 8 };

/** Who acted, as far as it is known (a failed authentication knows none of it). */
struct AuditAgent {
  std::string kind;                       // security::principalKindName: "practitioner", "patient", "system", ...
  std::string subject;                    // the token's `sub`
  std::string client_id;                  // the HelseID client (the source system of the request)
  std::string token_id;                   // the token's `jti` (an identifier, not the token)
  std::string hpr_number;                 // a practitioner's HPR number
  std::string pid;                        // a patient's (or proxy's) fødselsnummer / D-nummer: audit only, never logs
  std::string organization_number;        // orgnr_parent
  std::string child_organization_number;  // orgnr_child (the department)
};

struct AuditRecord {
  AuditCategory category = AuditCategory::kAccess;
  AuditDecision decision = AuditDecision::kPermit;
  AuditOutcome outcome = AuditOutcome::kSuccess;
  std::string interaction;       // restful-interaction code: "read", "search-type", "create", ...; "login" for auth
  char action = 'E';             // AuditEvent.action: C, R, U, D or E
  std::string outcome_text;      // why a refusal was refused (never a token or a resource's content)
  AuditAgent who;
  std::string on_behalf_of;      // the person the actor acts for, when any
  std::string resource_type;     // what was accessed ("" at system level)
  std::string resource_id;       // "" for type-level interactions
  int64_t resource_version = 0;  // the version written (writes), 0 when not known
  std::string patient;           // "Patient/id" whose data it is, when known
  std::string purpose_of_use;    // v3-ActReason code: "TREAT", "ETREAT" (emergency), ...; "" when not stated
  std::string source_system;     // "rest", "adapter:plo", ...
  std::string correlation_id;    // the request id (X-Request-Id) or message id
  std::string remote_address;    // the peer's IP address, when known
  int64_t recorded_us = 0;       // microseconds since the epoch; 0: the sink stamps it on arrival
  /** The requester, shared with the request (RequestContext::principal), not copied: when set, the AuditEvent's
   *  agents are read from it when the event is written, and `who` is not read. The request path sets this (one
   *  reference count), callers without a Principal (adapters, the loader) fill `who`. */
  std::shared_ptr<const Principal> principal;
};

/**
 * Takes audit records. Thread-safe; record() never blocks on I/O (it may be called on an I/O thread). Ok: the
 * record is accepted and will be stored (on a clean shutdown, before the store closes). kUnavailable: it could not
 * be accepted (the queue is full: the store is behind or down); the caller then refuses the access it was about to
 * permit (no access without its trace) — a refusal being recorded is already answered either way.
 */
class AuditSink {
 public:
  virtual ~AuditSink() = default;
  virtual Status record(AuditRecord record) = 0;
};

}  // namespace planbro::gateway::security
