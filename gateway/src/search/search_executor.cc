// Search execution over ResourceStore::searchIndex. The store offers AND-of-OR predicate groups, id-ordered keyset
// pages and nothing else, so chains, _has, sorting and includes are composed here from several index queries.
#include "planbro/gateway/search/search_executor.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <set>
#include <unordered_set>
#include <variant>

#include <spdlog/spdlog.h>

#include "planbro/fhir-model/json.h"
#include "planbro/fhir-model/model_info.h"
#include "planbro/gateway/search/indexer.h"

namespace planbro::gateway::search {
namespace {

using store::IndexPredicate;
using store::IndexQuery;
using store::IndexRow;
using store::IndexValueKind;
using store::ResourceVersion;

constexpr std::string_view kKeysetCursor = "k.";
constexpr std::string_view kOffsetCursor = "o.";

// An absolute reference under the server's own base becomes the relative one it stands for (R4 search: a relative
// reference resolving to the same value qualifies), so both forms find the same rows.
void relativizeOwnReferences(std::vector<IndexPredicate>& preds, const std::string& base) {
  for (IndexPredicate& p : preds) {
    if (p.kind != IndexValueKind::kReference || p.text.empty()) continue;
    std::optional<std::pair<std::string, std::string>> rel = relativeToBase(p.text, base);
    if (!rel) continue;
    p.ref_type = rel->first;
    p.ref_id = rel->second;
    p.text.clear();
  }
}

void relativizeOwnReferences(std::vector<Criterion>& criteria, const std::string& base) {
  for (Criterion& c : criteria) {
    relativizeOwnReferences(c.any_of, base);
    if (c.chain) {
      for (ChainTarget& t : c.chain->targets) {
        relativizeOwnReferences(t.any_of, base);
        relativizeOwnReferences(t.nested, base);
      }
    }
    if (c.has) {
      relativizeOwnReferences(c.has->any_of, base);
      relativizeOwnReferences(c.has->nested, base);
    }
  }
}

IndexPredicate referenceTo(const std::string& param, const std::string& type, const std::string& id) {
  IndexPredicate p;
  p.param = param;
  p.kind = IndexValueKind::kReference;
  p.ref_type = type;
  p.ref_id = id;
  return p;
}

IndexPredicate idIs(const std::string& id) {
  IndexPredicate p;
  p.param = "_id";
  p.kind = IndexValueKind::kToken;
  p.code = id;
  return p;
}

std::optional<fhir::JsonDocument> parseJson(const ResourceVersion& v) {
  auto doc = fhir::JsonDocument::parse(v.json);
  if (!doc.isOk()) return std::nullopt;
  return std::move(doc).value();
}

// A sort key value: missing values sort after present ones in either direction.
using SortValue = std::variant<std::monostate, int64_t, double, std::string>;

SortValue rowKey(const IndexRow& r, bool descending) {
  switch (r.kind) {
    case IndexValueKind::kDate: return descending ? r.date_high : r.date_low;
    case IndexValueKind::kNumber: return r.number;
    case IndexValueKind::kToken: return r.code;
    case IndexValueKind::kReference: return r.text.empty() ? r.ref_type + "/" + r.ref_id : r.text;
    case IndexValueKind::kString:
    case IndexValueKind::kUri: return r.text;
  }
  return std::monostate{};
}

// -1, 0, 1 with the key's direction applied; missing last.
int compareKeys(const SortValue& a, const SortValue& b, bool descending) {
  bool am = std::holds_alternative<std::monostate>(a), bm = std::holds_alternative<std::monostate>(b);
  if (am || bm) return am == bm ? 0 : (am ? 1 : -1);
  int c = 0;
  if (a.index() != b.index()) {
    c = a.index() < b.index() ? -1 : 1;
  } else if (a < b) {
    c = -1;
  } else if (b < a) {
    c = 1;
  }
  return descending ? -c : c;
}

}  // namespace

SearchExecutor::SearchExecutor(store::ResourceStore& store, ExecutorOptions options)
    : store_(store), options_(options) {}

namespace {

class Run {
 public:
  Run(store::ResourceStore& store, const ExecutorOptions& options, const SearchRequest& req, const ScopeFn& scope)
      : store_(store), options_(options), req_(req), scope_fn_(scope) {}

  Result<SearchResult> execute() {
    ASSIGN_OR_RETURN(SearchResult r, run());
    r.work_rows = work_;
    return r;
  }

 private:
  Result<SearchResult> run() {
    result_.warnings = req_.warnings;
    RETURN_IF_ERROR(checkAllowedParams());
    IndexQuery base;
    base.type = req_.type;
    bool empty = false;
    for (const Criterion& c : req_.criteria) {
      RETURN_IF_ERROR(addCriterion(c, base, empty));
      if (empty) break;
    }
    if (!empty) RETURN_IF_ERROR(narrow(base, empty));
    bool id_order = req_.sort.empty() || (req_.sort.size() == 1 && req_.sort[0].param == "_id" && !req_.sort[0].descending);
    if (req_.summary == SummaryMode::kCount) {
      size_t total = 0;
      if (!empty) {
        bool truncated = false;
        ASSIGN_OR_RETURN(std::vector<std::string> ids, collectIds(base, options_.max_total, &truncated));
        total = ids.size();
        if (truncated) result_.warnings.push_back("total counted up to " + std::to_string(options_.max_total));
      }
      result_.total = total;
      return std::move(result_);
    }
    if (empty) {
      if (req_.total == TotalMode::kAccurate) result_.total = 0;
      return std::move(result_);
    }
    if (id_order) {
      RETURN_IF_ERROR(keysetPage(base));
    } else {
      RETURN_IF_ERROR(sortedPage(base));
    }
    RETURN_IF_ERROR(includes());
    return std::move(result_);
  }

  // ---- narrowing (search_scope.h) --------------------------------------------------------------------------------

  // The requester's scope of `type`, asked once per type and search.
  Result<const SearchScope*> scopeOf(const std::string& type) {
    if (!scope_fn_) return &kUnrestricted;
    auto it = scopes_.find(type);
    if (it == scopes_.end()) {
      ASSIGN_OR_RETURN(SearchScope s, scope_fn_(type));
      it = scopes_.emplace(type, std::move(s)).first;
    }
    return &it->second;
  }

  // AND-s the requester's scope of q.type to `q`: every index query of the search goes through here, so matches,
  // totals, pages, chain and _has levels and reverse includes never see a hidden resource.
  Status narrow(IndexQuery& q, bool& empty) {
    ASSIGN_OR_RETURN(const SearchScope* scope, scopeOf(q.type));
    switch (scope->kind) {
      case SearchScope::Kind::kAll: return Status::ok();
      case SearchScope::Kind::kNone: empty = true; return Status::ok();
      case SearchScope::Kind::kOnly: addGroup(q, scope->any_of, empty); return Status::ok();
    }
    return Status::ok();
  }

  // Whether (type, id), read for a forward _include, is itself visible: one index query with the scope AND-ed.
  Result<bool> visible(const std::string& type, const std::string& id) {
    IndexQuery q;
    q.type = type;
    q.all_of.push_back({idIs(id)});
    bool empty = false;
    RETURN_IF_ERROR(narrow(q, empty));
    if (empty) return false;
    if (q.all_of.size() == 1) return true;  // kAll
    q.count = 1;
    ASSIGN_OR_RETURN(store::IndexPage page, indexPage(q));
    return !page.ids.empty();
  }

  // A metadata-only scope allows searching on its own parameters only (no chain, _has or includes).
  Status checkAllowedParams() {
    ASSIGN_OR_RETURN(const SearchScope* scope, scopeOf(req_.type));
    if (!scope->allowed_params) return Status::ok();
    if (!req_.includes.empty() || !req_.revincludes.empty()) {
      return Status(StatusCode::kPermissionDenied, "_include and _revinclude are not available to this requester on " +
                                                       req_.type);
    }
    for (const Criterion& c : req_.criteria) {
      std::string name = c.name.substr(0, c.name.find_first_of(":."));
      if (c.chain || c.has || !scope->allowed_params->contains(name)) {
        return Status(StatusCode::kPermissionDenied,
                      "the search parameter '" + c.name + "' is not available to this requester on " + req_.type);
      }
    }
    for (const SortKey& k : req_.sort) {
      if (!scope->allowed_params->contains(k.param)) {
        return Status(StatusCode::kPermissionDenied, "_sort by '" + k.param + "' is not available to this requester");
      }
    }
    return Status::ok();
  }

  // Counts `rows` against the search's work budget.
  Status charge(size_t rows) {
    work_ += rows;
    if (work_ <= options_.max_work_rows) return Status::ok();
    over_budget_ = true;
    return invalidArgument("the search needs more than " + std::to_string(options_.max_work_rows) +
                           " rows of work (search.max_work_rows); narrow it (fewer values, a more selective "
                           "parameter, fewer includes)");
  }

  Result<store::IndexPage> indexPage(IndexQuery q) {
    RETURN_IF_ERROR(charge(1));
    q.max_engine_steps = options_.max_query_steps;
    ASSIGN_OR_RETURN(store::IndexPage page, store_.searchIndex(q));
    RETURN_IF_ERROR(charge(page.ids.size()));
    return page;
  }

  // Every id matching `q`, in id order, at most `limit` (truncated set when more exist).
  Result<std::vector<std::string>> collectIds(IndexQuery q, size_t limit, bool* truncated) {
    std::vector<std::string> ids;
    q.count = store::kMaxPageSize;
    q.after_id.reset();
    for (size_t round = 0; round <= limit / store::kMaxPageSize + 1; ++round) {
      ASSIGN_OR_RETURN(store::IndexPage page, indexPage(q));
      for (std::string& id : page.ids) {
        if (ids.size() == limit) {
          *truncated = true;
          return ids;
        }
        ids.push_back(std::move(id));
      }
      if (!page.next_after_id) return ids;
      q.after_id = page.next_after_id;
    }
    *truncated = true;
    return ids;
  }

  Result<std::vector<std::string>> boundedIds(const IndexQuery& q, const std::string& what) {
    bool truncated = false;
    ASSIGN_OR_RETURN(std::vector<std::string> ids, collectIds(q, options_.max_chain_matches, &truncated));
    if (truncated) {
      return invalidArgument("'" + what + "' matches more than " + std::to_string(options_.max_chain_matches) +
                             " resources; narrow the search");
    }
    return ids;
  }

  // Adds id-set predicates as one AND-ed criterion: the store looks the whole set up as one list (one IN over the
  // index), whatever its size (bounded by max_chain_matches).
  static void addGroup(IndexQuery& q, std::vector<IndexPredicate> group, bool& empty) {
    if (group.empty()) {
      empty = true;
      return;
    }
    q.all_of.push_back(std::move(group));
  }

  // The query on `type` for a chain target or a _has source: its own predicates AND its nested levels. `empty`
  // when a nested level already matches nothing.
  Status subQuery(const std::string& type, const std::vector<IndexPredicate>& any_of,
                  const std::vector<Criterion>& nested, IndexQuery& q, bool& empty) {
    q.type = type;
    if (!any_of.empty()) q.all_of.push_back(any_of);
    for (const Criterion& n : nested) {
      RETURN_IF_ERROR(addCriterion(n, q, empty));
      if (empty) return Status::ok();
    }
    if (q.all_of.empty()) return invalidArgument("a chained search level has no condition");
    return narrow(q, empty);
  }

  // Adds criterion `c` on the resources of q.type (the searched type, or a chain / _has level below it).
  Status addCriterion(const Criterion& c, IndexQuery& q, bool& empty) {
    if (c.chain) {
      std::vector<IndexPredicate> group;
      for (const ChainTarget& t : c.chain->targets) {
        IndexQuery tq;
        bool none = false;
        RETURN_IF_ERROR(subQuery(t.type, t.any_of, t.nested, tq, none));
        if (none) continue;
        ASSIGN_OR_RETURN(std::vector<std::string> ids, boundedIds(tq, c.name));
        for (const std::string& id : ids) group.push_back(referenceTo(c.chain->reference_param, t.type, id));
      }
      if (group.size() > options_.max_chain_matches) {
        return invalidArgument("'" + c.name + "' matches too many resources; narrow the search");
      }
      addGroup(q, std::move(group), empty);
      return Status::ok();
    }
    if (c.has) {
      IndexQuery sq;
      bool none = false;
      RETURN_IF_ERROR(subQuery(c.has->source_type, c.has->any_of, c.has->nested, sq, none));
      if (none) {
        empty = true;
        return Status::ok();
      }
      ASSIGN_OR_RETURN(std::vector<std::string> sources, boundedIds(sq, c.name));
      std::set<std::string> targets;
      for (const std::string& id : sources) {
        RETURN_IF_ERROR(charge(1));
        auto v = store_.read(c.has->source_type, id);
        if (!v.isOk()) continue;  // deleted since the index query
        auto doc = parseJson(*v);
        if (!doc) continue;
        auto rows = indexParameter(doc->root(), c.has->reference_param);
        if (!rows.isOk()) continue;
        for (const IndexRow& r : *rows) {
          if (r.kind != IndexValueKind::kReference) continue;
          if (r.ref_type == q.type) {
            targets.insert(r.ref_id);
          } else if (auto rel = relativeToBase(r.text, options_.own_base_url); rel && rel->first == q.type) {
            targets.insert(rel->second);
          }
        }
      }
      if (targets.size() > options_.max_chain_matches) {
        return invalidArgument("'" + c.name + "' matches too many resources; narrow the search");
      }
      std::vector<IndexPredicate> group;
      for (const std::string& id : targets) group.push_back(idIs(id));
      addGroup(q, std::move(group), empty);
      return Status::ok();
    }
    q.all_of.push_back(c.any_of);
    return Status::ok();
  }

  Status readInto(const std::string& type, const std::string& id, std::vector<ResourceVersion>& out) {
    RETURN_IF_ERROR(charge(1));
    auto v = store_.read(type, id);
    if (v.isOk()) {
      out.push_back(std::move(v).value());
      return Status::ok();
    }
    if (v.status().code() == StatusCode::kNotFound || v.status().code() == StatusCode::kGone) return Status::ok();
    return v.status();
  }

  Status keysetPage(IndexQuery q) {
    if (req_.cursor) {
      if (!req_.cursor->starts_with(kKeysetCursor) || req_.cursor->size() == kKeysetCursor.size()) {
        return invalidArgument("invalid _cursor '" + *req_.cursor + "'");
      }
      q.after_id = req_.cursor->substr(kKeysetCursor.size());
    }
    q.count = std::clamp<size_t>(req_.count, 1, store::kMaxPageSize);
    ASSIGN_OR_RETURN(store::IndexPage page, indexPage(q));
    bool cut = false;
    for (size_t i = 0; i < page.ids.size() && !cut; ++i) {
      RETURN_IF_ERROR(readInto(req_.type, page.ids[i], result_.matches));
      if (i + 1 < page.ids.size() && pageFull()) {
        // The page ends early; the next one continues after the last id read (a keyset cursor, as the store's).
        result_.next_cursor = std::string(kKeysetCursor) + page.ids[i];
        cut = true;
      }
    }
    if (!cut && page.next_after_id) result_.next_cursor = std::string(kKeysetCursor) + *page.next_after_id;
    if (req_.total == TotalMode::kAccurate) {
      bool truncated = false;
      q.after_id.reset();
      ASSIGN_OR_RETURN(std::vector<std::string> all, collectIds(q, options_.max_total, &truncated));
      (void)truncated;
      result_.total = all.size();
    }
    return Status::ok();
  }

  // Sorting by anything but ascending id: the store orders by id only, so all candidates are read, keyed and
  // ordered here, and pages are offsets into that order (stable while the matching set does not change).
  Status sortedPage(const IndexQuery& q) {
    size_t offset = 0;
    if (req_.cursor) {
      std::string_view c = *req_.cursor;
      if (!c.starts_with(kOffsetCursor)) return invalidArgument("invalid _cursor '" + *req_.cursor + "'");
      c.remove_prefix(kOffsetCursor.size());
      auto [ptr, ec] = std::from_chars(c.data(), c.data() + c.size(), offset);
      if (ec != std::errc() || ptr != c.data() + c.size()) return invalidArgument("invalid _cursor '" + *req_.cursor + "'");
    }
    bool truncated = false;
    ASSIGN_OR_RETURN(std::vector<std::string> ids, collectIds(q, options_.max_sort_candidates, &truncated));
    if (truncated) {
      return invalidArgument("_sort over more than " + std::to_string(options_.max_sort_candidates) +
                             " matches is not supported; narrow the search or sort by _id");
    }
    struct Entry {
      ResourceVersion version;
      std::vector<SortValue> keys;
    };
    std::vector<Entry> entries;
    entries.reserve(ids.size());
    for (const std::string& id : ids) {
      std::vector<ResourceVersion> one;
      RETURN_IF_ERROR(readInto(req_.type, id, one));
      if (one.empty()) continue;
      Entry e{std::move(one[0]), {}};
      std::optional<fhir::JsonDocument> doc;
      for (const SortKey& k : req_.sort) {
        if (k.param == "_id") {
          e.keys.emplace_back(e.version.id);
        } else if (k.param == "_lastUpdated") {
          e.keys.emplace_back(static_cast<int64_t>(e.version.last_updated.time_since_epoch().count()));
        } else {
          if (!doc) doc = parseJson(e.version);
          SortValue best;
          if (doc) {
            auto rows = indexParameter(doc->root(), k.param);
            if (rows.isOk()) {
              for (const IndexRow& r : *rows) {
                if (r.param != k.param) continue;  // derived rows (:exact, :present, ...) do not order
                SortValue v = rowKey(r, k.descending);
                if (std::holds_alternative<std::monostate>(best) || compareKeys(v, best, k.descending) < 0) best = v;
              }
            }
          }
          e.keys.push_back(std::move(best));
        }
      }
      // Only the keys stay: the page's resources are read again after the sort, so memory holds one candidate at a
      // time rather than every candidate (5,000 resources of up to limits.max_body_bytes each).
      e.version.json.clear();
      e.version.json.shrink_to_fit();
      entries.push_back(std::move(e));
    }
    std::stable_sort(entries.begin(), entries.end(), [&](const Entry& a, const Entry& b) {
      for (size_t i = 0; i < req_.sort.size(); ++i) {
        int c = compareKeys(a.keys[i], b.keys[i], req_.sort[i].descending);
        if (c != 0) return c < 0;
      }
      return a.version.id < b.version.id;
    });
    size_t count = std::clamp<size_t>(req_.count, 1, store::kMaxPageSize);
    size_t end = std::min(entries.size(), offset + count);
    for (size_t i = offset; i < end; ++i) {
      RETURN_IF_ERROR(readInto(req_.type, entries[i].version.id, result_.matches));
      if (i + 1 < end && pageFull()) end = i + 1;  // the page ends early; the next starts after it
    }
    if (end < entries.size()) result_.next_cursor = std::string(kOffsetCursor) + std::to_string(end);
    if (offset > 0) result_.prev_cursor = std::string(kOffsetCursor) + std::to_string(offset > count ? offset - count : 0);
    if (req_.total == TotalMode::kAccurate) result_.total = entries.size();
    return Status::ok();
  }

  // ---- _include / _revinclude ----------------------------------------------------------------------------------

  // True once the resources read for this page (matches and includes) passed ExecutorOptions::max_page_bytes; the
  // first time it adds a warning. One resource always fits, so every page makes progress.
  bool pageFull() {
    if (options_.max_page_bytes == 0) return false;
    for (; counted_matches_ < result_.matches.size(); ++counted_matches_) {
      page_bytes_ += result_.matches[counted_matches_].json.size();
    }
    for (; counted_included_ < result_.included.size(); ++counted_included_) {
      page_bytes_ += result_.included[counted_included_].json.size();
    }
    if (page_bytes_ <= options_.max_page_bytes) return false;
    if (!page_cut_) {
      page_cut_ = true;
      result_.warnings.push_back("the page was cut at " + std::to_string(result_.matches.size()) + " matches and " +
                                 std::to_string(result_.included.size()) + " included resources: they reached " +
                                 "limits.search.max_page_bytes (" + std::to_string(options_.max_page_bytes) +
                                 " bytes); follow the next link for the rest");
    }
    return true;
  }

  bool budgetLeft() {
    if (pageFull()) {
      include_truncated_ = true;
      return false;
    }
    if (result_.included.size() < options_.max_included) return true;
    if (!include_truncated_) {
      include_truncated_ = true;
      result_.warnings.push_back("_include/_revinclude stopped after " + std::to_string(options_.max_included) +
                                 " resources");
    }
    return false;
  }

  // Reads (type, id) into `included` unless it is already a match or included; records its index in `added`.
  Status includeOne(const std::string& type, const std::string& id, std::vector<size_t>& added) {
    std::string key = type + "/" + id;
    if (!seen_.insert(key).second) return Status::ok();
    if (!budgetLeft()) return Status::ok();
    ASSIGN_OR_RETURN(bool shown, visible(type, id));
    if (!shown) return Status::ok();
    size_t before = result_.included.size();
    RETURN_IF_ERROR(readInto(type, id, result_.included));
    if (result_.included.size() > before) added.push_back(before);
    return Status::ok();
  }

  Status forwardIncludes(const ResourceVersion& source, const Include& inc, std::vector<size_t>& added) {
    if (source.type != inc.source_type) return Status::ok();
    auto doc = parseJson(source);
    if (!doc) return Status::ok();
    std::vector<std::string> params;
    if (inc.param == "*") {
      for (const fhir::SearchParamDef* p : searchParamsFor(source.type)) {
        if (p->type == fhir::SearchParamType::kReference) params.push_back(p->code);
      }
    } else {
      params.push_back(inc.param);
    }
    for (const std::string& param : params) {
      auto rows = indexParameter(doc->root(), param);
      if (!rows.isOk()) continue;
      for (const IndexRow& r : *rows) {
        if (r.kind != IndexValueKind::kReference || r.ref_id.empty()) continue;
        if (inc.target_type && r.ref_type != *inc.target_type) continue;
        RETURN_IF_ERROR(includeOne(r.ref_type, r.ref_id, added));
        if (include_truncated_) return Status::ok();
      }
    }
    return Status::ok();
  }

  // One index query per (reference parameter, target type): each is a single list of the sources' ids, which
  // the store looks up from the index, so `_revinclude=Observation:*` over a page of 1,000 costs a few dozen
  // index lookups, not a walk of every Observation per source.
  Status reverseIncludes(const std::vector<ResourceVersion>& sources, const Include& inc,
                         std::vector<size_t>& added) {
    std::vector<const fhir::SearchParamDef*> params;
    if (inc.param == "*") {
      for (const fhir::SearchParamDef* p : searchParamsFor(inc.source_type)) {
        if (p->type == fhir::SearchParamType::kReference) params.push_back(p);
      }
    } else if (const fhir::SearchParamDef* p = findSearchParam(inc.source_type, inc.param)) {
      params.push_back(p);
    }
    std::map<std::string, std::vector<std::string>> ids_by_type;
    for (const ResourceVersion& s : sources) {
      if (inc.target_type && s.type != *inc.target_type) continue;
      ids_by_type[s.type].push_back(s.id);
    }
    for (const fhir::SearchParamDef* param : params) {
      for (const auto& [type, ids] : ids_by_type) {
        if (!param->target.empty() && std::find(param->target.begin(), param->target.end(), type) == param->target.end()) {
          continue;  // this parameter never refers to that type
        }
        IndexQuery q;
        q.type = inc.source_type;
        std::vector<IndexPredicate> refs;
        refs.reserve(ids.size());
        for (const std::string& id : ids) refs.push_back(referenceTo(param->code, type, id));
        q.all_of.push_back(std::move(refs));
        bool hidden = false;
        RETURN_IF_ERROR(narrow(q, hidden));
        if (hidden) continue;
        bool truncated = false;
        const size_t room = options_.max_included - std::min(options_.max_included, result_.included.size());
        ASSIGN_OR_RETURN(std::vector<std::string> found, collectIds(q, room + 1, &truncated));
        for (const std::string& id : found) {
          RETURN_IF_ERROR(includeOne(inc.source_type, id, added));
          if (include_truncated_) return Status::ok();
        }
      }
    }
    return Status::ok();
  }

  // Includes are best effort within the budget: past it, the page goes out with what was included and a warning.
  Status includes() {
    Status s = includeRounds();
    if (!s.isOk() && over_budget_) {
      result_.warnings.push_back("_include/_revinclude stopped at the search's work budget (" +
                                 std::to_string(options_.max_work_rows) + " rows); some included resources are missing");
      return Status::ok();
    }
    return s;
  }

  Status includeRounds() {
    if (req_.includes.empty() && req_.revincludes.empty()) return Status::ok();
    for (const ResourceVersion& m : result_.matches) seen_.insert(m.type + "/" + m.id);
    // Copies, not pointers: `included` grows (and reallocates) while a round runs.
    std::vector<ResourceVersion> sources = result_.matches;
    for (int round = 0; round <= options_.max_iterate_depth && !sources.empty(); ++round) {
      std::vector<size_t> added;
      for (const Include& inc : req_.includes) {
        if (round > 0 && !inc.iterate) continue;
        for (const ResourceVersion& s : sources) {
          RETURN_IF_ERROR(forwardIncludes(s, inc, added));
          if (include_truncated_) break;
        }
      }
      for (const Include& inc : req_.revincludes) {
        if (round > 0 && !inc.iterate) continue;
        RETURN_IF_ERROR(reverseIncludes(sources, inc, added));
      }
      sources.clear();
      for (size_t i : added) sources.push_back(result_.included[i]);
      if (include_truncated_) break;
    }
    return Status::ok();
  }

  store::ResourceStore& store_;
  const ExecutorOptions& options_;
  const SearchRequest& req_;
  const ScopeFn& scope_fn_;
  std::map<std::string, SearchScope> scopes_;
  static inline const SearchScope kUnrestricted{};
  SearchResult result_;
  std::unordered_set<std::string> seen_;
  bool include_truncated_ = false;
  bool page_cut_ = false;         // pageFull() warned
  size_t page_bytes_ = 0;         // JSON bytes of the matches and includes counted so far
  size_t counted_matches_ = 0;    // how many of result_.matches page_bytes_ holds
  size_t counted_included_ = 0;   // how many of result_.included page_bytes_ holds
  size_t work_ = 0;
  bool over_budget_ = false;
};

// Store failures keep their code but not their text: it may name tables, columns or engine internals.
Status genericStoreError(const Status& s) {
  auto logger = spdlog::get("planbro");
  if (!logger) logger = spdlog::default_logger();
  logger->error("search: store error: {}", s.message());
  if (s.code() == StatusCode::kUnavailable) {
    return Status(StatusCode::kUnavailable, "the database is busy or unavailable; try the search again");
  }
  return Status(s.code(), "the search failed in the store (the server log has the details)");
}

}  // namespace

Result<SearchResult> SearchExecutor::execute(const SearchRequest& request) { return execute(request, ScopeFn()); }

Result<SearchResult> SearchExecutor::execute(const SearchRequest& request, const ScopeFn& scope) {
  Result<SearchResult> r = [&]() -> Result<SearchResult> {
    if (options_.own_base_url.empty()) return Run(store_, options_, request, scope).execute();
    SearchRequest normalized = request;
    relativizeOwnReferences(normalized.criteria, options_.own_base_url);
    return Run(store_, options_, normalized, scope).execute();
  }();
  if (r.isOk() || r.status().code() == StatusCode::kInvalidArgument || r.status().code() == StatusCode::kUnsupported ||
      r.status().code() == StatusCode::kPermissionDenied) {
    return r;
  }
  return genericStoreError(r.status());
}

}  // namespace planbro::gateway::search
