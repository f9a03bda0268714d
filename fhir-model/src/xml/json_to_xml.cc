#include <libxml/tree.h>

#include <string>
#include <vector>

#include "planbro/fhir-model/fhir_xml.h"
#include "planbro/fhir-model/model_info.h"
#include "xml_common.h"

namespace planbro::fhir {
namespace {

using namespace xml_internal;  // NOLINT(google-build-using-namespace)

// A JSON property of one object resolved against the definitions: `value` holds "name", `twin` holds "_name".
struct Property {
  std::string_view name;
  const ElementDef* def = nullptr;
  std::string_view type_code;
  const JsonValue* value = nullptr;
  const JsonValue* twin = nullptr;
};

std::string describe(JsonKind kind) {
  switch (kind) {
    case JsonKind::kNull: return "null";
    case JsonKind::kFalse:
    case JsonKind::kTrue: return "a boolean";
    case JsonKind::kNumber: return "a number";
    case JsonKind::kString: return "a string";
    case JsonKind::kArray: return "an array";
    case JsonKind::kObject: return "an object";
  }
  return "a value";
}

// Valid UTF-8 made only of characters XML 1.0 allows (no C0 controls but tab, LF, CR; no surrogates, U+FFFE,
// U+FFFF). Documents built in code (not parsed) may hold anything, and one bad byte would make the XML unreadable.
bool isXmlText(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    if (b < 0x80) {
      if (b < 0x20 && b != '\t' && b != '\n' && b != '\r') return false;
      ++i;
      continue;
    }
    size_t length = 0;
    uint32_t cp = 0;
    if ((b & 0xE0) == 0xC0) {
      length = 2;
      cp = b & 0x1F;
    } else if ((b & 0xF0) == 0xE0) {
      length = 3;
      cp = b & 0x0F;
    } else if ((b & 0xF8) == 0xF0) {
      length = 4;
      cp = b & 0x07;
    } else {
      return false;
    }
    if (i + length > s.size()) return false;
    for (size_t k = 1; k < length; ++k) {
      const auto c = static_cast<unsigned char>(s[i + k]);
      if ((c & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (c & 0x3F);
    }
    const uint32_t min = length == 2 ? 0x80 : length == 3 ? 0x800 : 0x10000;
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF) || cp == 0xFFFE || cp == 0xFFFF) return false;
    i += length;
  }
  return true;
}

// Trees built in code skip JsonLimits; this bounds the writer's recursion (parsed JSON stops at max_depth 256).
constexpr int kMaxWriteDepth = 300;

class JsonToXml {
 public:
  JsonToXml(const ModelInfo& model, std::string& out, bool pretty) : model_(model), out_(out), pretty_(pretty) {}

  Status resource(const JsonValue& object, int level, bool root) {
    if (!object.isObject()) return fail("a resource must be a JSON object");
    const JsonValue* resource_type = object.find("resourceType");
    if (resource_type == nullptr || !resource_type->isString()) {
      return fail("resource has no resourceType");
    }
    const std::string_view type_name = resource_type->text();
    const TypeDef* type = model_.isResourceType(type_name) ? model_.type(type_name) : nullptr;
    if (type == nullptr || type->elements.empty()) {
      return fail("unknown resource type '" + std::string(type_name) + "'");
    }
    // The top-level resource names the path; a contained one continues its container's path.
    const bool top = path_.empty();
    if (top) path_.push(type_name);
    openTag(type_name, level);
    if (root) out_ += " xmlns=\"http://hl7.org/fhir\"";
    const Status status = finishElement(type_name, level, [&] {
      return children(object, type->rootChildren(), /*resource_root=*/true, false, level + 1);
    });
    if (top) path_.pop();
    return status;
  }

 private:
  Status fail(const std::string& what) const {
    return invalidArgument(path_.empty() ? what : what + " at " + path_.str());
  }

  void newline(int level) {
    if (!pretty_) return;
    out_ += '\n';
    out_.append(static_cast<size_t>(level) * 2, ' ');
  }

  void openTag(std::string_view name, int level) {
    newline(level);
    out_ += '<';
    out_ += name;
  }

  // Closes the start tag, writes the content, then either the end tag or (no content) turns it into `<x/>`.
  template <typename WriteContent>
  Status finishElement(std::string_view name, int level, WriteContent&& write_content) {
    out_ += '>';
    const size_t mark = out_.size();
    RETURN_IF_ERROR(write_content());
    if (out_.size() == mark) {
      out_.back() = '/';
      out_ += '>';
      return Status::ok();
    }
    newline(level);
    out_ += "</";
    out_ += name;
    out_ += '>';
    return Status::ok();
  }

  Status attribute(std::string_view name, std::string_view value) {
    if (!isXmlText(value)) return fail("text that is not valid UTF-8 or not allowed in XML 1.0");
    out_ += ' ';
    out_ += name;
    out_ += "=\"";
    size_t run = 0;  // start of the pending stretch that needs no escaping
    for (size_t i = 0; i < value.size(); ++i) {
      std::string_view escaped;
      switch (value[i]) {
        case '&': escaped = "&amp;"; break;
        case '<': escaped = "&lt;"; break;
        case '>': escaped = "&gt;"; break;
        case '"': escaped = "&quot;"; break;
        // Attribute-value normalisation would turn literal whitespace into spaces on reading.
        case '\t': escaped = "&#9;"; break;
        case '\n': escaped = "&#10;"; break;
        case '\r': escaped = "&#13;"; break;
        default: continue;
      }
      out_.append(value.substr(run, i - run));
      out_ += escaped;
      run = i + 1;
    }
    out_.append(value.substr(run));
    out_ += '"';
    return Status::ok();
  }

  Status children(const JsonValue& object, std::span<const ElementDef* const> defs, bool resource_root,
                  bool is_extension, int level) {
    std::vector<Property> properties;
    for (const JsonMember& member : object.members()) {
      const std::string_view key = member.key;
      if (resource_root && key == "resourceType") continue;
      if (!resource_root && (key == "id" || (is_extension && key == "url"))) continue;  // written as attributes
      if (key == "fhir_comments" || key == "_fhir_comments") continue;
      const bool is_twin = key.starts_with('_');
      const std::string_view name = is_twin ? key.substr(1) : key;
      Property* property = nullptr;
      for (Property& p : properties) {
        if (p.name == name) property = &p;
      }
      if (property == nullptr) {
        const std::optional<ModelInfo::ChildMatch> match =
            (!resource_root && name == "id") ? std::nullopt : model_.matchChild(defs, name);
        if (!match || match->element == nullptr || (match->element->is_choice && match->type_code.empty())) {
          return fail("unknown property '" + std::string(key) + "'");
        }
        for (const Property& p : properties) {
          if (p.def == match->element) {
            return fail("property '" + std::string(key) + "' conflicts with '" + std::string(p.name) + "'");
          }
        }
        properties.push_back({name, match->element,
                              match->element->is_choice ? match->type_code : elementTypeCode(*match->element)});
        property = &properties.back();
      }
      (is_twin ? property->twin : property->value) = &member.value;
    }
    // XML requires definition order; the JSON may come in any order.
    for (const ElementDef* def : defs) {
      for (const Property& property : properties) {
        if (property.def == def) RETURN_IF_ERROR(element(property, level));
      }
    }
    return Status::ok();
  }

  Status element(const Property& property, int level) {
    ElementPath::Scope scope(path_, property.name);
    if (!property.def->isArray()) {
      if ((property.value != nullptr && property.value->isArray()) ||
          (property.twin != nullptr && property.twin->isArray())) {
        return fail("property must not be an array");
      }
      return one(property, property.value, property.twin, level);
    }
    if ((property.value != nullptr && !property.value->isArray()) ||
        (property.twin != nullptr && !property.twin->isArray())) {
      return fail("property must be an array");
    }
    const size_t values = property.value != nullptr ? property.value->size() : 0;
    const size_t twins = property.twin != nullptr ? property.twin->size() : 0;
    if (property.value != nullptr && property.twin != nullptr && values != twins) {
      std::string message;
      message.append(1, '\'').append(property.name).append("' and '_").append(property.name);
      message.append("' have different lengths");
      return fail(message);
    }
    const size_t count = values > twins ? values : twins;
    for (size_t i = 0; i < count; ++i) {
      const JsonValue* value = i < values ? &property.value->items()[i] : nullptr;
      const JsonValue* twin = i < twins ? &property.twin->items()[i] : nullptr;
      path_.pop();  // re-push the scope's segment with its index
      path_.push(property.name, i);
      RETURN_IF_ERROR(one(property, value, twin, level));
    }
    return Status::ok();
  }

  Status one(const Property& property, const JsonValue* value, const JsonValue* twin, int level) {
    if (level > kMaxWriteDepth) return fail("nesting deeper than " + std::to_string(kMaxWriteDepth) + " elements");
    if (value != nullptr && value->isNull()) value = nullptr;
    if (twin != nullptr && twin->isNull()) twin = nullptr;
    const std::string_view type_code = property.type_code;
    const ValueShape shape = shapeOf(model_, type_code);
    if (shape == ValueShape::kXhtml) return xhtml(property.name, value, twin, level);
    if (shape == ValueShape::kPrimitive) return primitive(property.name, type_code, value, twin, level);
    if (twin != nullptr) return fail("'_" + std::string(property.name) + "' is only allowed on primitives");
    if (value == nullptr) return fail("null is only allowed in arrays of primitives");
    if (!value->isObject()) return fail("expected an object, got " + describe(value->kind()));
    if (shape == ValueShape::kResource) {
      openTag(property.name, level);
      return finishElement(property.name, level, [&] { return resource(*value, level + 1, false); });
    }
    const bool is_extension = type_code == "Extension";
    openTag(property.name, level);
    RETURN_IF_ERROR(idAndUrl(*value, is_extension));
    return finishElement(property.name, level, [&] {
      return children(*value, childrenFor(model_, *property.def, type_code), false, is_extension, level + 1);
    });
  }

  Status idAndUrl(const JsonValue& object, bool is_extension) {
    if (const JsonValue* id = object.find("id"); id != nullptr) {
      if (!id->isString()) return fail("'id' must be a string");
      RETURN_IF_ERROR(attribute("id", id->text()));
    }
    if (is_extension) {
      if (const JsonValue* url = object.find("url"); url != nullptr) {
        if (!url->isString()) return fail("'url' must be a string");
        RETURN_IF_ERROR(attribute("url", url->text()));
      }
    }
    return Status::ok();
  }

  Status primitive(std::string_view name, std::string_view type_code, const JsonValue* value, const JsonValue* twin,
                   int level) {
    if (value == nullptr && twin == nullptr) return fail("a primitive needs a value or '_" + std::string(name) + "'");
    if (twin != nullptr && !twin->isObject()) return fail("'_" + std::string(name) + "' must be an object");
    const JsonValue* extensions = nullptr;
    if (twin != nullptr) {
      for (const JsonMember& member : twin->members()) {
        if (member.key == "extension") {
          if (!member.value.isArray()) return fail("'extension' must be an array");
          extensions = &member.value;
        } else if (member.key != "id" && member.key != "fhir_comments") {
          return fail("unknown property '" + std::string(member.key) + "' in '_" + std::string(name) + "'");
        }
      }
    }
    openTag(name, level);
    if (twin != nullptr) RETURN_IF_ERROR(idAndUrl(*twin, false));
    if (value != nullptr) {
      std::string_view text;
      switch (primitiveJsonKind(type_code)) {
        case PrimitiveJson::kBool:
          if (!value->isBool()) return fail("expected a boolean, got " + describe(value->kind()));
          text = value->boolean() ? "true" : "false";
          break;
        case PrimitiveJson::kNumber:
          if (!value->isNumber()) return fail("expected a number, got " + describe(value->kind()));
          if (isIntegerCode(type_code) && !isValidNumber(value->text(), true)) {
            return fail("expected an integer, got " + std::string(value->text()));
          }
          text = value->text();
          break;
        case PrimitiveJson::kString:
          if (!value->isString()) return fail("expected a string, got " + describe(value->kind()));
          text = value->text();
          break;
      }
      RETURN_IF_ERROR(attribute("value", text));
    }
    return finishElement(name, level, [&]() -> Status {
      if (extensions == nullptr) return Status::ok();
      if (extension_defs_.empty()) {
        const TypeDef* extension = model_.type("Extension");
        if (extension == nullptr || extension->elements.empty()) return internalError("no definition of Extension");
        extension_defs_ = extension->rootChildren();
      }
      size_t i = 0;
      for (const JsonValue& extension : extensions->items()) {
        ElementPath::Scope scope(path_, "extension", i++);
        if (!extension.isObject()) return fail("an extension must be an object");
        openTag("extension", level + 1);
        RETURN_IF_ERROR(idAndUrl(extension, true));
        RETURN_IF_ERROR(finishElement("extension", level + 1, [&] {
          return children(extension, extension_defs_, false, true, level + 2);
        }));
      }
      return Status::ok();
    });
  }

  Status xhtml(std::string_view name, const JsonValue* value, const JsonValue* twin, int level) {
    if (twin != nullptr) return fail("'_" + std::string(name) + "' is not allowed on the narrative");
    if (value == nullptr || !value->isString()) return fail("the narrative div must be a string");
    // Parsing first proves the text is one well-formed XHTML div and cannot break out of its element.
    Result<XmlDocPtr> parsed = parseHardened(value->text(), XmlLimits{});
    if (!parsed.isOk()) return fail("narrative div: " + parsed.status().message());
    xmlNode* div = xmlDocGetRootElement(parsed->get());
    if (toView(div->name) != "div" || !inNamespace(div, kXhtmlNs)) {
      return fail("the narrative must be a <div> in namespace http://www.w3.org/1999/xhtml");
    }
    ASSIGN_OR_RETURN(std::string text, serializeElement(div));
    newline(level);
    out_ += text;
    return Status::ok();
  }

  const ModelInfo& model_;
  std::string& out_;
  bool pretty_;
  std::span<const ElementDef* const> extension_defs_;
  ElementPath path_;
};

}  // namespace

Result<std::string> fhirJsonToXml(const JsonValue& resource, bool pretty) {
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>";
  JsonToXml writer(ModelInfo::r4(), out, pretty);
  RETURN_IF_ERROR(writer.resource(resource, 0, true));
  if (pretty) out += '\n';
  return out;
}

}  // namespace planbro::fhir
