#pragma once
// The running PLO adapter inside `planbro serve`: the codec loaded once, the inbound processor over the gateway's
// operations layer, and a thread polling the file spool; with the message service configured (adapters.plo.msh), a
// second thread polling this node's MSH mailbox, and the MSH client the `plo` dispatch transport sends through.
// Started by the serve setup when adapters.plo.enabled.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "planbro/adapters/plo/apprec_tracker.h"
#include "planbro/adapters/plo/file_spool.h"
#include "planbro/adapters/plo/inbound.h"
#include "planbro/adapters/plo/msh_inbound.h"

namespace planbro::adapters::plo {

/** The MSH transport (adapters.plo.msh). */
struct PloMshOptions {
  HelseIdOptions helseid;
  MshClientOptions client;
  MshInboundOptions inbound;
  bool allow_plain_http = false;
  std::chrono::milliseconds poll_interval{5000};
  /** After every poll of the mailbox: its counts, or why the list could not be read (for metrics). Optional. */
  std::function<void(const Result<MshPollStats>& poll)> on_poll;
};

struct PloAdapterOptions {
  std::string data_dir;  // empty: defaultPloDataDir()
  CodecOptions codec;
  InboundOptions inbound;
  SpoolOptions spool;  // in_dir empty: no spool (only with msh)
  std::chrono::milliseconds poll_interval{1000};
  std::optional<PloMshOptions> msh;
  /** Where the adapter reports each poll that did something and each failure (one line; never message content). */
  std::function<void(std::string_view line)> log;
  /** AppRec tracking of the messages planbro sends (apprec_tracker.h), with `store` the store the operations write
   *  to. The adapter owns the tracker: inbound AppRecs (MSH or spool) are matched to it, and every poll is followed
   *  by a sweep that resends or escalates what is overdue. Without `resend`, resends go through the MSH client. */
  std::optional<AppRecTrackerOptions> tracking;
  gateway::store::ResourceStore* store = nullptr;
};

class PloAdapter {
 public:
  /** Loads the codec, opens the spool folders and starts polling. `operations` must outlive the adapter. */
  static Result<std::unique_ptr<PloAdapter>> start(PloAdapterOptions options, gateway::ops::Operations& operations);
  /** Stops the polling thread (a poll in progress finishes first). */
  ~PloAdapter();
  PloAdapter(const PloAdapter&) = delete;
  PloAdapter& operator=(const PloAdapter&) = delete;

  static constexpr std::string_view kName = "plo";

  /** The MSH client (shared with the `plo` dispatch transport), or null without adapters.plo.msh. */
  std::shared_ptr<MshClient> mshClient() const { return msh_client_; }
  /** The AppRec tracker (the `plo` dispatch transport records what it sends here), or null without tracking. */
  AppRecTracker* tracker() const { return tracker_.get(); }

 private:
  PloAdapter() = default;
  void run();
  void runMsh();
  void sweep();

  PloAdapterOptions options_;
  std::unique_ptr<AppRecTracker> tracker_;
  std::unique_ptr<InboundProcessor> processor_;
  std::unique_ptr<FileSpool> spool_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
  std::shared_ptr<MshClient> msh_client_;
  std::unique_ptr<MshInbound> msh_inbound_;
  std::thread msh_thread_;
  struct StopSignal;
  std::shared_ptr<StopSignal> msh_stop_;
};

}  // namespace planbro::adapters::plo
