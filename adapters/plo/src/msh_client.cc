// The MSH API v2 operations over one call() that owns what every call shares: the token, the DPoP proof and the
// API's nonce, the headers the API requires, the size bound and the bounded retries with exponential backoff.
#include "planbro/adapters/plo/msh_client.h"

#include <algorithm>
#include <thread>

#include "msh_http.h"

namespace planbro::adapters::plo {

using detail::JsonPtr;

std::string mshAppRecStatus(AppRecStatus status) {
  switch (status) {
    case AppRecStatus::kOk: return "Ok";
    case AppRecStatus::kRejected: return "Rejected";
    case AppRecStatus::kPartlyRejected: return "OkErrorInMessagePart";
  }
  return "Rejected";
}

std::optional<AppRecStatus> parseMshAppRecStatus(std::string_view text) {
  if (text == "Ok") return AppRecStatus::kOk;
  if (text == "Rejected") return AppRecStatus::kRejected;
  if (text == "OkErrorInMessagePart") return AppRecStatus::kPartlyRejected;
  return std::nullopt;
}

Result<std::unique_ptr<MshClient>> MshClient::create(MshClientOptions options, std::shared_ptr<HelseIdClient> helseid,
                                                     bool allow_plain_http) {
  const bool https = options.base_url.rfind("https://", 0) == 0;
  const bool http = options.base_url.rfind("http://", 0) == 0;
  if (!https && !(http && allow_plain_http)) {
    return invalidArgument("adapters.plo.msh.base_url: must be an https:// URL (got \"" + options.base_url + "\")");
  }
  if (!helseid) return invalidArgument("the MSH client needs a HelseID client");
  while (!options.base_url.empty() && options.base_url.back() == '/') options.base_url.pop_back();
  if (options.max_attempts == 0) options.max_attempts = 1;
  if (!options.sleep) options.sleep = [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); };
  std::unique_ptr<MshClient> client(new MshClient());
  client->options_ = std::move(options);
  client->helseid_ = std::move(helseid);
  return client;
}

Result<MshClient::Answer> MshClient::call(const std::string& method, const std::string& path, const std::string& body,
                                          long ok_status) {
  const std::string url = options_.base_url + path;
  std::chrono::milliseconds backoff = options_.backoff_initial;
  Status last = unavailable(method + " " + path + ": not tried");
  bool token_renewed = false;
  bool nonce_renewed = false;
  // Transient failures count against max_attempts and wait with backoff; the two auth fixes (a nonce, a renewed
  // token) happen at most once each and at once: the loop runs at most max_attempts + 2 times.
  uint32_t failures = 0;
  for (uint32_t round = 0; round < options_.max_attempts + 2; ++round) {
    if (last.code() == StatusCode::kUnavailable && round > 0) {
      if (++failures >= options_.max_attempts) break;
      options_.sleep(backoff);
      backoff = std::min(backoff * 2, options_.backoff_max);
    }
    ++attempts_;
    auto token = helseid_->accessToken();
    if (!token.isOk()) {
      if (token.status().code() != StatusCode::kUnavailable) return token.status();
      last = token.status();
      continue;
    }
    std::string nonce;
    {
      std::lock_guard<std::mutex> lock(nonce_mutex_);
      nonce = nonce_;
    }
    ASSIGN_OR_RETURN(std::string proof, helseid_->dpopProof(method, url, *token, nonce));
    detail::HttpCall c;
    c.method = method;
    c.url = url;
    c.headers = {"Authorization: DPoP " + *token, "DPoP: " + proof, "api-version: " + options_.api_version,
                 "nhn-source-system: " + options_.source_system, "Accept: application/json"};
    if (method != "GET") c.headers.push_back("Content-Type: application/json");
    c.body = body;
    c.ca_file = options_.ca_file;
    c.connect_timeout = options_.connect_timeout;
    c.timeout = options_.timeout;
    c.max_response_bytes = options_.max_response_bytes;
    auto answer = detail::exchange(c);
    if (!answer.isOk()) {
      if (answer.status().code() != StatusCode::kUnavailable) return answer.status();
      last = answer.status();
      continue;
    }
    if (!answer->dpop_nonce.empty()) {
      std::lock_guard<std::mutex> lock(nonce_mutex_);
      nonce_ = answer->dpop_nonce;
    }
    if (answer->status == ok_status) return Answer{answer->status, std::move(answer->body)};
    const std::string what = method + " " + path + ": HTTP " + std::to_string(answer->status);
    if (answer->status == 401) {
      // A nonce asked for, or a token that expired early: each is fixed once, at once, without backoff.
      const bool wants_nonce = answer->www_authenticate.find("use_dpop_nonce") != std::string::npos;
      if (wants_nonce && !answer->dpop_nonce.empty() && !nonce_renewed) {
        nonce_renewed = true;
        last = Status(StatusCode::kUnauthenticated, what);
        continue;
      }
      if (!wants_nonce && !token_renewed) {
        token_renewed = true;
        helseid_->invalidate();
        last = Status(StatusCode::kUnauthenticated, what);
        continue;
      }
      return Status(StatusCode::kUnauthenticated, what);
    }
    if (detail::retryableStatus(answer->status) || answer->status >= 500) {
      last = unavailable(what);
      continue;
    }
    if (answer->status == 404) return notFound(what);
    if (answer->status == 403) return Status(StatusCode::kPermissionDenied, what);
    return invalidArgument(what + " " + answer->body.substr(0, 200));
  }
  if (last.code() == StatusCode::kUnauthenticated) return last;
  return unavailable(last.message() + " (after " + std::to_string(options_.max_attempts) + " tries)");
}

namespace {

// The API answers a created id as a JSON string ("\"3d92…\"").
Result<std::string> idOf(const std::string& body) {
  JsonPtr v = detail::parseJson(body);
  if (!json_is_string(v.get()) || json_string_length(v.get()) == 0 || json_string_length(v.get()) > 100) {
    return unavailable("the message service answered no id");
  }
  return std::string(json_string_value(v.get()));
}

// Ids go into URL paths: only what a UUID (or a similar opaque id) holds is accepted.
Status checkId(const std::string& id) {
  if (id.empty() || id.size() > 100 ||
      !std::all_of(id.begin(), id.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-'; })) {
    return invalidArgument("not a message id: \"" + id.substr(0, 60) + "\"");
  }
  return Status::ok();
}

json_t* errorList(const std::vector<AppRecError>& errors) {
  json_t* list = json_array();
  for (const AppRecError& e : errors) {
    const std::string details = e.detail.empty() ? e.text : e.text + ": " + e.detail;
    json_array_append_new(list, json_pack("{s:s,s:s,s:s}", "errorCode", e.code.c_str(), "details", details.c_str(),
                                          "oid", "2.16.578.1.12.4.1.1.8221"));
  }
  return list;
}

}  // namespace

Result<std::string> MshClient::postMessage(const std::string& xml, const std::vector<int64_t>& receiver_her_ids) {
  JsonPtr body(json_pack("{s:s,s:s,s:s}", "businessDocument", detail::base64Encode(xml).c_str(), "contentType",
                         "application/xml", "contentTransferEncoding", "base64"));
  if (!receiver_her_ids.empty()) {
    json_t* subset = json_array();
    for (int64_t her : receiver_her_ids) json_array_append_new(subset, json_integer(her));
    json_object_set_new(body.get(), "receiverHerIdsSubset", subset);
  }
  ASSIGN_OR_RETURN(Answer answer, call("POST", "/Messages", detail::dumpJson(body.get()), 201));
  return idOf(answer.body);
}

Result<std::vector<MshMessage>> MshClient::unreadMessages(int64_t receiver_her_id, uint32_t max_messages) {
  max_messages = std::clamp<uint32_t>(max_messages, 1, 100);  // the API's own bounds on MessagesToFetch
  ASSIGN_OR_RETURN(Answer answer, call("GET",
                                       "/Messages?ReceiverHerIds=" + std::to_string(receiver_her_id) +
                                           "&IncludeMetadata=true&MessagesToFetch=" + std::to_string(max_messages) +
                                           "&OrderBy=Ascending",
                                       "", 200));
  JsonPtr list = detail::parseJson(answer.body);
  if (!json_is_array(list.get())) return unavailable("GET /Messages: the answer is not a JSON array");
  std::vector<MshMessage> out;
  for (size_t i = 0; i < json_array_size(list.get()) && out.size() < max_messages; ++i) {
    const json_t* m = json_array_get(list.get(), i);
    MshMessage message;
    message.id = detail::stringMember(m, "id");
    if (!checkId(message.id).isOk()) continue;  // an entry without a usable id cannot be fetched or marked
    message.receiver_her_id = detail::integerMember(m, "receiverHerId");
    message.sender_her_id = detail::integerMember(m, "senderHerId");
    message.business_document_id = detail::stringMember(m, "businessDocumentId");
    message.is_apprec = json_is_true(json_object_get(m, "isAppRec"));
    out.push_back(std::move(message));
  }
  return out;
}

Result<std::string> MshClient::businessDocument(const std::string& id) {
  RETURN_IF_ERROR(checkId(id));
  ASSIGN_OR_RETURN(Answer answer, call("GET", "/Messages/" + id + "/business-document", "", 200));
  JsonPtr doc = detail::parseJson(answer.body);
  const std::string encoding = detail::stringMember(doc.get(), "contentTransferEncoding");
  const json_t* payload = json_is_object(doc.get()) ? json_object_get(doc.get(), "businessDocument") : nullptr;
  if (!json_is_string(payload)) return invalidArgument("GET business-document: no businessDocument in the answer");
  if (encoding != "base64") return invalidArgument("GET business-document: contentTransferEncoding is not base64");
  auto decoded = detail::base64Decode(std::string_view(json_string_value(payload), json_string_length(payload)));
  if (!decoded.isOk()) return invalidArgument("GET business-document: businessDocument is not base64");
  return std::move(decoded).value();
}

Result<std::string> MshClient::postAppRec(const std::string& id, int64_t apprec_sender_her_id, AppRecStatus status,
                                          const std::vector<AppRecError>& errors) {
  RETURN_IF_ERROR(checkId(id));
  JsonPtr body(json_pack("{s:s}", "appRecStatus", mshAppRecStatus(status).c_str()));
  json_object_set_new(body.get(), "appRecErrorList", errorList(errors));
  ASSIGN_OR_RETURN(Answer answer, call("POST", "/Messages/" + id + "/apprec/" + std::to_string(apprec_sender_her_id),
                                       detail::dumpJson(body.get()), 201));
  return idOf(answer.body);
}

Result<std::vector<MshAppRecInfo>> MshClient::appRecInfo(const std::string& id) {
  RETURN_IF_ERROR(checkId(id));
  ASSIGN_OR_RETURN(Answer answer, call("GET", "/Messages/" + id + "/apprec", "", 200));
  JsonPtr list = detail::parseJson(answer.body);
  if (!json_is_array(list.get())) return unavailable("GET apprec: the answer is not a JSON array");
  std::vector<MshAppRecInfo> out;
  for (size_t i = 0; i < json_array_size(list.get()) && i < 1000; ++i) {
    const json_t* a = json_array_get(list.get(), i);
    MshAppRecInfo info;
    info.receiver_her_id = detail::integerMember(a, "receiverHerId");
    info.status = parseMshAppRecStatus(detail::stringMember(a, "appRecStatus"));
    const json_t* errors = json_object_get(a, "appRecErrorList");
    for (size_t k = 0; json_is_array(errors) && k < json_array_size(errors) && k < 100; ++k) {
      const json_t* e = json_array_get(errors, k);
      info.errors.push_back({detail::stringMember(e, "errorCode"), detail::stringMember(e, "description"),
                             detail::stringMember(e, "details")});
    }
    out.push_back(std::move(info));
  }
  return out;
}

Status MshClient::markRead(const std::string& id, int64_t her_id) {
  RETURN_IF_ERROR(checkId(id));
  auto answer = call("PUT", "/Messages/" + id + "/read/" + std::to_string(her_id), "", 204);
  return answer.isOk() ? Status::ok() : answer.status();
}

}  // namespace planbro::adapters::plo
