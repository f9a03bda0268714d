#pragma once
// The outbound encoder: a Dialogmelding 1.1 Helsefaglig dialog in a MsgHead 1.2, telling a receiver (GP, hospital
// ward, municipal service, addressed by HER-id) that a patient's individual plan was started or its coordinator
// appointed or changed, with the plan summary and the coordinator's contact details. Pure: ids and times are
// passed in; the dispatcher decides when and to whom.

#include <string>

#include "planbro/adapters/plo/message.h"
#include "planbro/fhir-model/status.h"

namespace planbro::adapters::plo {

struct CoordinatorContact {
  std::string given_name;
  std::string family_name;
  std::string hpr_number;  // when the coordinator is authorised health personnel
  std::string phone;       // "tel:" is added
  std::string email;       // "mailto:" is added
  std::string role_code = "8";  // kodeverk 9034: 8 Koordinator Individuell plan
};

struct PlanSummary {
  std::string plan_reference;  // the plan's FHIR id or URL, for the receiver's records
  std::string status_text;     // "Individuell plan er startet", "Koordinator er oppnevnt", ...
  std::string summary;         // the plan summary (goals, measures), plain text
  std::string period_start;    // xs:date, when known
};

struct OutboundDialog {
  std::string msg_id;    // a new UUID
  std::string gen_date;  // xs:dateTime
  std::string conversation_ref;  // the conversation this answers (the need-for-IP message), when any
  Party sender;          // the municipality's unit (HER-id)
  Party receiver;        // addressed by HER-id
  PatientInfo patient;   // fødselsnummer / D-nummer
  PlanSummary plan;
  CoordinatorContact coordinator;
};

/** The MsgHead XML (UTF-8, with declaration); valid against MsgHead-v1_2.xsd and dialogmelding-v1.1.xsd.
 *  kInvalidArgument when the receiver has no HER-id or the message has no id or patient. */
Result<std::string> encodeHelsefagligDialog(const OutboundDialog& dialog);

}  // namespace planbro::adapters::plo
