#pragma once
// `planbro token`: test tokens and DPoP proofs for the development mode (auth.mode: development), signed with the
// local key in the data directory. Refused unless the configuration listens on loopback (docs/cli.md).

#include <CLI/CLI.hpp>

#include <cstdint>
#include <ostream>
#include <string>

namespace planbro::gateway::cli {

struct TokenArgs {
  std::string config_path;  // empty: the embedded default
  std::string data_dir;     // overrides store.data_dir
  std::string kind = "practitioner";
  std::string hpr_number;
  std::string pid;
  std::string organization_number;
  std::string scope = "user/*.rs";
  std::string client_id = "planbro-dev-client";
  int64_t lifetime_s = 3600;
  std::string dpop_key;  // a DPoP key file (JWK, created when absent): bind the token to it
  // `planbro token proof`
  std::string method = "GET";
  std::string url;
  std::string access_token;
};

struct TokenCommands {
  CLI::App* token = nullptr;
  CLI::App* proof = nullptr;
};

TokenCommands addTokenCommands(CLI::App& app, TokenArgs& args);
/** Runs `planbro token` (mint) or `planbro token proof`; prints the token or proof on one line. */
int runToken(const TokenCommands& commands, const TokenArgs& args, std::ostream& out, std::ostream& err);

}  // namespace planbro::gateway::cli
