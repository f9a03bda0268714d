#pragma once
// The dispatcher's `plo` transport (subscriber kind "plo"): turns three kinds of change into a Dialogmelding 1.1
// Helsefaglig dialog sent through the message service — a plan started (a CarePlan becomes active), its
// coordinator appointed or changed (the current 9034#8 participant of a CareTeam differs from the version before),
// a need for IP reported (a Task "Behov for individuell plan" created). Every other change is delivered by doing
// nothing. The receivers of a plan change are the organisations (HER-id) that reported the patient's need for IP
// (their Task's requester), and the message answers their conversation; a need for IP goes to the Task's owner.
// Each receiver passes the dispatcher's access policy for the event (AccessPolicy::mayReceiveAt: the patient's
// consent for that organisation) before its message is built; a refused one is skipped and counted as withheld.
// The MsgId of each message is derived from the delivery's idempotency key and the receiver: a retry sends the
// same MsgId, so a receiver that dedupes by MsgId (planbro does) applies it once. With a tracker, each message is
// recorded as awaiting its AppRec, tied to the plan and to the need-for-IP Task (the tracked request) it answers.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "planbro/adapters/plo/message.h"
#include "planbro/fhir-model/status.h"
#include "planbro/gateway/dispatch/transport.h"
#include "planbro/gateway/ops/operations.h"
#include "planbro/gateway/store/resource_store.h"

namespace planbro::adapters::plo {

class AppRecTracker;

/** Sends one MsgHead XML to one receiver; returns the message service's id. (MshClient::postMessage in serve.) */
using MessageSender = std::function<Result<std::string>(const std::string& xml, int64_t receiver_her_id)>;

struct PloTransportOptions {
  Party self;                         // the sending unit: name and HER-id (`adapters.plo.her_id`, `adapters.plo.name`)
  std::function<std::string()> now;   // xs:dateTime (default: the system clock, UTC)
  size_t max_receivers = 20;          // receivers of one change (the need-for-IP Tasks read per patient)
  /** Where every message is recorded as awaiting its AppRec before it is sent (apprec_tracker.h); none: untracked.
   *  A failure to record fails the delivery (the dispatcher retries): no message leaves without being tracked. */
  AppRecTracker* tracker = nullptr;
};

/** One message the transport sent (for logs and tests). */
struct SentDialog {
  std::string msg_id;
  int64_t receiver_her_id = 0;
  std::string status_text;
  std::string service_id;
};

/** `store` and `operations` must outlive the transport. `on_sent` (optional) sees every message sent. */
std::shared_ptr<gateway::dispatch::Transport> makePloTransport(PloTransportOptions options,
                                                               gateway::store::ResourceStore& store,
                                                               gateway::ops::Operations& operations,
                                                               MessageSender send,
                                                               std::function<void(const SentDialog&)> on_sent = {});

/** A UUID (version-8 layout) made from the SHA-256 of `seed`: the same seed, the same id. */
std::string uuidFromSeed(std::string_view seed);

}  // namespace planbro::adapters::plo
