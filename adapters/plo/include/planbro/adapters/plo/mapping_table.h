#pragma once
// The PLO adapter's mapping table (adapters/plo/mapping.yaml): which business documents are understood, the schema
// each validates against, the «need for IP» phrases, the coordinator role codes and the AppRec error texts.

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "planbro/fhir-model/status.h"

namespace planbro::adapters::plo {

/** One understood XML namespace. */
struct DocumentMapping {
  std::string ns;
  std::string family;   // "msghead", "apprec", "attachment", "dialogmelding", "plo"
  std::string version;  // "1.0", "1.1", "1.5", "1.6", "2.0"
  std::string name;     // human name (PLO message), may be empty
  std::string schema;   // path relative to the schema directory
  std::string mig_version;
};

struct MappingTable {
  DocumentMapping msghead;
  std::vector<DocumentMapping> documents;  // apprec, attachments, dialogmelding, plo
  std::vector<std::string> need_for_ip_phrases;  // lower case
  std::vector<std::string> coordinator_roles;    // kodeverk 9034 codes
  std::map<std::string, std::string, std::less<>> apprec_errors;  // kodeverk 8221 code → text

  /** The mapping of a namespace, or nullptr. */
  const DocumentMapping* find(std::string_view ns) const;
  /** The 8221 text of `code` ("Annen feil" when unlisted). */
  std::string errorText(std::string_view code) const;

  /** Parses the YAML text. Errors (kInvalidArgument) name the key that is missing or wrong. */
  static Result<MappingTable> parse(std::string_view yaml_text);
  /** Reads and parses a file (at most 1 MiB). */
  static Result<MappingTable> load(const std::string& path);
};

}  // namespace planbro::adapters::plo
