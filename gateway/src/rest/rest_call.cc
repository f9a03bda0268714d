// Reply constructors and the request-parsing helpers shared by the interactions (rest_internal.h).
#include <cctype>

#include "planbro/fhir-model/model_info.h"
#include "rest_internal.h"

namespace planbro::gateway::rest {

Reply errorReply(int status, std::string_view code, std::string message, std::string location) {
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

// ASCII case-insensitive equality without a lower-cased copy: parsePrefer looks at every header of every request.
namespace {
bool equalsIgnoringCase(std::string_view a, std::string_view lowercase) {
  if (a.size() != lowercase.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const char c = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] - 'A' + 'a') : a[i];
    if (c != lowercase[i]) return false;
  }
  return true;
}
}  // namespace

PreferHeader parsePrefer(const http::Headers& headers) {
  PreferHeader p;
  for (const auto& [name, value] : headers.fields()) {
    if (!equalsIgnoringCase(name, "prefer")) continue;
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
  // The query's decoder (search::percentDecode): a path segment gets the same escapes and UTF-8 check.
  auto decoded = search::percentDecode(s, false);
  *ok = decoded.isOk();
  return decoded.isOk() ? std::move(decoded).value() : std::string();
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
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
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

// A conditional reference or URL: "Patient?identifier=...".
bool isConditionalUrl(std::string_view s) {
  size_t q = s.find('?');
  if (q == std::string_view::npos || q == 0) return false;
  return fhir::ModelInfo::r4().isResourceType(s.substr(0, q));
}

Reply prepareFailure(const Status& s, OperationOutcome& outcome) {
  if (s.code() == StatusCode::kUnsupported) return errorReply(415, "not-supported", s.message());
  if (outcome.hasErrors()) return outcomeReply(fhir::httpStatusFor(s.code()), std::move(outcome));
  return statusReply(s);
}

Reply methodNotAllowed(std::string_view method, std::string allow) {
  Reply r = errorReply(405, "not-supported",
                       "method " + std::string(method) + " is not allowed here (allowed: " + allow + ")");
  r.headers.set("Allow", std::move(allow));
  return r;
}

}  // namespace planbro::gateway::rest
