#include "planbro/adapters/plo/mapping_table.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <sstream>

namespace planbro::adapters::plo {
namespace {

// yaml-cpp reports problems by exception; they stop here and become a Status naming the key.
std::string required(const YAML::Node& node, const std::string& key, const std::string& where) {
  const YAML::Node value = node[key];
  if (!value || !value.IsScalar() || value.as<std::string>().empty()) {
    throw std::invalid_argument(where + "." + key + " is missing or not a string");
  }
  return value.as<std::string>();
}

std::string optional(const YAML::Node& node, const std::string& key) {
  const YAML::Node value = node[key];
  return value && value.IsScalar() ? value.as<std::string>() : std::string();
}

DocumentMapping readDocument(const YAML::Node& node, const std::string& family, const std::string& where) {
  if (!node.IsMap()) throw std::invalid_argument(where + " is not a mapping");
  DocumentMapping mapping;
  mapping.ns = required(node, "namespace", where);
  mapping.schema = required(node, "schema", where);
  mapping.family = family.empty() ? required(node, "family", where) : family;
  if (mapping.family != "msghead" && mapping.family != "apprec" && mapping.family != "attachment" &&
      mapping.family != "dialogmelding" && mapping.family != "plo") {
    throw std::invalid_argument(where + ".family '" + mapping.family + "' is not dialogmelding or plo");
  }
  mapping.version = optional(node, "version");
  mapping.name = optional(node, "name");
  mapping.mig_version = optional(node, "mig_version");
  return mapping;
}

void readList(const YAML::Node& root, const std::string& key, const std::string& family, MappingTable& table) {
  const YAML::Node list = root[key];
  if (!list) return;
  if (!list.IsSequence()) throw std::invalid_argument(key + " is not a list");
  for (size_t i = 0; i < list.size(); ++i) {
    table.documents.push_back(readDocument(list[i], family, key + "[" + std::to_string(i) + "]"));
  }
}

std::vector<std::string> readStrings(const YAML::Node& node, const std::string& where) {
  std::vector<std::string> out;
  if (!node) return out;
  if (!node.IsSequence()) throw std::invalid_argument(where + " is not a list");
  for (const YAML::Node& item : node) out.push_back(item.as<std::string>());
  return out;
}

}  // namespace

const DocumentMapping* MappingTable::find(std::string_view ns) const {
  if (ns == msghead.ns) return &msghead;
  for (const DocumentMapping& document : documents) {
    if (document.ns == ns) return &document;
  }
  return nullptr;
}

std::string MappingTable::errorText(std::string_view code) const {
  auto it = apprec_errors.find(code);
  return it != apprec_errors.end() ? it->second : std::string("Annen feil");
}

Result<MappingTable> MappingTable::parse(std::string_view yaml_text) {
  try {
    const YAML::Node root = YAML::Load(std::string(yaml_text));
    if (!root.IsMap()) return invalidArgument("PLO mapping: the document is not a mapping");
    static const char* const kKeys[] = {"msghead", "apprec", "attachments", "documents", "need_for_ip",
                                        "coordinator_roles", "apprec_errors"};
    for (const auto& entry : root) {
      const std::string key = entry.first.as<std::string>();
      if (std::find(std::begin(kKeys), std::end(kKeys), key) == std::end(kKeys)) {
        return invalidArgument("PLO mapping: unknown key '" + key + "'");
      }
    }
    MappingTable table;
    if (!root["msghead"]) return invalidArgument("PLO mapping: msghead is missing");
    table.msghead = readDocument(root["msghead"], "msghead", "msghead");
    readList(root, "apprec", "apprec", table);
    readList(root, "attachments", "attachment", table);
    readList(root, "documents", "", table);
    for (std::string phrase : readStrings(root["need_for_ip"]["phrases"], "need_for_ip.phrases")) {
      std::transform(phrase.begin(), phrase.end(), phrase.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      table.need_for_ip_phrases.push_back(phrase);
    }
    table.coordinator_roles = readStrings(root["coordinator_roles"], "coordinator_roles");
    if (const YAML::Node errors = root["apprec_errors"]) {
      if (!errors.IsMap()) return invalidArgument("PLO mapping: apprec_errors is not a mapping");
      for (const auto& entry : errors) table.apprec_errors[entry.first.as<std::string>()] = entry.second.as<std::string>();
    }
    return table;
  } catch (const std::exception& e) {
    return invalidArgument(std::string("PLO mapping: ") + e.what());
  }
}

Result<MappingTable> MappingTable::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return invalidArgument("PLO mapping: cannot read " + path);
  std::string text;
  text.resize(1u << 20);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (in.peek() != std::char_traits<char>::eof()) return invalidArgument("PLO mapping: " + path + " exceeds 1 MiB");
  return parse(text);
}

}  // namespace planbro::adapters::plo
