#pragma once
// The file-spool transport, for installations that still run a message agent: the agent drops messages in `in`,
// planbro answers with AppRecs in `out` and moves broken messages (Avvist) to `error` with their AppRec next to them.
//
// Crash safety: a file is claimed by an atomic rename into `work` before it is read; the AppRec is written to a
// temporary name, its data synced (fdatasync) and renamed into place; once every AppRec of the poll's batch is in
// place, `out` (and `error`) are synced once — one directory fsync per batch, not per file — and only then are the
// batch's claimed files removed (or moved to `error`). A file left in
// `work` by a crash is processed again on the next poll — idempotently, as the inbound writes are conditional on
// the message id. All four folders must be on one file system (rename is atomic only there).

#include <cstddef>
#include <string>
#include <vector>

#include "planbro/adapters/plo/inbound.h"
#include "planbro/fhir-model/status.h"

namespace planbro::adapters::plo {

struct SpoolOptions {
  std::string in_dir;     // `adapters.plo.spool.in`
  std::string out_dir;    // `adapters.plo.spool.out`
  std::string error_dir;  // `adapters.plo.spool.error`
  std::string work_dir;   // `adapters.plo.spool.work`: claimed files (default: in_dir + "/.work")
  size_t max_files_per_poll = 100;        // `adapters.plo.spool.max_files_per_poll`
  /** Files processed at once (`adapters.plo.spool.workers`): a message's store transaction waits for its fsync, and
   *  concurrent ones share it (group commit), so throughput grows with this up to the store's limit. */
  size_t workers = 16;
};

struct SpoolStats {
  size_t accepted = 0;   // answered OK (or partly)
  size_t rejected = 0;   // answered Avvist, moved to error
  size_t apprecs_received = 0;  // AppRecs for messages planbro sent (kept in out/received)
  size_t retry_later = 0;  // left in `in` because the gateway could not write (store unavailable)
};

class FileSpool {
 public:
  /** Creates the folders when missing. Errors: a folder cannot be created. */
  static Result<FileSpool> open(SpoolOptions options, const InboundProcessor& processor);

  /** Finishes files a crash left in `work`, then processes up to max_files_per_poll files of `in` (oldest name
   *  first). Stops early, leaving the rest, when the gateway cannot write (the error is returned with the stats). */
  Result<SpoolStats> pollOnce() const;

 private:
  FileSpool(SpoolOptions options, const InboundProcessor& processor) : options_(std::move(options)), processor_(&processor) {}
  /** What becomes of a claimed file once its batch's AppRecs are durable. */
  enum class Finish : char { kNone, kRemove, kToError, kToReceived };
  /** Processes one claimed file, writing its AppRec durably; false when it must wait (gateway unavailable).
   *  `finish` says what to do with the claimed file after the batch (finishBatch). */
  Result<bool> processClaimed(const std::string& name, SpoolStats& stats, Finish& finish) const;
  /** Syncs out (and error) once for the whole batch, then removes or moves the claimed files. */
  Status finishBatch(const std::vector<std::string>& names, const std::vector<Finish>& finishes) const;
  /** Processes claimed files on up to `workers` threads. Files not reached after a "wait" are given back to `in`
   *  when `give_back`, else left in `work`. The first error is returned. */
  Status processAll(const std::vector<std::string>& names, bool give_back, SpoolStats& stats) const;

  SpoolOptions options_;
  const InboundProcessor* processor_;
};

}  // namespace planbro::adapters::plo
