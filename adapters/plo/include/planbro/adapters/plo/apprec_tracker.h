#pragma once
// The store-backed AppRec tracker: every message planbro sends is recorded as a FHIR Task awaiting its AppRec; an
// inbound AppRec is matched to it by the original MsgId; a sweep resends what is overdue and escalates what stays
// unanswered. The state machine is apprec_tracking.h; this class keeps it in the store through the operations layer.
//
// Why a Task and not a table: the tracking state is workflow state about a message to a named receiver — Task's
// status, businessStatus, owner, input and output carry it without extensions; it lives in the same durable store as
// the plan (SQLite or PostgreSQL, both nodes of a cluster see it), is searchable over REST
// (Task?code=…|awaiting-apprec&status=in-progress), is written with the same pipeline, versioning and audit as
// everything else, and the escalation Task that a coordinator must act on is then one more Task linked to the plan.
//
// The tracking Task (one per outbound MsgId, identifier kOutboundMessageSystem|MsgId):
//   status in-progress (awaiting) / completed (acknowledged, partly rejected) / failed (rejected, escalated);
//   businessStatus kTrackingCodeSystem#<trackingStateCode>; code kTrackingCodeSystem#awaiting-apprec;
//   lastModified = the last send (the sweep's search: modified le now − timeout); restriction.period.end = due;
//   restriction.repetitions = max sends; owner = the receiver (HER-id); for = the patient; basedOn = the plan;
//   input "message" (the bytes, base64, for resends), "message-type", "sends"; output "apprec-error" per 8221 error.
// The escalation Task (identifier kEscalationSystem|MsgId, code kTrackingCodeSystem#apprec-missing or
// #apprec-rejected, status requested, priority urgent, basedOn the plan, partOf the need-for-IP Task (the tracked
// request) when the message answers one, focus the tracking Task): what the plan's
// coordinator sees — a message that no one acknowledged, or that the receiver refused, with the error codes.

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "planbro/adapters/plo/apprec_tracking.h"
#include "planbro/adapters/plo/message.h"
#include "planbro/fhir-model/status.h"
#include "planbro/gateway/ops/operations.h"
#include "planbro/gateway/store/resource_store.h"

namespace planbro::adapters::plo {

inline constexpr std::string_view kOutboundMessageSystem = "http://planbro.no/fhir/sid/plo-outbound-message-id";
inline constexpr std::string_view kEscalationSystem = "http://planbro.no/fhir/sid/plo-apprec-escalation";
inline constexpr std::string_view kTrackingCodeSystem = "http://planbro.no/fhir/CodeSystem/plo-apprec-tracking";

/** A message planbro sent, as the tracker needs it. */
struct OutboundMessage {
  std::string msg_id;
  std::string msg_type;        // kodeverk 8279, e.g. DIALOG_HELSEFAGLIG
  std::string receiver_her_id;  // the receiver it was addressed to
  std::string receiver_name;
  std::string patient_system;  // the patient's identifier system (FNR / DNR OID), when any
  std::string patient_id;
  std::string plan_reference;  // "CarePlan/<id>", when the message is about a plan
  /** "Task/<id>": the tracked request the message answers or reports (the need-for-IP Task), when any. An
   *  escalation is raised as part of it (Task.partOf), so it shows on the request the coordinators follow. */
  std::string request_reference;
  std::string bytes;           // the message as sent (resent as is: same MsgId, so the receiver can de-duplicate)
};

struct AppRecTrackerOptions {
  AppRecTimeouts timeouts;
  /** `adapters.plo.apprec_max_per_sweep`: tracking Tasks one sweep looks at (the rest wait for the next sweep). */
  size_t max_per_sweep = 100;
  /** The clock (tests inject one). Default: the system clock. */
  std::function<Clock::time_point()> now;
  /** Sends the message again (the transport). A failure leaves it awaiting, due again after the timeout. */
  std::function<Status(const OutboundMessage& message)> resend;
  /** One line per escalation, rejection and unmatched AppRec (never message content or person numbers). */
  std::function<void(std::string_view line)> log;
  /** Each event as it is counted ("sent", "acknowledged", "rejected", "partly-rejected", "resent", "escalated",
   *  "unmatched"), for the metric planbro_plo_apprec_events_total{event}. Optional. */
  std::function<void(std::string_view event)> on_event;
};

/** What the tracker did, for the metrics (planbro_plo_apprec_events_total{event=…}). Monotonic. */
struct AppRecTrackerCounters {
  std::atomic<uint64_t> sent{0};
  std::atomic<uint64_t> acknowledged{0};
  std::atomic<uint64_t> rejected{0};
  std::atomic<uint64_t> partly_rejected{0};
  std::atomic<uint64_t> resent{0};
  std::atomic<uint64_t> escalated{0};
  std::atomic<uint64_t> unmatched{0};  // an AppRec for a message planbro has no record of
};

struct SweepStats {
  size_t examined = 0;
  size_t resent = 0;
  size_t escalated = 0;
};

class AppRecTracker {
 public:
  /** `operations` and `store` must outlive the tracker. */
  AppRecTracker(gateway::ops::Operations& operations, gateway::store::ResourceStore& store,
                AppRecTrackerOptions options);

  /** Records `message` as sent now and awaiting its AppRec. Idempotent on the MsgId (a second call changes nothing).
   *  Errors: kInvalidArgument without a MsgId; the store's errors. */
  Status recordSent(const OutboundMessage& message);

  /** Matches an inbound AppRec to the message it answers (by OriginalMsgId) and records its status and errors; a
   *  rejecting or partly rejecting AppRec also raises an escalation Task for the coordinator. Returns the tracked
   *  state afterwards; kNotFound when no message with that id was recorded (counted as unmatched). */
  Result<TrackingState> recordAppRec(const ReceivedAppRec& apprec);

  /** Resends (up to max_resends times) or escalates what is overdue at now(), at most max_per_sweep Tasks. */
  Result<SweepStats> sweep();

  /** The tracked state of MsgId `msg_id`; kNotFound when not recorded. */
  Result<TrackedMessage> find(const std::string& msg_id);

  const AppRecTrackerCounters& counters() const { return counters_; }

 private:
  struct Record;
  Result<Record> load(const std::string& task_id);
  Result<std::string> taskIdFor(const std::string& msg_id);
  Status store(const Record& record);
  Status escalate(const Record& record, std::string_view code, std::string_view text, Clock::time_point now);
  gateway::ops::WriteContext context(const std::string& msg_id) const;
  void log(const std::string& line) const;
  void count(std::atomic<uint64_t>& counter, std::string_view event);

  gateway::ops::Operations& operations_;
  gateway::store::ResourceStore& store_;
  AppRecTrackerOptions options_;
  AppRecTrackerCounters counters_;
};

}  // namespace planbro::adapters::plo
