#include "yaml_structure.h"

#include <unordered_map>

namespace planbro::gateway::config {
namespace {

// yaml-cpp marks are 0-based; a node built without a source position has line -1.
std::string lineOf(const YAML::Mark& mark) { return mark.line >= 0 ? std::to_string(mark.line + 1) : "?"; }

// "line 9", or "line 3, column 20" when both keys are on one line (flow style: `{a: 1, a: 2}`).
std::string positionOf(const YAML::Mark& mark, bool with_column) {
  std::string s = "line " + lineOf(mark);
  if (with_column && mark.column >= 0) s += ", column " + std::to_string(mark.column + 1);
  return s;
}

std::string child(const std::string& path, const std::string& key) { return path.empty() ? key : path + "." + key; }

class DuplicateFinder {
 public:
  explicit DuplicateFinder(std::vector<std::string>& errors) : errors_(errors) {}

  void walk(const YAML::Node& node, const std::string& path, size_t depth) {
    if (stopped_) return;
    if (++visited_ > kMaxYamlNodes) {
      stop("(top level): must have at most " + std::to_string(kMaxYamlNodes) +
           " nodes (got more; are YAML aliases repeating a large node?)");
      return;
    }
    if (depth > kMaxYamlDepth) {
      stop((path.empty() ? "(top level)" : path) + ": must be nested at most " + std::to_string(kMaxYamlDepth) +
           " levels deep (got deeper)");
      return;
    }
    if (node.IsMap()) {
      std::unordered_map<std::string, YAML::Mark> first_seen;
      for (const auto& kv : node) {
        // Only scalar keys are part of the schema; the schema reader rejects the others as unknown keys.
        std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "?";
        if (kv.first.IsScalar()) {
          const YAML::Mark mark = kv.first.Mark();
          auto [it, inserted] = first_seen.emplace(key, mark);
          if (!inserted) {
            const bool same_line = it->second.line == mark.line;
            errors_.push_back(child(path, key) + ": must appear once in its mapping (got it again at " +
                              positionOf(mark, same_line) + ", first at " + positionOf(it->second, same_line) + ")");
          }
        }
        walk(kv.second, child(path, key), depth + 1);
      }
    } else if (node.IsSequence()) {
      size_t index = 0;
      for (const auto& item : node) walk(item, path + "[" + std::to_string(index++) + "]", depth + 1);
    }
  }

 private:
  void stop(std::string message) {
    errors_.push_back(std::move(message));
    stopped_ = true;
  }

  std::vector<std::string>& errors_;
  size_t visited_ = 0;
  bool stopped_ = false;
};

}  // namespace

void findDuplicateKeys(const YAML::Node& root, std::vector<std::string>& errors) {
  DuplicateFinder(errors).walk(root, "", 0);
}

}  // namespace planbro::gateway::config
