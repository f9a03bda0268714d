#pragma once
// The one XML entry point of planbro: every XML document that comes from outside (FHIR XML, PLO / Dialogmelding /
// AppRec messages, any later adapter's codec) is parsed here, with one libxml2 set-up. Owner: fhir-model/src/xml/.

#include <libxml/tree.h>

#include <memory>
#include <string_view>

#include "planbro/fhir-model/fhir_xml.h"
#include "planbro/fhir-model/status.h"

namespace planbro::fhir {

struct XmlDocDeleter {
  void operator()(xmlDoc* doc) const;
};
/** An owned libxml2 document. */
using XmlDocPtr = std::unique_ptr<xmlDoc, XmlDocDeleter>;

/**
 * Parses `xml` hardened: no network access, no DTD loading, no entity substitution, and any DOCTYPE (where entity
 * declarations — billion laughs — and external subsets — XXE — live) is rejected outright. Before libxml2 sees the
 * text a linear pre-scan enforces `limits.max_attributes`, `limits.max_name_bytes` and `limits.max_depth` (libxml2's
 * duplicate-attribute check is quadratic); the parse counts depth again and `limits.max_bytes` bounds the input.
 * Invalid UTF-8 is malformed XML. Comments and processing instructions are kept in the tree; blank text is kept.
 *
 * Errors: kResourceExhausted for a crossed limit, kInvalidArgument for malformed XML, a DOCTYPE or no root element;
 * messages carry the line. Thread-safe; no I/O.
 */
Result<XmlDocPtr> parseHardenedXml(std::string_view xml, const XmlLimits& limits);

}  // namespace planbro::fhir
