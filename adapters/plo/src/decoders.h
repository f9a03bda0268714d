#pragma once
// Internal steps of the codec (codec.cc runs them in order): reading the MsgHead and an AppRec from a parsed tree,
// and mapping a validated business document to FHIR writes.

#include <libxml/tree.h>

#include <string>

#include "planbro/adapters/plo/mapping_table.h"
#include "planbro/adapters/plo/message.h"

namespace planbro::adapters::plo::internal {

inline constexpr std::string_view kXmlDsigNs = "http://www.w3.org/2000/09/xmldsig#";

/** The MsgHead fields of `root` (a MsgHead element), best effort: missing parts stay empty. */
MsgHeadInfo readMsgHead(const xmlNode* root);

/** The AppRec content of `root` (an AppRec element of the given version). */
ReceivedAppRec readAppRec(const xmlNode* root, const std::string& version);

/** The content element of each XML RefDoc, in document order. */
std::vector<xmlNode*> contentRoots(const xmlNode* msghead_root);

/** A FHIR dateTime for a MsgHead GenDate ("2025-05-13T11:51:01" is Norwegian local time: the Europe/Oslo offset
 *  of that date is added; a value with a zone or only a date is kept). Empty when it is not a date. */
std::string fhirDateTime(std::string_view gen_date);

/** Maps a Dialogmelding (1.0 / 1.1) to writes on `out` (Communication, Task); sets summary and need_for_ip. */
void mapDialogmelding(const xmlNode* content, const MappingTable& mapping, const MsgHeadInfo& head,
                      DecodedMessage& out);

/** Maps a PLO message (1.5 / 1.6 / 2.0) to writes on `out` (Communication, proposed CareTeam). */
void mapPlo(const xmlNode* content, const DocumentMapping& document, const MappingTable& mapping,
            const MsgHeadInfo& head, DecodedMessage& out);

}  // namespace planbro::adapters::plo::internal
