#pragma once
// Structural checks on a parsed YAML tree that yaml-cpp does not make itself (internal to planbro_config).

#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

namespace planbro::gateway::config {

/** Bounds on the tree walked by findDuplicateKeys(); a config file is far below both. */
inline constexpr size_t kMaxYamlNodes = 100000;   // aliases can make a 1 MiB file name millions of nodes
inline constexpr size_t kMaxYamlDepth = 64;

/**
 * Appends one message per key that appears twice in the same mapping, at every depth, naming the key path and both
 * lines: `server: must appear once in its mapping (got it again at line 9, first at line 1)`. yaml-cpp keeps every
 * pair but a lookup finds only the first, so a second `server:` block would otherwise be ignored without a word.
 * Also reports a tree deeper than kMaxYamlDepth or larger than kMaxYamlNodes (and stops walking there). Never throws.
 */
void findDuplicateKeys(const YAML::Node& root, std::vector<std::string>& errors);

}  // namespace planbro::gateway::config
