#include "narrative.h"
#include "name_hash.h"

#include <libxml/SAX2.h>
#include <libxml/parser.h>
#include <libxml/xmlerror.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
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

// Every element and attribute of every narrative is looked up: the names sit in a small open-addressing table (2 KiB,
// hashed once), so a lookup costs a hash of a few bytes and usually one comparison (a scan of the 50-odd names cost
// about a twentieth of the validation of a small resource; a std::unordered_set, or 4,096 buckets of vectors, more).
// Element and attribute names are a few bytes: a loop beats a call to memcmp.
bool sameName(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] != b[i]) return false;
  }
  return true;
}

class NameTable {
 public:
  template <size_t N, size_t M>
  NameTable(const std::array<std::string_view, N>& list, const std::array<std::string_view, M>& extra) {
    static_assert(N + M <= kSlots / 2);
    for (std::string_view name : list) add(name);
    for (std::string_view name : extra) add(name);
  }

  bool contains(std::string_view name) const {
    for (size_t at = nameHash(name) & (kSlots - 1); !slots_[at].empty(); at = (at + 1) & (kSlots - 1)) {
      if (sameName(slots_[at], name)) return true;
    }
    return false;
  }

 private:
  static constexpr size_t kSlots = 128;
  void add(std::string_view name) {
    size_t at = nameHash(name) & (kSlots - 1);
    while (!slots_[at].empty()) at = (at + 1) & (kSlots - 1);
    slots_[at] = name;
  }

  std::array<std::string_view, kSlots> slots_{};
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

// The fast path. FHIR narratives are nearly always plain: ASCII-named elements and attributes from the allowed lists,
// quoted attribute values, the five predefined entities and character references, UTF-8 text. Deciding those by one
// pass over the bytes costs a small fraction of a libxml2 parse (which, with its context reset, cost as much as the
// JSON parse of a small resource). The scanner only ever says "acceptable": any construct outside its small grammar,
// and anything the rules would report, makes it give up, and libxml2 then decides and words the problem, so the
// outcome is the same by construction (tests/fhir-model/validation/narrative_scanner_test.cc and the fuzz target
// compare the two).
class PlainXhtmlScanner {
 public:
  explicit PlainXhtmlScanner(std::string_view div) : p_(div.data()), end_(div.data() + div.size()) {}

  bool accepts() {
    if (p_ == end_ || *p_ != '<') return false;
    while (p_ < end_) {
      const char c = *p_;
      if (c == '<') {
        if (!markup()) return false;
        if (root_closed_) return trailingSpaceOnly() && has_content_;
      } else if (c == '&') {
        if (!reference(/*in_attribute=*/false)) return false;
      } else if (!text()) {
        return false;
      }
    }
    return false;  // the root was never closed
  }

 private:
  static constexpr size_t kMaxDepth = 64;
  static constexpr size_t kMaxAttributes = 16;

  static bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
  static bool isLetter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
  static bool isNameChar(char c) { return isLetter(c) || (c >= '0' && c <= '9'); }

  bool skipSpace() {
    const char* start = p_;
    while (p_ < end_ && isSpace(*p_)) ++p_;
    return p_ != start;
  }

  bool trailingSpaceOnly() {
    skipSpace();
    return p_ == end_;
  }

  std::string_view name() {
    const char* start = p_;
    if (p_ < end_ && isLetter(*p_)) {
      ++p_;
      while (p_ < end_ && isNameChar(*p_)) ++p_;
    }
    return {start, static_cast<size_t>(p_ - start)};
  }

  // A run of character data up to the next markup. Non-ASCII must be well-formed UTF-8 of an XML Char; C0 controls
  // other than tab, LF and CR are not XML; "]]>" is not allowed in content.
  bool text() {
    while (p_ < end_) {
      if (has_content_) {
        skipPlainText();
        if (p_ == end_) break;
      }
      const auto c = static_cast<unsigned char>(*p_);
      if (c == '<' || c == '&') return true;
      if (c < 0x80) {
        if (c < 0x20) {
          if (!isSpace(static_cast<char>(c))) return false;
        } else if (c != ' ') {
          if (c == ']' && end_ - p_ >= 3 && p_[1] == ']' && p_[2] == '>') return false;
          has_content_ = true;
        }
        ++p_;
        continue;
      }
      const size_t n = utf8Length();
      if (n == 0) return false;
      has_content_ = true;
      p_ += n;
    }
    return true;
  }


  // Skips, 16 bytes at a time, printable ASCII other than '<', '&' and ']' plus tab, LF and CR: once the narrative is
  // known to have content, such bytes need no other look.
  void skipPlainText() {
#if defined(__SSE2__)
    const __m128i lt = _mm_set1_epi8('<');
    const __m128i amp = _mm_set1_epi8('&');
    const __m128i bracket = _mm_set1_epi8(']');
    const __m128i below_space = _mm_set1_epi8(0x1F);
    const __m128i tab = _mm_set1_epi8('\t');
    const __m128i lf = _mm_set1_epi8('\n');
    const __m128i cr = _mm_set1_epi8('\r');
    while (end_ - p_ >= 16) {
      const __m128i s = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p_));
      const __m128i markup = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(s, lt), _mm_cmpeq_epi8(s, amp)),
                                          _mm_cmpeq_epi8(s, bracket));
      const __m128i space_control = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(s, tab), _mm_cmpeq_epi8(s, lf)),
                                                 _mm_cmpeq_epi8(s, cr));
      const __m128i control = _mm_andnot_si128(space_control, _mm_cmpeq_epi8(_mm_min_epu8(s, below_space), s));
      // The sign bit marks non-ASCII bytes.
      const unsigned mask = static_cast<unsigned>(_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(markup, control), s)));
      if (mask != 0) {
        p_ += __builtin_ctz(mask);
        return;
      }
      p_ += 16;
    }
#endif
  }

  // The length of the well-formed UTF-8 sequence at p_ that encodes an XML Char outside C1 (which is legal XML but
  // left to libxml2), or 0.
  size_t utf8Length() const {
    const auto* s = reinterpret_cast<const unsigned char*>(p_);
    const size_t left = static_cast<size_t>(end_ - p_);
    const unsigned char b0 = s[0];
    auto cont = [&](size_t i) { return i < left && (s[i] & 0xC0) == 0x80; };
    if (b0 >= 0xC2 && b0 <= 0xDF) {
      if (!cont(1)) return 0;
      return (b0 == 0xC2 && s[1] < 0xA0) ? 0 : 2;
    }
    if (b0 >= 0xE0 && b0 <= 0xEF) {
      if (!cont(1) || !cont(2)) return 0;
      if (b0 == 0xE0 && s[1] < 0xA0) return 0;   // overlong
      if (b0 == 0xED && s[1] >= 0xA0) return 0;  // surrogates
      if (b0 == 0xEF && s[1] == 0xBF && (s[2] == 0xBE || s[2] == 0xBF)) return 0;  // U+FFFE, U+FFFF
      return 3;
    }
    if (b0 >= 0xF0 && b0 <= 0xF4) {
      if (!cont(1) || !cont(2) || !cont(3)) return 0;
      if (b0 == 0xF0 && s[1] < 0x90) return 0;  // overlong
      if (b0 == 0xF4 && s[1] >= 0x90) return 0;  // above U+10FFFF
      return 4;
    }
    return 0;
  }

  // An entity or character reference at p_ ('&'): the five predefined entities, or a character reference to an
  // XML Char (C0/C1 controls other than tab, LF and CR left to libxml2).
  bool reference(bool in_attribute) {
    ++p_;
    const char* start = p_;
    while (p_ < end_ && *p_ != ';' && p_ - start < 10) ++p_;
    if (p_ == end_ || *p_ != ';') return false;
    const std::string_view ref(start, static_cast<size_t>(p_ - start));
    ++p_;
    if (ref == "amp" || ref == "lt" || ref == "gt" || ref == "quot" || ref == "apos") {
      if (!in_attribute) has_content_ = true;
      return true;
    }
    if (ref.size() < 2 || ref[0] != '#') return false;
    uint32_t value = 0;
    size_t i = 1;
    const bool hex = ref[1] == 'x';
    if (hex) ++i;
    if (i == ref.size() || ref.size() - i > 7) return false;
    for (; i < ref.size(); ++i) {
      const char d = ref[i];
      uint32_t digit;
      if (d >= '0' && d <= '9') {
        digit = static_cast<uint32_t>(d - '0');
      } else if (hex && d >= 'a' && d <= 'f') {
        digit = static_cast<uint32_t>(d - 'a' + 10);
      } else if (hex && d >= 'A' && d <= 'F') {
        digit = static_cast<uint32_t>(d - 'A' + 10);
      } else {
        return false;
      }
      value = value * (hex ? 16 : 10) + digit;
    }
    const bool whitespace = value == 0x9 || value == 0xA || value == 0xD || value == 0x20;
    const bool plain = (value > 0x20 && value < 0x7F) || (value >= 0xA0 && value <= 0xD7FF) ||
                       (value >= 0xE000 && value <= 0xFFFD) || (value >= 0x10000 && value <= 0x10FFFF);
    if (!whitespace && !plain) return false;
    if (!in_attribute && plain) has_content_ = true;
    return true;
  }

  // Markup at p_ ('<'): a start tag, an empty-element tag or an end tag. Comments, CDATA, PIs and DTDs give up.
  bool markup() {
    ++p_;
    if (p_ < end_ && *p_ == '/') {
      ++p_;
      const std::string_view closing = name();
      skipSpace();
      if (p_ == end_ || *p_ != '>' || depth_ == 0 || !sameName(closing, open_[depth_ - 1])) return false;
      ++p_;
      if (--depth_ == 0) root_closed_ = true;
      return true;
    }
    const std::string_view element = name();
    if (element.empty() || !isAllowedElement(element)) return false;
    const bool is_root = depth_ == 0;
    if (is_root && element != "div") return false;
    if (element == "img") has_content_ = true;
    // Left uninitialised (only the first `attributes` are read): clearing it per tag cost a quarter of the scan.
    struct Seen {
      const char* data;
      size_t size;
    };
    Seen seen[kMaxAttributes];  // NOLINT
    size_t attributes = 0;
    bool declares_xhtml = false;
    for (;;) {
      const bool spaced = skipSpace();
      if (p_ == end_) return false;
      if (*p_ == '>' || *p_ == '/') {
        const bool empty = *p_ == '/';
        if (empty && (end_ - p_ < 2 || p_[1] != '>')) return false;
        p_ += empty ? 2 : 1;
        if (is_root && !declares_xhtml) return false;
        if (empty) {
          if (is_root) root_closed_ = true;
        } else {
          if (depth_ == kMaxDepth) return false;
          open_[depth_++] = element;
        }
        return true;
      }
      if (!spaced) return false;
      std::string_view attribute = name();
      if (attribute.empty() || attributes == kMaxAttributes) return false;
      // xml:lang is the one prefixed attribute real narratives carry (the xml prefix needs no declaration).
      bool is_xml_lang = false;
      if (p_ < end_ && *p_ == ':') {
        if (attribute != "xml") return false;
        ++p_;
        if (name() != "lang") return false;
        attribute = std::string_view(attribute.data(), static_cast<size_t>(p_ - attribute.data()));
        is_xml_lang = true;
      }
      for (size_t i = 0; i < attributes; ++i) {
        if (sameName(std::string_view(seen[i].data, seen[i].size), attribute)) return false;
      }
      seen[attributes++] = Seen{attribute.data(), attribute.size()};
      skipSpace();
      if (p_ == end_ || *p_ != '=') return false;
      ++p_;
      skipSpace();
      if (p_ == end_ || (*p_ != '"' && *p_ != '\'')) return false;
      const char quote = *p_++;
      const char* value_start = p_;
      const char* first_ampersand = nullptr;
      while (p_ < end_ && *p_ != quote) {
        const auto c = static_cast<unsigned char>(*p_);
        if (c == '<') return false;
        if (c == '&') {
          if (first_ampersand == nullptr) first_ampersand = p_;
          if (!reference(/*in_attribute=*/true)) return false;
        } else if (c < 0x80) {
          if (c < 0x20 && !isSpace(static_cast<char>(c))) return false;
          ++p_;
        } else {
          const size_t n = utf8Length();
          if (n == 0) return false;
          p_ += n;
        }
      }
      if (p_ == end_) return false;
      const std::string_view value(value_start, static_cast<size_t>(p_ - value_start));
      ++p_;
      if (attribute == "xmlns") {
        if (value != kXhtmlNs) return false;
        declares_xhtml = true;
        continue;
      }
      if (!is_xml_lang && !attributeIsPlainlyAllowed(attribute, value, first_ampersand)) return false;
    }
  }

  // True when checkAttribute would report nothing for this attribute. A reference can only hide a script scheme
  // when it stands inside the part of a link the scheme check reads; there the scanner gives up.
  static bool attributeIsPlainlyAllowed(std::string_view attribute, std::string_view value, const char* ampersand) {
    if (attribute.size() > 2 && (attribute[0] == 'o' || attribute[0] == 'O') &&
        (attribute[1] == 'n' || attribute[1] == 'N')) {
      return false;
    }
    if (!isAllowedAttribute(attribute)) return false;
    if (attribute == "href" || attribute == "src" || attribute == "cite") {
      size_t i = 0;
      while (i < value.size() && isSpace(value[i])) ++i;
      constexpr size_t kLongestScheme = 11;  // "javascript:"
      if (ampersand != nullptr && static_cast<size_t>(ampersand - value.data()) < i + kLongestScheme) return false;
      if (startsWithScheme(value, "javascript:") || startsWithScheme(value, "vbscript:")) return false;
    }
    return true;
  }

  const char* p_;
  const char* end_;
  std::array<std::string_view, kMaxDepth> open_;
  size_t depth_ = 0;
  bool root_closed_ = false;
  bool has_content_ = false;
};

}  // namespace

bool isPlainAcceptableXhtml(std::string_view div) {
  if (div.size() > kMaxPlainScanBytes) return false;
  return PlainXhtmlScanner(div).accepts();
}

std::vector<NarrativeProblem> checkNarrativeXhtml(std::string_view div) {
  if (isPlainAcceptableXhtml(div)) return {};
  return checkNarrativeXhtmlWithLibxml2(div);
}

std::vector<NarrativeProblem> checkNarrativeXhtmlWithLibxml2(std::string_view div) {
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
