#include "planbro/adapters/plo/apprec.h"

namespace planbro::adapters::plo {
namespace {

constexpr std::string_view kErrorSystem = "2.16.578.1.12.4.1.1.8221";

std::string cs(std::string_view element, std::string_view v, std::string_view dn) {
  std::string out = "<" + std::string(element) + " V=\"" + escapeXml(v) + "\"";
  if (!dn.empty()) out += " DN=\"" + escapeXml(dn) + "\"";
  return out + "/>";
}

std::string element(std::string_view name, std::string_view text) {
  return "<" + std::string(name) + ">" + escapeXml(text) + "</" + std::string(name) + ">";
}

std::string typeDisplay(std::string_view type) {
  if (type == "HER") return "HER-id";
  if (type == "ENH") return "Organisasjonsnummeret i Enhetsregister";
  return {};
}

// HCP/Inst with the organisation's identifier (HER-id preferred) and the unit as Dept.
std::string hcp(const Party& party) {
  std::string out = "<HCP><Inst>";
  out += element("Name", party.name.empty() ? "ukjent" : party.name);
  const Ident* chosen = nullptr;
  for (const Ident& ident : party.idents) {
    if (chosen == nullptr || ident.type == "HER") chosen = &ident;
  }
  if (chosen != nullptr && !chosen->id.empty()) {
    out += element("Id", chosen->id);
    out += cs("TypeId", chosen->type, typeDisplay(chosen->type));
  }
  if (!party.unit_name.empty() || !party.unit_idents.empty()) {
    out += "<Dept>";
    if (!party.unit_name.empty()) out += element("Name", party.unit_name);
    for (const Ident& ident : party.unit_idents) {
      if (ident.id.empty()) continue;
      out += element("Id", ident.id) + cs("TypeId", ident.type, typeDisplay(ident.type));
      break;
    }
    out += "</Dept>";
  }
  return out + "</Inst></HCP>";
}

}  // namespace

std::string_view statusText(AppRecStatus status) {
  switch (status) {
    case AppRecStatus::kOk: return "OK";
    case AppRecStatus::kRejected: return "Avvist";
    case AppRecStatus::kPartlyRejected: return "OK, feil i delmelding";
  }
  return "Avvist";
}

std::string escapeXml(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default:
        if (c < 0x20 && c != '\n' && c != '\r' && c != '\t') break;  // not allowed in XML 1.0
        out += static_cast<char>(c);
    }
  }
  // Invalid UTF-8 cannot appear in XML: keep only well-formed sequences.
  std::string clean;
  clean.reserve(out.size());
  for (size_t i = 0; i < out.size();) {
    const unsigned char c = static_cast<unsigned char>(out[i]);
    size_t length = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    bool ok = length > 0 && i + length <= out.size();
    for (size_t k = 1; ok && k < length; ++k) ok = (static_cast<unsigned char>(out[i + k]) >> 6) == 2;
    if (ok && length == 2 && c < 0xC2) ok = false;
    if (ok) clean.append(out, i, length);
    i += ok ? length : 1;
  }
  return clean;
}

AppRecAnswer answerFor(const DecodedMessage& message, std::string version, std::string id, std::string gen_date,
                       const Party& self) {
  AppRecAnswer answer;
  answer.version = std::move(version);
  answer.id = std::move(id);
  answer.gen_date = std::move(gen_date);
  answer.status = message.status;
  answer.errors = message.errors;
  answer.sender = self;
  if (message.head) {
    const MsgHeadInfo& head = *message.head;
    if (!head.receiver.name.empty() || !head.receiver.idents.empty()) answer.sender = head.receiver;
    answer.receiver = head.sender;
    if (!head.type.empty()) answer.original_type = head.type;
    answer.original_type_display = head.type_display;
    answer.original_issue_date = head.gen_date;
    answer.original_id = head.msg_id;
  }
  if (answer.original_id.empty()) answer.original_id = "ukjent";
  // xs:dateTime: a GenDate that is not one (a broken message) is replaced by the AppRec's own time.
  const std::string& issue = answer.original_issue_date;
  const bool looks_like_datetime = issue.size() >= 19 && issue[4] == '-' && issue[7] == '-' && issue[10] == 'T';
  if (!looks_like_datetime) answer.original_issue_date = answer.gen_date;
  return answer;
}

std::string encodeAppRec(const AppRecAnswer& answer) {
  const bool v11 = answer.version == "1.1";
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += v11 ? "<AppRec xmlns=\"http://www.kith.no/xmlstds/apprec/2012-02-15\">"
             : "<AppRec xmlns=\"http://www.kith.no/xmlstds/apprec/2004-11-21\">";
  out += cs("MsgType", "APPREC", "Applikasjonskvittering");
  out += element("MIGversion", v11 ? "v1.1 2012-02-15" : "1.0 2004-11-21");
  out += element("SoftwareName", "planbro");
  out += element("GenDate", answer.gen_date);
  out += element("Id", answer.id);
  out += "<Sender>" + hcp(answer.sender) + "</Sender>";
  out += "<Receiver>" + hcp(answer.receiver) + "</Receiver>";
  out += cs("Status", std::to_string(static_cast<int>(answer.status)), statusText(answer.status));
  for (const AppRecError& error : answer.errors) {
    out += "<Error S=\"" + std::string(kErrorSystem) + "\" V=\"" + escapeXml(error.code) + "\" DN=\"" +
           escapeXml(error.text) + "\"";
    if (!error.detail.empty()) out += " OT=\"" + escapeXml(error.detail.substr(0, 2000)) + "\"";
    out += "/>";
  }
  out += "<OriginalMsgId>" + cs("MsgType", answer.original_type, answer.original_type_display) +
         element("IssueDate", answer.original_issue_date) + element("Id", answer.original_id) + "</OriginalMsgId>";
  out += "</AppRec>\n";
  return out;
}

}  // namespace planbro::adapters::plo
