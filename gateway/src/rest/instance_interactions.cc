// The instance and type interactions: read, vread, create, update, delete, patch, $validate. Writes are calls into
// the operations layer (ops_); writeReply/answerWrite turn its outcome into the HTTP answer.
#include <algorithm>
#include <span>

#include "planbro/fhir-model/fhir_xml.h"
#include "planbro/fhir-model/validator.h"
#include "planbro/gateway/rest/fhirpath_patch.h"
#include "planbro/gateway/rest/json_patch.h"
#include "planbro/gateway/ops/identity_keys.h"
#include "planbro/gateway/security/audit_log.h"
#include "rest_internal.h"

namespace planbro::gateway::rest {

// ---------------------------------------------------------------------------------------------------------------
// Helpers

ops::OperationsOptions RestHandler::Impl::operationsOptions(const RestOptions& options) {
  ops::OperationsOptions o;
  o.writer = options.writer;
  if (o.writer.own_base_url.empty()) o.writer.own_base_url = executorOptions(options).own_base_url;
  if (options.unique_person_numbers) o.writer.hooks.push_back(ops::makePatientIdentityHook());
  o.check_references = options.check_references;
  o.max_attempts = options.max_transaction_attempts;
  o.transaction_writer_budget = options.transaction_writer_budget;
  o.clock = options.clock;
  o.search_parse = options.search_parse;
  return o;
}

ops::WriteContext RestHandler::Impl::writeContext(const Call& call) const {
  ops::WriteContext wc;
  const http::RequestContext& context = *call.context;
  if (context.principal) wc.actor = !context.principal->subject.empty() ? context.principal->subject : context.principal->client_id;
  if (context.principal) wc.agent = security::auditAgentOf(*context.principal);
  // A Subscription records its creator (the write hook stamps it), also inside a Bundle posted to the base; other
  // writes need no copy of the principal.
  if (context.principal && (call.segments.empty() || call.segments[0] == "Subscription")) {
    wc.principal = std::make_shared<const security::Principal>(*context.principal);
  }
  wc.source_system = call.source_system.empty() ? options_.source_system : call.source_system;
  wc.correlation_id = context.request_id;
  wc.scope = scopeFor(call);  // conditional writes search narrowed: a hidden match is not found
  wc.authorize = [this, &call](const PreparedWrite& w) {
    AccessAction action = w.intent.kind == WriteKind::kCreate   ? AccessAction::kCreate
                          : w.intent.kind == WriteKind::kUpdate ? AccessAction::kUpdate
                                                                : AccessAction::kDelete;
    return decide(call, action, w.intent.type, w.intent.id, w.json);
  };
  return wc;
}

Result<JsonValue> RestHandler::Impl::bodyResource(Call& call, JsonDocument& doc, OperationOutcome* xml_issues) {
  if (call.resource) return doc.import(*call.resource);
  if (call.body.empty()) return invalidArgument("the request has no body (a FHIR resource was expected)");
  const std::string_view content_type = call.header("Content-Type");
  std::string ct = mediaType(content_type);
  // Only a missing (or blank) Content-Type is read as JSON; one that is present but names no media type
  // (";charset=utf-8", ";;;") is refused like any other unknown type rather than guessed at.
  const bool absent = trim(content_type).empty();
  std::optional<Format> fmt = absent ? std::optional<Format>(Format::kJson) : formatOfMediaType(ct);
  if (!fmt) return Status(StatusCode::kUnsupported, "unsupported Content-Type '" + ct + "' (use application/fhir+json or application/fhir+xml)");
  if (*fmt == Format::kXml) {
    auto converted = xml_issues ? fhir::fhirXmlToJson(call.body, options_.xml_limits, *xml_issues)
                                : fhir::fhirXmlToJson(call.body, options_.xml_limits);
    if (!converted.isOk()) return invalidArgument("malformed FHIR XML: " + converted.status().message());
    doc = std::move(converted).value();
    return doc.root();
  }
  fhir::JsonErrorPosition pos;
  auto parsed = JsonDocument::parse(std::string(call.body), options_.json_limits, &pos);
  if (!parsed.isOk()) {
    if (parsed.status().code() == StatusCode::kResourceExhausted) return parsed.status();
    return invalidArgument("malformed JSON: " + parsed.status().message());
  }
  doc = std::move(parsed).value();
  if (!doc.root().isObject()) return invalidArgument("the body must be a JSON object (a FHIR resource)");
  return doc.root();
}

Reply RestHandler::Impl::answerWrite(Call& call, const store::ResourceVersion& v, int status) {
  Reply r;
  r.status = status;
  r.headers.set("ETag", detail::etagFor(v.version));
  r.headers.set("Last-Modified", detail::formatHttpDate(v.last_updated));
  if (status == 201) {
    r.headers.set("Location", call.base + "/" + v.type + "/" + v.id + "/_history/" + std::to_string(v.version));
  }
  switch (call.prefer.ret) {
    case ReturnPref::kMinimal: break;
    case ReturnPref::kOutcome: {
      OperationOutcome oo;
      oo.add(Severity::kInformation, "informational",
             v.type + "/" + v.id + " version " + std::to_string(v.version) + (status == 201 ? " created" : " stored"));
      r.outcome = std::move(oo);
      break;
    }
    case ReturnPref::kRepresentation:
      if (decide(call, AccessAction::kRead, v.type, v.id, v.json).isOk()) r.json = renderPresented(call, v, {});
      break;
  }
  return r;
}

Reply RestHandler::Impl::writeReply(Call& call, const Result<ops::WriteOutcome>& written, OperationOutcome& outcome) {
  if (!written.isOk()) return prepareFailure(written.status(), outcome);
  const store::ResourceVersion& v = written->version;
  using K = ops::WriteOutcome::Kind;
  switch (written->kind) {
    case K::kCreated: return answerWrite(call, v, 201);
    case K::kUpdated:
    case K::kUnchanged:
    case K::kExisting: return answerWrite(call, v, 200);
    case K::kNothingMatched: {
      Reply r;
      r.status = 204;
      return r;
    }
    case K::kDeleted:
    case K::kAlreadyDeleted: break;
  }
  Reply r;
  r.headers.set("ETag", detail::etagFor(v.version));
  if (call.prefer.ret == ReturnPref::kMinimal) {
    r.status = 204;
  } else {
    OperationOutcome oo;
    oo.add(Severity::kInformation, "informational",
           written->kind == K::kDeleted ? v.type + "/" + v.id + " deleted" : v.type + "/" + v.id + " was already deleted");
    r.outcome = std::move(oo);
  }
  return r;
}

// ---------------------------------------------------------------------------------------------------------------
// read / vread

Reply RestHandler::Impl::read(Call& call, const std::string& type, const std::string& id) {
  if (call.store_access == StoreAccess::kMemoryOnly) {
    if (access_->mayBlock()) return declinedReply();
    if (options_.presenter && options_.presenter->presents(type)) return declinedReply();  // it may read the store
    std::shared_ptr<const store::ResourceVersion> cached = store_.readCached(type, id);
    if (!cached) return declinedReply();
    return readReply(call, *cached);
  }
  auto v = store_.read(type, id);
  if (!v.isOk()) {
    if (v.status().code() == StatusCode::kNotFound) return errorReply(404, "not-found", type + "/" + id + " is not known");
    if (v.status().code() == StatusCode::kGone) {
      // Deleted: its content is gone, so whether the requester could see it is asked without it; a policy that
      // cannot tell answers as for a missing resource, and the deletion reveals nothing.
      if (!decide(call, AccessAction::kRead, type, id, "").isOk()) {
        return errorReply(404, "not-found", type + "/" + id + " is not known");
      }
      Reply r = errorReply(410, "deleted", type + "/" + id + " has been deleted");
      return r;
    }
    return statusReply(v.status());
  }
  return readReply(call, *v);
}

Reply RestHandler::Impl::readReply(Call& call, const store::ResourceVersion& v) {
  if (Status s = decide(call, AccessAction::kRead, v.type, v.id, v.json); !s.isOk()) return statusReply(s);
  Reply r;
  r.headers.set("ETag", detail::etagFor(v.version));
  r.headers.set("Last-Modified", detail::formatHttpDate(v.last_updated));
  if (std::string_view inm = call.header("If-None-Match"); !inm.empty()) {
    auto tag = detail::parseEtag(inm);
    if (tag && *tag == v.version) {
      r.status = 304;
      return r;
    }
  } else if (std::string_view ims = call.header("If-Modified-Since"); !ims.empty()) {
    auto since = detail::parseHttpDate(ims);
    int64_t secs = v.last_updated.time_since_epoch().count() / 1000000;
    if (since && secs <= since->time_since_epoch().count() / 1000000) {
      r.status = 304;
      return r;
    }
  }
  r.json = renderPresented(call, v, call.presentation);
  return r;
}

Reply RestHandler::Impl::vread(Call& call, const std::string& type, const std::string& id, const std::string& vid) {
  auto version = detail::parseEtag(vid);
  if (!version || vid.find('"') != std::string::npos) return errorReply(400, "invalid", "'" + vid + "' is not a version id");
  auto v = store_.vread(type, id, *version);
  if (!v.isOk()) {
    if (v.status().code() == StatusCode::kNotFound) return errorReply(404, "not-found", type + "/" + id + "/_history/" + vid + " is not known");
    if (v.status().code() == StatusCode::kGone) {
      if (!decide(call, AccessAction::kRead, type, id, "").isOk()) {
        return errorReply(404, "not-found", type + "/" + id + "/_history/" + vid + " is not known");
      }
      return errorReply(410, "deleted", type + "/" + id + "/_history/" + vid + " is a deletion");
    }
    return statusReply(v.status());
  }
  if (Status s = decide(call, AccessAction::kRead, type, id, v->json); !s.isOk()) return statusReply(s);
  Reply r;
  r.headers.set("ETag", detail::etagFor(v->version));
  r.headers.set("Last-Modified", detail::formatHttpDate(v->last_updated));
  r.json = renderPresented(call, *v, call.presentation);
  return r;
}

// ---------------------------------------------------------------------------------------------------------------
// create / update / delete / patch

// A patch that does not apply is the client's: 422 when it is well-formed but fails on this resource, else 400.
ops::Patcher patcherFor(bool json_patch, JsonValue patch, fhir::JsonLimits limits) {
  return [json_patch, patch, limits](JsonDocument& doc, const JsonValue& current) -> Result<JsonValue> {
    auto patched = json_patch ? applyJsonPatch(doc, current, patch, limits) : applyFhirPathPatch(doc, current, patch, limits);
    if (!patched.isOk() && patched.status().code() != StatusCode::kUnprocessable &&
        patched.status().code() != StatusCode::kResourceExhausted) {
      return invalidArgument(patched.status().message());
    }
    return patched;
  };
}

namespace {

Result<std::optional<int64_t>> ifMatch(const Call& call) {
  std::string_view im = call.header("If-Match");
  if (im.empty()) return std::optional<int64_t>();
  auto v = detail::parseEtag(im);
  if (!v) return invalidArgument("If-Match must be an ETag such as W/\"3\" (got '" + std::string(im) + "')");
  return std::optional<int64_t>(*v);
}

}  // namespace

Reply RestHandler::Impl::create(Call& call, const std::string& type) {
  JsonDocument doc;
  OperationOutcome outcome;
  auto resource = bodyResource(call, doc);
  if (!resource.isOk()) return prepareFailure(resource.status(), outcome);
  search::QueryParams if_none_exist;
  if (std::string_view ine = call.header("If-None-Exist"); !ine.empty()) {
    std::string_view query = ine;
    if (size_t q = query.find('?'); q != std::string_view::npos) query = query.substr(q + 1);
    auto params = search::decodeQuery(query, false);
    if (!params.isOk()) return errorReply(400, "invalid", "If-None-Exist: " + params.status().message());
    if (params->empty()) return errorReply(400, "invalid", "If-None-Exist needs at least one search parameter");
    if_none_exist = std::move(params).value();
  }
  return writeReply(call, ops_.create(writeContext(call), type, *resource, if_none_exist, &outcome), outcome);
}

Reply RestHandler::Impl::update(Call& call, const std::string& type, const std::string& id) {
  JsonDocument doc;
  OperationOutcome outcome;
  auto resource = bodyResource(call, doc);
  if (!resource.isOk()) return prepareFailure(resource.status(), outcome);
  auto expected = ifMatch(call);
  if (!expected.isOk()) return statusReply(expected.status());
  return writeReply(call, ops_.update(writeContext(call), type, id, *resource, *expected, &outcome), outcome);
}

Reply RestHandler::Impl::conditionalUpdate(Call& call, const std::string& type) {
  if (call.params.empty()) return errorReply(400, "invalid", "PUT on a type needs search parameters (conditional update)");
  JsonDocument doc;
  OperationOutcome outcome;
  auto resource = bodyResource(call, doc);
  if (!resource.isOk()) return prepareFailure(resource.status(), outcome);
  auto expected = ifMatch(call);
  if (!expected.isOk()) return statusReply(expected.status());
  return writeReply(call, ops_.conditionalUpdate(writeContext(call), type, call.params, *resource, *expected, &outcome),
                    outcome);
}

Reply RestHandler::Impl::remove(Call& call, const std::string& type, const std::string& id) {
  auto expected = ifMatch(call);
  if (!expected.isOk()) return statusReply(expected.status());
  OperationOutcome outcome;
  return writeReply(call, ops_.remove(writeContext(call), type, id, *expected, &outcome), outcome);
}

Reply RestHandler::Impl::conditionalRemove(Call& call, const std::string& type) {
  if (call.params.empty()) return errorReply(400, "invalid", "DELETE on a type needs search parameters (conditional delete)");
  auto ids = ops_.findIds(type, call.params, 2, scopeFor(call));
  if (!ids.isOk()) return errorReply(400, "invalid", ids.status().message());
  if (ids->size() > 1) return errorReply(412, "multiple-matches", "the conditional delete matches more than one " + type);
  if (ids->empty()) {
    Reply r;
    r.status = 204;
    return r;
  }
  return remove(call, type, ids->front());
}

Reply RestHandler::Impl::patch(Call& call, const std::string& type, const std::string& id) {
  // Two kinds: a JSON Patch (application/json-patch+json) or a FHIRPath Patch (a Parameters resource, as FHIR
  // JSON or XML, also the resource of a transaction's PATCH entry).
  std::string ct = mediaType(call.header("Content-Type"));
  const bool json_patch = ct == "application/json-patch+json";
  if (!json_patch && !call.resource && !formatOfMediaType(ct)) {
    return errorReply(415, "not-supported",
                      "PATCH takes application/json-patch+json (JSON Patch) or a Parameters resource as "
                      "application/fhir+json or application/fhir+xml (FHIRPath Patch); got '" + ct + "'");
  }
  JsonDocument patch_doc;
  JsonValue patch;
  if (json_patch) {
    auto parsed = JsonDocument::parse(std::string(call.body), options_.json_limits);
    if (!parsed.isOk()) return errorReply(400, "invalid", "malformed JSON Patch: " + parsed.status().message());
    patch_doc = std::move(parsed).value();
    patch = patch_doc.root();
  } else {
    auto parameters = bodyResource(call, patch_doc);
    if (!parameters.isOk()) return errorReply(400, "invalid", "malformed FHIRPath Patch: " + parameters.status().message());
    patch = *parameters;
  }
  // Each operation may walk the whole resource (a FHIRPath path, a rebuilt spine): their number bounds the work.
  const JsonValue* operations = json_patch ? &patch : patch.find("parameter");
  if (operations && operations->size() > options_.max_patch_operations) {
    return errorReply(422, "too-costly", "the patch has " + std::to_string(operations->size()) + " operations (limit " +
                                             std::to_string(options_.max_patch_operations) + ", limits.max_patch_operations)");
  }
  auto expected = ifMatch(call);
  if (!expected.isOk()) return statusReply(expected.status());
  OperationOutcome outcome;
  auto written = ops_.patch(writeContext(call), type, id, patcherFor(json_patch, patch, options_.json_limits), *expected,
                            &outcome);
  // A patch whose result outgrows the parse limits (depth, size) is the client's request, not a server limit.
  if (!written.isOk() && written.status().code() == StatusCode::kResourceExhausted) {
    return errorReply(422, "too-costly", written.status().message());
  }
  return writeReply(call, written, outcome);
}

// ---------------------------------------------------------------------------------------------------------------
// $validate

Reply RestHandler::Impl::validate(Call& call, const std::string& type, std::optional<std::string> id) {
  JsonDocument doc;
  JsonValue resource;
  OperationOutcome xml_issues;  // every XML content error of the body, reported with the validation's
  if (call.method == "GET" || (call.body.empty() && !call.resource)) {
    if (!id) return errorReply(400, "invalid", "$validate needs a resource in the body");
    auto v = store_.read(type, *id);
    if (!v.isOk()) {
      // As for a read: a deletion the requester could not tell from a missing resource says nothing more.
      if (v.status().code() == StatusCode::kGone && !decide(call, AccessAction::kValidate, type, *id, "").isOk()) {
        return errorReply(404, "not-found", type + "/" + *id + " is not known");
      }
      return statusReply(v.status());
    }
    if (Status s = decide(call, AccessAction::kValidate, type, *id, v->json); !s.isOk()) return statusReply(s);
    auto parsed = JsonDocument::parse(v->json);
    if (!parsed.isOk()) return statusReply(parsed.status());
    doc = std::move(parsed).value();
    resource = doc.root();
  } else {
    OperationOutcome unused;
    auto body = bodyResource(call, doc, &xml_issues);
    if (!body.isOk()) return prepareFailure(body.status(), unused);
    resource = *body;
    const JsonValue* rt = resource.find("resourceType");
    if (rt && rt->isString() && rt->text() == "Parameters") {
      const JsonValue* params = resource.find("parameter");
      bool found = false;
      for (const JsonValue& p : params ? params->items() : std::span<const JsonValue>()) {
        const JsonValue* name = p.find("name");
        const JsonValue* res = p.find("resource");
        if (name && name->isString() && name->text() == "resource" && res) {
          resource = *res;
          found = true;
          break;
        }
      }
      if (!found && type != "Parameters") return errorReply(400, "invalid", "$validate Parameters need a 'resource' parameter");
    }
    const JsonValue* rt2 = resource.find("resourceType");
    if (!rt2 || !rt2->isString() || rt2->text() != type) {
      return errorReply(400, "invalid", "$validate on " + type + " needs a " + type + " resource");
    }
  }
  // XML content errors first (their elements were left out of what was validated), then the validator's.
  OperationOutcome oo = std::move(xml_issues);
  oo.append(ops_.writer().validator().validate(resource));
  if (!oo.hasErrors() && oo.issues().empty()) oo.add(Severity::kInformation, "informational", "the " + type + " is valid");
  return outcomeReply(200, std::move(oo));
}

}  // namespace planbro::gateway::rest
