#pragma once
// The single access-decision point of the gateway. Two questions reach it:
// - permitInteraction: may the requester perform this REST interaction on this resource type at all (the token's
//   scopes, the client's trust)? Asked once per interaction, batch and transaction entries each, before the body is
//   parsed, validated or checked against business rules, so an unauthorised client never sees 422 details.
// - decide: may the requester see or change this one resource? Every read, every search result (matches and
//   _include/_revinclude resources alike), every history entry and every write passes through it before it leaves
//   or enters the store; there is no path around it. Consent enforcement plugs in here (next: narrowing queries).
// The default allows everything.

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "planbro/fhir-model/status.h"
#include "planbro/gateway/http/handler.h"
#include "planbro/gateway/search/search_scope.h"

namespace planbro::gateway::security {

enum class AccessAction {
  kRead,       // read, vread, and a resource returned by a write (return=representation)
  kSearch,     // one resource in a search result (match or included)
  kHistory,    // one history entry (a tombstone has empty json)
  kCreate,
  kUpdate,     // update and patch
  kDelete,
  kValidate,   // $validate on a stored instance
};

std::string_view accessActionName(AccessAction action);

/** What is being accessed. `json` is the resource's stored JSON (without meta.versionId/lastUpdated); empty for a
 *  delete, a tombstone, or a type-level decision. Views are valid for the call only. */
struct AccessSubject {
  AccessAction action = AccessAction::kRead;
  std::string_view type;
  std::string_view id;
  std::string_view json;
};

/** One REST interaction about to run: its label (RequestContext::interaction: "read", "search-type", "create",
 *  "patch", "history-instance", "validate", ...) and its resource type ("" for system level). */
struct InteractionSubject {
  std::string_view interaction;
  std::string_view type;
};

/**
 * Thread-safe; called on handler threads (and on I/O threads when mayBlock() is false).
 * A non-ok Status denies: kUnauthenticated → 401, kPermissionDenied → 403 with a message that names the interaction
 * and type only, never anything about a resource. A denied search result or history entry is left out.
 */
class AccessPolicy {
 public:
  virtual ~AccessPolicy() = default;
  virtual Status decide(const http::RequestContext& context, const AccessSubject& subject) const = 0;
  /** Ok: the interaction may run (its resources still pass decide()). Default: ok. */
  virtual Status permitInteraction(const http::RequestContext& context, const InteractionSubject& subject) const {
    (void)context;
    (void)subject;
    return Status::ok();
  }
  /**
   * Whether decide() may block (read the database, ask a service). A policy that never does may also be asked on
   * an I/O thread, for reads answered from memory (RequestHandler::handleWithoutBlocking); otherwise those reads
   * go to a handler thread like all others. Conservative default: it may.
   */
  virtual bool mayBlock() const { return true; }

  /**
   * What a search on `type` may match for this requester (search_scope.h): pushed into every index query the
   * search runs, so hidden resources are neither returned, counted, paged over nor probed by chains, _has or
   * includes. Asked once per type and search. Default: kAll.
   */
  virtual Result<search::SearchScope> narrowSearch(const http::RequestContext& context, std::string_view type) const {
    (void)context;
    (void)type;
    return search::SearchScope::all();
  }

  /**
   * The redacting decision besides allow and deny: the JSON to show instead of a resource `decide()` permits, when
   * the requester may see its metadata only (the KE administrator, GW-48); nullopt to show it as stored.
   */
  virtual std::optional<std::string> redact(const http::RequestContext& context, std::string_view type,
                                            std::string_view json) const {
    (void)context;
    (void)type;
    (void)json;
    return std::nullopt;
  }
};

/** Allows everything (access control off: the loopback quick start). */
std::shared_ptr<AccessPolicy> makeAllowAllPolicy();

}  // namespace planbro::gateway::security
