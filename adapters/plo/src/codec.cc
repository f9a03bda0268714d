#include "planbro/adapters/plo/codec.h"

#include <libxml/tree.h>

#include "decoders.h"
#include "planbro/fhir-model/hardened_xml.h"
#include "planbro/fhir-model/norwegian_ids.h"
#include "xml_read.h"

namespace planbro::adapters::plo {
namespace {

// Rejects with one 8221 code; the reason is the readable text (the OT attribute of the AppRec Error).
DecodedMessage& reject(DecodedMessage& out, const MappingTable& mapping, std::string code, std::string reason) {
  out.status = AppRecStatus::kRejected;
  out.writes.clear();
  out.errors.push_back({code, mapping.errorText(code), reason});
  out.summary = reason;
  return out;
}


}  // namespace

Codec::Codec(std::shared_ptr<const SchemaSet> schemas, std::shared_ptr<const MappingTable> mapping,
             CodecOptions options)
    : schemas_(std::move(schemas)), mapping_(std::move(mapping)), options_(options) {}

DecodedMessage Codec::oversized(size_t size) const {
  DecodedMessage out;
  return reject(out, *mapping_, "T99",
                "meldingen er " + std::to_string(size) + " byte, over grensen på " +
                    std::to_string(options_.max_message_bytes));
}

DecodedMessage Codec::decode(std::string_view bytes) const {
  const MappingTable& mapping = *mapping_;
  DecodedMessage out;
  if (bytes.size() > options_.max_message_bytes) return oversized(bytes.size());
  fhir::XmlLimits limits = options_.xml;
  limits.max_bytes = options_.max_message_bytes;
  Result<fhir::XmlDocPtr> parsed = fhir::parseHardenedXml(bytes, limits);
  if (!parsed.isOk()) {
    const bool limit = parsed.status().code() == StatusCode::kResourceExhausted;
    return reject(out, mapping, limit ? "T99" : "T01", parsed.status().message());
  }
  xmlDoc* doc = parsed->get();
  const xmlNode* root = xmlDocGetRootElement(doc);
  const std::string root_ns(xml::ns(root));
  const DocumentMapping* root_mapping = mapping.find(root_ns);

  if (xml::name(root) == "AppRec") {
    if (root_mapping == nullptr || root_mapping->family != "apprec") {
      return reject(out, mapping, "T10", "ukjent AppRec-versjon (navnerom '" + root_ns + "')");
    }
    out.family = "apprec";
    out.version = root_mapping->version;
    const std::string mig = xml::text(xml::child(root, "MIGversion"));
    // Senders write the 1.0 MIGversion with more than one date ("1.0 2004-11-21", "1.0 2008-11-21"): the version
    // number is what must match; the schema checks the rest.
    const std::string number = root_mapping->version;
    if (!(mig.starts_with(number + " ") || mig.starts_with("v" + number + " "))) {
      return reject(out, mapping, "T10", "AppRec MIGversion '" + mig + "' er ikke '" + root_mapping->mig_version + "'");
    }
    if (std::vector<std::string> errors = schemas_->validate(doc); !errors.empty()) {
      return reject(out, mapping, "T02", "AppRec validerer ikke: " + errors.front());
    }
    const std::string status = xml::attribute(xml::child(root, "Status"), "V");
    if (status != "1" && status != "2" && status != "3") {
      return reject(out, mapping, "T99", "AppRec-status '" + status + "' finnes ikke i kodeverk 8258");
    }
    out.apprec = internal::readAppRec(root, root_mapping->version);
    out.summary = "AppRec " + out.version + " for " + out.apprec->original_msg_id + " (status " +
                  std::to_string(static_cast<int>(out.apprec->status)) + ")";
    return out;
  }
  if (xml::name(root) != "MsgHead") {
    return reject(out, mapping, "T10", "rotelementet '" + std::string(xml::name(root)) + "' er ikke MsgHead eller AppRec");
  }
  out.head = internal::readMsgHead(root);
  const MsgHeadInfo& head = *out.head;
  if (root_mapping != &mapping.msghead) {
    return reject(out, mapping, "T10", "ukjent MsgHead-navnerom '" + root_ns + "'");
  }
  if (head.mig_version != mapping.msghead.mig_version) {
    return reject(out, mapping, "T10",
                  "MsgHead MIGversion '" + head.mig_version + "' støttes ikke (forventet '" +
                      mapping.msghead.mig_version + "')");
  }
  // Before the schema, so an unknown business document is "not supported" (T10), not "does not validate" (T02).
  const DocumentMapping* business = nullptr;
  const xmlNode* business_root = nullptr;
  for (xmlNode* content : internal::contentRoots(root)) {
    const DocumentMapping* document = mapping.find(xml::ns(content));
    if (document == nullptr) {
      return reject(out, mapping, "T10",
                    "dokumenttypen '" + std::string(xml::name(content)) + "' (" + std::string(xml::ns(content)) +
                        ") støttes ikke");
    }
    if (business == nullptr && (document->family == "dialogmelding" || document->family == "plo")) {
      business = document;
      business_root = content;
    }
  }
  if (std::vector<std::string> errors = schemas_->validate(doc); !errors.empty()) {
    std::string reason = "meldingen validerer ikke mot XML-skjema: " + errors.front();
    if (errors.size() > 1) reason += " (og " + std::to_string(errors.size() - 1) + " feil til)";
    return reject(out, mapping, "T02", reason);
  }
  if (head.msg_id.empty()) return reject(out, mapping, "E10", "MsgId mangler");
  if (options_.require_signature && !head.signed_message) {
    return reject(out, mapping, "S01", "meldingen er ikke signert");
  }
  if (options_.signatures && head.signed_message) {
    if (Status verified = options_.signatures->verify(doc); !verified.isOk()) {
      return reject(out, mapping, "S01", "signaturen kan ikke verifiseres: " + verified.message());
    }
  }
  if (business == nullptr) return reject(out, mapping, "T10", "meldingen bærer ikke noe fagdokument planbro forstår");
  out.family = business->family;
  out.version = business->version;
  if (!head.patient || head.patient->id.empty()) {
    return reject(out, mapping, "E30", "pasientens fødselsnummer mangler");
  }
  if (head.patient->id_type == "FNR" || head.patient->id_type == "DNR") {
    // The same check the write pipeline makes on Identifier.value (check digits, date, the 2032 K1 rule): a number
    // it would refuse is refused here, with the AppRec code for it.
    Result<fhir::no::PersonNumberKind> kind = fhir::no::classifyPersonNumber(head.patient->id);
    if (!kind.isOk()) {
      return reject(out, mapping, "E31", "pasientens fødselsnummer er feil: " + kind.status().message());
    }
  }
  if (business->family == "dialogmelding") {
    internal::mapDialogmelding(business_root, mapping, head, out);
  } else {
    internal::mapPlo(business_root, *business, mapping, head, out);
  }
  return out;
}

Result<std::shared_ptr<const Codec>> loadCodec(const std::string& data_dir, CodecOptions options) {
  ASSIGN_OR_RETURN(MappingTable table, MappingTable::load(data_dir + "/mapping.yaml"));
  auto mapping = std::make_shared<const MappingTable>(std::move(table));
  ASSIGN_OR_RETURN(std::shared_ptr<const SchemaSet> schemas, SchemaSet::load(data_dir + "/xsd", *mapping));
  return std::make_shared<const Codec>(std::move(schemas), std::move(mapping), options);
}

}  // namespace planbro::adapters::plo
