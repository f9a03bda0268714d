#include "planbro/gateway/http/logging.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <mutex>
#include <thread>
#include <vector>

#include "planbro/fhir-model/json.h"

namespace planbro::gateway::http {
namespace {

// %j: the message as a JSON string body (escaped, without quotes), so free-text application messages stay valid
// JSON lines.
class JsonEscapedMessage : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    std::string quoted;
    fhir::writeJsonString(std::string_view(msg.payload.data(), msg.payload.size()), quoted);
    dest.append(quoted.data() + 1, quoted.data() + quoted.size() - 1);
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<JsonEscapedMessage>(); }
};

// Whole lines collected in memory and written to standard error in batches by a thread of the sink's own: a batch
// goes when kFlushBytes have gathered, on flush() (every kAccessFlushInterval, see configureLogging, and at exit)
// and when the sink is destroyed. The access log has a line per request: written one by one, each cost a write()
// under a lock that the I/O threads contended for, a tenth of a cached read's time in the load benchmark; and a
// write() on an I/O thread can stall for the disk's writeback, which every connection of that loop would wait for.
// A line waits at most kAccessFlushInterval. Should the writer fall kMaxQueuedBytes behind, the logging thread
// writes its batch itself (lines are never dropped for speed).
//
// `json_lines`: each message is written as a JSON object of its own, {"ts":…,"level":…,"logger":…,<payload>}, the
// same bytes as the JSON access pattern in makeLogger, without spdlog's pattern formatter (whose timestamp
// formatting was most of the access log's cost per request). The payload must be a sequence of JSON members.
class BufferedStderrSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit BufferedStderrSink(bool json_lines) : json_lines_(json_lines), writer_([this] { writeBatches(); }) {}
  ~BufferedStderrSink() override {
    {
      std::lock_guard lock(mutex_);
      handOff();
    }
    {
      std::lock_guard lock(queue_mutex_);
      stop_ = true;
    }
    queue_changed_.notify_all();
    writer_.join();
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    if (json_lines_) {
      appendJsonLine(msg);
    } else {
      spdlog::memory_buf_t formatted;
      formatter_->format(msg, formatted);
      buffer_.append(formatted.data(), formatted.size());
    }
    if (buffer_.size() >= kFlushBytes) handOff();
  }
  // Hands the collected lines to the writer thread without waiting (spdlog calls it with the sink's mutex held,
  // which the logging threads wait for); waitWritten() waits.
  void flush_() override { handOff(); }

 public:
  /** Waits until every batch handed off so far is written (for exit: call after flush()). */
  void waitWritten() {
    std::unique_lock lock(queue_mutex_);
    queue_changed_.wait(lock, [&] { return queue_.empty() && !writing_; });
  }

 protected:

 private:
  static constexpr size_t kFlushBytes = 64 * 1024;

  void appendJsonLine(const spdlog::details::log_msg& msg) {
    const auto micros =
        std::chrono::duration_cast<std::chrono::microseconds>(msg.time.time_since_epoch()).count();
    int64_t secs = micros / 1000000;
    int64_t frac = micros % 1000000;
    if (frac < 0) {
      frac += 1000000;
      --secs;
    }
    if (secs != cached_second_) {  // "YYYY-MM-DDThh:mm:ss", once per second
      cached_second_ = secs;
      std::time_t t = static_cast<std::time_t>(secs);
      std::tm tm{};
      gmtime_r(&t, &tm);
      char buf[32];
      std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
      second_text_ = buf;
    }
    buffer_ += R"({"ts":")";
    buffer_ += second_text_;
    buffer_ += '.';
    char digits[6];
    for (int i = 5; i >= 0; --i) {
      digits[i] = static_cast<char>('0' + frac % 10);
      frac /= 10;
    }
    buffer_.append(digits, 6);
    buffer_ += R"(Z","level":")";
    const auto level = spdlog::level::to_string_view(msg.level);
    buffer_.append(level.data(), level.size());
    buffer_ += R"(","logger":")";
    buffer_.append(msg.logger_name.data(), msg.logger_name.size());  // our own logger names: nothing to escape
    buffer_ += R"(",)";
    buffer_.append(msg.payload.data(), msg.payload.size());
    buffer_ += "}\n";
  }

  static constexpr size_t kMaxQueuedBytes = 16 << 20;

  // With the sink's mutex held: the collected lines go to the writer thread.
  void handOff() {
    if (buffer_.empty()) return;
    std::unique_lock lock(queue_mutex_);
    if (queued_bytes_ + buffer_.size() > kMaxQueuedBytes) {
      lock.unlock();
      writeAll(buffer_);  // the writer is behind: this thread pays, so memory stays bounded
      buffer_.clear();
      return;
    }
    queued_bytes_ += buffer_.size();
    queue_.push_back(std::move(buffer_));
    buffer_ = std::string();
    buffer_.reserve(kFlushBytes + 1024);
    lock.unlock();
    queue_changed_.notify_all();
  }

  void writeBatches() {
    std::unique_lock lock(queue_mutex_);
    for (;;) {
      queue_changed_.wait(lock, [&] { return !queue_.empty() || stop_; });
      if (queue_.empty()) return;  // stopping, everything written
      std::vector<std::string> batches;
      batches.swap(queue_);
      queued_bytes_ = 0;
      writing_ = true;
      lock.unlock();
      for (const std::string& b : batches) writeAll(b);
      lock.lock();
      writing_ = false;
      queue_changed_.notify_all();
    }
  }

  static void writeAll(const std::string& bytes) {
    size_t done = 0;
    while (done < bytes.size()) {
      ssize_t n = ::write(STDERR_FILENO, bytes.data() + done, bytes.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // stderr closed or full: the lines are dropped, the server goes on
      done += static_cast<size_t>(n);
    }
  }

  const bool json_lines_;
  std::string buffer_;  // guarded by the sink's mutex_
  std::mutex queue_mutex_;
  std::condition_variable queue_changed_;
  std::vector<std::string> queue_;  // batches for the writer thread
  size_t queued_bytes_ = 0;
  bool writing_ = false;
  bool stop_ = false;
  std::thread writer_;  // last: started once the members above exist
  int64_t cached_second_ = -1;
  std::string second_text_;
};

constexpr std::chrono::seconds kAccessFlushInterval{1};

}  // namespace

std::shared_ptr<spdlog::logger> makeLogger(const std::string& name, std::shared_ptr<spdlog::sinks::sink> sink,
                                           const config::LoggingConfig& config, bool access) {
  auto logger = std::make_shared<spdlog::logger>(name, std::move(sink));
  auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  if (config.format == config::LogFormat::kJson) {
    formatter->add_flag<JsonEscapedMessage>('j');
    // The access logger's payload is already a sequence of JSON members, built by the server.
    formatter->set_pattern(access ? R"({"ts":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","logger":"%n",%v})"
                                  : R"({"ts":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","logger":"%n","msg":"%j"})");
  } else {
    formatter->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ [%n] %l: %v");
  }
  logger->set_formatter(std::move(formatter));
  logger->set_level(spdlog::level::from_str(config.level));
  return logger;
}

void configureLogging(const config::LoggingConfig& config) {
  // One sink per logger: spdlog keeps the formatter on the sink, and the two loggers format differently.
  // Both write whole lines to standard error: the application logger line by line, the access logger in batches
  // (BufferedStderrSink); a write() of whole lines keeps every line intact.
  auto app = makeLogger("planbro", std::make_shared<spdlog::sinks::stderr_sink_mt>(), config, false);
  spdlog::drop("planbro");
  spdlog::register_logger(app);
  spdlog::drop("access");
  if (config.access_log) {
    auto access = makeLogger("access", std::make_shared<BufferedStderrSink>(config.format == config::LogFormat::kJson),
                             config, true);
    access->flush_on(spdlog::level::warn);
    spdlog::register_logger(access);
    // spdlog's one flusher thread flushes every registered logger at this interval.
    spdlog::flush_every(kAccessFlushInterval);
  }
}

void flushLogs() {
  if (auto access = spdlog::get("access")) {
    access->flush();
    for (const auto& sink : access->sinks()) {
      if (auto* buffered = dynamic_cast<BufferedStderrSink*>(sink.get())) buffered->waitWritten();
    }
  }
  if (auto app = spdlog::get("planbro")) app->flush();
}

std::shared_ptr<spdlog::logger> appLogger() {
  auto logger = spdlog::get("planbro");
  if (!logger) {
    configureLogging(config::LoggingConfig{});
    logger = spdlog::get("planbro");
  }
  return logger;
}

namespace {

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// One round of percent-decoding; `changed` tells whether anything was decoded. The text between escapes is copied
// in runs: every access-log line masks three fields, most without any '%'.
std::string percentDecodeOnce(std::string_view in, bool& changed) {
  std::string out;
  out.reserve(in.size());
  changed = false;
  size_t i = 0;
  while (i < in.size()) {
    const size_t pct = in.find('%', i);
    if (pct == std::string_view::npos) {
      out.append(in.substr(i));
      break;
    }
    out.append(in.substr(i, pct - i));
    i = pct;
    if (i + 2 < in.size()) {
      int hi = hexValue(in[i + 1]);
      int lo = hexValue(in[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 3;
        changed = true;
        continue;
      }
    }
    out += '%';
    ++i;
  }
  return out;
}

bool isDigit(char c) { return c >= '0' && c <= '9'; }

void maskRange(std::string& s, size_t from, size_t to) {
  std::fill(s.begin() + static_cast<std::ptrdiff_t>(from), s.begin() + static_cast<std::ptrdiff_t>(to), '*');
}

}  // namespace

std::string maskForLog(std::string_view text, size_t max_bytes) {
  // Decoded until nothing changes (a few rounds at most: each one shortens the text), so neither `%35` nor a
  // doubly encoded `%2535` hides a digit from the masking below.
  std::string out(text);
  for (int round = 0; round < 4 && out.find('%') != std::string::npos; ++round) {
    bool changed = false;
    out = percentDecodeOnce(out, changed);
    if (!changed) break;
  }
  // Runs of exactly 11 digits (fødselsnummer, D-nummer, H-nummer), and the written form with one separator after
  // the birth date ("DDMMYY NNNNN", "DDMMYY-NNNNN"). In the same pass, control bytes and bytes outside ASCII
  // (possibly half a UTF-8 sequence after decoding or cutting) become '?', so a logged field is always one
  // printable line; the separators a masked number spans are printable, so one pass sees every byte once.
  size_t i = 0;
  while (i < out.size()) {
    if (!isDigit(out[i])) {
      const auto u = static_cast<unsigned char>(out[i]);
      if (u < 0x20 || u >= 0x7f) out[i] = '?';
      ++i;
      continue;
    }
    size_t j = i;
    while (j < out.size() && isDigit(out[j])) ++j;
    if (j - i == 11) {
      maskRange(out, i, j);
    } else if (j - i == 6 && j + 6 <= out.size() && (out[j] == ' ' || out[j] == '-' || out[j] == '.')) {
      size_t k = j + 1;
      while (k < out.size() && isDigit(out[k])) ++k;
      if (k - (j + 1) == 5) {
        maskRange(out, i, j);
        maskRange(out, j + 1, k);
        j = k;
      }
    }
    i = j;
  }
  // Cut last: a number across the cut has been masked whole already.
  if (out.size() > max_bytes) out.resize(max_bytes);
  return out;
}

std::string maskPathForLog(std::string_view target) {
  constexpr size_t kMaxLogged = 256;
  return maskForLog(target.substr(0, target.find('?')), kMaxLogged);
}

}  // namespace planbro::gateway::http
