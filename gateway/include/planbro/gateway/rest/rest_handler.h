#pragma once
// The FHIR R4 REST interactions (http.html) as the HTTP server's RequestHandler: one pipeline per request —
// route → content negotiation → interaction (every resource it touches passes the AccessPolicy) → response
// (_format, _pretty, _summary, _elements). Writes go through the one write path (write_path.h). See docs/rest.md.

#include <chrono>
#include <memory>
#include <string>

#include "planbro/fhir-model/fhir_xml.h"
#include "planbro/fhir-model/json.h"
#include "planbro/fhir-model/status.h"
#include "planbro/gateway/http/handler.h"
#include "planbro/gateway/rest/access_policy.h"
#include "planbro/gateway/rest/write_path.h"
#include "planbro/gateway/search/search_executor.h"
#include "planbro/gateway/store/resource_store.h"

namespace planbro::gateway::rest {

struct RestOptions {
  /** The absolute base URL used in Location, fullUrl and links ("https://fhir.example.no/fhir"); empty: derived
   *  per request from the Host header ("http://HOST"). */
  std::string base_url;
  fhir::JsonLimits json_limits;
  fhir::XmlLimits xml_limits;  // FHIR XML request bodies
  WriterOptions writer;
  search::ExecutorOptions search;
  std::shared_ptr<AccessPolicy> access;   // nullptr: allow all
  std::string source_system = "rest";     // recorded with every version and outbox event
  size_t max_bundle_entries = 1000;       // batch/transaction entries; beyond: 413
  int max_transaction_attempts = 5;       // retries of a transaction the database reports as retryable
  /** How long the sealed page links of a POST _search stay valid (page_token.h). */
  std::chrono::seconds page_token_lifetime{std::chrono::hours(1)};
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

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

/**
 * Loads a transaction Bundle file into `handler`'s store when the store has no resources yet (the demo individual
 * plan at start-up). Errors: kNotFound when the file is missing, the transaction's failure otherwise.
 */
Status loadBundleIfEmpty(RestHandler& handler, store::ResourceStore& store, const std::string& path);

}  // namespace planbro::gateway::rest
