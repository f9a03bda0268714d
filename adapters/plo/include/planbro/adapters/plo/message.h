#pragma once
// What the PLO codec reads from a message and what it asks to be written: the MsgHead (Hodemelding 1.2) fields, the
// AppRec status and errors (kodeverk 8258 / 8221) and the FHIR writes a business document maps to. Plain data.

#include <optional>
#include <string>
#include <vector>

namespace planbro::adapters::plo {

/** One identifier of a party (MsgHead Ident: Id + TypeId V, e.g. "HER", "ENH", "FNR", "HPR"). */
struct Ident {
  std::string id;
  std::string type;
};

/** A sender or receiver: the organisation and, when given, its sub-organisation (department). */
struct Party {
  std::string name;
  std::vector<Ident> idents;
  std::string unit_name;
  std::vector<Ident> unit_idents;

  /** The HER-id messages are addressed by: the unit's when it has one, else the organisation's. Empty if none. */
  std::string herId() const;
  /** The organisation number (ENH) of the organisation, when given. */
  std::string organisationNumber() const;
};

struct PatientInfo {
  std::string family_name;
  std::string given_name;
  std::string id;       // fødselsnummer / D-nummer / ...
  std::string id_type;  // kodeverk 8116: FNR, DNR, ...
};

/** One Document/RefDoc of the MsgHead. */
struct RefDocument {
  std::string msg_type;   // kodeverk 8114: XML, A (attachment), REF
  std::string mime_type;
  std::string description;
  std::string content_ns;    // namespace of the content's root element (XML documents)
  std::string content_root;  // its local name
};

struct MsgHeadInfo {
  std::string type;          // kodeverk 8279, e.g. DIALOG_HELSEFAGLIG, INNLEGGELSESRAPPORT
  std::string type_display;
  std::string mig_version;
  std::string gen_date;
  std::string msg_id;
  std::string ref_to_parent;
  std::string ref_to_conversation;
  Party sender;
  Party receiver;
  std::optional<PatientInfo> patient;
  std::vector<RefDocument> documents;
  bool signed_message = false;  // carries an xmldsig Signature
};

/** AppRec status, kodeverk 8258. */
enum class AppRecStatus { kOk = 1, kRejected = 2, kPartlyRejected = 3 };

/** One AppRec Error: kodeverk 8221 code, its text, and a free-text detail (the OT attribute). */
struct AppRecError {
  std::string code;
  std::string text;
  std::string detail;
};

/** An AppRec read from the wire (the answer to a message planbro sent). */
struct ReceivedAppRec {
  std::string version;  // "1.0" / "1.1"
  std::string id;
  AppRecStatus status = AppRecStatus::kOk;
  std::vector<AppRecError> errors;
  std::string original_msg_id;
  std::string original_msg_type;
};

/** One FHIR write a message asks for. */
struct PlannedWrite {
  enum class Kind {
    kCreateOnce,  // create unless a resource with the identifier exists (If-None-Exist): a replay changes nothing
    kUpsert,      // conditional update on the identifier: creates, or replaces the one that exists
  };
  Kind kind = Kind::kCreateOnce;
  std::string type;
  std::string identifier_system;
  std::string identifier_value;
  std::string json;      // the resource
  std::string full_url;  // urn:uuid:… when another write of the same message references it
  /** The inbound writer adds basedOn → the patient's plan (CarePlan) when it finds exactly one. */
  bool link_to_plan = false;
};

/** Everything the codec concluded about one message. */
struct DecodedMessage {
  std::optional<MsgHeadInfo> head;        // when the MsgHead could be read (also for many rejected messages)
  std::optional<ReceivedAppRec> apprec;   // the message was itself an AppRec: it is not answered
  std::string family;                     // "dialogmelding", "plo", "apprec" (empty when unknown)
  std::string version;                    // of the business document
  std::string summary;                    // one readable line: what the message is / why it was rejected
  AppRecStatus status = AppRecStatus::kOk;
  std::vector<AppRecError> errors;
  std::vector<PlannedWrite> writes;       // empty unless status is OK or partly rejected
  bool need_for_ip = false;               // GW-55: the notice became a tracked Task
  bool coordinator_proposed = false;      // a contact person with a coordinator role (9034#8)
};

}  // namespace planbro::adapters::plo
