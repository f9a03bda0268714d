#include "planbro/gateway/ip/plan_narrative_stage.h"

#include <map>

#include "planbro/fhir-model/resource_json.h"
#include "planbro/gateway/ip/plan_narrative.h"
#include "plan_reading.h"

namespace planbro::gateway::ip {
namespace {

// `resource` with text = {status: generated, div: `div`}, built in `doc`.
fhir::JsonValue withNarrative(fhir::JsonDocument& doc, const fhir::JsonValue& resource, const std::string& div) {
  fhir::JsonMember members[2] = {{"status", doc.makeString("generated")}, {"div", doc.makeString(div)}};
  return doc.withMember(resource, "text", doc.makeObject(members));
}

std::function<std::string(std::string_view, std::string_view)> displays(std::shared_ptr<const ConformanceCatalog> catalog) {
  if (!catalog) return {};
  return [catalog](std::string_view system, std::string_view code) { return std::string(catalog->display(system, code)); };
}

class NarrativeTransform : public ops::ResourceTransform {
 public:
  explicit NarrativeTransform(std::shared_ptr<const ConformanceCatalog> catalog) : display_(displays(std::move(catalog))) {}
  Result<fhir::JsonValue> transform(fhir::JsonDocument& doc, const fhir::JsonValue& resource) const override {
    if (!isIpCarePlan(resource)) return resource;
    NarrativeSources sources;
    sources.display = display_;
    return withNarrative(doc, resource, planNarrativeXhtml(resource, sources));
  }

 private:
  std::function<std::string(std::string_view, std::string_view)> display_;
};

class NarrativePresenter : public rest::ResourcePresenter {
 public:
  NarrativePresenter(store::Clock clock, std::shared_ptr<const ConformanceCatalog> catalog, size_t max_references)
      : clock_(std::move(clock)), display_(displays(std::move(catalog))), max_references_(max_references) {}

  bool presents(std::string_view type) const override { return type == "CarePlan"; }

  Result<std::optional<std::string>> present(const store::ResourceVersion& version, store::ResourceStore& store,
                                             const rest::VisibleCheck& visible) const override {
    if (version.type != "CarePlan" || version.deleted || version.json.empty()) return std::optional<std::string>();
    ASSIGN_OR_RETURN(fhir::JsonDocument doc, fhir::JsonDocument::parse(version.json));
    if (!isIpCarePlan(doc.root())) return std::optional<std::string>();
    // Each referenced resource is read once per narrative; a failed or denied read shows the reference unresolved.
    std::map<std::string, std::optional<fhir::JsonDocument>, std::less<>> read;
    Status failure;
    NarrativeSources sources;
    sources.display = display_;
    sources.today = detail::isoDate(clock_ ? clock_() : store::systemClock()());
    sources.resolve = [&](std::string_view reference) -> const fhir::JsonValue* {
      if (auto it = read.find(reference); it != read.end()) return it->second ? &it->second->root() : nullptr;
      if (read.size() >= max_references_) return nullptr;
      std::optional<fhir::JsonDocument>& slot = read[std::string(reference)];
      auto split = detail::splitReference(reference);
      if (!split) return nullptr;
      auto v = store.read(split->first, split->second);
      if (!v.isOk()) {
        if (v.status().code() != StatusCode::kNotFound && v.status().code() != StatusCode::kGone) failure = v.status();
        return nullptr;
      }
      if (v->deleted || !visible(v->type, v->id, v->json)) return nullptr;
      auto parsed = fhir::JsonDocument::parse(std::move(v->json));
      if (!parsed.isOk()) return nullptr;
      slot = std::move(parsed).value();
      return &slot->root();
    };
    std::string div = planNarrativeXhtml(doc.root(), sources);
    if (!failure.isOk()) return failure;
    return std::optional<std::string>(fhir::writeResourceJson(withNarrative(doc, doc.root(), div)));
  }

 private:
  store::Clock clock_;
  std::function<std::string(std::string_view, std::string_view)> display_;
  size_t max_references_;
};

}  // namespace

std::shared_ptr<const rest::ResourcePresenter> makePlanNarrativePresenter(store::Clock clock,
                                                                          std::shared_ptr<const ConformanceCatalog> catalog,
                                                                          size_t max_references) {
  return std::make_shared<NarrativePresenter>(std::move(clock), std::move(catalog), max_references);
}

std::shared_ptr<const ops::ResourceTransform> makePlanNarrativeTransform(std::shared_ptr<const ConformanceCatalog> catalog) {
  return std::make_shared<NarrativeTransform>(std::move(catalog));
}

std::shared_ptr<const ops::ResourceTransform> makePlanNarrativeTransform() { return makePlanNarrativeTransform(nullptr); }

}  // namespace planbro::gateway::ip
