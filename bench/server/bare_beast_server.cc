// The ceiling for bench/server/load.sh: a bare Boost.Beast HTTP/1.1 keep-alive server that parses each request and
// answers fixed bytes pre-serialised in memory: by default those of planbro's /healthz, with --response FILE the
// complete HTTP response in FILE (load.sh captures planbro's answer to GET /Patient/{id} there). No routing,
// database, limits, logging or metrics: whatever planbro loses against this is the cost of its own pipeline.
//
// usage: bare_beast_server [--threads N] [--port P] [--response FILE]
//   port 0 (default): any free port; prints "listening on PORT"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

const std::string kHealthBody = R"({"status":"ok"})";
std::string response_bytes =  // NOLINT: set once in main() before any thread starts
    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nCache-Control: no-store\r\n"
    "X-Request-Id: 00000000-1\r\nContent-Length: " +
    std::to_string(kHealthBody.size()) + "\r\n\r\n" + kHealthBody;

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  explicit Connection(tcp::socket socket) : socket_(std::move(socket)) {}
  void start() { read(); }

 private:
  void read() {
    parser_.emplace();
    bhttp::async_read(socket_, buffer_, *parser_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return;
      self->keep_alive_ = self->parser_->get().keep_alive();
      asio::async_write(self->socket_, asio::buffer(response_bytes), [self](beast::error_code wec, size_t) {
        if (wec || !self->keep_alive_) {
          beast::error_code ignored;
          self->socket_.shutdown(tcp::socket::shutdown_send, ignored);
          return;
        }
        self->read();
      });
    });
  }

  tcp::socket socket_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  bool keep_alive_ = true;
};

void accept(tcp::acceptor& acceptor, asio::io_context& ioc) {
  acceptor.async_accept(asio::make_strand(ioc), [&](beast::error_code ec, tcp::socket socket) {
    if (!ec) std::make_shared<Connection>(std::move(socket))->start();
    accept(acceptor, ioc);
  });
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 2;
  unsigned short port = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--threads") == 0) threads = std::max(1, std::atoi(argv[i + 1]));
    if (std::strcmp(argv[i], "--port") == 0) port = static_cast<unsigned short>(std::atoi(argv[i + 1]));
    if (std::strcmp(argv[i], "--response") == 0) {
      std::ifstream in(argv[i + 1], std::ios::binary);
      std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (!in.good() && !in.eof()) {
        std::cerr << "cannot read " << argv[i + 1] << '\n';
        return 2;
      }
      if (bytes.rfind("HTTP/1.1 ", 0) != 0 || bytes.find("\r\n\r\n") == std::string::npos) {
        std::cerr << argv[i + 1] << ": not a complete HTTP/1.1 response\n";
        return 2;
      }
      response_bytes = std::move(bytes);
    }
  }
  asio::io_context ioc(threads);
  tcp::acceptor acceptor(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  std::cout << "listening on " << acceptor.local_endpoint().port() << std::endl;
  accept(acceptor, ioc);
  asio::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([&](beast::error_code, int) { ioc.stop(); });
  std::vector<std::thread> pool;
  for (int i = 1; i < threads; ++i) pool.emplace_back([&] { ioc.run(); });
  ioc.run();
  for (auto& t : pool) t.join();
  return 0;
}
