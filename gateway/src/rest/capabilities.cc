// The CapabilityStatement is generated from the same tables the handler and the search parser use, so it lists
// exactly what works: every concrete R4 resource type, the interactions the router implements, and each type's
// search parameters that the search parser accepts (composite, special and expression-less ones are left out), the
// `_include` values of its own reference parameters and the `_revinclude` values of the others' that point at it.

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "planbro/fhir-model/model_info.h"
#include "planbro/gateway/search/indexer.h"
#include "render.h"

namespace planbro::gateway::rest::detail {
namespace {

bool advertised(const fhir::SearchParamDef& p) {
  return p.type != fhir::SearchParamType::kComposite && p.type != fhir::SearchParamType::kSpecial && !p.expression.empty();
}

// For each resource type, the `_revinclude` values that can bring resources pointing at it: every reference
// parameter of every type whose targets name it (a parameter without targets may point anywhere).
std::map<std::string, std::vector<std::string>, std::less<>> reverseIncludes(const fhir::ModelInfo& model) {
  std::map<std::string, std::vector<std::string>, std::less<>> out;
  for (const fhir::TypeDef* source : model.resourceTypes()) {
    for (const fhir::SearchParamDef* p : search::searchParamsFor(source->name)) {
      if (p->type != fhir::SearchParamType::kReference || !advertised(*p)) continue;
      std::string value = source->name + ":" + p->code;
      if (p->target.empty()) {
        for (const fhir::TypeDef* t : model.resourceTypes()) out[t->name].push_back(value);
      } else {
        for (const std::string& t : p->target) out[t].push_back(value);
      }
    }
  }
  return out;
}

void appendStringArray(std::string& out, std::string_view name, const std::vector<std::string>& values) {
  if (values.empty()) return;
  out += ",\"";
  out += name;
  out += "\":[";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) out += ',';
    appendJsonString(out, values[i]);
  }
  out += ']';
}

// The registered operations of one level: `type` empty for the system level.
void appendOperations(std::string& out, const CapabilityExtras& extras, std::string_view type) {
  for (const CapabilityExtras::OperationEntry& op : extras.operations) {
    if (op.type != type) continue;
    out += R"(,{"name":)";
    appendJsonString(out, op.name);
    out += R"(,"definition":)";
    appendJsonString(out, op.definition);
    out += '}';
  }
}

std::string build(const CapabilityExtras& extras, store::Timestamp date) {
  const fhir::ModelInfo& model = fhir::ModelInfo::r4();
  const auto revincludes = reverseIncludes(model);
  std::string out;
  out.reserve(1u << 20);
  out += R"({"resourceType":"CapabilityStatement","status":"active","date":)";
  appendJsonString(out, formatInstant(date));
  out += R"(,"publisher":"planbro","kind":"instance","software":{"name":"planbro","version":"0.1.0"},)"
         R"("implementation":{"description":"planbro FHIR R4 gateway"},"fhirVersion":"4.0.1",)"
         R"("format":["json","xml"],"patchFormat":["application/json-patch+json","application/fhir+json","application/fhir+xml"],)"
         R"("rest":[{"mode":"server","resource":[)";
  bool first_type = true;
  for (const fhir::TypeDef* type : model.resourceTypes()) {
    if (!first_type) out += ',';
    first_type = false;
    out += R"({"type":)";
    appendJsonString(out, type->name);
    const bool read_only = std::find(extras.read_only_types.begin(), extras.read_only_types.end(), type->name) !=
                           extras.read_only_types.end();
    if (read_only) {
      // Served from the loaded conformance package: read and search only, by the catalog's own parameters.
      out += R"(,"documentation":"Served read-only from the conformance package the gateway enforces",)"
             R"("interaction":[{"code":"read"},{"code":"search-type"}],"versioning":"no-version",)"
             R"("searchParam":[{"name":"_id","type":"token"},{"name":"url","type":"uri"},{"name":"version","type":"token"},)"
             R"({"name":"name","type":"string"},{"name":"title","type":"string"},{"name":"status","type":"token"})";
      if (type->name == "StructureDefinition") {
        out += R"(,{"name":"type","type":"token"},{"name":"derivation","type":"token"},{"name":"kind","type":"token"})";
      }
      out += "]}";
      continue;
    }
    out += R"(,"interaction":[{"code":"read"},{"code":"vread"},{"code":"update"},{"code":"patch"},)"
           R"({"code":"delete"},{"code":"history-instance"},{"code":"history-type"},{"code":"create"},)"
           R"({"code":"search-type"}],"versioning":"versioned-update","readHistory":true,"updateCreate":true,)"
           R"("conditionalCreate":true,"conditionalRead":"full-support","conditionalUpdate":true,)"
           R"("conditionalDelete":"single","referencePolicy":["literal","local"])";
    if (auto profiles = extras.supported_profiles.find(type->name); profiles != extras.supported_profiles.end()) {
      appendStringArray(out, "supportedProfile", profiles->second);
    }
    std::vector<const fhir::SearchParamDef*> params;
    for (const fhir::SearchParamDef* p : search::searchParamsFor(type->name)) {
      if (advertised(*p)) params.push_back(p);
    }
    std::vector<std::string> includes;
    for (const fhir::SearchParamDef* p : params) {
      if (p->type == fhir::SearchParamType::kReference) includes.push_back(type->name + ":" + p->code);
    }
    appendStringArray(out, "searchInclude", includes);
    if (auto rev = revincludes.find(type->name); rev != revincludes.end()) {
      appendStringArray(out, "searchRevInclude", rev->second);
    }
    if (!params.empty()) {
      out += R"(,"searchParam":[)";
      for (size_t i = 0; i < params.size(); ++i) {
        if (i) out += ',';
        out += R"({"name":)";
        appendJsonString(out, params[i]->code);
        if (!params[i]->url.empty()) {
          out += R"(,"definition":)";
          appendJsonString(out, params[i]->url);
        }
        out += R"(,"type":)";
        appendJsonString(out, fhir::searchParamTypeName(params[i]->type));
        out += '}';
      }
      out += ']';
    }
    out += R"(,"operation":[{"name":"validate","definition":"http://hl7.org/fhir/OperationDefinition/Resource-validate"})";
    appendOperations(out, extras, type->name);
    out += "]}";
  }
  out += R"(],"interaction":[{"code":"transaction"},{"code":"batch"},{"code":"history-system"}],)"
         R"("operation":[{"name":"validate","definition":"http://hl7.org/fhir/OperationDefinition/Resource-validate"})";
  appendOperations(out, extras, "");
  out += "]}]}";
  return out;
}

}  // namespace

std::string capabilityStatementJson(const CapabilityExtras& extras, store::Timestamp date) {
  return build(extras, date);
}

}  // namespace planbro::gateway::rest::detail
