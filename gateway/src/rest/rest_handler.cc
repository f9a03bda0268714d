// The REST pipeline. Every interaction is a function from a Call (route, headers, parsed parameters, optional
// transaction) to a Reply (status, headers, compact JSON or an OperationOutcome); handle() does content negotiation
// around it. Writes are calls into the operations layer (ops/operations.h); a batch runs its entries through the
// same interaction functions, and a transaction is one ops transaction, so every entry gets exactly the semantics
// (and the access decisions) of the single interactions.
#include <fstream>
#include <sstream>

#include "planbro/fhir-model/fhir_xml.h"
#include "planbro/fhir-model/model_info.h"
#include "planbro/fhir-model/resource_json.h"
#include "rest_internal.h"

namespace planbro::gateway::rest {

// ---------------------------------------------------------------------------------------------------------------
// Pipeline

namespace {

// Whether `path` can be a read by id, /[type]/[id] (the only interaction StoreAccess::kMemoryOnly serves): cheap
// enough to try on every GET before any parsing.
bool mayBeReadById(std::string_view path) {
  if (!path.starts_with('/')) return false;
  path.remove_prefix(1);
  size_t slash = path.find('/');
  if (slash == 0 || slash == std::string_view::npos) return false;
  std::string_view id = path.substr(slash + 1);
  if (id.ends_with('/')) id.remove_suffix(1);
  return !id.empty() && id.find('/') == std::string_view::npos && !id.starts_with('_') && !id.starts_with('$');
}

}  // namespace

std::optional<http::Response> RestHandler::Impl::handle(const http::Request& request, http::RequestContext& context,
                                                        StoreAccess access, std::string source_system) {
  if (access == StoreAccess::kMemoryOnly && !mayBeReadById(request.path)) return std::nullopt;
  Call call;
  call.source_system = std::move(source_system);
  call.store_access = access;
  call.method = request.method;
  call.headers = &request.headers;
  call.context = &context;
  call.body = request.body;

  auto finish = [&](Reply reply, Format format, bool pretty) {
    http::Response response;
    response.status = reply.status;
    response.headers = std::move(reply.headers);
    std::string json;
    if (reply.outcome) json = reply.outcome->toJson();
    else json = std::move(reply.json);
    if (json.empty() || reply.status == 304) return response;
    if (!reply.raw_content_type.empty()) {
      response.headers.set("Content-Type", reply.raw_content_type);
      response.body = std::move(json);
      return response;
    }
    if (format == Format::kXml || pretty) {
      auto parsed = JsonDocument::parse(json);
      if (parsed.isOk()) {
        if (format == Format::kXml) {
          auto xml = fhir::fhirJsonToXml(parsed->root(), pretty);
          if (xml.isOk()) {
            response.headers.set("Content-Type", "application/fhir+xml; charset=utf-8");
            response.body = std::move(xml).value();
            return response;
          }
        } else {
          json = fhir::writeResourceJson(parsed->root(), fhir::JsonWriteOptions{true});
        }
      }
    }
    response.headers.set("Content-Type", "application/fhir+json; charset=utf-8");
    response.body = std::move(json);
    return response;
  };

  auto decoded = search::decodeQuery(request.query, false);
  if (!decoded.isOk()) return finish(errorReply(400, "invalid", decoded.status().message()), Format::kJson, false);
  call.params = std::move(decoded).value();

  // Content negotiation: _format wins over Accept.
  Format format = Format::kJson;
  if (const std::string* f = call.param("_format")) {
    auto fm = formatOfMediaType(mediaType(*f));
    if (!fm) {
      return finish(errorReply(406, "not-supported", "unsupported _format '" + *f + "' (use json or xml)"),
                    Format::kJson, false);
    }
    format = *fm;
  } else if (std::string_view accept = request.headers.get("Accept"); !trim(accept).empty()) {
    std::optional<Format> chosen;
    std::string_view rest = accept;
    while (!rest.empty() && !chosen) {
      size_t comma = rest.find(',');
      std::string mt = mediaType(rest.substr(0, comma));
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      if (auto fm = formatOfMediaType(mt)) chosen = fm;
      else if (mt == "*/*" || mt == "application/*" || mt == "text/*" || mt == "application/json-patch+json" ||
               mt == "application/fhir+ndjson" || mt == "application/x-ndjson") chosen = Format::kJson;
    }
    if (!chosen) {
      return finish(errorReply(406, "not-supported",
                               "none of the Accept media types can be produced (use application/fhir+json or "
                               "application/fhir+xml)"),
                    Format::kJson, false);
    }
    format = *chosen;
  }
  bool pretty = false;
  if (const std::string* p = call.param("_pretty")) pretty = *p == "true";

  // Route.
  std::string_view path = request.path;
  if (!path.starts_with('/')) return finish(errorReply(400, "invalid", "the request path must start with '/'"), format, pretty);
  path.remove_prefix(1);
  while (!path.empty()) {
    size_t slash = path.find('/');
    bool ok = true;
    std::string seg = percentDecode(path.substr(0, slash), &ok);
    if (!ok) return finish(errorReply(400, "invalid", "bad percent-encoding in the path"), format, pretty);
    if (!seg.empty()) call.segments.push_back(std::move(seg));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  // Fixed by configuration, never the client's Host header: a Location or link must not point where the client
  // says (cache poisoning, links to another host), and must keep the scheme it was reached by.
  call.base = *base_url_.load();
  call.prefer = parsePrefer(request.headers);
  // The presentation parameters, parsed once per request by the same parsers a search uses (search_request.h).
  if (const std::string* s = call.param("_summary")) {
    auto mode = search::parseSummaryParam(*s);
    if (!mode.isOk()) return finish(errorReply(400, "invalid", mode.status().message()), format, pretty);
    call.presentation.summary = *mode;
  }
  if (const std::string* e = call.param("_elements")) call.presentation.elements = search::parseElementsParam(*e);

  Reply reply = dispatch(call);
  if (reply.declined) return std::nullopt;
  if (reply.format) format = *reply.format;
  if (reply.pretty) pretty = *reply.pretty;
  return finish(std::move(reply), format, pretty);
}

Reply RestHandler::Impl::dispatch(Call& call) {
  const auto& seg = call.segments;
  http::RequestContext& ctx = *call.context;
  const std::string& m = call.method;
  if (call.store_access == StoreAccess::kMemoryOnly) {
    // Only a read by id can be answered from memory; everything else goes to a pool thread untouched.
    const bool read_by_id = seg.size() == 2 && (m == "GET" || m == "HEAD") && !seg[1].starts_with('_') &&
                            !seg[1].starts_with('$') && fhir::ModelInfo::r4().isResourceType(seg[0]);
    if (!read_by_id) return declinedReply();
  }
  auto notAllowed = [&](std::string allow) { return methodNotAllowed(m, std::move(allow)); };
  if (seg.empty()) {
    if (m == "POST") {
      ctx.interaction = "bundle";
      return bundle(call);
    }
    return notAllowed("POST");
  }
  const std::string& first = seg[0];
  if (first == "metadata") {
    ctx.interaction = "capabilities";
    if (seg.size() != 1) return errorReply(404, "not-found", "no such endpoint");
    if (m != "GET" && m != "HEAD") return notAllowed("GET");
    Reply r;
    r.json = capability_json_;
    return r;
  }
  if (first == "_history") {
    ctx.interaction = "history-system";
    if (auto denied = enterInteraction(call, "history-system", "")) return std::move(*denied);
    if (seg.size() != 1) return errorReply(404, "not-found", "no such endpoint");
    if (m != "GET") return notAllowed("GET");
    return history(call, std::nullopt, std::nullopt);
  }
  if (first.starts_with('$') && seg.size() == 1 && options_.operations) {
    if (const Operation* op = options_.operations->find(OperationLevel::kSystem, "", first.substr(1))) {
      return invokeOperation(call, *op, "", "");
    }
  }
  if (first.starts_with('_') || first.starts_with('$')) {
    ctx.interaction = "unsupported";
    return errorReply(400, "not-supported", "system-level '" + first + "' is not supported");
  }
  if (!fhir::ModelInfo::r4().isResourceType(first)) {
    ctx.interaction = "unknown-type";
    return errorReply(404, "not-found", "unknown resource type '" + first + "'");
  }
  return routeType(call, first);
}

Reply RestHandler::Impl::routeType(Call& call, const std::string& type) {
  const auto& seg = call.segments;
  http::RequestContext& ctx = *call.context;
  const std::string& m = call.method;
  auto notAllowed = [&](std::string allow) { return methodNotAllowed(m, std::move(allow)); };
  // Labels the interaction and asks the access policy first: before the body is parsed or validated.
  auto gate = [&](const char* interaction) {
    ctx.interaction = interaction;
    return enterInteraction(call, interaction, type);
  };
  if (options_.conformance && ip::ConformanceCatalog::servesType(type) && !(seg.size() >= 2 && seg.back() == "$validate")) {
    if (auto denied = gate(seg.size() == 1 ? "search-type" : "read")) return std::move(*denied);
    return conformanceRoute(call, type);
  }
  if (seg.size() == 1) {
    if (m == "GET" || m == "HEAD") {
      if (auto denied = gate("search-type")) return std::move(*denied);
      return searchType(call, type);
    }
    if (m == "POST") {
      if (auto denied = gate("create")) return std::move(*denied);
      return create(call, type);
    }
    if (m == "PUT") {
      if (auto denied = gate("update")) return std::move(*denied);
      return conditionalUpdate(call, type);
    }
    if (m == "DELETE") {
      if (auto denied = gate("delete")) return std::move(*denied);
      return conditionalRemove(call, type);
    }
    return notAllowed("GET, POST, PUT, DELETE");
  }
  const std::string& second = seg[1];
  if (seg.size() == 2 && second == "_search") {
    if (auto denied = gate("search-type")) return std::move(*denied);
    if (m != "POST" && m != "GET") return notAllowed("GET, POST");
    if (m == "POST" && !call.body.empty()) {
      std::string ct = mediaType(call.header("Content-Type"));
      if (ct != "application/x-www-form-urlencoded") {
        return errorReply(415, "not-supported", "POST _search takes application/x-www-form-urlencoded parameters");
      }
      auto form = search::decodeQuery(call.body, true);
      if (!form.isOk()) return errorReply(400, "invalid", form.status().message());
      for (auto& p : *form) call.params.push_back(std::move(p));
    }
    call.seal_links = m == "POST";
    return searchType(call, type);
  }
  if (seg.size() == 2 && second == "_history") {
    if (auto denied = gate("history-type")) return std::move(*denied);
    if (m != "GET") return notAllowed("GET");
    return history(call, type, std::nullopt);
  }
  if (seg.size() == 2 && second == "$validate") {
    if (auto denied = gate("validate")) return std::move(*denied);
    if (m != "POST") return notAllowed("POST");
    return validate(call, type, std::nullopt);
  }
  if (seg.size() == 2 && second.starts_with('$') && options_.operations) {
    if (const Operation* op = options_.operations->find(OperationLevel::kType, type, second.substr(1))) {
      return invokeOperation(call, *op, type, "");
    }
  }
  if (second.starts_with('$') || second.starts_with('_')) {
    ctx.interaction = "unsupported";
    return errorReply(400, "not-supported", "'" + second + "' is not supported on " + type);
  }
  const std::string& id = second;
  if (!isValidId(id)) {
    ctx.interaction = "read";
    return errorReply(400, "invalid", "'" + id + "' is not a valid FHIR id");
  }
  if (seg.size() == 2) {
    if (m == "GET" || m == "HEAD") {
      if (auto denied = gate("read")) return std::move(*denied);
      return read(call, type, id);
    }
    if (m == "PUT") {
      if (auto denied = gate("update")) return std::move(*denied);
      return update(call, type, id);
    }
    if (m == "DELETE") {
      if (auto denied = gate("delete")) return std::move(*denied);
      return remove(call, type, id);
    }
    if (m == "PATCH") {
      if (auto denied = gate("patch")) return std::move(*denied);
      return patch(call, type, id);
    }
    return notAllowed("GET, PUT, DELETE, PATCH");
  }
  const std::string& third = seg[2];
  if (seg.size() == 3 && third == "_history") {
    if (auto denied = gate("history-instance")) return std::move(*denied);
    if (m != "GET") return notAllowed("GET");
    return history(call, type, id);
  }
  if (seg.size() == 3 && third == "$validate") {
    if (auto denied = gate("validate")) return std::move(*denied);
    if (m != "POST" && m != "GET") return notAllowed("GET, POST");
    return validate(call, type, id);
  }
  if (seg.size() == 3 && third.starts_with('$') && options_.operations) {
    if (const Operation* op = options_.operations->find(OperationLevel::kInstance, type, third.substr(1))) {
      return invokeOperation(call, *op, type, id);
    }
  }
  if (seg.size() == 4 && third == "_history") {
    if (auto denied = gate("vread")) return std::move(*denied);
    if (m != "GET" && m != "HEAD") return notAllowed("GET");
    return vread(call, type, id, seg[3]);
  }
  ctx.interaction = "unknown";
  return errorReply(404, "not-found", "no such endpoint");
}

detail::CapabilityExtras RestHandler::Impl::capabilityExtras() const {
  detail::CapabilityExtras extras;
  if (options_.conformance) {
    for (const fhir::TypeDef* t : fhir::ModelInfo::r4().resourceTypes()) {
      if (ip::ConformanceCatalog::servesType(t->name)) extras.read_only_types.push_back(t->name);
      std::vector<std::string> profiles = options_.conformance->profilesOf(t->name);
      if (!profiles.empty()) extras.supported_profiles[t->name] = std::move(profiles);
    }
  }
  if (options_.operations) {
    for (const auto& op : options_.operations->all()) {
      std::string type = op->level() == OperationLevel::kSystem ? std::string() : std::string(op->resourceType());
      extras.operations.push_back({std::string(op->name()), std::string(op->definitionUrl()), std::move(type)});
    }
  }
  return extras;
}

std::optional<Reply> RestHandler::Impl::enterInteraction(Call& call, std::string_view interaction,
                                                         std::string_view type) {
  // A policy that may block is never asked on an I/O thread: the server asks again on a handler thread.
  if (call.store_access == StoreAccess::kMemoryOnly && access_->mayBlock()) return declinedReply();
  Status s = access_->permitInteraction(*call.context, InteractionSubject{interaction, type});
  if (s.isOk()) return std::nullopt;
  Reply denied = statusReply(s);
  if (s.code() == StatusCode::kPermissionDenied && call.context->principal) {
    // RFC 6750 §3.1: the token is fine, its scopes are not enough.
    denied.headers.set("WWW-Authenticate", std::string(call.context->principal->dpop ? "DPoP" : "Bearer") +
                                               " realm=\"planbro\", error=\"insufficient_scope\"");
  }
  return denied;
}

std::string RestHandler::Impl::normalizedBaseUrl(std::string base) {
  while (base.ends_with('/')) base.pop_back();
  return base.empty() ? std::string("http://localhost") : base;
}

search::ExecutorOptions RestHandler::Impl::executorOptions(const RestOptions& options) {
  search::ExecutorOptions o = options.search;
  if (o.own_base_url.empty()) o.own_base_url = normalizedBaseUrl(options.base_url);
  while (o.own_base_url.ends_with('/')) o.own_base_url.pop_back();
  return o;
}

// ---------------------------------------------------------------------------------------------------------------

RestHandler::RestHandler(store::ResourceStore& store, RestOptions options)
    : impl_(std::make_unique<Impl>(store, std::move(options))) {}
RestHandler::~RestHandler() = default;

http::Response RestHandler::handle(const http::Request& request, http::RequestContext& context) {
  return *impl_->handle(request, context, StoreAccess::kAny);
}

std::optional<http::Response> RestHandler::handleWithoutBlocking(const http::Request& request,
                                                                 http::RequestContext& context) {
  return impl_->handle(request, context, StoreAccess::kMemoryOnly);
}

http::Response RestHandler::processBundle(std::string bundle_json, http::RequestContext& context) {
  return impl_->processBundleText(std::move(bundle_json), context, {});
}

http::Response RestHandler::processBundle(std::string bundle_json, http::RequestContext& context,
                                          std::string source_system) {
  return impl_->processBundleText(std::move(bundle_json), context, std::move(source_system));
}

void RestHandler::setBaseUrl(std::string base_url) { impl_->setBaseUrl(std::move(base_url)); }

Status loadBundleIfEmpty(store::ResourceStore& store, RestOptions options, const std::string& path,
                         BundleLoadReport* report) {
  store::HistoryQuery q;
  q.count = 1;
  auto page = store.history(q);
  if (!page.isOk()) return page.status();
  if (!page->entries.empty()) return Status::ok();
  if (report) report->store_was_empty = true;
  std::ifstream in(path, std::ios::binary);
  if (!in) return notFound("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  // The access policy judges network requests by their principal; the loader has none and needs none. Its own
  // handler, which no server routes to, keeps every write rule (they live in options.writer) and drops only that.
  // No request can reach this path: the serving handler keeps its policy, and nothing a request sets selects this one.
  options.access = nullptr;
  options.source_system = kDemoLoaderSystem;
  RestHandler loader(store, std::move(options));
  http::RequestContext context;
  context.request_id = "demo-data";
  context.interaction = "transaction";
  http::Response r = loader.processBundle(ss.str(), context, kDemoLoaderSystem);
  if (r.status >= 300) return Status(StatusCode::kInvalidArgument, "loading " + path + " failed (HTTP " + std::to_string(r.status) + "): " + r.body);
  if (report) {
    auto response = fhir::JsonDocument::parse(std::move(r.body));
    const fhir::JsonValue* entries = response.isOk() ? response->root().find("entry") : nullptr;
    for (const fhir::JsonValue& entry : entries ? entries->items() : std::span<const fhir::JsonValue>{}) {
      ++report->entries;
      const fhir::JsonValue* reply = entry.find("response");
      const fhir::JsonValue* status = reply ? reply->find("status") : nullptr;
      if (status && status->text().starts_with("201")) ++report->created;
    }
  }
  return Status::ok();
}

}  // namespace planbro::gateway::rest
