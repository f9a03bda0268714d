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
  /** With `issues`, content errors are collected there and the offending part is left out (see fhir_xml.h). */
  XmlToJson(const ModelInfo& model, JsonDocument& out, OperationOutcome* issues)
      : model_(model), out_(out), issues_(issues) {}

  Result<JsonValue> resource(xmlNode* element) {
    if (!inNamespace(element, kFhirNs)) {
      return fail(element, "element '" + std::string(toView(element->name)) + "' is not in the FHIR namespace");
    }
    const std::string_view type_name = toView(element->name);
    const TypeDef* type = model_.isResourceType(type_name) ? model_.type(type_name) : nullptr;
    if (type == nullptr || type->elements.empty()) {
      // A contained resource of an unknown type is left out when collecting; the root cannot be.
      if (path_.empty()) return fail(element, "unknown resource type '" + std::string(type_name) + "'");
      RETURN_IF_ERROR(problem(element, "unknown resource type '" + std::string(type_name) + "'"));
      return JsonValue();
    }
    for (xmlAttr* attr = element->properties; attr != nullptr; attr = attr->next) {
      if (attr->ns == nullptr || toView(attr->ns->href) == kFhirNs) {
        RETURN_IF_ERROR(problem(element, "unknown attribute '" + std::string(toView(attr->name)) + "'"));
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

  // A content error the conversion can step over: collected (and ok returned, the caller then leaves the part out)
  // when collecting, else the error that stops the conversion.
  Status problem(const xmlNode* node, const std::string& what) const {
    if (issues_ == nullptr) return fail(node, what);
    issues_->add(Severity::kError, "structure", what + " (line " + std::to_string(lineOf(node)) + ")", path_.str());
    return Status::ok();
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
            RETURN_IF_ERROR(
                problem(child, "element '" + std::string(toView(child->name)) + "' is not in the FHIR namespace"));
            break;
          }
          RETURN_IF_ERROR(on_element(child));
          break;
        case XML_TEXT_NODE:
          if (!isBlank(toView(child->content))) RETURN_IF_ERROR(problem(child, "unexpected text content"));
          break;
        case XML_COMMENT_NODE:
        case XML_PI_NODE:
          break;
        default:
          RETURN_IF_ERROR(problem(child, "unexpected XML content"));
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
        return problem(child, "unknown element '" + std::string(name) + "'");
      }
      const ElementDef& def = *match->element;
      if (def.is_choice && match->type_code.empty()) {
        return problem(child, "unknown element '" + std::string(name) + "'");
      }
      const std::string_view type_code = def.is_choice ? match->type_code : elementTypeCode(def);
      if (inNamespace(child, kXhtmlNs) && type_code != "xhtml") {
        return problem(child, "element '" + std::string(name) + "' is not in the FHIR namespace");
      }

      Group* group = nullptr;
      for (Group& g : groups) {
        if (g.name == name) {
          group = &g;
        } else if (g.def == &def) {
          return problem(child, "element '" + std::string(name) + "' conflicts with '" + std::string(g.name) + "'");
        }
      }
      if (group != nullptr && !def.isArray() && !group->values.empty()) {
        return problem(child, "element '" + std::string(name) + "' repeats but allows at most one");
      }
      if (group == nullptr) {
        groups.push_back(Group{name, {}, &def, {}, {}, false, false});
        group = &groups.back();
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
      if (value.isNull() && twin.isNull()) return Status::ok();  // left out after a collected problem
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
        RETURN_IF_ERROR(problem(element, "unknown attribute '" + std::string(name) + "'"));
      }
    }
    std::vector<Group> groups;
    RETURN_IF_ERROR(readChildren(element, defs, /*resource_root=*/false, is_extension, groups));
    appendGroups(groups, members);
    if (members.empty()) {
      RETURN_IF_ERROR(problem(element, "element has no content"));
      return JsonValue();
    }
    return out_.makeObject(members);
  }

  Status readPrimitive(xmlNode* element, std::string_view type_code, JsonValue& value, JsonValue& twin) {
    std::vector<JsonMember> twin_members;
    bool has_value_attribute = false;
    for (xmlAttr* attr = element->properties; attr != nullptr; attr = attr->next) {
      if (attr->ns != nullptr && toView(attr->ns->href) != kFhirNs) continue;
      const std::string_view name = toView(attr->name);
      std::string scratch;
      if (name == "value") {
        has_value_attribute = true;
        ASSIGN_OR_RETURN(value, primitiveValue(element, type_code, attrText(attr, scratch)));
      } else if (name == "id") {
        twin_members.push_back({"id", out_.makeString(attrText(attr, scratch))});
      } else {
        RETURN_IF_ERROR(problem(element, "unknown attribute '" + std::string(name) + "'"));
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
        return problem(child, "unknown element '" + std::string(toView(child->name)) + "'");
      }
      ElementPath::Scope scope(path_, "extension", extensions.size());
      ASSIGN_OR_RETURN(JsonValue extension, readComplex(child, extension_defs_, true));
      if (!extension.isNull()) extensions.push_back(extension);
      return Status::ok();
    }));
    if (!extensions.empty()) twin_members.push_back({"extension", out_.makeArray(extensions)});
    if (!twin_members.empty()) twin = out_.makeObject(twin_members);
    if (value.isNull() && twin.isNull() && !has_value_attribute) {
      return problem(element, "primitive element has no value and no extensions");
    }
    return Status::ok();
  }

  Result<JsonValue> primitiveValue(xmlNode* element, std::string_view type_code, std::string_view text) {
    switch (primitiveJsonKind(type_code)) {
      case PrimitiveJson::kBool:
        if (text == "true") return JsonDocument::makeBool(true);
        if (text == "false") return JsonDocument::makeBool(false);
        RETURN_IF_ERROR(problem(element, "invalid boolean '" + std::string(text) + "'"));
        return JsonValue();
      case PrimitiveJson::kNumber:
        if (!isValidNumber(text, isIntegerCode(type_code))) {
          RETURN_IF_ERROR(problem(element, "invalid " + std::string(type_code) + " '" + std::string(text) + "'"));
          return JsonValue();
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
        RETURN_IF_ERROR(problem(element, "unknown attribute '" + std::string(toView(attr->name)) + "'"));
      }
    }
    xmlNode* inner = nullptr;
    RETURN_IF_ERROR(forEachChildElement(element, [&](xmlNode* child) -> Status {
      if (inner != nullptr) return problem(child, "a resource container holds exactly one resource");
      inner = child;
      return Status::ok();
    }));
    if (inner == nullptr) {
      RETURN_IF_ERROR(problem(element, "a resource container holds exactly one resource"));
      return JsonValue();
    }
    return resource(inner);
  }

  Result<JsonValue> readXhtml(xmlNode* element) {
    if (toView(element->name) != "div" || !inNamespace(element, kXhtmlNs)) {
      RETURN_IF_ERROR(problem(element, "narrative must be an XHTML div element"));
      return JsonValue();
    }
    ASSIGN_OR_RETURN(std::string text, serializeElement(element));
    return out_.makeString(text);
  }

  const ModelInfo& model_;
  JsonDocument& out_;
  std::span<const ElementDef* const> extension_defs_;
  ElementPath path_;
  OperationOutcome* issues_ = nullptr;
};

}  // namespace

namespace {

Result<JsonDocument> convert(std::string_view xml, const XmlLimits& limits, OperationOutcome* issues) {
  ASSIGN_OR_RETURN(XmlDocPtr xml_doc, parseHardened(xml, limits));
  JsonDocument out;
  XmlToJson converter(ModelInfo::r4(), out, issues);
  ASSIGN_OR_RETURN(JsonValue root, converter.resource(xmlDocGetRootElement(xml_doc.get())));
  out.setRoot(root);
  return out;
}

}  // namespace

Result<JsonDocument> fhirXmlToJson(std::string_view xml, const XmlLimits& limits) {
  return convert(xml, limits, nullptr);
}

Result<JsonDocument> fhirXmlToJson(std::string_view xml, const XmlLimits& limits, OperationOutcome& issues) {
  return convert(xml, limits, &issues);
}

}  // namespace planbro::fhir
