#pragma once
// The running PLO adapter inside `planbro serve`: the codec loaded once, the inbound processor over the gateway's
// operations layer, and a thread polling the file spool. Started by the serve setup when adapters.plo.enabled.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "planbro/adapters/plo/file_spool.h"
#include "planbro/adapters/plo/inbound.h"

namespace planbro::adapters::plo {

struct PloAdapterOptions {
  std::string data_dir;  // empty: defaultPloDataDir()
  CodecOptions codec;
  InboundOptions inbound;
  SpoolOptions spool;
  std::chrono::milliseconds poll_interval{1000};
  /** Where the adapter reports each poll that did something and each failure (one line; never message content). */
  std::function<void(std::string_view line)> log;
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

 private:
  PloAdapter() = default;
  void run();

  PloAdapterOptions options_;
  std::unique_ptr<InboundProcessor> processor_;
  std::unique_ptr<FileSpool> spool_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace planbro::adapters::plo
