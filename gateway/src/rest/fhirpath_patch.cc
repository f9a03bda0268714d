// Every operation ends as one edit of the tree: replace or remove the value at one address (a node the path
// selected, or the object holding the list an insert or move works on). The tree is immutable, so an edit
// rebuilds the objects and arrays from the root down to that address and shares every other subtree.
#include "planbro/gateway/rest/fhirpath_patch.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <optional>
#include <string>
#include <vector>

#include "planbro/fhir-model/fhirpath.h"
#include "planbro/fhir-model/model_info.h"
#include "planbro/gateway/rest/tree_meter.h"

namespace planbro::gateway::rest {
namespace {

using fhir::JsonDocument;
using fhir::JsonMember;
using fhir::JsonValue;
namespace fp = fhir::fhirpath;

Status unprocessable(std::string m) { return {StatusCode::kUnprocessable, std::move(m)}; }

struct Operation {
  std::string where;  // "Parameters.parameter[i]", for messages
  std::string type;
  std::string path;
  std::string name;
  std::optional<JsonValue> value;
  std::string value_type;  // "Boolean" for valueBoolean: picks the JSON name of a choice element
  std::optional<int64_t> index, source, destination;
};

std::string_view textOf(const JsonValue* v) { return v && v->isString() ? v->text() : std::string_view(); }

// The value of a part: its value[x] member, or an object made of its own parts (name → value, repeated names
// become lists).
Result<JsonValue> partValue(JsonDocument& doc, const JsonValue& part, const std::string& where, std::string* type,
                            int depth = 0) {
  if (depth > 32) return invalidArgument(where + ": value parts nested too deep");
  for (const JsonMember& m : part.members()) {
    if (m.key.size() > 5 && m.key.starts_with("value")) {
      if (type) *type = std::string(m.key.substr(5));
      return doc.import(m.value);
    }
  }
  const JsonValue* parts = part.find("part");
  if (!parts || !parts->isArray()) return invalidArgument(where + ": the value has neither value[x] nor parts");
  std::vector<JsonMember> members;
  for (const JsonValue& sub : parts->items()) {
    std::string_view name = textOf(sub.find("name"));
    if (name.empty()) return invalidArgument(where + ": a value part without a name");
    ASSIGN_OR_RETURN(JsonValue v, partValue(doc, sub, where, nullptr, depth + 1));
    auto same = std::find_if(members.begin(), members.end(), [&](const JsonMember& m) { return m.key == name; });
    if (same == members.end()) {
      members.push_back({name, v});
    } else {
      std::vector<JsonValue> list;
      if (same->value.isArray()) {
        list.assign(same->value.items().begin(), same->value.items().end());
      } else {
        list.push_back(same->value);
      }
      list.push_back(v);
      same->value = doc.makeArray(list);
    }
  }
  return doc.makeObject(members);
}

Result<std::vector<Operation>> readOperations(JsonDocument& doc, const JsonValue& parameters) {
  if (textOf(parameters.find("resourceType")) != "Parameters") {
    return invalidArgument("a FHIRPath Patch is a Parameters resource");
  }
  const JsonValue* list = parameters.find("parameter");
  if (!list || !list->isArray()) return invalidArgument("the Parameters of a FHIRPath Patch have no operation");
  std::vector<Operation> ops;
  for (size_t i = 0; i < list->size(); ++i) {
    const JsonValue& p = list->items()[i];
    Operation op;
    op.where = "Parameters.parameter[" + std::to_string(i) + "]";
    if (textOf(p.find("name")) != "operation") return invalidArgument(op.where + ": name must be 'operation'");
    const JsonValue* parts = p.find("part");
    if (!parts || !parts->isArray()) return invalidArgument(op.where + ": an operation needs parts");
    for (const JsonValue& part : parts->items()) {
      std::string_view name = textOf(part.find("name"));
      auto integer = [&](std::optional<int64_t>& out) -> Status {
        const JsonValue* v = part.find("valueInteger");
        if (!v || !v->isNumber()) return invalidArgument(op.where + ": '" + std::string(name) + "' needs valueInteger");
        int64_t n = 0;
        std::string_view t = v->text();
        auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), n);
        if (ec != std::errc() || end != t.data() + t.size() || n < 0) {
          return invalidArgument(op.where + ": '" + std::string(name) + "' must be a non-negative integer");
        }
        out = n;
        return Status::ok();
      };
      if (name == "type") {
        op.type = textOf(part.find("valueCode"));
      } else if (name == "path") {
        op.path = textOf(part.find("valueString"));
      } else if (name == "name") {
        op.name = textOf(part.find("valueString"));
      } else if (name == "value") {
        ASSIGN_OR_RETURN(JsonValue v, partValue(doc, part, op.where, &op.value_type));
        op.value = v;
      } else if (name == "index") {
        RETURN_IF_ERROR(integer(op.index));
      } else if (name == "source") {
        RETURN_IF_ERROR(integer(op.source));
      } else if (name == "destination") {
        RETURN_IF_ERROR(integer(op.destination));
      } else {
        return invalidArgument(op.where + ": unknown part '" + std::string(name) + "'");
      }
    }
    if (op.path.empty()) return invalidArgument(op.where + ": path is missing");
    const bool needs_value = op.type == "add" || op.type == "insert" || op.type == "replace";
    if (op.type != "add" && op.type != "insert" && op.type != "delete" && op.type != "replace" && op.type != "move") {
      return invalidArgument(op.where + ": type must be add, insert, delete, replace or move (got '" + op.type + "')");
    }
    if (needs_value && !op.value) return invalidArgument(op.where + ": " + op.type + " needs a value");
    if (op.type == "add" && op.name.empty()) return invalidArgument(op.where + ": add needs a name");
    if (op.type == "insert" && !op.index) return invalidArgument(op.where + ": insert needs an index");
    if (op.type == "move" && (!op.source || !op.destination)) {
      return invalidArgument(op.where + ": move needs source and destination");
    }
    ops.push_back(std::move(op));
  }
  return ops;
}

// One step on the way from the root down to the edited address: a container and the index of the child taken.
struct Step {
  const JsonValue* node;
  uint32_t index;
};

const JsonValue& childAt(const JsonValue& v, uint32_t i) { return v.isArray() ? v.items()[i] : v.members()[i].value; }

// The steps from `root` to the value at address `target` (empty when it is the root); false when it is not in the
// tree. A depth-first search with an explicit stack: the depth of the tree is the client's to choose.
bool findPath(const JsonValue& root, const JsonValue* target, std::vector<Step>& path) {
  path.clear();
  if (&root == target) return true;
  path.push_back({&root, 0});
  while (!path.empty()) {
    Step& top = path.back();
    if (top.index >= top.node->size()) {
      path.pop_back();
      if (!path.empty()) ++path.back().index;
      continue;
    }
    const JsonValue& child = childAt(*top.node, top.index);
    if (&child == target) return true;
    if (child.size() > 0) {
      path.push_back({&child, 0});
    } else {
      ++top.index;
    }
  }
  return false;
}

// Rebuilds `root` with the value at address `target` replaced by `replacement`, or removed when it is unset, sharing
// every subtree off the path. Removing an object member also removes its `_name` twin; removing a list item removes
// the same item of the twin list, and the member itself when the list becomes empty.
Result<JsonValue> edit(JsonDocument& doc, const JsonValue& root, const JsonValue* target,
                       const std::optional<JsonValue>& replacement, const std::string& where) {
  std::vector<Step> path;
  if (!findPath(root, target, path)) return internalError(where + ": the selected element is not in the resource");
  if (path.empty()) {
    if (!replacement) return unprocessable(where + ": cannot remove the resource itself");
    return *replacement;
  }
  JsonValue out;
  bool removed = !replacement;  // the value below the current step is gone
  if (replacement) out = *replacement;
  for (size_t step = path.size(); step-- > 0;) {
    const JsonValue& v = *path[step].node;
    const uint32_t i = path[step].index;
    if (v.isArray()) {
      std::vector<JsonValue> copy(v.items().begin(), v.items().end());
      if (removed) {
        copy.erase(copy.begin() + static_cast<std::ptrdiff_t>(i));
        if (copy.empty()) continue;  // FHIR JSON has no empty lists: the list goes too
      } else {
        copy[i] = out;
      }
      out = doc.makeArray(copy);
      removed = false;
      continue;
    }
    auto members = v.members();
    std::string twin = "_" + std::string(members[i].key);
    // Which list item went, to drop the same one from the twin list.
    std::optional<size_t> removed_item;
    if (!replacement && members[i].value.isArray()) {
      auto items = members[i].value.items();
      for (size_t j = 0; j < items.size(); ++j) {
        if (&items[j] == target) removed_item = j;
      }
    }
    std::vector<JsonMember> copy;
    for (size_t k = 0; k < members.size(); ++k) {
      const JsonMember& m = members[k];
      if (k == i) {
        if (!removed) copy.push_back({m.key, out});
        continue;
      }
      if (m.key == twin && !replacement) {
        if (removed) continue;  // the element went: its twin goes too
        if (removed_item && m.value.isArray() && *removed_item < m.value.size()) {
          std::vector<JsonValue> twin_items(m.value.items().begin(), m.value.items().end());
          twin_items.erase(twin_items.begin() + static_cast<std::ptrdiff_t>(*removed_item));
          bool all_null = std::all_of(twin_items.begin(), twin_items.end(), [](const JsonValue& t) { return t.isNull(); });
          if (!all_null) copy.push_back({m.key, doc.makeArray(twin_items)});
          continue;
        }
      }
      copy.push_back(m);
    }
    out = doc.makeObject(copy);
    removed = false;
  }
  if (removed) return unprocessable(where + ": cannot remove the resource itself");
  return out;
}

// The element definitions a node's children are matched against.
std::span<const fhir::ElementDef* const> childDefinitions(const fp::Node& node) {
  const fhir::ModelInfo& model = fhir::ModelInfo::r4();
  if (node.element) return model.childrenOf(*node.element, node.type);
  const fhir::TypeDef* type = model.type(node.type);
  return type ? type->rootChildren() : std::span<const fhir::ElementDef* const>();
}

Result<fp::Collection> select(const std::string& path, const JsonValue& root, const std::string& where) {
  auto expr = fp::compile(path);
  if (!expr.isOk()) return invalidArgument(where + ": path '" + path + "': " + expr.status().message());
  auto result = fp::evaluate(**expr, root);
  if (!result.isOk()) return unprocessable(where + ": path '" + path + "': " + result.status().message());
  for (const fp::Value& v : *result) {
    if (!v.isNode() || !v.asNode().json) return unprocessable(where + ": path '" + path + "' selects a value that is not an element of the resource");
  }
  return result;
}

Result<const fp::Node*> exactlyOne(const fp::Collection& c, const Operation& op) {
  if (c.size() != 1) {
    return unprocessable(op.where + ": " + op.type + " needs the path to select exactly one element ('" + op.path +
                         "' selects " + std::to_string(c.size()) + ")");
  }
  return &c.front().asNode();
}

// insert and move work on a list: the path's last step names it, the rest selects the one object holding it.
struct ListTarget {
  const JsonValue* holder = nullptr;
  std::string name;
  std::vector<JsonValue> items;
};

Result<ListTarget> listAt(const Operation& op, const JsonValue& root) {
  size_t dot = op.path.rfind('.');
  if (dot == std::string::npos || dot + 1 >= op.path.size()) {
    return invalidArgument(op.where + ": the path of " + op.type + " must end in the name of a list ('Patient.identifier')");
  }
  ListTarget t;
  t.name = op.path.substr(dot + 1);
  for (char c : t.name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') {
      return invalidArgument(op.where + ": the path of " + op.type + " must end in the name of a list ('Patient.identifier')");
    }
  }
  ASSIGN_OR_RETURN(fp::Collection holders, select(op.path.substr(0, dot), root, op.where));
  ASSIGN_OR_RETURN(const fp::Node* holder, exactlyOne(holders, op));
  if (!holder->json->isObject()) return unprocessable(op.where + ": '" + op.path.substr(0, dot) + "' is not an element with children");
  t.holder = holder->json;
  if (const JsonValue* list = holder->json->find(t.name)) {
    if (!list->isArray()) return unprocessable(op.where + ": '" + t.name + "' is not a list");
    t.items.assign(list->items().begin(), list->items().end());
  }
  return t;
}

Result<JsonValue> apply(JsonDocument& doc, const JsonValue& root, const Operation& op) {
  if (op.type == "insert" || op.type == "move") {
    ASSIGN_OR_RETURN(ListTarget t, listAt(op, root));
    if (t.holder->find("_" + t.name)) return unprocessable(op.where + ": lists of primitives with extensions cannot be reordered");
    if (op.type == "insert") {
      if (*op.index > static_cast<int64_t>(t.items.size())) {
        return unprocessable(op.where + ": index " + std::to_string(*op.index) + " is past the end of '" + t.name +
                             "' (" + std::to_string(t.items.size()) + " items)");
      }
      t.items.insert(t.items.begin() + *op.index, *op.value);
    } else {
      const auto n = static_cast<int64_t>(t.items.size());
      if (*op.source >= n || *op.destination >= n) {
        return unprocessable(op.where + ": source and destination must be below " + std::to_string(n));
      }
      JsonValue moved = t.items[static_cast<size_t>(*op.source)];
      t.items.erase(t.items.begin() + *op.source);
      t.items.insert(t.items.begin() + *op.destination, moved);
    }
    JsonValue holder = doc.withMember(*t.holder, t.name, doc.makeArray(t.items));
    return edit(doc, root, t.holder, holder, op.where);
  }
  ASSIGN_OR_RETURN(fp::Collection selected, select(op.path, root, op.where));
  if (op.type == "delete") {
    if (selected.empty()) return root;  // nothing to delete is not an error (fhirpatch.html)
    ASSIGN_OR_RETURN(const fp::Node* node, exactlyOne(selected, op));
    return edit(doc, root, node->json, std::nullopt, op.where);
  }
  ASSIGN_OR_RETURN(const fp::Node* node, exactlyOne(selected, op));
  if (op.type == "replace") return edit(doc, root, node->json, *op.value, op.where);
  // add: a new element `name` on the selected object; appended when the element repeats.
  if (!node->json->isObject()) return unprocessable(op.where + ": '" + op.path + "' is not an element with children");
  const fhir::ModelInfo& model = fhir::ModelInfo::r4();
  auto children = childDefinitions(*node);
  const fhir::ElementDef* def = nullptr;
  if (auto match = model.matchChild(children, op.name)) def = match->element;
  for (const fhir::ElementDef* c : children) {
    if (!def && c->is_choice && c->name == op.name) def = c;  // "deceased": the value's type picks the JSON name
  }
  std::string key = op.name;
  bool repeats = false;
  if (def) {
    repeats = def->isArray();
    if (def->is_choice && def->name == op.name) {
      if (op.value_type.empty()) return invalidArgument(op.where + ": a choice element needs a typed value[x]");
      key = op.name + op.value_type;
    }
  } else if (!node->type.empty()) {
    return unprocessable(op.where + ": " + std::string(node->type) + " has no element '" + op.name + "'");
  }
  const JsonValue* existing = node->json->find(key);
  JsonValue added = *op.value;
  if (repeats) {
    std::vector<JsonValue> items;
    if (existing && existing->isArray()) items.assign(existing->items().begin(), existing->items().end());
    items.push_back(*op.value);
    added = doc.makeArray(items);
  } else if (existing) {
    return unprocessable(op.where + ": '" + key + "' is already there (use replace)");
  }
  return edit(doc, root, node->json, doc.withMember(*node->json, key, added), op.where);
}

}  // namespace

Result<JsonValue> applyFhirPathPatch(JsonDocument& doc, const JsonValue& resource, const JsonValue& parameters,
                                     const fhir::JsonLimits& limits) {
  ASSIGN_OR_RETURN(std::vector<Operation> ops, readOperations(doc, parameters));
  // Each operation sees the result of the ones before it; `current` stays put so node addresses stay valid.
  JsonValue current = resource;
  TreeMeter meter(limits);
  for (const Operation& op : ops) {
    ASSIGN_OR_RETURN(JsonValue next, apply(doc, current, op));
    // After every operation, as parsed input would be: the next one evaluates FHIRPath over this tree.
    RETURN_IF_ERROR(meter.check(next, op.where + " (" + op.type + ")"));
    current = next;
  }
  return current;
}

}  // namespace planbro::gateway::rest
