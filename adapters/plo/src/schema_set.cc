#include "planbro/adapters/plo/schema_set.h"

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/xmlerror.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>

#include "planbro/fhir-model/hardened_xml.h"
#include "xml_read.h"

#ifndef PLANBRO_PLO_DATA_DIR
#define PLANBRO_PLO_DATA_DIR "/usr/share/planbro/adapters/plo"
#endif

namespace planbro::adapters::plo {
namespace {

namespace fs = std::filesystem;

// The catalog: absolute locations (<uri>) and bare sibling names (<system>) mapped to files under the directory.
struct Catalog {
  std::string directory;
  std::map<std::string, std::string, std::less<>> by_uri;
  std::map<std::string, std::string, std::less<>> by_name;
  std::vector<std::string> refused;
};

Result<Catalog> readCatalog(const std::string& directory) {
  const std::string path = directory + "/catalog.xml";
  std::ifstream in(path, std::ios::binary);
  if (!in) return invalidArgument("PLO schemas: cannot read " + path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  fhir::XmlLimits limits;
  ASSIGN_OR_RETURN(fhir::XmlDocPtr doc, fhir::parseHardenedXml(text, limits));
  Catalog catalog;
  catalog.directory = directory;
  for (xmlNode* entry : xml::children(xmlDocGetRootElement(doc.get()))) {
    const std::string target = directory + "/" + xml::attribute(entry, "uri");
    if (xml::name(entry) == "uri") catalog.by_uri[xml::attribute(entry, "name")] = target;
    if (xml::name(entry) == "system") catalog.by_name[xml::attribute(entry, "systemId")] = target;
  }
  return catalog;
}

// The catalog of the load in progress on this thread; every other load meets an empty one and is refused.
thread_local Catalog* active_catalog = nullptr;

std::string resolve(Catalog& catalog, std::string_view url) {
  if (auto it = catalog.by_uri.find(url); it != catalog.by_uri.end()) return it->second;
  std::string_view path = url;
  if (path.starts_with("file://")) path.remove_prefix(7);
  if (path.starts_with(catalog.directory + "/") && path.find("/../") == std::string_view::npos) {
    std::error_code ec;
    if (fs::is_regular_file(fs::path(path), ec)) return std::string(path);
  }
  const size_t slash = path.find_last_of('/');
  const std::string_view base = slash == std::string_view::npos ? path : path.substr(slash + 1);
  if (auto it = catalog.by_name.find(base); it != catalog.by_name.end()) return it->second;
  return {};
}

xmlParserInputPtr catalogLoader(const char* url, const char* /*id*/, xmlParserCtxtPtr ctxt) {
  Catalog* catalog = active_catalog;
  if (catalog == nullptr || url == nullptr) return nullptr;  // outside a schema load nothing external is read
  const std::string path = resolve(*catalog, url);
  if (path.empty()) {
    catalog->refused.emplace_back(url);
    return nullptr;
  }
  return xmlNewInputFromFile(ctxt, path.c_str());
}

struct ErrorSink {
  std::vector<std::string> messages;
  size_t max = 10;
};

void collectError(void* user, xmlErrorPtr error) {
  auto* sink = static_cast<ErrorSink*>(user);
  if (error == nullptr || error->level == XML_ERR_WARNING || sink->messages.size() >= sink->max) return;
  std::string message = error->message != nullptr ? error->message : "schema error";
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  if (error->line > 0) message = "line " + std::to_string(error->line) + ": " + message;
  sink->messages.push_back(std::move(message));
}

std::string escapeAttribute(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '"') out += "&quot;";
    else if (c == '&') out += "&amp;";
    else if (c == '<') out += "&lt;";
    else out += c;
  }
  return out;
}

std::mutex load_mutex;  // the entity loader is process-wide: one schema load at a time

}  // namespace

std::string defaultPloDataDir() {
  if (const char* dir = std::getenv("PLANBRO_PLO_DATA_DIR"); dir != nullptr && *dir != '\0') return dir;
  return PLANBRO_PLO_DATA_DIR;
}

SchemaSet::~SchemaSet() {
  if (schema_ != nullptr) xmlSchemaFree(schema_);
}

Result<std::shared_ptr<const SchemaSet>> SchemaSet::load(const std::string& schema_dir, const MappingTable& mapping) {
  std::error_code ec;
  const fs::path absolute = fs::weakly_canonical(fs::absolute(schema_dir), ec);
  if (ec || !fs::is_directory(absolute)) return invalidArgument("PLO schemas: no directory " + schema_dir);
  ASSIGN_OR_RETURN(Catalog catalog, readCatalog(absolute.string()));

  // One driver schema importing every namespace the mapping knows, so that MsgHead's strict <Content> can check the
  // business document inside it in the same pass.
  std::string driver = "<xs:schema xmlns:xs=\"http://www.w3.org/2001/XMLSchema\">";
  std::vector<const DocumentMapping*> all = {&mapping.msghead};
  for (const DocumentMapping& document : mapping.documents) all.push_back(&document);
  for (const DocumentMapping* document : all) {
    const std::string file = catalog.directory + "/" + document->schema;
    if (!fs::is_regular_file(file, ec)) return invalidArgument("PLO schemas: missing " + document->schema);
    driver += "<xs:import namespace=\"" + escapeAttribute(document->ns) + "\" schemaLocation=\"" +
              escapeAttribute(file) + "\"/>";
  }
  driver += "</xs:schema>";

  std::lock_guard<std::mutex> lock(load_mutex);
  xmlInitParser();
  ErrorSink sink;
  active_catalog = &catalog;
  const xmlExternalEntityLoader previous = xmlGetExternalEntityLoader();
  xmlSetExternalEntityLoader(catalogLoader);
  xmlSchemaParserCtxtPtr parser = xmlSchemaNewMemParserCtxt(driver.data(), static_cast<int>(driver.size()));
  xmlSchemaPtr schema = nullptr;
  if (parser != nullptr) {
    xmlSchemaSetParserStructuredErrors(parser, collectError, &sink);
    schema = xmlSchemaParse(parser);
    xmlSchemaFreeParserCtxt(parser);
  }
  xmlSetExternalEntityLoader(previous);
  active_catalog = nullptr;
  if (!catalog.refused.empty()) {
    if (schema != nullptr) xmlSchemaFree(schema);
    return invalidArgument("PLO schemas: location outside the catalog refused: " + catalog.refused.front());
  }
  if (schema == nullptr || !sink.messages.empty()) {
    if (schema != nullptr) xmlSchemaFree(schema);
    return invalidArgument("PLO schemas do not compile: " +
                           (sink.messages.empty() ? std::string("unknown error") : sink.messages.front()));
  }
  std::shared_ptr<SchemaSet> set(new SchemaSet());
  set->schema_ = schema;
  set->directory_ = catalog.directory;
  return std::shared_ptr<const SchemaSet>(std::move(set));
}

std::vector<std::string> SchemaSet::validate(xmlDoc* doc, size_t max_errors) const {
  ErrorSink sink;
  sink.max = max_errors;
  xmlSchemaValidCtxtPtr context = xmlSchemaNewValidCtxt(schema_);
  if (context == nullptr) return {"cannot allocate a schema validation context"};
  xmlSchemaSetValidStructuredErrors(context, collectError, &sink);
  const int result = xmlSchemaValidateDoc(context, doc);
  xmlSchemaFreeValidCtxt(context);
  if (result != 0 && sink.messages.empty()) sink.messages.push_back("the document does not validate");
  return sink.messages;
}

}  // namespace planbro::adapters::plo
