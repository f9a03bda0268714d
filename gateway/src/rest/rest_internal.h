#pragma once
// Internal to the REST layer: the Call an interaction receives, the Reply it gives, request-parsing helpers, and
// RestHandler::Impl, whose interactions are defined by concern across rest_handler.cc (pipeline and routing),
// instance_interactions.cc, search_interactions.cc and bundle_interactions.cc.

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "planbro/fhir-model/json.h"
#include "planbro/fhir-model/operation_outcome.h"
#include "planbro/gateway/ops/operations.h"
#include "planbro/gateway/rest/page_token.h"
#include "planbro/gateway/rest/rest_handler.h"
#include "planbro/gateway/search/search_request.h"
#include "render.h"

namespace planbro::gateway::rest {

using fhir::JsonDocument;
using fhir::JsonMember;
using fhir::JsonValue;
using fhir::OperationOutcome;
using fhir::Severity;

enum class Format { kJson, kXml };
enum class ReturnPref { kRepresentation, kMinimal, kOutcome };

struct Reply {
  int status = 200;
  http::Headers headers;
  std::string json;                         // compact JSON body; empty: none (unless outcome)
  std::optional<OperationOutcome> outcome;   // an OperationOutcome body (errors and informational answers)
  bool declined = false;                    // StoreAccess::kMemoryOnly and the answer needs the database
  // _format / _pretty the interaction found beyond the URL's query (a POST _search form, a sealed page token): they
  // win over the query's and the Accept header.
  std::optional<Format> format;
  std::optional<bool> pretty;
  std::string raw_content_type;  // set: `json` is sent as it is with this Content-Type (an NDJSON export)
};

/** What a request may ask of the store: anything, or only what it answers from memory (on an I/O thread). */
enum class StoreAccess : uint8_t { kAny, kMemoryOnly };

struct PreferHeader {
  ReturnPref ret = ReturnPref::kRepresentation;
  search::Handling handling = search::Handling::kStrict;
};

// The query parameter of a sealed page link (page_token.h).
constexpr std::string_view kPageTokenParam = "_page";

Reply errorReply(int status, std::string_view code, std::string message, std::string location = {});
/** The answer of a StoreAccess::kMemoryOnly call that needs the database: the server asks again on a pool thread. */
inline Reply declinedReply() {
  Reply r;
  r.declined = true;
  return r;
}

Reply statusReply(const Status& s);

// A search parameter parse failure is always the client's request: 400, whatever code the parser chose.
Reply badRequest(const Status& s);

Reply outcomeReply(int status, OperationOutcome oo);
// 405 with the Allow header listing the methods `allow` names ("GET, POST").
Reply methodNotAllowed(std::string_view method, std::string allow);
// The answer to a write that failed: the status's HTTP code with the issues gathered (validation, references,
// business keys, each with its element), 415 for a media type, or a one-issue outcome of the status.
Reply prepareFailure(const Status& s, OperationOutcome& outcome);

std::string_view trim(std::string_view s);

std::string lower(std::string_view s);

// The media type of a Content-Type / Accept item without parameters, lower-cased.
std::string mediaType(std::string_view v);

std::optional<Format> formatOfMediaType(std::string_view mt);

PreferHeader parsePrefer(const http::Headers& headers);

std::string percentDecode(std::string_view s, bool* ok);

bool validHostHeader(std::string_view host);

std::string_view httpReason(int status);

std::string statusLine(int status);

int methodRank(std::string_view method);

// A conditional reference or URL: "Patient?identifier=...".
bool isConditionalUrl(std::string_view s);

/** The Patcher of a JSON Patch (`json_patch`) or FHIRPath Patch document `patch` (which must outlive it). A patch
 *  that fails on the resource is kUnprocessable (422); any other failure is the request's (kInvalidArgument). */
ops::Patcher patcherFor(bool json_patch, JsonValue patch, fhir::JsonLimits limits);

/** One interaction request after routing: what every interaction function receives. */
struct Call {
  std::string method;
  std::vector<std::string> segments;   // decoded path segments
  search::QueryParams params;          // decoded query parameters (plus a _search form body)
  const http::Headers* headers = nullptr;
  std::string_view body;
  const JsonValue* resource = nullptr; // a Bundle entry's resource, already parsed (no body then)
  http::RequestContext* context = nullptr;
  std::string base;                    // absolute base URL, no trailing '/'
  PreferHeader prefer;
  detail::Presentation presentation;
  bool in_bundle = false;
  std::string source_system;              // who writes through this call; empty: RestOptions::source_system
  bool seal_links = false;                // a POST _search: its links carry the parameters sealed (page_token.h)
  StoreAccess store_access = StoreAccess::kAny;
  // A batch or transaction entry: the search work (SearchResult::work_rows) this call takes is added here, so all
  // entries of one Bundle share RestOptions::max_bundle_work_rows. Null outside a Bundle.
  size_t* bundle_work_rows = nullptr;

  std::string_view header(std::string_view name) const { return headers ? headers->get(name) : std::string_view(); }
  const std::string* param(std::string_view name) const {
    for (const auto& [k, v] : params) {
      if (k == name) return &v;
    }
    return nullptr;
  }
};

class RestHandler::Impl {
 public:
  Impl(store::ResourceStore& store, RestOptions options)
      : store_(store),
        options_(std::move(options)),
        base_url_(std::make_shared<const std::string>(normalizedBaseUrl(options_.base_url))),
        executor_(store, executorOptions(options_)),
        ops_(store, executor_, operationsOptions(options_)),
        access_(options_.access ? options_.access : makeAllowAllPolicy()) {
    if (!options_.clock) options_.clock = store::systemClock();
    // Built once, up front, not on the first request; dated when this handler starts, by the injected clock.
    capability_json_ = detail::capabilityStatementJson(capabilityExtras(), options_.clock());
    // The page-token secret is made now, not on the first POST _search (which may come while this thread's
    // transaction holds the store's single writer: the secret's insert would wait for itself). A store that is
    // down now is asked again on first use.
    (void)pageTokenSealer();
  }

  /** `base` without trailing '/', or "http://localhost" when empty. */
  static std::string normalizedBaseUrl(std::string base);
  void setBaseUrl(std::string base) { base_url_.store(std::make_shared<const std::string>(normalizedBaseUrl(std::move(base)))); }

  /** nullopt only under StoreAccess::kMemoryOnly, when the answer needs the database. */
  /** `source_system`: who writes through this request; empty: RestOptions::source_system. */
  std::optional<http::Response> handle(const http::Request& request, http::RequestContext& context,
                                       StoreAccess access, std::string source_system = {});
  http::Response processBundleText(std::string text, http::RequestContext& context, std::string source_system);

 private:
  Reply dispatch(Call& call);
  Reply routeType(Call& call, const std::string& type);

  // Interactions.
  Reply read(Call& call, const std::string& type, const std::string& id);
  /** The answer to a read of the current version `v`: the access decision, conditional headers, the body. */
  Reply readReply(Call& call, const store::ResourceVersion& v);
  Reply vread(Call& call, const std::string& type, const std::string& id, const std::string& vid);
  Reply create(Call& call, const std::string& type);
  Reply update(Call& call, const std::string& type, const std::string& id);
  Reply conditionalUpdate(Call& call, const std::string& type);
  Reply remove(Call& call, const std::string& type, const std::string& id);
  Reply conditionalRemove(Call& call, const std::string& type);
  Reply patch(Call& call, const std::string& type, const std::string& id);
  Reply searchType(Call& call, const std::string& type);
  Reply history(Call& call, std::optional<std::string> type, std::optional<std::string> id);
  Reply validate(Call& call, const std::string& type, std::optional<std::string> id);
  Reply bundle(Call& call);
  /** A registered operation at `type`/`id` (empty at system level): method check, Parameters body, invoke. */
  Reply invokeOperation(Call& call, const Operation& op, std::string_view type, std::string_view id);
  /** Read and search of a type served from RestOptions::conformance; every write is 405. */
  Reply conformanceRoute(Call& call, const std::string& type);
  /** `v` as answered: through RestOptions::presenter when it presents v's type, then `presentation` applied. */
  std::string renderPresented(Call& call, const store::ResourceVersion& v, const detail::Presentation& presentation);
  /** The profiles and operations the CapabilityStatement lists beyond the R4 tables. */
  detail::CapabilityExtras capabilityExtras() const;
  Reply transaction(Call& call, const JsonValue& bundle_root);
  Reply batch(Call& call, const JsonValue& bundle_root);
  Reply batchEntry(Call& call, const JsonValue& entry, const std::string& method, size_t* work_rows);

  // Helpers.
  static ops::OperationsOptions operationsOptions(const RestOptions& options);
  /** The injected clock (RestOptions::clock): page-token lifetimes, Bundle meta.lastUpdated. */
  store::Timestamp now() const { return options_.clock(); }
  /** GET /metadata: built at construction (detail::capabilityStatementJson). */
  const std::string& capabilityStatement() const { return capability_json_; }
  /** The request's resource, parsed from JSON or FHIR XML into `doc`. With `xml_issues` (for $validate), XML
   *  content errors are collected there with their locations and the offending parts left out, instead of failing
   *  on the first; malformed XML still fails. */
  Result<JsonValue> bodyResource(Call& call, JsonDocument& doc, OperationOutcome* xml_issues = nullptr);
  Reply answerWrite(Call& call, const store::ResourceVersion& version, int status);
  /** The answer to an operation: 201/200/204 with the written version, or the failure with its issues. */
  Reply writeReply(Call& call, const Result<ops::WriteOutcome>& written, OperationOutcome& outcome);
  /** Who writes through `call`, and the access decision every prepared write of it passes. */
  ops::WriteContext writeContext(const Call& call) const;
  /** The interaction-level access decision (AccessPolicy::permitInteraction): nullopt to go on, else the reply
   *  (401/403; declined on an I/O thread when the policy may block). */
  std::optional<Reply> enterInteraction(Call& call, std::string_view interaction, std::string_view type);
  /** The requester's search narrowing (AccessPolicy::narrowSearch), for every search this call runs. */
  search::ScopeFn scopeFor(const Call& call) const {
    const http::RequestContext* context = call.context;
    const AccessPolicy* access = access_.get();
    return [context, access](std::string_view type) { return access->narrowSearch(*context, type); };
  }
  Status decide(const Call& call, AccessAction action, std::string_view type, std::string_view id,
                std::string_view json) const {
    return access_->decide(*call.context, AccessSubject{action, type, id, json});
  }
  Result<const PageTokenSealer*> pageTokenSealer();
  Status openPageToken(Call& call, const std::string& type);
  static search::ExecutorOptions executorOptions(const RestOptions& options);
  std::string bundleBody(Call& call, std::string_view type_name, const std::vector<std::string>& entries,
                         const std::vector<std::pair<std::string, std::string>>& links, std::optional<size_t> total);

  store::ResourceStore& store_;
  RestOptions options_;
  std::atomic<std::shared_ptr<const std::string>> base_url_;  // absolute, no trailing '/'
  search::SearchExecutor executor_;
  ops::Operations ops_;
  std::shared_ptr<AccessPolicy> access_;
  std::mutex sealer_mutex_;
  std::unique_ptr<PageTokenSealer> sealer_;  // made on first use from the store's secret
  std::string capability_json_;              // GET /metadata, built at construction, dated by options_.clock
};

}  // namespace planbro::gateway::rest
