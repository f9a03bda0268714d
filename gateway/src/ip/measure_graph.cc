// The measure-status graph is data of the IP package (CodeSystem ip-measure-status, property `next`), read at start
// so that a change of the allowed transitions is a change of the FSH source only.
#include <algorithm>
#include <fstream>
#include <sstream>

#include "ip_resource.h"
#include "planbro/gateway/ip/ip_rules.h"

namespace planbro::gateway::ip {

using fhir::JsonValue;
using internal::textOf;

Result<MeasureStatusGraph> MeasureStatusGraph::fromCodeSystem(const JsonValue& code_system) {
  if (!code_system.isObject() || textOf(code_system.find("resourceType")) != "CodeSystem") {
    return invalidArgument("the measure-status graph must come from a CodeSystem");
  }
  const JsonValue* concepts = code_system.find("concept");
  if (!concepts || !concepts->isArray() || concepts->size() == 0) {
    return invalidArgument("CodeSystem ip-measure-status has no concept");
  }
  MeasureStatusGraph graph;
  for (const JsonValue& entry : concepts->items()) {
    std::string code(textOf(entry.find("code")));
    if (code.empty()) return invalidArgument("CodeSystem ip-measure-status has a concept without a code");
    std::vector<std::string>& next = graph.next_[code];
    if (const JsonValue* properties = entry.find("property"); properties && properties->isArray()) {
      for (const JsonValue& p : properties->items()) {
        if (textOf(p.find("code")) == "next") next.emplace_back(textOf(p.find("valueCode")));
      }
    }
  }
  for (const auto& [from, targets] : graph.next_) {
    for (const std::string& to : targets) {
      if (!graph.known(to)) {
        return invalidArgument("CodeSystem ip-measure-status: '" + from + "' moves to unknown status '" + to + "'");
      }
    }
  }
  return graph;
}

Result<MeasureStatusGraph> MeasureStatusGraph::fromPackageDir(const std::string& package_dir) {
  const std::string path = package_dir + "/CodeSystem-ip-measure-status.json";
  std::ifstream in(path, std::ios::binary);
  if (!in) return notFound("no measure-status CodeSystem at " + path);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  auto doc = fhir::JsonDocument::parse(bytes.str());
  if (!doc.isOk()) return invalidArgument(path + ": " + doc.status().message());
  return fromCodeSystem(doc->root());
}

bool MeasureStatusGraph::allowed(std::string_view from, std::string_view to) const {
  if (from == to) return true;
  auto it = next_.find(std::string(from));
  if (it == next_.end()) return false;
  return std::find(it->second.begin(), it->second.end(), to) != it->second.end();
}

std::string MeasureStatusGraph::nextOf(std::string_view from) const {
  auto it = next_.find(std::string(from));
  std::string out;
  if (it == next_.end()) return out;
  for (const std::string& to : it->second) out += (out.empty() ? "" : ", ") + to;
  return out;
}

}  // namespace planbro::gateway::ip
