#include "planbro/adapters/plo/file_spool.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <thread>
#include <vector>

namespace planbro::adapters::plo {
namespace {

namespace fs = std::filesystem;

Status ensureDir(const std::string& dir, const char* key) {
  if (dir.empty()) return invalidArgument(std::string("adapters.plo.spool.") + key + " is not set");
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir)) {
    return invalidArgument(std::string("adapters.plo.spool.") + key + ": cannot create " + dir + ": " + ec.message());
  }
  return Status::ok();
}

// Reads at most `limit` + 1 bytes: enough for the codec to see that a file is too large without holding it.
// The file is opened without following a symlink and without blocking, and read only when it is a regular file:
// a FIFO or a link put in its place after the listing neither hangs the spool nor lets it read a file elsewhere.
// A file that is not one, or that the gateway may not read, is kNotFound (the caller sets it aside).
Result<std::string> readBounded(const fs::path& path, size_t limit) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ELOOP) return notFound(path.string() + " is a symbolic link, not a message");
    // A file the gateway may not read stays unreadable at every poll: set aside (kNotFound), not retried, or the
    // spool would stop at it for good (the poll handles `work` first and ends at its first failure).
    if (errno == EACCES || errno == EPERM) return notFound(path.string() + " may not be read by the gateway");
    return unavailable("cannot read " + path.string() + ": " + std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return notFound(path.string() + " is not a regular file");
  }
  // Sized by the file (not by the limit: a 32 MiB buffer per file cost more than the message itself); a file that
  // grows while it is read still stops at limit + 1.
  const size_t expected = static_cast<size_t>(std::min<uintmax_t>(static_cast<uintmax_t>(st.st_size), limit) + 1);
  std::string bytes(expected, '\0');
  size_t got = 0;
  while (got < bytes.size()) {
    const ssize_t n = ::read(fd, bytes.data() + got, bytes.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const std::string reason = std::strerror(errno);
      ::close(fd);
      return unavailable("cannot read " + path.string() + ": " + reason);
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  bytes.resize(got);
  return bytes;
}

// The AppRec's file name: the message's name + ".apprec.xml", unless that (with the temporary name's "." and
// ".tmp") would pass NAME_MAX — then a prefix of the name and a hash of the whole name. The write of an over-long
// name failed, left the message in `work`, and every later poll stopped at it: one file name jammed the spool.
std::string appRecName(const std::string& name) {
  constexpr std::string_view kSuffix = ".apprec.xml";
  constexpr size_t kNameMax = 255;
  constexpr size_t kTempDecoration = 5;  // "." + name + ".tmp" in writeDurably
  if (name.size() + kSuffix.size() + kTempDecoration <= kNameMax) return name + std::string(kSuffix);
  uint64_t hash = 14695981039346656037ULL;  // FNV-1a: the same name always gives the same AppRec name
  for (unsigned char c : name) hash = (hash ^ c) * 1099511628211ULL;
  size_t keep = 160;
  while (keep > 0 && (static_cast<unsigned char>(name[keep]) & 0xC0) == 0x80) --keep;  // not inside a UTF-8 character
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash));
  return name.substr(0, keep) + "-" + hex + std::string(kSuffix);
}

size_t fileSize(const fs::path& path) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  return ec ? 0 : static_cast<size_t>(size);
}

// Writes `bytes` under a temporary name in `dir`, makes the data durable (fdatasync), and renames it to `name`: a
// reader sees all or nothing, and after a power loss the file, once its directory is synced, has its whole content.
// The directory itself is synced once per batch (syncDirectory), not per file.
Status writeDurably(const fs::path& dir, const std::string& name, const std::string& bytes) {
  const fs::path tmp = dir / ("." + name + ".tmp");
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) return unavailable("cannot write " + tmp.string() + ": " + std::strerror(errno));
  size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string reason = std::strerror(errno);
      ::close(fd);
      return unavailable("cannot write " + tmp.string() + ": " + reason);
    }
    written += static_cast<size_t>(n);
  }
  if (::fdatasync(fd) != 0) {
    const std::string reason = std::strerror(errno);
    ::close(fd);
    return unavailable("cannot sync " + tmp.string() + ": " + reason);
  }
  if (::close(fd) != 0) return unavailable("cannot close " + tmp.string() + ": " + std::strerror(errno));
  std::error_code ec;
  fs::rename(tmp, dir / name, ec);
  if (ec) return unavailable("cannot rename " + tmp.string() + ": " + ec.message());
  return Status::ok();
}

// Makes the renames into `dir` durable: one fsync of the directory covers every file the batch put there.
Status syncDirectory(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return unavailable("cannot open " + dir + ": " + std::strerror(errno));
  const int rc = ::fsync(fd);
  const std::string reason = rc != 0 ? std::strerror(errno) : std::string();
  ::close(fd);
  if (rc != 0) return unavailable("cannot sync " + dir + ": " + reason);
  return Status::ok();
}

std::vector<std::string> listFiles(const std::string& dir, size_t limit) {
  std::vector<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.empty() || name.front() == '.') continue;  // the agent's temporary files, our own work folder
    // Regular files only, by the entry itself: a symlink would make the spool read (and answer with) a file
    // anywhere the gateway may read; a FIFO would block the read.
    std::error_code type_ec;
    if (!fs::is_regular_file(it->symlink_status(type_ec))) continue;
    names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  if (names.size() > limit) names.resize(limit);
  return names;
}

}  // namespace

Result<FileSpool> FileSpool::open(SpoolOptions options, const InboundProcessor& processor) {
  if (options.work_dir.empty() && !options.in_dir.empty()) options.work_dir = options.in_dir + "/.work";
  RETURN_IF_ERROR(ensureDir(options.in_dir, "in"));
  RETURN_IF_ERROR(ensureDir(options.out_dir, "out"));
  RETURN_IF_ERROR(ensureDir(options.error_dir, "error"));
  RETURN_IF_ERROR(ensureDir(options.work_dir, "work"));
  RETURN_IF_ERROR(ensureDir(options.out_dir + "/received", "out"));
  return FileSpool(std::move(options), processor);
}

Result<bool> FileSpool::processClaimed(const std::string& name, SpoolStats& stats, Finish& finish) const {
  const fs::path claimed = fs::path(options_.work_dir) / name;
  // A file over the codec's limit is answered without being read whole.
  const size_t limit = processor_->maxMessageBytes();
  Result<std::string> read = readBounded(claimed, limit);
  if (!read.isOk() && read.status().code() == StatusCode::kNotFound) {
    finish = Finish::kToError;  // not a message: set aside, unanswered, so that it blocks nothing
    ++stats.rejected;
    return true;
  }
  if (!read.isOk()) return read.status();
  std::string bytes = std::move(read).value();
  Result<InboundResult> processed =
      bytes.size() > limit ? Result<InboundResult>(processor_->oversized(fileSize(claimed))) : processor_->process(bytes);
  if (!processed.isOk()) return false;  // the gateway cannot write now: the caller gives the file back
  const InboundResult& result = *processed;
  if (!result.apprec) {  // an AppRec for a message we sent: recorded by the processor, the file kept in received
    finish = Finish::kToReceived;
    ++stats.apprecs_received;
    return true;
  }
  const std::string apprec_name = appRecName(name);
  if (result.message.status == AppRecStatus::kRejected) {
    RETURN_IF_ERROR(writeDurably(options_.error_dir, apprec_name, *result.apprec));
    RETURN_IF_ERROR(writeDurably(options_.out_dir, apprec_name, *result.apprec));
    finish = Finish::kToError;
    ++stats.rejected;
    return true;
  }
  RETURN_IF_ERROR(writeDurably(options_.out_dir, apprec_name, *result.apprec));
  finish = Finish::kRemove;
  ++stats.accepted;
  return true;
}

Status FileSpool::finishBatch(const std::vector<std::string>& names, const std::vector<Finish>& finishes) const {
  bool to_error = false;
  bool any = false;
  for (Finish f : finishes) {
    to_error = to_error || f == Finish::kToError;
    any = any || f != Finish::kNone;
  }
  if (!any) return Status::ok();
  // The AppRecs' directory entries are made durable before any claimed file goes: a crash before this point leaves
  // the claimed files in work, to be processed again (idempotently) and answered again.
  RETURN_IF_ERROR(syncDirectory(options_.out_dir));
  if (to_error) RETURN_IF_ERROR(syncDirectory(options_.error_dir));
  Status first;
  for (size_t i = 0; i < names.size(); ++i) {
    const fs::path claimed = fs::path(options_.work_dir) / names[i];
    std::error_code ec;
    switch (finishes[i]) {
      case Finish::kNone: continue;
      case Finish::kRemove: fs::remove(claimed, ec); break;
      case Finish::kToError: fs::rename(claimed, fs::path(options_.error_dir) / names[i], ec); break;
      case Finish::kToReceived: fs::rename(claimed, fs::path(options_.out_dir) / "received" / names[i], ec); break;
    }
    if (ec && first.isOk()) first = unavailable("cannot finish " + claimed.string() + ": " + ec.message());
  }
  return first;
}

Status FileSpool::processAll(const std::vector<std::string>& names, bool give_back, SpoolStats& stats) const {
  enum class State : char { kPending, kDone, kWait, kFailed };
  std::vector<State> states(names.size(), State::kPending);
  std::vector<Finish> finishes(names.size(), Finish::kNone);
  std::atomic<size_t> next{0};
  std::atomic<bool> stop{false};
  std::mutex mutex;
  Status first_error;
  auto work = [&] {
    SpoolStats local;
    for (size_t i = next++; i < names.size() && !stop.load(); i = next++) {
      Finish finish = Finish::kNone;
      Result<bool> done = processClaimed(names[i], local, finish);
      std::lock_guard<std::mutex> lock(mutex);
      if (!done.isOk()) {
        states[i] = State::kFailed;  // left in work: the next poll tries it again
        if (first_error.isOk()) first_error = done.status();
        stop = true;
      } else if (!*done) {
        states[i] = State::kWait;
        stop = true;
      } else {
        states[i] = State::kDone;
        finishes[i] = finish;
      }
    }
    std::lock_guard<std::mutex> lock(mutex);
    stats.accepted += local.accepted;
    stats.rejected += local.rejected;
    stats.apprecs_received += local.apprecs_received;
  };
  const size_t threads = std::max<size_t>(1, std::min(options_.workers, names.size()));
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (std::thread& thread : pool) thread.join();
  if (Status finished = finishBatch(names, finishes); !finished.isOk() && first_error.isOk()) first_error = finished;
  for (size_t i = 0; i < names.size(); ++i) {
    if (states[i] != State::kWait && states[i] != State::kPending) continue;
    ++stats.retry_later;
    if (give_back) {
      std::error_code ec;
      fs::rename(fs::path(options_.work_dir) / names[i], fs::path(options_.in_dir) / names[i], ec);
    }
  }
  return first_error;
}

Result<SpoolStats> FileSpool::pollOnce() const {
  SpoolStats stats;
  // Files a crash left half-processed first: their writes are conditional, so doing them again changes nothing.
  RETURN_IF_ERROR(processAll(listFiles(options_.work_dir, options_.max_files_per_poll), false, stats));
  if (stats.retry_later > 0) return stats;
  std::vector<std::string> claimed;
  for (const std::string& name : listFiles(options_.in_dir, options_.max_files_per_poll)) {
    std::error_code ec;
    fs::rename(fs::path(options_.in_dir) / name, fs::path(options_.work_dir) / name, ec);
    if (!ec) claimed.push_back(name);  // else gone (another poller took it) or not ours to move
  }
  RETURN_IF_ERROR(processAll(claimed, true, stats));
  return stats;
}

}  // namespace planbro::adapters::plo
