#include "render.h"

#include <charconv>
#include <cstdio>
#include <ctime>

#include "planbro/fhir-model/model_info.h"
#include "planbro/fhir-model/resource_json.h"

namespace planbro::gateway::rest::detail {

using fhir::JsonDocument;
using fhir::JsonMember;
using fhir::JsonValue;

std::optional<store::Timestamp> parseHttpDate(std::string_view text) {
  std::string s(text);
  std::tm tm{};
  const char* end = strptime(s.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (!end || *end != '\0') return std::nullopt;
  std::time_t secs = timegm(&tm);
  return store::Timestamp(std::chrono::microseconds(static_cast<int64_t>(secs) * 1000000));
}

std::string etagFor(int64_t version) { return "W/\"" + std::to_string(version) + "\""; }

std::optional<int64_t> parseEtag(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  if (text.starts_with("W/")) text.remove_prefix(2);
  if (text.size() >= 2 && text.front() == '"' && text.back() == '"') text = text.substr(1, text.size() - 2);
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size() || v < 0) return std::nullopt;
  return v;
}

void appendJsonString(std::string& out, std::string_view s) { fhir::writeJsonString(s, out); }

std::string encodeLinkQuery(const search::QueryParams& params) { return search::encodeQueryKeeping(params, ":/,@"); }

namespace {

JsonValue subsettedTag(JsonDocument& doc) {
  const JsonMember tag[] = {{"system", doc.makeString("http://terminology.hl7.org/CodeSystem/v3-ObservationValue")},
                            {"code", doc.makeString("SUBSETTED")},
                            {"display", doc.makeString("subsetted")}};
  return doc.makeObject(tag);
}

JsonValue addSubsettedTag(JsonDocument& doc, const JsonValue& resource) {
  const JsonValue* meta = resource.find("meta");
  JsonValue m = meta && meta->isObject() ? *meta : doc.makeObject({});
  std::vector<JsonValue> tags;
  if (const JsonValue* t = m.find("tag"); t && t->isArray()) tags.assign(t->items().begin(), t->items().end());
  tags.push_back(subsettedTag(doc));
  m = doc.withMember(m, "tag", doc.makeArray(tags));
  return doc.withMember(resource, "meta", m);
}

}  // namespace

JsonValue applyPresentation(JsonDocument& doc, const JsonValue& resource, const Presentation& p) {
  using search::SummaryMode;
  if (!p.subsetting() || !resource.isObject()) return resource;
  const JsonValue* rt = resource.find("resourceType");
  const fhir::ModelInfo& model = fhir::ModelInfo::r4();
  const fhir::TypeDef* type = rt && rt->isString() ? model.type(rt->text()) : nullptr;
  if (!type) return resource;
  auto children = type->rootChildren();
  std::vector<JsonMember> kept;
  for (const JsonMember& m : resource.members()) {
    std::string_view key = m.key;
    if (key == "resourceType" || key == "id" || key == "meta") {
      kept.push_back(m);
      continue;
    }
    std::string_view base = key.starts_with("_") ? key.substr(1) : key;
    auto match = model.matchChild(children, base);
    bool keep = false;
    if (!p.elements.empty()) {
      for (const std::string& e : p.elements) {
        if (e == base || (match && match->element->name == e)) keep = true;
      }
      if (match && match->element->is_modifier && match->element->min > 0) keep = true;
    } else if (p.summary == SummaryMode::kTrue) {
      keep = match && match->element->is_summary;
    } else if (p.summary == SummaryMode::kText) {
      keep = base == "text" || (match && match->element->min > 0);
    } else if (p.summary == SummaryMode::kData) {
      keep = base != "text";
    } else {
      keep = true;
    }
    if (keep) kept.push_back(m);
  }
  JsonValue out = doc.makeObject(kept);
  return addSubsettedTag(doc, out);
}

std::string renderResource(const store::ResourceVersion& v, const Presentation& presentation) {
  std::string meta_fields = "\"versionId\":\"" + std::to_string(v.version) + "\",\"lastUpdated\":\"" +
                            formatInstant(v.last_updated) + "\"";
  if (!presentation.subsetting()) {
    std::string prefix = "{\"resourceType\":";
    appendJsonString(prefix, v.type);
    prefix += ",\"id\":";
    appendJsonString(prefix, v.id);
    std::string_view json = v.json;
    if (json.starts_with(prefix)) {
      std::string_view rest = json.substr(prefix.size());
      std::string out;
      out.reserve(json.size() + meta_fields.size() + 16);
      out += prefix;
      if (rest.starts_with(",\"meta\":{}")) {
        out += ",\"meta\":{" + meta_fields + "}";
        out += rest.substr(10);
      } else if (rest.starts_with(",\"meta\":{")) {
        out += ",\"meta\":{" + meta_fields + ",";
        out += rest.substr(9);
      } else {
        out += ",\"meta\":{" + meta_fields + "}";
        out += rest;
      }
      return out;
    }
  }
  auto parsed = JsonDocument::parse(v.json);
  if (!parsed.isOk()) return v.json;  // stored bytes are always valid JSON; never fail a read over it
  JsonDocument& doc = *parsed;
  JsonValue root = doc.root();
  const JsonValue* meta = root.find("meta");
  JsonValue m = meta && meta->isObject() ? *meta : doc.makeObject({});
  m = doc.withMember(m, "versionId", doc.makeString(std::to_string(v.version)));
  m = doc.withMember(m, "lastUpdated", doc.makeString(formatInstant(v.last_updated)));
  root = doc.withMember(root, "meta", m);
  root = applyPresentation(doc, root, presentation);
  return fhir::writeResourceJson(root);
}

}  // namespace planbro::gateway::rest::detail
