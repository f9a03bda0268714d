#include "token_command.h"

#include <filesystem>

#include "planbro/gateway/config/gateway_config.h"
#include "planbro/gateway/security/dev_tokens.h"

namespace planbro::gateway::cli {

TokenCommands addTokenCommands(CLI::App& app, TokenArgs& a) {
  TokenCommands c;
  c.token = app.add_subcommand("token", "Mint a test access token for the development mode (auth.mode: development; "
                                        "loopback only), signed with the key in the data directory");
  c.token->add_option("--config", a.config_path, "The server's configuration file (default: the embedded default)");
  c.token->add_option("--data-dir", a.data_dir, "The server's data directory (overrides store.data_dir)");
  c.token->add_option("--kind", a.kind, "practitioner, patient or system")
      ->check(CLI::IsMember({"practitioner", "patient", "system"}));
  c.token->add_option("--hpr", a.hpr_number, "HPR number (practitioner)");
  c.token->add_option("--pid", a.pid, "fødselsnummer or D-nummer (patient)");
  c.token->add_option("--org", a.organization_number, "organisation number (orgnr_parent)");
  c.token->add_option("--scope", a.scope, "space-separated SMART scopes, e.g. \"user/CarePlan.rs user/Goal.cruds\"");
  c.token->add_option("--client-id", a.client_id, "client_id claim");
  c.token->add_option("--ttl", a.lifetime_s, "lifetime in seconds")->check(CLI::Range(1, 86400));
  c.token->add_option("--dpop-key", a.dpop_key, "bind the token to this DPoP key (a JWK file, created when absent)");
  c.proof = c.token->add_subcommand("proof", "Mint a DPoP proof for one request with a DPoP key file");
  c.proof->add_option("--dpop-key", a.dpop_key, "the DPoP key file (JWK; created when absent)")->required();
  c.proof->add_option("--method", a.method, "HTTP method");
  c.proof->add_option("--url", a.url, "the request URL (the server's base URL + path)")->required();
  c.proof->add_option("--token", a.access_token, "the access token the proof goes with (its hash becomes ath)");
  return c;
}

int runToken(const TokenCommands& commands, const TokenArgs& a, std::ostream& out, std::ostream& err) {
  if (commands.proof->parsed()) {
    auto key = security::loadOrCreateDevKey(a.dpop_key);
    if (!key.isOk()) {
      err << "planbro token proof: " << key.status().message() << '\n';
      return 1;
    }
    auto proof = security::mintDpopProof(*key, a.method, a.url, a.access_token);
    if (!proof.isOk()) {
      err << "planbro token proof: " << proof.status().message() << '\n';
      return 1;
    }
    out << *proof << '\n';
    return 0;
  }
  Result<config::GatewayConfig> loaded = a.config_path.empty() ? Result<config::GatewayConfig>(config::defaultConfig())
                                                               : config::loadConfig(a.config_path);
  if (!loaded.isOk()) {
    err << "planbro token: invalid configuration " << a.config_path << ":\n" << loaded.status().message() << '\n';
    return 1;
  }
  config::GatewayConfig cfg = std::move(loaded).value();
  if (!a.data_dir.empty()) cfg.store.data_dir = a.data_dir;
  if (!config::isLoopbackHost(cfg.server.host)) {
    err << "planbro token: refused: test tokens are for a server that listens on loopback only (server.listen is "
        << cfg.server.host << ")\n";
    return 1;
  }
  std::error_code ec;
  std::filesystem::create_directories(cfg.store.data_dir, ec);
  auto key = security::loadOrCreateDevKey((std::filesystem::path(cfg.store.data_dir) / security::kDevKeyFile).string());
  if (!key.isOk()) {
    err << "planbro token: " << key.status().message() << '\n';
    return 1;
  }
  security::MintRequest r;
  r.kind = a.kind;
  r.hpr_number = a.hpr_number;
  r.pid = a.pid;
  r.organization_number = a.organization_number;
  r.scope = a.scope;
  r.client_id = a.client_id;
  r.lifetime_s = a.lifetime_s;
  if (!cfg.auth.issuer.empty()) r.issuer = cfg.auth.issuer;
  if (!cfg.auth.audience.empty()) r.audience = cfg.auth.audience;
  if (!a.dpop_key.empty()) {
    auto dpop = security::loadOrCreateDevKey(a.dpop_key);
    auto jkt = dpop.isOk() ? security::keyThumbprint(*dpop) : Result<std::string>(dpop.status());
    if (!jkt.isOk()) {
      err << "planbro token: " << jkt.status().message() << '\n';
      return 1;
    }
    r.dpop_jkt = *jkt;
  }
  auto token = security::mintToken(*key, r);
  if (!token.isOk()) {
    err << "planbro token: " << token.status().message() << '\n';
    return 2;
  }
  out << *token << '\n';
  return 0;
}

}  // namespace planbro::gateway::cli
