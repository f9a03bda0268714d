// Search (GET and POST _search, sealed page links) and history, answered as Bundles.
#include <algorithm>
#include <charconv>

#include "planbro/gateway/search/indexer.h"
#include "planbro/gateway/store/resource_id.h"
#include "rest_internal.h"

namespace planbro::gateway::rest {

// ---------------------------------------------------------------------------------------------------------------
// search / history

std::string RestHandler::Impl::bundleBody(Call& call, std::string_view type_name, const std::vector<std::string>& entries,
                                          const std::vector<std::pair<std::string, std::string>>& links,
                                          std::optional<size_t> total) {
  (void)call;
  std::string out = R"({"resourceType":"Bundle","id":")" + store::newResourceId() + R"(","meta":{"lastUpdated":")" +
                    detail::formatInstant(now()) +
                    R"("},"type":")" + std::string(type_name) + "\"";
  if (total) out += ",\"total\":" + std::to_string(*total);
  if (!links.empty()) {
    out += ",\"link\":[";
    for (size_t i = 0; i < links.size(); ++i) {
      if (i) out += ',';
      out += "{\"relation\":";
      detail::appendJsonString(out, links[i].first);
      out += ",\"url\":";
      detail::appendJsonString(out, links[i].second);
      out += '}';
    }
    out += ']';
  }
  if (!entries.empty()) {
    out += ",\"entry\":[";
    for (size_t i = 0; i < entries.size(); ++i) {
      if (i) out += ',';
      out += entries[i];
    }
    out += ']';
  }
  out += '}';
  return out;
}

Result<const PageTokenSealer*> RestHandler::Impl::pageTokenSealer() {
  std::lock_guard lock(sealer_mutex_);
  if (!sealer_) {
    ASSIGN_OR_RETURN(std::string key, store_.serverSecret("search-page-token"));
    sealer_ = std::make_unique<PageTokenSealer>(std::move(key), options_.page_token_lifetime);
  }
  return sealer_.get();
}

// A `_page` token stands for the whole parameter list of the search it came from; only the output format may be
// given beside it, and wins over the sealed one. The reopened search keeps sealing its links.
Status RestHandler::Impl::openPageToken(Call& call, const std::string& type) {
  const std::string* token = call.param(kPageTokenParam);
  if (!token) return Status::ok();
  search::QueryParams kept;
  for (const auto& [k, v] : call.params) {
    if (k == kPageTokenParam) continue;
    if (k != "_format" && k != "_pretty") {
      return invalidArgument("'" + k + "' cannot be combined with " + std::string(kPageTokenParam) +
                             ", which stands for all the parameters of the search");
    }
    kept.emplace_back(k, v);
  }
  ASSIGN_OR_RETURN(const PageTokenSealer* sealer, pageTokenSealer());
  ASSIGN_OR_RETURN(search::QueryParams sealed,
                   sealer->open(type, *token, now()));
  for (auto& p : sealed) {
    if ((p.first == "_format" || p.first == "_pretty") && call.param(p.first)) continue;
    kept.push_back(std::move(p));
  }
  call.params = std::move(kept);
  call.seal_links = true;
  return Status::ok();
}

Reply RestHandler::Impl::searchType(Call& call, const std::string& type) {
  if (Status opened = openPageToken(call, type); !opened.isOk()) {
    if (opened.code() == StatusCode::kInvalidArgument) return errorReply(400, "invalid", opened.message());
    return statusReply(opened);
  }
  const PageTokenSealer* sealer = nullptr;
  if (call.seal_links) {
    auto made = pageTokenSealer();
    if (!made.isOk()) return statusReply(made.status());
    sealer = *made;
  }
  search::ParseOptions po = options_.search_parse;
  po.handling = call.prefer.handling;
  auto req = search::parseSearch(type, call.params, po);
  if (!req.isOk()) return badRequest(req.status());
  // The presentation comes from the parsed search, not the URL: a POST _search has it in its form body, and a
  // sealed page link in its token.
  std::optional<Format> format;
  if (req->format) {
    format = formatOfMediaType(mediaType(*req->format));
    if (!format) return errorReply(406, "not-supported", "unsupported _format '" + *req->format + "' (use json or xml)");
  }
  // The consent policy narrows every index query of the search (search_scope.h): nothing hidden is matched,
  // counted, paged over, probed by a chain or _has, or included.
  auto result = executor_.execute(*req, scopeFor(call));
  if (call.bundle_work_rows && result.isOk()) *call.bundle_work_rows += result->work_rows;
  if (!result.isOk()) {
    if (result.status().code() == StatusCode::kInvalidArgument || result.status().code() == StatusCode::kUnsupported) {
      return badRequest(result.status());
    }
    return statusReply(result.status());
  }
  std::string self_base = call.base + "/" + type;
  const store::Timestamp sealed_at = now();
  auto link = [&](const std::optional<std::string>& cursor) {
    search::QueryParams p = req->link_params;
    if (cursor) p.emplace_back("_cursor", *cursor);
    if (sealer) p = {{std::string(kPageTokenParam), sealer->seal(type, p, sealed_at)}};
    std::string q = detail::encodeLinkQuery(p);
    return q.empty() ? self_base : self_base + "?" + q;
  };
  std::vector<std::pair<std::string, std::string>> links{{"self", link(req->cursor)}};
  if (result->next_cursor) links.emplace_back("next", link(result->next_cursor));
  if (result->prev_cursor) links.emplace_back("previous", link(result->prev_cursor));
  std::vector<std::string> entries;
  detail::Presentation presentation;  // one for every entry of the page
  presentation.summary = req->summary;
  presentation.elements = req->elements;  // trimmed by search::parseElementsParam, as a read's
  bool count_only = presentation.summary == search::SummaryMode::kCount;
  if (!count_only) {
    auto add = [&](const store::ResourceVersion& v, std::string_view mode) {
      if (!decide(call, AccessAction::kSearch, v.type, v.id, v.json).isOk()) return;
      std::string e = "{\"fullUrl\":";
      detail::appendJsonString(e, call.base + "/" + v.type + "/" + v.id);
      e += ",\"resource\":";
      e += renderPresented(call, v, presentation);
      e += ",\"search\":{\"mode\":\"" + std::string(mode) + "\"}}";
      entries.push_back(std::move(e));
    };
    for (const auto& v : result->matches) add(v, "match");
    for (const auto& v : result->included) add(v, "include");
  }
  if (!result->warnings.empty()) {
    OperationOutcome oo;
    for (const auto& w : result->warnings) oo.add(Severity::kWarning, "not-supported", w);
    entries.push_back("{\"resource\":" + oo.toJson() + ",\"search\":{\"mode\":\"outcome\"}}");
  }
  Reply r;
  r.json = bundleBody(call, "searchset", entries, links, result->total);
  r.format = format;
  if (req->pretty) r.pretty = *req->pretty == "true";
  return r;
}

Reply RestHandler::Impl::history(Call& call, std::optional<std::string> type, std::optional<std::string> id) {
  store::HistoryQuery q;
  q.type = type;
  q.id = id;
  q.count = 50;
  search::QueryParams link_params;
  for (const auto& [k, v] : call.params) {
    if (k == "_format" || k == "_pretty" || k == "_summary" || k == "_elements") continue;
    if (k == "_count") {
      size_t n = 0;
      auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
      if (ec != std::errc() || ptr != v.data() + v.size()) return errorReply(400, "invalid", "_count must be a non-negative integer");
      q.count = std::clamp<size_t>(n, 1, store::kMaxPageSize);
      link_params.emplace_back(k, v);
    } else if (k == "_since") {
      auto range = search::parseDateRange(v);
      if (!range) return errorReply(400, "invalid", "_since must be an instant such as 2026-01-01T00:00:00Z");
      q.since = store::Timestamp(std::chrono::microseconds(range->low));
      link_params.emplace_back(k, v);
    } else if (k == "_cursor") {
      auto c = store::HistoryCursor::fromToken(v);
      if (!c.isOk()) return errorReply(400, "invalid", "bad _cursor: " + c.status().message());
      q.after = *c;
    } else {
      if (call.prefer.handling == search::Handling::kLenient) continue;
      return errorReply(400, "not-supported", "unsupported history parameter '" + k + "'");
    }
  }
  auto page = store_.history(q);
  if (!page.isOk()) return statusReply(page.status());
  std::string self_base = call.base;
  if (type) self_base += "/" + *type;
  if (id) self_base += "/" + *id;
  self_base += "/_history";
  auto link = [&](const std::optional<store::HistoryCursor>& cursor) {
    search::QueryParams p = link_params;
    if (cursor) p.emplace_back("_cursor", cursor->toToken());
    std::string qs = detail::encodeLinkQuery(p);
    return qs.empty() ? self_base : self_base + "?" + qs;
  };
  std::vector<std::pair<std::string, std::string>> links{{"self", link(q.after)}};
  if (page->next) links.emplace_back("next", link(page->next));
  std::vector<std::string> entries;
  for (const auto& v : page->entries) {
    if (!decide(call, AccessAction::kHistory, v.type, v.id, v.json).isOk()) continue;
    std::string e = "{\"fullUrl\":";
    detail::appendJsonString(e, call.base + "/" + v.type + "/" + v.id);
    if (!v.deleted) {
      e += ",\"resource\":";
      e += renderPresented(call, v, call.presentation);
    }
    std::string method = v.deleted ? "DELETE" : (v.version == 1 ? "POST" : "PUT");
    std::string url = method == "POST" ? v.type : v.type + "/" + v.id;
    std::string status = v.deleted ? "204 No Content" : (method == "POST" ? "201 Created" : "200 OK");
    e += ",\"request\":{\"method\":\"" + method + "\",\"url\":";
    detail::appendJsonString(e, url);
    e += "},\"response\":{\"status\":\"" + status + "\",\"etag\":";
    detail::appendJsonString(e, detail::etagFor(v.version));
    e += ",\"lastModified\":\"" + detail::formatInstant(v.last_updated) + "\"}}";
    entries.push_back(std::move(e));
  }
  Reply r;
  r.json = bundleBody(call, "history", entries, links, std::nullopt);
  return r;
}

}  // namespace planbro::gateway::rest
