#include "planbro/gateway/rest/json_patch.h"

#include <charconv>
#include <optional>
#include <string>
#include <vector>

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

// Rebuilds the path from `node` down to tokens[depth..] with one edit at the end; copies only the spine.
Result<JsonValue> edit(JsonDocument& doc, const JsonValue& node, const std::vector<std::string>& tokens, size_t depth,
                       Edit op, const JsonValue& value, const std::string& path) {
  const std::string& tok = tokens[depth];
  bool last = depth + 1 == tokens.size();
  if (node.isObject()) {
    const JsonValue* child = node.find(tok);
    if (last) {
      if (op == Edit::kRemove) {
        if (!child) return unprocessable("path '" + path + "' does not exist");
        return doc.withoutMember(node, tok);
      }
      if (op == Edit::kReplace && !child) return unprocessable("path '" + path + "' does not exist");
      return doc.withMember(node, tok, value);
    }
    if (!child) return unprocessable("path '" + path + "' does not exist");
    auto sub = edit(doc, *child, tokens, depth + 1, op, value, path);
    if (!sub.isOk()) return sub.status();
    return doc.withMember(node, tok, *sub);
  }
  if (node.isArray()) {
    auto items = node.items();
    auto idx = arrayIndex(tok, items.size(), last && op == Edit::kAdd);
    if (!idx) return unprocessable("'" + tok + "' is not an array index in '" + path + "'");
    std::vector<JsonValue> out(items.begin(), items.end());
    if (last) {
      if (op == Edit::kAdd) {
        if (*idx > out.size()) return unprocessable("array index out of range in '" + path + "'");
        out.insert(out.begin() + static_cast<std::ptrdiff_t>(*idx), value);
      } else {
        if (*idx >= out.size()) return unprocessable("array index out of range in '" + path + "'");
        if (op == Edit::kRemove) out.erase(out.begin() + static_cast<std::ptrdiff_t>(*idx));
        else out[*idx] = value;
      }
      return doc.makeArray(out);
    }
    if (*idx >= out.size()) return unprocessable("array index out of range in '" + path + "'");
    auto sub = edit(doc, out[*idx], tokens, depth + 1, op, value, path);
    if (!sub.isOk()) return sub.status();
    out[*idx] = *sub;
    return doc.makeArray(out);
  }
  return unprocessable("path '" + path + "' does not exist");
}

Result<JsonValue> applyEdit(JsonDocument& doc, const JsonValue& root, const std::vector<std::string>& tokens, Edit op,
                            const JsonValue& value, const std::string& path) {
  if (tokens.empty()) {
    if (op == Edit::kRemove) return unprocessable("cannot remove the whole document");
    return value;
  }
  return edit(doc, root, tokens, 0, op, value, path);
}

std::string_view stringMember(const JsonValue& op, std::string_view name, bool* present) {
  const JsonValue* v = op.find(name);
  *present = v && v->isString();
  return *present ? v->text() : std::string_view();
}

}  // namespace

Result<JsonValue> applyJsonPatch(JsonDocument& doc, const JsonValue& target, const JsonValue& patch) {
  if (!patch.isArray()) return invalidArgument("a JSON Patch document must be an array of operations");
  JsonValue cur = target;
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
    cur = *next;
  }
  return cur;
}

}  // namespace planbro::gateway::rest
