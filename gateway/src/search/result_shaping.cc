// Top-level filtering only: R4 defines _summary and _elements on top-level elements, so nothing below is touched.
#include "planbro/gateway/search/result_shaping.h"

#include <algorithm>

#include "planbro/fhir-model/json.h"
#include "planbro/fhir-model/model_info.h"

namespace planbro::gateway::search {
namespace {

using fhir::JsonMember;
using fhir::JsonValue;

constexpr std::string_view kSubsettedSystem = "http://terminology.hl7.org/CodeSystem/v3-ObservationValue";

// The definition of a top-level JSON member (choice names such as valueQuantity resolved), or nullptr.
const fhir::ElementDef* definitionOf(const fhir::TypeDef& type, std::string_view json_name) {
  auto match = fhir::ModelInfo::r4().matchChild(type.rootChildren(), json_name);
  return match ? match->element : nullptr;
}

JsonValue withSubsettedTag(fhir::JsonDocument& doc, const JsonValue& resource) {
  const JsonValue* meta = resource.find("meta");
  JsonValue meta_obj = (meta != nullptr && meta->isObject()) ? *meta : doc.makeObject({});
  std::vector<JsonValue> tags;
  if (const JsonValue* existing = meta_obj.find("tag"); existing != nullptr && existing->isArray()) {
    for (const JsonValue& t : existing->items()) {
      const JsonValue* code = t.find("code");
      if (code != nullptr && code->text() == "SUBSETTED") return resource;  // already marked
      tags.push_back(t);
    }
  }
  JsonMember tag_members[] = {{"system", doc.makeString(kSubsettedSystem)},
                              {"code", doc.makeString("SUBSETTED")},
                              {"display", doc.makeString("subsetted")}};
  tags.push_back(doc.makeObject(tag_members));
  JsonValue new_meta = doc.withMember(meta_obj, "tag", doc.makeArray(tags));
  return doc.withMember(resource, "meta", new_meta);
}

}  // namespace

Result<std::string> shapeResource(std::string_view json, SummaryMode summary, const std::vector<std::string>& elements) {
  if (elements.empty() && summary != SummaryMode::kTrue && summary != SummaryMode::kText &&
      summary != SummaryMode::kData) {
    return std::string(json);
  }
  auto parsed = fhir::JsonDocument::parse(std::string(json));
  if (!parsed.isOk()) return invalidArgument("cannot shape search entry: " + parsed.status().message());
  fhir::JsonDocument doc = std::move(parsed).value();
  const JsonValue& root = doc.root();
  const JsonValue* rt = root.find("resourceType");
  const fhir::TypeDef* type = (rt != nullptr && rt->isString()) ? fhir::ModelInfo::r4().type(rt->text()) : nullptr;
  if (type == nullptr || !root.isObject()) return invalidArgument("cannot shape search entry: not a resource");

  auto keep = [&](std::string_view key) {
    std::string_view name = key.starts_with('_') ? key.substr(1) : key;
    if (name == "resourceType" || name == "id" || name == "meta") return true;
    if (!elements.empty()) {
      const fhir::ElementDef* def = definitionOf(*type, name);
      return std::any_of(elements.begin(), elements.end(), [&](const std::string& e) {
        return e == name || (def != nullptr && e == def->name);
      });
    }
    const fhir::ElementDef* def = definitionOf(*type, name);
    switch (summary) {
      case SummaryMode::kTrue: return def != nullptr && def->is_summary;
      case SummaryMode::kText: return name == "text" || (def != nullptr && def->min >= 1);
      case SummaryMode::kData: return name != "text";
      default: return true;
    }
  };
  std::vector<JsonMember> kept;
  for (const JsonMember& m : root.members()) {
    if (keep(m.key)) kept.push_back(m);
  }
  if (kept.size() == root.size()) return std::string(json);
  JsonValue shaped = withSubsettedTag(doc, doc.makeObject(kept));
  return fhir::writeJson(shaped);
}

}  // namespace planbro::gateway::search
