#pragma once
// A real HTTP/1.1 receiver on 127.0.0.1:0 for the dispatcher tests: it records every request and answers with the
// status the test sets (per path prefix, or for all). It also plays an idempotent consumer: `effects()` counts each
// Idempotency-Key once, whatever the retries.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace planbro::gateway::dispatch::testing {

struct ReceivedRequest {
  std::string method;
  std::string path;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  int answered = 0;
};

class TestReceiver {
 public:
  TestReceiver() {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(listen_fd_, 64);
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { acceptLoop(); });
  }
  ~TestReceiver() {
    stopping_ = true;
    ::shutdown(listen_fd_, SHUT_RDWR);
    acceptor_.join();
    for (std::thread& t : connections_) t.join();
    ::close(listen_fd_);
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  /** The status every request gets (default 200), or the status for paths starting with `prefix`. */
  void answer(int status) { status_ = status; }
  void answerFor(const std::string& prefix, int status) {
    std::lock_guard lock(mutex_);
    per_prefix_[prefix] = status;
  }

  /** While held, requests are recorded (answered 0) and left unanswered: a receiver that hangs. hold(false)
   *  answers them. */
  void hold(bool on) {
    {
      std::lock_guard lock(mutex_);
      holding_ = on;
    }
  }
  /** Waits until `n` requests arrived, answered or not, or `limit` passed (a guard against a hang). */
  bool waitForRequests(size_t n, std::chrono::seconds limit = std::chrono::seconds(60)) {
    std::unique_lock lock(mutex_);
    return arrived_.wait_for(lock, limit, [&] { return requests_.size() >= n; });
  }
  /** Held requests whose client closed the connection before an answer (it gave up on them). */
  int abandoned() const { return abandoned_; }

  std::vector<ReceivedRequest> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  /** Waits until `n` requests were answered 2xx or `limit` passed (a guard against a hang, not a pacing sleep). */
  bool waitForAccepted(size_t n, std::chrono::seconds limit = std::chrono::seconds(60)) {
    std::unique_lock lock(mutex_);
    return arrived_.wait_for(lock, limit, [&] { return accepted_count_ >= n; });
  }
  /** How many requests were answered 2xx: a count, without copying them (a bench asks it while deliveries run). */
  size_t acceptedCount() const {
    std::lock_guard lock(mutex_);
    return accepted_count_;
  }

  /** Requests answered 2xx, in arrival order. */
  std::vector<ReceivedRequest> accepted() const {
    std::lock_guard lock(mutex_);
    std::vector<ReceivedRequest> out;
    for (const auto& r : requests_) {
      if (r.answered >= 200 && r.answered < 300) out.push_back(r);
    }
    return out;
  }
  /** Accepted requests counted once per Idempotency-Key: what an idempotent consumer applied, in order. */
  std::vector<ReceivedRequest> effects() const {
    std::set<std::string> seen;
    std::vector<ReceivedRequest> out;
    for (auto& r : accepted()) {
      if (seen.insert(r.headers["idempotency-key"]).second) out.push_back(r);
    }
    return out;
  }

 private:
  void acceptLoop() {
    while (!stopping_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      std::lock_guard lock(mutex_);
      connections_.emplace_back([this, fd] { serve(fd); });
    }
  }

  // One connection: requests one after another (keep-alive) until the peer closes or the receiver stops.
  void serve(int fd) {
    std::string buffer;
    char chunk[16384];
    for (int idle_polls = 0; !stopping_ && idle_polls < 600;) {
      size_t header_end = buffer.find("\r\n\r\n");
      if (header_end == std::string::npos) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 100) <= 0) {
          ++idle_polls;
          continue;
        }
        const ssize_t n = ::read(fd, chunk, sizeof chunk);
        if (n <= 0) break;
        buffer.append(chunk, static_cast<size_t>(n));
        idle_polls = 0;
        continue;
      }
      ReceivedRequest r;
      const std::string head = buffer.substr(0, header_end);
      size_t line_end = head.find("\r\n");
      const std::string request_line = head.substr(0, line_end);
      const size_t sp1 = request_line.find(' ');
      const size_t sp2 = request_line.find(' ', sp1 + 1);
      r.method = request_line.substr(0, sp1);
      r.path = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
      size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
      while (pos < head.size()) {
        size_t end = head.find("\r\n", pos);
        if (end == std::string::npos) end = head.size();
        const std::string line = head.substr(pos, end - pos);
        const size_t colon = line.find(':');
        if (colon != std::string::npos) {
          std::string name = line.substr(0, colon);
          for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
          size_t v = colon + 1;
          while (v < line.size() && line[v] == ' ') ++v;
          r.headers[name] = line.substr(v);
        }
        pos = end + 2;
      }
      const size_t length = r.headers.count("content-length") ? std::stoul(r.headers["content-length"]) : 0;
      while (buffer.size() < header_end + 4 + length && !stopping_) {
        const ssize_t n = ::read(fd, chunk, sizeof chunk);
        if (n <= 0) {
          ::close(fd);
          return;
        }
        buffer.append(chunk, static_cast<size_t>(n));
      }
      r.body = buffer.substr(header_end + 4, length);
      buffer.erase(0, header_end + 4 + length);
      int status = status_;
      {
        std::unique_lock lock(mutex_);
        for (const auto& [prefix, s] : per_prefix_) {
          if (r.path.starts_with(prefix)) status = s;
        }
        r.answered = holding_ ? 0 : status;
        if (!holding_ && status >= 200 && status < 300) ++accepted_count_;
        requests_.push_back(r);
        const size_t index = requests_.size() - 1;
        if (holding_) {
          arrived_.notify_all();
          // Held: no answer until released; a client that closes meanwhile gave up on it.
          while (holding_ && !stopping_) {
            lock.unlock();
            pollfd p{fd, POLLIN, 0};
            char probe;
            const bool closed = ::poll(&p, 1, 20) > 0 && ::recv(fd, &probe, 1, MSG_PEEK) <= 0;
            lock.lock();
            if (closed) {
              ++abandoned_;
              lock.unlock();
              ::close(fd);
              return;
            }
          }
          requests_[index].answered = status;
          if (status >= 200 && status < 300) ++accepted_count_;
        }
      }
      arrived_.notify_all();
      const std::string response = "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Length: 0\r\n\r\n";
      if (::write(fd, response.data(), response.size()) < 0) break;
    }
    ::close(fd);
  }

  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  bool holding_ = false;        // under mutex_
  size_t accepted_count_ = 0;  // under mutex_: requests answered 2xx
  std::atomic<int> abandoned_{0};
  std::atomic<int> status_{200};
  mutable std::mutex mutex_;
  std::condition_variable arrived_;
  std::map<std::string, int> per_prefix_;
  std::vector<ReceivedRequest> requests_;
  std::thread acceptor_;
  std::vector<std::thread> connections_;
};

}  // namespace planbro::gateway::dispatch::testing
