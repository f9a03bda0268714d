#include "planbro/gateway/security/auth_filter.h"

#include <strings.h>

namespace planbro::gateway::security {
namespace {

// ASCII case-insensitive (RFC 9110 §11.1), without the locale lookups of strncasecmp: it runs on every request.
bool schemeIs(std::string_view header, std::string_view scheme) {
  if (header.size() <= scheme.size() || header[scheme.size()] != ' ') return false;
  for (size_t i = 0; i < scheme.size(); ++i) {
    const char c = header[i];
    const char lowered = c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
    const char s = scheme[i] >= 'A' && scheme[i] <= 'Z' ? static_cast<char>(scheme[i] - 'A' + 'a') : scheme[i];
    if (lowered != s) return false;
  }
  return true;
}

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// error_description is a quoted-string: keep it to printable ASCII without quotes or backslashes.
std::string quotedSafe(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') out += c;
  }
  return out;
}

}  // namespace

AuthFilter::AuthFilter(AuthFilterOptions options, std::shared_ptr<TokenValidator> tokens,
                       std::shared_ptr<DpopVerifier> dpop)
    : options_(std::move(options)), tokens_(std::move(tokens)), dpop_(std::move(dpop)) {
  while (options_.base_url.ends_with('/')) options_.base_url.pop_back();
}

bool AuthFilter::mayBlock() const { return tokens_->mayBlock() || (dpop_ && dpop_->mayBlock()); }

void AuthFilter::setBaseUrl(std::string base_url) {
  while (base_url.ends_with('/')) base_url.pop_back();
  std::lock_guard lock(base_mutex_);
  options_.base_url = std::move(base_url);
}

std::string AuthFilter::baseUrl() const {
  std::lock_guard lock(base_mutex_);
  return options_.base_url;
}

// RFC 6750 §3 and RFC 9449 §7.1: one challenge per scheme the server accepts; `error` only when credentials were
// presented (a request without any gets the bare challenge).
std::string AuthFilter::challenge(std::string_view error, std::string_view description) const {
  std::string params;
  if (!error.empty()) {
    params = "error=\"" + std::string(error) + "\"";
    if (!description.empty()) params += ", error_description=\"" + quotedSafe(description) + "\"";
  }
  std::string algs;
  for (const std::string& a : dpop_ ? dpop_->options().algorithms : std::vector<std::string>{}) {
    algs += (algs.empty() ? "" : " ") + a;
  }
  std::string bearer = "Bearer realm=\"planbro\"" + (params.empty() ? "" : ", " + params);
  std::string dpop = "DPoP realm=\"planbro\"" + (params.empty() ? "" : ", " + params) + ", algs=\"" + algs + "\"";
  switch (options_.dpop) {
    case DpopMode::kRequired: return dpop;
    case DpopMode::kOff: return bearer;
    case DpopMode::kAllowed: return bearer + ", " + dpop;
  }
  return bearer;
}

Status AuthFilter::refuse(http::RequestContext& context, std::string_view error, std::string description) const {
  context.response_headers.set("WWW-Authenticate", challenge(error, description));
  if (error.empty()) return {StatusCode::kUnauthenticated, "authentication required: send an access token"};
  if (error == "invalid_request") return {StatusCode::kUnauthenticated, "invalid request: " + description};
  if (error == "use_dpop_nonce") return {StatusCode::kUnauthenticated, "DPoP nonce required: " + description};
  return {StatusCode::kUnauthenticated, "invalid token: " + description};
}

Status AuthFilter::apply(const http::Request& request, http::RequestContext& context) {
  Status s = authenticate(request, context);
  if (s.isOk() || !audit_) return s;
  // A failed authentication (DICOM 110114, outcome 4; 8 when the server failed): what was refused and why, from
  // where — the refusal's text never quotes a token or a proof.
  AuditRecord r;
  r.category = AuditCategory::kAuthentication;
  r.decision = AuditDecision::kDeny;
  r.outcome = s.code() == StatusCode::kUnauthenticated ? AuditOutcome::kMinorFailure : AuditOutcome::kSeriousFailure;
  r.interaction = "login";
  r.action = 'E';
  r.outcome_text = s.message();
  r.source_system = "rest";
  r.correlation_id = context.request_id;
  r.remote_address = context.remote_address;
  (void)audit_->record(std::move(r));  // the request is refused either way
  return s;
}

Status AuthFilter::authenticate(const http::Request& request, http::RequestContext& context) {
  context.principal.reset();
  // The CapabilityStatement is public: clients learn there how to authenticate.
  if (request.path == "/metadata" && (request.method == "GET" || request.method == "HEAD")) return Status::ok();

  const std::string* authorization = request.headers.find("Authorization");
  if (authorization == nullptr) return refuse(context, "", "");
  // Two Authorization fields are two identities: the first used to win, so a proxy (or log, or policy) reading the
  // last saw another caller than the gateway did. RFC 6750 §3.1: more than one credential is invalid_request.
  size_t authorizations = 0;
  for (const auto& field : request.headers.fields()) {
    if (::strcasecmp(field.first.c_str(), "Authorization") == 0) ++authorizations;
  }
  if (authorizations != 1) return refuse(context, "invalid_request", "exactly one Authorization header is allowed");
  if (authorization->size() > options_.max_header_bytes) return refuse(context, "invalid_request", "the Authorization header is too large");
  const bool dpop_scheme = schemeIs(*authorization, "DPoP");
  const bool bearer_scheme = schemeIs(*authorization, "Bearer");
  if (!dpop_scheme && !bearer_scheme) return refuse(context, "invalid_request", "the Authorization scheme must be Bearer or DPoP");
  std::string_view token = trimmed(std::string_view(*authorization).substr(dpop_scheme ? 5 : 7));
  if (token.empty()) return refuse(context, "invalid_request", "the Authorization header holds no token");
  if (dpop_scheme && options_.dpop == DpopMode::kOff) return refuse(context, "invalid_request", "DPoP is not accepted here");
  if (bearer_scheme && options_.dpop == DpopMode::kRequired) {
    return refuse(context, "invalid_request", "a DPoP-bound token and proof are required");
  }

  auto validated = tokens_->validateShared(token);
  if (!validated.isOk()) return refuse(context, "invalid_token", validated.status().message());
  // The token cache's Principal, shared read-only by every request with this token (no copy on the read path).
  std::shared_ptr<const Principal> shared = std::move(validated).value();
  const Principal& principal = *shared;

  if (bearer_scheme && !principal.cnf_jkt.empty()) {
    // RFC 9449 §7.2: a DPoP-bound token used as a bearer token is refused (a thief holds no proof key).
    return refuse(context, "invalid_token", "the token is DPoP-bound and must be sent with the DPoP scheme");
  }
  if (dpop_scheme) {
    int proofs = 0;
    std::string_view proof;
    for (const auto& [name, value] : request.headers.fields()) {
      if (::strcasecmp(name.c_str(), "DPoP") == 0) {
        ++proofs;
        proof = value;
      }
    }
    if (proofs != 1) return refuse(context, "invalid_dpop_proof", "exactly one DPoP header is required");
    const std::string htu = baseUrl() + request.path;
    auto jkt = dpop_->verify(trimmed(proof), request.method, htu, token);
    if (!jkt.isOk() && jkt.status().code() == StatusCode::kFailedPrecondition) {
      // RFC 9449 §8: the client retries once with the nonce in this header.
      context.response_headers.set("DPoP-Nonce", dpop_->currentNonce());
      return refuse(context, "use_dpop_nonce", jkt.status().message());
    }
    if (!jkt.isOk()) {
      if (jkt.status().code() != StatusCode::kUnauthenticated) return jkt.status();  // replay cache full or down
      return refuse(context, "invalid_dpop_proof", jkt.status().message());
    }
    if (principal.cnf_jkt.empty()) return refuse(context, "invalid_token", "the token is not bound to a DPoP key");
    if (principal.cnf_jkt != *jkt) return refuse(context, "invalid_token", "the token is bound to another DPoP key");
    if (!principal.dpop) {
      // Only this request proved possession: its own copy says so (next to the proof check, the copy is noise).
      auto proven = std::make_shared<Principal>(principal);
      proven->dpop = true;
      shared = std::move(proven);
    }
    // RFC 9449 §8.2: every answer carries the nonce to use next, so a client never needs a refused round trip when
    // the window turns.
    if (std::string nonce = dpop_->currentNonce(); !nonce.empty()) context.response_headers.set("DPoP-Nonce", nonce);
  }
  if (!shared->cnf_x5t_s256.empty() && shared->cnf_x5t_s256 != context.client_certificate_sha256) {
    // RFC 8705 §3: a certificate-bound token needs the same client certificate on this connection.
    return refuse(context, "invalid_token", "the token is bound to another client certificate");
  }
  context.principal = std::move(shared);
  return Status::ok();
}

}  // namespace planbro::gateway::security
