// Registered operations (operation_registry.h) and the conformance resources served read-only from the loaded
// package (ip/conformance_catalog.h).
#include <spdlog/spdlog.h>

#include "planbro/fhir-model/model_info.h"
#include "planbro/gateway/http/logging.h"
#include "rest_internal.h"

namespace planbro::gateway::rest {

Reply RestHandler::Impl::invokeOperation(Call& call, const Operation& op, std::string_view type, std::string_view id) {
  const std::string& m = call.method;
  // The interaction label stays bounded: one value per registered operation.
  call.context->interaction = "operation-" + std::string(op.name());
  // Asked first, before the body is parsed: an unauthorised client learns nothing from the operation's errors.
  if (auto denied = enterInteraction(call, call.context->interaction, type)) return std::move(*denied);
  if (m == "GET" || m == "HEAD") {
    if (!op.allowsGet()) return methodNotAllowed(m, "POST");
  } else if (m != "POST") {
    return methodNotAllowed(m, op.allowsGet() ? "GET, POST" : "POST");
  }
  JsonDocument doc;
  const JsonValue* parameters = nullptr;
  JsonValue body_root;
  if (m == "POST" && (!call.body.empty() || call.resource)) {
    OperationOutcome unused;
    auto body = bodyResource(call, doc);
    if (!body.isOk()) return prepareFailure(body.status(), unused);
    body_root = *body;
    const JsonValue* rt = body_root.find("resourceType");
    if (!rt || !rt->isString() || rt->text() != "Parameters") {
      return errorReply(400, "invalid", "$" + std::string(op.name()) + " takes a Parameters resource in the body",
                        "resourceType");
    }
    parameters = &body_root;
  }
  OperationCall oc;
  oc.method = m;
  oc.type = type;
  oc.id = id;
  oc.query = &call.params;
  oc.parameters = parameters;
  oc.context = call.context;
  oc.base = call.base;
  oc.store = &store_;
  oc.search = &executor_;
  oc.scope = scopeFor(call);
  oc.clock = options_.clock;
  oc.decide = [&](AccessAction action, std::string_view t, std::string_view i, std::string_view json) {
    return decide(call, action, t, i, json);
  };
  OperationOutcome outcome;
  auto result = op.invoke(oc, outcome);
  if (!result.isOk()) return prepareFailure(result.status(), outcome);
  Reply reply;
  reply.status = result->status;
  reply.json = std::move(result->json);
  reply.raw_content_type = std::move(result->content_type);
  for (const auto& [name, value] : result->headers.fields()) reply.headers.set(name, value);
  return reply;
}

std::string RestHandler::Impl::renderPresented(Call& call, const store::ResourceVersion& v,
                                              const detail::Presentation& presentation) {
  // The redacting decision (metadata only, GW-48) wins over every presentation of the resource.
  if (!v.deleted) {
    if (std::optional<std::string> redacted = access_->redact(*call.context, v.type, v.json)) {
      store::ResourceVersion copy = v;
      copy.json = std::move(*redacted);
      return detail::renderResource(copy, presentation);
    }
  }
  if (options_.presenter && !v.deleted && options_.presenter->presents(v.type)) {
    auto presented = options_.presenter->present(v, store_, [&](std::string_view type, std::string_view id, std::string_view json) {
      return decide(call, AccessAction::kRead, type, id, json).isOk();
    });
    if (presented.isOk() && *presented) {
      store::ResourceVersion copy = v;
      copy.json = std::move(**presented);
      return detail::renderResource(copy, presentation);
    }
    // The stored version is answered; its narrative was made from the plan alone when it was written.
    if (!presented.isOk()) http::appLogger()->warn("presenting {}/{}: {}", v.type, v.id, presented.status().message());
  }
  return detail::renderResource(v, presentation);
}

Reply RestHandler::Impl::conformanceRoute(Call& call, const std::string& type) {
  const auto& seg = call.segments;
  const std::string& m = call.method;
  const ip::ConformanceCatalog& catalog = *options_.conformance;
  http::RequestContext& ctx = *call.context;
  auto readOnly = [&]() {
    Reply r = methodNotAllowed(m, "GET");
    r.outcome = OperationOutcome();
    r.outcome->add(Severity::kError, "not-supported",
                   type + " resources are served read-only from the conformance package the gateway loaded at start "
                          "(the one its validator enforces); they cannot be written through the API");
    return r;
  };
  if (seg.size() == 1 || (seg.size() == 2 && seg[1] == "_search")) {
    ctx.interaction = "search-type";
    if (m != "GET" && m != "HEAD" && !(m == "POST" && seg.size() == 2)) return readOnly();
    if (m == "POST" && !call.body.empty()) {
      if (mediaType(call.header("Content-Type")) != "application/x-www-form-urlencoded") {
        return errorReply(415, "not-supported", "POST _search takes application/x-www-form-urlencoded parameters");
      }
      auto form = search::decodeQuery(call.body, true);
      if (!form.isOk()) return errorReply(400, "invalid", form.status().message());
      for (auto& p : *form) call.params.push_back(std::move(p));
    }
    auto found = catalog.search(type, call.params);
    if (!found.isOk()) return badRequest(found.status());
    if (call.presentation.summary == search::SummaryMode::kCount) {
      return Reply{200, {}, bundleBody(call, "searchset", {}, {{"self", call.base + "/" + type}}, found->size())};
    }
    std::vector<std::string> entries;
    for (const ip::ConformanceEntry* e : *found) {
      std::string body = e->json;
      if (call.presentation.subsetting()) {
        auto parsed = JsonDocument::parse(body);
        if (parsed.isOk()) body = fhir::writeJson(detail::applyPresentation(*parsed, parsed->root(), call.presentation));
      }
      std::string entry = "{\"fullUrl\":";
      detail::appendJsonString(entry, call.base + "/" + type + "/" + e->id);
      entry += ",\"resource\":" + body + R"(,"search":{"mode":"match"}})";
      entries.push_back(std::move(entry));
    }
    std::string self = call.base + "/" + type;
    if (std::string q = detail::encodeLinkQuery(call.params); !q.empty()) self += "?" + q;
    return Reply{200, {}, bundleBody(call, "searchset", entries, {{"self", self}}, found->size())};
  }
  const std::string& id = seg[1];
  if (seg.size() == 2 && !id.starts_with('$') && !id.starts_with('_')) {
    ctx.interaction = "read";
    if (m != "GET" && m != "HEAD") return readOnly();
    const ip::ConformanceEntry* e = catalog.find(type, id);
    if (!e) {
      return errorReply(404, "not-found", type + "/" + id + " is not in the conformance package the gateway loaded");
    }
    Reply r;
    if (call.presentation.subsetting()) {
      auto parsed = JsonDocument::parse(e->json);
      if (parsed.isOk()) {
        r.json = fhir::writeJson(detail::applyPresentation(*parsed, parsed->root(), call.presentation));
        return r;
      }
    }
    r.json = e->json;
    return r;
  }
  ctx.interaction = "unsupported";
  if (seg.size() == 2) return errorReply(400, "not-supported", "'" + id + "' is not supported on " + type);
  return errorReply(404, "not-found", "conformance resources support read and search only");
}

}  // namespace planbro::gateway::rest
