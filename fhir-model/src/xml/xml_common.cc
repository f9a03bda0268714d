#include "xml_common.h"
#include "xml_prescan.h"

#include <libxml/parser.h>
#include <libxml/SAX2.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlsave.h>

#include <climits>
#include <mutex>

namespace planbro::fhir::xml_internal {
namespace {

// Per-parse state reached from the SAX hooks through ctxt->_private, which libxml2 promises not to touch.
struct ParseGuard {
  uint32_t depth = 0;
  uint32_t max_depth = 0;
  bool doctype = false;
  bool too_deep = false;
  long line = 0;
};

ParseGuard* guardOf(void* ctx) {
  auto* ctxt = static_cast<xmlParserCtxtPtr>(ctx);
  return static_cast<ParseGuard*>(ctxt->_private);
}

// A DOCTYPE is where entity declarations (billion laughs) and external subsets (XXE) live: stop at the first sign.
void rejectDoctype(void* ctx, const xmlChar* /*name*/, const xmlChar* /*external_id*/, const xmlChar* /*system_id*/) {
  auto* ctxt = static_cast<xmlParserCtxtPtr>(ctx);
  ParseGuard* guard = guardOf(ctx);
  guard->doctype = true;
  guard->line = xmlSAX2GetLineNumber(ctx);
  xmlStopParser(ctxt);
}

void rejectEntityDecl(void* ctx, const xmlChar* name, int /*type*/, const xmlChar* public_id, const xmlChar* system_id,
                      xmlChar* /*content*/) {
  rejectDoctype(ctx, name, public_id, system_id);
}

// Depth is counted while parsing so that a 100,000-deep document is refused before a deep tree exists.
void startElement(void* ctx, const xmlChar* localname, const xmlChar* prefix, const xmlChar* uri, int nb_namespaces,
                  const xmlChar** namespaces, int nb_attributes, int nb_defaulted, const xmlChar** attributes) {
  ParseGuard* guard = guardOf(ctx);
  if (++guard->depth > guard->max_depth) {
    guard->too_deep = true;
    guard->line = xmlSAX2GetLineNumber(ctx);
    xmlStopParser(static_cast<xmlParserCtxtPtr>(ctx));
    return;
  }
  xmlSAX2StartElementNs(ctx, localname, prefix, uri, nb_namespaces, namespaces, nb_attributes, nb_defaulted,
                        attributes);
}

void endElement(void* ctx, const xmlChar* localname, const xmlChar* prefix, const xmlChar* uri) {
  ParseGuard* guard = guardOf(ctx);
  if (guard->depth > 0) --guard->depth;
  xmlSAX2EndElementNs(ctx, localname, prefix, uri);
}

struct CtxtDeleter {
  void operator()(xmlParserCtxt* ctxt) const { xmlFreeParserCtxt(ctxt); }
};

void initOnce() {
  static std::once_flag once;
  std::call_once(once, [] { xmlInitParser(); });
}

std::string trimmed(const char* message) {
  std::string out = message != nullptr ? message : "unknown error";
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

// FHIR JSON expects `<div xmlns="http://www.w3.org/1999/xhtml">`; a prefixed `<h:div>` (legal in XML) is rewritten to
// the default namespace. Iterative walk: the subtree is as deep as the parse allowed.
void useDefaultNamespace(xmlNode* root) {
  if (root->ns == nullptr || root->ns->prefix == nullptr) return;
  const xmlChar* href = root->ns->href;
  xmlNs* default_ns = xmlNewNs(root, href, nullptr);
  if (default_ns == nullptr) return;  // a different default namespace is declared here: keep the prefix
  for (xmlNode* node = root; node != nullptr;) {
    if (node->type == XML_ELEMENT_NODE && node->ns != nullptr && xmlStrEqual(node->ns->href, href) != 0) {
      node->ns = default_ns;
    }
    if (node->type == XML_ELEMENT_NODE) {
      for (xmlAttr* attr = node->properties; attr != nullptr; attr = attr->next) {
        if (attr->ns != nullptr && xmlStrEqual(attr->ns->href, href) != 0) attr->ns = nullptr;
      }
    }
    if (node->type == XML_ELEMENT_NODE && node->children != nullptr) {
      node = node->children;
      continue;
    }
    while (node != root && node->next == nullptr) node = node->parent;
    node = node == root ? nullptr : node->next;
  }
  // Drop the now unused prefixed declarations of the root and put the default one first.
  xmlNs* kept = nullptr;
  xmlNs** tail = &kept;
  for (xmlNs* ns = root->nsDef; ns != nullptr;) {
    xmlNs* next = ns->next;
    ns->next = nullptr;
    if (ns != default_ns && ns->prefix != nullptr && xmlStrEqual(ns->href, href) != 0) {
      xmlFreeNs(ns);
    } else if (ns != default_ns) {
      *tail = ns;
      tail = &ns->next;
    }
    ns = next;
  }
  default_ns->next = kept;
  root->nsDef = default_ns;
}

}  // namespace

}  // namespace planbro::fhir::xml_internal

namespace planbro::fhir {

void XmlDocDeleter::operator()(xmlDoc* doc) const { xmlFreeDoc(doc); }

Result<XmlDocPtr> parseHardenedXml(std::string_view xml, const XmlLimits& limits) {
  using namespace xml_internal;
  if (xml.size() > limits.max_bytes || xml.size() > static_cast<size_t>(INT_MAX)) {
    return resourceExhausted("XML document of " + std::to_string(xml.size()) + " bytes exceeds the limit of " +
                             std::to_string(limits.max_bytes) + " bytes");
  }
  RETURN_IF_ERROR(prescanXml(xml, limits));
  initOnce();
  std::unique_ptr<xmlParserCtxt, CtxtDeleter> ctxt(xmlNewParserCtxt());
  if (ctxt == nullptr || ctxt->sax == nullptr) return internalError("cannot allocate an XML parser");
  ParseGuard guard;
  guard.max_depth = limits.max_depth;
  ctxt->_private = &guard;
  ctxt->sax->internalSubset = rejectDoctype;
  ctxt->sax->externalSubset = rejectDoctype;
  ctxt->sax->entityDecl = rejectEntityDecl;
  ctxt->sax->startElementNs = startElement;
  ctxt->sax->endElementNs = endElement;

  // Never XML_PARSE_NOENT, DTDLOAD, DTDATTR, DTDVALID or HUGE: entities stay unexpanded and libxml2's own
  // size limits stay on. Blank text is kept because it matters inside XHTML; the converter skips it elsewhere.
  const int options = XML_PARSE_NONET | XML_PARSE_NOCDATA | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
                      XML_PARSE_BIG_LINES;
  XmlDocPtr doc(xmlCtxtReadMemory(ctxt.get(), xml.data(), static_cast<int>(xml.size()), nullptr, nullptr, options));
  if (guard.doctype) {
    return invalidArgument("DOCTYPE declarations are not allowed in XML (line " + std::to_string(guard.line) +
                           ")");
  }
  if (guard.too_deep) {
    return resourceExhausted("XML nesting deeper than " + std::to_string(limits.max_depth) + " elements (line " +
                             std::to_string(guard.line) + ")");
  }
  if (doc == nullptr || ctxt->wellFormed == 0) {
    const xmlError* error = xmlCtxtGetLastError(ctxt.get());
    if (error == nullptr) return invalidArgument("malformed XML");
    return invalidArgument("malformed XML at line " + std::to_string(error->line) + ": " + trimmed(error->message));
  }
  if (doc->intSubset != nullptr || doc->extSubset != nullptr) {
    return invalidArgument("DOCTYPE declarations are not allowed in XML");
  }
  if (xmlDocGetRootElement(doc.get()) == nullptr) return invalidArgument("XML document has no root element");
  return doc;
}

}  // namespace planbro::fhir

namespace planbro::fhir::xml_internal {

Result<std::string> serializeElement(xmlNode* element) {
  // A copy into a fresh document re-declares namespaces that were declared on ancestors, so the text stands alone.
  XmlDocPtr holder(xmlNewDoc(reinterpret_cast<const xmlChar*>("1.0")));
  if (holder == nullptr) return internalError("cannot allocate an XML document");
  xmlNode* copy = xmlDocCopyNode(element, holder.get(), 1);
  if (copy == nullptr) return internalError("cannot copy an XML element");
  xmlDocSetRootElement(holder.get(), copy);
  useDefaultNamespace(copy);
  xmlBufferPtr buffer = xmlBufferCreate();
  if (buffer == nullptr) return internalError("cannot allocate an XML buffer");
  xmlSaveCtxtPtr save = xmlSaveToBuffer(buffer, "UTF-8", XML_SAVE_NO_DECL | XML_SAVE_AS_XML);
  if (save == nullptr) {
    xmlBufferFree(buffer);
    return internalError("cannot create an XML writer");
  }
  const long written = xmlSaveTree(save, copy);
  const int closed = xmlSaveClose(save);
  std::string out;
  if (written >= 0 && closed >= 0) out.assign(reinterpret_cast<const char*>(xmlBufferContent(buffer)),
                                              static_cast<size_t>(xmlBufferLength(buffer)));
  xmlBufferFree(buffer);
  if (written < 0 || closed < 0) return internalError("cannot serialise XHTML");
  return out;
}

std::string_view toView(const xmlChar* s) {
  return s == nullptr ? std::string_view() : std::string_view(reinterpret_cast<const char*>(s));
}

bool inNamespace(const xmlNode* node, std::string_view ns) {
  return node->ns != nullptr && toView(node->ns->href) == ns;
}

long lineOf(const xmlNode* node) { return xmlGetLineNo(node); }

std::string ElementPath::str() const {
  std::string out;
  for (const Segment& segment : segments_) {
    if (!out.empty()) out += '.';
    out += segment.name;
    if (segment.index != kNoIndex) out += "[" + std::to_string(segment.index) + "]";
  }
  return out;
}

bool isSystemType(std::string_view code) { return code.starts_with("http://hl7.org/fhirpath/System."); }

bool isPrimitive(const ModelInfo& model, std::string_view code) {
  return isSystemType(code) || model.isPrimitiveType(code);
}

ValueShape shapeOf(const ModelInfo& model, std::string_view type_code) {
  if (type_code == "xhtml") return ValueShape::kXhtml;
  if (isPrimitive(model, type_code)) return ValueShape::kPrimitive;
  if (type_code == "Resource" || model.isResourceType(type_code)) return ValueShape::kResource;
  return ValueShape::kComplex;
}

bool isIntegerCode(std::string_view code) {
  return code == "integer" || code == "unsignedInt" || code == "positiveInt" || code == "integer64" ||
         code == "http://hl7.org/fhirpath/System.Integer";
}

PrimitiveJson primitiveJsonKind(std::string_view code) {
  if (code == "boolean" || code == "http://hl7.org/fhirpath/System.Boolean") return PrimitiveJson::kBool;
  if (isIntegerCode(code) || code == "decimal" || code == "http://hl7.org/fhirpath/System.Decimal") {
    return PrimitiveJson::kNumber;
  }
  return PrimitiveJson::kString;
}

bool isValidNumber(std::string_view s, bool integer_only) {
  size_t i = 0;
  auto digits = [&] {
    const size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    return i - start;
  };
  if (i < s.size() && s[i] == '-') ++i;
  const size_t int_start = i;
  const size_t int_digits = digits();
  if (int_digits == 0 || (int_digits > 1 && s[int_start] == '0')) return false;
  if (integer_only) return i == s.size();
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (digits() == 0) return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (digits() == 0) return false;
  }
  return i == s.size();
}

std::string_view elementTypeCode(const ElementDef& element) {
  if (!element.types.empty()) return element.types.front().code;
  if (element.content_reference != nullptr && !element.content_reference->types.empty()) {
    return element.content_reference->types.front().code;
  }
  return "BackboneElement";
}

std::span<const ElementDef* const> childrenFor(const ModelInfo& model, const ElementDef& element,
                                               std::string_view type_code) {
  std::span<const ElementDef* const> children = model.childrenOf(element, type_code);
  if (!children.empty()) return children;
  // Constraint types such as SimpleQuantity or Age may carry no elements of their own in some table builds.
  const TypeDef* type = model.type(type_code);
  for (int hops = 0; type != nullptr && hops < 8; ++hops, type = type->base_type) {
    if (!type->elements.empty() && !type->rootChildren().empty()) return type->rootChildren();
  }
  return children;
}

}  // namespace planbro::fhir::xml_internal
