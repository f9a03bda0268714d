#pragma once
// Who created a Subscription, recorded with it: a Subscription pushes changes without any further request from its
// creator, so every event is checked against what the patient's consent lets that creator see now (docs/dispatch.md,
// "Consent per event"). The record is an extension the server writes from the authenticated principal of the
// client's write (identity, organisation, scopes; never the token), replacing whatever the body carried, and keeps
// through the gateway's own status writes.

#include <memory>
#include <string_view>

#include "planbro/fhir-model/json.h"
#include "planbro/fhir-model/status.h"
#include "planbro/gateway/ops/write_pipeline.h"
#include "planbro/gateway/security/principal.h"

namespace planbro::gateway::subscriptions {

inline constexpr std::string_view kCreatorUrl = "https://planbro.no/fhir/StructureDefinition/subscription-creator";

/**
 * `resource` (a Subscription) with its creator record set from `origin`: a client write (any source but
 * kSubscriptionsSource) loses any creator extension it carried and gets its principal's (none when the write has no
 * principal); the gateway's own status writes keep the stored one.
 */
fhir::JsonValue stampCreator(fhir::JsonDocument& doc, const fhir::JsonValue& resource, const ops::WriteOrigin& origin);

/** The creator recorded on `resource`; a Principal of kind kUnknown (who sees nothing of any patient) when none. */
std::shared_ptr<const security::Principal> readCreator(const fhir::JsonValue& resource);

}  // namespace planbro::gateway::subscriptions
