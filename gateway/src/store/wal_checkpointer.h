#pragma once

#include <sqlite3.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "planbro/fhir-model/status.h"

namespace planbro::gateway::store::internal {

/**
 * Copies the SQLite WAL back into the database file on a thread and connection of its own, so that the writer never
 * does it inside its turn. SQLite's automatic checkpoint runs in the commit that crosses the threshold: tens of
 * milliseconds during which every other write waits for that turn (docs/performance.md).
 *
 * start() replaces the writer connection's WAL hook (and with it wal_autocheckpoint): after each commit the hook
 * wakes this thread once the WAL holds `threshold_frames` frames, and the thread runs a PASSIVE checkpoint, which
 * waits for neither readers nor writers. Should the WAL still grow past kFallbackFactor × the threshold (readers
 * holding old snapshots, or a checkpoint that cannot keep up), the hook checkpoints in the commit, as SQLite would,
 * so the WAL stays bounded.
 *
 * Destroy it only after the writer connection is closed (or idle for good): the hook points at it.
 */
class WalCheckpointer {
 public:
  static constexpr int kFallbackFactor = 8;

  static Result<std::unique_ptr<WalCheckpointer>> start(const std::string& path, sqlite3* writer, int threshold_frames);
  ~WalCheckpointer();
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;

 private:
  WalCheckpointer(sqlite3* own, int threshold_frames) : db_(own), threshold_(threshold_frames) {}
  static int afterCommit(void* self, sqlite3* writer, const char* schema, int frames);
  void run();

  sqlite3* db_;  // this thread's connection
  const int threshold_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool pending_ = false;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace planbro::gateway::store::internal
