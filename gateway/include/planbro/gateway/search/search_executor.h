#pragma once
// Runs a parsed SearchRequest over the store's search index: chains and _has become nested index queries, pages use
// the store's keyset cursor, and _include / _revinclude are resolved with bounded fan-out (docs/search.md).

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "planbro/fhir-model/status.h"
#include "planbro/gateway/search/search_request.h"
#include "planbro/gateway/search/search_scope.h"
#include "planbro/gateway/store/resource_store.h"

namespace planbro::gateway::search {

struct ExecutorOptions {
  size_t max_included = 500;        // included + revincluded resources per page; beyond: a warning, the rest dropped
  int max_iterate_depth = 3;        // rounds of :iterate
  size_t max_chain_matches = 1000;  // target ids a chain or _has may collect; beyond: kInvalidArgument (narrow it)
  size_t max_sort_candidates = 5000;  // matches a _sort other than _id may order; beyond: kInvalidArgument
  size_t max_total = 100000;        // _total=accurate counts at most this many (then reports it as the total)
  /** Work budget of one search, in rows: every index query counts 1 plus the ids it returns, every resource read
   *  counts 1. Beyond it the search is kInvalidArgument ("narrow the search"); while resolving includes, the page
   *  is returned without the rest of them and with a warning. */
  size_t max_work_rows = 250000;
  /** SQLite: engine steps one index query may take (IndexQuery::max_engine_steps), a bound on the rows a single
   *  query examines; beyond: kInvalidArgument. 0: none. */
  int64_t max_query_steps = 200'000'000;
  /** The server's own base URL without a trailing slash ("https://host/fhir"), empty when unknown. A reference
   *  value under it (`subject=https://host/fhir/Patient/x`) is searched as the relative reference it stands for. */
  std::string own_base_url;
  /** JSON bytes of the resources one page holds, matches and includes together (0: none). Past it the page ends
   *  early with a next link and a warning (one resource always fits): a page of 1,000 stored resources of 16 MB
   *  each would otherwise be read into memory whole. `limits.search.max_page_bytes`. */
  size_t max_page_bytes = 64u << 20;
};

struct SearchResult {
  std::vector<store::ResourceVersion> matches;   // current versions, in result order
  std::vector<store::ResourceVersion> included;  // _include / _revinclude, no duplicates of matches
  std::optional<std::string> next_cursor;        // value for `_cursor` of the next link; unset on the last page
  std::optional<std::string> prev_cursor;        // only for sorted searches (offset pages)
  std::optional<size_t> total;                   // with _total=accurate or _summary=count
  std::vector<std::string> warnings;             // the request's warnings plus execution ones
  size_t work_rows = 0;                          // the work the search took, as counted against max_work_rows
};

/**
 * Executes searches. Thread-safe if the store is (it keeps no state besides options); blocking (waits on the
 * store). The store must outlive the executor. Errors: kInvalidArgument for a bad cursor, too broad a chain / sort or
 * a search beyond the work budget; a store failure keeps its code (kUnavailable: 503, else 500) but gets a generic
 * message: the store's detail goes to the server log only, never to the client.
 */
class SearchExecutor {
 public:
  explicit SearchExecutor(store::ResourceStore& store, ExecutorOptions options = {});

  Result<SearchResult> execute(const SearchRequest& request);
  /** As execute(request), narrowed by the requester's `scope` (search_scope.h) in every index query it runs: the
   *  matches, the total, every chain and _has level and every _revinclude query; a forward _include is kept only
   *  when it is itself in scope. kPermissionDenied (from `scope` or a metadata-only scope's parameter rule) is
   *  returned as is. */
  Result<SearchResult> execute(const SearchRequest& request, const ScopeFn& scope);

 private:
  store::ResourceStore& store_;
  ExecutorOptions options_;
};

}  // namespace planbro::gateway::search
