#pragma once
// Small read helpers over a libxml2 tree for the PLO codec: children by local name, text, attributes. Names are
// matched by local name within the element's namespace family (PLO mixes default and fk1: prefixes freely).

#include <libxml/tree.h>

#include <string>
#include <string_view>
#include <vector>

namespace planbro::adapters::plo::xml {

inline std::string_view view(const xmlChar* s) {
  return s == nullptr ? std::string_view() : std::string_view(reinterpret_cast<const char*>(s));
}

inline std::string_view name(const xmlNode* node) { return node == nullptr ? std::string_view() : view(node->name); }
inline std::string_view ns(const xmlNode* node) {
  return node == nullptr || node->ns == nullptr ? std::string_view() : view(node->ns->href);
}

/** Element children of `node`. */
inline std::vector<xmlNode*> children(const xmlNode* node) {
  std::vector<xmlNode*> out;
  if (node == nullptr) return out;
  for (xmlNode* child = node->children; child != nullptr; child = child->next) {
    if (child->type == XML_ELEMENT_NODE) out.push_back(child);
  }
  return out;
}

/** The first element child with local name `local`, or nullptr. */
inline xmlNode* child(const xmlNode* node, std::string_view local) {
  if (node == nullptr) return nullptr;
  for (xmlNode* c = node->children; c != nullptr; c = c->next) {
    if (c->type == XML_ELEMENT_NODE && name(c) == local) return c;
  }
  return nullptr;
}

/** Every element child with local name `local`. */
inline std::vector<xmlNode*> all(const xmlNode* node, std::string_view local) {
  std::vector<xmlNode*> out;
  for (xmlNode* c : children(node)) {
    if (name(c) == local) out.push_back(c);
  }
  return out;
}

/** A path of local names ("MsgInfo/Sender/Organisation"). */
inline xmlNode* path(const xmlNode* node, std::initializer_list<std::string_view> names) {
  const xmlNode* current = node;
  for (std::string_view n : names) {
    current = child(current, n);
    if (current == nullptr) return nullptr;
  }
  return const_cast<xmlNode*>(current);
}

/** The concatenated text content of an element (trimmed), empty for nullptr. */
inline std::string text(const xmlNode* node) {
  if (node == nullptr) return {};
  xmlChar* content = xmlNodeGetContent(node);
  std::string out = content != nullptr ? std::string(view(content)) : std::string();
  xmlFree(content);
  const size_t first = out.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return {};
  const size_t last = out.find_last_not_of(" \t\r\n");
  return out.substr(first, last - first + 1);
}

/** An attribute without namespace ("V", "DN", "S"), empty when absent. */
inline std::string attribute(const xmlNode* node, const char* attr) {
  if (node == nullptr) return {};
  xmlChar* value = xmlGetNoNsProp(node, reinterpret_cast<const xmlChar*>(attr));
  std::string out = value != nullptr ? std::string(view(value)) : std::string();
  xmlFree(value);
  return out;
}

}  // namespace planbro::adapters::plo::xml
