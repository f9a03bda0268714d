#include "decoders.h"
#include "xml_read.h"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace planbro::adapters::plo {

std::string Party::herId() const {
  for (const Ident& ident : unit_idents) {
    if (ident.type == "HER") return ident.id;
  }
  for (const Ident& ident : idents) {
    if (ident.type == "HER") return ident.id;
  }
  return {};
}

std::string Party::organisationNumber() const {
  for (const Ident& ident : idents) {
    if (ident.type == "ENH") return ident.id;
  }
  return {};
}

namespace internal {
namespace {

std::vector<Ident> readIdents(const xmlNode* node) {
  std::vector<Ident> out;
  for (xmlNode* ident : xml::all(node, "Ident")) {
    out.push_back({xml::text(xml::child(ident, "Id")), xml::attribute(xml::child(ident, "TypeId"), "V")});
  }
  return out;
}

Party readParty(const xmlNode* node) {
  Party party;
  const xmlNode* organisation = xml::child(node, "Organisation");
  if (organisation == nullptr) return party;
  party.name = xml::text(xml::child(organisation, "OrganisationName"));
  party.idents = readIdents(organisation);
  if (const xmlNode* unit = xml::child(organisation, "Organisation")) {
    party.unit_name = xml::text(xml::child(unit, "OrganisationName"));
    party.unit_idents = readIdents(unit);
  }
  return party;
}

// Days from 1970-01-01 to a civil date. A day past the month's end (31 February) counts on into the next month, as
// <chrono> defines it for a valid year and month.
long daysFromCivil(int y, unsigned m, unsigned d) {
  return std::chrono::sys_days(std::chrono::year(y) / std::chrono::month(m) / std::chrono::day(d)).time_since_epoch().count();
}

// The last Sunday of a month, as days since the epoch.
long lastSunday(int year, unsigned month) {
  const long last = daysFromCivil(year, month + 1, 1) - 1;
  const long weekday = (last + 4) % 7;  // 1970-01-01 was a Thursday (4)
  return last - weekday;
}

}  // namespace

std::string fhirDateTime(std::string_view gen_date) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  if (gen_date.size() == 10) {
    if (std::sscanf(std::string(gen_date).c_str(), "%4d-%2d-%2d", &y, &mo, &d) == 3) return std::string(gen_date);
    return {};
  }
  if (gen_date.size() < 19) return {};
  if (std::sscanf(std::string(gen_date.substr(0, 19)).c_str(), "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &s) !=
          6 ||
      mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) {
    return {};
  }
  std::string_view rest = gen_date.substr(19);
  std::string fraction;
  if (!rest.empty() && rest.front() == '.') {
    size_t end = 1;
    while (end < rest.size() && rest[end] >= '0' && rest[end] <= '9') ++end;
    fraction = std::string(rest.substr(0, std::min<size_t>(end, 10)));
    rest.remove_prefix(end);
  }
  std::string base(gen_date.substr(0, 19));
  if (rest == "Z" || (rest.size() == 6 && (rest[0] == '+' || rest[0] == '-'))) {
    return base + fraction + std::string(rest);
  }
  if (!rest.empty()) return {};
  // Europe/Oslo: UTC+2 from the last Sunday of March 01:00 UTC to the last Sunday of October 01:00 UTC, else UTC+1.
  const long day = daysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  const long local_minutes = day * 1440 + h * 60 + mi;
  const long summer_start = lastSunday(y, 3) * 1440 + 60 + 60;   // 02:00 local (01:00 UTC)
  const long summer_end = lastSunday(y, 10) * 1440 + 60 + 120;   // 03:00 local (01:00 UTC)
  const bool summer = local_minutes >= summer_start && local_minutes < summer_end;
  return base + fraction + (summer ? "+02:00" : "+01:00");
}

MsgHeadInfo readMsgHead(const xmlNode* root) {
  MsgHeadInfo head;
  const xmlNode* info = xml::child(root, "MsgInfo");
  const xmlNode* type = xml::child(info, "Type");
  head.type = xml::attribute(type, "V");
  head.type_display = xml::attribute(type, "DN");
  head.mig_version = xml::text(xml::child(info, "MIGversion"));
  head.gen_date = xml::text(xml::child(info, "GenDate"));
  head.msg_id = xml::text(xml::child(info, "MsgId"));
  if (const xmlNode* conversation = xml::child(info, "ConversationRef")) {
    head.ref_to_parent = xml::text(xml::child(conversation, "RefToParent"));
    head.ref_to_conversation = xml::text(xml::child(conversation, "RefToConversation"));
  }
  head.sender = readParty(xml::child(info, "Sender"));
  head.receiver = readParty(xml::child(info, "Receiver"));
  if (const xmlNode* patient = xml::child(info, "Patient")) {
    PatientInfo p;
    p.family_name = xml::text(xml::child(patient, "FamilyName"));
    p.given_name = xml::text(xml::child(patient, "GivenName"));
    for (const Ident& ident : readIdents(patient)) {
      if (p.id.empty() || ident.type == "FNR" || ident.type == "DNR") {
        p.id = ident.id;
        p.id_type = ident.type;
      }
    }
    head.patient = p;
  }
  for (xmlNode* document : xml::all(root, "Document")) {
    const xmlNode* ref = xml::child(document, "RefDoc");
    RefDocument doc;
    doc.msg_type = xml::attribute(xml::child(ref, "MsgType"), "V");
    doc.mime_type = xml::text(xml::child(ref, "MimeType"));
    doc.description = xml::text(xml::child(ref, "Description"));
    if (const xmlNode* content = xml::child(ref, "Content")) {
      std::vector<xmlNode*> roots = xml::children(content);
      if (!roots.empty()) {
        doc.content_ns = std::string(xml::ns(roots.front()));
        doc.content_root = std::string(xml::name(roots.front()));
      }
    }
    head.documents.push_back(std::move(doc));
  }
  for (xmlNode* child : xml::children(root)) {
    if (xml::name(child) == "Signature" && xml::ns(child) == kXmlDsigNs) head.signed_message = true;
  }
  return head;
}

std::vector<xmlNode*> contentRoots(const xmlNode* msghead_root) {
  std::vector<xmlNode*> out;
  for (xmlNode* document : xml::all(msghead_root, "Document")) {
    const xmlNode* content = xml::path(document, {"RefDoc", "Content"});
    for (xmlNode* root : xml::children(content)) out.push_back(root);
  }
  return out;
}

ReceivedAppRec readAppRec(const xmlNode* root, const std::string& version) {
  ReceivedAppRec apprec;
  apprec.version = version;
  apprec.id = xml::text(xml::child(root, "Id"));
  const std::string status = xml::attribute(xml::child(root, "Status"), "V");
  apprec.status = status == "1"   ? AppRecStatus::kOk
                  : status == "3" ? AppRecStatus::kPartlyRejected
                                  : AppRecStatus::kRejected;
  for (xmlNode* error : xml::all(root, "Error")) {
    apprec.errors.push_back({xml::attribute(error, "V"), xml::attribute(error, "DN"), xml::attribute(error, "OT")});
  }
  const xmlNode* original = xml::child(root, "OriginalMsgId");
  apprec.original_msg_id = xml::text(xml::child(original, "Id"));
  apprec.original_msg_type = xml::attribute(xml::child(original, "MsgType"), "V");
  return apprec;
}

}  // namespace internal
}  // namespace planbro::adapters::plo
