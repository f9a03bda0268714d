// batch and transaction Bundles: entries run through the same interaction functions as single requests, in the
// specification's order (DELETE, POST, PUT/PATCH, GET), with urn:uuid: and conditional references resolved.
#include <algorithm>
#include <functional>
#include <map>
#include <span>

#include "planbro/fhir-model/base64.h"
#include "planbro/fhir-model/model_info.h"
#include "planbro/gateway/store/resource_id.h"
#include "rest_internal.h"

namespace planbro::gateway::rest {

// ---------------------------------------------------------------------------------------------------------------
// batch / transaction

namespace {

struct EntryPlan {
  size_t index = 0;
  std::string method;
  std::string url;
  const JsonValue* request = nullptr;
  JsonValue resource;          // after reference rewriting
  bool has_resource = false;
  std::string forced_id;       // POST: pre-assigned id
  std::optional<std::string> existing;  // POST with ifNoneExist that matched
  Reply reply;
};

std::string_view memberText(const JsonValue* obj, std::string_view key) {
  if (!obj) return {};
  const JsonValue* v = obj->find(key);
  return v && v->isString() ? v->text() : std::string_view();
}

// Rewrites every string equal to a key of `map` (urn:uuid placeholders, full URLs of created entries) and every
// conditional reference, anywhere in `value`.
Result<JsonValue> rewrite(JsonDocument& doc, const JsonValue& value, const std::map<std::string, std::string, std::less<>>& map,
                          const std::function<Result<std::string>(std::string_view)>& conditional, bool in_reference) {
  if (value.isString()) {
    auto it = map.find(value.text());
    if (it != map.end()) return doc.makeString(it->second);
    if (in_reference && isConditionalUrl(value.text())) {
      ASSIGN_OR_RETURN(std::string resolved, conditional(value.text()));
      return doc.makeString(resolved);
    }
    return value;
  }
  if (value.isArray()) {
    std::vector<JsonValue> items;
    for (const JsonValue& item : value.items()) {
      ASSIGN_OR_RETURN(JsonValue v, rewrite(doc, item, map, conditional, in_reference));
      items.push_back(v);
    }
    return doc.makeArray(items);
  }
  if (value.isObject()) {
    std::vector<JsonMember> members;
    for (const JsonMember& m : value.members()) {
      ASSIGN_OR_RETURN(JsonValue v, rewrite(doc, m.value, map, conditional, m.key == "reference"));
      members.push_back({m.key, v});
    }
    return doc.makeObject(members);
  }
  return value;
}

std::string entryLocation(size_t index) { return "Bundle.entry[" + std::to_string(index) + "]"; }

}  // namespace

Reply RestHandler::Impl::bundle(Call& call) {
  JsonDocument doc;
  auto root = bodyResource(call, doc);
  OperationOutcome unused;
  if (!root.isOk()) return prepareFailure(root.status(), unused);
  if (memberText(&*root, "resourceType") != "Bundle") return errorReply(400, "invalid", "POST to the base takes a Bundle");
  std::string_view type = memberText(&*root, "type");
  const JsonValue* entries = root->find("entry");
  if (entries && !entries->isArray()) return errorReply(400, "invalid", "Bundle.entry must be an array");
  if (entries && entries->size() > options_.max_bundle_entries) {
    return errorReply(413, "too-costly", "the Bundle has " + std::to_string(entries->size()) + " entries (limit " +
                                             std::to_string(options_.max_bundle_entries) + ")");
  }
  if (type == "transaction") {
    call.context->interaction = "transaction";
    return transaction(call, *root);
  }
  if (type == "batch") {
    call.context->interaction = "batch";
    return batch(call, *root);
  }
  return errorReply(400, "invalid", "Bundle.type must be batch or transaction to be processed (got '" + std::string(type) + "')");
}

namespace {

// A PATCH entry carries a FHIRPath Patch as its Parameters resource, as is.
bool isFhirPathPatch(const JsonValue* resource) { return resource && memberText(resource, "resourceType") == "Parameters"; }

// A PATCH entry carries its JSON Patch as a Binary resource (contentType application/json-patch+json, base64 data).
Status patchBodyOf(const JsonValue* resource, std::string& body) {
  if (!resource || memberText(resource, "resourceType") != "Binary" ||
      memberText(resource, "contentType") != "application/json-patch+json") {
    return invalidArgument("a PATCH entry needs a Binary resource with contentType application/json-patch+json");
  }
  auto decoded = fhir::base64Decode(memberText(resource, "data"));
  if (!decoded) return invalidArgument("Binary.data of a PATCH entry is not base64");
  body = std::move(*decoded);
  return Status::ok();
}

// Splits an entry's request.url into path segments and query parameters.
Status parseEntryUrl(std::string_view url, std::vector<std::string>& segments, search::QueryParams& params) {
  if (url.starts_with("http://") || url.starts_with("https://")) return invalidArgument("request.url must be relative ('" + std::string(url) + "')");
  size_t q = url.find('?');
  std::string_view path = url.substr(0, q);
  while (path.starts_with('/')) path.remove_prefix(1);
  while (!path.empty()) {
    size_t slash = path.find('/');
    bool ok = true;
    std::string seg = percentDecode(path.substr(0, slash), &ok);
    if (!ok) return invalidArgument("bad percent-encoding in request.url");
    if (!seg.empty()) segments.push_back(std::move(seg));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  if (q != std::string_view::npos) {
    auto decoded = search::decodeQuery(url.substr(q + 1), false);
    if (!decoded.isOk()) return decoded.status();
    params = std::move(decoded).value();
  }
  return Status::ok();
}

http::Headers entryHeaders(const JsonValue* request, const Call& outer) {
  http::Headers h;
  h.set("Content-Type", "application/fhir+json");
  if (auto v = memberText(request, "ifMatch"); !v.empty()) h.set("If-Match", std::string(v));
  if (auto v = memberText(request, "ifNoneMatch"); !v.empty()) h.set("If-None-Match", std::string(v));
  if (auto v = memberText(request, "ifNoneExist"); !v.empty()) h.set("If-None-Exist", std::string(v));
  if (auto v = memberText(request, "ifModifiedSince"); !v.empty()) h.set("If-Modified-Since", std::string(v));
  if (const std::string* prefer = outer.headers ? outer.headers->find("Prefer") : nullptr) h.set("Prefer", *prefer);
  return h;
}

}  // namespace

Reply RestHandler::Impl::transaction(Call& call, const JsonValue& root) {
  const JsonValue* entries_value = root.find("entry");
  std::span<const JsonValue> entries = entries_value ? entries_value->items() : std::span<const JsonValue>();
  auto fail = [&](size_t index, Reply inner) {
    OperationOutcome oo;
    std::string where = entryLocation(index);
    if (inner.outcome) {
      for (const fhir::Issue& issue : inner.outcome->issues()) {
        std::string loc = issue.location.empty() ? where : where + ".resource." + issue.location;
        oo.add(issue.severity, issue.code, where + ": " + issue.diagnostics, loc);
      }
    }
    if (oo.issues().empty()) oo.add(Severity::kError, "processing", where + ": failed with HTTP " + std::to_string(inner.status), where);
    return outcomeReply(inner.status >= 400 ? inner.status : 400, std::move(oo));
  };

  for (int attempt = 1;; ++attempt) {
    JsonDocument doc;
    std::vector<EntryPlan> plans(entries.size());
    std::map<std::string, std::string, std::less<>> ids;  // fullUrl → Type/id
    for (size_t i = 0; i < entries.size(); ++i) {
      EntryPlan& p = plans[i];
      p.index = i;
      const JsonValue& e = entries[i];
      if (!e.isObject()) return fail(i, errorReply(400, "invalid", "an entry must be an object"));
      p.request = e.find("request");
      p.method = std::string(memberText(p.request, "method"));
      p.url = std::string(memberText(p.request, "url"));
      if (p.method.empty() || p.url.empty()) return fail(i, errorReply(400, "invalid", "entry.request.method and url are required"));
      if (p.method != "GET" && p.method != "HEAD" && p.method != "POST" && p.method != "PUT" && p.method != "DELETE" && p.method != "PATCH") {
        return fail(i, errorReply(400, "invalid", "unsupported entry.request.method '" + p.method + "'"));
      }
      if (const JsonValue* res = e.find("resource"); res && res->isObject()) {
        p.resource = *res;
        p.has_resource = true;
      }
      std::string_view full_url = memberText(&e, "fullUrl");
      if (p.method == "POST") {
        std::string type = p.url.substr(0, p.url.find_first_of("/?"));
        if (!fhir::ModelInfo::r4().isResourceType(type)) return fail(i, errorReply(404, "not-found", "unknown resource type '" + type + "'"));
        if (auto ine = memberText(p.request, "ifNoneExist"); !ine.empty()) {
          std::string_view query = ine;
          if (size_t q = query.find('?'); q != std::string_view::npos) query = query.substr(q + 1);
          auto params = search::decodeQuery(query, false);
          if (!params.isOk()) return fail(i, errorReply(400, "invalid", "ifNoneExist: " + params.status().message()));
          auto found = findIds(type, *params, 2);
          if (!found.isOk()) return fail(i, errorReply(400, "invalid", "ifNoneExist: " + found.status().message()));
          if (found->size() > 1) return fail(i, errorReply(412, "duplicate", "ifNoneExist matches more than one " + type));
          if (found->size() == 1) p.existing = found->front();
        }
        p.forced_id = p.existing ? *p.existing : store::newResourceId();
        if (!full_url.empty()) ids[std::string(full_url)] = type + "/" + p.forced_id;
      } else if (p.method == "PUT" && !full_url.empty() && full_url.starts_with("urn:uuid:")) {
        // PUT Type/id with a placeholder fullUrl: references to it mean that id.
        std::vector<std::string> segs;
        search::QueryParams unused;
        if (parseEntryUrl(p.url, segs, unused).isOk() && segs.size() == 2) ids[std::string(full_url)] = segs[0] + "/" + segs[1];
      }
    }
    // Resolve placeholders and conditional references before anything is written.
    for (EntryPlan& p : plans) {
      if (!p.has_resource) continue;
      auto conditional = [&](std::string_view url) -> Result<std::string> {
        auto found = findIds(url, 2);
        if (!found.isOk()) return invalidArgument("conditional reference '" + std::string(url) + "': " + found.status().message());
        if (found->size() != 1) {
          return failedPrecondition("conditional reference '" + std::string(url) + "' matches " +
                                    (found->empty() ? std::string("nothing") : std::string("more than one resource")));
        }
        return std::string(url.substr(0, url.find('?'))) + "/" + found->front();
      };
      auto rewritten = rewrite(doc, p.resource, ids, conditional, false);
      if (!rewritten.isOk()) return fail(p.index, statusReply(rewritten.status()));
      p.resource = *rewritten;
    }
    std::vector<size_t> order(plans.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return methodRank(plans[a].method) < methodRank(plans[b].method); });

    auto tx = store_.begin(writeContext(*call.context));
    if (!tx.isOk()) return statusReply(tx.status());
    bool retry = false;
    std::optional<Reply> failure;
    for (size_t i : order) {
      EntryPlan& p = plans[i];
      if (p.method == "GET" || p.method == "HEAD") continue;
      http::Headers headers = entryHeaders(p.request, call);
      Call sub;
      sub.method = p.method;
      sub.headers = &headers;
      sub.context = call.context;
      sub.base = call.base;
      sub.prefer = call.prefer;
      sub.tx = tx->get();
      sub.in_bundle = true;
      sub.resource = p.has_resource ? &p.resource : nullptr;
      std::string patch_body;
      if (p.method == "PATCH" && !isFhirPathPatch(sub.resource)) {
        if (Status s = patchBodyOf(sub.resource, patch_body); !s.isOk()) {
          failure = fail(i, statusReply(s));
          break;
        }
        headers.set("Content-Type", "application/json-patch+json");
        sub.resource = nullptr;
        sub.body = patch_body;
      }
      if (Status s = parseEntryUrl(p.url, sub.segments, sub.params); !s.isOk()) {
        failure = fail(i, errorReply(400, "invalid", s.message()));
        break;
      }
      if (p.method == "POST") {
        if (p.existing) {
          auto v = store_.read(sub.segments.empty() ? "" : sub.segments[0], *p.existing);
          if (v.isOk()) {
            p.reply = answerWrite(sub, *v, 200);
            continue;
          }
        }
        sub.forced_id = p.forced_id;
      }
      if (sub.segments.empty() || !fhir::ModelInfo::r4().isResourceType(sub.segments[0])) {
        failure = fail(i, errorReply(404, "not-found", "unknown resource type in request.url '" + p.url + "'"));
        break;
      }
      p.reply = routeType(sub, sub.segments[0]);
      if (p.reply.retry_transaction) {
        retry = true;
        break;
      }
      if (p.reply.status >= 400) {
        failure = fail(i, std::move(p.reply));
        break;
      }
    }
    call.context->interaction = "transaction";
    if (failure) {
      (*tx)->rollback();
      return std::move(*failure);
    }
    if (!retry) {
      Status s = (*tx)->commit();
      if (s.isOk()) {
        // Reads run after the writes have committed, through the ordinary read/search path.
        for (size_t i : order) {
          EntryPlan& p = plans[i];
          if (p.method != "GET" && p.method != "HEAD") continue;
          http::Headers headers = entryHeaders(p.request, call);
          Call sub;
          sub.method = "GET";
          sub.headers = &headers;
          sub.context = call.context;
          sub.base = call.base;
          sub.in_bundle = true;
          if (Status ps = parseEntryUrl(p.url, sub.segments, sub.params); !ps.isOk()) {
            p.reply = errorReply(400, "invalid", ps.message());
          } else {
            p.reply = dispatch(sub);
          }
        }
        call.context->interaction = "transaction";
        std::vector<std::string> out;
        for (EntryPlan& p : plans) {
          std::string e = "{";
          bool comma = false;
          if (!p.reply.json.empty()) {
            e += "\"resource\":" + p.reply.json;
            comma = true;
          }
          if (comma) e += ',';
          e += "\"response\":{\"status\":";
          detail::appendJsonString(e, statusLine(p.reply.status));
          if (auto loc = p.reply.headers.get("Location"); !loc.empty()) {
            e += ",\"location\":";
            detail::appendJsonString(e, loc);
          }
          if (auto et = p.reply.headers.get("ETag"); !et.empty()) {
            e += ",\"etag\":";
            detail::appendJsonString(e, et);
          }
          if (auto lm = p.reply.headers.get("Last-Modified"); !lm.empty()) {
            if (auto t = detail::parseHttpDate(lm)) e += ",\"lastModified\":\"" + detail::formatInstant(*t) + "\"";
          }
          if (p.reply.outcome) e += ",\"outcome\":" + p.reply.outcome->toJson();
          e += "}}";
          out.push_back(std::move(e));
        }
        Reply r;
        r.json = bundleBody(call, "transaction-response", out, {}, std::nullopt);
        return r;
      }
      retry = (*tx)->retryable();
      if (!retry || attempt >= options_.max_transaction_attempts) return statusReply(s);
    } else {
      (*tx)->rollback();
      if (attempt >= options_.max_transaction_attempts) {
        return errorReply(409, "conflict", "the transaction kept conflicting with concurrent conditional creates");
      }
    }
  }
}

Reply RestHandler::Impl::batch(Call& call, const JsonValue& root) {
  const JsonValue* entries_value = root.find("entry");
  std::span<const JsonValue> entries = entries_value ? entries_value->items() : std::span<const JsonValue>();
  std::vector<Reply> replies(entries.size());
  std::vector<size_t> order(entries.size());
  std::vector<std::string> methods(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    order[i] = i;
    methods[i] = std::string(memberText(entries[i].find("request"), "method"));
  }
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return methodRank(methods[a]) < methodRank(methods[b]); });
  for (size_t i : order) {
    const JsonValue& e = entries[i];
    const JsonValue* request = e.isObject() ? e.find("request") : nullptr;
    std::string url(memberText(request, "url"));
    if (methods[i].empty() || url.empty()) {
      replies[i] = errorReply(400, "invalid", "entry.request.method and url are required");
      continue;
    }
    http::Headers headers = entryHeaders(request, call);
    Call sub;
    sub.method = methods[i];
    sub.headers = &headers;
    sub.context = call.context;
    sub.base = call.base;
    sub.prefer = call.prefer;
    sub.in_bundle = true;
    const JsonValue* res = e.find("resource");
    if (res && res->isObject()) sub.resource = res;
    std::string patch_body;
    if (sub.method == "PATCH" && !isFhirPathPatch(sub.resource)) {
      if (Status s = patchBodyOf(sub.resource, patch_body); !s.isOk()) {
        replies[i] = statusReply(s);
        continue;
      }
      headers.set("Content-Type", "application/json-patch+json");
      sub.resource = nullptr;
      sub.body = patch_body;
    }
    if (Status s = parseEntryUrl(url, sub.segments, sub.params); !s.isOk()) {
      replies[i] = errorReply(400, "invalid", s.message());
      continue;
    }
    if (sub.segments.empty()) {
      replies[i] = errorReply(400, "invalid", "a batch entry cannot address the base");
      continue;
    }
    replies[i] = dispatch(sub);
  }
  call.context->interaction = "batch";
  std::vector<std::string> out;
  for (Reply& reply : replies) {
    std::string e = "{";
    if (!reply.json.empty()) e += "\"resource\":" + reply.json + ",";
    e += "\"response\":{\"status\":";
    detail::appendJsonString(e, statusLine(reply.status));
    if (auto loc = reply.headers.get("Location"); !loc.empty()) {
      e += ",\"location\":";
      detail::appendJsonString(e, loc);
    }
    if (auto et = reply.headers.get("ETag"); !et.empty()) {
      e += ",\"etag\":";
      detail::appendJsonString(e, et);
    }
    if (auto lm = reply.headers.get("Last-Modified"); !lm.empty()) {
      if (auto t = detail::parseHttpDate(lm)) e += ",\"lastModified\":\"" + detail::formatInstant(*t) + "\"";
    }
    if (reply.outcome) e += ",\"outcome\":" + reply.outcome->toJson();
    e += "}}";
    out.push_back(std::move(e));
  }
  Reply r;
  r.json = bundleBody(call, "batch-response", out, {}, std::nullopt);
  return r;
}

http::Response RestHandler::Impl::processBundleText(std::string text, http::RequestContext& context) {
  http::Request request;
  request.method = "POST";
  request.target = "/";
  request.path = "/";
  request.headers.set("Content-Type", "application/fhir+json");
  request.headers.set("Prefer", "return=minimal");
  request.body = std::move(text);
  return *handle(request, context, StoreAccess::kAny);
}

}  // namespace planbro::gateway::rest
