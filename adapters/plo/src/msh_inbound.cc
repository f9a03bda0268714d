// The order of the steps is what makes the mailbox crash-safe: write, then answer, then mark read. The message
// service keeps a message unread until we say otherwise, so it is the retry queue; nothing is held locally.
#include "planbro/adapters/plo/msh_inbound.h"

#include <algorithm>

namespace planbro::adapters::plo {

MshInbound::MshInbound(MshClient& client, const InboundProcessor& processor, MshInboundOptions options)
    : client_(client), processor_(processor), options_(std::move(options)) {
  if (!options_.on_apprec) options_.on_apprec = [](const MshMessage&, const ReceivedAppRec&) { return Status::ok(); };
}

Result<MshPollStats> MshInbound::pollOnce() {
  ASSIGN_OR_RETURN(std::vector<MshMessage> messages,
                   client_.unreadMessages(options_.her_id, options_.max_messages_per_poll));
  MshPollStats stats;
  // Forget the messages no longer listed (handled, read elsewhere): the counts stay bounded by one list.
  std::unordered_map<std::string, uint32_t> still_listed;
  for (const MshMessage& message : messages) {
    if (auto f = failures_.find(message.id); f != failures_.end()) still_listed.insert(*f);
  }
  failures_ = std::move(still_listed);
  for (const MshMessage& message : messages) {
    Status s = handle(message, stats);
    if (s.isOk()) {
      failures_.erase(message.id);
      continue;
    }
    if (options_.on_failure) options_.on_failure(message, s);
    // The service or the store is down: the rest would fail the same way and wait for the next poll; nobody's
    // fault but the system's, so it does not count against the message. Any other failure belongs to this message
    // (the service refused its AppRec, say): it stays unread, the others go on, and after max_failures_per_message
    // polls it is set aside, so that old messages that always fail never keep newer ones from being listed.
    if (s.code() == StatusCode::kUnavailable || s.code() == StatusCode::kUnauthenticated) {
      stats.retry_later += 1;
      break;
    }
    if (++failures_[message.id] < std::max<uint32_t>(1, options_.max_failures_per_message)) {
      stats.retry_later += 1;
      continue;
    }
    Status aside = setAside(message, s);
    if (!aside.isOk()) {
      stats.retry_later += 1;
      if (aside.code() == StatusCode::kUnavailable || aside.code() == StatusCode::kUnauthenticated) break;
      continue;
    }
    failures_.erase(message.id);
    stats.set_aside += 1;
    if (options_.on_failure) {
      options_.on_failure(message, Status(s.code(), "set aside after " +
                                                        std::to_string(options_.max_failures_per_message) +
                                                        " failed polls (answered Avvist X99, marked read)"));
    }
  }
  return stats;
}

Status MshInbound::setAside(const MshMessage& message, const Status& why) {
  const int64_t our_her = message.receiver_her_id > 0 ? message.receiver_her_id : options_.her_id;
  if (!message.is_apprec) {
    // The sender learns that its message was not taken in (kodeverk 8221 X99, "annen feil"), as it would for a
    // broken one. A refusal of this AppRec too (the reason the message kept failing, perhaps) does not keep it:
    // it is marked read all the same; only the service being down does.
    const std::vector<AppRecError> errors = {
        {"X99", "Annen feil", "meldingen kunne ikke behandles etter gjentatte forsøk: " + why.message().substr(0, 200)}};
    auto sent = client_.postAppRec(message.id, our_her, AppRecStatus::kRejected, errors);
    if (!sent.isOk() && (sent.status().code() == StatusCode::kUnavailable ||
                         sent.status().code() == StatusCode::kUnauthenticated)) {
      return sent.status();
    }
  }
  return client_.markRead(message.id, our_her);
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
