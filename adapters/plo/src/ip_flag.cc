#include "planbro/adapters/plo/ip_flag.h"

#include <libxml/tree.h>

#include <array>
#include <span>

#include "decoders.h"
#include "planbro/fhir-model/hardened_xml.h"
#include "planbro/fhir-model/norwegian_ids.h"
#include "xml_read.h"

namespace planbro::adapters::plo {
namespace {

constexpr std::string_view kPoKomponentNs = "http://ehelse.no/xmlstds/po/poKomponent/2017-11-30";
constexpr std::string_view kBlock = "OpplysningerOmIndividuellPlan";

// The PLO 2.0 documents whose schema has po:OpplysningerOmIndividuellPlan in its sequence, with the elements the
// sequence puts after it (Sammenfatning-v2.0.xsd, HelseopplysningerSaksbehandling-v2.0.xsd): the block goes before
// the first of them present, else last. The schema check of the result is the authority; this only finds the place.
struct BlockPlace {
  std::string_view ns;
  std::string_view root;
  std::span<const std::string_view> after;
};
constexpr std::array<std::string_view, 5> kAfterInSammenfatning = {
    "OpplysningerRelevantOppfolging", "EksisterendeTjeneste", "InfoAndreViktigeOpplysninger", "InfoKontrolltime",
    "OpplysningerOmHjelpemidler"};
constexpr std::array<std::string_view, 2> kAfterInSaksbehandling = {"EksisterendeTjeneste",
                                                                    "InfoAndreViktigeOpplysninger"};
constexpr std::array<BlockPlace, 2> kPlaces = {{
    {"http://ehelse.no/xmlstds/po/Sammenfatning/2016-05-30", "Sammenfatning", kAfterInSammenfatning},
    {"http://ehelse.no/xmlstds/po/HelseopplysningerSaksbehandling/2016-05-30", "HelseopplysningerSaksbehandling",
     kAfterInSaksbehandling},
}};

const BlockPlace* placeFor(const xmlNode* content) {
  for (const BlockPlace& place : kPlaces) {
    if (xml::ns(content) == place.ns && xml::name(content) == place.root) return &place;
  }
  return nullptr;
}

const xmlChar* x(const char* s) { return reinterpret_cast<const xmlChar*>(s); }

// A parsed, schema-valid MsgHead with a checked patient; the shared front half of messagePatient and the flag.
struct SoundMessage {
  fhir::XmlDocPtr doc;
  MsgHeadInfo head;
};

Result<SoundMessage> readSound(const Codec& codec, std::string_view bytes) {
  const CodecOptions& options = codec.options();
  if (bytes.size() > options.max_message_bytes) {
    return resourceExhausted("meldingen er " + std::to_string(bytes.size()) + " byte, over grensen på " +
                             std::to_string(options.max_message_bytes));
  }
  fhir::XmlLimits limits = options.xml;
  limits.max_bytes = options.max_message_bytes;
  ASSIGN_OR_RETURN(fhir::XmlDocPtr doc, fhir::parseHardenedXml(bytes, limits));
  const xmlNode* root = xmlDocGetRootElement(doc.get());
  if (xml::name(root) != "MsgHead" || codec.mapping().find(xml::ns(root)) != &codec.mapping().msghead) {
    return invalidArgument("rotelementet '" + std::string(xml::name(root)) + "' (" + std::string(xml::ns(root)) +
                           ") er ikke MsgHead " + codec.mapping().msghead.version);
  }
  MsgHeadInfo head = internal::readMsgHead(root);
  if (head.mig_version != codec.mapping().msghead.mig_version) {
    return invalidArgument("MsgHead MIGversion '" + head.mig_version + "' støttes ikke");
  }
  if (std::vector<std::string> errors = codec.schemas().validate(doc.get()); !errors.empty()) {
    return invalidArgument("meldingen validerer ikke mot XML-skjema: " + errors.front());
  }
  if (!head.patient || head.patient->id.empty()) return invalidArgument("pasientens fødselsnummer mangler");
  if (head.patient->id_type != "FNR" && head.patient->id_type != "DNR") {
    return invalidArgument("pasienten er identifisert med '" + head.patient->id_type +
                           "', ikke fødselsnummer (FNR) eller D-nummer (DNR)");
  }
  // The same check the write pipeline makes on Identifier.value: the number a plan would be found under.
  if (Result<fhir::no::PersonNumberKind> kind = fhir::no::classifyPersonNumber(head.patient->id); !kind.isOk()) {
    return invalidArgument("pasientens fødselsnummer er feil: " + kind.status().message());
  }
  return SoundMessage{std::move(doc), std::move(head)};
}

std::string merknad(const IpFacts& facts) {
  std::string out = facts.plan_started ? "Individuell plan er startet" : "Individuell plan er under utarbeiding";
  if (!facts.coordinator) return out + "; koordinator er ikke oppnevnt";
  const IpCoordinator& c = *facts.coordinator;
  out += "; koordinator: " + (c.name.empty() ? std::string("navn ukjent") : c.name);
  if (!c.hpr.empty()) out += ", HPR-nr. " + c.hpr;
  if (!c.telephone.empty()) out += ", tlf. " + c.telephone;
  if (!c.organisation.empty()) out += ", " + c.organisation;
  return out;
}

// Replaces any block the sender wrote and puts the new one at its place in the sequence.
void fillBlock(xmlDoc* doc, xmlNode* content, const BlockPlace& place, const IpFacts& facts) {
  for (xmlNode* old : xml::all(content, kBlock)) {
    if (xml::ns(old) != kPoKomponentNs) continue;
    xmlUnlinkNode(old);
    xmlFreeNode(old);
  }
  const std::string ns_href(kPoKomponentNs);
  xmlNs* ns = xmlSearchNsByHref(doc, content, x(ns_href.c_str()));
  xmlNode* block = xmlNewDocNode(doc, ns, x("OpplysningerOmIndividuellPlan"), nullptr);
  // Where no prefix is in scope for poKomponent, the block declares it (as the default namespace of its subtree).
  if (ns == nullptr) {
    ns = xmlNewNs(block, x(ns_href.c_str()), nullptr);
    xmlSetNs(block, ns);
  }
  const std::string has_plan = facts.plan_exists ? "true" : "false";
  const std::string has_coordinator = facts.coordinator ? "true" : "false";
  const std::string note = merknad(facts);
  // xmlNewTextChild escapes the text; characters XML cannot carry make the result fail the re-parse, never pass.
  xmlNewTextChild(block, ns, x("IndividuellPlanForeligger"), x(has_plan.c_str()));
  xmlNewTextChild(block, ns, x("KoordinatorOppnevnt"), x(has_coordinator.c_str()));
  xmlNewTextChild(block, ns, x("Merknad"), x(note.c_str()));
  for (xmlNode* sibling : xml::children(content)) {
    for (std::string_view later : place.after) {
      if (xml::ns(sibling) == kPoKomponentNs && xml::name(sibling) == later) {
        xmlAddPrevSibling(sibling, block);
        return;
      }
    }
  }
  xmlAddChild(content, block);
}

IpFlagResult unchanged(std::string_view message, std::string reason) {
  return {IpFlagOutcome::kUnchanged, std::string(message), std::move(reason)};
}

IpFlagResult refused(std::string reason) { return {IpFlagOutcome::kRefused, {}, std::move(reason)}; }

}  // namespace

Result<MessagePatient> messagePatient(const Codec& codec, std::string_view message) {
  ASSIGN_OR_RETURN(SoundMessage sound, readSound(codec, message));
  return MessagePatient{sound.head.patient->id, sound.head.patient->id_type};
}

IpFlagResult flagIndividualPlan(const Codec& codec, std::string_view message, const IpFacts& facts) {
  Result<SoundMessage> sound = readSound(codec, message);
  if (!sound.isOk()) return refused(sound.status().message());
  xmlDoc* doc = sound->doc.get();
  xmlNode* content = nullptr;
  const BlockPlace* place = nullptr;
  std::string documents;
  for (xmlNode* candidate : internal::contentRoots(xmlDocGetRootElement(doc))) {
    if (const BlockPlace* found = placeFor(candidate); found != nullptr && content == nullptr) {
      content = candidate;
      place = found;
    }
    documents += std::string(documents.empty() ? "" : ", ") + std::string(xml::name(candidate));
  }
  if (content == nullptr) {
    return unchanged(message, "dokumentet (" + (documents.empty() ? std::string("ingen") : documents) +
                                  ") har ikke plass til OpplysningerOmIndividuellPlan; bare PLO 2.0 Sammenfatning og "
                                  "HelseopplysningerSaksbehandling har det");
  }
  // Changing a signed message would break its signature: the record system flags before it signs.
  if (sound->head.signed_message) return unchanged(message, "meldingen er signert; flagget settes før signering");
  if (!facts.plan_exists) return unchanged(message, "pasienten har ingen individuell plan");
  fillBlock(doc, content, *place, facts);

  xmlChar* dumped = nullptr;
  int size = 0;
  xmlDocDumpMemoryEnc(doc, &dumped, &size, "UTF-8");
  if (dumped == nullptr || size <= 0) return refused("meldingen kunne ikke skrives ut");
  std::string out(reinterpret_cast<const char*>(dumped), static_cast<size_t>(size));
  xmlFree(dumped);
  // The bytes that leave are what must validate, so they are read back through the same gate as the input.
  Result<SoundMessage> again = readSound(codec, out);
  if (!again.isOk()) return refused("den flaggede meldingen validerer ikke: " + again.status().message());
  return {IpFlagOutcome::kFlagged, std::move(out), {}};
}

}  // namespace planbro::adapters::plo
