#include "narrative.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <memory>
#include <mutex>

namespace planbro::fhir::validation {
namespace {

constexpr std::string_view kXhtmlNs = "http://www.w3.org/1999/xhtml";

// HTML 4.0 chapters 7-11 and 12 (the basic formatting elements) as listed by FHIR R4 txt-1 and accepted by the
// reference validator.
constexpr std::array<std::string_view, 55> kAllowedElements = {
    "a",     "abbr",  "acronym", "address", "area",  "b",     "bdo",      "big",   "blockquote", "br",    "caption",
    "cite",  "code",  "col",     "colgroup", "dd",   "del",   "dfn",      "div",   "dl",         "dt",    "em",
    "h1",    "h2",    "h3",      "h4",      "h5",    "h6",    "hr",       "i",     "img",        "ins",   "kbd",
    "li",    "map",   "ol",      "p",       "pre",   "q",     "s",        "samp",  "small",      "span",  "strike",
    "strong", "sub",  "sup",     "table",   "tbody", "td",    "tfoot",    "th",    "thead",      "tr",    "tt"};
constexpr std::array<std::string_view, 4> kAllowedElementsExtra = {"u", "ul", "var", "font"};

constexpr std::array<std::string_view, 48> kAllowedAttributes = {
    "abbr",   "accesskey", "align",   "alt",         "axis",        "bgcolor", "border",  "cellpadding", "cellspacing",
    "char",   "charoff",   "charset", "cite",        "class",       "color",   "colspan", "compact",     "coords",
    "datetime", "dir",     "face",    "frame",       "headers",     "height",  "href",    "hreflang",    "id",
    "lang",   "name",      "nohref",  "rel",         "rev",         "rows",    "rowspan", "rules",       "scope",
    "shape",  "size",      "span",    "src",         "start",       "style",   "summary", "tabindex",    "title",
    "type",   "valign",    "value"};
constexpr std::array<std::string_view, 2> kAllowedAttributesExtra = {"width", "usemap"};

template <size_t N>
bool contains(const std::array<std::string_view, N>& list, std::string_view s) {
  return std::find(list.begin(), list.end(), s) != list.end();
}

std::string_view view(const xmlChar* s) {
  return s == nullptr ? std::string_view() : std::string_view(reinterpret_cast<const char*>(s));
}

bool startsWithScheme(std::string_view value, std::string_view scheme) {
  size_t i = 0;
  while (i < value.size() && std::isspace(static_cast<unsigned char>(value[i]))) ++i;
  if (value.size() - i < scheme.size()) return false;
  for (size_t k = 0; k < scheme.size(); ++k) {
    if (std::tolower(static_cast<unsigned char>(value[i + k])) != scheme[k]) return false;
  }
  return true;
}

void initLibxml() {
  static std::once_flag once;
  std::call_once(once, [] { xmlInitParser(); });
}

struct DocFree {
  void operator()(xmlDoc* d) const { xmlFreeDoc(d); }
};
struct CtxtFree {
  void operator()(xmlParserCtxt* c) const { xmlFreeParserCtxt(c); }
};

class Walker {
 public:
  explicit Walker(std::vector<NarrativeProblem>& problems) : problems_(problems) {}

  // Iterative walk: a narrative nested deeper than libxml2's own limit never reaches here.
  void walk(xmlNode* root) {
    xmlNode* node = root;
    while (node != nullptr) {
      visit(node);
      if (node->type == XML_ELEMENT_NODE && node->children != nullptr) {
        node = node->children;
        continue;
      }
      while (node != nullptr && node != root && node->next == nullptr) node = node->parent;
      if (node == nullptr || node == root) break;
      node = node->next;
    }
  }

  bool hasContent() const { return has_content_; }

 private:
  void error(std::string message) { problems_.push_back({true, std::move(message)}); }

  void visit(xmlNode* node) {
    if (node->type == XML_TEXT_NODE || node->type == XML_CDATA_SECTION_NODE) {
      for (char c : view(node->content)) {
        if (!std::isspace(static_cast<unsigned char>(c))) {
          has_content_ = true;
          break;
        }
      }
      return;
    }
    if (node->type == XML_ENTITY_REF_NODE || node->type == XML_ENTITY_NODE) {
      error("entity references are not allowed in the narrative");
      return;
    }
    if (node->type == XML_PI_NODE) {
      error("processing instructions are not allowed in the narrative");
      return;
    }
    if (node->type != XML_ELEMENT_NODE) return;
    std::string_view name = view(node->name);
    if (node->ns == nullptr || view(node->ns->href) != kXhtmlNs) {
      error("element '" + std::string(name) + "' is not in the XHTML namespace");
      return;
    }
    if (!contains(kAllowedElements, name) && !contains(kAllowedElementsExtra, name)) {
      error("element '" + std::string(name) + "' is not allowed in the narrative");
    }
    if (name == "img") has_content_ = true;
    for (xmlAttr* attr = node->properties; attr != nullptr; attr = attr->next) {
      std::string_view attr_name = view(attr->name);
      bool is_xml_ns = attr->ns != nullptr && view(attr->ns->prefix) == "xml";
      if (is_xml_ns) {
        if (attr_name != "lang" && attr_name != "space") {
          error("attribute 'xml:" + std::string(attr_name) + "' is not allowed in the narrative");
        }
        continue;
      }
      if (attr->ns != nullptr) continue;  // foreign-namespace annotations are ignored, as by the reference validator
      if (attr_name.size() > 2 && (attr_name[0] == 'o' || attr_name[0] == 'O') &&
          (attr_name[1] == 'n' || attr_name[1] == 'N')) {
        error("event attribute '" + std::string(attr_name) + "' is not allowed in the narrative");
        continue;
      }
      if (!contains(kAllowedAttributes, attr_name) && !contains(kAllowedAttributesExtra, attr_name)) {
        error("attribute '" + std::string(attr_name) + "' is not allowed on '" + std::string(name) + "'");
        continue;
      }
      if (attr_name == "href" || attr_name == "src" || attr_name == "cite") {
        xmlChar* value = xmlNodeListGetString(node->doc, attr->children, 1);
        std::string_view v = view(value);
        if (startsWithScheme(v, "javascript:") || startsWithScheme(v, "vbscript:")) {
          error("script URL in attribute '" + std::string(attr_name) + "' is not allowed");
        }
        xmlFree(value);
      }
    }
  }

  std::vector<NarrativeProblem>& problems_;
  bool has_content_ = false;
};

}  // namespace

std::vector<NarrativeProblem> checkNarrativeXhtml(std::string_view div) {
  std::vector<NarrativeProblem> problems;
  size_t start = 0;
  while (start < div.size() && std::isspace(static_cast<unsigned char>(div[start]))) ++start;
  if (div.substr(start, 4) != "<div") {
    problems.push_back({true, "the narrative must be a single <div> element"});
    return problems;
  }
  // A DTD could declare entities (billion laughs) or point at the network; FHIR narratives never carry one.
  if (div.find("<!DOCTYPE") != std::string_view::npos || div.find("<!ENTITY") != std::string_view::npos) {
    problems.push_back({true, "a DTD or entity declaration is not allowed in the narrative"});
    return problems;
  }
  if (div.size() > static_cast<size_t>(INT32_MAX)) {
    problems.push_back({true, "the narrative is too large"});
    return problems;
  }
  initLibxml();
  std::unique_ptr<xmlParserCtxt, CtxtFree> ctxt(xmlNewParserCtxt());
  if (!ctxt) {
    problems.push_back({true, "out of memory while parsing the narrative"});
    return problems;
  }
  constexpr int kOptions = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA;
  std::unique_ptr<xmlDoc, DocFree> doc(xmlCtxtReadMemory(ctxt.get(), div.data(), static_cast<int>(div.size()),
                                                         nullptr, "UTF-8", kOptions));
  if (!doc || ctxt->wellFormed == 0) {
    const xmlError* err = xmlCtxtGetLastError(ctxt.get());
    std::string message = "the narrative is not well-formed XHTML";
    if (err != nullptr && err->message != nullptr) {
      std::string detail(err->message);
      while (!detail.empty() && std::isspace(static_cast<unsigned char>(detail.back()))) detail.pop_back();
      message += ": " + detail;
      if (err->line > 0) message += " (line " + std::to_string(err->line) + ")";
    }
    problems.push_back({true, std::move(message)});
    return problems;
  }
  xmlNode* root = xmlDocGetRootElement(doc.get());
  if (root == nullptr || view(root->name) != "div") {
    problems.push_back({true, "the narrative root must be a <div> element"});
    return problems;
  }
  Walker walker(problems);
  walker.walk(root);
  if (!walker.hasContent()) {
    problems.push_back({true, "the narrative must have some non-whitespace content (txt-2)"});
  }
  return problems;
}

}  // namespace planbro::fhir::validation
