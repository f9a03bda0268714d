// rest-hook over libcurl's multi interface: one worker thread drives up to max_parallel transfers, one per ordering
// key (a lane); a lane's next event starts only when the previous one succeeded, so each key stays in order, and a
// failure ends the lane (the rest of it is not attempted). Connections are kept by the multi handle between batches.
// setCancelled(true) (shutdown) ends a batch at once: the transfers still running are dropped, their events
// kNotAttempted, sent again later under the same idempotency key.
#include "planbro/gateway/dispatch/rest_hook_transport.h"
#include "planbro/gateway/dispatch/outbound_transfer.h"

#include <curl/curl.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>

namespace planbro::gateway::dispatch {
namespace {

void initCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

bool hasLineBreak(std::string_view s) { return s.find_first_of("\r\n") != std::string_view::npos; }

// Response bodies are not needed; at most this much is read before the transfer is cut (a receiver streaming
// forever must not hold the worker).
constexpr size_t kMaxResponseBytes = 64 * 1024;

size_t discardBody(char*, size_t size, size_t count, void* user) {
  auto* seen = static_cast<size_t*>(user);
  *seen += size * count;
  return *seen > kMaxResponseBytes ? 0 : size * count;
}

class RestHookTransport final : public Transport {
 public:
  explicit RestHookTransport(RestHookOptions options) : options_(std::move(options)) {
    initCurlOnce();
    multi_ = curl_multi_init();
    curl_multi_setopt(multi_, CURLMOPT_MAX_HOST_CONNECTIONS, static_cast<long>(options_.max_parallel));
  }
  ~RestHookTransport() override { curl_multi_cleanup(multi_); }

  std::string_view kind() const override { return "rest-hook"; }
  bool needsResource() const override { return options_.payload == RestHookOptions::Payload::kFull; }

  void setCancelled(bool cancelled) override {
    cancelled_ = cancelled;
    if (cancelled) curl_multi_wakeup(multi_);  // out of curl_multi_poll now, not after its timeout
  }

  std::vector<DeliveryOutcome> deliver(std::span<const Delivery> batch) override {
    std::vector<DeliveryOutcome> outcomes(batch.size());
    if (cancelled_) return outcomes;
    // Lanes: the batch's indexes per ordering key, in batch order.
    std::map<std::string_view, std::vector<size_t>> lanes_by_key;
    for (size_t i = 0; i < batch.size(); ++i) lanes_by_key[batch[i].ordering_key].push_back(i);
    std::vector<std::vector<size_t>> lanes;
    for (auto& [key, lane] : lanes_by_key) lanes.push_back(std::move(lane));
    struct Active {
      size_t lane;
      size_t next;  // index into the lane of the transfer running
      std::unique_ptr<Transfer> transfer;  // on the heap: curl holds pointers into it
    };
    std::map<CURL*, Active> active;
    size_t next_lane = 0;
    auto launch = [&](size_t lane, size_t pos) {
      Active a{lane, pos, std::make_unique<Transfer>()};
      CURL* easy = setUp(batch[lanes[lane][pos]], *a.transfer);
      curl_multi_add_handle(multi_, easy);
      active.emplace(easy, std::move(a));
    };
    while (next_lane < lanes.size() && active.size() < options_.max_parallel) launch(next_lane++, 0);
    int running = 0;
    while (!active.empty()) {
      if (cancelled_) {
        for (auto& [easy, a] : active) {
          curl_multi_remove_handle(multi_, easy);
          curl_easy_cleanup(easy);
          curl_slist_free_all(a.transfer->headers);
        }
        active.clear();
        break;
      }
      curl_multi_perform(multi_, &running);
      int queued = 0;
      while (CURLMsg* msg = curl_multi_info_read(multi_, &queued)) {
        if (msg->msg != CURLMSG_DONE) continue;
        CURL* easy = msg->easy_handle;
        auto it = active.find(easy);
        Active done = std::move(it->second);
        active.erase(it);
        long code = 0;
        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
        const CURLcode result = msg->data.result;
        curl_multi_remove_handle(multi_, easy);
        curl_easy_cleanup(easy);
        curl_slist_free_all(done.transfer->headers);
        DeliveryOutcome& outcome = outcomes[lanes[done.lane][done.next]];
        const bool ok = result == CURLE_OK && code >= 200 && code < 300;
        if (ok) {
          outcome.kind = DeliveryOutcome::Kind::kDelivered;
          if (done.next + 1 < lanes[done.lane].size() && !cancelled_) {
            launch(done.lane, done.next + 1);
            continue;
          }
        } else {
          outcome.kind = DeliveryOutcome::Kind::kFailed;
          outcome.error = result != CURLE_OK ? std::string("transport: ") + curl_easy_strerror(result)
                                             : "HTTP " + std::to_string(code);
        }
        if (next_lane < lanes.size() && !cancelled_) launch(next_lane++, 0);  // this lane is done: the next starts
      }
      if (!active.empty() && !cancelled_) curl_multi_poll(multi_, nullptr, 0, 100, nullptr);
    }
    return outcomes;
  }

 private:
  struct Transfer {
    curl_slist* headers = nullptr;
    size_t response_bytes = 0;
    std::string url;
  };

  CURL* setUp(const Delivery& d, Transfer& t) {
    CURL* easy = curl_easy_init();
    const bool full = options_.payload == RestHookOptions::Payload::kFull;
    t.url = options_.endpoint;
    if (full) {
      if (!t.url.empty() && t.url.back() != '/') t.url += '/';
      t.url += d.event.type + "/" + d.event.id;
    }
    setOutboundTransferOptions(easy, t.url, {options_.allow_plain_http, options_.connect_timeout, options_.timeout});
    if (!options_.ca_file.empty()) curl_easy_setopt(easy, CURLOPT_CAINFO, options_.ca_file.c_str());
    if (!options_.client_cert_file.empty()) {
      curl_easy_setopt(easy, CURLOPT_SSLCERT, options_.client_cert_file.c_str());
      curl_easy_setopt(easy, CURLOPT_SSLKEY, options_.client_key_file.c_str());
    }
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &discardBody);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, &t.response_bytes);
    t.headers = curl_slist_append(t.headers, ("Idempotency-Key: " + d.idempotency_key).c_str());
    t.headers = curl_slist_append(t.headers, "Accept: application/fhir+json");
    t.headers = curl_slist_append(t.headers, "Expect:");  // no 100-continue round trip
    for (const std::string& h : options_.headers) t.headers = curl_slist_append(t.headers, h.c_str());
    if (full && d.event.kind == store::ChangeKind::kDelete) {
      curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, "DELETE");
    } else if (full) {
      t.headers = curl_slist_append(t.headers, "Content-Type: application/fhir+json");
      curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, "PUT");
      const std::string& body = d.resource ? *d.resource : empty_;
      curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body.data());
      curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    } else {
      if (options_.payload == RestHookOptions::Payload::kIdOnly) {
        t.headers = curl_slist_append(t.headers, ("Content-Location: " + d.event.type + "/" + d.event.id +
                                                  "/_history/" + std::to_string(d.event.version))
                                                     .c_str());
      }
      curl_easy_setopt(easy, CURLOPT_POST, 1L);
      curl_easy_setopt(easy, CURLOPT_POSTFIELDS, "");
      curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(0));
    }
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, t.headers);
    return easy;
  }

  const RestHookOptions options_;
  const std::string empty_;
  CURLM* multi_ = nullptr;
  std::atomic<bool> cancelled_{false};
};

}  // namespace

Result<std::shared_ptr<Transport>> makeRestHookTransport(RestHookOptions options) {
  const bool https = options.endpoint.starts_with("https://");
  const bool http = options.endpoint.starts_with("http://");
  if (!https && !(http && options.allow_plain_http)) {
    return invalidArgument("rest-hook endpoint must be an https:// URL (got '" + options.endpoint + "')");
  }
  if (hasLineBreak(options.endpoint) || options.endpoint.find(' ') != std::string::npos) {
    return invalidArgument("rest-hook endpoint contains a space or a line break");
  }
  for (const std::string& h : options.headers) {
    const size_t colon = h.find(':');
    if (colon == std::string::npos || colon == 0 || hasLineBreak(h)) {
      return invalidArgument("rest-hook header must be 'Name: value' on one line");
    }
  }
  if (options.client_cert_file.empty() != options.client_key_file.empty()) {
    return invalidArgument("rest-hook mutual TLS needs both a client certificate and its key");
  }
  if (options.max_parallel < 1) options.max_parallel = 1;
  return std::shared_ptr<Transport>(std::make_shared<RestHookTransport>(std::move(options)));
}

}  // namespace planbro::gateway::dispatch
