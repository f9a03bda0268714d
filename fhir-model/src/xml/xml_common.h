#pragma once
// Internals shared by the two directions of the FHIR XML converter: the hardened libxml2 parse, XHTML
// serialisation and the questions both directions ask of ModelInfo (is this a primitive, which JSON kind, children).

#include <libxml/tree.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "planbro/fhir-model/fhir_xml.h"
#include "planbro/fhir-model/hardened_xml.h"
#include "planbro/fhir-model/model_info.h"

namespace planbro::fhir::xml_internal {

inline constexpr std::string_view kFhirNs = "http://hl7.org/fhir";
inline constexpr std::string_view kXhtmlNs = "http://www.w3.org/1999/xhtml";

using fhir::XmlDocPtr;

/** The public hardened parse (hardened_xml.h), under the name the converter uses. */
inline Result<XmlDocPtr> parseHardened(std::string_view xml, const XmlLimits& limits) {
  return parseHardenedXml(xml, limits);
}

/** Serialises one element (and its subtree) as UTF-8 XML text, namespace declarations included. */
Result<std::string> serializeElement(xmlNode* element);

std::string_view toView(const xmlChar* s);
bool inNamespace(const xmlNode* node, std::string_view ns);
long lineOf(const xmlNode* node);

/**
 * The FHIRPath-style location of the element being converted ("Patient.name[0].given[1]"), kept as a stack of
 * views so that the string is only built when an error needs it. Pushed names must outlive their segment.
 */
class ElementPath {
 public:
  static constexpr size_t kNoIndex = SIZE_MAX;
  void push(std::string_view name, size_t index = kNoIndex) { segments_.push_back({name, index}); }
  void pop() { segments_.pop_back(); }
  bool empty() const { return segments_.empty(); }
  std::string str() const;

  /** Pushes on construction, pops on destruction. */
  class Scope {
   public:
    Scope(ElementPath& path, std::string_view name, size_t index = kNoIndex) : path_(path) { path_.push(name, index); }
    ~Scope() { path_.pop(); }
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    ElementPath& path_;
  };

 private:
  struct Segment {
    std::string_view name;
    size_t index;
  };
  std::vector<Segment> segments_;
};

enum class PrimitiveJson { kString, kNumber, kBool };

/** FHIRPath system types ("http://hl7.org/fhirpath/System.String") used for Element.id, Extension.url, .value. */
bool isSystemType(std::string_view code);
bool isPrimitive(const ModelInfo& model, std::string_view code);

/** How a value of one type is represented in XML; both directions dispatch on it. */
enum class ValueShape { kXhtml, kPrimitive, kResource, kComplex };
ValueShape shapeOf(const ModelInfo& model, std::string_view type_code);
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
