#pragma once
// The inbound path of the PLO adapter: one message → codec → FHIR writes through the typed operations layer (the
// same pipeline and rules as REST, stamped with source system "adapter:plo" and the sending organisation) →
// the AppRec to send back. Without operations it only checks: the writes are prepared (validated, rules run) and
// nothing is stored — `planbro message check`.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "planbro/adapters/plo/apprec.h"
#include "planbro/adapters/plo/codec.h"
#include "planbro/gateway/ops/operations.h"

namespace planbro::adapters::plo {

inline constexpr std::string_view kSourceSystem = "adapter:plo";

class AppRecTracker;

struct InboundOptions {
  std::string apprec_version = "1.1";  // `adapters.plo.apprec_version`: "1.0" or "1.1"
  Party self;                          // planbro's own party, for AppRecs to messages that name no receiver
  std::function<std::string()> new_id;  // a new UUID per AppRec (default: random)
  std::function<std::string()> now;     // xs:dateTime (default: the system clock, UTC)
  /** Where inbound AppRecs are matched to the messages planbro sent (apprec_tracker.h); none: they are only read. */
  AppRecTracker* tracker = nullptr;
};

struct InboundResult {
  DecodedMessage message;
  /** The AppRec to send; empty for a message that is itself an AppRec (acknowledgements are not acknowledged). */
  std::optional<std::string> apprec;
  /** What was written or found: "Communication/<id> created", "... existing", "CareTeam/<id> unchanged". */
  std::vector<std::string> effects;
};

class InboundProcessor {
 public:
  /** `operations` nullptr: check only (nothing is written). */
  InboundProcessor(std::shared_ptr<const Codec> codec, gateway::ops::Operations* operations, InboundOptions options);

  /**
   * Processes one message. The same message again (same MsgId) changes nothing: every write is a conditional
   * create or update on the message's (or its conversation's) identifier, claimed as a business key.
   * Errors (the caller retries later, no AppRec is sent): the store is unavailable or a write failed for a reason
   * other than the message's content. A message the pipeline rejects (validation, rules) is answered Avvist (X99).
   * An inbound AppRec is not answered; with a tracker it is matched to the message it acknowledges (an AppRec for a
   * message planbro has no record of is counted and dropped; a store failure is an error, to be retried).
   */
  Result<InboundResult> process(std::string_view bytes) const;

  /** The Avvist answer to a message of `size` bytes the transport would not read (over the codec's limit). */
  InboundResult oversized(size_t size) const;
  /** The codec's limit on one message, in bytes (`adapters.plo.max_message_bytes`). */
  size_t maxMessageBytes() const { return codec_->options().max_message_bytes; }

 private:
  Status write(const DecodedMessage& message, InboundResult& result) const;
  /** "CarePlan/<id>" of the message's patient (found by person number), or empty when none or not one. */
  Result<std::string> findPlan(const DecodedMessage& message) const;
  Status check(const DecodedMessage& message, InboundResult& result) const;

  std::shared_ptr<const Codec> codec_;
  gateway::ops::Operations* operations_;
  InboundOptions options_;
  gateway::ops::ResourceWriter check_writer_;
};

/** A random (version 4) UUID. */
std::string randomUuid();
/** The current UTC time as xs:dateTime with zone ("2026-12-07T01:02:03Z"). */
std::string utcNow();

}  // namespace planbro::adapters::plo
