#include "planbro/gateway/subscriptions/topic.h"

#include <algorithm>
#include <fstream>
#include <sstream>

namespace planbro::gateway::subscriptions {
namespace {

std::string_view textOf(const fhir::JsonValue* v) { return v ? v->text() : std::string_view(); }

constexpr std::string_view kStructureDefinitionPrefix = "http://hl7.org/fhir/StructureDefinition/";

// "http://hl7.org/fhir/StructureDefinition/CarePlan" → "CarePlan"; a bare type name stays.
std::string typeOf(std::string_view uri) {
  if (uri.starts_with(kStructureDefinitionPrefix)) uri.remove_prefix(kStructureDefinitionPrefix.size());
  return std::string(uri);
}

Result<Topic> readTopic(const fhir::JsonValue& basic, const std::string& where) {
  Topic t;
  t.id = std::string(textOf(basic.find("id")));
  const fhir::JsonValue* extensions = basic.find("extension");
  if (extensions == nullptr) return invalidArgument(where + ": a SubscriptionTopic Basic without extensions");
  const std::string prefix = std::string(kTopicExtension) + ".";
  for (const fhir::JsonValue& e : extensions->items()) {
    const std::string_view url = textOf(e.find("url"));
    if (!url.starts_with(prefix)) continue;
    const std::string_view element = url.substr(prefix.size());
    if (element == "url") t.url = std::string(textOf(e.find("valueUri")));
    if (element == "title") t.title = std::string(textOf(e.find("valueString")));
    const fhir::JsonValue* parts = e.find("extension");
    if (element == "resourceTrigger" && parts != nullptr) {
      std::string type;
      for (const fhir::JsonValue& p : parts->items()) {
        if (textOf(p.find("url")) == "resource") type = typeOf(textOf(p.find("valueUri")));
      }
      if (type.empty()) return invalidArgument(where + ": a resourceTrigger names no resource");
      if (std::find(t.types.begin(), t.types.end(), type) == t.types.end()) t.types.push_back(type);
    }
    if (element == "canFilterBy" && parts != nullptr) {
      std::string type, parameter;
      for (const fhir::JsonValue& p : parts->items()) {
        if (textOf(p.find("url")) == "resource") type = typeOf(textOf(p.find("valueUri")));
        if (textOf(p.find("url")) == "filterParameter") parameter = std::string(textOf(p.find("valueString")));
      }
      if (!type.empty() && !parameter.empty()) t.filters[type].push_back(parameter);
    }
  }
  if (t.url.empty()) return invalidArgument(where + ": a SubscriptionTopic without a url");
  if (t.types.empty()) return invalidArgument(where + ": a SubscriptionTopic without a resourceTrigger");
  return t;
}

}  // namespace

bool isTopicBasic(const fhir::JsonValue& basic) {
  const fhir::JsonValue* code = basic.find("code");
  const fhir::JsonValue* codings = code ? code->find("coding") : nullptr;
  if (codings == nullptr) return false;
  for (const fhir::JsonValue& c : codings->items()) {
    if (textOf(c.find("system")) == "http://hl7.org/fhir/fhir-types" && textOf(c.find("code")) == "SubscriptionTopic") {
      return true;
    }
  }
  return false;
}

Result<std::shared_ptr<const TopicCatalog>> TopicCatalog::fromJson(const std::vector<std::string>& basics) {
  auto catalog = std::make_shared<TopicCatalog>();
  for (size_t i = 0; i < basics.size(); ++i) {
    const std::string where = "topic " + std::to_string(i);
    auto doc = fhir::JsonDocument::parse(basics[i]);
    if (!doc.isOk()) return invalidArgument(where + ": " + doc.status().message());
    if (textOf(doc->root().find("resourceType")) != "Basic" || !isTopicBasic(doc->root())) continue;
    ASSIGN_OR_RETURN(Topic t, readTopic(doc->root(), where));
    if (catalog->find(t.url) != nullptr) return invalidArgument(where + ": two topics with the url " + t.url);
    t.json = basics[i];
    catalog->topics_.push_back(std::move(t));
  }
  return std::shared_ptr<const TopicCatalog>(std::move(catalog));
}

Result<std::shared_ptr<const TopicCatalog>> TopicCatalog::loadDirectory(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> files;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_regular_file() && name.starts_with("Basic-") && name.ends_with(".json")) files.push_back(entry.path());
  }
  if (ec) return invalidArgument("topics: cannot read " + dir.string() + ": " + ec.message());
  std::sort(files.begin(), files.end());  // the same order on every node
  std::vector<std::string> basics;
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    auto doc = fhir::JsonDocument::parse(ss.str());
    if (!doc.isOk()) return invalidArgument("topics: " + f.string() + ": " + doc.status().message());
    basics.push_back(fhir::writeJson(doc->root()));
  }
  return fromJson(basics);
}

const Topic* TopicCatalog::find(std::string_view url) const {
  url = url.substr(0, url.find('|'));
  for (const Topic& t : topics_) {
    if (t.url == url) return &t;
  }
  return nullptr;
}

bool TopicCatalog::hasId(std::string_view id) const {
  return std::any_of(topics_.begin(), topics_.end(), [&](const Topic& t) { return t.id == id; });
}

}  // namespace planbro::gateway::subscriptions
