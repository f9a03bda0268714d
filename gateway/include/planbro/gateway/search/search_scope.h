#pragma once
// What a search may match for one requester, per resource type: the narrowing the access policy pushes into every
// index query a search runs (its matches, its totals, its chain and _has levels, its _include/_revinclude), so that
// nothing hidden is ever counted, paged over or probed. See docs/security.md, "Consent enforcement".

#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "planbro/fhir-model/status.h"
#include "planbro/gateway/store/resource_store.h"

namespace planbro::gateway::search {

struct SearchScope {
  enum class Kind {
    kAll,   // no narrowing
    kNone,  // nothing of this type is visible: every query on it matches nothing
    kOnly,  // only the resources matching any predicate of `any_of` (one more OR-group AND-ed to the query)
  };
  Kind kind = Kind::kAll;
  std::vector<store::IndexPredicate> any_of;
  /** When set, the only search parameters (and no _include/_revinclude, chain or _has) a search on this type may
   *  use: a requester who sees metadata only must not probe the rest by searching on it. */
  std::optional<std::set<std::string>> allowed_params;

  static SearchScope all() { return {}; }
  static SearchScope none() { return SearchScope{Kind::kNone, {}, std::nullopt}; }
};

/** The scope of `type` for the requester of one search; empty function: every type kAll. A non-ok Status fails the
 *  search with it (kPermissionDenied: 403). */
using ScopeFn = std::function<Result<SearchScope>(std::string_view type)>;

}  // namespace planbro::gateway::search
