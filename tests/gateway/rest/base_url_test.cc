// Location, fullUrl and every link use the configured base URL, or the listening scheme, host and port — never the
// client's Host header (issue 8, 14).

#include <boost/asio/ssl.hpp>
#include <boost/beast/ssl.hpp>

#include <cstdio>
#include <sstream>

#include "planbro/gateway/rest/serve_setup.h"
#include "rest_fixture.h"
#include "test_certificates.h"

namespace planbro::gateway::rest::testing {
namespace {

const std::vector<std::pair<std::string, std::string>> kEvilHost{{"Host", "evil.example"}};

// Every absolute URL the gateway generated in a response: Location, fullUrl, link urls, response.location.
std::vector<std::string> generatedUrls(const HttpResult& r) {
  std::vector<std::string> out;
  if (!r.header("location").empty()) out.push_back(r.header("location"));
  if (!r.header("content-location").empty()) out.push_back(r.header("content-location"));
  const fhir::JsonValue& root = r.root();
  if (const fhir::JsonValue* links = root.find("link")) {
    for (const fhir::JsonValue& l : links->items()) {
      if (const fhir::JsonValue* u = l.find("url")) out.emplace_back(u->text());
    }
  }
  if (const fhir::JsonValue* entries = root.find("entry")) {
    for (const fhir::JsonValue& e : entries->items()) {
      if (const fhir::JsonValue* f = e.find("fullUrl")) out.emplace_back(f->text());
      const fhir::JsonValue* response = e.find("response");
      if (const fhir::JsonValue* loc = response ? response->find("location") : nullptr) out.emplace_back(loc->text());
    }
  }
  return out;
}

void expectAllUnder(const HttpResult& r, const std::string& base, size_t at_least) {
  std::vector<std::string> urls = generatedUrls(r);
  EXPECT_GE(urls.size(), at_least) << r.body;
  for (const std::string& u : urls) EXPECT_TRUE(u.starts_with(base + "/")) << u << " is not under " << base;
  EXPECT_EQ(r.body.find("evil.example"), std::string::npos) << r.body;
}

class ConfiguredBaseUrl : public RestServerTest {
 protected:
  RestOptions restOptions() override {
    RestOptions o;
    o.base_url = "https://fhir.example.no/fhir/";
    return o;
  }
  static constexpr const char* kBase = "https://fhir.example.no/fhir";
};

TEST_P(ConfiguredBaseUrl, LocationFullUrlAndLinksUseItWhateverTheHostHeaderSays) {
  const std::string patient = R"({"resourceType":"Patient","name":[{"family":"Basesen"}]})";
  HttpResult created = post("/Patient", patient, kEvilHost);
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.header("location"), std::string(kBase) + "/Patient/" + created.str("id") + "/_history/1");
  ASSERT_EQ(post("/Patient", patient, kEvilHost).status, 201);

  HttpResult search = get("/Patient?family=Basesen&_count=1", kEvilHost);
  ASSERT_EQ(search.status, 200) << search.body;
  expectAllUnder(search, kBase, 3);  // self, next, one fullUrl

  HttpResult sealed = post("/Patient/_search", "family=Basesen&_count=1",
                           {{"Host", "evil.example"}, {"Content-Type", "application/x-www-form-urlencoded"}});
  ASSERT_EQ(sealed.status, 200) << sealed.body;
  expectAllUnder(sealed, kBase, 3);

  HttpResult history = get("/Patient/" + created.str("id") + "/_history", kEvilHost);
  ASSERT_EQ(history.status, 200) << history.body;
  expectAllUnder(history, kBase, 2);

  HttpResult system = get("/_history", kEvilHost);
  ASSERT_EQ(system.status, 200) << system.body;
  expectAllUnder(system, kBase, 3);

  HttpResult tx = post("/", R"({"resourceType":"Bundle","type":"transaction","entry":[{"fullUrl":"urn:uuid:0b7e5b3c-1c1a-4c43-9d3e-4f3a6f1d2b11",
    "resource":{"resourceType":"Patient","name":[{"family":"Basesen"}]},"request":{"method":"POST","url":"Patient"}}]})",
                       kEvilHost);
  ASSERT_EQ(tx.status, 200) << tx.body;
  expectAllUnder(tx, kBase, 1);
}

INSTANTIATE_TEST_SUITE_P(Engines, ConfiguredBaseUrl, ::testing::ValuesIn(engines()),
                         [](const auto& info) { return info.param; });

class HandlerWithoutBaseUrl : public RestServerTest {
 protected:
  void SetUp() override {
    RestServerTest::SetUp();
    handler_->setBaseUrl("");  // as a library user who set none
  }
};

TEST_P(HandlerWithoutBaseUrl, NeverFollowsTheHostHeader) {
  HttpResult created = post("/Patient", R"({"resourceType":"Patient"})", kEvilHost);
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_TRUE(created.header("location").starts_with("http://localhost/Patient/")) << created.header("location");
}

INSTANTIATE_TEST_SUITE_P(Engines, HandlerWithoutBaseUrl, ::testing::ValuesIn(engines()),
                         [](const auto& info) { return info.param; });

// ---------------------------------------------------------------------------------------------------------------
// `planbro serve`: without server.base_url, the listening scheme and address.

struct TempDir {
  std::string path;
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "planbro-base-url-XXXXXX").string();
    if (mkdtemp(tmpl.data())) path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path.empty()) std::filesystem::remove_all(path, ec);
  }
};

// A fresh key and self-signed certificate for 127.0.0.1 (EC P-256), as PEM files in `dir`.
bool writeSelfSignedCertificate(const std::string& dir) {
  planbro::testing::SelfSignedCertificateOptions options;
  options.not_before_seconds = -60;
  return planbro::testing::writeSelfSignedCertificate(dir + "/cert.pem", dir + "/key.pem", options);
}

// One HTTPS POST of a Patient with `Host: evil.example`, verifying the server against `cert`; the Location header.
std::string httpsCreateLocation(uint16_t port, const std::string& cert) {
  asio::io_context ioc;
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  ctx.load_verify_file(cert);
  ctx.set_verify_mode(asio::ssl::verify_peer);
  beast::ssl_stream<beast::tcp_stream> stream(ioc, ctx);
  beast::error_code ec;
  beast::get_lowest_layer(stream).expires_after(kDeadline);
  beast::get_lowest_layer(stream).connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
  if (ec) return "connect: " + ec.message();
  stream.handshake(asio::ssl::stream_base::client, ec);
  if (ec) return "handshake: " + ec.message();
  bhttp::request<bhttp::string_body> req(bhttp::verb::post, "/Patient", 11);
  req.set(bhttp::field::host, "evil.example");
  req.set(bhttp::field::content_type, "application/fhir+json");
  req.body() = R"({"resourceType":"Patient"})";
  req.prepare_payload();
  bhttp::write(stream, req, ec);
  if (ec) return "write: " + ec.message();
  beast::flat_buffer buffer;
  bhttp::response<bhttp::string_body> res;
  bhttp::read(stream, buffer, res, ec);
  if (ec) return "read: " + ec.message();
  return std::string(res[bhttp::field::location]);
}

// Runs `planbro serve` on 127.0.0.1:0 with `yaml` until `probe` has run; the exit code.
int serveWith(const TempDir& dir, const std::string& yaml, const std::function<void(uint16_t)>& probe) {
  std::string config = dir.path + "/planbro.yaml";
  std::ofstream(config) << yaml << "store: {data_dir: \"" << dir.path << "/data\"}\ndemo_data: {load_once: false}\n"
                        << "logging: {access_log: false, level: warn}\n";
  ServeOptions options;
  options.config_path = config;
  options.overrides.listen = "127.0.0.1:0";
  options.setup = makeRestServeSetup();
  options.on_started = [&](uint16_t port, std::function<void()> stop) {
    probe(port);
    stop();
  };
  std::ostringstream err;
  int code = runServe(options, err);
  EXPECT_EQ(code, 0) << err.str();
  return code;
}

TEST(ServeBaseUrl, WithoutBaseUrlLocationIsTheListeningAddressNotTheHostHeader) {
  TempDir dir;
  ASSERT_FALSE(dir.path.empty());
  std::string location;
  uint16_t bound = 0;
  serveWith(dir, "", [&](uint16_t port) {
    bound = port;
    location = request(port, "POST", "/Patient", R"({"resourceType":"Patient"})", kEvilHost).headers["location"];
  });
  EXPECT_TRUE(location.starts_with("http://127.0.0.1:" + std::to_string(bound) + "/Patient/")) << location;
}

TEST(ServeBaseUrl, UnderTlsWithoutBaseUrlLocationIsHttps) {
  TempDir dir;
  ASSERT_FALSE(dir.path.empty());
  ASSERT_TRUE(writeSelfSignedCertificate(dir.path));
  std::string location;
  uint16_t bound = 0;
  serveWith(dir,
            "server:\n  tls: {certificate_file: \"" + dir.path + "/cert.pem\", private_key_file: \"" + dir.path +
                "/key.pem\"}\n",
            [&](uint16_t port) {
              bound = port;
              location = httpsCreateLocation(port, dir.path + "/cert.pem");
            });
  EXPECT_TRUE(location.starts_with("https://127.0.0.1:" + std::to_string(bound) + "/Patient/")) << location;
}

TEST(ServeBaseUrl, ConfiguredBaseUrlWinsOverTheListeningAddress) {
  TempDir dir;
  ASSERT_FALSE(dir.path.empty());
  std::string location;
  serveWith(dir, "server: {base_url: \"https://fhir.example.no/fhir/\"}\n", [&](uint16_t port) {
    location = request(port, "POST", "/Patient", R"({"resourceType":"Patient"})", kEvilHost).headers["location"];
  });
  EXPECT_TRUE(location.starts_with("https://fhir.example.no/fhir/Patient/")) << location;
}

}  // namespace
}  // namespace planbro::gateway::rest::testing
