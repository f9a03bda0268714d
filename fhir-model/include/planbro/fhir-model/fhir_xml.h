#pragma once
// FHIR R4 XML <-> JSON conversion by the rules of the specification (xml.html, json.html), driven by ModelInfo:
// element order, arrays, choice types, primitive JSON kinds and attribute-vs-element all come from the R4
// definitions. The JSON side is planbro's lossless tree (json.h).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "planbro/fhir-model/json.h"
#include "planbro/fhir-model/operation_outcome.h"
#include "planbro/fhir-model/status.h"

namespace planbro::fhir {

/** Limits applied while reading XML; configurable like JsonLimits. */
struct XmlLimits {
  size_t max_bytes = 16u << 20;  // whole document
  uint32_t max_depth = 128;      // element nesting, counting the resource root as 1 (XHTML included)
  uint32_t max_attributes = 64;  // attributes of one element, namespace declarations included (FHIR uses 1-3)
  uint32_t max_name_bytes = 256; // one element or attribute name, prefix included
};

/**
 * Converts one FHIR resource in XML (root element in namespace http://hl7.org/fhir) into its JSON form.
 *
 * Parsing is hardened: no network access, no DTD loading, no entity substitution, and any DOCTYPE declaration
 * is rejected outright (XXE, billion laughs). Primitive `value` attributes become JSON strings, numbers (integer,
 * unsignedInt, positiveInt, decimal, exact text kept) or booleans; `id`/`extension` on primitives go to the
 * `_name` twin (arrays aligned with nulls); Narrative.div is kept as serialised XHTML text (libxml2's
 * serialisation: same XML, not always the same bytes; a prefixed `<h:div>` becomes `<div xmlns="...xhtml">`).
 * Lenient where the meaning is clear: elements out of definition order, comments, processing instructions and
 * attributes in other namespaces (xsi:schemaLocation) are accepted and dropped.
 *
 * Errors: kResourceExhausted when a limit is crossed (size, depth, attributes per element, name length; the last
 * three are checked by a linear pre-scan before libxml2, whose duplicate-attribute check is quadratic); kInvalidArgument for malformed XML, a DOCTYPE,
 * an unknown element or attribute, a wrong namespace, or a bad primitive value; messages name the element path and
 * the line ("unknown element 'foo' at Patient.name[0] (line 12)"). Thread-safe; no I/O.
 */
Result<JsonDocument> fhirXmlToJson(std::string_view xml, const XmlLimits& limits = {});

/**
 * The same conversion for validation, which must report every issue, not the first: a content error (unknown
 * element or attribute, invalid primitive value, stray text, an element repeated that allows one) is added to
 * `issues` (error, code "structure", the element path as location, the line in the diagnostics) and the offending
 * element or attribute is left out of the result, and the conversion goes on. Fails like fhirXmlToJson only for
 * what leaves nothing to validate: malformed XML, a DOCTYPE, a crossed limit, a root that is not a FHIR resource.
 */
Result<JsonDocument> fhirXmlToJson(std::string_view xml, const XmlLimits& limits, OperationOutcome& issues);

/**
 * Writes one FHIR resource (a JSON object with "resourceType") as FHIR XML: elements in definition order,
 * `id`/`url`/`value` as attributes where the specification says so, `_name` twins merged back into their primitive,
 * contained resources wrapped, Narrative.div written as XHTML. `pretty` indents by two spaces per level.
 *
 * Output starts with an XML declaration; the root carries xmlns="http://hl7.org/fhir".
 *
 * Errors (kInvalidArgument, message with the path, e.g. "unknown property 'bogus' at Patient.name[1]"): an unknown
 * resource type or property, a value of the wrong JSON kind, misaligned `_name` arrays, text that XML 1.0 cannot
 * carry (control characters, invalid UTF-8), a div that is not one well-formed XHTML div (parsed with the same
 * hardening as fhirXmlToJson), nesting deeper than 300 elements (parsed JSON is already bounded by
 * JsonLimits::max_depth). Thread-safe; no I/O.
 */
Result<std::string> fhirJsonToXml(const JsonValue& resource, bool pretty = false);

}  // namespace planbro::fhir
