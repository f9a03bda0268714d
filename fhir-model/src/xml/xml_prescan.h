#pragma once
// A linear pre-scan of XML text that enforces XmlLimits on start tags before libxml2 parses them: libxml2's check
// for duplicate attributes compares every pair, so `<Patient a0="x" ... a99999="x"/>` cost 31 s inside the parser.

#include <string_view>

#include "planbro/fhir-model/fhir_xml.h"
#include "planbro/fhir-model/status.h"

namespace planbro::fhir::xml_internal {

/**
 * Scans `xml` once, in O(size) time and constant memory, and fails with kResourceExhausted (naming the limit and the
 * line) at the first element with more than `limits.max_attributes` attributes (namespace declarations included), an
 * element or attribute name longer than `limits.max_name_bytes`, or element nesting deeper than `limits.max_depth`.
 * Comments, CDATA sections, processing instructions and declarations are skipped. Text that is not well-formed is
 * left for libxml2 to report (the scan stops and answers ok).
 */
Status prescanXml(std::string_view xml, const XmlLimits& limits);

}  // namespace planbro::fhir::xml_internal
