#include "planbro/gateway/serve.h"

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <spdlog/spdlog.h>

#include <csignal>
#include <ostream>

#include "planbro/gateway/config/tls_files.h"
#include "planbro/gateway/http/tls_files.h"
#include "planbro/gateway/http/logging.h"
#include "planbro/gateway/version.h"

namespace planbro::gateway {
namespace {

class PlaceholderHandler : public http::RequestHandler {
 public:
  http::Response handle(const http::Request& request, http::RequestContext& context) override {
    std::string_view path = request.path;
    std::string_view first = path.substr(path.empty() ? 0 : 1);
    first = first.substr(0, first.find('/'));
    bool fhir = first.empty() || first == "metadata" || first.front() == '$' || first.front() == '_' ||
                (first.front() >= 'A' && first.front() <= 'Z');
    if (fhir) {
      context.interaction = "not-implemented";
      return http::outcomeResponse(501, "not-supported",
                                   "the FHIR REST interactions are not available in this build yet");
    }
    context.interaction = "unknown";
    return http::outcomeResponse(404, "not-found", "no such endpoint: " + http::maskPathForLog(request.path));
  }
};

// The one place the TLS files are checked before start-up and by --validate-config. Until the HTTP server's loader
// (which also parses both files and matches the key to the certificate) is callable from here, the checks that
// need no OpenSSL: point this at it then.
// The files first (present, readable, PEM, key not encrypted), then what only loading them tells (the key is the
// certificate's, the certificate has not expired).
std::vector<std::string> tlsFileProblems(const config::TlsConfig& tls) {
  std::vector<std::string> problems = config::checkTlsFilesReadable(tls);
  if (problems.empty()) problems = http::checkTlsFiles(tls);
  return problems;
}

// 127.0.0.0/8 written as an address (a host name "127.example" is not one), ::1, or localhost.
bool isLoopbackHost(std::string_view host) { return config::isLoopbackHost(host); }

// Says what kind of start this is before anything else is logged: the embedded default is a trial setup, and a
// start without TLS or authentication on a network address must not pass unnoticed.
void logStartKind(const ServeOptions& options, const config::GatewayConfig& cfg, spdlog::logger& log) {
  const std::string where = cfg.server.host + ":" + std::to_string(cfg.server.port);
  const bool loopback = isLoopbackHost(cfg.server.host);
  if (options.config_path.empty()) {
    if (loopback) {
      log.warn("{} on the embedded default: open (no authentication, no TLS), loopback only ({}); for anything "
               "beyond a trial on this machine, start with --config (docs/operations.md)",
               planbroVersionLine(), where);
    } else {
      log.warn("{} on the embedded default: open (no authentication, no TLS) and NOT loopback-only: listening on "
               "{}, reachable from the network; start with --config and TLS (docs/operations.md)",
               planbroVersionLine(), where);
    }
    return;
  }
  log.info("{} starting with {}", planbroVersionLine(), options.config_path);
  if (!cfg.auth.enabled()) {
    log.warn("authentication is off (auth.mode: open): anyone who reaches {} reads and writes everything{}", where,
             loopback ? " (loopback only)" : "; server.allow_insecure is set, so this is a test rig");
  }
  if (cfg.server.tls.enabled()) return;
  if (loopback) {
    log.warn("TLS is off (server.tls not set): plain HTTP on loopback ({}); only behind a TLS-terminating reverse "
             "proxy on this host (docs/operations.md)", where);
  } else {
    log.warn("TLS IS OFF on a network address: health data and credentials cross the network unencrypted on {}; "
             "set server.tls.certificate_file and server.tls.private_key_file, or listen on loopback behind a "
             "TLS-terminating reverse proxy (docs/operations.md)", where);
  }
}

}  // namespace

std::shared_ptr<http::RequestHandler> makePlaceholderHandler() { return std::make_shared<PlaceholderHandler>(); }

int runValidateConfig(const std::string& path, std::ostream& out, std::ostream& err) {
  Status s = config::validateConfigFile(path, tlsFileProblems);
  if (s.isOk()) {
    // Warnings do not fail the check; they need a config that reads (the TLS paths).
    if (Result<config::GatewayConfig> c = config::loadConfig(path); c.isOk() && c->server.tls.enabled()) {
      for (const auto& w : config::tlsFileWarnings(c->server.tls)) err << path << ": warning: " << w << '\n';
    }
    out << path << ": ok\n";
    return 0;
  }
  err << path << ": invalid configuration:\n" << s.message() << '\n';
  return 1;
}

int runServe(const ServeOptions& options, std::ostream& err) {
  Result<config::GatewayConfig> loaded = options.config_path.empty() ? Result<config::GatewayConfig>(config::defaultConfig())
                                                                     : config::loadConfig(options.config_path);
  if (!loaded.isOk()) {
    err << "planbro serve: invalid configuration " << options.config_path << ":\n" << loaded.status().message() << '\n';
    return 1;
  }
  config::GatewayConfig cfg = std::move(loaded).value();
  if (Status s = config::applyOverrides(cfg, options.overrides); !s.isOk()) {
    err << "planbro serve: invalid option:\n" << s.message() << '\n';
    return 1;
  }
  if (cfg.auth.development() && !isLoopbackHost(cfg.server.host)) {
    err << "planbro serve: refusing to start: auth.mode development trusts a local test key and listens on loopback "
           "only (got " << cfg.server.host << ")\n";
    return 1;
  }
  if (!isLoopbackHost(cfg.server.host) && !cfg.server.allow_insecure &&
      (!cfg.server.tls.enabled() || !cfg.auth.enabled())) {
    // Health data on a network address needs both transport encryption and token validation, unless the
    // configuration says plainly that it is a test rig.
    err << "planbro serve: refusing to start on the network address " << cfg.server.host << ":" << cfg.server.port
        << (cfg.server.tls.enabled() ? "" : " without TLS (server.tls)")
        << (cfg.server.tls.enabled() || cfg.auth.enabled() ? "" : " and")
        << (cfg.auth.enabled() ? "" : " without token validation (auth.mode: open)")
        << "; configure both, listen on loopback behind a TLS-terminating proxy, or set server.allow_insecure: true "
           "in a configuration file for a test rig (never production; docs/security.md)\n";
    return 1;
  }
  if (cfg.server.tls.enabled()) {
    // Before any socket opens, and before OpenSSL sees a key it could ask a pass phrase for.
    std::vector<std::string> problems = tlsFileProblems(cfg.server.tls);
    if (!problems.empty()) {
      err << "planbro serve: invalid configuration " << options.config_path << ":\n";
      for (const auto& p : problems) err << p << '\n';
      return 1;
    }
  }
  http::configureLogging(cfg.logging);
  auto log = http::appLogger();
  logStartKind(options, cfg, *log);
  if (cfg.server.tls.enabled()) {
    for (const auto& w : config::tlsFileWarnings(cfg.server.tls)) log->warn("{}", w);
  }

  uint64_t fd_limit = http::raiseFileDescriptorLimit();
  // Keep 64 descriptors for the listener, logs and the store; beyond the cap new connections get a polite 503
  // (which needs a descriptor for the accept) instead of waiting unanswered in the backlog.
  constexpr uint64_t kReservedDescriptors = 64;
  if (fd_limit != 0 && fd_limit < static_cast<uint64_t>(cfg.limits.max_connections) + kReservedDescriptors) {
    uint32_t capped = static_cast<uint32_t>(fd_limit > 2 * kReservedDescriptors ? fd_limit - kReservedDescriptors
                                                                                : fd_limit / 2 + 1);
    log->warn("file descriptor limit {} is below limits.max_connections {} + {}; serving at most {} connections "
              "(raise `ulimit -Hn`)", fd_limit, cfg.limits.max_connections, kReservedDescriptors, capped);
    cfg.limits.max_connections = capped;
  }

  auto metrics = std::make_shared<http::MetricsRegistry>();
  ServeComponents components;
  if (options.setup) {
    if (Status s = options.setup(cfg, *metrics, components); !s.isOk()) {
      err << "planbro serve: cannot start: " << s.message() << '\n';
      return 1;
    }
  }
  if (!components.handler) components.handler = makePlaceholderHandler();

  http::Server server(http::ServerOptions::fromConfig(cfg), components.handler, metrics);
  for (auto& f : components.filters) server.addFilter(f);
  for (auto& r : components.readiness) server.addReadinessCheck(std::move(r));

  // Installed before the server starts so an early SIGTERM already shuts down gracefully.
  boost::asio::io_context signals_ioc;
  boost::asio::signal_set signals(signals_ioc, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int signal) {
    if (!ec) log->info("received signal {}; shutting down", signal);
  });

  if (Status s = server.start(); !s.isOk()) {
    err << "planbro serve: " << s.message() << '\n';
    return 1;
  }
  if (components.on_listening) components.on_listening(server.port());
  const std::string base_url = config::effectiveBaseUrl(cfg, server.port());
  log->info("FHIR base URL {}{}", base_url,
            cfg.server.base_url.empty() ? " (from server.listen; set server.base_url to the URL clients use)" : "");
  log->info("listening on {}:{} ({}, {} I/O threads, {} workers, {} write threads, store {} at {})",
            cfg.server.host, server.port(),
            cfg.server.tls.enabled() ? "https, TLS >= " + cfg.server.tls.min_version : std::string("http"),
            cfg.server.io_threads, cfg.server.worker_threads, cfg.server.write_threads,
            cfg.store.engine == config::StoreEngine::kSqlite ? "sqlite" : "postgresql",
            cfg.store.engine == config::StoreEngine::kSqlite ? cfg.store.sqlitePath() : "(postgres_url)");
  if (options.on_started) {
    options.on_started(server.port(), [&signals_ioc, &signals] {
      boost::asio::post(signals_ioc, [&signals] {
        boost::system::error_code ec;
        signals.cancel(ec);
      });
    });
  }
  signals_ioc.run();
  server.stop();
  log->info("stopped");
  http::flushLogs();
  return 0;
}

CommandHook addServeCommand(CLI::App& app, ServeSetup setup) {
  auto options = std::make_shared<ServeOptions>();
  options->setup = std::move(setup);
  auto listen = std::make_shared<std::string>();
  auto data_dir = std::make_shared<std::string>();
  auto threads = std::make_shared<uint32_t>(0);
  CLI::App* serve = app.add_subcommand("serve", "Run the FHIR gateway HTTP server until SIGTERM/SIGINT");
  serve->add_option("--config", options->config_path, "YAML config file (default: the embedded default)");
  CLI::Option* listen_opt = serve->add_option("--listen", *listen, "HOST:PORT to listen on (wins over the file)");
  CLI::Option* dir_opt = serve->add_option("--data-dir", *data_dir, "Data directory (wins over the file)");
  CLI::Option* threads_opt = serve->add_option("--threads", *threads, "I/O threads (wins over the file)");
  auto demo_data = std::make_shared<bool>(false);
  CLI::Option* demo_opt = serve->add_flag("--demo-data", *demo_data,
                                          "Load the demo individual plan into an empty store (demo_data.load_once; "
                                          "for trials, never production)");
  return CommandHook([serve] { return serve->parsed(); },
                     [=](std::ostream&, std::ostream& err) {
                       ServeOptions o = *options;
                       if (listen_opt->count() > 0) o.overrides.listen = *listen;
                       if (dir_opt->count() > 0) o.overrides.data_dir = *data_dir;
                       if (threads_opt->count() > 0) o.overrides.threads = *threads;
                       if (demo_opt->count() > 0 && *demo_data) o.overrides.demo_data = true;
                       return runServe(o, err);
                     });
}

CommandHook addValidateConfigOption(CLI::App& app) {
  auto path = std::make_shared<std::string>();
  CLI::Option* opt = app.add_option("--validate-config", *path, "Check a YAML config file and exit (0 valid, 1 not)");
  return CommandHook([opt] { return opt->count() > 0; },
                     [path](std::ostream& out, std::ostream& err) { return runValidateConfig(*path, out, err); });
}

}  // namespace planbro::gateway
