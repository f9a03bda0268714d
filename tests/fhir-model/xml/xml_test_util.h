#pragma once
// Helpers shared by the FHIR XML converter tests: reading the official examples under ../shared, and comparing
// JSON trees where Narrative.div counts as equal when its XHTML is the same XML (XML cannot keep, e.g., whether a
// quote in text was written `"` or `&quot;`).

#include <libxml/c14n.h>
#include <libxml/parser.h>

#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include "planbro/fhir-model/json.h"

namespace planbro::fhir::testing {

inline std::string sharedPath(const std::string& relative) { return std::string(PLANBRO_SHARED_DIR) + "/" + relative; }

/** The whole file, or an empty string when it cannot be read (tests assert on non-empty). */
inline std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

/** Canonical XML (C14N 1.0 with comments) of `xml`, or nullopt when it does not parse. */
inline std::optional<std::string> canonicalXml(std::string_view xml) {
  xmlDocPtr doc = xmlReadMemory(xml.data(), static_cast<int>(xml.size()), nullptr, "UTF-8",
                                XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
  if (doc == nullptr) return std::nullopt;
  xmlChar* text = nullptr;
  const int size = xmlC14NDocDumpMemory(doc, nullptr, XML_C14N_1_0, nullptr, 1, &text);
  std::optional<std::string> out;
  if (size >= 0 && text != nullptr) out.emplace(reinterpret_cast<const char*>(text), static_cast<size_t>(size));
  xmlFree(text);
  xmlFreeDoc(doc);
  return out;
}

/** jsonEqual, except that members named "div" compare by canonical XML. */
inline bool fhirJsonEqual(const JsonValue& a, const JsonValue& b, bool is_div = false) {
  if (is_div && a.isString() && b.isString()) {
    if (a.text() == b.text()) return true;
    const std::optional<std::string> ca = canonicalXml(a.text());
    const std::optional<std::string> cb = canonicalXml(b.text());
    return ca && cb && *ca == *cb;
  }
  if (a.kind() != b.kind()) return false;
  if (a.isArray()) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.items().size(); ++i) {
      if (!fhirJsonEqual(a.items()[i], b.items()[i])) return false;
    }
    return true;
  }
  if (a.isObject()) {
    if (a.size() != b.size()) return false;
    for (const JsonMember& member : a.members()) {
      const JsonValue* other = b.find(member.key);
      if (other == nullptr || !fhirJsonEqual(member.value, *other, member.key == "div")) return false;
    }
    return true;
  }
  return jsonEqual(a, b);
}

}  // namespace planbro::fhir::testing
