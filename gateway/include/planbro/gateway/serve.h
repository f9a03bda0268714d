#pragma once
// `planbro serve` and `planbro --validate-config FILE`: load and validate the config, apply command-line
// overrides, set up logging, start the HTTP server, and shut down gracefully on SIGTERM/SIGINT.
// The CLI (gateway/src/cli/) registers both with addServeCommand() / addValidateConfigOption().

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "planbro/fhir-model/status.h"
#include "planbro/gateway/config/gateway_config.h"
#include "planbro/gateway/http/handler.h"
#include "planbro/gateway/http/metrics.h"
#include "planbro/gateway/http/server.h"

namespace CLI {
class App;
}

namespace planbro::gateway {

/** What a setup hook hands the server: the handler, filters and readiness checks (e.g. the store's). */
struct ServeComponents {
  std::shared_ptr<http::RequestHandler> handler;  // nullptr: the placeholder (FHIR paths answer 501)
  std::vector<std::shared_ptr<http::RequestFilter>> filters;
  std::vector<http::ReadinessCheck> readiness;
  std::shared_ptr<void> keep_alive;  // anything that must live as long as the server (the store, pools)
  /** Called once the server listens, with the bound port, before it is announced (e.g. to fix the base URL of a
   *  server on `listen: HOST:0`). May be empty. */
  std::function<void(uint16_t port)> on_listening;
};

/**
 * Builds the components from the validated config; the REST layer and the store plug in here. Runs before the
 * socket opens; a non-ok Status aborts start-up with exit code 1.
 */
using ServeSetup = std::function<Status(const config::GatewayConfig&, http::MetricsRegistry&, ServeComponents&)>;

struct ServeOptions {
  std::string config_path;  // empty: the embedded default
  config::ConfigOverrides overrides;
  ServeSetup setup;  // empty: placeholder handler only
  /** Called once the server listens, with its port and a function that stops it as SIGTERM would (tests). */
  std::function<void(uint16_t port, std::function<void()> stop)> on_started;
};

/**
 * Runs the server until SIGTERM or SIGINT (or on_started's stop function), then shuts down gracefully. Blocking.
 * Returns 0 after a clean shutdown, 1 when the config is invalid or the server cannot start (reason on `err`).
 */
int runServe(const ServeOptions& options, std::ostream& err);

/** Loads and validates FILE; prints "FILE: ok" to `out` (exit 0) or every error to `err` (exit 1). */
int runValidateConfig(const std::string& path, std::ostream& out, std::ostream& err);

/** The handler when no setup hook provides one (the HTTP layer on its own, as in its tests): FHIR paths → 501
 *  OperationOutcome, others → 404. `planbro serve` gets the REST handler from rest::makeRestServeSetup(). */
std::shared_ptr<http::RequestHandler> makePlaceholderHandler();

/** A command registered on a CLI11 app: after app.parse(), run it when selected(). Cheap to copy. */
class CommandHook {
 public:
  CommandHook(std::function<bool()> selected, std::function<int(std::ostream&, std::ostream&)> run)
      : selected_(std::move(selected)), run_(std::move(run)) {}
  bool selected() const { return selected_(); }
  int run(std::ostream& out, std::ostream& err) const { return run_(out, err); }

 private:
  std::function<bool()> selected_;
  std::function<int(std::ostream&, std::ostream&)> run_;
};

/** Adds the `serve` subcommand (--config FILE, --listen HOST:PORT, --data-dir DIR, --threads N) to `app`. */
CommandHook addServeCommand(CLI::App& app, ServeSetup setup = {});
/** Adds the top-level `--validate-config FILE` option to `app`. */
CommandHook addValidateConfigOption(CLI::App& app);

}  // namespace planbro::gateway
