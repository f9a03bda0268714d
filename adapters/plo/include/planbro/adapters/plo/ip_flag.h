#pragma once
// GW-56: the «IP exists / coordinator» flag in outbound PLO messages. Given a PLO message a record system is about to
// send (MsgHead 1.2 carrying a PLO 2.0 document) and the patient's individual-plan facts, fills in the schema's
// po:OpplysningerOmIndividuellPlan block at its place in the document's sequence (replacing any the sender wrote).
// Pure: no I/O, no store, no clock; the caller reads the facts (e.g. through $ip-status) for the message's patient.

#include <optional>
#include <string>
#include <string_view>

#include "planbro/adapters/plo/codec.h"

namespace planbro::adapters::plo {

/** The plan's coordinator as the flag's Merknad names them. Every field may be empty. */
struct IpCoordinator {
  std::string name;
  std::string hpr;  // HPR-nummer
  std::string telephone;
  std::string organisation;
};

/** What the gateway knows of the patient's individual plan. */
struct IpFacts {
  bool plan_exists = false;   // an IP CarePlan (draft, active or on hold); false: nothing is flagged
  bool plan_started = false;  // the plan is active (started), not only being drawn up
  std::optional<IpCoordinator> coordinator;  // the appointed coordinator; absent: KoordinatorOppnevnt false
};

enum class IpFlagOutcome {
  kFlagged,    // `message` carries the block; it validates against the shipped schemas
  kUnchanged,  // a sound message the flag does not apply to (no IP, a document without the block, a signed message)
  kRefused,    // the input is not a sound message (malformed, DOCTYPE/XXE, invalid, a wrong person number); no bytes
};

struct IpFlagResult {
  IpFlagOutcome outcome = IpFlagOutcome::kRefused;
  std::string message;  // kFlagged: the flagged bytes; kUnchanged: the input as given; kRefused: empty
  std::string reason;   // kUnchanged / kRefused: why, in Norwegian, naming the element or the limit
};

/** The patient a message names (MsgHead MsgInfo/Patient), for reading the facts. */
struct MessagePatient {
  std::string id;       // fødselsnummer or D-nummer
  std::string id_type;  // kodeverk 8116: FNR or DNR
};

/**
 * The patient of a sound outbound PLO message: hardened parse, MsgHead version, schema validation, a FNR or DNR
 * with valid check digits. Errors (kInvalidArgument, kResourceExhausted for a limit) carry the reason.
 */
Result<MessagePatient> messagePatient(const Codec& codec, std::string_view message);

/**
 * Fills in po:OpplysningerOmIndividuellPlan in `message` from `facts`: IndividuellPlanForeligger, KoordinatorOppnevnt
 * and a Merknad naming the plan's stage and the coordinator (name, HPR, telephone, organisation). The input goes
 * through the codec's hardened parser and its limits and must validate; the output is validated again as bytes.
 * Only PLO 2.0 Sammenfatning and HelseopplysningerSaksbehandling allow the block. Thread-safe.
 */
IpFlagResult flagIndividualPlan(const Codec& codec, std::string_view message, const IpFacts& facts);

}  // namespace planbro::adapters::plo
