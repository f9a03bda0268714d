// The loopback keeps every check the adapter's client must pass in one place (authorize()), so a test that talks to
// it proves the client speaks the API as written: the token from a verified client assertion, a DPoP proof per
// call bound to that token's key, the nonce, and the two headers the API requires.
#include "msh_loopback.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <condition_variable>
#include <deque>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <tuple>

#include "planbro/adapters/plo/apprec.h"
#include "planbro/gateway/http/server.h"
#include "planbro/gateway/security/dpop.h"
#include "test_certificates.h"

extern "C" {
#include <jose/jose.h>
}

namespace planbro::adapters::plo::testing {
namespace {

namespace http = gateway::http;

struct JsonDecref {
  void operator()(json_t* j) const { json_decref(j); }
};
using JsonPtr = std::unique_ptr<json_t, JsonDecref>;

JsonPtr parse(std::string_view text) {
  json_error_t error;
  return JsonPtr(json_loadb(text.data(), text.size(), JSON_DECODE_ANY, &error));
}

std::string dump(const json_t* value) {
  char* text = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
  std::string out(text != nullptr ? text : "");
  free(text);
  return out;
}

std::string member(const json_t* object, const char* name) {
  const json_t* v = json_is_object(object) ? json_object_get(object, name) : nullptr;
  return json_is_string(v) ? std::string(json_string_value(v)) : std::string();
}

int64_t now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string randomHex(size_t bytes) {
  std::vector<unsigned char> raw(bytes);
  RAND_bytes(raw.data(), static_cast<int>(raw.size()));
  static const char* const kHex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : raw) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

std::string newId() {
  const std::string h = randomHex(16);
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) + "-" + h.substr(20);
}

std::string base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::optional<std::string> unbase64(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out(text.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  size_t padding = 0;
  while (padding < 2 && padding < text.size() && text[text.size() - 1 - padding] == '=') ++padding;
  out.resize(static_cast<size_t>(n) - padding);
  return out;
}

std::optional<std::string> unbase64Url(std::string_view text) {
  std::string s(text);
  for (char& c : s) {
    if (c == '-') c = '+';
    if (c == '_') c = '/';
  }
  while (s.size() % 4 != 0) s += '=';
  return unbase64(s);
}

std::string formValue(std::string_view body, std::string_view name) {
  size_t at = 0;
  while (at <= body.size()) {
    const size_t end = std::min(body.find('&', at), body.size());
    const std::string_view pair = body.substr(at, end - at);
    const size_t eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == name) {
      std::string out;
      const std::string_view v = pair.substr(eq + 1);
      for (size_t i = 0; i < v.size(); ++i) {
        if (v[i] == '+') {
          out += ' ';
        } else if (v[i] == '%' && i + 2 < v.size()) {
          out += static_cast<char>(std::stoi(std::string(v.substr(i + 1, 2)), nullptr, 16));
          i += 2;
        } else {
          out += v[i];
        }
      }
      return out;
    }
    at = end + 1;
  }
  return "";
}

/** The claims of a compact JWS, unverified (the caller verifies the signature separately). */
JsonPtr claimsOf(std::string_view compact) {
  const size_t a = compact.find('.');
  const size_t b = a == std::string_view::npos ? a : compact.find('.', a + 1);
  if (b == std::string_view::npos) return nullptr;
  auto payload = unbase64Url(compact.substr(a + 1, b - a - 1));
  return payload ? parse(*payload) : nullptr;
}

bool verifiedWith(std::string_view compact, const json_t* jwk) {
  const size_t a = compact.find('.');
  const size_t b = a == std::string_view::npos ? a : compact.find('.', a + 1);
  if (b == std::string_view::npos) return false;
  JsonPtr jws(json_pack("{s:s%,s:s%,s:s%}", "protected", compact.data(), a, "payload", compact.data() + a + 1,
                        b - a - 1, "signature", compact.data() + b + 1, compact.size() - b - 1));
  return jws && jose_jws_ver(nullptr, jws.get(), nullptr, jwk, false);
}

http::Response json(int status, const std::string& body) {
  http::Response r;
  r.status = status;
  r.headers.set("Content-Type", "application/json");
  r.body = body;
  return r;
}

http::Response error(int status, const std::string& text) {
  JsonPtr e(json_pack("{s:s,s:s}", "error", text.c_str(), "errorCode", "loopback"));
  return json(status, dump(e.get()));
}

std::vector<std::string> split(std::string_view path) {
  std::vector<std::string> parts;
  size_t at = 1;
  while (at <= path.size()) {
    const size_t end = std::min(path.find('/', at), path.size());
    parts.emplace_back(path.substr(at, end - at));
    at = end + 1;
  }
  return parts;
}

std::string queryValue(std::string_view query, std::string_view name) { return formValue(query, name); }

struct Client {
  JsonPtr jwk;
  std::set<int64_t> her_ids;
};

struct Token {
  std::string client_id;
  std::string jkt;
  int64_t expires_at = 0;
};

struct Stored {
  LoopbackMessage message;
  std::optional<DecodedMessage> decoded;  // what the service read of the MsgHead (for the AppRec it builds)
  std::vector<AppRecError> apprec_errors;
};

}  // namespace

class MshLoopback::Impl : public http::RequestHandler {
 public:
  Impl(std::shared_ptr<const Codec> codec, MshLoopbackOptions options)
      : codec_(std::move(codec)), options_(options),
        dpop_(gateway::security::DpopOptions{}, gateway::security::makeMemoryReplayCache(100'000)) {}

  http::Response handle(const http::Request& request, http::RequestContext& context) override {
    http::Response response = answer(request, context);
    changed_.notify_all();
    return response;
  }

  http::Response answer(const http::Request& request, http::RequestContext&) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (request.path == "/connect/token" && request.method == "POST") return token(request);
    ++api_calls_;
    if (fail_next_ > 0) {
      --fail_next_;
      return error(fail_status_, "failing on purpose");
    }
    if (fail_matching_ > 0 && request.method == fail_method_ &&
        request.path.find(fail_path_part_) != std::string::npos) {
      --fail_matching_;
      return error(fail_status_, "failing on purpose");
    }
    for (const auto& [message_id, method, status] : poisoned_) {
      if (request.method == method && request.path.find("/Messages/" + message_id + "/") != std::string::npos) {
        return error(status, "poisoned on purpose");
      }
    }
    std::string client_id;
    if (auto refused = authorize(request, client_id)) return *refused;
    const Client& client = clients_.at(client_id);
    const std::vector<std::string> parts = split(request.path);
    if (parts.empty() || parts[0] != "Messages") return refuse(404, "no such operation " + request.path);
    if (parts.size() == 1 && request.method == "POST") return postMessage(request, client);
    if (parts.size() == 1 && request.method == "GET") return listMessages(request, client);
    auto found = messages_.find(parts.size() > 1 ? parts[1] : "");
    if (found == messages_.end()) return refuse(404, "no message " + (parts.size() > 1 ? parts[1] : ""));
    Stored& m = found->second;
    const bool receiver = client.her_ids.count(m.message.receiver_her_id) != 0;
    const bool sender = client.her_ids.count(m.message.sender_her_id) != 0;
    if (parts.size() == 3 && parts[2] == "business-document" && request.method == "GET") {
      if (!receiver && !sender) return refuse(403, "not a party to " + m.message.id);
      JsonPtr body(json_pack("{s:s,s:s,s:s}", "businessDocument", base64(m.message.document).c_str(), "contentType",
                             "application/xml", "contentTransferEncoding", "base64"));
      return json(200, dump(body.get()));
    }
    if (parts.size() == 3 && parts[2] == "apprec" && request.method == "GET") {
      if (!sender) return refuse(403, "not the sender of " + m.message.id);
      JsonPtr list(json_array());
      if (m.message.apprec_status) {
        json_t* errors = json_array();
        for (const AppRecError& e : m.apprec_errors) {
          json_array_append_new(errors, json_pack("{s:s,s:s,s:s}", "errorCode", e.code.c_str(), "description",
                                                  e.text.c_str(), "details", e.detail.c_str()));
        }
        json_array_append_new(list.get(), json_pack("{s:I,s:s,s:o}", "receiverHerId",
                                                    static_cast<json_int_t>(m.message.receiver_her_id), "appRecStatus",
                                                    m.message.apprec_status->c_str(), "appRecErrorList", errors));
      }
      return json(200, dump(list.get()));
    }
    if (parts.size() == 4 && parts[2] == "apprec" && request.method == "POST") return postAppRec(request, m, client, parts[3]);
    if (parts.size() == 4 && parts[2] == "read" && request.method == "PUT") {
      const int64_t her = std::atoll(parts[3].c_str());
      if (client.her_ids.count(her) == 0 || her != m.message.receiver_her_id) return refuse(403, "not the receiver");
      m.message.read = true;
      http::Response r;
      r.status = 204;
      return r;
    }
    return refuse(404, "no such operation " + request.method + " " + request.path);
  }

  // --- the token endpoint ---

  http::Response token(const http::Request& request) {
    const std::string& body = request.body;
    if (formValue(body, "grant_type") != "client_credentials") return tokenError(400, "unsupported_grant_type");
    if (formValue(body, "client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer") {
      return tokenError(400, "invalid_client");
    }
    const std::string client_id = formValue(body, "client_id");
    auto client = clients_.find(client_id);
    if (client == clients_.end()) return tokenError(401, "invalid_client");
    const std::string assertion = formValue(body, "client_assertion");
    JsonPtr claims = claimsOf(assertion);
    if (!claims || !verifiedWith(assertion, client->second.jwk.get())) return tokenError(401, "invalid_client");
    const json_t* exp = json_object_get(claims.get(), "exp");
    if (member(claims.get(), "iss") != client_id || member(claims.get(), "sub") != client_id ||
        member(claims.get(), "aud") != tokenEndpoint() || !json_is_integer(exp) || json_integer_value(exp) < now() ||
        member(claims.get(), "jti").empty() || !assertion_ids_.insert(member(claims.get(), "jti")).second) {
      return tokenError(401, "invalid_client");
    }
    const std::string* proof = request.headers.find("DPoP");
    if (proof == nullptr) return tokenError(400, "invalid_dpop_proof");
    auto jkt = dpop_.verify(*proof, "POST", tokenEndpoint(), "");
    if (!jkt.isOk()) return tokenError(400, "invalid_dpop_proof");
    if (options_.require_dpop_nonce && member(claimsOf(*proof).get(), "nonce") != token_nonce_) {
      http::Response r = tokenError(400, "use_dpop_nonce");
      r.headers.set("DPoP-Nonce", token_nonce_);
      return r;
    }
    const std::string access = randomHex(24);
    tokens_[access] = Token{client_id, *jkt, now() + options_.token_lifetime_s};
    ++tokens_issued_;
    JsonPtr answer(json_pack("{s:s,s:s,s:I}", "access_token", access.c_str(), "token_type", "DPoP", "expires_in",
                             static_cast<json_int_t>(options_.token_lifetime_s)));
    return json(200, dump(answer.get()));
  }

  http::Response tokenError(int status, const std::string& code) {
    refusals_.push_back("token: " + code);
    JsonPtr e(json_pack("{s:s}", "error", code.c_str()));
    return json(status, dump(e.get()));
  }

  // --- what every API call must carry ---

  std::optional<http::Response> authorize(const http::Request& request, std::string& client_id) {
    const std::string_view auth = request.headers.get("Authorization");
    if (auth.rfind("DPoP ", 0) != 0) return refuse(401, "no DPoP token");
    const std::string access(auth.substr(5));
    auto t = tokens_.find(access);
    if (t == tokens_.end() || t->second.expires_at < now()) return refuse(401, "unknown or expired token");
    const std::string* proof = request.headers.find("DPoP");
    if (proof == nullptr) return refuse(401, "no DPoP proof");
    auto jkt = dpop_.verify(*proof, request.method, baseUrl() + request.path, access);
    if (!jkt.isOk()) return refuse(401, "DPoP proof: " + jkt.status().message());
    if (*jkt != t->second.jkt) return refuse(401, "DPoP proof key is not the token's");
    if (options_.require_dpop_nonce && member(claimsOf(*proof).get(), "nonce") != api_nonce_) {
      http::Response r = refuse(401, "use_dpop_nonce");
      r.headers.set("WWW-Authenticate", "DPoP error=\"use_dpop_nonce\"");
      r.headers.set("DPoP-Nonce", api_nonce_);
      return r;
    }
    if (request.headers.get("api-version") != "2") return refuse(400, "api-version must be 2");
    if (request.headers.get("nhn-source-system").empty()) return refuse(400, "nhn-source-system is required");
    client_id = t->second.client_id;
    return std::nullopt;
  }

  http::Response refuse(int status, const std::string& reason) {
    refusals_.push_back(reason);
    return error(status, reason);
  }

  // --- the operations ---

  http::Response postMessage(const http::Request& request, const Client& client) {
    JsonPtr body = parse(request.body);
    if (member(body.get(), "contentTransferEncoding") != "base64") return refuse(400, "contentTransferEncoding");
    auto document = unbase64(member(body.get(), "businessDocument"));
    if (!document) return refuse(400, "businessDocument is not base64");
    DecodedMessage decoded = codec_->decode(*document);
    if (!decoded.head) return refuse(400, "no readable MsgHead: " + decoded.summary);
    const int64_t sender = std::atoll(decoded.head->sender.herId().c_str());
    if (client.her_ids.count(sender) == 0) return refuse(403, "the client may not send as HER " + std::to_string(sender));
    std::vector<int64_t> receivers;
    const json_t* subset = json_object_get(body.get(), "receiverHerIdsSubset");
    for (size_t i = 0; json_is_array(subset) && i < json_array_size(subset); ++i) {
      receivers.push_back(json_integer_value(json_array_get(subset, i)));
    }
    if (receivers.empty()) receivers.push_back(std::atoll(decoded.head->receiver.herId().c_str()));
    if (receivers.size() != 1) return refuse(400, "the loopback routes a message to one receiver");
    Stored s;
    s.message.id = newId();
    s.message.sender_her_id = sender;
    s.message.receiver_her_id = receivers.front();
    s.message.document = std::move(*document);
    s.message.msg_id = decoded.head->msg_id;
    s.decoded = std::move(decoded);
    const std::string id = s.message.id;
    add(std::move(s));
    return json(201, dump(JsonPtr(json_string(id.c_str())).get()));
  }

  http::Response listMessages(const http::Request& request, const Client& client) {
    const int64_t her = std::atoll(queryValue(request.query, "ReceiverHerIds").c_str());
    if (client.her_ids.count(her) == 0) return refuse(403, "not the mailbox of this client");
    const int fetch = std::atoi(queryValue(request.query, "MessagesToFetch").c_str());
    if (fetch < 1 || fetch > 100) return refuse(400, "MessagesToFetch must be 1..100");
    JsonPtr list(json_array());
    for (const std::string& id : order_) {
      const LoopbackMessage& m = messages_.at(id).message;
      if (m.receiver_her_id != her || m.read) continue;
      json_array_append_new(list.get(),
                            json_pack("{s:s,s:s,s:I,s:I,s:s,s:b}", "id", m.id.c_str(), "contentType", "application/xml",
                                      "receiverHerId", static_cast<json_int_t>(m.receiver_her_id), "senderHerId",
                                      static_cast<json_int_t>(m.sender_her_id), "businessDocumentId", m.msg_id.c_str(),
                                      "isAppRec", m.is_apprec ? 1 : 0));
      if (json_array_size(list.get()) >= static_cast<size_t>(fetch)) break;
    }
    return json(200, dump(list.get()));
  }

  http::Response postAppRec(const http::Request& request, Stored& original, const Client& client,
                            const std::string& sender_text) {
    const int64_t apprec_sender = std::atoll(sender_text.c_str());
    if (client.her_ids.count(apprec_sender) == 0 || apprec_sender != original.message.receiver_her_id) {
      return refuse(403, "only the receiver answers a message");
    }
    if (original.message.is_apprec) return refuse(400, "an AppRec is not answered");
    JsonPtr body = parse(request.body);
    const std::string status = member(body.get(), "appRecStatus");
    AppRecAnswer answer;
    if (original.decoded) {
      answer = answerFor(*original.decoded, "1.1", newId(), "2026-12-07T08:00:00", Party{});
    }
    if (status == "Ok") {
      answer.status = AppRecStatus::kOk;
    } else if (status == "Rejected") {
      answer.status = AppRecStatus::kRejected;
    } else if (status == "OkErrorInMessagePart") {
      answer.status = AppRecStatus::kPartlyRejected;
    } else {
      return refuse(400, "appRecStatus " + status);
    }
    answer.errors.clear();
    const json_t* errors = json_object_get(body.get(), "appRecErrorList");
    for (size_t i = 0; json_is_array(errors) && i < json_array_size(errors); ++i) {
      const json_t* e = json_array_get(errors, i);
      answer.errors.push_back({member(e, "errorCode"), member(e, "details"), ""});
    }
    original.message.apprec_status = status;
    original.apprec_errors = answer.errors;
    Stored s;
    s.message.id = newId();
    s.message.sender_her_id = apprec_sender;
    s.message.receiver_her_id = original.message.sender_her_id;
    s.message.document = encodeAppRec(answer);
    s.message.msg_id = answer.id;
    s.message.is_apprec = true;
    const std::string id = s.message.id;
    add(std::move(s));
    return json(201, dump(JsonPtr(json_string(id.c_str())).get()));
  }

  void add(Stored s) {
    order_.push_back(s.message.id);
    const std::string id = s.message.id;
    messages_.emplace(id, std::move(s));
  }

  std::string baseUrl() const {
    return (options_.tls_certificate_file.empty() ? "http://127.0.0.1:" : "https://127.0.0.1:") + std::to_string(port_);
  }
  std::string tokenEndpoint() const { return baseUrl() + "/connect/token"; }

  std::shared_ptr<const Codec> codec_;
  MshLoopbackOptions options_;
  gateway::security::DpopVerifier dpop_;
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  uint16_t port_ = 0;
  std::map<std::string, Client> clients_;
  std::map<std::string, Token> tokens_;
  std::set<std::string> assertion_ids_;
  std::map<std::string, Stored> messages_;
  std::deque<std::string> order_;
  std::string token_nonce_ = randomHex(8);
  std::string api_nonce_ = randomHex(8);
  size_t fail_next_ = 0;
  size_t fail_matching_ = 0;
  std::string fail_method_, fail_path_part_;
  int fail_status_ = 503;
  std::vector<std::tuple<std::string, std::string, int>> poisoned_;  // message id, method, status
  uint64_t tokens_issued_ = 0;
  uint64_t api_calls_ = 0;
  std::vector<std::string> refusals_;
  std::unique_ptr<http::Server> server_;
};

MshLoopback::MshLoopback(std::shared_ptr<const Codec> codec, MshLoopbackOptions options)
    : impl_(std::make_shared<Impl>(std::move(codec), options)) {}

MshLoopback::~MshLoopback() { stop(); }

Status MshLoopback::start() {
  http::ServerOptions so;
  so.host = "127.0.0.1";
  so.port = 0;
  so.access_log = false;
  so.max_body_bytes = 64ull << 20;
  so.tls_certificate_file = impl_->options_.tls_certificate_file;
  so.tls_private_key_file = impl_->options_.tls_private_key_file;
  impl_->server_ = std::make_unique<http::Server>(so, impl_);
  if (Status s = impl_->server_->start(); !s.isOk()) return s;
  std::lock_guard<std::mutex> lock(impl_->mutex_);
  impl_->port_ = impl_->server_->port();
  return Status::ok();
}

void MshLoopback::stop() {
  if (!impl_->server_) return;
  impl_->server_->stop();
  impl_->server_.reset();  // the server holds the handler (impl_): released here, not in a cycle
}

std::string MshLoopback::baseUrl() const {
  std::lock_guard<std::mutex> lock(impl_->mutex_);
  return impl_->baseUrl();
}

std::string MshLoopback::tokenEndpoint() const {
  std::lock_guard<std::mutex> lock(impl_->mutex_);
  return impl_->tokenEndpoint();
}

void MshLoopback::registerClient(const std::string& client_id, const std::string& public_jwk,
                                 std::vector<int64_t> her_ids) {
  std::lock_guard<std::mutex> lock(impl_->mutex_);
  impl_->clients_[client_id] = Client{parse(public_jwk), std::set<int64_t>(her_ids.begin(), her_ids.end())};
}

void MshLoopback::failNext(size_t count, int status) {
  std::lock_guard<std::mutex> lock(impl_->mutex_);
  impl_->fail_next_ = count;
  impl_->fail_status_ = status;
}

void MshLoopback::failNextMatching(const std::string& method, const std::string& path_part, size_t count,
                                   int status) {
  std::lock_guard<std::mutex> lock(impl_->mutex_);
  impl_->fail_method_ = method;
  impl_->fail_path_part_ = path_part;
  impl_->fail_matching_ = count;
  impl_->fail_status_ = status;
}

void MshLoopback::poison(const std::string& message_id, const std::string& method, int status) {
  std::lock_guard<std::mutex> lock(impl_->mutex_);
  impl_->poisoned_.emplace_back(message_id, method, status);
}

void MshLoopback::forgetTokens() {
  std::lock_guard<std::mutex> lock(impl_->mutex_);
  impl_->tokens_.clear();
}

std::string MshLoopback::deliverRaw(int64_t sender_her_id, int64_t receiver_her_id, std::string document) {
  std::lock_guard<std::mutex> lock(impl_->mutex_);
  Stored s;
  s.message.id = newId();
  s.message.sender_her_id = sender_her_id;
  s.message.receiver_her_id = receiver_her_id;
  s.message.document = std::move(document);
  s.message.msg_id = "raw-" + s.message.id;
  const std::string id = s.message.id;
  impl_->add(std::move(s));
  return id;
}

namespace {
std::vector<LoopbackMessage> mailboxOf(const std::deque<std::string>& order, const std::map<std::string, Stored>& all,
                                       int64_t her_id) {
  std::vector<LoopbackMessage> out;
  for (const std::string& id : order) {
    const LoopbackMessage& m = all.at(id).message;
    if (m.receiver_her_id == her_id) out.push_back(m);
  }
  return out;
}
}  // namespace

std::vector<LoopbackMessage> MshLoopback::mailbox(int64_t her_id) const {
  std::lock_guard<std::mutex> lock(impl_->mutex_);
  return mailboxOf(impl_->order_, impl_->messages_, her_id);
}

bool MshLoopback::waitForMailbox(int64_t her_id,
                                 const std::function<bool(const std::vector<LoopbackMessage>&)>& done,
                                 std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(impl_->mutex_);
  return impl_->changed_.wait_for(lock, timeout,
                                  [&] { return done(mailboxOf(impl_->order_, impl_->messages_, her_id)); });
}

size_t MshLoopback::unread(int64_t her_id) const {
  size_t n = 0;
  for (const LoopbackMessage& m : mailbox(her_id)) n += m.read ? 0 : 1;
  return n;
}

uint64_t MshLoopback::tokensIssued() const {
  std::lock_guard<std::mutex> lock(impl_->mutex_);
  return impl_->tokens_issued_;
}

uint64_t MshLoopback::apiCalls() const {
  std::lock_guard<std::mutex> lock(impl_->mutex_);
  return impl_->api_calls_;
}

bool MshLoopback::waitForApiCalls(uint64_t count, std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(impl_->mutex_);
  return impl_->changed_.wait_for(lock, timeout, [&] { return impl_->api_calls_ >= count; });
}

std::vector<std::string> MshLoopback::refusals() const {
  std::lock_guard<std::mutex> lock(impl_->mutex_);
  return impl_->refusals_;
}

TestJwk makeTestJwk() {
  JsonPtr jwk(json_pack("{s:s,s:s}", "kty", "EC", "crv", "P-256"));
  jose_jwk_gen(nullptr, jwk.get());
  JsonPtr pub(json_deep_copy(jwk.get()));
  jose_jwk_pub(nullptr, pub.get());
  return {dump(jwk.get()), dump(pub.get())};
}

TestTlsFiles makeLoopbackTls(const std::string& dir) {
  TestTlsFiles out{dir + "/loopback-cert.pem", dir + "/loopback-key.pem"};
  planbro::testing::SelfSignedCertificateOptions options;
  options.common_name = "msh loopback";
  options.certificate_authority = true;  // the client loads it as its trust anchor
  options.serial = 7;
  planbro::testing::writeSelfSignedCertificate(out.certificate_file, out.private_key_file, options);
  return out;
}

void writePrivateFile(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
  ::chmod(path.c_str(), 0600);
}

}  // namespace planbro::adapters::plo::testing
