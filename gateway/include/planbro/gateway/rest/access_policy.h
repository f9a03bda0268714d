#pragma once
// The single access-decision stage of the FHIR REST pipeline. Every read, every search result (matches and
// _include/_revinclude resources alike), every history entry and every write passes through one AccessPolicy
// before it leaves or enters the store; there is no path around it (batch and transaction entries too). The
// default allows everything; HelseID authentication and consent enforcement plug in here.

#include <memory>
#include <string_view>

#include "planbro/fhir-model/status.h"
#include "planbro/gateway/http/handler.h"

namespace planbro::gateway::rest {

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

/**
 * Decides whether the requester (context.principal) may perform `subject.action` on one resource. Ok: allowed.
 * Any non-ok Status denies: a single read/write is answered with that Status (kPermissionDenied → 403); a search
 * result or history entry is silently left out. Thread-safe; called on handler threads, may block briefly.
 */
class AccessPolicy {
 public:
  virtual ~AccessPolicy() = default;
  virtual Status decide(const http::RequestContext& context, const AccessSubject& subject) const = 0;
  /**
   * Whether decide() may block (read the database, ask a service). A policy that never does may also be asked on
   * an I/O thread, for reads answered from memory (RequestHandler::handleWithoutBlocking); otherwise those reads
   * go to a handler thread like all others. Conservative default: it may.
   */
  virtual bool mayBlock() const { return true; }
};

/** Allows everything (the default until authentication and consent land). */
std::shared_ptr<AccessPolicy> makeAllowAllPolicy();

}  // namespace planbro::gateway::rest
