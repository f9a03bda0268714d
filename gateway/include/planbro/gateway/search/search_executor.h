#pragma once
// Runs a parsed SearchRequest over the store's search index: chains and _has become nested index queries, pages use
// the store's keyset cursor, and _include / _revinclude are resolved with bounded fan-out (docs/search.md).

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "planbro/fhir-model/status.h"
#include "planbro/gateway/search/search_request.h"
#include "planbro/gateway/store/resource_store.h"

namespace planbro::gateway::search {

struct ExecutorOptions {
  size_t max_included = 500;        // included + revincluded resources per page; beyond: a warning, the rest dropped
  int max_iterate_depth = 3;        // rounds of :iterate
  size_t max_chain_matches = 1000;  // target ids a chain or _has may collect; beyond: kInvalidArgument (narrow it)
  size_t max_sort_candidates = 5000;  // matches a _sort other than _id may order; beyond: kInvalidArgument
  size_t max_total = 100000;        // _total=accurate counts at most this many (then reports it as the total)
  std::string own_base_url;         // the server's own base ("https://fhir.example.no/fhir"), no trailing '/'
};

struct SearchResult {
  std::vector<store::ResourceVersion> matches;   // current versions, in result order
  std::vector<store::ResourceVersion> included;  // _include / _revinclude, no duplicates of matches
  std::optional<std::string> next_cursor;        // value for `_cursor` of the next link; unset on the last page
  std::optional<std::string> prev_cursor;        // only for sorted searches (offset pages)
  std::optional<size_t> total;                   // with _total=accurate or _summary=count
  std::vector<std::string> warnings;             // the request's warnings plus execution ones
};

/**
 * Executes searches. Thread-safe if the store is (it keeps no state besides options); blocking (waits on the
 * store). The store must outlive the executor. Errors: kInvalidArgument for a bad cursor or too broad a chain / sort,
 * store errors as the store returns them.
 */
class SearchExecutor {
 public:
  explicit SearchExecutor(store::ResourceStore& store, ExecutorOptions options = {});

  Result<SearchResult> execute(const SearchRequest& request);

 private:
  store::ResourceStore& store_;
  ExecutorOptions options_;
};

}  // namespace planbro::gateway::search
