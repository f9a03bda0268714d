#pragma once
// A small Beast HTTP client for the server tests: real sockets on loopback, every wait bounded by a generous
// deadline (kDeadline) so a broken server fails the test instead of hanging it. No timing is asserted.

#include <zlib.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <chrono>
#include <future>
#include <optional>
#include <string>
#include <thread>

namespace planbro::gateway::http::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

inline constexpr std::chrono::seconds kDeadline{20};

using TestResponse = bhttp::response<bhttp::string_body>;

class TestClient {
 public:
  explicit TestClient(uint16_t port) : work_(ioc_.get_executor()), socket_(ioc_) {
    runner_ = std::thread([this] { ioc_.run(); });
    beast::error_code ec;
    socket_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
    connected_ = !ec;
  }
  ~TestClient() {
    beast::error_code ec;
    asio::post(ioc_, [this] {
      beast::error_code ignored;
      socket_.close(ignored);
    });
    work_.reset();
    ioc_.stop();
    runner_.join();
  }

  bool connected() const { return connected_; }

  /** Writes raw bytes (blocking; small payloads on loopback never block for long). */
  bool send(const std::string& bytes) {
    beast::error_code ec;
    asio::write(socket_, asio::buffer(bytes), ec);
    return !ec;
  }

  /** Half-closes: the server sees the end of the stream, the client can still read its answer. */
  void shutdownSend() {
    beast::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_send, ec);
  }

  /** Reads one response; nullopt on error, EOF or deadline. */
  std::optional<TestResponse> read(bool head = false) {
    auto parser = std::make_shared<bhttp::response_parser<bhttp::string_body>>();
    parser->body_limit(64u << 20);
    if (head) parser->skip(true);
    std::promise<beast::error_code> done;
    auto future = done.get_future();
    asio::post(ioc_, [&] {
      bhttp::async_read(socket_, buffer_, *parser,
                        [&done](beast::error_code ec, size_t) { done.set_value(ec); });
    });
    if (future.wait_for(kDeadline) != std::future_status::ready) {
      cancelAndWait(future);
      return std::nullopt;
    }
    if (future.get()) return std::nullopt;
    return parser->release();
  }

  /** Sends a GET and reads its response. */
  std::optional<TestResponse> get(const std::string& target, const std::string& extra_headers = "") {
    if (!send("GET " + target + " HTTP/1.1\r\nHost: test\r\n" + extra_headers + "\r\n")) return std::nullopt;
    return read();
  }

  /** True when the server closes the connection (EOF or reset) before the deadline; discards what it reads. */
  bool waitClosed() {
    std::promise<beast::error_code> done;
    auto future = done.get_future();
    std::function<void()> loop;
    auto scratch = std::make_shared<std::array<char, 4096>>();
    loop = [&] {
      socket_.async_read_some(asio::buffer(*scratch), [&](beast::error_code ec, size_t) {
        if (ec) return done.set_value(ec);
        loop();
      });
    };
    asio::post(ioc_, loop);
    if (future.wait_for(kDeadline) != std::future_status::ready) {
      cancelAndWait(future);
      return false;
    }
    beast::error_code ec = future.get();
    return ec == asio::error::eof || ec == asio::error::connection_reset;
  }

 private:
  void cancelAndWait(std::future<beast::error_code>& future) {
    asio::post(ioc_, [this] {
      beast::error_code ec;
      socket_.cancel(ec);
    });
    future.wait_for(kDeadline);
  }

  asio::io_context ioc_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
  std::thread runner_;
  bool connected_ = false;
};

/** gunzip for checking compressed responses; nullopt when the data is not valid gzip. */
inline std::optional<std::string> gunzip(const std::string& data) {
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 16) != Z_OK) return std::nullopt;
  std::string out;
  char chunk[16384];
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  int rc = Z_OK;
  for (int i = 0; i < 100000 && rc == Z_OK; ++i) {
    zs.next_out = reinterpret_cast<Bytef*>(chunk);
    zs.avail_out = sizeof chunk;
    rc = inflate(&zs, Z_NO_FLUSH);
    out.append(chunk, sizeof chunk - zs.avail_out);
  }
  inflateEnd(&zs);
  if (rc != Z_STREAM_END) return std::nullopt;
  return out;
}

}  // namespace planbro::gateway::http::testing
