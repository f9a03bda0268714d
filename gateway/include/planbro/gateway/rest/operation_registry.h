#pragma once
// FHIR operations ($name) by registration: each Operation names itself, the level it is invoked at (system `[base]/$x`,
// type `[base]/Type/$x`, instance `[base]/Type/id/$x`) and the methods it takes; the REST layer routes to it, parses
// the Parameters body, and lists it in the CapabilityStatement. Built-in operations ($validate) stay in the REST
// layer; everything else ($ip-status, $ip-deadlines, $ip-figures, ...) registers here, so two areas add operations
// side by side without touching each other's routes. Header-only: an operation's library depends on this header,
// not on the REST library.

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "planbro/fhir-model/json.h"
#include "planbro/fhir-model/operation_outcome.h"
#include "planbro/fhir-model/status.h"
#include "planbro/gateway/http/handler.h"
#include "planbro/gateway/rest/access_policy.h"
#include "planbro/gateway/search/search_executor.h"
#include "planbro/gateway/search/search_request.h"
#include "planbro/gateway/store/resource_store.h"

namespace planbro::gateway::rest {

enum class OperationLevel { kSystem, kType, kInstance };

/** One invocation, as the REST layer hands it over. Every pointer and view is valid for the call only. */
struct OperationCall {
  std::string_view method;             // "GET" or "POST"
  std::string_view type;               // type and instance level: the resource type in the path
  std::string_view id;                 // instance level: the id in the path
  const search::QueryParams* query = nullptr;   // the URL's query parameters, decoded (never null)
  /** A POST's body parsed as a Parameters resource (JSON or FHIR XML); null for a GET or an empty body. */
  const fhir::JsonValue* parameters = nullptr;
  http::RequestContext* context = nullptr;      // the request (principal, request id); never null
  std::string base;                             // the server's absolute base URL, no trailing '/'
  store::ResourceStore* store = nullptr;        // never null
  search::SearchExecutor* search = nullptr;     // never null; searches as the REST layer runs them
  store::Clock clock;                           // the injected clock (never empty)
  /** The REST layer's access decision for one resource the operation reads or reveals (AccessPolicy::decide on
   *  behalf of the requester). An operation never shows a resource this denies. */
  std::function<Status(AccessAction, std::string_view type, std::string_view id, std::string_view json)> decide;
  /** The requester's search narrowing (search_scope.h, AccessPolicy::narrowSearch): pass it to every search the
   *  operation runs (SearchExecutor::execute(request, scope)), so that hidden resources are neither matched nor
   *  counted against a bound. Empty: unrestricted. */
  search::ScopeFn scope;

  const std::string* queryParam(std::string_view name) const {
    for (const auto& [k, v] : *query) {
      if (k == name) return &v;
    }
    return nullptr;
  }
};

/** What an operation answers: a status and a compact JSON resource (a Parameters, a Bundle, a MeasureReport). */
struct OperationResult {
  int status = 200;
  std::string json;
  /** Set: `json` is sent as it is with this Content-Type (not rendered as FHIR JSON or XML): NDJSON exports. */
  std::string content_type;
  http::Headers headers;  // added to the response (a `Link` to the next part of an export)
};

/**
 * One operation. Stateless apart from its construction; invoke() is called on handler threads, concurrently, and
 * may block (store reads). A non-ok Status is answered as an OperationOutcome with its HTTP status
 * (kInvalidArgument 400, kNotFound 404, kUnprocessable 422, ...); `outcome`, when invoke adds issues to it, is sent
 * with them (their expression names the Parameters element at fault).
 */
class Operation {
 public:
  virtual ~Operation() = default;
  /** The name without '$': "ip-status". */
  virtual std::string_view name() const = 0;
  virtual OperationLevel level() const = 0;
  /** Type and instance level: the resource type it is defined on ("Patient"). */
  virtual std::string_view resourceType() const { return {}; }
  /** Whether GET may invoke it (operations without side effects whose parameters may stand in the URL). POST
   *  always may. */
  virtual bool allowsGet() const = 0;
  /** The canonical URL of its OperationDefinition (listed in the CapabilityStatement). */
  virtual std::string_view definitionUrl() const = 0;
  virtual Result<OperationResult> invoke(const OperationCall& call, fhir::OperationOutcome& outcome) const = 0;
};

/** The operations a RestHandler routes to. Filled at start-up on one thread, then read-only (any thread). */
class OperationRegistry {
 public:
  /** Adds `operation`. kAlreadyExists when one of the same name is registered at the same level and type. */
  Status add(std::shared_ptr<const Operation> operation) {
    if (!operation) return invalidArgument("operation registry: null operation");
    Key key{operation->level(), std::string(operation->resourceType()), std::string(operation->name())};
    if (by_key_.contains(key)) {
      return Status(StatusCode::kAlreadyExists, "operation $" + std::get<2>(key) + " is registered twice");
    }
    by_key_.emplace(std::move(key), operation);
    all_.push_back(std::move(operation));
    return Status::ok();
  }
  /** The operation `name` (without '$') at `level` on `type` (empty at system level), or nullptr. */
  const Operation* find(OperationLevel level, std::string_view type, std::string_view name) const {
    auto it = by_key_.find(Key{level, std::string(level == OperationLevel::kSystem ? std::string_view() : type),
                               std::string(name)});
    return it == by_key_.end() ? nullptr : it->second.get();
  }
  /** Every operation, in registration order. */
  const std::vector<std::shared_ptr<const Operation>>& all() const { return all_; }

 private:
  using Key = std::tuple<OperationLevel, std::string, std::string>;
  std::map<Key, std::shared_ptr<const Operation>> by_key_;
  std::vector<std::shared_ptr<const Operation>> all_;
};

}  // namespace planbro::gateway::rest
