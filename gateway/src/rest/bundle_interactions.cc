// batch and transaction Bundles. A batch runs its entries through the same interaction functions as single requests,
// in the specification's order (DELETE, POST, PUT/PATCH, GET). A transaction's entries are parsed into typed
// operations and run as one ops transaction (ops/operations.h: everything prepared before the writer turn); its
// reads run after the commit. Both bound the size of their response (RestOptions::max_bundle_response_bytes).
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

std::string_view memberText(const JsonValue* obj, std::string_view key) {
  if (!obj) return {};
  const JsonValue* v = obj->find(key);
  return v && v->isString() ? v->text() : std::string_view();
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

namespace {

// One Bundle response entry.
std::string entryJson(const Reply& reply) {
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
  return e;
}

// The bytes a Bundle response may still take.
struct ResponseBudget {
  size_t limit = 0;
  size_t used = 0;
  bool exhausted = false;
  // Search work of the entries run so far (Call::bundle_work_rows), against RestOptions::max_bundle_work_rows: a
  // batch of 1,000 searches at the per-search budget each held a worker for 1,000 searches' time.
  size_t work_limit = 0;  // 0: none
  size_t work_rows = 0;
  bool workLeft() const { return work_limit == 0 || work_rows < work_limit; }
};

// The entry JSON of `reply` within `budget`: its resource is left out (with a warning) when it does not fit, and
// from then on the budget is exhausted.
std::string boundedEntry(Reply& reply, ResponseBudget& budget) {
  std::string e = entryJson(reply);
  if (budget.used + e.size() > budget.limit) {
    budget.exhausted = true;
    if (!reply.json.empty()) {
      reply.json.clear();
      if (!reply.outcome) reply.outcome = OperationOutcome();
      reply.outcome->add(Severity::kWarning, "too-costly",
                         "the resource is left out: the Bundle response reached limits.max_bundle_response_bytes (" +
                             std::to_string(budget.limit) + " bytes); read it on its own");
      e = entryJson(reply);
    }
  }
  budget.used += e.size();
  return e;
}

// The answer of an entry not run because the response is full.
Reply notRunReply(const ResponseBudget& budget) {
  if (!budget.workLeft()) {
    return errorReply(413, "too-costly",
                      "not processed: the Bundle's searches reached limits.max_bundle_work_rows (" +
                          std::to_string(budget.work_limit) + " rows of work); send this entry again on its own");
  }
  return errorReply(413, "too-costly",
                    "not processed: the Bundle response reached limits.max_bundle_response_bytes (" +
                        std::to_string(budget.limit) + " bytes); send this entry again on its own");
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
        oo.add(issue.severity, issue.code, where + ": " + issue.diagnostics, issue.location.empty() ? where : issue.location);
      }
    }
    if (oo.issues().empty()) oo.add(Severity::kError, "processing", where + ": failed with HTTP " + std::to_string(inner.status), where);
    return outcomeReply(inner.status >= 400 ? inner.status : 400, std::move(oo));
  };
  using K = ops::TransactionEntry::Kind;
  std::vector<ops::TransactionEntry> typed(entries.size());
  std::vector<search::QueryParams> read_params(entries.size());
  std::vector<std::vector<std::string>> read_segments(entries.size());
  std::vector<JsonDocument> patch_docs;  // JSON Patch documents decoded from Binary entries
  patch_docs.reserve(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    const JsonValue& e = entries[i];
    if (!e.isObject()) return fail(i, errorReply(400, "invalid", "an entry must be an object"));
    const JsonValue* request = e.find("request");
    std::string method(memberText(request, "method"));
    std::string url(memberText(request, "url"));
    if (method.empty() || url.empty()) return fail(i, errorReply(400, "invalid", "entry.request.method and url are required"));
    ops::TransactionEntry& t = typed[i];
    t.full_url = std::string(memberText(&e, "fullUrl"));
    if (const JsonValue* res = e.find("resource"); res && res->isObject()) t.resource = res;
    std::vector<std::string> segments;
    search::QueryParams params;
    if (Status s = parseEntryUrl(url, segments, params); !s.isOk()) return fail(i, errorReply(400, "invalid", s.message()));
    if (segments.empty() || !fhir::ModelInfo::r4().isResourceType(segments[0])) {
      return fail(i, errorReply(404, "not-found", "unknown resource type in request.url '" + url + "'"));
    }
    t.type = segments[0];
    // Writes are decided here, before any entry is prepared or validated (reads pass the gate through dispatch).
    const bool search_entry = segments.size() == 2 && segments[1] == "_search";
    const char* write = method == "POST" && !search_entry ? "create"
                        : method == "PUT"                 ? "update"
                        : method == "DELETE"              ? "delete"
                        : method == "PATCH"               ? "patch"
                                                          : nullptr;
    if (write != nullptr) {
      if (auto denied = enterInteraction(call, write, t.type)) return fail(i, std::move(*denied));
    }
    if (auto im = memberText(request, "ifMatch"); !im.empty()) {
      auto v = detail::parseEtag(im);
      if (!v) return fail(i, errorReply(400, "invalid", "ifMatch must be an ETag such as W/\"3\" (got '" + std::string(im) + "')"));
      t.if_match = *v;
    }
    const bool instance = segments.size() == 2 && isValidId(segments[1]);
    const bool type_level = segments.size() == 1;
    const bool search = segments.size() == 2 && segments[1] == "_search";
    if (method == "GET" || method == "HEAD" || (method == "POST" && search)) {
      t.kind = K::kRead;
      read_segments[i] = std::move(segments);
      read_params[i] = std::move(params);
      continue;
    }
    auto needResource = [&]() { return t.resource != nullptr; };
    if (method == "POST") {
      if (!type_level) return fail(i, errorReply(400, "invalid", "a POST entry's request.url must be a resource type ('" + url + "')"));
      if (!needResource()) return fail(i, errorReply(400, "invalid", "a POST entry needs a resource"));
      t.kind = K::kCreate;
      if (auto ine = memberText(request, "ifNoneExist"); !ine.empty()) {
        std::string_view query = ine;
        if (size_t q = query.find('?'); q != std::string_view::npos) query = query.substr(q + 1);
        auto condition = search::decodeQuery(query, false);
        if (!condition.isOk()) return fail(i, errorReply(400, "invalid", "ifNoneExist: " + condition.status().message()));
        if (condition->empty()) return fail(i, errorReply(400, "invalid", "ifNoneExist needs at least one search parameter"));
        t.condition = std::move(condition).value();
      }
    } else if (method == "PUT") {
      if (!needResource()) return fail(i, errorReply(400, "invalid", "a PUT entry needs a resource"));
      if (instance) {
        t.kind = K::kUpdate;
        t.id = segments[1];
      } else if (type_level && !params.empty()) {
        t.kind = K::kConditionalUpdate;
        t.condition = std::move(params);
      } else {
        return fail(i, errorReply(400, "invalid", "a PUT entry's request.url must be Type/id or Type?search ('" + url + "')"));
      }
    } else if (method == "DELETE") {
      if (instance) {
        t.kind = K::kDelete;
        t.id = segments[1];
      } else if (type_level && !params.empty()) {
        t.kind = K::kConditionalDelete;
        t.condition = std::move(params);
      } else {
        return fail(i, errorReply(400, "invalid", "a DELETE entry's request.url must be Type/id or Type?search ('" + url + "')"));
      }
    } else if (method == "PATCH") {
      if (!instance) return fail(i, errorReply(400, "invalid", "a PATCH entry's request.url must be Type/id ('" + url + "')"));
      t.kind = K::kPatch;
      t.id = segments[1];
      if (isFhirPathPatch(t.resource)) {
        t.patch = patcherFor(false, *t.resource, options_.json_limits);
      } else {
        std::string body;
        if (Status s = patchBodyOf(t.resource, body); !s.isOk()) return fail(i, statusReply(s));
        auto parsed = JsonDocument::parse(body, options_.json_limits);
        if (!parsed.isOk()) return fail(i, errorReply(400, "invalid", "malformed JSON Patch: " + parsed.status().message()));
        patch_docs.push_back(std::move(parsed).value());
        t.patch = patcherFor(true, patch_docs.back().root(), options_.json_limits);
      }
      t.resource = nullptr;
    } else {
      return fail(i, errorReply(400, "invalid", "unsupported entry.request.method '" + method + "'"));
    }
    if (segments.size() == 2 && !instance) {
      return fail(i, errorReply(400, "invalid", "'" + segments[1] + "' is not a valid FHIR id"));
    }
  }

  OperationOutcome outcome;
  ops::EntryFailure failure;
  failure.index = entries.size();
  auto done = ops_.transaction(writeContext(call), typed, &outcome, &failure);
  call.context->interaction = "transaction";
  if (!done.isOk()) {
    int status = fhir::httpStatusFor(done.status().code());
    if (outcome.hasErrors()) return outcomeReply(status, std::move(outcome));
    if (failure.index < entries.size()) {
      // A patch whose result outgrows the parse limits is the client's request (422, as for a PATCH on its own),
      // not the transaction's writer budget (413).
      if (done.status().code() == StatusCode::kResourceExhausted && typed[failure.index].kind == K::kPatch) {
        return fail(failure.index, errorReply(422, "too-costly", done.status().message()));
      }
      return fail(failure.index, statusReply(done.status()));
    }
    return statusReply(done.status());
  }

  // Reads run after the writes have committed, through the ordinary read/search path; each entry's answer is
  // made in the specification's order, within the response budget.
  std::vector<size_t> order(entries.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return (typed[a].kind == K::kRead) < (typed[b].kind == K::kRead);
  });
  ResponseBudget budget{options_.max_bundle_response_bytes};
  budget.work_limit = options_.max_bundle_work_rows;
  std::vector<std::string> out(entries.size());
  for (size_t i : order) {
    Call sub;
    sub.context = call.context;
    sub.base = call.base;
    sub.prefer = call.prefer;
    sub.in_bundle = true;
    sub.bundle_work_rows = &budget.work_rows;
    Reply reply;
    if (typed[i].kind == K::kRead) {
      if (budget.exhausted || !budget.workLeft()) {
        reply = notRunReply(budget);
      } else {
        http::Headers headers = entryHeaders(entries[i].find("request"), call);
        sub.method = "GET";
        sub.headers = &headers;
        sub.segments = read_segments[i];
        sub.params = read_params[i];
        sub.prefer = PreferHeader{};
        reply = dispatch(sub);
      }
    } else {
      OperationOutcome unused;
      reply = writeReply(sub, *done->entries[i], unused);
    }
    out[i] = boundedEntry(reply, budget);
  }
  call.context->interaction = "transaction";
  Reply r;
  r.json = bundleBody(call, "transaction-response", out, {}, std::nullopt);
  return r;
}

Reply RestHandler::Impl::batch(Call& call, const JsonValue& root) {
  const JsonValue* entries_value = root.find("entry");
  std::span<const JsonValue> entries = entries_value ? entries_value->items() : std::span<const JsonValue>();
  std::vector<std::string> out(entries.size());
  std::vector<size_t> order(entries.size());
  std::vector<std::string> methods(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    order[i] = i;
    methods[i] = std::string(memberText(entries[i].find("request"), "method"));
  }
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return methodRank(methods[a]) < methodRank(methods[b]); });
  ResponseBudget budget{options_.max_bundle_response_bytes};
  budget.work_limit = options_.max_bundle_work_rows;
  for (size_t i : order) {
    Reply reply = budget.exhausted || !budget.workLeft() ? notRunReply(budget)
                                                         : batchEntry(call, entries[i], methods[i], &budget.work_rows);
    out[i] = boundedEntry(reply, budget);
  }
  call.context->interaction = "batch";
  Reply r;
  r.json = bundleBody(call, "batch-response", out, {}, std::nullopt);
  return r;
}

Reply RestHandler::Impl::batchEntry(Call& call, const JsonValue& e, const std::string& method, size_t* work_rows) {
  const JsonValue* request = e.isObject() ? e.find("request") : nullptr;
  std::string url(memberText(request, "url"));
  if (method.empty() || url.empty()) return errorReply(400, "invalid", "entry.request.method and url are required");
  http::Headers headers = entryHeaders(request, call);
  Call sub;
  sub.method = method;
  sub.headers = &headers;
  sub.context = call.context;
  sub.base = call.base;
  sub.prefer = call.prefer;
  sub.in_bundle = true;
  sub.bundle_work_rows = work_rows;
  sub.source_system = call.source_system;
  const JsonValue* res = e.find("resource");
  if (res && res->isObject()) sub.resource = res;
  std::string patch_body;
  if (sub.method == "PATCH" && !isFhirPathPatch(sub.resource)) {
    if (Status s = patchBodyOf(sub.resource, patch_body); !s.isOk()) return statusReply(s);
    headers.set("Content-Type", "application/json-patch+json");
    sub.resource = nullptr;
    sub.body = patch_body;
  }
  if (Status s = parseEntryUrl(url, sub.segments, sub.params); !s.isOk()) return errorReply(400, "invalid", s.message());
  if (sub.segments.empty()) return errorReply(400, "invalid", "a batch entry cannot address the base");
  return dispatch(sub);
}

http::Response RestHandler::Impl::processBundleText(std::string text, http::RequestContext& context,
                                                    std::string source_system) {
  http::Request request;
  request.method = "POST";
  request.target = "/";
  request.path = "/";
  request.headers.set("Content-Type", "application/fhir+json");
  request.headers.set("Prefer", "return=minimal");
  request.body = std::move(text);
  return *handle(request, context, StoreAccess::kAny, std::move(source_system));
}

}  // namespace planbro::gateway::rest
