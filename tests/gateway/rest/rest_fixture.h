#pragma once
// A running gateway for the REST tests: the real HTTP server on 127.0.0.1:0 with the RestHandler over a real store
// (SQLite in a fresh temp dir; PostgreSQL in a fresh schema when PLANBRO_TEST_PG_URL is set), and a real HTTP client
// (Beast, one connection per request, every wait bounded by a deadline).

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <stdlib.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "planbro/fhir-model/json.h"
#include "planbro/gateway/http/server.h"
#include "planbro/gateway/rest/rest_handler.h"
#include "planbro/gateway/store/resource_store.h"

namespace planbro::gateway::rest::testing {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace asio = boost::asio;

inline constexpr std::chrono::seconds kDeadline{30};

/** One HTTP exchange's answer, with the body parsed as JSON when it is JSON. */
struct HttpResult {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
  std::shared_ptr<fhir::JsonDocument> json;    // null when the body is not JSON

  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
  const fhir::JsonValue& root() const {
    static const fhir::JsonValue null;
    return json ? json->root() : null;
  }
  std::string str(std::string_view key) const {
    const fhir::JsonValue* v = root().find(key);
    return v && v->isString() ? std::string(v->text()) : std::string();
  }
};

/** Sends one request over a new connection. status 0 when the exchange failed. */
inline HttpResult request(uint16_t port, const std::string& method, const std::string& target,
                          const std::string& body = "",
                          const std::vector<std::pair<std::string, std::string>>& headers = {}) {
  HttpResult out;
  asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  beast::error_code ec;
  stream.expires_after(kDeadline);
  stream.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
  if (ec) return out;
  bhttp::request<bhttp::string_body> req(bhttp::string_to_verb(method), target, 11);
  req.set(bhttp::field::host, "fhir.test");
  bool has_ct = false;
  for (const auto& [k, v] : headers) {
    req.set(k, v);
    if (k == "Content-Type") has_ct = true;
  }
  if (!body.empty() && !has_ct) req.set(bhttp::field::content_type, "application/fhir+json");
  req.body() = body;
  req.prepare_payload();
  stream.expires_after(kDeadline);
  bhttp::write(stream, req, ec);
  if (ec) return out;
  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(256u << 20);
  if (method == "HEAD") parser.skip(true);
  stream.expires_after(kDeadline);
  bhttp::read(stream, buffer, parser, ec);
  if (ec) return out;
  auto res = parser.release();
  out.status = static_cast<int>(res.result_int());
  out.body = res.body();
  for (const auto& f : res) {
    std::string name(f.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.headers[name] = std::string(f.value());
  }
  if (!out.body.empty() && (out.body.front() == '{' || out.body.front() == '[')) {
    auto parsed = fhir::JsonDocument::parse(out.body);
    if (parsed.isOk()) out.json = std::make_shared<fhir::JsonDocument>(std::move(parsed).value());
  }
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  return out;
}

inline std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/** The engines the suite runs on: sqlite always, postgresql when PLANBRO_TEST_PG_URL is set. */
inline std::vector<std::string> engines() {
  std::vector<std::string> e{"sqlite"};
  const char* pg = std::getenv("PLANBRO_TEST_PG_URL");
  if (pg && *pg) e.push_back("postgresql");
  return e;
}

class RestServerTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "planbro-rest-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    if (GetParam() == "sqlite") {
      store::SqliteStoreOptions so;
      so.path = dir_ + "/planbro.db";
      so.pool_size = 8;
      so.read_cache_bytes = 8 << 20;  // as served: reads by id from memory, on the I/O thread
      auto s = store::openSqliteStore(so);
      ASSERT_TRUE(s.isOk()) << s.status().message();
      store_ = std::move(s).value();
    } else {
      store::PostgresStoreOptions po;
      po.conninfo = std::getenv("PLANBRO_TEST_PG_URL");
      std::mt19937_64 rng(std::random_device{}());
      po.schema = "rest_test_" + std::to_string(rng() % 1000000000ULL);
      pg_schema_ = po.schema;
      po.pool_size = 8;
      auto s = store::openPostgresStore(po);
      ASSERT_TRUE(s.isOk()) << s.status().message();
      store_ = std::move(s).value();
    }
    RestOptions rest = restOptions();
    if (rest.base_url.empty()) rest.base_url = "http://fhir.test";  // the base the tests' links are checked against
    handler_ = std::make_shared<RestHandler>(*store_, rest);
    http::ServerOptions options;
    options.port = 0;
    options.io_threads = 1;
    options.worker_threads = 4;
    options.access_log = false;
    server_ = std::make_unique<http::Server>(options, handler_);
    for (auto& filter : requestFilters()) server_->addFilter(std::move(filter));
    ASSERT_TRUE(server_->start().isOk());
    port_ = server_->port();
  }

  /** Options of the handler under test; fixtures override it (e.g. to install an AccessPolicy). */
  virtual RestOptions restOptions() { return {}; }
  /** Request filters run before the handler (e.g. authentication); none by default. */
  virtual std::vector<std::shared_ptr<http::RequestFilter>> requestFilters() { return {}; }

  void TearDown() override {
    if (server_) server_->stop();
    server_.reset();
    handler_.reset();
    store_.reset();
    if (!pg_schema_.empty()) {
      // Leave the shared database as it was.
      PGconn* conn = PQconnectdb(std::getenv("PLANBRO_TEST_PG_URL"));
      if (PQstatus(conn) == CONNECTION_OK) PQclear(PQexec(conn, ("DROP SCHEMA IF EXISTS " + pg_schema_ + " CASCADE").c_str()));
      PQfinish(conn);
    }
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }

  HttpResult get(const std::string& target, const std::vector<std::pair<std::string, std::string>>& h = {}) {
    return request(port_, "GET", target, "", h);
  }
  HttpResult post(const std::string& target, const std::string& body,
                  const std::vector<std::pair<std::string, std::string>>& h = {}) {
    return request(port_, "POST", target, body, h);
  }
  HttpResult put(const std::string& target, const std::string& body,
                 const std::vector<std::pair<std::string, std::string>>& h = {}) {
    return request(port_, "PUT", target, body, h);
  }

  std::string dir_;
  std::string pg_schema_;
  std::unique_ptr<store::ResourceStore> store_;
  std::shared_ptr<RestHandler> handler_;
  std::unique_ptr<http::Server> server_;
  uint16_t port_ = 0;
};

/** The url of the Bundle link with `relation` ("next", "self", ...) in `r`'s body, or empty. */
inline std::string linkUrl(const HttpResult& r, std::string_view relation) {
  const fhir::JsonValue* links = r.root().find("link");
  for (const fhir::JsonValue& l : links ? links->items() : std::span<const fhir::JsonValue>()) {
    const fhir::JsonValue* rel = l.find("relation");
    const fhir::JsonValue* url = l.find("url");
    if (rel && url && rel->text() == relation) return std::string(url->text());
  }
  return {};
}

/** The path and query of an absolute link ("http://fhir.test/Goal?x" → "/Goal?x"). */
inline std::string targetOf(const std::string& url) {
  size_t scheme = url.find("://");
  size_t slash = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  return slash == std::string::npos ? "/" : url.substr(slash);
}

/** `request(i)` for i in [0, clients) on as many threads, started together (each waits, a bounded number of yields,
 *  until all have started) so that they race; their answers by i. */
inline std::vector<HttpResult> concurrently(int clients, const std::function<HttpResult(int)>& request) {
  std::vector<std::thread> threads;
  std::vector<HttpResult> results(static_cast<size_t>(clients));
  std::atomic<int> ready{0};
  for (int i = 0; i < clients; ++i) {
    threads.emplace_back([&, i] {
      ready.fetch_add(1);
      for (int spin = 0; spin < 1000000 && ready.load() < clients; ++spin) std::this_thread::yield();
      results[static_cast<size_t>(i)] = request(i);
    });
  }
  for (auto& t : threads) t.join();
  return results;
}

}  // namespace planbro::gateway::rest::testing
