#pragma once
// Internals shared by the two directions of the FHIR XML converter: the hardened libxml2 parse, XHTML
// serialisation and the questions both directions ask of ModelInfo (is this a primitive, which JSON kind, children).

#include <libxml/tree.h>

#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "planbro/fhir-model/fhir_xml.h"
#include "planbro/fhir-model/model_info.h"

namespace planbro::fhir::xml_internal {

inline constexpr std::string_view kFhirNs = "http://hl7.org/fhir";
inline constexpr std::string_view kXhtmlNs = "http://www.w3.org/1999/xhtml";

struct XmlDocDeleter {
  void operator()(xmlDoc* doc) const;
};
using XmlDocPtr = std::unique_ptr<xmlDoc, XmlDocDeleter>;

/**
 * Parses `xml` with no network, no DTD, no entity substitution; rejects any DOCTYPE and any nesting deeper than
 * `limits.max_depth` (kResourceExhausted), and anything over `limits.max_bytes`. Errors carry the line.
 */
Result<XmlDocPtr> parseHardened(std::string_view xml, const XmlLimits& limits);

/** Serialises one element (and its subtree) as UTF-8 XML text, namespace declarations included. */
Result<std::string> serializeElement(xmlNode* element);

std::string_view toView(const xmlChar* s);
bool inNamespace(const xmlNode* node, std::string_view ns);
long lineOf(const xmlNode* node);

enum class PrimitiveJson { kString, kNumber, kBool };

/** FHIRPath system types ("http://hl7.org/fhirpath/System.String") used for Element.id, Extension.url, .value. */
bool isSystemType(std::string_view code);
bool isPrimitive(const ModelInfo& model, std::string_view code);
PrimitiveJson primitiveJsonKind(std::string_view code);
/** True for JSON number text that is valid for `kind` (integers reject fractions and exponents). */
bool isValidNumber(std::string_view text, bool integer_only);
bool isIntegerCode(std::string_view code);

/** The type code of a non-choice element (through its content reference when it has one). */
std::string_view elementTypeCode(const ElementDef& element);
/** Children of `element` holding a `type_code`; falls back along the base chain for constraint types. */
std::span<const ElementDef* const> childrenFor(const ModelInfo& model, const ElementDef& element,
                                               std::string_view type_code);

}  // namespace planbro::fhir::xml_internal
