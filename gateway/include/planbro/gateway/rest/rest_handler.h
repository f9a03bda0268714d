#pragma once
// The FHIR R4 REST interactions (http.html) as the HTTP server's RequestHandler: one pipeline per request —
// route → content negotiation → interaction (every resource it touches passes the AccessPolicy) → response
// (_format, _pretty, _summary, _elements). Every write goes through the operations layer (ops/operations.h) and
// its staged write pipeline (ops/write_pipeline.h); a transaction Bundle is one ops transaction. See docs/rest.md.

#include <chrono>
#include <memory>
#include <string>

#include "planbro/fhir-model/fhir_xml.h"
#include "planbro/fhir-model/json.h"
#include "planbro/fhir-model/status.h"
#include "planbro/gateway/http/handler.h"
#include "planbro/gateway/ip/conformance_catalog.h"
#include "planbro/gateway/rest/access_policy.h"
#include "planbro/gateway/rest/operation_registry.h"
#include "planbro/gateway/rest/resource_presenter.h"
#include "planbro/gateway/rest/write_path.h"
#include "planbro/gateway/search/search_executor.h"
#include "planbro/gateway/store/resource_store.h"

namespace planbro::gateway::rest {

struct RestOptions {
  /** The absolute base URL used in Location, fullUrl and links ("https://fhir.example.no/fhir"; trailing '/'
   *  ignored), and given to the search executor as its own base (ExecutorOptions::own_base_url, unless set there);
   *  empty: "http://localhost". Never taken from a request's Host header. `planbro serve` sets it from
   *  config::effectiveBaseUrl. */
  std::string base_url;
  fhir::JsonLimits json_limits;
  fhir::XmlLimits xml_limits;  // FHIR XML request bodies
  WriterOptions writer;
  search::ExecutorOptions search;
  /** Limits for parsing searches (max_parameters, max_or_values, max_chain_depth); handling and counts are set
   *  per request. */
  search::ParseOptions search_parse;
  std::shared_ptr<AccessPolicy> access;   // nullptr: allow all
  std::string source_system = "rest";     // recorded with every version and outbox event
  size_t max_bundle_entries = 1000;       // batch/transaction entries; beyond: 413
  // Search work (search::SearchResult::work_rows) all entries of one batch or transaction may take together; once
  // reached, the remaining entries are not run and answer 413 (`limits.max_bundle_work_rows`). 0: none.
  size_t max_bundle_work_rows = 1000000;
  int max_transaction_attempts = 5;       // retries of a transaction the database reports as retryable
  /** `rest.check_references`: local references (Type/id) must resolve on write (422 naming the element). Off for
   *  bulk loads whose references arrive out of order. */
  bool check_references = true;
  /** `rest.transaction_writer_budget_ms`: the longest one transaction may hold the store's writer turn. */
  std::chrono::milliseconds transaction_writer_budget{10000};
  /** `limits.max_bundle_response_bytes`: a batch/transaction response's size; entries beyond it answer an error
   *  entry with no resource. */
  size_t max_bundle_response_bytes = 64u << 20;
  /** One Patient per person number (fødselsnummer, D-nummer, H-nummer, FH-nummer): ops/identity_keys.h. */
  bool unique_person_numbers = true;
  /** The clock of the REST layer (writer budget, page-token lifetimes). Empty: the system clock. */
  store::Clock clock;
  size_t max_patch_operations = 1000;     // operations in one JSON Patch or FHIRPath Patch; beyond: 422 too-costly
  /** How long the sealed page links of a POST _search stay valid (page_token.h). */
  std::chrono::seconds page_token_lifetime{std::chrono::hours(1)};
  /** Operations beyond the built-in $validate ($ip-status, $ip-deadlines, $ip-figures, ...): routed at their level
   *  and listed in the CapabilityStatement. nullptr: none. */
  std::shared_ptr<const OperationRegistry> operations;
  /** The conformance resources of the loaded package, served read-only (read and search) for the types
   *  ip::ConformanceCatalog::servesType names; their profiles are listed as supportedProfile in the
   *  CapabilityStatement. nullptr: those types are ordinary stored resources. */
  std::shared_ptr<const ip::ConformanceCatalog> conformance;
  /** Between the store and the client on every way a resource leaves (the IP CarePlan narrative); nullptr: none. */
  std::shared_ptr<const ResourcePresenter> presenter;
};

/**
 * Answers FHIR requests for every R4 resource type over `store`. Thread-safe; blocking (store calls). The store
 * must outlive the handler. Never answers 500 for anything the client sent: every error is an OperationOutcome.
 */
class RestHandler : public http::RequestHandler {
 public:
  RestHandler(store::ResourceStore& store, RestOptions options = {});
  ~RestHandler() override;

  http::Response handle(const http::Request& request, http::RequestContext& context) override;
  /** A read by id (GET/HEAD [type]/[id]) whose current version the store holds in memory; nullopt for all else. */
  std::optional<http::Response> handleWithoutBlocking(const http::Request& request,
                                                      http::RequestContext& context) override;

  /**
   * Processes a batch or transaction Bundle (JSON text) as `POST /` would, on behalf of `context`: for loading demo
   * data and for adapters. Returns the HTTP response the REST client would get.
   */
  http::Response processBundle(std::string bundle_json, http::RequestContext& context);
  /** As above, recording `source_system` (e.g. "demo-loader") with every version and outbox event it writes. */
  http::Response processBundle(std::string bundle_json, http::RequestContext& context, std::string source_system);

  /**
   * Replaces RestOptions::base_url for the requests that follow (for a server listening on port 0, whose port is
   * known only once it listens). Thread-safe. The search executor keeps the base it was built with.
   */
  void setBaseUrl(std::string base_url);

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

/** What loadBundleIfEmpty() did, for the start-up log. */
struct BundleLoadReport {
  bool store_was_empty = false;  // false: nothing was attempted
  size_t entries = 0;            // entries in the transaction's response
  size_t created = 0;            // of them, answered 201 (the rest already existed: conditional creates)
};

/** The source system the demo loader's writes record (versions, outbox events, Provenance, AuditEvent). */
inline constexpr const char* kDemoLoaderSystem = "demo-loader";

/**
 * Loads a transaction Bundle file into `store` when it has no resources yet (the demo individual plan at start-up).
 * The loader is an in-process writer, not a network client: it runs the transaction through a RestHandler of its
 * own, built from `options` (the serving handler's: the same write pipeline — validation, IP rules, Provenance,
 * audit) but without the access policy (options.access is dropped) and recording kDemoLoaderSystem as the source
 * system. That handler is never reachable from the network; it lives for this call only. Errors: kNotFound when
 * the file is missing, the transaction's failure otherwise. `report`, when given, says what was done.
 */
Status loadBundleIfEmpty(store::ResourceStore& store, RestOptions options, const std::string& path,
                         BundleLoadReport* report = nullptr);

}  // namespace planbro::gateway::rest
