#include "planbro/gateway/rest/json_patch.h"

#include <charconv>
#include <optional>
#include <string>
#include <vector>

#include "planbro/gateway/rest/tree_meter.h"

namespace planbro::gateway::rest {
namespace {

using fhir::JsonDocument;
using fhir::JsonMember;
using fhir::JsonValue;

Status unprocessable(std::string m) { return {StatusCode::kUnprocessable, std::move(m)}; }

Result<std::vector<std::string>> parsePointer(std::string_view p) {
  std::vector<std::string> tokens;
  if (p.empty()) return tokens;
  if (p.front() != '/') return invalidArgument("JSON Pointer must be empty or start with '/': '" + std::string(p) + "'");
  size_t pos = 1;
  while (true) {
    size_t end = p.find('/', pos);
    std::string_view raw = p.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
    std::string tok;
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] != '~') {
        tok += raw[i];
        continue;
      }
      if (i + 1 < raw.size() && raw[i + 1] == '0') tok += '~';
      else if (i + 1 < raw.size() && raw[i + 1] == '1') tok += '/';
      else return invalidArgument("bad '~' escape in JSON Pointer '" + std::string(p) + "'");
      ++i;
    }
    tokens.push_back(std::move(tok));
    if (end == std::string_view::npos) break;
    pos = end + 1;
  }
  return tokens;
}

// An array index per RFC 6901: "0" or digits without a leading zero. `allow_end` accepts "-" (returns size).
std::optional<size_t> arrayIndex(const std::string& tok, size_t size, bool allow_end) {
  if (allow_end && tok == "-") return size;
  if (tok.empty() || (tok.size() > 1 && tok[0] == '0')) return std::nullopt;
  size_t v = 0;
  auto [ptr, ec] = std::from_chars(tok.data(), tok.data() + tok.size(), v);
  if (ec != std::errc() || ptr != tok.data() + tok.size()) return std::nullopt;
  return v;
}

const JsonValue* resolve(const JsonValue& root, const std::vector<std::string>& tokens) {
  const JsonValue* cur = &root;
  for (const std::string& t : tokens) {
    if (cur->isObject()) {
      cur = cur->find(t);
      if (!cur) return nullptr;
    } else if (cur->isArray()) {
      auto idx = arrayIndex(t, cur->size(), false);
      if (!idx || *idx >= cur->size()) return nullptr;
      cur = &cur->items()[*idx];
    } else {
      return nullptr;
    }
  }
  return cur;
}

enum class Edit { kAdd, kRemove, kReplace };

// Applies one edit at the end of `tokens` (at least one) and rebuilds the path from the root down to it, copying only
// that spine and sharing every other subtree. Walks down and back up with a vector, not recursion: the depth of the
// tree is the client's to choose.
Result<JsonValue> edit(JsonDocument& doc, const JsonValue& root, const std::vector<std::string>& tokens, Edit op,
                       const JsonValue& value, const std::string& path) {
  std::vector<const JsonValue*> spine{&root};
  std::vector<size_t> indexes;  // the array index taken at each array on the spine
  spine.reserve(tokens.size());
  for (size_t depth = 0; depth + 1 < tokens.size(); ++depth) {
    const JsonValue& node = *spine.back();
    const std::string& tok = tokens[depth];
    if (node.isObject()) {
      const JsonValue* child = node.find(tok);
      if (!child) return unprocessable("path '" + path + "' does not exist");
      spine.push_back(child);
      indexes.push_back(0);
    } else if (node.isArray()) {
      auto idx = arrayIndex(tok, node.size(), false);
      if (!idx) return unprocessable("'" + tok + "' is not an array index in '" + path + "'");
      if (*idx >= node.size()) return unprocessable("array index out of range in '" + path + "'");
      spine.push_back(&node.items()[*idx]);
      indexes.push_back(*idx);
    } else {
      return unprocessable("path '" + path + "' does not exist");
    }
  }

  const JsonValue& parent = *spine.back();
  const std::string& tok = tokens.back();
  JsonValue built;
  if (parent.isObject()) {
    const JsonValue* child = parent.find(tok);
    if (op == Edit::kRemove) {
      if (!child) return unprocessable("path '" + path + "' does not exist");
      built = doc.withoutMember(parent, tok);
    } else {
      if (op == Edit::kReplace && !child) return unprocessable("path '" + path + "' does not exist");
      built = doc.withMember(parent, tok, value);
    }
  } else if (parent.isArray()) {
    auto items = parent.items();
    auto idx = arrayIndex(tok, items.size(), op == Edit::kAdd);
    if (!idx) return unprocessable("'" + tok + "' is not an array index in '" + path + "'");
    std::vector<JsonValue> out(items.begin(), items.end());
    if (op == Edit::kAdd) {
      if (*idx > out.size()) return unprocessable("array index out of range in '" + path + "'");
      out.insert(out.begin() + static_cast<std::ptrdiff_t>(*idx), value);
    } else {
      if (*idx >= out.size()) return unprocessable("array index out of range in '" + path + "'");
      if (op == Edit::kRemove) out.erase(out.begin() + static_cast<std::ptrdiff_t>(*idx));
      else out[*idx] = value;
    }
    built = doc.makeArray(out);
  } else {
    return unprocessable("path '" + path + "' does not exist");
  }

  for (size_t depth = spine.size() - 1; depth-- > 0;) {
    const JsonValue& node = *spine[depth];
    if (node.isObject()) {
      built = doc.withMember(node, tokens[depth], built);
    } else {
      std::vector<JsonValue> out(node.items().begin(), node.items().end());
      out[indexes[depth]] = built;
      built = doc.makeArray(out);
    }
  }
  return built;
}

Result<JsonValue> applyEdit(JsonDocument& doc, const JsonValue& root, const std::vector<std::string>& tokens, Edit op,
                            const JsonValue& value, const std::string& path) {
  if (tokens.empty()) {
    if (op == Edit::kRemove) return unprocessable("cannot remove the whole document");
    return value;
  }
  return edit(doc, root, tokens, op, value, path);
}

std::string_view stringMember(const JsonValue& op, std::string_view name, bool* present) {
  const JsonValue* v = op.find(name);
  *present = v && v->isString();
  return *present ? v->text() : std::string_view();
}

}  // namespace

Result<JsonValue> applyJsonPatch(JsonDocument& doc, const JsonValue& target, const JsonValue& patch,
                                 const fhir::JsonLimits& limits) {
  if (!patch.isArray()) return invalidArgument("a JSON Patch document must be an array of operations");
  JsonValue cur = target;
  TreeMeter meter(limits);
  size_t index = 0;
  for (const JsonValue& op : patch.items()) {
    std::string where = "operation " + std::to_string(index++);
    if (!op.isObject()) return invalidArgument(where + ": not an object");
    bool has_op = false, has_path = false;
    std::string_view name = stringMember(op, "op", &has_op);
    std::string path(stringMember(op, "path", &has_path));
    if (!has_op) return invalidArgument(where + ": missing 'op'");
    if (!has_path) return invalidArgument(where + ": missing 'path'");
    auto tokens = parsePointer(path);
    if (!tokens.isOk()) return invalidArgument(where + ": " + tokens.status().message());
    const JsonValue* value = op.find("value");
    bool needs_value = name == "add" || name == "replace" || name == "test";
    if (needs_value && !value) return invalidArgument(where + " (" + std::string(name) + "): missing 'value'");

    Result<JsonValue> next = cur;
    if (name == "add") {
      next = applyEdit(doc, cur, *tokens, Edit::kAdd, doc.import(*value), path);
    } else if (name == "remove") {
      next = applyEdit(doc, cur, *tokens, Edit::kRemove, JsonValue(), path);
    } else if (name == "replace") {
      next = applyEdit(doc, cur, *tokens, Edit::kReplace, doc.import(*value), path);
    } else if (name == "test") {
      const JsonValue* at = resolve(cur, *tokens);
      if (!at) return unprocessable(where + " (test): path '" + path + "' does not exist");
      if (!jsonEqual(*at, *value)) return unprocessable(where + " (test): value at '" + path + "' differs");
    } else if (name == "move" || name == "copy") {
      bool has_from = false;
      std::string from(stringMember(op, "from", &has_from));
      if (!has_from) return invalidArgument(where + " (" + std::string(name) + "): missing 'from'");
      auto from_tokens = parsePointer(from);
      if (!from_tokens.isOk()) return invalidArgument(where + ": " + from_tokens.status().message());
      const JsonValue* src = resolve(cur, *from_tokens);
      if (!src) return unprocessable(where + " (" + std::string(name) + "): from '" + from + "' does not exist");
      JsonValue moved = *src;
      if (name == "move") {
        if (path == from) continue;
        if (path.size() > from.size() && path.starts_with(from) && path[from.size()] == '/') {
          return unprocessable(where + " (move): cannot move '" + from + "' into itself");
        }
        auto removed = applyEdit(doc, cur, *from_tokens, Edit::kRemove, JsonValue(), from);
        if (!removed.isOk()) return Status(removed.status().code(), where + ": " + removed.status().message());
        cur = *removed;
      }
      next = applyEdit(doc, cur, *tokens, Edit::kAdd, moved, path);
    } else {
      return invalidArgument(where + ": unknown op '" + std::string(name) + "'");
    }
    if (!next.isOk()) return Status(next.status().code(), where + " (" + std::string(name) + "): " + next.status().message());
    // Checked after every operation, not only at the end: a `copy` shares its subtree, so the tree an operation
    // builds can be exponentially larger than the patch, and the next operation would walk it.
    RETURN_IF_ERROR(meter.check(*next, where + " (" + std::string(name) + ")"));
    cur = *next;
  }
  return cur;
}

}  // namespace planbro::gateway::rest
