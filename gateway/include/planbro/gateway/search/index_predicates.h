#pragma once
// Small builders of store::IndexPredicate for code that queries the search index directly (not through a parsed
// search request): a token match and a reference match, spelled once instead of field by field at each caller.

#include <optional>
#include <string>
#include <string_view>

#include "planbro/gateway/store/resource_store.h"

namespace planbro::gateway::search {

/** `param` = system|code, exactly. No system (nullopt): any system, as the search `param=code`. */
inline store::IndexPredicate tokenPredicate(std::string_view param, std::optional<std::string_view> system,
                                            std::string_view code) {
  store::IndexPredicate p;
  p.param = std::string(param);
  p.kind = store::IndexValueKind::kToken;
  if (system) p.system = std::string(*system);
  p.code = std::string(code);
  return p;
}

/** `param` refers to `type`/`id` (a local reference, any version). */
inline store::IndexPredicate referencePredicate(std::string_view param, std::string_view type, std::string_view id) {
  store::IndexPredicate p;
  p.param = std::string(param);
  p.kind = store::IndexValueKind::kReference;
  p.ref_type = std::string(type);
  p.ref_id = std::string(id);
  return p;
}

}  // namespace planbro::gateway::search
