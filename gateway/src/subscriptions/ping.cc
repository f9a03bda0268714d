#include "planbro/gateway/subscriptions/ping.h"
#include "planbro/gateway/dispatch/outbound_transfer.h"

#include <curl/curl.h>

#include <memory>
#include <mutex>

namespace planbro::gateway::subscriptions {
namespace {

constexpr size_t kMaxResponseBytes = 64 * 1024;  // the answer's body is not needed; a streaming receiver is cut

size_t discard(char*, size_t size, size_t count, void* user) {
  auto* seen = static_cast<size_t*>(user);
  *seen += size * count;
  return *seen > kMaxResponseBytes ? 0 : size * count;
}

}  // namespace

Status sendPing(const PingRequest& request) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> easy(curl_easy_init(), &curl_easy_cleanup);
  if (!easy) return unavailable("ping: cannot start a transfer");
  std::string url = request.endpoint;
  if (request.fhir_base) {
    if (!url.empty() && url.back() != '/') url += '/';
    url += "metadata";
  }
  CURL* e = easy.get();
  dispatch::setOutboundTransferOptions(e, url, {request.allow_plain_http, request.connect_timeout, request.timeout});
  size_t seen = 0;
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &discard);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &seen);
  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, "Accept: application/fhir+json");
  headers = curl_slist_append(headers, "Expect:");
  if (request.body.empty()) headers = curl_slist_append(headers, ("X-Subscription-Ping: " + request.type).c_str());
  if (!request.body.empty()) headers = curl_slist_append(headers, "Content-Type: application/fhir+json");
  for (const std::string& h : request.headers) headers = curl_slist_append(headers, h.c_str());
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> owned(headers, &curl_slist_free_all);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
  if (!request.fhir_base) {
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, request.body.c_str());
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  }
  const CURLcode result = curl_easy_perform(e);
  if (result != CURLE_OK) return unavailable(std::string("transport: ") + curl_easy_strerror(result));
  long code = 0;
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
  if (code < 200 || code >= 300) return unavailable("HTTP " + std::to_string(code));
  return Status::ok();
}

}  // namespace planbro::gateway::subscriptions
