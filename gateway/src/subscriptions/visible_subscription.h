#pragma once
// What the Subscription instance operations ($status, $events) share: the Subscription they are called on, read
// and parsed on the requester's behalf.

#include "planbro/fhir-model/json.h"
#include "planbro/fhir-model/status.h"
#include "planbro/gateway/rest/operation_registry.h"

namespace planbro::gateway::subscriptions::detail {

/** Subscription/`call.id`, parsed, when it exists and the requester may read it. kNotFound ("… is not known") both
 *  when it does not exist and when the requester may not read it, so a call never tells the two apart; store and
 *  parse failures as they are. */
inline Result<fhir::JsonDocument> readVisibleSubscription(const rest::OperationCall& call) {
  const std::string id(call.id);
  ASSIGN_OR_RETURN(store::ResourceVersion current, call.store->read("Subscription", id));
  if (call.decide) {
    if (Status s = call.decide(rest::AccessAction::kRead, "Subscription", id, current.json); !s.isOk()) {
      return Status(StatusCode::kNotFound, "Subscription/" + id + " is not known");
    }
  }
  return fhir::JsonDocument::parse(current.json);
}

}  // namespace planbro::gateway::subscriptions::detail
