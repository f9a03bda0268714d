#include "planbro/adapters/plo/plo_adapter.h"

namespace planbro::adapters::plo {

Result<std::unique_ptr<PloAdapter>> PloAdapter::start(PloAdapterOptions options, gateway::ops::Operations& operations) {
  const std::string dir = options.data_dir.empty() ? defaultPloDataDir() : options.data_dir;
  ASSIGN_OR_RETURN(std::shared_ptr<const Codec> codec, loadCodec(dir, options.codec));
  std::unique_ptr<PloAdapter> adapter(new PloAdapter());
  adapter->options_ = std::move(options);
  if (!adapter->options_.log) adapter->options_.log = [](std::string_view) {};
  adapter->processor_ = std::make_unique<InboundProcessor>(codec, &operations, adapter->options_.inbound);
  ASSIGN_OR_RETURN(FileSpool spool, FileSpool::open(adapter->options_.spool, *adapter->processor_));
  adapter->spool_ = std::make_unique<FileSpool>(std::move(spool));
  adapter->thread_ = std::thread([raw = adapter.get()] { raw->run(); });
  return adapter;
}

PloAdapter::~PloAdapter() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
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
    lock.lock();
    wake_.wait_for(lock, options_.poll_interval, [this] { return stopping_; });
  }
}

}  // namespace planbro::adapters::plo
