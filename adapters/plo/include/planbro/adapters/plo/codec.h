#pragma once
// The PLO / Dialogmelding codec: bytes in, the decoded message and its FHIR writes out. Pure: no I/O, no clock, no
// store. Every failure becomes an AppRec status with kodeverk 8221 codes, never an exception or a crash.

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "planbro/adapters/plo/mapping_table.h"
#include "planbro/adapters/plo/message.h"
#include "planbro/adapters/plo/schema_set.h"
#include "planbro/adapters/plo/signature.h"
#include "planbro/fhir-model/fhir_xml.h"

namespace planbro::adapters::plo {

struct CodecOptions {
  /** The largest message accepted (`adapters.plo.max_message_bytes`); larger ones are Avvist (T99). */
  size_t max_message_bytes = 32u << 20;
  /** Element nesting, attributes per element, name length (`adapters.plo.max_depth`, ...). */
  fhir::XmlLimits xml{.max_bytes = 32u << 20, .max_depth = 64, .max_attributes = 64, .max_name_bytes = 256};
  /** Unsigned messages are Avvist (S01) (`adapters.plo.require_signature`). */
  bool require_signature = false;
  /** When set (`adapters.plo.verify_signatures`), a signed message whose signature does not verify against the
   *  trusted certificates is Avvist (S01). */
  std::shared_ptr<const SignatureVerifier> signatures;
};

/** Namespaces and identifier systems the FHIR side uses. */
inline constexpr std::string_view kMessageIdSystem = "http://planbro.no/fhir/sid/plo-message-id";
inline constexpr std::string_view kConversationSystem = "http://planbro.no/fhir/sid/plo-conversation";

class Codec {
 public:
  Codec(std::shared_ptr<const SchemaSet> schemas, std::shared_ptr<const MappingTable> mapping, CodecOptions options);

  /**
   * Reads one message (a MsgHead with its documents, or an AppRec): hardened parse, version check, schema
   * validation, the patient's person number (check digits), then the content mapped to FHIR writes. Always
   * answers; `status` tells OK / Avvist / partly rejected with the reasons. Thread-safe.
   */
  DecodedMessage decode(std::string_view bytes) const;

  /** The Avvist (T99) answer for a message of `size` bytes over the limit, when the transport did not read it all. */
  DecodedMessage oversized(size_t size) const;

  const MappingTable& mapping() const { return *mapping_; }
  const CodecOptions& options() const { return options_; }
  /** The compiled schemas, for encoders that validate what they write (ip_flag.h). */
  const SchemaSet& schemas() const { return *schemas_; }

 private:
  std::shared_ptr<const SchemaSet> schemas_;
  std::shared_ptr<const MappingTable> mapping_;
  CodecOptions options_;
};

/** Loads the shipped mapping table and schemas from `data_dir` (mapping.yaml, xsd/) and builds a codec. */
Result<std::shared_ptr<const Codec>> loadCodec(const std::string& data_dir, CodecOptions options = {});

}  // namespace planbro::adapters::plo
