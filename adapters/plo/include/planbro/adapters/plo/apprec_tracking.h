#pragma once
// What happens to a message planbro sent while it waits for its AppRec: the pure state machine, with the time passed
// in. An outbound message starts awaiting; its AppRec (matched by the original MsgId) makes it acknowledged (OK),
// rejected (Avvist) or partly rejected (OK, feil i delmelding), with the 8221 error codes kept; one that has no
// AppRec by its due time is resent, up to `max_resends` times, each resend waiting `timeout` again, and is then
// escalated (a Task for the plan's coordinator, a metric, a log line). The store-backed tracker
// (apprec_tracker.h) keeps this state in a FHIR Task per message.

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "planbro/adapters/plo/message.h"

namespace planbro::adapters::plo {

using Clock = std::chrono::system_clock;

enum class TrackingState {
  kAwaiting,        // sent, no AppRec yet
  kAcknowledged,    // AppRec status 1 (OK)
  kRejected,        // AppRec status 2 (Avvist)
  kPartlyRejected,  // AppRec status 3 (OK, feil i delmelding)
  kEscalated,       // no AppRec after every resend: handed to a person
};

struct AppRecTimeouts {
  /** `adapters.plo.apprec_timeout_minutes`: how long a sent (or resent) message waits for its AppRec. */
  std::chrono::minutes timeout{60};
  /** `adapters.plo.apprec_max_resends`: resends before escalation (0: escalate at the first timeout). */
  int max_resends = 2;
};

struct TrackedMessage {
  std::string msg_id;
  TrackingState state = TrackingState::kAwaiting;
  int sends = 1;                 // the first send and every resend
  Clock::time_point due;         // when the AppRec is overdue (kAwaiting only)
  std::vector<AppRecError> errors;  // from a rejecting or partly rejecting AppRec
};

/** A message just sent at `now`. */
TrackedMessage startTracking(std::string msg_id, Clock::time_point now, const AppRecTimeouts& timeouts);

/** What a sweep at `now` does with a tracked message. */
enum class TimeoutAction { kNone, kResend, kEscalate };
TimeoutAction onTimeout(const TrackedMessage& message, Clock::time_point now, const AppRecTimeouts& timeouts);

/** The message after `action` taken at `now` (kResend: one more send, due again after the timeout; kEscalate: the
 *  state kEscalated). */
TrackedMessage afterTimeout(TrackedMessage message, TimeoutAction action, Clock::time_point now,
                            const AppRecTimeouts& timeouts);

/** The message after its AppRec. An AppRec for a message already answered or escalated still records the answer
 *  (a late AppRec after escalation is news the coordinator wants); the last AppRec wins. */
TrackedMessage afterAppRec(TrackedMessage message, const ReceivedAppRec& apprec);

/** "awaiting", "acknowledged", "rejected", "partly-rejected", "escalated" (stored as Task.businessStatus). */
std::string_view trackingStateCode(TrackingState state);
/** The inverse; false for an unknown code. */
bool trackingStateFromCode(std::string_view code, TrackingState& state);

}  // namespace planbro::adapters::plo
