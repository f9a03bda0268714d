#pragma once
// A client of Norsk Helsenett's message service REST API, MSH API v2 (../shared/plo/msh-api-v2.json): the
// operations the PLO adapter uses — send a message, list new messages, fetch a business document, send and read
// AppRecs, mark as read. Every call carries `api-version`, `nhn-source-system`, a HelseID DPoP access token and a
// fresh DPoP proof; TLS is verified; every answer is bounded in size; a failure in passing (connect, timeout,
// 429/502/503/504) is tried again with exponential backoff, a bounded number of times. Thread-safe.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "planbro/adapters/plo/helseid_client.h"
#include "planbro/adapters/plo/message.h"
#include "planbro/fhir-model/status.h"

namespace planbro::adapters::plo {

struct MshClientOptions {
  std::string base_url;                 // `adapters.plo.msh.base_url`, e.g. https://api.hn-tjener.prod.melding.nhn.no
  std::string api_version = "2";        // the `api-version` header
  std::string source_system = "planbro";  // the `nhn-source-system` header
  std::string ca_file;                  // empty: the system trust store
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds timeout{30000};
  /** The largest answer read (a business document is base64 in JSON: 4/3 of the message plus a little). */
  size_t max_response_bytes = 48ull << 20;
  uint32_t max_attempts = 4;            // tries of one call, the first included
  std::chrono::milliseconds backoff_initial{500};
  std::chrono::milliseconds backoff_max{10000};
  /** Waits between tries (default: sleeps). Tests pass one that only counts. */
  std::function<void(std::chrono::milliseconds)> sleep;
};

/** One entry of GET /Messages (IncludeMetadata=true). */
struct MshMessage {
  std::string id;  // the message service's id (a UUID), for the /Messages/{id}/... calls
  int64_t receiver_her_id = 0;
  int64_t sender_her_id = 0;
  std::string business_document_id;  // the MsgId
  bool is_apprec = false;
};

/** GET /Messages/{id}/apprec: the AppRec one receiver sent for a message we sent. */
struct MshAppRecInfo {
  int64_t receiver_her_id = 0;
  std::optional<AppRecStatus> status;  // none: not received yet
  std::vector<AppRecError> errors;
};

class MshClient {
 public:
  /** Errors: kInvalidArgument (no base_url, or not https:// when `allow_plain_http` is false). */
  static Result<std::unique_ptr<MshClient>> create(MshClientOptions options, std::shared_ptr<HelseIdClient> helseid,
                                                   bool allow_plain_http = false);

  /** POST /Messages: the MsgHead XML (base64) to the receivers it names; returns the message service's id. */
  Result<std::string> postMessage(const std::string& xml, const std::vector<int64_t>& receiver_her_ids = {});
  /** GET /Messages?ReceiverHerIds=…&IncludeMetadata=true&MessagesToFetch=…: unread messages, oldest first. */
  Result<std::vector<MshMessage>> unreadMessages(int64_t receiver_her_id, uint32_t max_messages);
  /** GET /Messages/{id}/business-document, base64-decoded. kResourceExhausted when over max_response_bytes. */
  Result<std::string> businessDocument(const std::string& id);
  /** POST /Messages/{id}/apprec/{sender}: the AppRec for a received message (the service builds the XML). */
  Result<std::string> postAppRec(const std::string& id, int64_t apprec_sender_her_id, AppRecStatus status,
                                 const std::vector<AppRecError>& errors);
  /** GET /Messages/{id}/apprec. */
  Result<std::vector<MshAppRecInfo>> appRecInfo(const std::string& id);
  /** PUT /Messages/{id}/read/{herId}. */
  Status markRead(const std::string& id, int64_t her_id);

  /** Calls made (tries included), for tests and metrics. */
  uint64_t attempts() const { return attempts_.load(); }

 private:
  struct Answer {
    long status = 0;
    std::string body;
  };
  MshClient() = default;
  /** One call with auth, nonce handling and the bounded retries; an HTTP status outside `ok` is an error. */
  Result<Answer> call(const std::string& method, const std::string& path, const std::string& body, long ok_status);

  MshClientOptions options_;
  std::shared_ptr<HelseIdClient> helseid_;
  std::mutex nonce_mutex_;
  std::string nonce_;  // the API's last DPoP-Nonce
  std::atomic<uint64_t> attempts_{0};
};

/** "Ok", "Rejected", "OkErrorInMessagePart" (the API's AppRecStatus) and back. */
std::string mshAppRecStatus(AppRecStatus status);
std::optional<AppRecStatus> parseMshAppRecStatus(std::string_view text);

}  // namespace planbro::adapters::plo
