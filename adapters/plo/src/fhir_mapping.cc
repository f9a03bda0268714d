// Business documents → FHIR. The references to the patient and to the organisations are logical (by identifier:
// fødselsnummer / D-nummer, HER-id), because a message may name a patient or an organisation the gateway does not
// hold yet; the inbound writer links what it finds (inbound.cc).

#include <algorithm>

#include "decoders.h"
#include "json_text.h"
#include "planbro/adapters/plo/codec.h"
#include "planbro/fhir-model/norwegian_ids.h"
#include "xml_read.h"

namespace planbro::adapters::plo::internal {
namespace {

constexpr std::string_view kMessageTypeSystem = "urn:oid:2.16.578.1.12.4.1.1.8279";
constexpr std::string_view kRoleSystem = "urn:oid:2.16.578.1.12.4.1.1.9034";
const std::string_view kHerSystem = fhir::no::preferredSystemUri(fhir::no::IdentifierSystem::kHerId);
const std::string_view kOrgnrSystem = fhir::no::preferredSystemUri(fhir::no::IdentifierSystem::kOrgnr);
const std::string_view kHprSystem = fhir::no::preferredSystemUri(fhir::no::IdentifierSystem::kHpr);

std::string identifierJson(std::string_view system, std::string_view value) {
  return "{\"system\":" + jsonString(system) + ",\"value\":" + jsonString(value) + "}";
}

std::string patientReference(const MsgHeadInfo& head) {
  if (!head.patient || head.patient->id.empty()) return {};
  const PatientInfo& p = *head.patient;
  const fhir::no::IdentifierSystem kind =
      p.id_type == "DNR" ? fhir::no::IdentifierSystem::kDnr : fhir::no::IdentifierSystem::kFnr;
  std::string out = "{\"identifier\":" + identifierJson(fhir::no::preferredSystemUri(kind), p.id);
  const std::string name = p.given_name.empty() ? p.family_name : p.given_name + " " + p.family_name;
  if (!name.empty() && name != " ") out += ",\"display\":" + jsonString(name);
  return out + "}";
}

std::string partyReference(const Party& party) {
  std::string out = "{";
  const std::string her = party.herId();
  if (!her.empty()) {
    out += "\"identifier\":" + identifierJson(kHerSystem, her);
  } else if (!party.organisationNumber().empty()) {
    out += "\"identifier\":" + identifierJson(kOrgnrSystem, party.organisationNumber());
  }
  std::string name = party.name;
  if (!party.unit_name.empty()) name += name.empty() ? party.unit_name : ", " + party.unit_name;
  if (!name.empty()) out += std::string(out.size() > 1 ? "," : "") + "\"display\":" + jsonString(name);
  return out + "}";
}

std::string codingJson(std::string_view system, std::string_view code, std::string_view display) {
  std::string out = "{\"system\":" + jsonString(system) + ",\"code\":" + jsonString(code);
  if (!display.empty()) out += ",\"display\":" + jsonString(display);
  return out + "}";
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

bool mentionsNeedForIp(const MappingTable& mapping, const std::string& text) {
  const std::string folded = lower(text);
  for (const std::string& phrase : mapping.need_for_ip_phrases) {
    if (folded.find(phrase) != std::string::npos) return true;
  }
  return false;
}

// The Communication every inbound business message is recorded as (one per message id: a replay finds it).
PlannedWrite communication(const MsgHeadInfo& head, std::string_view topic, std::string_view payload,
                           const std::string& full_url) {
  std::string json = "{\"resourceType\":\"Communication\",\"identifier\":[" +
                     identifierJson(kMessageIdSystem, head.msg_id);
  const std::string conversation = head.ref_to_conversation.empty() ? head.msg_id : head.ref_to_conversation;
  json += "," + identifierJson(kConversationSystem, conversation) + "]";
  json += ",\"status\":\"completed\",\"category\":[{\"coding\":[" +
          codingJson(kMessageTypeSystem, head.type, head.type_display) + "]}]";
  if (const std::string subject = patientReference(head); !subject.empty()) json += ",\"subject\":" + subject;
  if (!topic.empty()) json += ",\"topic\":{\"text\":" + jsonString(topic) + "}";
  if (const std::string sent = fhirDateTime(head.gen_date); !sent.empty()) json += ",\"sent\":" + jsonString(sent);
  json += ",\"recipient\":[" + partyReference(head.receiver) + "]";
  json += ",\"sender\":" + partyReference(head.sender);
  if (!payload.empty()) json += ",\"payload\":[{\"contentString\":" + jsonString(payload) + "}]";
  json += "}";
  return {PlannedWrite::Kind::kCreateOnce, "Communication", std::string(kMessageIdSystem), head.msg_id,
          std::move(json), full_url, true};
}

// A Task asking the receiver for something: a Forespørsel, or the «need for IP» notice (GW-55) — a Task rather than
// a ServiceRequest because the sender follows its workflow state (received, accepted, coordinator appointed, plan
// started) through Task.status and businessStatus, which a ServiceRequest does not carry.
PlannedWrite task(const MsgHeadInfo& head, bool need_for_ip, std::string_view description,
                  const std::string& communication_url) {
  std::string json = "{\"resourceType\":\"Task\",\"identifier\":[" + identifierJson(kMessageIdSystem, head.msg_id) +
                     "],\"status\":\"requested\"";
  if (need_for_ip) {
    json += ",\"intent\":\"proposal\",\"code\":{\"text\":\"Behov for individuell plan\"},"
            "\"businessStatus\":{\"text\":\"mottatt\"}";
  } else {
    json += ",\"intent\":\"order\",\"code\":{\"coding\":[" +
            codingJson(kMessageTypeSystem, head.type, head.type_display) + "]}";
  }
  if (!description.empty()) json += ",\"description\":" + jsonString(description);
  json += ",\"focus\":{\"reference\":" + jsonString(communication_url) + "}";
  if (const std::string subject = patientReference(head); !subject.empty()) json += ",\"for\":" + subject;
  if (const std::string sent = fhirDateTime(head.gen_date); !sent.empty()) {
    json += ",\"authoredOn\":" + jsonString(sent);
  }
  json += ",\"requester\":" + partyReference(head.sender) + ",\"owner\":" + partyReference(head.receiver) + "}";
  return {PlannedWrite::Kind::kCreateOnce, "Task", std::string(kMessageIdSystem), head.msg_id, std::move(json), {},
          true};
}

std::string personName(const xmlNode* person) {
  const std::string given = xml::text(xml::child(person, "GivenName"));
  const std::string family = xml::text(xml::child(person, "FamilyName"));
  if (given.empty()) return family;
  return family.empty() ? given : given + " " + family;
}

struct Participant {
  std::string role_code;     // 9034 code, when coded
  std::string role_display;  // text
  std::string member_display;
  std::string member_system;
  std::string member_id;
};

std::string participantJson(const Participant& p, std::string_view period_start) {
  std::string json = "{\"role\":[{";
  if (!p.role_code.empty()) {
    json += "\"coding\":[" + codingJson(kRoleSystem, p.role_code, p.role_display) + "]";
  } else {
    json += "\"text\":" + jsonString(p.role_display.empty() ? "kontaktperson" : p.role_display);
  }
  json += "}],\"member\":{";
  bool comma = false;
  if (!p.member_id.empty()) {
    json += "\"identifier\":" + identifierJson(p.member_system, p.member_id);
    comma = true;
  }
  if (!p.member_display.empty()) json += std::string(comma ? "," : "") + "\"display\":" + jsonString(p.member_display);
  json += "}";
  if (!period_start.empty()) json += ",\"period\":{\"start\":" + jsonString(period_start) + "}";
  return json + "}";
}

// A health professional as PLO (fk1) and Dialogmelding write it: RoleToPatient, names, Ident (HPR).
Participant professional(const xmlNode* person, const xmlNode* role_holder) {
  Participant p;
  const xmlNode* role = xml::child(role_holder, "RoleToPatient");
  p.role_code = xml::attribute(role, "V");
  p.role_display = xml::attribute(role, "DN");
  p.member_display = personName(person);
  for (xmlNode* ident : xml::all(person, "Ident")) {
    if (xml::attribute(xml::child(ident, "TypeId"), "V") == "HPR") {
      p.member_system = std::string(kHprSystem);
      p.member_id = xml::text(xml::child(ident, "Id"));
    }
  }
  return p;
}

// Collects the CareTeam participants of a PLO document wherever they sit (PLO 1.5 / 1.6 put them at the top,
// 2.0 under FellesAdministrativeOpplysninger): contact persons, responsible professionals, relatives, units.
void collectParticipants(const xmlNode* node, std::vector<Participant>& out, int depth) {
  if (node == nullptr || depth > 4) return;
  for (xmlNode* child : xml::children(node)) {
    const std::string_view n = xml::name(child);
    if (n == "KontaktpersonHelsepersonell") {
      for (xmlNode* person : xml::all(child, "Kontaktperson")) out.push_back(professional(person, person));
    } else if (n == "AnsvarForRapport") {
      for (xmlNode* person : xml::all(child, "AnsvarligRapport")) out.push_back(professional(person, person));
    } else if (n == "ParorendeForesatt") {
      Participant p;
      p.role_display = "pårørende";
      if (const xmlNode* relation = xml::child(child, "Slektskap")) {
        const std::string dn = xml::attribute(relation, "DN");
        if (!dn.empty()) p.role_display = "pårørende (" + dn + ")";
      }
      const xmlNode* person = xml::child(child, "Parorende");
      p.member_display = personName(person != nullptr ? person : child);
      if (p.member_display.empty()) p.member_display = personName(xml::child(child, "Person"));
      out.push_back(p);
    } else if (n == "TilknyttetEnhet") {
      for (xmlNode* unit : xml::all(child, "Kontaktenhet")) {
        Participant p;
        p.role_display = "ansvarlig enhet";
        p.member_display = xml::text(xml::child(unit, "OrganisationName"));
        for (xmlNode* ident : xml::all(unit, "Ident")) {
          if (xml::attribute(xml::child(ident, "TypeId"), "V") == "HER") {
            p.member_system = std::string(kHerSystem);
            p.member_id = xml::text(xml::child(ident, "Id"));
          }
        }
        out.push_back(p);
      }
    } else if (n == "FellesAdministrativeOpplysninger") {
      collectParticipants(child, out, depth + 1);
    }
  }
}

const xmlNode* findDescendant(const xmlNode* node, std::string_view local, int depth) {
  if (node == nullptr || depth > 6) return nullptr;
  for (xmlNode* child : xml::children(node)) {
    if (xml::name(child) == local) return child;
    if (const xmlNode* found = findDescendant(child, local, depth + 1)) return found;
  }
  return nullptr;
}

}  // namespace

void mapDialogmelding(const xmlNode* content, const MappingTable& mapping, const MsgHeadInfo& head,
                      DecodedMessage& out) {
  // One of Foresporsel (asks), Svar (answers), Notat (informs; Helsefaglig dialog in 1.1).
  const xmlNode* part = nullptr;
  for (xmlNode* child : xml::children(content)) {
    if (xml::name(child) == "Foresporsel" || xml::name(child) == "Notat" || xml::name(child) == "Svar") {
      part = child;
      break;
    }
  }
  const std::string kind = part != nullptr ? std::string(xml::name(part)) : std::string("Dialogmelding");
  std::string topic = xml::text(xml::child(part, "Tema"));
  if (topic.empty()) topic = xml::attribute(xml::child(part, "TemaKodet"), "DN");
  if (topic.empty()) topic = xml::attribute(xml::child(part, "TypeForesp"), "DN");
  std::string text = xml::text(xml::child(part, "Sporsmal"));
  if (text.empty()) text = xml::text(xml::child(part, "TekstNotatInnhold"));
  if (text.empty()) text = xml::text(xml::child(part, "SvarTekst"));
  if (text.empty()) text = xml::text(xml::child(part, "TekstSvar"));

  const std::string communication_url = "urn:uuid:" + head.msg_id;
  out.writes.push_back(communication(head, topic, text, communication_url));
  out.need_for_ip = mentionsNeedForIp(mapping, topic) || mentionsNeedForIp(mapping, text);
  // Dialogmelding 1.1 nests a question inside the Helsefaglig dialog's Notat.
  const bool asks = kind == "Foresporsel" || xml::child(part, "Foresporsel") != nullptr;
  if (asks || out.need_for_ip) out.writes.push_back(task(head, out.need_for_ip, text, communication_url));
  for (xmlNode* role : xml::all(part, "RollerRelatertNotat")) {
    const std::string code = xml::attribute(xml::child(role, "RoleToPatient"), "V");
    if (std::find(mapping.coordinator_roles.begin(), mapping.coordinator_roles.end(), code) !=
        mapping.coordinator_roles.end()) {
      out.coordinator_proposed = true;
    }
  }
  out.summary = "Dialogmelding " + out.version + " " + kind + (out.need_for_ip ? " (behov for individuell plan)" : "");
}

void mapPlo(const xmlNode* content, const DocumentMapping& document, const MappingTable& mapping,
            const MsgHeadInfo& head, DecodedMessage& out) {
  const xmlNode* status_node = findDescendant(content, "Forsendelsesstatus", 0);
  const std::string sending = xml::attribute(status_node, "V");  // kodeverk 7309: N, M, C, A, H
  std::string payload = document.name.empty() ? std::string(xml::name(content)) : document.name;
  std::string team_note;  // what the sender states about the plan, kept on the proposed team for the coordinator
  // PLO 2.0 OpplysningerOmIndividuellPlan: whether the patient has an IP and a coordinator.
  if (const xmlNode* ip = findDescendant(content, "OpplysningerOmIndividuellPlan", 0)) {
    const std::string exists = xml::text(xml::child(ip, "IndividuellPlanForeligger"));
    const std::string coordinator = xml::text(xml::child(ip, "KoordinatorOppnevnt"));
    // xs:boolean admits "1" and "0" too; the schema has already refused anything else.
    const auto yes = [](const std::string& v) { return v == "true" || v == "1"; };
    const auto no = [](const std::string& v) { return v == "false" || v == "0"; };
    if (yes(exists)) team_note = "Avsender oppgir at individuell plan foreligger";
    else if (no(exists)) team_note = "Avsender oppgir at individuell plan ikke foreligger";
    if (yes(coordinator)) team_note += std::string(team_note.empty() ? "" : "; ") + "koordinator er oppnevnt";
    else if (no(coordinator)) team_note += std::string(team_note.empty() ? "" : "; ") + "koordinator er ikke oppnevnt";
    payload += "; individuell plan foreligger: " + (exists.empty() ? std::string("ukjent") : exists);
    payload += "; koordinator oppnevnt: " + (coordinator.empty() ? std::string("ukjent") : coordinator);
    if (const std::string note = xml::text(xml::child(ip, "Merknad")); !note.empty()) payload += "; " + note;
  }
  out.writes.push_back(communication(head, document.name, payload, {}));

  std::vector<Participant> participants;
  collectParticipants(content, participants, 0);
  // A role with nobody named ("a physiotherapist at the receiver") proposes no one.
  std::erase_if(participants, [](const Participant& p) { return p.member_display.empty() && p.member_id.empty(); });
  const std::string conversation = head.ref_to_conversation.empty() ? head.msg_id : head.ref_to_conversation;
  const std::string start = fhirDateTime(head.gen_date);
  std::string json = "{\"resourceType\":\"CareTeam\",\"identifier\":[" +
                     identifierJson(kConversationSystem, conversation) + "]";
  // Kansellering withdraws the proposal; Ny and Endring (re)state it whole.
  json += std::string(",\"status\":") + (sending == "C" ? "\"entered-in-error\"" : "\"proposed\"");
  json += ",\"name\":" + jsonString("Forslag fra " + (head.sender.name.empty() ? head.sender.herId() : head.sender.name) +
                                    " (" + (document.name.empty() ? "PLO" : document.name) + ")");
  if (const std::string subject = patientReference(head); !subject.empty()) json += ",\"subject\":" + subject;
  if (!participants.empty()) {
    json += ",\"participant\":[";
    for (size_t i = 0; i < participants.size(); ++i) {
      if (i > 0) json += ",";
      json += participantJson(participants[i], start);
      if (std::find(mapping.coordinator_roles.begin(), mapping.coordinator_roles.end(), participants[i].role_code) !=
          mapping.coordinator_roles.end()) {
        out.coordinator_proposed = true;
      }
    }
    json += "]";
  }
  json += ",\"managingOrganization\":[" + partyReference(head.sender) + "]";
  if (!team_note.empty()) json += ",\"note\":[{\"text\":" + jsonString(team_note) + "}]";
  json += "}";
  out.writes.push_back({PlannedWrite::Kind::kUpsert, "CareTeam", std::string(kConversationSystem), conversation,
                        std::move(json), {}});
  const char* action = sending == "C" ? "kansellering" : sending == "M" ? "endring" : "ny";
  out.summary = "PLO " + document.version + " " + payload + " (" + action + ", " +
                std::to_string(participants.size()) + " deltakere" +
                (out.coordinator_proposed ? ", koordinatorforslag" : "") + ")";
}

}  // namespace planbro::adapters::plo::internal
