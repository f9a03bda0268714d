#pragma once
// The shipped PLO / Dialogmelding / AppRec / MsgHead schemas compiled once into one libxml2 schema, every schema
// location resolved through the XML catalog next to them (xsd/catalog.xml). Nothing outside the catalog's directory
// is ever read and nothing is fetched: an import that names anything else fails the load.

#include <libxml/xmlschemas.h>

#include <memory>
#include <string>
#include <vector>

#include "planbro/adapters/plo/mapping_table.h"
#include "planbro/fhir-model/status.h"

namespace planbro::adapters::plo {

class SchemaSet {
 public:
  /**
   * Compiles every schema `mapping` names (MsgHead, AppRec, attachments, documents) from `schema_dir` (which holds
   * catalog.xml). Slow (hundreds of milliseconds): do it once at start-up. Errors: kInvalidArgument naming the
   * schema or the refused location.
   */
  static Result<std::shared_ptr<const SchemaSet>> load(const std::string& schema_dir, const MappingTable& mapping);

  ~SchemaSet();
  SchemaSet(const SchemaSet&) = delete;
  SchemaSet& operator=(const SchemaSet&) = delete;

  /**
   * Validates the whole document (a MsgHead with its contents, or an AppRec). Empty when valid, else at most
   * `max_errors` messages, each with its line. Thread-safe (one validation context per call); no I/O.
   */
  std::vector<std::string> validate(xmlDoc* doc, size_t max_errors = 10) const;

  /** The directory the schemas were loaded from (absolute). */
  const std::string& directory() const { return directory_; }

 private:
  SchemaSet() = default;
  xmlSchemaPtr schema_ = nullptr;
  std::string directory_;
};

/** The directory the product ships the schemas in: $PLANBRO_PLO_DATA_DIR/xsd when set, else the built-in path. */
std::string defaultPloDataDir();

}  // namespace planbro::adapters::plo
