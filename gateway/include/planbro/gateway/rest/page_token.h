#pragma once
// Opaque page tokens for the next/previous/self links of searches that came by POST `_search`: Norwegian practice
// sends a fødselsnummer in the form body precisely to keep it out of URLs (proxies, access logs, browser history),
// so the links of such a search carry the parameters sealed, not in clear. See docs/search.md.

#include <chrono>
#include <string>
#include <string_view>

#include "planbro/fhir-model/status.h"
#include "planbro/gateway/search/search_request.h"
#include "planbro/gateway/store/resource_store.h"

namespace planbro::gateway::rest {

/**
 * Seals search parameters into a URL-safe token with AES-256-GCM under a deployment key (every gateway node on the
 * same database shares it: ResourceStore::serverSecret), binding the resource type and an expiry. A token opens only
 * under the same key, for the same type, before it expires, and unaltered. Thread-safe (const).
 */
class PageTokenSealer {
 public:
  /** `key` must be store::kServerSecretSize bytes. */
  PageTokenSealer(std::string key, std::chrono::seconds lifetime);

  /** The token for `params` (the search's parameters, page cursor included) of a search on `type`. */
  std::string seal(std::string_view type, const search::QueryParams& params, store::Timestamp now) const;

  /**
   * The parameters sealed in `token`. Errors: kInvalidArgument when the token is malformed, altered, made under
   * another key or for another type, or expired (the message tells the client to repeat the search).
   */
  Result<search::QueryParams> open(std::string_view type, std::string_view token, store::Timestamp now) const;

 private:
  std::string key_;
  std::chrono::seconds lifetime_;
};

}  // namespace planbro::gateway::rest
