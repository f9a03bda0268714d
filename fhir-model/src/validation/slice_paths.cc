#include "slice_paths.h"

#include <cstring>
#include <string>

#include "primitive_checks.h"
#include "profile_checker.h"

namespace planbro::fhir::validation {
namespace {

char upper(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }

// Steps of "extension('http://x.y/z').value", split at the dots outside parentheses and quotes, without
// allocating (discriminators are evaluated per element and slice).
class Steps {
 public:
  explicit Steps(std::string_view path) : path_(path) {}
  bool next(std::string_view& step) {
    if (done_) return false;
    int depth = 0;
    char quote = 0;
    for (size_t i = pos_; i < path_.size(); ++i) {
      char c = path_[i];
      if (quote != 0) {
        if (c == quote) quote = 0;
      } else if (c == '\'' || c == '"') {
        quote = c;
      } else if (c == '(') {
        ++depth;
      } else if (c == ')') {
        --depth;
      } else if (c == '.' && depth == 0) {
        step = path_.substr(pos_, i - pos_);
        pos_ = i + 1;
        return true;
      }
    }
    step = path_.substr(pos_);
    done_ = true;
    return true;
  }

 private:
  std::string_view path_;
  size_t pos_ = 0;
  bool done_ = false;
};

// The argument of "name(arg)" without quotes; nullopt when the step is not a call of `name`.
std::optional<std::string_view> callArgument(std::string_view step, std::string_view name) {
  if (!step.starts_with(name) || step.size() < name.size() + 2 || step[name.size()] != '(' || step.back() != ')') {
    return std::nullopt;
  }
  std::string_view arg = step.substr(name.size() + 1, step.size() - name.size() - 2);
  if (arg.size() >= 2 && (arg.front() == '\'' || arg.front() == '"') && arg.back() == arg.front()) {
    arg = arg.substr(1, arg.size() - 2);
  }
  return arg;
}

void addValues(const JsonValue* v, std::string_view type, std::vector<PathValue>& out) {
  if (v == nullptr) return;
  if (v->isArray()) {
    for (const JsonValue& item : v->items()) {
      if (!item.isNull()) out.push_back({&item, type});
    }
  } else if (!v->isNull()) {
    out.push_back({v, type});
  }
}

}  // namespace

bool jsonContains(const JsonValue& value, const JsonValue& pattern) {
  if (pattern.isObject()) {
    if (!value.isObject()) return false;
    for (const JsonMember& m : pattern.members()) {
      const JsonValue* v = value.find(m.key);
      if (v == nullptr || !jsonContains(*v, m.value)) return false;
    }
    return true;
  }
  if (pattern.isArray()) {
    if (!value.isArray()) return false;
    for (const JsonValue& p : pattern.items()) {
      bool held = false;
      for (const JsonValue& v : value.items()) {
        if (jsonContains(v, p)) {
          held = true;
          break;
        }
      }
      if (!held) return false;
    }
    return true;
  }
  return jsonEqual(value, pattern);
}

std::string_view referenceTargetType(std::string_view s) {
  if (s.empty()) return {};
  // Two memchr scans (vectorised), not find_first_of("?#"), which costs a memchr per character, nor a loop per
  // character (it is called for every reference).
  if (const void* q = std::memchr(s.data(), '?', s.size()); q != nullptr) {
    s = s.substr(0, static_cast<size_t>(static_cast<const char*>(q) - s.data()));
  }
  if (const void* h = std::memchr(s.data(), '#', s.size()); h != nullptr) {
    s = s.substr(0, static_cast<size_t>(static_cast<const char*>(h) - s.data()));
  }
  // A substring find steps through every character; "/_history/" needs a '_', which most references lack.
  if (s.empty()) return {};
  if (std::memchr(s.data(), '_', s.size()) != nullptr) {
    if (size_t h = s.find("/_history/"); h != std::string_view::npos) s = s.substr(0, h);
  }
  auto lastSlash = [](std::string_view v) -> size_t {
    const void* at = v.empty() ? nullptr : memrchr(v.data(), '/', v.size());
    return at == nullptr ? std::string_view::npos : static_cast<size_t>(static_cast<const char*>(at) - v.data());
  };
  size_t slash = lastSlash(s);
  if (slash == std::string_view::npos || slash == 0 || slash + 1 >= s.size()) return {};
  std::string_view head = s.substr(0, slash);
  size_t prev = lastSlash(head);
  std::string_view type = prev == std::string_view::npos ? head : head.substr(prev + 1);
  if (type.empty() || !(type[0] >= 'A' && type[0] <= 'Z')) return {};
  for (char c : type) {
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))) return {};
  }
  return type;
}

void evaluateSlicePath(const JsonValue* value, std::string_view type, std::string_view path, const ModelInfo& model,
                       const ReferenceResolver* resolver, const JsonValue* resource, SlicePathBuffers& buffers) {
  std::vector<PathValue>& current = buffers.values;
  current.clear();
  if (value != nullptr) current.push_back({value, type});
  Steps steps(path);
  for (std::string_view step; steps.next(step);) {
    if (step == "$this" || step.empty()) continue;
    std::vector<PathValue>& next = buffers.next;
    next.clear();
    if (step == "resolve()") {
      for (const PathValue& v : current) {
        if (!v.json->isObject() || resolver == nullptr || resource == nullptr) continue;
        const JsonValue* ref = v.json->find("reference");
        if (ref == nullptr || !ref->isString()) continue;
        const JsonValue* target = resolver->resolve(ref->text(), *resource);
        if (target == nullptr) continue;
        const JsonValue* rt = target->find("resourceType");
        next.push_back({target, rt != nullptr ? rt->text() : std::string_view()});
      }
    } else if (std::optional<std::string_view> url = callArgument(step, "extension")) {
      for (const PathValue& v : current) {
        if (!v.json->isObject()) continue;
        const JsonValue* exts = v.json->find("extension");
        if (exts == nullptr) continue;
        for (const JsonValue& e : exts->items()) {
          const JsonValue* u = e.find("url");
          if (u != nullptr && u->isString() && u->text() == *url) next.push_back({&e, "Extension"});
        }
      }
    } else if (std::optional<std::string_view> t = callArgument(step, "ofType")) {
      for (const PathValue& v : current) {
        if (v.type == *t || model.isA(v.type, *t)) next.push_back(v);
      }
    } else if (step.find('(') != std::string_view::npos) {
      current.clear();  // another function: not a discriminator R4 defines
      return;
    } else {
      // The values of one step are nearly always of one type: its definition and the step's child in it are
      // looked up once per type met, not once per value (a hash of the type name and a scan of its children).
      bool looked_up = false;
      std::string_view looked_up_type;
      const ElementDef* child = nullptr;
      for (const PathValue& v : current) {
        if (!v.json->isObject()) continue;
        if (!looked_up || v.type != looked_up_type) {
          looked_up = true;
          looked_up_type = v.type;
          child = nullptr;
          const TypeDef* def = v.type.empty() ? nullptr : model.type(v.type);
          if (def != nullptr) {
            for (const ElementDef* c : def->rootChildren()) {
              if (c->name == step) child = c;
            }
          }
        }
        if (child != nullptr && child->is_choice) {
          for (const JsonMember& m : v.json->members()) {
            if (m.key.size() <= step.size() || !m.key.starts_with(step)) continue;
            std::string_view suffix = m.key.substr(step.size());
            for (const TypeRef& tr : child->types) {
              if (tr.code.size() == suffix.size() && upper(tr.code[0]) == suffix[0] &&
                  std::string_view(tr.code).substr(1) == suffix.substr(1)) {
                addValues(&m.value, tr.code, next);
              }
            }
          }
          continue;
        }
        std::string_view child_type;
        if (child != nullptr && child->types.size() == 1) child_type = child->types.front().code;
        if (const JsonValue* member = v.json->find(step); member != nullptr) {
          addValues(member, child_type, next);
          if (member->isObject()) {
            if (const JsonValue* rt = member->find("resourceType"); rt != nullptr) next.back().type = rt->text();
          }
        }
      }
    }
    std::swap(current, next);
  }
}

std::vector<PathValue> evaluateSlicePath(const JsonValue* value, std::string_view type, std::string_view path,
                                         const ModelInfo& model, const ReferenceResolver* resolver,
                                         const JsonValue* resource) {
  SlicePathBuffers buffers;
  evaluateSlicePath(value, type, path, model, resolver, resource, buffers);
  return std::move(buffers.values);
}

SliceTarget sliceElementAt(const ProfileElement& slice, std::string_view path) {
  SliceTarget out;
  const ProfileElement* at = &slice;
  Steps steps(path);
  for (std::string_view step; steps.next(step);) {
    if (at == nullptr) break;
    if (step == "$this" || step.empty()) continue;
    if (step == "resolve()") {
      out.through_resolve = true;
      break;
    }
    if (callArgument(step, "ofType")) continue;
    if (std::optional<std::string_view> url = callArgument(step, "extension")) {
      out.extension_url = url;
      const ProfileElement* found = nullptr;
      for (const ProfileElement* c : at->children) {
        if (c->def->name != "extension") continue;
        for (const ProfileElement* s : c->slices) {
          for (const TypeRef& t : s->def->types) {
            for (const std::string& p : t.profiles) {
              if (p == *url) found = s;
            }
          }
        }
      }
      at = found;
      continue;
    }
    const ProfileElement* found = nullptr;
    for (const ProfileElement* c : at->children) {
      if (c->def->name == step) {
        found = c;
        break;
      }
    }
    at = found;
  }
  out.element = at;
  return out;
}

}  // namespace planbro::fhir::validation
