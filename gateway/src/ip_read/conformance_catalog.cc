#include "planbro/gateway/ip/conformance_catalog.h"

#include <algorithm>
#include <fstream>
#include <functional>
#include <tuple>
#include <sstream>

#include "planbro/fhir-model/fhir_xml.h"
#include "planbro/fhir-model/json.h"
#include "planbro/fhir-model/resource_json.h"

namespace planbro::gateway::ip {
namespace {

constexpr std::string_view kServedTypes[] = {"StructureDefinition", "ValueSet",          "CodeSystem",
                                             "ConceptMap",          "OperationDefinition", "SearchParameter"};

std::string textOf(const fhir::JsonValue& resource, std::string_view key) {
  const fhir::JsonValue* v = resource.find(key);
  return v && v->isString() ? std::string(v->text()) : std::string();
}

std::string lowerAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::vector<std::string_view> alternatives(std::string_view value) {
  std::vector<std::string_view> out;
  while (true) {
    size_t comma = value.find(',');
    out.push_back(value.substr(0, comma));
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return out;
}

bool anyOf(std::string_view value, auto&& matches) {
  for (std::string_view alt : alternatives(value)) {
    if (matches(alt)) return true;
  }
  return false;
}

Result<fhir::JsonDocument> readResourceFile(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return invalidArgument("conformance: cannot read " + file.string());
  std::stringstream ss;
  ss << in.rdbuf();
  if (file.extension() == ".xml") {
    auto doc = fhir::fhirXmlToJson(ss.str());
    if (!doc.isOk()) return invalidArgument("conformance: " + file.string() + ": " + doc.status().message());
    return doc;
  }
  auto doc = fhir::JsonDocument::parse(ss.str());
  if (!doc.isOk()) return invalidArgument("conformance: " + file.string() + ": " + doc.status().message());
  return doc;
}

bool resultParameter(std::string_view name) {
  return name == "_count" || name == "_summary" || name == "_elements" || name == "_format" || name == "_pretty" ||
         name == "_total";
}

}  // namespace

bool ConformanceCatalog::servesType(std::string_view resource_type) {
  return std::find(std::begin(kServedTypes), std::end(kServedTypes), resource_type) != std::end(kServedTypes);
}

Result<std::shared_ptr<const ConformanceCatalog>> ConformanceCatalog::loadDirectory(const std::filesystem::path& dir) {
  return loadDirectories({dir});
}

Result<std::shared_ptr<const ConformanceCatalog>> ConformanceCatalog::loadDirectories(
    const std::vector<std::filesystem::path>& dirs) {
  std::vector<ConformanceEntry> entries;
  for (const std::filesystem::path& dir : dirs) RETURN_IF_ERROR(appendDirectory(dir, entries));
  return fromEntries(std::move(entries));
}

Status ConformanceCatalog::appendDirectory(const std::filesystem::path& dir, std::vector<ConformanceEntry>& entries) {
  std::error_code ec;
  std::vector<std::filesystem::path> files;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::filesystem::path& p = it->path();
    if (!it->is_regular_file(ec)) continue;
    std::string file_name = p.filename().string();
    if (file_name == "package.json" || file_name.starts_with('.')) continue;
    if (p.extension() == ".json" || p.extension() == ".xml") files.push_back(p);
  }
  if (ec) return invalidArgument("conformance: cannot list " + dir.string() + ": " + ec.message());
  std::sort(files.begin(), files.end());
  for (const std::filesystem::path& file : files) {
    ASSIGN_OR_RETURN(fhir::JsonDocument doc, readResourceFile(file));
    const fhir::JsonValue& r = doc.root();
    std::string type = textOf(r, "resourceType");
    if (!servesType(type)) continue;
    ConformanceEntry e;
    e.resource_type = type;
    e.id = textOf(r, "id");
    if (e.id.empty()) return invalidArgument("conformance: " + file.string() + ": the " + type + " has no id");
    e.url = textOf(r, "url");
    e.version = textOf(r, "version");
    e.name = textOf(r, "name");
    e.title = textOf(r, "title");
    e.status = textOf(r, "status");
    if (type == "StructureDefinition") {
      e.type = textOf(r, "type");
      e.derivation = textOf(r, "derivation");
      e.kind = textOf(r, "kind");
    }
    e.json = fhir::writeResourceJson(r);
    entries.push_back(std::move(e));
  }
  return Status::ok();
}

namespace {

void collectDisplays(const fhir::JsonValue* concepts, const std::string& system,
                     std::map<std::string, std::string, std::less<>>& out, int depth) {
  if (!concepts || depth > 32) return;
  for (const fhir::JsonValue& c : concepts->items()) {
    std::string code = textOf(c, "code"), display = textOf(c, "display");
    if (!code.empty() && !display.empty()) out.emplace(system + "|" + code, display);
    collectDisplays(c.find("concept"), system, out, depth + 1);
  }
}

}  // namespace

std::string_view ConformanceCatalog::display(std::string_view system, std::string_view code) const {
  std::string key = std::string(system) + "|" + std::string(code);
  auto it = displays_.find(key);
  return it == displays_.end() ? std::string_view() : std::string_view(it->second);
}

Result<std::shared_ptr<const ConformanceCatalog>> ConformanceCatalog::fromEntries(std::vector<ConformanceEntry> entries) {
  std::sort(entries.begin(), entries.end(), [](const ConformanceEntry& a, const ConformanceEntry& b) {
    return std::tie(a.resource_type, a.id) < std::tie(b.resource_type, b.id);
  });
  for (size_t i = 0; i < entries.size(); ++i) {
    if (entries[i].id.empty()) return invalidArgument("conformance: a " + entries[i].resource_type + " has no id");
    if (i > 0 && entries[i].resource_type == entries[i - 1].resource_type && entries[i].id == entries[i - 1].id) {
      return invalidArgument("conformance: two resources are " + entries[i].resource_type + "/" + entries[i].id);
    }
  }
  auto catalog = std::make_shared<ConformanceCatalog>();
  for (const ConformanceEntry& e : entries) {
    if (e.resource_type != "CodeSystem" || e.url.empty()) continue;
    auto doc = fhir::JsonDocument::parse(e.json);
    if (doc.isOk()) collectDisplays(doc->root().find("concept"), e.url, catalog->displays_, 0);
  }
  catalog->entries_ = std::move(entries);
  return std::shared_ptr<const ConformanceCatalog>(std::move(catalog));
}

const ConformanceEntry* ConformanceCatalog::find(std::string_view resource_type, std::string_view id) const {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), std::pair(resource_type, id),
                             [](const ConformanceEntry& e, const std::pair<std::string_view, std::string_view>& key) {
                               return std::pair<std::string_view, std::string_view>(e.resource_type, e.id) < key;
                             });
  if (it == entries_.end() || it->resource_type != resource_type || it->id != id) return nullptr;
  return &*it;
}

Result<std::vector<const ConformanceEntry*>> ConformanceCatalog::search(std::string_view resource_type,
                                                                        const search::QueryParams& params) const {
  using Match = std::function<bool(const ConformanceEntry&)>;
  std::vector<Match> filters;
  for (const auto& [raw_name, value] : params) {
    if (resultParameter(raw_name)) continue;
    std::string_view name = raw_name;
    std::string_view modifier;
    if (size_t colon = name.find(':'); colon != std::string_view::npos) {
      modifier = name.substr(colon + 1);
      name = name.substr(0, colon);
    }
    auto token = [&](std::string ConformanceEntry::*field) -> Status {
      if (!modifier.empty()) return invalidArgument("'" + raw_name + "': no modifiers are supported on '" + std::string(name) + "'");
      std::string v = value;
      filters.push_back([field, v](const ConformanceEntry& e) {
        return anyOf(v, [&](std::string_view alt) { return e.*field == alt; });
      });
      return Status::ok();
    };
    auto text = [&](std::string ConformanceEntry::*field) -> Status {
      if (!modifier.empty() && modifier != "exact") {
        return invalidArgument("'" + raw_name + "': only the :exact modifier is supported on '" + std::string(name) + "'");
      }
      bool exact = modifier == "exact";
      std::string v = value;
      filters.push_back([field, v, exact](const ConformanceEntry& e) {
        return anyOf(v, [&](std::string_view alt) {
          if (exact) return e.*field == alt;
          return lowerAscii(e.*field).starts_with(lowerAscii(alt));
        });
      });
      return Status::ok();
    };
    const bool structure = resource_type == "StructureDefinition";
    Status s;
    if (name == "_id") s = token(&ConformanceEntry::id);
    else if (name == "version") s = token(&ConformanceEntry::version);
    else if (name == "status") s = token(&ConformanceEntry::status);
    else if (name == "name") s = text(&ConformanceEntry::name);
    else if (name == "title") s = text(&ConformanceEntry::title);
    else if (structure && name == "type") s = token(&ConformanceEntry::type);
    else if (structure && name == "derivation") s = token(&ConformanceEntry::derivation);
    else if (structure && name == "kind") s = token(&ConformanceEntry::kind);
    else if (name == "url") {
      if (!modifier.empty()) return invalidArgument("'" + raw_name + "': no modifiers are supported on 'url'");
      std::string v = value;
      filters.push_back([v](const ConformanceEntry& e) {
        return anyOf(v, [&](std::string_view alt) {
          size_t bar = alt.find('|');
          if (bar == std::string_view::npos) return e.url == alt;
          return e.url == alt.substr(0, bar) && e.version == alt.substr(bar + 1);
        });
      });
    } else {
      return invalidArgument("unknown search parameter '" + raw_name + "' for " + std::string(resource_type) +
                             " (conformance resources are searched by _id, url, version, name, title, status" +
                             (structure ? ", type, derivation, kind)" : ")"));
    }
    if (!s.isOk()) return s;
  }
  std::vector<const ConformanceEntry*> out;
  for (const ConformanceEntry& e : entries_) {
    if (e.resource_type != resource_type) continue;
    if (std::all_of(filters.begin(), filters.end(), [&](const Match& m) { return m(e); })) out.push_back(&e);
  }
  return out;
}

std::vector<std::string> ConformanceCatalog::profilesOf(std::string_view resource_type) const {
  std::vector<std::string> out;
  for (const ConformanceEntry& e : entries_) {
    if (e.resource_type == "StructureDefinition" && e.derivation == "constraint" && e.kind == "resource" &&
        e.type == resource_type && !e.url.empty()) {
      out.push_back(e.url);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

const ConformanceEntry* ConformanceCatalog::operationDefinition(std::string_view url) const {
  for (const ConformanceEntry& e : entries_) {
    if (e.resource_type == "OperationDefinition" && e.url == url) return &e;
  }
  return nullptr;
}

}  // namespace planbro::gateway::ip
