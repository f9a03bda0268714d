#include "wal_checkpointer.h"

namespace planbro::gateway::store::internal {

Result<std::unique_ptr<WalCheckpointer>> WalCheckpointer::start(const std::string& path, sqlite3* writer,
                                                                int threshold_frames) {
  sqlite3* own = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &own, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = own ? sqlite3_errmsg(own) : sqlite3_errstr(rc);
    sqlite3_close_v2(own);
    return unavailable("opening " + path + " for checkpoints: " + message);
  }
  // The checkpoint's fsync of the database file follows synchronous=FULL like the writer's.
  (void)sqlite3_exec(own, "PRAGMA synchronous=FULL", nullptr, nullptr, nullptr);
  std::unique_ptr<WalCheckpointer> c(new WalCheckpointer(own, threshold_frames));
  c->thread_ = std::thread([raw = c.get()] { raw->run(); });
  sqlite3_wal_hook(writer, &WalCheckpointer::afterCommit, c.get());
  return c;
}

WalCheckpointer::~WalCheckpointer() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
  sqlite3_close_v2(db_);
}

// Runs on the writer's thread right after a commit, with the WAL's frame count.
int WalCheckpointer::afterCommit(void* self, sqlite3* writer, const char* schema, int frames) {
  auto* c = static_cast<WalCheckpointer*>(self);
  if (frames >= c->threshold_ * kFallbackFactor) {
    // The background checkpoints are not keeping up: do what SQLite's own hook would.
    (void)sqlite3_wal_checkpoint_v2(writer, schema, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    return SQLITE_OK;
  }
  if (frames >= c->threshold_) {
    {
      std::lock_guard lock(c->mutex_);
      c->pending_ = true;
    }
    c->wake_.notify_one();
  }
  return SQLITE_OK;
}

void WalCheckpointer::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [&] { return pending_ || stop_; });
    if (stop_) return;
    pending_ = false;
    lock.unlock();
    // Failure only delays the copy (the next commit past the threshold asks again), so it is not reported.
    (void)sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    lock.lock();
  }
}

}  // namespace planbro::gateway::store::internal
