// `planbro serve` on its own, for bench/server/load.sh while the REST layer is not wired into the planbro binary:
// the same addServeCommand() the CLI registers, so what is measured is exactly the gateway's HTTP pipeline.
//
// usage: planbro_serve_bench serve [--config FILE] [--listen HOST:PORT] [--threads N]

#include <CLI/CLI.hpp>

#include <iostream>

#include "planbro/gateway/serve.h"

int main(int argc, char** argv) {
  CLI::App app{"planbro HTTP server (bench build)"};
  app.require_subcommand(0, 1);
  planbro::gateway::CommandHook serve = planbro::gateway::addServeCommand(app);
  planbro::gateway::CommandHook validate = planbro::gateway::addValidateConfigOption(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (validate.selected()) return validate.run(std::cout, std::cerr);
  if (serve.selected()) return serve.run(std::cout, std::cerr);
  std::cerr << app.help();
  return 2;
}
