#include "planbro/adapters/plo/apprec_tracking.h"

#include <algorithm>
#include <array>
#include <utility>

namespace planbro::adapters::plo {
namespace {

constexpr std::array<std::pair<TrackingState, std::string_view>, 5> kCodes = {{
    {TrackingState::kAwaiting, "awaiting"},
    {TrackingState::kAcknowledged, "acknowledged"},
    {TrackingState::kRejected, "rejected"},
    {TrackingState::kPartlyRejected, "partly-rejected"},
    {TrackingState::kEscalated, "escalated"},
}};

}  // namespace

TrackedMessage startTracking(std::string msg_id, Clock::time_point now, const AppRecTimeouts& timeouts) {
  TrackedMessage message;
  message.msg_id = std::move(msg_id);
  message.due = now + timeouts.timeout;
  return message;
}

TimeoutAction onTimeout(const TrackedMessage& message, Clock::time_point now, const AppRecTimeouts& timeouts) {
  if (message.state != TrackingState::kAwaiting || now < message.due) return TimeoutAction::kNone;
  // sends counts the first send: max_resends resends mean max_resends + 1 sends before escalation.
  return message.sends <= std::max(0, timeouts.max_resends) ? TimeoutAction::kResend : TimeoutAction::kEscalate;
}

TrackedMessage afterTimeout(TrackedMessage message, TimeoutAction action, Clock::time_point now,
                            const AppRecTimeouts& timeouts) {
  if (action == TimeoutAction::kResend) {
    ++message.sends;
    message.due = now + timeouts.timeout;
  } else if (action == TimeoutAction::kEscalate) {
    message.state = TrackingState::kEscalated;
  }
  return message;
}

TrackedMessage afterAppRec(TrackedMessage message, const ReceivedAppRec& apprec) {
  switch (apprec.status) {
    case AppRecStatus::kOk: message.state = TrackingState::kAcknowledged; break;
    case AppRecStatus::kRejected: message.state = TrackingState::kRejected; break;
    case AppRecStatus::kPartlyRejected: message.state = TrackingState::kPartlyRejected; break;
  }
  message.errors = apprec.errors;
  return message;
}

std::string_view trackingStateCode(TrackingState state) {
  for (const auto& [s, code] : kCodes) {
    if (s == state) return code;
  }
  return "awaiting";
}

bool trackingStateFromCode(std::string_view code, TrackingState& state) {
  for (const auto& [s, c] : kCodes) {
    if (c == code) {
      state = s;
      return true;
    }
  }
  return false;
}

}  // namespace planbro::adapters::plo
