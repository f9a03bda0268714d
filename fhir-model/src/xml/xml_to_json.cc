#include <libxml/tree.h>

#include <string>
#include <vector>

#include "planbro/fhir-model/fhir_xml.h"
#include "planbro/fhir-model/model_info.h"
#include "xml_common.h"

namespace planbro::fhir {
namespace {

using namespace xml_internal;  // NOLINT(google-build-using-namespace)

// All occurrences of one JSON property in one object: XML repeats an element, JSON makes one array of it (and a
// `_name` array aligned with it for primitives).
struct Group {
  std::string_view name;  // the XML element's name, alive as long as the parsed document
  std::string twin_name;  // "_name", made only when some occurrence has an id or extensions
  const ElementDef* def = nullptr;
  std::vector<JsonValue> values;
  std::vector<JsonValue> twins;
  bool any_value = false;
  bool any_twin = false;
};

struct XmlString {
  explicit XmlString(xmlChar* s) : s_(s) {}
  ~XmlString() {
    if (s_ != nullptr) xmlFree(s_);
  }
  XmlString(const XmlString&) = delete;
  XmlString& operator=(const XmlString&) = delete;
  std::string_view view() const { return toView(s_); }

 private:
  xmlChar* s_;
};

bool isBlank(std::string_view text) {
  for (char c : text) {
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return false;
  }
  return true;
}

class XmlToJson {
 public:
  XmlToJson(const ModelInfo& model, JsonDocument& out) : model_(model), out_(out) {}

  Result<JsonValue> resource(xmlNode* element) {
    if (!inNamespace(element, kFhirNs)) {
      return fail(element, "element '" + std::string(toView(element->name)) + "' is not in the FHIR namespace");
    }
    const std::string_view type_name = toView(element->name);
    const TypeDef* type = model_.isResourceType(type_name) ? model_.type(type_name) : nullptr;
    if (type == nullptr || type->elements.empty()) {
      return fail(element, "unknown resource type '" + std::string(type_name) + "'");
    }
    for (xmlAttr* attr = element->properties; attr != nullptr; attr = attr->next) {
      if (attr->ns == nullptr || toView(attr->ns->href) == kFhirNs) {
        return fail(element, "unknown attribute '" + std::string(toView(attr->name)) + "'");
      }
    }
    // The top-level resource names the path; a contained one continues its container's path.
    const bool top = path_.empty();
    if (top) path_.push(type_name);
    std::vector<Group> groups;
    const Status status = readChildren(element, type->rootChildren(), /*resource_root=*/true, false, groups);
    if (top) path_.pop();
    RETURN_IF_ERROR(status);
    std::vector<JsonMember> members;
    members.push_back({"resourceType", out_.makeString(type_name)});
    appendGroups(groups, members);
    return out_.makeObject(members);
  }

 private:
  Status fail(const xmlNode* node, const std::string& what) const {
    std::string message = what;
    if (!path_.empty()) message += " at " + path_.str();
    message += " (line " + std::to_string(lineOf(node)) + ")";
    return invalidArgument(std::move(message));
  }

  // An attribute's text; the common single-text-node case needs no copy.
  static std::string_view attrText(xmlAttr* attr, std::string& scratch) {
    const xmlNode* text = attr->children;
    if (text == nullptr) return {};
    if (text->type == XML_TEXT_NODE && text->next == nullptr) return toView(text->content);
    XmlString value(xmlNodeListGetString(attr->doc, attr->children, 1));
    scratch.assign(value.view());
    return scratch;
  }

  // Element children of a FHIR element; blank text, comments and processing instructions are ignored. Only
  // FHIR-namespace elements are passed on, plus XHTML ones when `allow_xhtml` (the caller checks the type).
  template <typename OnElement>
  Status forEachChildElement(xmlNode* element, OnElement&& on_element,
                             bool allow_xhtml = false) {
    for (xmlNode* child = element->children; child != nullptr; child = child->next) {
      switch (child->type) {
        case XML_ELEMENT_NODE:
          if (!inNamespace(child, kFhirNs) && !(allow_xhtml && inNamespace(child, kXhtmlNs))) {
            return fail(child, "element '" + std::string(toView(child->name)) + "' is not in the FHIR namespace");
          }
          RETURN_IF_ERROR(on_element(child));
          break;
        case XML_TEXT_NODE:
          if (!isBlank(toView(child->content))) return fail(child, "unexpected text content");
          break;
        case XML_COMMENT_NODE:
        case XML_PI_NODE:
          break;
        default:
          return fail(child, "unexpected XML content");
      }
    }
    return Status::ok();
  }

  Status readChildren(xmlNode* element, std::span<const ElementDef* const> defs, bool resource_root,
                      bool is_extension, std::vector<Group>& groups) {
    return forEachChildElement(element, [&](xmlNode* child) -> Status {
      const std::string_view name = toView(child->name);
      // Element.id and Extension.url are attributes in XML; as elements they are unknown.
      const bool attribute_only = (!resource_root && name == "id") || (is_extension && name == "url");
      const std::optional<ModelInfo::ChildMatch> match = attribute_only ? std::nullopt : model_.matchChild(defs, name);
      if (!match || match->element == nullptr) {
        return fail(child, "unknown element '" + std::string(name) + "'");
      }
      const ElementDef& def = *match->element;
      if (def.is_choice && match->type_code.empty()) {
        return fail(child, "unknown element '" + std::string(name) + "'");
      }
      const std::string_view type_code = def.is_choice ? match->type_code : elementTypeCode(def);
      if (inNamespace(child, kXhtmlNs) && type_code != "xhtml") {
        return fail(child, "element '" + std::string(name) + "' is not in the FHIR namespace");
      }

      Group* group = nullptr;
      for (Group& g : groups) {
        if (g.name == name) {
          group = &g;
        } else if (g.def == &def) {
          return fail(child, "element '" + std::string(name) + "' conflicts with '" + std::string(g.name) + "'");
        }
      }
      if (group == nullptr) {
        groups.push_back(Group{name, {}, &def, {}, {}, false, false});
        group = &groups.back();
      } else if (!def.isArray()) {
        return fail(child, "element '" + std::string(name) + "' repeats but allows at most one");
      }
      ElementPath::Scope scope(path_, name, def.isArray() ? group->values.size() : ElementPath::kNoIndex);

      JsonValue value;
      JsonValue twin;
      switch (shapeOf(model_, type_code)) {
        case ValueShape::kXhtml: {
          ASSIGN_OR_RETURN(value, readXhtml(child));
          break;
        }
        case ValueShape::kPrimitive:
          RETURN_IF_ERROR(readPrimitive(child, type_code, value, twin));
          break;
        case ValueShape::kResource: {
          ASSIGN_OR_RETURN(value, readContainer(child));
          break;
        }
        case ValueShape::kComplex: {
          ASSIGN_OR_RETURN(value, readComplex(child, childrenFor(model_, def, type_code), type_code == "Extension"));
          break;
        }
      }
      group->any_value = group->any_value || !value.isNull();
      if (!twin.isNull() && !group->any_twin) {
        group->any_twin = true;
        group->twin_name = "_" + std::string(name);
      }
      group->values.push_back(value);
      group->twins.push_back(twin);
      return Status::ok();
    }, /*allow_xhtml=*/true);
  }

  void appendGroups(const std::vector<Group>& groups, std::vector<JsonMember>& members) {
    for (const Group& g : groups) {
      if (g.def->isArray()) {
        if (g.any_value) members.push_back({g.name, out_.makeArray(g.values)});
        if (g.any_twin) members.push_back({g.twin_name, out_.makeArray(g.twins)});
      } else {
        if (g.any_value) members.push_back({g.name, g.values.front()});
        if (g.any_twin) members.push_back({g.twin_name, g.twins.front()});
      }
    }
  }

  Result<JsonValue> readComplex(xmlNode* element, std::span<const ElementDef* const> defs, bool is_extension) {
    if (defs.empty()) return fail(element, "no definition for the children of this element");
    std::vector<JsonMember> members;
    for (xmlAttr* attr = element->properties; attr != nullptr; attr = attr->next) {
      if (attr->ns != nullptr && toView(attr->ns->href) != kFhirNs) continue;  // xsi:schemaLocation and the like
      const std::string_view name = toView(attr->name);
      if (name == "id" || (is_extension && name == "url")) {
        std::string scratch;
        members.push_back({name == "id" ? "id" : "url", out_.makeString(attrText(attr, scratch))});
      } else {
        return fail(element, "unknown attribute '" + std::string(name) + "'");
      }
    }
    std::vector<Group> groups;
    RETURN_IF_ERROR(readChildren(element, defs, /*resource_root=*/false, is_extension, groups));
    appendGroups(groups, members);
    if (members.empty()) return fail(element, "element has no content");
    return out_.makeObject(members);
  }

  Status readPrimitive(xmlNode* element, std::string_view type_code, JsonValue& value, JsonValue& twin) {
    std::vector<JsonMember> twin_members;
    for (xmlAttr* attr = element->properties; attr != nullptr; attr = attr->next) {
      if (attr->ns != nullptr && toView(attr->ns->href) != kFhirNs) continue;
      const std::string_view name = toView(attr->name);
      std::string scratch;
      if (name == "value") {
        ASSIGN_OR_RETURN(value, primitiveValue(element, type_code, attrText(attr, scratch)));
      } else if (name == "id") {
        twin_members.push_back({"id", out_.makeString(attrText(attr, scratch))});
      } else {
        return fail(element, "unknown attribute '" + std::string(name) + "'");
      }
    }
    if (extension_defs_.empty()) {
      const TypeDef* extension = model_.type("Extension");
      if (extension == nullptr || extension->elements.empty()) return internalError("no definition of Extension");
      extension_defs_ = extension->rootChildren();
    }
    std::vector<JsonValue> extensions;
    RETURN_IF_ERROR(forEachChildElement(element, [&](xmlNode* child) -> Status {
      if (toView(child->name) != "extension") {
        return fail(child, "unknown element '" + std::string(toView(child->name)) + "'");
      }
      ElementPath::Scope scope(path_, "extension", extensions.size());
      ASSIGN_OR_RETURN(JsonValue extension, readComplex(child, extension_defs_, true));
      extensions.push_back(extension);
      return Status::ok();
    }));
    if (!extensions.empty()) twin_members.push_back({"extension", out_.makeArray(extensions)});
    if (!twin_members.empty()) twin = out_.makeObject(twin_members);
    if (value.isNull() && twin.isNull()) return fail(element, "primitive element has no value and no extensions");
    return Status::ok();
  }

  Result<JsonValue> primitiveValue(xmlNode* element, std::string_view type_code, std::string_view text) {
    switch (primitiveJsonKind(type_code)) {
      case PrimitiveJson::kBool:
        if (text == "true") return JsonDocument::makeBool(true);
        if (text == "false") return JsonDocument::makeBool(false);
        return fail(element, "invalid boolean '" + std::string(text) + "'");
      case PrimitiveJson::kNumber:
        if (!isValidNumber(text, isIntegerCode(type_code))) {
          return fail(element, "invalid " + std::string(type_code) + " '" + std::string(text) + "'");
        }
        return out_.makeNumber(text);
      case PrimitiveJson::kString:
        break;
    }
    return out_.makeString(text);
  }

  Result<JsonValue> readContainer(xmlNode* element) {
    for (xmlAttr* attr = element->properties; attr != nullptr; attr = attr->next) {
      if (attr->ns == nullptr || toView(attr->ns->href) == kFhirNs) {
        return fail(element, "unknown attribute '" + std::string(toView(attr->name)) + "'");
      }
    }
    xmlNode* inner = nullptr;
    RETURN_IF_ERROR(forEachChildElement(element, [&](xmlNode* child) -> Status {
      if (inner != nullptr) return fail(child, "a resource container holds exactly one resource");
      inner = child;
      return Status::ok();
    }));
    if (inner == nullptr) return fail(element, "a resource container holds exactly one resource");
    return resource(inner);
  }

  Result<JsonValue> readXhtml(xmlNode* element) {
    if (toView(element->name) != "div" || !inNamespace(element, kXhtmlNs)) {
      return fail(element, "narrative must be an XHTML div element");
    }
    ASSIGN_OR_RETURN(std::string text, serializeElement(element));
    return out_.makeString(text);
  }

  const ModelInfo& model_;
  JsonDocument& out_;
  std::span<const ElementDef* const> extension_defs_;
  ElementPath path_;
};

}  // namespace

Result<JsonDocument> fhirXmlToJson(std::string_view xml, const XmlLimits& limits) {
  ASSIGN_OR_RETURN(XmlDocPtr xml_doc, parseHardened(xml, limits));
  JsonDocument out;
  XmlToJson converter(ModelInfo::r4(), out);
  ASSIGN_OR_RETURN(JsonValue root, converter.resource(xmlDocGetRootElement(xml_doc.get())));
  out.setRoot(root);
  return out;
}

}  // namespace planbro::fhir
