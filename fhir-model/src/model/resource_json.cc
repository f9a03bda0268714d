#include "planbro/fhir-model/resource_json.h"

#include <algorithm>
#include <vector>

namespace planbro::fhir {

// Defined in core/json_writer.cc: the same string escaping writeJson uses, so ordered and plain output agree.
void writeJsonString(std::string_view s, std::string& out);

namespace {

constexpr uint32_t kUnknownRank = UINT32_MAX;

// What a value is, as far as ordering goes: a resource (ordered by its own resourceType), an instance of a type or
// backbone element with known child definitions, or something written in input order.
struct Target {
  bool resource = false;
  std::span<const ElementDef* const> children;
};

struct OrderedMember {
  uint32_t rank;   // 0 for resourceType, 1 + definition index, or kUnknownRank
  uint32_t group;  // input position of the first member with the same base name (keeps `_x` next to `x`)
  bool twin;       // the `_name` member of a primitive
  uint32_t position;
  Target target;
};

class OrderedWriter {
 public:
  OrderedWriter(const ModelInfo& model, std::string& out, bool pretty) : model_(model), out_(out), pretty_(pretty) {}

  void value(const JsonValue& v, const Target& target, int depth) {
    if (v.isArray()) {
      out_.push_back('[');
      bool first = true;
      for (const JsonValue& item : v.items()) {
        if (!first) out_.push_back(',');
        first = false;
        newline(depth + 1);
        value(item, target, depth + 1);
      }
      if (v.size() > 0) newline(depth);
      out_.push_back(']');
    } else if (v.isObject()) {
      if (target.resource) {
        resource(v, depth);
      } else {
        object(v, target.children, false, depth);
      }
    } else {
      writeJson(v, out_);
    }
  }

  void resource(const JsonValue& v, int depth) {
    const JsonValue* type_name = v.find("resourceType");
    const TypeDef* type = type_name != nullptr && type_name->isString() ? model_.type(type_name->text()) : nullptr;
    if (type != nullptr && type->kind == TypeKind::kResource) {
      object(v, type->rootChildren(), true, depth);
    } else {
      object(v, {}, false, depth);
    }
  }

  void object(const JsonValue& v, std::span<const ElementDef* const> children, bool is_resource, int depth) {
    std::span<const JsonMember> members = v.members();
    std::vector<OrderedMember> order;
    order.reserve(members.size());
    for (uint32_t i = 0; i < members.size(); ++i) {
      std::string_view key = members[i].key;
      OrderedMember m{kUnknownRank, i, false, i, {}};
      if (is_resource && key == "resourceType") {
        m.rank = 0;
        order.push_back(m);
        continue;
      }
      m.twin = key.starts_with('_');
      std::string_view base = m.twin ? key.substr(1) : key;
      std::optional<ModelInfo::ChildMatch> match = children.empty() ? std::nullopt : model_.matchChild(children, base);
      if (match) {
        auto it = std::find(children.begin(), children.end(), match->element);
        m.rank = 1 + static_cast<uint32_t>(it - children.begin());
        for (uint32_t j = 0; j < i; ++j) {
          std::string_view other = members[j].key;
          if (other.starts_with('_')) other.remove_prefix(1);
          if (other == base) {
            m.group = j;
            break;
          }
        }
        m.target = targetOf(*match);
      } else {
        m.twin = false;  // unknown members keep their input position, twins included
      }
      order.push_back(m);
    }
    std::stable_sort(order.begin(), order.end(), [](const OrderedMember& a, const OrderedMember& b) {
      if (a.rank != b.rank) return a.rank < b.rank;
      if (a.group != b.group) return a.group < b.group;
      return a.twin < b.twin;
    });

    out_.push_back('{');
    bool first = true;
    for (const OrderedMember& m : order) {
      const JsonMember& member = members[m.position];
      if (!first) out_.push_back(',');
      first = false;
      newline(depth + 1);
      writeJsonString(member.key, out_);
      out_.append(pretty_ ? ": " : ":");
      value(member.value, m.target, depth + 1);
    }
    if (!members.empty()) newline(depth);
    out_.push_back('}');
  }

 private:
  Target targetOf(const ModelInfo::ChildMatch& match) const {
    if (match.type_code == "Resource") return {true, {}};
    return {false, model_.childrenOf(*match.element, match.type_code)};
  }

  void newline(int depth) {
    if (!pretty_) return;
    out_.push_back('\n');
    out_.append(static_cast<size_t>(depth) * 2, ' ');
  }

  const ModelInfo& model_;
  std::string& out_;
  bool pretty_;
};

}  // namespace

void writeResourceJson(const ModelInfo& model, const JsonValue& resource, std::string& out,
                       const JsonWriteOptions& options) {
  OrderedWriter(model, out, options.pretty).value(resource, Target{true, {}}, 0);
}

void writeResourceJson(const JsonValue& resource, std::string& out, const JsonWriteOptions& options) {
  writeResourceJson(ModelInfo::r4(), resource, out, options);
}

std::string writeResourceJson(const JsonValue& resource, const JsonWriteOptions& options) {
  std::string out;
  writeResourceJson(resource, out, options);
  return out;
}

void writeElementJson(const ModelInfo& model, const JsonValue& value, std::span<const ElementDef* const> children,
                      std::string& out, const JsonWriteOptions& options) {
  OrderedWriter(model, out, options.pretty).value(value, Target{false, children}, 0);
}

}  // namespace planbro::fhir
