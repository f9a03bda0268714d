#pragma once
// A loopback Norsk Helsenett message service for tests: the MSH API v2 operations the PLO adapter uses
// (../shared/plo/msh-api-v2.json: POST/GET /Messages, GET /Messages/{id}/business-document, POST and GET
// /Messages/{id}/apprec, PUT /Messages/{id}/read/{herId}), with an in-memory mailbox per HER-id, and a HelseID-like
// token endpoint (POST /connect/token) that checks the `private_key_jwt` client assertion against the registered
// client's public JWK and binds the token to the DPoP key of the request. Every API call must carry that token and a
// fresh DPoP proof (checked with the gateway's own DpopVerifier), the `api-version` and `nhn-source-system` headers,
// and (once asked for) the server's DPoP nonce. Real HTTP on 127.0.0.1:0 through the gateway's http::Server.
//
// As the real service does, it reads the MsgHead of a posted message to route it (the receiver's HER-id) and builds
// the AppRec XML itself when a receiver answers (the codec's encoder), delivering it to the sender's mailbox.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "planbro/adapters/plo/codec.h"
#include "planbro/fhir-model/status.h"

namespace planbro::adapters::plo::testing {

struct MshLoopbackOptions {
  int64_t token_lifetime_s = 300;
  bool require_dpop_nonce = true;  // the first token request and the first API call are answered use_dpop_nonce
  /** HTTPS when both are set (PEM files); baseUrl() is then https://127.0.0.1:<port>. */
  std::string tls_certificate_file;
  std::string tls_private_key_file;
};

/** One message as the loopback holds it, for a test to look at. */
struct LoopbackMessage {
  std::string id;
  int64_t sender_her_id = 0;
  int64_t receiver_her_id = 0;
  std::string document;  // the business document (XML)
  std::string msg_id;    // its MsgId
  bool is_apprec = false;
  bool read = false;
  std::optional<std::string> apprec_status;  // "Ok", "Rejected", "OkErrorInMessagePart" once the receiver answered
};

class MshLoopback {
 public:
  explicit MshLoopback(std::shared_ptr<const Codec> codec, MshLoopbackOptions options = {});
  ~MshLoopback();
  MshLoopback(const MshLoopback&) = delete;
  MshLoopback& operator=(const MshLoopback&) = delete;

  /** Listens on 127.0.0.1:0. */
  Status start();
  void stop();
  std::string baseUrl() const;        // http://127.0.0.1:<port>
  std::string tokenEndpoint() const;  // baseUrl() + "/connect/token"

  /** A HelseID client: its public JWK (JSON text) and the HER-ids whose mailboxes it may use. */
  void registerClient(const std::string& client_id, const std::string& public_jwk, std::vector<int64_t> her_ids);

  /** The next `count` API calls (not the token endpoint) are answered `status` without being processed. */
  void failNext(size_t count, int status = 503);
  /** The next `count` API calls of `method` whose path contains `path_part` are answered `status`. */
  void failNextMatching(const std::string& method, const std::string& path_part, size_t count, int status = 503);
  /** Every `method` call on message `message_id` (/Messages/{id}/…) is answered `status`, for as long as the loopback
   *  lives: a message that always fails. */
  void poison(const std::string& message_id, const std::string& method, int status);
  /** Forgets every access token issued (as the service does after a restart). */
  void forgetTokens();
  /** Puts a document into a mailbox as it arrived, without reading it (hostile or oversized bytes). */
  std::string deliverRaw(int64_t sender_her_id, int64_t receiver_her_id, std::string document);

  /** Every message to `her_id`, read or not, in arrival order. */
  std::vector<LoopbackMessage> mailbox(int64_t her_id) const;
  size_t unread(int64_t her_id) const;
  /** Waits until `done` holds for the mailbox of `her_id` (checked after every call the loopback answers), at most
   *  `timeout`; false when it did not. */
  bool waitForMailbox(int64_t her_id, const std::function<bool(const std::vector<LoopbackMessage>&)>& done,
                      std::chrono::milliseconds timeout) const;
  uint64_t tokensIssued() const;
  uint64_t apiCalls() const;  // answered API calls, refusals included
  /** Waits until at least `count` API calls were answered, at most `timeout`. */
  bool waitForApiCalls(uint64_t count, std::chrono::milliseconds timeout) const;
  /** Reasons the loopback refused calls (a failed check), most recent last; for test failure messages. */
  std::vector<std::string> refusals() const;

  class Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

/** A fresh EC P-256 private JWK (JSON text) made by libjose, and its public part. */
struct TestJwk {
  std::string private_jwk;
  std::string public_jwk;
};
TestJwk makeTestJwk();

/** A fresh P-256 key and a self-signed certificate for 127.0.0.1 (SAN IP), as PEM files in `dir`. */
struct TestTlsFiles {
  std::string certificate_file;
  std::string private_key_file;
};
TestTlsFiles makeLoopbackTls(const std::string& dir);

/** Writes `text` to a new file with mode 0600 (what HelseIdClient requires of a key file). */
void writePrivateFile(const std::string& path, const std::string& text);

}  // namespace planbro::adapters::plo::testing
