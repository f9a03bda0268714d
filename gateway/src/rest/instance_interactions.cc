// The instance and type interactions: read, vread, create, update, delete, patch, $validate; and the shared
// write helpers (runPrepared: one prepared write through the store, answerWrite: the response to a write).
#include <algorithm>
#include <span>

#include "planbro/fhir-model/fhir_xml.h"
#include "planbro/fhir-model/validator.h"
#include "planbro/gateway/rest/fhirpath_patch.h"
#include "planbro/gateway/rest/json_patch.h"
#include "rest_internal.h"

namespace planbro::gateway::rest {

// ---------------------------------------------------------------------------------------------------------------
// Helpers

store::WriteContext RestHandler::Impl::writeContext(const http::RequestContext& context) const {
  store::WriteContext wc;
  if (context.principal) wc.actor = !context.principal->subject.empty() ? context.principal->subject : context.principal->client_id;
  wc.source_system = options_.source_system;
  return wc;
}

Result<JsonValue> RestHandler::Impl::bodyResource(Call& call, JsonDocument& doc) {
  if (call.resource) return doc.import(*call.resource);
  if (call.body.empty()) return invalidArgument("the request has no body (a FHIR resource was expected)");
  std::string ct = mediaType(call.header("Content-Type"));
  std::optional<Format> fmt = ct.empty() ? std::optional<Format>(Format::kJson) : formatOfMediaType(ct);
  if (!fmt) return Status(StatusCode::kUnsupported, "unsupported Content-Type '" + ct + "' (use application/fhir+json or application/fhir+xml)");
  if (*fmt == Format::kXml) {
    auto converted = fhir::fhirXmlToJson(call.body, options_.xml_limits);
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

Result<std::vector<std::string>> RestHandler::Impl::findIds(const std::string& type,
                                                             const search::QueryParams& params, size_t limit) {
  search::QueryParams filtered;
  for (const auto& p : params) {
    if (p.first == "_format" || p.first == "_pretty") continue;
    filtered.push_back(p);
  }
  if (filtered.empty()) return invalidArgument("a conditional request needs at least one search parameter");
  search::ParseOptions po;
  po.default_count = limit;
  auto req = search::parseSearch(type, filtered, po);
  if (!req.isOk()) return invalidArgument(req.status().message());
  req->count = limit;
  auto result = executor_.execute(*req);
  if (!result.isOk()) return result.status();
  std::vector<std::string> ids;
  for (const auto& v : result->matches) ids.push_back(v.id);
  if (result->next_cursor && ids.size() < limit) ids.push_back("");  // more exist
  return ids;
}

Result<std::vector<std::string>> RestHandler::Impl::findIds(std::string_view url, size_t limit) {
  size_t q = url.find('?');
  std::string type(url.substr(0, q));
  auto params = search::decodeQuery(url.substr(q + 1), false);
  if (!params.isOk()) return params.status();
  return findIds(type, *params, limit);
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
      if (decide(call, AccessAction::kRead, v.type, v.id, v.json).isOk()) r.json = detail::renderResource(v);
      break;
  }
  return r;
}

// Applies one prepared write: inside the caller's transaction, or in a transaction of its own (retried when the
// database says so).
Reply RestHandler::Impl::runPrepared(Call& call, const PreparedWrite& prepared, bool* lost_claim, std::string* owner) {
  if (lost_claim != nullptr) *lost_claim = false;
  Result<AppliedWrite> applied = Status(StatusCode::kInternal, "not run");
  if (call.tx) {
    applied = writer_.apply(*call.tx, prepared);
    if (!applied.isOk()) return statusReply(applied.status());
  } else {
    for (int attempt = 1;; ++attempt) {
      auto tx = store_.begin(writeContext(*call.context));
      if (!tx.isOk()) return statusReply(tx.status());
      applied = writer_.apply(**tx, prepared);
      Status s = applied.isOk() ? Status::ok() : applied.status();
      if (s.isOk() && applied->existing_owner) {
        // Read the winner inside this transaction: with the store's group commit its write may be visible to this
        // transaction before it is visible to a fresh read.
        auto winner = (*tx)->read(prepared.intent.type, *applied->existing_owner);
        (*tx)->rollback();
        if (!winner.isOk()) winner = store_.read(prepared.intent.type, *applied->existing_owner);
        if (!winner.isOk()) return statusReply(winner.status());
        return answerWrite(call, *winner, 200);
      }
      if (s.isOk()) s = (*tx)->commit();
      if (s.isOk()) break;
      bool retry = (*tx)->retryable() && attempt < options_.max_transaction_attempts;
      (*tx)->rollback();
      if (!retry) return statusReply(s);
    }
  }
  if (applied->existing_owner) {
    if (lost_claim != nullptr) *lost_claim = true;
    if (owner != nullptr) *owner = *applied->existing_owner;
    return {};
  }
  const store::WriteResult& wr = applied->result;
  store::ResourceVersion v;
  v.type = wr.type.empty() ? prepared.intent.type : wr.type;
  v.id = wr.id.empty() ? prepared.intent.id : wr.id;
  v.version = wr.version;
  v.last_updated = wr.last_updated;
  v.json = prepared.json;
  using O = store::WriteResult::Outcome;
  switch (wr.outcome) {
    case O::kCreated: return answerWrite(call, v, 201);
    case O::kUpdated: return answerWrite(call, v, 200);
    case O::kUnchanged: {
      if (prepared.intent.kind == WriteKind::kDelete) break;
      return answerWrite(call, v, 200);
    }
    case O::kDeleted: break;
  }
  // Deletes.
  Reply r;
  if (wr.outcome == O::kUnchanged && wr.version == 0) {
    return errorReply(404, "not-found", prepared.intent.type + "/" + prepared.intent.id + " does not exist");
  }
  r.headers.set("ETag", detail::etagFor(wr.version));
  if (call.prefer.ret == ReturnPref::kMinimal) {
    r.status = 204;
  } else {
    OperationOutcome oo;
    oo.add(Severity::kInformation, "informational",
           wr.outcome == O::kDeleted ? prepared.intent.type + "/" + prepared.intent.id + " deleted"
                                     : prepared.intent.type + "/" + prepared.intent.id + " was already deleted");
    r.outcome = std::move(oo);
  }
  return r;
}

// ---------------------------------------------------------------------------------------------------------------
// read / vread

Reply RestHandler::Impl::read(Call& call, const std::string& type, const std::string& id) {
  if (call.store_access == StoreAccess::kMemoryOnly) {
    if (access_->mayBlock()) return declinedReply();
    std::shared_ptr<const store::ResourceVersion> cached = store_.readCached(type, id);
    if (!cached) return declinedReply();
    return readReply(call, *cached);
  }
  auto v = store_.read(type, id);
  if (!v.isOk()) {
    if (v.status().code() == StatusCode::kNotFound) return errorReply(404, "not-found", type + "/" + id + " is not known");
    if (v.status().code() == StatusCode::kGone) {
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
  r.json = detail::renderResource(v, call.presentation);
  return r;
}

Reply RestHandler::Impl::vread(Call& call, const std::string& type, const std::string& id, const std::string& vid) {
  auto version = detail::parseEtag(vid);
  if (!version || vid.find('"') != std::string::npos) return errorReply(400, "invalid", "'" + vid + "' is not a version id");
  auto v = store_.vread(type, id, *version);
  if (!v.isOk()) {
    if (v.status().code() == StatusCode::kNotFound) return errorReply(404, "not-found", type + "/" + id + "/_history/" + vid + " is not known");
    if (v.status().code() == StatusCode::kGone) return errorReply(410, "deleted", type + "/" + id + "/_history/" + vid + " is a deletion");
    return statusReply(v.status());
  }
  if (Status s = decide(call, AccessAction::kRead, type, id, v->json); !s.isOk()) return statusReply(s);
  Reply r;
  r.headers.set("ETag", detail::etagFor(v->version));
  r.headers.set("Last-Modified", detail::formatHttpDate(v->last_updated));
  r.json = detail::renderResource(*v, call.presentation);
  return r;
}

// ---------------------------------------------------------------------------------------------------------------
// create / update / delete / patch

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
  OperationOutcome unused;
  auto resource = bodyResource(call, doc);
  if (!resource.isOk()) return prepareFailure(resource.status(), unused);
  WriteIntent intent;
  intent.kind = WriteKind::kCreate;
  intent.type = type;
  intent.id = call.forced_id;
  if (std::string_view ine = call.header("If-None-Exist"); !ine.empty()) {
    std::string_view query = ine;
    if (size_t q = query.find('?'); q != std::string_view::npos) query = query.substr(q + 1);
    auto params = search::decodeQuery(query, false);
    if (!params.isOk()) return errorReply(400, "invalid", "If-None-Exist: " + params.status().message());
    auto ids = findIds(type, *params, 2);
    if (!ids.isOk()) return errorReply(400, "invalid", "If-None-Exist: " + ids.status().message());
    if (ids->size() > 1) return errorReply(412, "duplicate", "If-None-Exist matches more than one " + type);
    if (ids->size() == 1) {
      if (call.tx && !call.forced_id.empty()) {
        // Inside a transaction other entries already refer to the id planned for this entry: start over, and the
        // planning pass will map the placeholder to the resource that appeared meanwhile.
        Reply retry = errorReply(409, "conflict", "a concurrent conditional create of the same " + type + " won; retrying");
        retry.retry_transaction = true;
        return retry;
      }
      auto v = store_.read(type, ids->front());
      if (v.isOk()) return answerWrite(call, *v, 200);
    }
    search::QueryParams sorted = *params;
    std::sort(sorted.begin(), sorted.end());
    intent.claim = store::BusinessKey{type, "if-none-exist", search::encodeQuery(sorted)};
  }
  OperationOutcome outcome;
  auto prepared = writer_.prepare(std::move(intent), *resource, &outcome);
  if (!prepared.isOk()) return prepareFailure(prepared.status(), outcome);
  if (Status s = decide(call, AccessAction::kCreate, type, prepared->intent.id, prepared->json); !s.isOk()) {
    return statusReply(s);
  }
  bool lost = false;
  std::string owner;
  Reply r = runPrepared(call, *prepared, &lost, &owner);
  if (!lost) return r;
  if (call.tx) {
    Reply retry = errorReply(409, "conflict", "a concurrent conditional create of the same " + type + " won; retrying");
    retry.retry_transaction = true;
    return retry;
  }
  auto v = store_.read(type, owner);
  if (!v.isOk()) return statusReply(v.status());
  return answerWrite(call, *v, 200);
}

Reply RestHandler::Impl::update(Call& call, const std::string& type, const std::string& id) {
  JsonDocument doc;
  OperationOutcome outcome;
  auto resource = bodyResource(call, doc);
  if (!resource.isOk()) return prepareFailure(resource.status(), outcome);
  auto expected = ifMatch(call);
  if (!expected.isOk()) return statusReply(expected.status());
  WriteIntent intent;
  intent.kind = WriteKind::kUpdate;
  intent.type = type;
  intent.id = id;
  intent.if_match = *expected;
  auto prepared = writer_.prepare(std::move(intent), *resource, &outcome);
  if (!prepared.isOk()) return prepareFailure(prepared.status(), outcome);
  if (Status s = decide(call, AccessAction::kUpdate, type, id, prepared->json); !s.isOk()) return statusReply(s);
  return runPrepared(call, *prepared);
}

Reply RestHandler::Impl::conditionalUpdate(Call& call, const std::string& type) {
  if (call.params.empty()) return errorReply(400, "invalid", "PUT on a type needs search parameters (conditional update)");
  auto ids = findIds(type, call.params, 2);
  if (!ids.isOk()) return errorReply(400, "invalid", ids.status().message());
  if (ids->size() > 1) return errorReply(412, "multiple-matches", "the conditional update matches more than one " + type);
  JsonDocument doc;
  OperationOutcome outcome;
  auto resource = bodyResource(call, doc);
  if (!resource.isOk()) return prepareFailure(resource.status(), outcome);
  const JsonValue* body_id = resource->find("id");
  std::string id;
  if (ids->size() == 1) {
    id = ids->front();
    if (body_id && body_id->isString() && body_id->text() != id) {
      return errorReply(400, "invalid", "Resource.id does not match the resource the conditional update found");
    }
  } else if (body_id && body_id->isString()) {
    id = std::string(body_id->text());
  }
  WriteIntent intent;
  intent.type = type;
  intent.kind = id.empty() ? WriteKind::kCreate : WriteKind::kUpdate;
  intent.id = id;
  JsonValue res = id.empty() ? *resource : doc.withMember(*resource, "id", doc.makeString(id));
  auto expected = ifMatch(call);
  if (!expected.isOk()) return statusReply(expected.status());
  intent.if_match = *expected;
  auto prepared = writer_.prepare(std::move(intent), res, &outcome);
  if (!prepared.isOk()) return prepareFailure(prepared.status(), outcome);
  AccessAction action = prepared->intent.kind == WriteKind::kCreate ? AccessAction::kCreate : AccessAction::kUpdate;
  if (Status s = decide(call, action, type, prepared->intent.id, prepared->json); !s.isOk()) return statusReply(s);
  return runPrepared(call, *prepared);
}

Reply RestHandler::Impl::remove(Call& call, const std::string& type, const std::string& id) {
  auto expected = ifMatch(call);
  if (!expected.isOk()) return statusReply(expected.status());
  WriteIntent intent;
  intent.kind = WriteKind::kDelete;
  intent.type = type;
  intent.id = id;
  intent.if_match = *expected;
  auto prepared = writer_.prepareDelete(std::move(intent));
  if (!prepared.isOk()) return statusReply(prepared.status());
  if (Status s = decide(call, AccessAction::kDelete, type, id, {}); !s.isOk()) return statusReply(s);
  return runPrepared(call, *prepared);
}

Reply RestHandler::Impl::conditionalRemove(Call& call, const std::string& type) {
  if (call.params.empty()) return errorReply(400, "invalid", "DELETE on a type needs search parameters (conditional delete)");
  auto ids = findIds(type, call.params, 2);
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
  auto expected = ifMatch(call);
  if (!expected.isOk()) return statusReply(expected.status());
  for (int attempt = 1;; ++attempt) {
    auto current = call.tx ? call.tx->read(type, id) : store_.read(type, id);
    if (!current.isOk()) {
      if (current.status().code() == StatusCode::kNotFound) return errorReply(404, "not-found", type + "/" + id + " is not known");
      if (current.status().code() == StatusCode::kGone) return errorReply(410, "deleted", type + "/" + id + " has been deleted");
      return statusReply(current.status());
    }
    if (expected->has_value() && **expected != current->version) {
      return errorReply(412, "conflict", "If-Match " + std::to_string(**expected) + " does not match the current version " +
                                             std::to_string(current->version));
    }
    auto doc = JsonDocument::parse(current->json);
    if (!doc.isOk()) return statusReply(doc.status());
    auto patched = json_patch ? applyJsonPatch(*doc, doc->root(), patch) : applyFhirPathPatch(*doc, doc->root(), patch);
    if (!patched.isOk()) {
      if (patched.status().code() == StatusCode::kUnprocessable) return errorReply(422, "processing", patched.status().message());
      return errorReply(400, "invalid", patched.status().message());
    }
    const JsonValue* pid = patched->find("id");
    if (!pid || !pid->isString() || pid->text() != id) return errorReply(422, "processing", "a patch must not change Resource.id");
    WriteIntent intent;
    intent.kind = WriteKind::kUpdate;
    intent.type = type;
    intent.id = id;
    intent.if_match = current->version;
    OperationOutcome outcome;
    auto prepared = writer_.prepare(std::move(intent), *patched, &outcome);
    if (!prepared.isOk()) return prepareFailure(prepared.status(), outcome);
    if (Status s = decide(call, AccessAction::kUpdate, type, id, prepared->json); !s.isOk()) return statusReply(s);
    bool lost = false;
    std::string owner;
    Reply r = runPrepared(call, *prepared, &lost, &owner);
    // Without If-Match the client asked to patch whatever is current: a concurrent write is retried, not reported.
    if (r.status == 412 && !expected->has_value() && !call.tx && attempt < options_.max_transaction_attempts) continue;
    return r;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// $validate

Reply RestHandler::Impl::validate(Call& call, const std::string& type, std::optional<std::string> id) {
  JsonDocument doc;
  JsonValue resource;
  if (call.method == "GET" || (call.body.empty() && !call.resource)) {
    if (!id) return errorReply(400, "invalid", "$validate needs a resource in the body");
    auto v = store_.read(type, *id);
    if (!v.isOk()) return statusReply(v.status());
    if (Status s = decide(call, AccessAction::kValidate, type, *id, v->json); !s.isOk()) return statusReply(s);
    auto parsed = JsonDocument::parse(v->json);
    if (!parsed.isOk()) return statusReply(parsed.status());
    doc = std::move(parsed).value();
    resource = doc.root();
  } else {
    OperationOutcome unused;
    auto body = bodyResource(call, doc);
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
  OperationOutcome oo = fhir::validateResource(resource, options_.writer.validation);
  if (!oo.hasErrors() && oo.issues().empty()) oo.add(Severity::kInformation, "informational", "the " + type + " is valid");
  return outcomeReply(200, std::move(oo));
}

}  // namespace planbro::gateway::rest
