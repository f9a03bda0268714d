#include "planbro/adapters/plo/plo_adapter.h"

namespace planbro::adapters::plo {

// Wakes the MSH client's backoff waits when the adapter stops, so a shutdown does not sit out a retry schedule.
// Shared with the client (which the dispatch transport may hold a little longer), not tied to the adapter's life.
struct PloAdapter::StopSignal {
  std::mutex mutex;
  std::condition_variable wake;
  bool stopping = false;
};

Result<std::unique_ptr<PloAdapter>> PloAdapter::start(PloAdapterOptions options, gateway::ops::Operations& operations) {
  const std::string dir = options.data_dir.empty() ? defaultPloDataDir() : options.data_dir;
  ASSIGN_OR_RETURN(std::shared_ptr<const Codec> codec, loadCodec(dir, options.codec));
  std::unique_ptr<PloAdapter> adapter(new PloAdapter());
  adapter->options_ = std::move(options);
  if (!adapter->options_.log) adapter->options_.log = [](std::string_view) {};
  if (adapter->options_.tracking) {
    if (adapter->options_.store == nullptr) return invalidArgument("AppRec tracking needs the store");
    AppRecTrackerOptions tracking = *adapter->options_.tracking;
    if (!tracking.log) tracking.log = adapter->options_.log;
    if (!tracking.resend) {
      // Resent as it was sent: the same bytes, so the same MsgId, to the receiver it named. The client is made
      // below; a resend before it exists (none: sweeps start with the polling threads) would be unavailable.
      tracking.resend = [raw = adapter.get()](const OutboundMessage& m) -> Status {
        if (!raw->msh_client_) return unavailable("no message service configured to resend through");
        int64_t her = 0;
        try {
          her = std::stoll(m.receiver_her_id);
        } catch (...) {
          return invalidArgument("the tracked receiver's HER-id is not a number");
        }
        auto sent = raw->msh_client_->postMessage(m.bytes, {her});
        return sent.isOk() ? Status::ok() : sent.status();
      };
    }
    adapter->tracker_ = std::make_unique<AppRecTracker>(operations, *adapter->options_.store, std::move(tracking));
    adapter->options_.inbound.tracker = adapter->tracker_.get();
  }
  adapter->processor_ = std::make_unique<InboundProcessor>(codec, &operations, adapter->options_.inbound);
  if (!adapter->options_.spool.in_dir.empty() || !adapter->options_.msh) {
    ASSIGN_OR_RETURN(FileSpool spool, FileSpool::open(adapter->options_.spool, *adapter->processor_));
    adapter->spool_ = std::make_unique<FileSpool>(std::move(spool));
  }
  if (adapter->options_.msh) {
    PloMshOptions& m = *adapter->options_.msh;
    ASSIGN_OR_RETURN(std::unique_ptr<HelseIdClient> helseid, HelseIdClient::create(m.helseid));
    // The largest answer: a business document of max_message_bytes in base64 (4/3), inside a small JSON envelope.
    m.client.max_response_bytes = (adapter->processor_->maxMessageBytes() + 2) / 3 * 4 + 64 * 1024;
    adapter->msh_stop_ = std::make_shared<StopSignal>();
    if (!m.client.sleep) {
      m.client.sleep = [stop = adapter->msh_stop_](std::chrono::milliseconds d) {
        std::unique_lock<std::mutex> lock(stop->mutex);
        stop->wake.wait_for(lock, d, [&] { return stop->stopping; });
      };
    }
    if (!m.inbound.on_failure) {
      m.inbound.on_failure = [log = adapter->options_.log](const MshMessage& message, const Status& why) {
        log("plo adapter: MSH message " + message.id + " from HER " + std::to_string(message.sender_her_id) +
            " left unread: " + why.message());
      };
    }
    ASSIGN_OR_RETURN(std::unique_ptr<MshClient> client,
                     MshClient::create(m.client, std::shared_ptr<HelseIdClient>(std::move(helseid)), m.allow_plain_http));
    adapter->msh_client_ = std::move(client);
    adapter->msh_inbound_ = std::make_unique<MshInbound>(*adapter->msh_client_, *adapter->processor_, m.inbound);
    adapter->msh_thread_ = std::thread([raw = adapter.get()] { raw->runMsh(); });
  }
  if (adapter->spool_) adapter->thread_ = std::thread([raw = adapter.get()] { raw->run(); });
  return adapter;
}

PloAdapter::~PloAdapter() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  if (msh_stop_) {
    std::lock_guard<std::mutex> lock(msh_stop_->mutex);
    msh_stop_->stopping = true;
    msh_stop_->wake.notify_all();
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (msh_thread_.joinable()) msh_thread_.join();
}

// After every poll: what waits for an AppRec past its time is resent or escalated. A failure is logged and the next
// poll's sweep tries again; the escalation is recorded in the store, so it happens once whichever node sweeps.
void PloAdapter::sweep() {
  if (!tracker_) return;
  Result<SweepStats> swept = tracker_->sweep();
  if (!swept.isOk()) {
    options_.log("plo adapter: AppRec sweep failed: " + swept.status().message());
  } else if (swept->resent + swept->escalated > 0) {
    options_.log("plo adapter: AppRec sweep: " + std::to_string(swept->resent) + " resent, " +
                 std::to_string(swept->escalated) + " escalated");
  }
}

void PloAdapter::runMsh() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    Result<MshPollStats> stats = msh_inbound_->pollOnce();
    if (options_.msh->on_poll) options_.msh->on_poll(stats);
    if (!stats.isOk()) {
      options_.log("plo adapter: MSH poll failed: " + stats.status().message());
    } else if (stats->accepted + stats->rejected + stats->apprecs_received + stats->retry_later +
                   stats->set_aside > 0) {
      options_.log("plo adapter: MSH: " + std::to_string(stats->accepted) + " accepted, " +
                   std::to_string(stats->rejected) + " rejected, " + std::to_string(stats->apprecs_received) +
                   " AppRecs received, " + std::to_string(stats->retry_later) + " left for later, " +
                   std::to_string(stats->set_aside) + " set aside");
    }
    sweep();
    lock.lock();
    wake_.wait_for(lock, options_.msh->poll_interval, [this] { return stopping_; });
  }
}

void PloAdapter::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    Result<SpoolStats> stats = spool_->pollOnce();
    if (!stats.isOk()) {
      options_.log("plo adapter: spool poll failed: " + stats.status().message());
    } else if (stats->accepted + stats->rejected + stats->apprecs_received + stats->retry_later > 0) {
      options_.log("plo adapter: " + std::to_string(stats->accepted) + " accepted, " +
                   std::to_string(stats->rejected) + " rejected, " + std::to_string(stats->apprecs_received) +
                   " AppRecs received, " + std::to_string(stats->retry_later) + " left for later");
    }
    if (!options_.msh) sweep();  // with the message service, its thread sweeps
    lock.lock();
    wake_.wait_for(lock, options_.poll_interval, [this] { return stopping_; });
  }
}

}  // namespace planbro::adapters::plo
