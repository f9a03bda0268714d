// The order of the steps is what makes the mailbox crash-safe: write, then answer, then mark read. The message
// service keeps a message unread until we say otherwise, so it is the retry queue; nothing is held locally.
#include "planbro/adapters/plo/msh_inbound.h"

namespace planbro::adapters::plo {

MshInbound::MshInbound(MshClient& client, const InboundProcessor& processor, MshInboundOptions options)
    : client_(client), processor_(processor), options_(std::move(options)) {
  if (!options_.on_apprec) options_.on_apprec = [](const MshMessage&, const ReceivedAppRec&) { return Status::ok(); };
}

Result<MshPollStats> MshInbound::pollOnce() {
  ASSIGN_OR_RETURN(std::vector<MshMessage> messages,
                   client_.unreadMessages(options_.her_id, options_.max_messages_per_poll));
  MshPollStats stats;
  for (const MshMessage& message : messages) {
    Status s = handle(message, stats);
    if (s.isOk()) continue;
    stats.retry_later += 1;
    if (options_.on_failure) options_.on_failure(message, s);
    // The service or the store is down: the rest would fail the same way and wait for the next poll. Any other
    // failure belongs to this message (the service refused its AppRec, say): it stays unread, the others go on.
    if (s.code() == StatusCode::kUnavailable || s.code() == StatusCode::kUnauthenticated) break;
  }
  return stats;
}

Status MshInbound::handle(const MshMessage& message, MshPollStats& stats) {
  const int64_t our_her = message.receiver_her_id > 0 ? message.receiver_her_id : options_.her_id;
  auto document = client_.businessDocument(message.id);
  InboundResult result;
  if (!document.isOk() && document.status().code() == StatusCode::kResourceExhausted) {
    // Over the answer bound: the document is never held whole; it is answered Avvist (T99) like an oversized file.
    result = processor_.oversized(processor_.maxMessageBytes() + 1);
  } else if (!document.isOk() && document.status().code() == StatusCode::kInvalidArgument) {
    // Not base64, not JSON: nothing readable arrived. The codec answers empty input as unreadable (T01).
    ASSIGN_OR_RETURN(result, processor_.process(""));
  } else {
    if (!document.isOk()) return document.status();
    ASSIGN_OR_RETURN(result, processor_.process(*document));
  }
  if (!result.apprec) {
    if (result.message.apprec) {
      RETURN_IF_ERROR(options_.on_apprec(message, *result.message.apprec));
      ++stats.apprecs_received;
    }
    return client_.markRead(message.id, our_her);
  }
  auto sent = client_.postAppRec(message.id, our_her, result.message.status, result.message.errors);
  if (!sent.isOk()) return sent.status();
  if (result.message.status == AppRecStatus::kRejected) {
    ++stats.rejected;
  } else {
    ++stats.accepted;
  }
  return client_.markRead(message.id, our_her);
}

}  // namespace planbro::adapters::plo
