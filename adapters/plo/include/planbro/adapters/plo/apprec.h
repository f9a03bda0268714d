#pragma once
// AppRec 1.0 and 1.1 (applikasjonskvittering): the answer to every inbound message — OK (1), Avvist (2) or OK med
// feil i delmelding (3), with kodeverk 8221 errors. Pure functions: the id and the time are passed in.

#include <optional>
#include <string>
#include <vector>

#include "planbro/adapters/plo/message.h"

namespace planbro::adapters::plo {

struct AppRecAnswer {
  std::string version = "1.1";  // "1.0" or "1.1"
  std::string id;               // this AppRec's id (a UUID)
  std::string gen_date;         // xs:dateTime
  Party sender;                 // planbro's side: the original receiver
  Party receiver;               // the original sender
  AppRecStatus status = AppRecStatus::kOk;
  std::vector<AppRecError> errors;
  std::string original_type = "UKJENT";  // kodeverk 8279
  std::string original_type_display;
  std::string original_issue_date;       // the original GenDate (gen_date when unknown)
  std::string original_id;               // the original MsgId ("ukjent" when unreadable)
};

/** The answer to `message`: status and errors from the codec, parties swapped, the original message identified.
 *  `self` names planbro's side when the message could not be read (no receiver known). */
AppRecAnswer answerFor(const DecodedMessage& message, std::string version, std::string id, std::string gen_date,
                       const Party& self);

/** The AppRec as XML text (UTF-8, with declaration), valid against AppRec-v1-2004-11-21.xsd or AppRec-v1.1.xsd. */
std::string encodeAppRec(const AppRecAnswer& answer);

/** "OK", "Avvist", "OK, feil i delmelding". */
std::string_view statusText(AppRecStatus status);

/** Escapes text for XML element content and attribute values, dropping what XML 1.0 cannot carry. */
std::string escapeXml(std::string_view text);

}  // namespace planbro::adapters::plo
