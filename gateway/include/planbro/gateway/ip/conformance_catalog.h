#pragma once
// The conformance resources the gateway enforces, served read-only: the StructureDefinitions, ValueSets,
// CodeSystems, ConceptMaps, OperationDefinitions and SearchParameters of the package folder the validator's
// ProfileSet is built from (conformance/ip/package by default). Loaded once at start from the same files, so what a
// client reads at GET [base]/StructureDefinition/<id> is exactly what its writes are held to; never in the store,
// so no client can change a profile and no two gateway nodes can disagree about one (docs/ip-operations.md).

#include <cstddef>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "planbro/fhir-model/status.h"
#include "planbro/gateway/search/search_request.h"

namespace planbro::gateway::ip {

/** One conformance resource, with the fields it can be searched by. */
struct ConformanceEntry {
  std::string resource_type;  // "StructureDefinition"
  std::string id;
  std::string url;
  std::string version;
  std::string name;
  std::string title;
  std::string status;
  std::string type;        // StructureDefinition.type ("CarePlan", "Extension"); empty for other kinds
  std::string derivation;  // StructureDefinition.derivation ("constraint"); empty for other kinds
  std::string kind;        // StructureDefinition.kind ("resource", "complex-type")
  std::string json;        // compact JSON, element order of the specification
};

/** Immutable once loaded; any number of threads may read it. */
class ConformanceCatalog {
 public:
  /** Whether resources of `resource_type` are served from the catalog (and not the store). */
  static bool servesType(std::string_view resource_type);

  /**
   * Loads every *.json and *.xml file in `dir` (not below it: examples live in sub-folders) whose resourceType is a
   * served type; other files are skipped. Errors (kInvalidArgument, naming the file): a file that does not parse, a
   * resource without an id, two resources of one type with the same id.
   */
  static Result<std::shared_ptr<const ConformanceCatalog>> loadDirectory(const std::filesystem::path& dir);
  /** One catalog of the resources of several folders (the IP package and the HL7 Norway no-basis profiles it
   *  builds on), each read as loadDirectory() reads one. Same errors; a type and id in two folders is one of them. */
  static Result<std::shared_ptr<const ConformanceCatalog>> loadDirectories(const std::vector<std::filesystem::path>& dirs);
  /** A catalog of the given entries (tests, and resources made in code). Same errors as loadDirectory(). */
  static Result<std::shared_ptr<const ConformanceCatalog>> fromEntries(std::vector<ConformanceEntry> entries);

  /** The resource `resource_type`/`id`, or nullptr. */
  const ConformanceEntry* find(std::string_view resource_type, std::string_view id) const;

  /**
   * The resources of `resource_type` matching every parameter of `params`, in id order: `_id`, `url` (exact; a
   * `|version` suffix also matches the version), `version`, `name` and `title` (starts with, case-insensitive;
   * `:exact` for the exact text), `status`, and for StructureDefinitions `type`, `derivation` and `kind`; each
   * value may be a comma-separated list of alternatives. Result parameters (`_count`, `_summary`, `_elements`,
   * `_format`, `_pretty`, `_total`) are ignored here. Errors: kInvalidArgument naming any other parameter.
   */
  Result<std::vector<const ConformanceEntry*>> search(std::string_view resource_type,
                                                      const search::QueryParams& params) const;

  /** The profile URLs (StructureDefinitions with derivation `constraint` and kind `resource`) on `resource_type`. */
  std::vector<std::string> profilesOf(std::string_view resource_type) const;

  /** The OperationDefinition with this canonical URL, or nullptr. */
  const ConformanceEntry* operationDefinition(std::string_view url) const;

  /** The display of `code` in the loaded CodeSystem `system`, or empty. */
  std::string_view display(std::string_view system, std::string_view code) const;

  size_t size() const { return entries_.size(); }
  const std::vector<ConformanceEntry>& entries() const { return entries_; }

 private:
  /** Appends the served resources of the files in `dir` to `entries`. */
  static Status appendDirectory(const std::filesystem::path& dir, std::vector<ConformanceEntry>& entries);

  std::vector<ConformanceEntry> entries_;  // sorted by (resource_type, id)
  std::map<std::string, std::string, std::less<>> displays_;  // "system|code" → display, from the CodeSystems
};

}  // namespace planbro::gateway::ip
