#pragma once
// `planbro message flag FILE (--ip-status ANSWER | --config FILE)`: fills the «IP exists / coordinator» block (GW-56)
// into a PLO 2.0 message a record system is about to send, from the patient's $ip-status answer (given, or asked of
// the configured store in-process); prints the flagged message (docs/cli.md).

#include <CLI/CLI.hpp>

#include <iosfwd>
#include <string>

namespace planbro::gateway::cli {

struct MessageFlagArgs {
  std::string file;       // the message; '-' reads stdin
  std::string ip_status;  // the JSON answer of POST Patient/$ip-status for the message's patient
  std::string config;     // or: the gateway's config; $ip-status runs over its store for the MsgHead's patient
  std::string data_dir;   // empty: the shipped PLO data (schemas, mapping table)
  size_t max_bytes = 32u << 20;
};

/** Adds `flag` under the `message` command (added by addMessageCheckCommand first); returns it. */
CLI::App* addMessageFlagCommand(CLI::App& app, MessageFlagArgs& args);

/** Exit 0 with the flagged message on `out`; 1 with the reason on `err` when it is left unchanged or refused. */
int runMessageFlag(const MessageFlagArgs& args, std::istream& in, std::ostream& out, std::ostream& err);

}  // namespace planbro::gateway::cli
