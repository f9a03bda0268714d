#include "planbro/adapters/plo/outbound.h"

#include "planbro/adapters/plo/apprec.h"

namespace planbro::adapters::plo {
namespace {

std::string element(std::string_view name, std::string_view text) {
  return "<" + std::string(name) + ">" + escapeXml(text) + "</" + std::string(name) + ">";
}

std::string ident(std::string_view id, std::string_view type, std::string_view display, std::string_view system) {
  return "<Ident><Id>" + escapeXml(id) + "</Id><TypeId V=\"" + escapeXml(type) + "\" DN=\"" + escapeXml(display) +
         "\" S=\"" + std::string(system) + "\"/></Ident>";
}

std::string organisation(const Party& party) {
  std::string out = "<Organisation>" + element("OrganisationName", party.name.empty() ? "ukjent" : party.name);
  for (const Ident& i : party.idents) {
    out += ident(i.id, i.type, i.type == "HER" ? "HER-id" : "Organisasjonsnummer", "2.16.578.1.12.4.1.1.9051");
  }
  if (!party.unit_name.empty() || !party.unit_idents.empty()) {
    out += "<Organisation>" + element("OrganisationName", party.unit_name.empty() ? "ukjent" : party.unit_name);
    for (const Ident& i : party.unit_idents) {
      out += ident(i.id, i.type, i.type == "HER" ? "HER-id" : "Organisasjonsnummer", "2.16.578.1.12.4.1.1.9051");
    }
    out += "</Organisation>";
  }
  return out + "</Organisation>";
}

}  // namespace

Result<std::string> encodeHelsefagligDialog(const OutboundDialog& d) {
  if (d.msg_id.empty()) return invalidArgument("outbound Dialogmelding: no message id");
  if (d.receiver.herId().empty()) return invalidArgument("outbound Dialogmelding: the receiver has no HER-id");
  if (d.sender.herId().empty()) return invalidArgument("outbound Dialogmelding: the sender has no HER-id");
  if (d.patient.id.empty()) return invalidArgument("outbound Dialogmelding: no patient identifier");
  const bool dnr = d.patient.id_type == "DNR";
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                    "<MsgHead xmlns=\"http://www.kith.no/xmlstds/msghead/2006-05-24\" "
                    "xmlns:fk1=\"http://www.kith.no/xmlstds/felleskomponent1\"><MsgInfo>"
                    "<Type V=\"DIALOG_HELSEFAGLIG\" DN=\"Helsefaglig dialog\"/>"
                    "<MIGversion>v1.2 2006-05-24</MIGversion>";
  out += element("GenDate", d.gen_date) + element("MsgId", d.msg_id);
  if (!d.conversation_ref.empty()) {
    out += "<ConversationRef>" + element("RefToParent", d.conversation_ref) +
           element("RefToConversation", d.conversation_ref) + "</ConversationRef>";
  }
  out += "<Sender>" + organisation(d.sender) + "</Sender><Receiver>" + organisation(d.receiver) + "</Receiver>";
  out += "<Patient>" + element("FamilyName", d.patient.family_name.empty() ? "ukjent" : d.patient.family_name) +
         element("GivenName", d.patient.given_name.empty() ? "ukjent" : d.patient.given_name) +
         ident(d.patient.id, dnr ? "DNR" : "FNR", dnr ? "D-nummer" : "Fødselsnummer", "2.16.578.1.12.4.1.1.8116") +
         "</Patient></MsgInfo>";
  out += "<Document><RefDoc><IssueDate V=\"" + escapeXml(d.gen_date) +
         "\"/><MsgType V=\"XML\" DN=\"XML-instans\"/><Content>"
         "<Dialogmelding xmlns=\"http://www.kith.no/xmlstds/dialog/2013-01-23\"><Notat>"
         "<TemaKodet V=\"6\" DN=\"Henvendelse om pasient\" S=\"2.16.578.1.12.4.1.1.7322\"/>";
  out += element("Tema", "Individuell plan: " + (d.plan.status_text.empty() ? std::string("status") : d.plan.status_text));
  std::string text = d.plan.status_text;
  if (!d.plan.period_start.empty()) text += " (fra " + d.plan.period_start + ")";
  if (!d.plan.summary.empty()) text += ".\n" + d.plan.summary;
  text += "\nKoordinator: " + d.coordinator.given_name + " " + d.coordinator.family_name;
  if (!d.coordinator.phone.empty()) text += ", telefon " + d.coordinator.phone;
  if (!d.coordinator.email.empty()) text += ", e-post " + d.coordinator.email;
  out += element("TekstNotatInnhold", text);
  if (!d.plan.plan_reference.empty()) out += element("DokIdNotat", d.plan.plan_reference);
  out += "<RollerRelatertNotat><RoleToPatient V=\"" + escapeXml(d.coordinator.role_code) +
         "\" DN=\"Koordinator Individuell plan\" S=\"2.16.578.1.12.4.1.1.9034\"/><HealthcareProfessional>";
  out += element("FamilyName", d.coordinator.family_name) + element("GivenName", d.coordinator.given_name);
  if (!d.coordinator.hpr_number.empty()) {
    out += "<Ident><fk1:Id>" + escapeXml(d.coordinator.hpr_number) +
           "</fk1:Id><fk1:TypeId V=\"HPR\" DN=\"HPR-nummer\" S=\"2.16.578.1.12.4.1.1.8116\"/></Ident>";
  }
  if (!d.coordinator.phone.empty()) {
    out += "<TeleCom><fk1:TeleAddress V=\"tel:" + escapeXml(d.coordinator.phone) + "\"/></TeleCom>";
  }
  if (!d.coordinator.email.empty()) {
    out += "<TeleCom><fk1:TeleAddress V=\"mailto:" + escapeXml(d.coordinator.email) + "\"/></TeleCom>";
  }
  out += "</HealthcareProfessional></RollerRelatertNotat></Notat></Dialogmelding></Content></RefDoc></Document>"
         "</MsgHead>\n";
  return out;
}

}  // namespace planbro::adapters::plo
