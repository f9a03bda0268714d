// The REST pipeline. Every interaction is a function from a Call (route, headers, parsed parameters, optional
// transaction) to a Reply (status, headers, compact JSON or an OperationOutcome); handle() does content negotiation
// around it, and Bundle processing runs its entries through the same functions, so batch and transaction entries
// get exactly the semantics (and the access decisions) of the single interactions.

#include "planbro/fhir-model/base64.h"
#include "planbro/gateway/rest/rest_handler.h"

#include <algorithm>
#include <charconv>
#include <functional>
#include <span>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>

#include "planbro/fhir-model/fhir_xml.h"
#include "planbro/fhir-model/model_info.h"
#include "planbro/fhir-model/resource_json.h"
#include "planbro/fhir-model/validator.h"
#include "planbro/gateway/rest/json_patch.h"
#include "planbro/gateway/rest/page_token.h"
#include "planbro/gateway/search/indexer.h"
#include "planbro/gateway/search/search_request.h"
#include "render.h"

namespace planbro::gateway::rest {

using fhir::JsonDocument;
using fhir::JsonMember;
using fhir::JsonValue;
using fhir::OperationOutcome;
using fhir::Severity;

namespace {

enum class Format { kJson, kXml };
enum class ReturnPref { kRepresentation, kMinimal, kOutcome };

struct Reply {
  int status = 200;
  http::Headers headers;
  std::string json;                         // compact JSON body; empty: none (unless outcome)
  std::optional<OperationOutcome> outcome;   // an OperationOutcome body (errors and informational answers)
  bool retry_transaction = false;           // a conditional create lost a race inside a transaction
};

Reply errorReply(int status, std::string_view code, std::string message, std::string location = {}) {
  Reply r;
  r.status = status;
  OperationOutcome oo;
  oo.add(Severity::kError, std::string(code), std::move(message), std::move(location));
  r.outcome = std::move(oo);
  return r;
}

Reply statusReply(const Status& s) {
  return errorReply(fhir::httpStatusFor(s.code()), fhir::issueCodeFor(s.code()), s.message());
}

// A search parameter parse failure is always the client's request: 400, whatever code the parser chose.
Reply badRequest(const Status& s) { return errorReply(400, fhir::issueCodeFor(s.code()) == "not-supported" ? "not-supported" : "invalid", s.message()); }

Reply outcomeReply(int status, OperationOutcome oo) {
  Reply r;
  r.status = status;
  r.outcome = std::move(oo);
  return r;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The media type of a Content-Type / Accept item without parameters, lower-cased.
std::string mediaType(std::string_view v) {
  size_t semi = v.find(';');
  return lower(trim(v.substr(0, semi)));
}

std::optional<Format> formatOfMediaType(std::string_view mt) {
  if (mt == "application/fhir+json" || mt == "application/json" || mt == "application/json+fhir" || mt == "json" ||
      mt == "text/json") {
    return Format::kJson;
  }
  if (mt == "application/fhir+xml" || mt == "application/xml" || mt == "application/xml+fhir" || mt == "text/xml" ||
      mt == "xml") {
    return Format::kXml;
  }
  return std::nullopt;
}

struct PreferHeader {
  ReturnPref ret = ReturnPref::kRepresentation;
  search::Handling handling = search::Handling::kStrict;
};

PreferHeader parsePrefer(const http::Headers& headers) {
  PreferHeader p;
  for (const auto& [name, value] : headers.fields()) {
    if (lower(name) != "prefer") continue;
    std::string_view rest = value;
    while (!rest.empty()) {
      size_t cut = rest.find_first_of(",;");
      std::string_view item = trim(rest.substr(0, cut));
      rest = cut == std::string_view::npos ? std::string_view() : rest.substr(cut + 1);
      std::string it = lower(item);
      if (it == "return=minimal") p.ret = ReturnPref::kMinimal;
      else if (it == "return=representation") p.ret = ReturnPref::kRepresentation;
      else if (it == "return=operationoutcome") p.ret = ReturnPref::kOutcome;
      else if (it == "handling=lenient") p.handling = search::Handling::kLenient;
      else if (it == "handling=strict") p.handling = search::Handling::kStrict;
    }
  }
  return p;
}

std::string percentDecode(std::string_view s, bool* ok) {
  std::string out;
  *ok = true;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
      };
      if (i + 2 >= s.size()) {
        *ok = false;
        return {};
      }
      int h = hex(s[i + 1]), l = hex(s[i + 2]);
      if (h < 0 || l < 0) {
        *ok = false;
        return {};
      }
      out += static_cast<char>(h * 16 + l);
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

bool validHostHeader(std::string_view host) {
  if (host.empty() || host.size() > 255) return false;
  for (char c : host) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
              c == ':' || c == '[' || c == ']';
    if (!ok) return false;
  }
  return true;
}

std::string_view httpReason(int status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 412: return "Precondition Failed";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Entity";
    default: return "";
  }
}

std::string statusLine(int status) {
  std::string s = std::to_string(status);
  std::string_view reason = httpReason(status);
  if (!reason.empty()) s += " " + std::string(reason);
  return s;
}

int methodRank(std::string_view method) {
  if (method == "DELETE") return 0;
  if (method == "POST") return 1;
  if (method == "PUT" || method == "PATCH") return 2;
  return 3;  // GET, HEAD
}

// The query parameter of a sealed page link (page_token.h).
constexpr std::string_view kPageTokenParam = "_page";

// A conditional reference or URL: "Patient?identifier=...".
bool isConditionalUrl(std::string_view s) {
  size_t q = s.find('?');
  if (q == std::string_view::npos || q == 0) return false;
  return fhir::ModelInfo::r4().isResourceType(s.substr(0, q));
}

/** One interaction request after routing: what every interaction function receives. */
struct Call {
  std::string method;
  std::vector<std::string> segments;   // decoded path segments
  search::QueryParams params;          // decoded query parameters (plus a _search form body)
  const http::Headers* headers = nullptr;
  std::string_view body;
  const JsonValue* resource = nullptr; // a Bundle entry's resource, already parsed (no body then)
  http::RequestContext* context = nullptr;
  std::string base;                    // absolute base URL, no trailing '/'
  PreferHeader prefer;
  detail::Presentation presentation;
  store::WriteTransaction* tx = nullptr;  // inside a transaction Bundle
  std::string forced_id;                  // a transaction POST's pre-assigned id
  bool in_bundle = false;
  bool seal_links = false;                // a POST _search: its links carry the parameters sealed (page_token.h)

  std::string_view header(std::string_view name) const { return headers ? headers->get(name) : std::string_view(); }
  const std::string* param(std::string_view name) const {
    for (const auto& [k, v] : params) {
      if (k == name) return &v;
    }
    return nullptr;
  }
};

}  // namespace

class RestHandler::Impl {
 public:
  Impl(store::ResourceStore& store, RestOptions options)
      : store_(store),
        options_(std::move(options)),
        writer_(options_.writer),
        executor_(store, options_.search),
        access_(options_.access ? options_.access : makeAllowAllPolicy()) {
    (void)detail::capabilityStatementJson();  // built once, up front, not on the first request
  }

  http::Response handle(const http::Request& request, http::RequestContext& context);
  http::Response processBundleText(std::string text, http::RequestContext& context);

 private:
  Reply dispatch(Call& call);
  Reply routeType(Call& call, const std::string& type);

  // Interactions.
  Reply read(Call& call, const std::string& type, const std::string& id);
  Reply vread(Call& call, const std::string& type, const std::string& id, const std::string& vid);
  Reply create(Call& call, const std::string& type);
  Reply update(Call& call, const std::string& type, const std::string& id);
  Reply conditionalUpdate(Call& call, const std::string& type);
  Reply remove(Call& call, const std::string& type, const std::string& id);
  Reply conditionalRemove(Call& call, const std::string& type);
  Reply patch(Call& call, const std::string& type, const std::string& id);
  Reply searchType(Call& call, const std::string& type);
  Reply history(Call& call, std::optional<std::string> type, std::optional<std::string> id);
  Reply validate(Call& call, const std::string& type, std::optional<std::string> id);
  Reply bundle(Call& call);
  Reply transaction(Call& call, const JsonValue& bundle_root);
  Reply batch(Call& call, const JsonValue& bundle_root);

  // Helpers.
  Result<JsonValue> bodyResource(Call& call, JsonDocument& doc);
  Result<std::vector<std::string>> findIds(const std::string& type, const search::QueryParams& params, size_t limit);
  Result<std::vector<std::string>> findIds(std::string_view conditional_url, size_t limit);
  Reply writeResult(Call& call, const PreparedWrite& prepared);
  Reply answerWrite(Call& call, const store::ResourceVersion& version, int status);
  // `lost_claim` and `owner` (both optional) tell a conditional create that another request holds its key.
  Reply runPrepared(Call& call, const PreparedWrite& prepared, bool* lost_claim = nullptr, std::string* owner = nullptr);
  store::WriteContext writeContext(const http::RequestContext& context) const;
  Status decide(const Call& call, AccessAction action, std::string_view type, std::string_view id,
                std::string_view json) const {
    return access_->decide(*call.context, AccessSubject{action, type, id, json});
  }
  Result<const PageTokenSealer*> pageTokenSealer();
  Status openPageToken(Call& call, const std::string& type);
  std::string bundleBody(Call& call, std::string_view type_name, const std::vector<std::string>& entries,
                         const std::vector<std::pair<std::string, std::string>>& links, std::optional<size_t> total);

  store::ResourceStore& store_;
  RestOptions options_;
  ResourceWriter writer_;
  search::SearchExecutor executor_;
  std::shared_ptr<AccessPolicy> access_;
  std::mutex sealer_mutex_;
  std::unique_ptr<PageTokenSealer> sealer_;  // made on first use from the store's secret
};

// ---------------------------------------------------------------------------------------------------------------
// Pipeline

http::Response RestHandler::Impl::handle(const http::Request& request, http::RequestContext& context) {
  Call call;
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
      else if (mt == "*/*" || mt == "application/*" || mt == "text/*" || mt == "application/json-patch+json") chosen = Format::kJson;
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
  if (!options_.base_url.empty()) {
    call.base = options_.base_url;
    while (call.base.ends_with('/')) call.base.pop_back();
  } else {
    std::string_view host = request.headers.get("Host");
    call.base = "http://" + std::string(validHostHeader(host) ? host : std::string_view("localhost"));
  }
  call.prefer = parsePrefer(request.headers);
  if (const std::string* s = call.param("_summary")) {
    if (*s == "true") call.presentation.summary = search::SummaryMode::kTrue;
    else if (*s == "text") call.presentation.summary = search::SummaryMode::kText;
    else if (*s == "data") call.presentation.summary = search::SummaryMode::kData;
    else if (*s == "count") call.presentation.summary = search::SummaryMode::kCount;
    else if (*s == "false") call.presentation.summary = search::SummaryMode::kFalse;
    else return finish(errorReply(400, "invalid", "_summary must be true, false, text, data or count"), format, pretty);
  }
  if (const std::string* e = call.param("_elements")) {
    std::string_view rest = *e;
    while (!rest.empty()) {
      size_t comma = rest.find(',');
      std::string_view item = trim(rest.substr(0, comma));
      if (!item.empty()) call.presentation.elements.emplace_back(item);
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    }
  }

  Reply reply = dispatch(call);
  return finish(std::move(reply), format, pretty);
}

Reply RestHandler::Impl::dispatch(Call& call) {
  const auto& seg = call.segments;
  http::RequestContext& ctx = *call.context;
  const std::string& m = call.method;
  auto notAllowed = [&](std::string allow) {
    Reply r = errorReply(405, "not-supported", "method " + m + " is not allowed here (allowed: " + allow + ")");
    r.headers.set("Allow", std::move(allow));
    return r;
  };
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
    r.json = detail::capabilityStatementJson();
    return r;
  }
  if (first == "_history") {
    ctx.interaction = "history-system";
    if (seg.size() != 1) return errorReply(404, "not-found", "no such endpoint");
    if (m != "GET") return notAllowed("GET");
    return history(call, std::nullopt, std::nullopt);
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
  auto notAllowed = [&](std::string allow) {
    Reply r = errorReply(405, "not-supported", "method " + m + " is not allowed here (allowed: " + allow + ")");
    r.headers.set("Allow", std::move(allow));
    return r;
  };
  if (seg.size() == 1) {
    if (m == "GET" || m == "HEAD") {
      ctx.interaction = "search-type";
      return searchType(call, type);
    }
    if (m == "POST") {
      ctx.interaction = "create";
      return create(call, type);
    }
    if (m == "PUT") {
      ctx.interaction = "update";
      return conditionalUpdate(call, type);
    }
    if (m == "DELETE") {
      ctx.interaction = "delete";
      return conditionalRemove(call, type);
    }
    return notAllowed("GET, POST, PUT, DELETE");
  }
  const std::string& second = seg[1];
  if (seg.size() == 2 && second == "_search") {
    ctx.interaction = "search-type";
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
    ctx.interaction = "history-type";
    if (m != "GET") return notAllowed("GET");
    return history(call, type, std::nullopt);
  }
  if (seg.size() == 2 && second == "$validate") {
    ctx.interaction = "validate";
    if (m != "POST") return notAllowed("POST");
    return validate(call, type, std::nullopt);
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
      ctx.interaction = "read";
      return read(call, type, id);
    }
    if (m == "PUT") {
      ctx.interaction = "update";
      return update(call, type, id);
    }
    if (m == "DELETE") {
      ctx.interaction = "delete";
      return remove(call, type, id);
    }
    if (m == "PATCH") {
      ctx.interaction = "patch";
      return patch(call, type, id);
    }
    return notAllowed("GET, PUT, DELETE, PATCH");
  }
  const std::string& third = seg[2];
  if (seg.size() == 3 && third == "_history") {
    ctx.interaction = "history-instance";
    if (m != "GET") return notAllowed("GET");
    return history(call, type, id);
  }
  if (seg.size() == 3 && third == "$validate") {
    ctx.interaction = "validate";
    if (m != "POST" && m != "GET") return notAllowed("GET, POST");
    return validate(call, type, id);
  }
  if (seg.size() == 4 && third == "_history") {
    ctx.interaction = "vread";
    if (m != "GET" && m != "HEAD") return notAllowed("GET");
    return vread(call, type, id, seg[3]);
  }
  ctx.interaction = "unknown";
  return errorReply(404, "not-found", "no such endpoint");
}

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
    auto converted = fhir::fhirXmlToJson(call.body);
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
  auto v = store_.read(type, id);
  if (!v.isOk()) {
    if (v.status().code() == StatusCode::kNotFound) return errorReply(404, "not-found", type + "/" + id + " is not known");
    if (v.status().code() == StatusCode::kGone) {
      Reply r = errorReply(410, "deleted", type + "/" + id + " has been deleted");
      return r;
    }
    return statusReply(v.status());
  }
  if (Status s = decide(call, AccessAction::kRead, type, id, v->json); !s.isOk()) return statusReply(s);
  Reply r;
  r.headers.set("ETag", detail::etagFor(v->version));
  r.headers.set("Last-Modified", detail::formatHttpDate(v->last_updated));
  if (std::string_view inm = call.header("If-None-Match"); !inm.empty()) {
    auto tag = detail::parseEtag(inm);
    if (tag && *tag == v->version) {
      r.status = 304;
      return r;
    }
  } else if (std::string_view ims = call.header("If-Modified-Since"); !ims.empty()) {
    auto since = detail::parseHttpDate(ims);
    int64_t secs = v->last_updated.time_since_epoch().count() / 1000000;
    if (since && secs <= since->time_since_epoch().count() / 1000000) {
      r.status = 304;
      return r;
    }
  }
  r.json = detail::renderResource(*v, call.presentation);
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

Reply prepareFailure(const Status& s, OperationOutcome& outcome) {
  if (s.code() == StatusCode::kUnprocessable && !outcome.issues().empty()) return outcomeReply(422, std::move(outcome));
  if (s.code() == StatusCode::kUnsupported) return errorReply(415, "not-supported", s.message());
  return statusReply(s);
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
  std::string ct = mediaType(call.header("Content-Type"));
  if (ct != "application/json-patch+json") {
    return errorReply(415, "not-supported", "PATCH takes application/json-patch+json (got '" + ct + "')");
  }
  auto patch_doc = JsonDocument::parse(std::string(call.body), options_.json_limits);
  if (!patch_doc.isOk()) return errorReply(400, "invalid", "malformed JSON Patch: " + patch_doc.status().message());
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
    auto patched = applyJsonPatch(*doc, doc->root(), patch_doc->root());
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
// search / history

std::string RestHandler::Impl::bundleBody(Call& call, std::string_view type_name, const std::vector<std::string>& entries,
                                          const std::vector<std::pair<std::string, std::string>>& links,
                                          std::optional<size_t> total) {
  (void)call;
  std::string out = R"({"resourceType":"Bundle","id":")" + newUuid() + R"(","meta":{"lastUpdated":")" +
                    detail::formatInstant(std::chrono::time_point_cast<std::chrono::microseconds>(
                        std::chrono::system_clock::now())) +
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
// given beside it. The reopened search keeps sealing its links.
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
                   sealer->open(type, *token, std::chrono::time_point_cast<std::chrono::microseconds>(
                                                  std::chrono::system_clock::now())));
  for (auto& p : sealed) {
    if (p.first != "_format" && p.first != "_pretty") kept.push_back(std::move(p));
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
  search::ParseOptions po;
  po.handling = call.prefer.handling;
  auto req = search::parseSearch(type, call.params, po);
  if (!req.isOk()) return badRequest(req.status());
  auto result = executor_.execute(*req);
  if (!result.isOk()) {
    if (result.status().code() == StatusCode::kInvalidArgument || result.status().code() == StatusCode::kUnsupported) {
      return badRequest(result.status());
    }
    return statusReply(result.status());
  }
  std::string self_base = call.base + "/" + type;
  const auto now = std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
  auto link = [&](const std::optional<std::string>& cursor) {
    search::QueryParams p = req->link_params;
    if (cursor) p.emplace_back("_cursor", *cursor);
    if (sealer) p = {{std::string(kPageTokenParam), sealer->seal(type, p, now)}};
    std::string q = search::encodeQuery(p);
    return q.empty() ? self_base : self_base + "?" + q;
  };
  std::vector<std::pair<std::string, std::string>> links{{"self", link(req->cursor)}};
  if (result->next_cursor) links.emplace_back("next", link(result->next_cursor));
  if (result->prev_cursor) links.emplace_back("previous", link(result->prev_cursor));
  std::vector<std::string> entries;
  detail::Presentation presentation = call.presentation;
  bool count_only = presentation.summary == search::SummaryMode::kCount;
  if (!count_only) {
    auto add = [&](const store::ResourceVersion& v, std::string_view mode) {
      if (!decide(call, AccessAction::kSearch, v.type, v.id, v.json).isOk()) return;
      std::string e = "{\"fullUrl\":";
      detail::appendJsonString(e, call.base + "/" + v.type + "/" + v.id);
      e += ",\"resource\":";
      e += detail::renderResource(v, presentation);
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
    std::string qs = search::encodeQuery(p);
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
      e += detail::renderResource(v, call.presentation);
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
        p.forced_id = p.existing ? *p.existing : newUuid();
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
      if (p.method == "PATCH") {
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
    if (sub.method == "PATCH") {
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
  return handle(request, context);
}

// ---------------------------------------------------------------------------------------------------------------

RestHandler::RestHandler(store::ResourceStore& store, RestOptions options)
    : impl_(std::make_unique<Impl>(store, std::move(options))) {}
RestHandler::~RestHandler() = default;

http::Response RestHandler::handle(const http::Request& request, http::RequestContext& context) {
  return impl_->handle(request, context);
}

http::Response RestHandler::processBundle(std::string bundle_json, http::RequestContext& context) {
  return impl_->processBundleText(std::move(bundle_json), context);
}

Status loadBundleIfEmpty(RestHandler& handler, store::ResourceStore& store, const std::string& path) {
  store::HistoryQuery q;
  q.count = 1;
  auto page = store.history(q);
  if (!page.isOk()) return page.status();
  if (!page->entries.empty()) return Status::ok();
  std::ifstream in(path, std::ios::binary);
  if (!in) return notFound("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  http::RequestContext context;
  context.request_id = "demo-data";
  context.interaction = "transaction";
  http::Response r = handler.processBundle(ss.str(), context);
  if (r.status >= 300) return Status(StatusCode::kInvalidArgument, "loading " + path + " failed (HTTP " + std::to_string(r.status) + "): " + r.body);
  return Status::ok();
}

}  // namespace planbro::gateway::rest
