// Search execution over ResourceStore::searchIndex. The store offers AND-of-OR predicate groups, id-ordered keyset
// pages and nothing else, so chains, _has, sorting and includes are composed here from several index queries.
#include "planbro/gateway/search/search_executor.h"

#include <algorithm>
#include <charconv>
#include <set>
#include <unordered_set>
#include <variant>

#include "planbro/fhir-model/json.h"
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
// Predicates per OR-group when a collected id set becomes a predicate list (keeps each SQL statement small).
constexpr size_t kMaxGroupSize = 200;

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
  Run(store::ResourceStore& store, const ExecutorOptions& options, const SearchRequest& req)
      : store_(store), options_(options), req_(req) {}

  Result<SearchResult> execute() {
    result_.warnings = req_.warnings;
    IndexQuery base;
    base.type = req_.type;
    bool empty = false;
    for (const Criterion& c : req_.criteria) {
      RETURN_IF_ERROR(addCriterion(c, base, empty));
      if (empty) break;
    }
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

 private:
  // Every id matching `q`, in id order, at most `limit` (truncated set when more exist).
  Result<std::vector<std::string>> collectIds(IndexQuery q, size_t limit, bool* truncated) {
    std::vector<std::string> ids;
    q.count = store::kMaxPageSize;
    q.after_id.reset();
    for (size_t round = 0; round <= limit / store::kMaxPageSize + 1; ++round) {
      ASSIGN_OR_RETURN(store::IndexPage page, store_.searchIndex(q));
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

  // Adds id-set predicates as one AND-ed criterion. The store has no IN lists, so one OR-group of equality
  // predicates holds the set (bounded by max_chain_matches).
  static void addGroup(IndexQuery& q, std::vector<IndexPredicate> group, bool& empty) {
    if (group.empty()) {
      empty = true;
      return;
    }
    q.all_of.push_back(std::move(group));
  }

  Status addCriterion(const Criterion& c, IndexQuery& q, bool& empty) {
    if (c.chain) {
      std::vector<IndexPredicate> group;
      for (const ChainTarget& t : c.chain->targets) {
        IndexQuery tq;
        tq.type = t.type;
        tq.all_of.push_back(t.any_of);
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
      sq.type = c.has->source_type;
      sq.all_of.push_back(c.has->any_of);
      ASSIGN_OR_RETURN(std::vector<std::string> sources, boundedIds(sq, c.name));
      std::set<std::string> targets;
      for (const std::string& id : sources) {
        auto v = store_.read(c.has->source_type, id);
        if (!v.isOk()) continue;  // deleted since the index query
        auto doc = parseJson(*v);
        if (!doc) continue;
        auto rows = indexParameter(doc->root(), c.has->reference_param);
        if (!rows.isOk()) continue;
        for (const IndexRow& r : *rows) {
          if (r.kind == IndexValueKind::kReference && r.ref_type == req_.type) targets.insert(r.ref_id);
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
    ASSIGN_OR_RETURN(store::IndexPage page, store_.searchIndex(q));
    for (const std::string& id : page.ids) RETURN_IF_ERROR(readInto(req_.type, id, result_.matches));
    if (page.next_after_id) result_.next_cursor = std::string(kKeysetCursor) + *page.next_after_id;
    if (req_.total == TotalMode::kAccurate) {
      bool truncated = false;
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
    for (size_t i = offset; i < entries.size() && i < offset + count; ++i) {
      result_.matches.push_back(std::move(entries[i].version));
    }
    if (offset + count < entries.size()) result_.next_cursor = std::string(kOffsetCursor) + std::to_string(offset + count);
    if (offset > 0) result_.prev_cursor = std::string(kOffsetCursor) + std::to_string(offset > count ? offset - count : 0);
    if (req_.total == TotalMode::kAccurate) result_.total = entries.size();
    return Status::ok();
  }

  // ---- _include / _revinclude ----------------------------------------------------------------------------------

  bool budgetLeft() {
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

  Status reverseIncludes(const std::vector<ResourceVersion>& sources, const Include& inc,
                         std::vector<size_t>& added) {
    std::vector<std::string> params;
    if (inc.param == "*") {
      for (const fhir::SearchParamDef* p : searchParamsFor(inc.source_type)) {
        if (p->type == fhir::SearchParamType::kReference) params.push_back(p->code);
      }
    } else {
      params.push_back(inc.param);
    }
    std::vector<IndexPredicate> refs;
    for (const ResourceVersion& s : sources) {
      if (inc.target_type && s.type != *inc.target_type) continue;
      for (const std::string& param : params) refs.push_back(referenceTo(param, s.type, s.id));
    }
    for (size_t start = 0; start < refs.size(); start += kMaxGroupSize) {
      IndexQuery q;
      q.type = inc.source_type;
      q.all_of.emplace_back(refs.begin() + static_cast<std::ptrdiff_t>(start),
                            refs.begin() + static_cast<std::ptrdiff_t>(std::min(refs.size(), start + kMaxGroupSize)));
      bool truncated = false;
      ASSIGN_OR_RETURN(std::vector<std::string> ids, collectIds(q, options_.max_included + 1, &truncated));
      for (const std::string& id : ids) {
        RETURN_IF_ERROR(includeOne(inc.source_type, id, added));
        if (include_truncated_) return Status::ok();
      }
    }
    return Status::ok();
  }

  Status includes() {
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
  SearchResult result_;
  std::unordered_set<std::string> seen_;
  bool include_truncated_ = false;
};

}  // namespace

Result<SearchResult> SearchExecutor::execute(const SearchRequest& request) {
  return Run(store_, options_, request).execute();
}

}  // namespace planbro::gateway::search
