#pragma once
// The REST layer's names for the access-decision point, which lives in the security library
// (planbro/gateway/security/access_policy.h): aliases only, no second definition.

#include "planbro/gateway/security/access_policy.h"

namespace planbro::gateway::rest {

using security::AccessAction;
using security::accessActionName;
using security::AccessPolicy;
using security::AccessSubject;
using security::InteractionSubject;
using security::makeAllowAllPolicy;

}  // namespace planbro::gateway::rest
