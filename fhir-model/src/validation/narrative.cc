#include "narrative.h"

#include <libxml/SAX2.h>
#include <libxml/parser.h>
#include <libxml/xmlerror.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

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
constexpr std::array<std::string_view, 5> kAllowedAttributesExtra = {"width", "usemap", "nowrap", "target", "label"};

// Every element and attribute of every narrative is looked up: the names are bucketed once by (length, first byte),
// so a lookup compares against zero to two candidates instead of scanning the 50-odd names (that scan cost about a
// twentieth of the whole validation of a small resource; a std::unordered_set cost more than the scan).
class NameTable {
 public:
  template <size_t N, size_t M>
  NameTable(const std::array<std::string_view, N>& list, const std::array<std::string_view, M>& extra) {
    for (std::string_view name : list) add(name);
    for (std::string_view name : extra) add(name);
  }

  bool contains(std::string_view name) const {
    if (name.empty() || name.size() >= kMaxLength) return false;
    for (std::string_view candidate : buckets_[bucket(name)]) {
      size_t i = 1;
      while (i < name.size() && candidate[i] == name[i]) ++i;
      if (i == name.size()) return true;
    }
    return false;
  }

 private:
  static constexpr size_t kMaxLength = 16;
  static size_t bucket(std::string_view name) { return name.size() * 256 + static_cast<unsigned char>(name[0]); }
  void add(std::string_view name) { buckets_[bucket(name)].push_back(name); }

  std::array<std::vector<std::string_view>, kMaxLength * 256> buckets_;
};

bool isAllowedElement(std::string_view name) {
  static const NameTable kTable(kAllowedElements, kAllowedElementsExtra);
  return kTable.contains(name);
}

bool isAllowedAttribute(std::string_view name) {
  static const NameTable kTable(kAllowedAttributes, kAllowedAttributesExtra);
  return kTable.contains(name);
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

// SAX2 callbacks: the narrative is checked while it is parsed, without building a tree.
struct SaxState {
  std::vector<NarrativeProblem>* problems = nullptr;
  bool has_content = false;
  bool root_seen = false;
  std::string parse_error;

  void error(std::string message) { problems->push_back({true, std::move(message)}); }
};

SaxState& state(void* ctx) { return *static_cast<SaxState*>(ctx); }

void checkAttribute(SaxState& st, std::string_view element, const xmlChar* const* attr) {
  std::string_view name = view(attr[0]);
  std::string_view prefix = view(attr[1]);
  std::string_view value(reinterpret_cast<const char*>(attr[3]), static_cast<size_t>(attr[4] - attr[3]));
  if (!prefix.empty()) {
    if (prefix == "xml") {
      if (name != "lang" && name != "space") st.error("attribute 'xml:" + std::string(name) + "' is not allowed in the narrative");
    }
    return;  // foreign-namespace annotations are ignored, as by the reference validator
  }
  if (name.size() > 2 && (name[0] == 'o' || name[0] == 'O') && (name[1] == 'n' || name[1] == 'N')) {
    st.error("event attribute '" + std::string(name) + "' is not allowed in the narrative");
    return;
  }
  if (!isAllowedAttribute(name)) {
    st.error("attribute '" + std::string(name) + "' is not allowed on '" + std::string(element) + "'");
    return;
  }
  if ((name == "href" || name == "src" || name == "cite") &&
      (startsWithScheme(value, "javascript:") || startsWithScheme(value, "vbscript:"))) {
    st.error("script URL in attribute '" + std::string(name) + "' is not allowed");
  }
}

void onStartElement(void* ctx, const xmlChar* localname, const xmlChar* /*prefix*/, const xmlChar* uri,
                    int /*nb_namespaces*/, const xmlChar** /*namespaces*/, int nb_attributes, int /*nb_defaulted*/,
                    const xmlChar** attributes) {
  SaxState& st = state(ctx);
  std::string_view name = view(localname);
  if (!st.root_seen) {
    st.root_seen = true;
    if (name != "div") st.error("the narrative root must be a <div> element");
  }
  if (view(uri) != kXhtmlNs) {
    st.error("element '" + std::string(name) + "' is not in the XHTML namespace");
  } else if (!isAllowedElement(name)) {
    st.error("element '" + std::string(name) + "' is not allowed in the narrative");
  }
  if (name == "img") st.has_content = true;
  for (int i = 0; i < nb_attributes; ++i) checkAttribute(st, name, attributes + static_cast<ptrdiff_t>(i) * 5);
}

void onCharacters(void* ctx, const xmlChar* ch, int len) {
  SaxState& st = state(ctx);
  if (st.has_content) return;
  for (int i = 0; i < len; ++i) {
    if (!std::isspace(ch[i])) {
      st.has_content = true;
      return;
    }
  }
}

void onProcessingInstruction(void* ctx, const xmlChar* /*target*/, const xmlChar* /*data*/) {
  state(ctx).error("processing instructions are not allowed in the narrative");
}

void onStructuredError(void* ctx, xmlErrorPtr err) {
  SaxState& st = state(ctx);
  if (!st.parse_error.empty() || err == nullptr || err->level < XML_ERR_ERROR) return;
  std::string message = err->message != nullptr ? err->message : "parse error";
  while (!message.empty() && std::isspace(static_cast<unsigned char>(message.back()))) message.pop_back();
  if (err->line > 0) message += " (line " + std::to_string(err->line) + ")";
  st.parse_error = std::move(message);
}

// Creating a libxml2 parser context (dictionary, input buffers) costs more than parsing a typical narrative, so each
// thread keeps one push-parser context and resets it per narrative. It is renewed every kContextUses narratives so
// that the names it has interned (from any input) stay bounded.
constexpr int kContextUses = 1000;

struct ContextFree {
  void operator()(xmlParserCtxt* c) const { xmlFreeParserCtxt(c); }
};

xmlSAXHandler makeSaxHandler() {
  xmlSAXHandler sax;
  std::memset(&sax, 0, sizeof(sax));
  sax.initialized = XML_SAX2_MAGIC;
  sax.startElementNs = onStartElement;
  sax.characters = onCharacters;
  sax.cdataBlock = onCharacters;
  sax.processingInstruction = onProcessingInstruction;
  sax.serror = onStructuredError;
  // No getEntity handler and no DTD: an entity other than the five predefined ones is a well-formedness error, and
  // nothing is ever loaded from the network or the file system.
  return sax;
}

// Returns 0 when the narrative is well-formed.
int parseWithThreadContext(std::string_view div, SaxState& st) {
  thread_local std::unique_ptr<xmlParserCtxt, ContextFree> context;
  thread_local int uses = 0;
  if (!context || ++uses > kContextUses) {
    xmlSAXHandler sax = makeSaxHandler();
    context.reset(xmlCreatePushParserCtxt(&sax, nullptr, nullptr, 0, nullptr));
    uses = 0;
    if (!context) return -1;
    xmlCtxtUseOptions(context.get(), XML_PARSE_NONET);
  } else if (xmlCtxtResetPush(context.get(), nullptr, 0, nullptr, "UTF-8") != 0) {
    context.reset();
    return -1;
  }
  xmlParserCtxt* ctxt = context.get();
  ctxt->userData = &st;
  int rc = xmlParseChunk(ctxt, div.data(), static_cast<int>(div.size()), /*terminate=*/1);
  if (ctxt->wellFormed == 0 && rc == 0) rc = -1;
  ctxt->userData = nullptr;
  return rc;
}

// True when the text holds "<!DOCTYPE" or "<!ENTITY": one scan for '<' instead of one per keyword.
bool hasDeclaration(std::string_view div) {
  for (size_t at = div.find('<'); at != std::string_view::npos; at = div.find('<', at + 1)) {
    if (at + 1 < div.size() && div[at + 1] == '!') {
      std::string_view rest = div.substr(at);
      if (rest.starts_with("<!DOCTYPE") || rest.starts_with("<!ENTITY")) return true;
    }
  }
  return false;
}

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
  if (hasDeclaration(div)) {
    problems.push_back({true, "a DTD or entity declaration is not allowed in the narrative"});
    return problems;
  }
  if (div.size() > static_cast<size_t>(INT32_MAX)) {
    problems.push_back({true, "the narrative is too large"});
    return problems;
  }
  initLibxml();
  SaxState st;
  st.problems = &problems;
  int rc = parseWithThreadContext(div, st);
  if (rc != 0 || !st.parse_error.empty()) {
    problems.clear();
    std::string message = "the narrative is not well-formed XHTML";
    if (!st.parse_error.empty()) message += ": " + st.parse_error;
    problems.push_back({true, std::move(message)});
    return problems;
  }
  if (!st.has_content) problems.push_back({true, "the narrative must have some non-whitespace content (txt-2)"});
  return problems;
}

}  // namespace planbro::fhir::validation
