#pragma once
// `planbro message check FILE…`: runs the PLO codec and the write rules on each message without writing anything,
// and prints the AppRec that would be sent (docs/cli.md).

#include <CLI/CLI.hpp>

#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "planbro/adapters/plo/codec.h"

namespace planbro::gateway::cli {

struct MessageCheckArgs {
  std::vector<std::string> files;
  std::string apprec_version = "1.1";
  std::string data_dir;  // empty: the shipped PLO data (schemas, mapping table)
  size_t max_bytes = 32u << 20;
};

/** Adds the codec options every `message` subcommand shares (`--data-dir`, `--max-bytes`) to `command`. */
void addCodecOptions(CLI::App& command, std::string& data_dir, size_t& max_bytes);

/** The PLO codec from `data_dir` (empty: the shipped data) with messages bounded at `max_bytes`. */
Result<std::shared_ptr<const adapters::plo::Codec>> loadMessageCodec(const std::string& data_dir, size_t max_bytes);

/** Adds `message check` to `app`; returns the `check` subcommand (parsed() when selected). */
CLI::App* addMessageCheckCommand(CLI::App& app, MessageCheckArgs& args);

/** Exit 0 when every message is answered OK, 1 when one is Avvist or partly rejected or unreadable. */
int runMessageCheck(const MessageCheckArgs& args, std::istream& in, std::ostream& out, std::ostream& err);

}  // namespace planbro::gateway::cli
