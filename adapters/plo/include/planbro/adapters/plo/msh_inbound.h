#pragma once
// The inbound side of the MSH transport: one poll of this node's mailbox at the message service. For each unread
// message: fetch the business document → the inbound processor (codec, operations write) → the AppRec sent through
// the API (POST /Messages/{id}/apprec/{our HER-id}) → marked as read. An AppRec arriving for a message we sent is
// handed to `on_apprec` and marked as read. Crash-safe and idempotent: a message is marked read only after its
// writes committed and its AppRec was accepted, so a crash leaves it unread and the next poll processes it again,
// which changes nothing already written (the processor's writes are conditional on the MsgId).

#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>

#include "planbro/adapters/plo/inbound.h"
#include "planbro/adapters/plo/msh_client.h"

namespace planbro::adapters::plo {

struct MshInboundOptions {
  int64_t her_id = 0;                  // this node's mailbox (`adapters.plo.her_id`)
  uint32_t max_messages_per_poll = 100;  // `adapters.plo.msh.max_messages_per_poll` (the API allows 1..100)
  /** `adapters.plo.msh.max_failures_per_message`: polls in a row one message may fail in (for a reason of its own,
   *  not the service or the store being down) before it is set aside — answered Avvist (X99) when it is not an
   *  AppRec, and marked read — so that a mailbox head of messages that always fail cannot hold up newer ones (the
   *  API lists the oldest unread first and cannot page past them). */
  uint32_t max_failures_per_message = 5;
  /** A received AppRec (the answer to a message we sent); the tracker records it. Called before it is marked
   *  read; an error leaves it unread, to be handed over again. Default: accepted. */
  std::function<Status(const MshMessage& envelope, const ReceivedAppRec& apprec)> on_apprec;
  /** A message left unread by a failure (for the log; never its content). Optional. */
  std::function<void(const MshMessage& envelope, const Status& why)> on_failure;
};

struct MshPollStats {
  size_t accepted = 0;          // answered OK (or OK with errors in a part)
  size_t rejected = 0;          // answered Avvist
  size_t apprecs_received = 0;  // AppRecs for messages we sent
  /** Left unread, to be taken again by a later poll. The poll stops at the first one when the service or the store
   *  is unavailable (or the client is refused); a failure of one message only (a 4xx for it) does not stop it. */
  size_t retry_later = 0;
  /** Failed max_failures_per_message polls: answered Avvist (X99) where possible and marked read (logged through
   *  on_failure). */
  size_t set_aside = 0;
};

class MshInbound {
 public:
  /** `client` and `processor` must outlive this. */
  MshInbound(MshClient& client, const InboundProcessor& processor, MshInboundOptions options);

  /** One poll: at most max_messages_per_poll messages. Errors: the list itself could not be read. */
  Result<MshPollStats> pollOnce();

 private:
  /** Ok: handled and marked read. An error: left unread (the caller stops the poll). */
  Status handle(const MshMessage& message, MshPollStats& stats);
  /** Answers Avvist (X99, naming `why`) unless it is an AppRec, then marks read. Errors: the service is down. */
  Status setAside(const MshMessage& message, const Status& why);

  MshClient& client_;
  const InboundProcessor& processor_;
  MshInboundOptions options_;
  /** Failed polls per message id, for the messages of the last list only (bounded by max_messages_per_poll). In
   *  memory: a restart gives each message max_failures_per_message more polls, a bounded delay. */
  std::unordered_map<std::string, uint32_t> failures_;
};

}  // namespace planbro::adapters::plo
