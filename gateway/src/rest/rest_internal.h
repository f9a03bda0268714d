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
  bool retry_transaction = false;           // a conditional create lost a race inside a transaction
  bool declined = false;                    // StoreAccess::kMemoryOnly and the answer needs the database
  // _format / _pretty the interaction found beyond the URL's query (a POST _search form, a sealed page token): they
  // win over the query's and the Accept header.
  std::optional<Format> format;
  std::optional<bool> pretty;
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
// The answer to a write that could not be prepared: 422 with the validator's issues, 415, or the status's code.
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
  store::WriteTransaction* tx = nullptr;  // inside a transaction Bundle
  std::string forced_id;                  // a transaction POST's pre-assigned id
  bool in_bundle = false;
  bool seal_links = false;                // a POST _search: its links carry the parameters sealed (page_token.h)
  StoreAccess store_access = StoreAccess::kAny;

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
        writer_(options_.writer),
        base_url_(std::make_shared<const std::string>(normalizedBaseUrl(options_.base_url))),
        executor_(store, executorOptions(options_)),
        access_(options_.access ? options_.access : makeAllowAllPolicy()) {
    (void)detail::capabilityStatementJson();  // built once, up front, not on the first request
  }

  /** `base` without trailing '/', or "http://localhost" when empty. */
  static std::string normalizedBaseUrl(std::string base);
  void setBaseUrl(std::string base) { base_url_.store(std::make_shared<const std::string>(normalizedBaseUrl(std::move(base)))); }

  /** nullopt only under StoreAccess::kMemoryOnly, when the answer needs the database. */
  std::optional<http::Response> handle(const http::Request& request, http::RequestContext& context,
                                       StoreAccess access);
  http::Response processBundleText(std::string text, http::RequestContext& context);

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
  Reply transaction(Call& call, const JsonValue& bundle_root);
  Reply batch(Call& call, const JsonValue& bundle_root);

  // Helpers.
  Result<JsonValue> bodyResource(Call& call, JsonDocument& doc);
  Result<std::vector<std::string>> findIds(const std::string& type, const search::QueryParams& params, size_t limit);
  Result<std::vector<std::string>> findIds(std::string_view conditional_url, size_t limit);
  Reply writeResult(Call& call, const PreparedWrite& prepared);
  Reply answerWrite(Call& call, const store::ResourceVersion& version, int status);
  // `lost_claim` and `owner` (both optional) tell a conditional create that another request holds its key.
  Reply runPrepared(Call& call, const PreparedWrite& prepared, bool* lost_claim = nullptr, std::string* owner = nullptr);
  store::WriteContext writeContext(const http::RequestContext& context) const;
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
  ResourceWriter writer_;
  std::atomic<std::shared_ptr<const std::string>> base_url_;  // absolute, no trailing '/'
  search::SearchExecutor executor_;
  std::shared_ptr<AccessPolicy> access_;
  std::mutex sealer_mutex_;
  std::unique_ptr<PageTokenSealer> sealer_;  // made on first use from the store's secret
};

}  // namespace planbro::gateway::rest
