#pragma once
// Consent enforcement on the outbound feed: the dispatcher's access hook (dispatch/access_policy.h) deciding, per
// receiver and per event, by the same consent rules as a REST read (consent_policy.h). A receiver is named by the
// subscriber's name and acts as its organisation (a system client trusted for it): it gets a change only when the
// resource (for a delete: the last version before it) lies in a patient compartment that organisation may see now.
// A refused event is not sent at all, so no tombstone ever names a hidden resource.

#include <map>
#include <memory>
#include <string>

#include "planbro/gateway/dispatch/access_policy.h"
#include "planbro/gateway/security/consent_policy.h"
#include "planbro/gateway/store/resource_store.h"

namespace planbro::gateway::security {

/** Who a subscriber's receiver is: the organisation it delivers to, by organisation number (as in HelseID) or, for a
 *  message receiver addressed in the address register, by HER-id (resolved per event to the organisation number of
 *  the Organization carrying that HER-id). */
struct DispatchReceiver {
  std::string organization_number;
  std::string child_organization_number;  // optional: the department
  std::string her_id;                     // used when organization_number is empty
};

/**
 * The consent policy of the outbound feed over `store` (which must outlive it). `receivers` maps subscriber names
 * to the organisation each delivers to; a subscriber not in it is an internal one (a loopback service, a
 * subscription channel doing its own checks) and passes unchanged. Types outside any patient compartment pass.
 * The entitlement is computed from the store per event, so a withdrawn or expired consent stops the feed at once.
 * A subscriber with `acting_for` (a stored Subscription's creator) is decided as that principal instead: its scopes
 * must grant read or search on the type, and in a patient compartment its entitlement must cover the resource
 * (emergency-access grants do not count for a feed).
 */
std::shared_ptr<dispatch::AccessPolicy> makeConsentDispatchPolicy(store::ResourceStore& store,
                                                                  ConsentPolicyOptions options,
                                                                  std::map<std::string, DispatchReceiver> receivers);

}  // namespace planbro::gateway::security
