// The client assertion and the DPoP proofs are JWS made by libjose (jose_jws_sig) — no signature code of our own.
// The DPoP key lives only in this process: a restart makes a new one and fetches a new token bound to it.
#include "planbro/adapters/plo/helseid_client.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "jose_c.h"
#include "msh_http.h"

namespace planbro::adapters::plo {

using detail::JsonPtr;

struct HelseIdClient::Keys {
  JsonPtr client;      // the client's private JWK
  std::string client_alg;
  JsonPtr dpop;        // the process's DPoP key (private)
  JsonPtr dpop_public;
};

namespace {

int64_t systemSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string randomJti() {
  unsigned char bytes[16];
  RAND_bytes(bytes, sizeof bytes);
  return detail::base64UrlEncode(std::string_view(reinterpret_cast<char*>(bytes), sizeof bytes));
}

Result<std::string> signCompact(const json_t* jwk, json_t* header, const json_t* claims) {
  const std::string p64 = detail::base64UrlEncode(detail::dumpJson(claims));
  JsonPtr jws(json_pack("{s:s}", "payload", p64.c_str()));
  JsonPtr sig(json_pack("{s:O}", "protected", header));
  if (!jws || !sig || !jose_jws_sig(nullptr, jws.get(), sig.get(), jwk)) return internalError("signing failed");
  const std::string protected64 = detail::stringMember(jws.get(), "protected");
  const std::string signature = detail::stringMember(jws.get(), "signature");
  if (protected64.empty() || signature.empty()) return internalError("signing failed");
  return protected64 + "." + p64 + "." + signature;
}

std::string htuOf(const std::string& url) {
  const size_t cut = url.find_first_of("?#");
  return cut == std::string::npos ? url : url.substr(0, cut);
}

std::string sha256Base64Url(std::string_view text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(text.data(), text.size(), digest, &n, EVP_sha256(), nullptr);
  return detail::base64UrlEncode(std::string_view(reinterpret_cast<char*>(digest), n));
}

Result<std::string> readKeyFile(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return invalidArgument("adapters.plo.msh.key_file: cannot read " + path);
  if ((st.st_mode & 077) != 0) {
    return invalidArgument("adapters.plo.msh.key_file: " + path + " must be readable by its owner only (chmod 600)");
  }
  if (st.st_size > 64 * 1024) return invalidArgument("adapters.plo.msh.key_file: " + path + " is too large for a JWK");
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

HelseIdClient::~HelseIdClient() = default;

Result<std::unique_ptr<HelseIdClient>> HelseIdClient::create(HelseIdOptions options) {
  if (options.token_endpoint.empty()) return invalidArgument("adapters.plo.msh.token_endpoint: must be set");
  if (options.client_id.empty()) return invalidArgument("adapters.plo.msh.client_id: must be set");
  ASSIGN_OR_RETURN(std::string text, readKeyFile(options.key_file));
  auto keys = std::make_unique<Keys>();
  keys->client = detail::parseJson(text);
  const std::string kty = detail::stringMember(keys->client.get(), "kty");
  if (!json_is_object(keys->client.get()) || json_object_get(keys->client.get(), "d") == nullptr ||
      (kty != "RSA" && kty != "EC")) {
    return invalidArgument("adapters.plo.msh.key_file: " + options.key_file + " is not a private RSA or EC JWK");
  }
  keys->client_alg = detail::stringMember(keys->client.get(), "alg");
  if (keys->client_alg.empty()) keys->client_alg = kty == "RSA" ? "RS256" : "ES256";
  keys->dpop.reset(json_pack("{s:s,s:s}", "kty", "EC", "crv", "P-256"));
  if (!keys->dpop || !jose_jwk_gen(nullptr, keys->dpop.get())) return internalError("cannot make a DPoP key");
  keys->dpop_public.reset(json_deep_copy(keys->dpop.get()));
  jose_jwk_pub(nullptr, keys->dpop_public.get());
  JsonPtr thumbprint(jose_jwk_thp(nullptr, keys->dpop_public.get(), "S256"));
  if (!json_is_string(thumbprint.get())) return internalError("cannot compute the DPoP key thumbprint");
  std::unique_ptr<HelseIdClient> client(new HelseIdClient());
  client->dpop_jkt_ = json_string_value(thumbprint.get());
  if (!options.now) options.now = systemSeconds;
  client->options_ = std::move(options);
  client->keys_ = std::move(keys);
  return client;
}

Result<std::string> HelseIdClient::clientAssertion() const {
  const int64_t now = options_.now();
  JsonPtr header(json_pack("{s:s,s:s}", "alg", keys_->client_alg.c_str(), "typ", "client-authentication+jwt"));
  if (const std::string kid = detail::stringMember(keys_->client.get(), "kid"); !kid.empty()) {
    json_object_set_new(header.get(), "kid", json_string(kid.c_str()));
  }
  JsonPtr claims(json_object());
  json_object_set_new(claims.get(), "iss", json_string(options_.client_id.c_str()));
  json_object_set_new(claims.get(), "sub", json_string(options_.client_id.c_str()));
  json_object_set_new(claims.get(), "aud", json_string(options_.token_endpoint.c_str()));
  json_object_set_new(claims.get(), "jti", json_string(randomJti().c_str()));
  json_object_set_new(claims.get(), "iat", json_integer(now));
  json_object_set_new(claims.get(), "nbf", json_integer(now));
  json_object_set_new(claims.get(), "exp", json_integer(now + 60));
  return signCompact(keys_->client.get(), header.get(), claims.get());
}

Result<std::string> HelseIdClient::dpopProof(const std::string& method, const std::string& url,
                                             const std::string& access_token, const std::string& nonce) const {
  JsonPtr header(json_pack("{s:s,s:s,s:O}", "typ", "dpop+jwt", "alg", "ES256", "jwk", keys_->dpop_public.get()));
  JsonPtr claims(json_object());
  json_object_set_new(claims.get(), "jti", json_string(randomJti().c_str()));
  json_object_set_new(claims.get(), "htm", json_string(method.c_str()));
  json_object_set_new(claims.get(), "htu", json_string(htuOf(url).c_str()));
  json_object_set_new(claims.get(), "iat", json_integer(options_.now()));
  if (!access_token.empty()) json_object_set_new(claims.get(), "ath", json_string(sha256Base64Url(access_token).c_str()));
  if (!nonce.empty()) json_object_set_new(claims.get(), "nonce", json_string(nonce.c_str()));
  return signCompact(keys_->dpop.get(), header.get(), claims.get());
}

void HelseIdClient::invalidate() {
  std::lock_guard<std::mutex> lock(mutex_);
  token_.clear();
  token_expires_at_ = 0;
}

uint64_t HelseIdClient::tokensFetched() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return fetched_;
}

Result<std::string> HelseIdClient::accessToken() {
  // One fetch at a time: callers waiting for a token would otherwise each ask for their own.
  std::lock_guard<std::mutex> lock(mutex_);
  if (!token_.empty() && options_.now() < token_expires_at_ - options_.refresh_before_s) return token_;
  // At most two tries: the first may be answered "use_dpop_nonce" with the nonce to put in the second.
  for (int attempt = 0; attempt < 2; ++attempt) {
    ASSIGN_OR_RETURN(std::string assertion, clientAssertion());
    ASSIGN_OR_RETURN(std::string proof, dpopProof("POST", options_.token_endpoint, "", token_nonce_));
    detail::HttpCall call;
    call.method = "POST";
    call.url = options_.token_endpoint;
    call.headers = {"Content-Type: application/x-www-form-urlencoded", "Accept: application/json", "DPoP: " + proof};
    call.body = "grant_type=client_credentials&client_id=" + detail::urlEncode(options_.client_id) +
                "&client_assertion_type=" +
                detail::urlEncode("urn:ietf:params:oauth:client-assertion-type:jwt-bearer") +
                "&client_assertion=" + detail::urlEncode(assertion) +
                (options_.scope.empty() ? "" : "&scope=" + detail::urlEncode(options_.scope));
    call.ca_file = options_.ca_file;
    call.connect_timeout = options_.connect_timeout;
    call.timeout = options_.timeout;
    call.max_response_bytes = options_.max_response_bytes;
    ASSIGN_OR_RETURN(detail::HttpAnswer answer, detail::exchange(call));
    JsonPtr body = detail::parseJson(answer.body);
    if (!answer.dpop_nonce.empty()) token_nonce_ = answer.dpop_nonce;
    if (answer.status == 400 && detail::stringMember(body.get(), "error") == "use_dpop_nonce" &&
        !answer.dpop_nonce.empty() && attempt == 0) {
      continue;
    }
    if (answer.status >= 500 || answer.status == 429) {
      return unavailable("HelseID token endpoint answered HTTP " + std::to_string(answer.status));
    }
    if (answer.status != 200) {
      return Status(StatusCode::kUnauthenticated, "HelseID refused the client: HTTP " + std::to_string(answer.status) +
                                                      " " + detail::stringMember(body.get(), "error"));
    }
    const std::string token = detail::stringMember(body.get(), "access_token");
    const std::string type = detail::stringMember(body.get(), "token_type");
    const int64_t expires_in = detail::integerMember(body.get(), "expires_in", 0);
    if (token.empty() || token.size() > 16384 || token.find_first_of("\r\n ") != std::string::npos ||
        (type != "DPoP" && type != "dpop") || expires_in <= 0) {
      return unavailable("HelseID token answer is not a DPoP access token with expires_in");
    }
    token_ = token;
    // An answer's lifetime is trusted up to a day: a huge expires_in must neither overflow nor pin a token forever.
    token_expires_at_ = options_.now() + std::min<int64_t>(expires_in, 86'400);
    ++fetched_;
    return token_;
  }
  return Status(StatusCode::kUnauthenticated, "HelseID asked for a DPoP nonce twice");
}

}  // namespace planbro::adapters::plo
