#include "message_check.h"

#include <ostream>

#include "planbro/adapters/plo/inbound.h"
#include "planbro/gateway/cli.h"

namespace planbro::gateway::cli {

CLI::App* addMessageCheckCommand(CLI::App& app, MessageCheckArgs& args) {
  CLI::App* message = app.add_subcommand("message", "Work with PLO / Dialogmelding / AppRec messages");
  message->require_subcommand(1);
  CLI::App* check = message->add_subcommand(
      "check", "Decode and check messages (MsgHead 1.2 with Dialogmelding or PLO, or an AppRec) without writing; "
               "prints the AppRec that would be sent for each");
  check->add_option("files", args.files, "Message files; '-' reads stdin")->required();
  check->add_option("--apprec-version", args.apprec_version, "AppRec version to answer with")
      ->capture_default_str()
      ->check(CLI::IsMember({"1.0", "1.1"}));
  addCodecOptions(*check, args.data_dir, args.max_bytes);
  return check;
}

void addCodecOptions(CLI::App& command, std::string& data_dir, size_t& max_bytes) {
  command.add_option("--data-dir", data_dir, "PLO data directory (mapping.yaml, xsd/); default: the shipped one");
  command.add_option("--max-bytes", max_bytes, "Largest message accepted, in bytes")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{1} << 32));
}

Result<std::shared_ptr<const adapters::plo::Codec>> loadMessageCodec(const std::string& data_dir, size_t max_bytes) {
  adapters::plo::CodecOptions codec_options;
  codec_options.max_message_bytes = max_bytes;
  codec_options.xml.max_bytes = max_bytes;
  return adapters::plo::loadCodec(data_dir.empty() ? adapters::plo::defaultPloDataDir() : data_dir, codec_options);
}

int runMessageCheck(const MessageCheckArgs& args, std::istream& in, std::ostream& out, std::ostream& err) {
  auto codec = loadMessageCodec(args.data_dir, args.max_bytes);
  if (!codec.isOk()) {
    err << "planbro: " << codec.status().message() << '\n';
    return kExitFailure;
  }
  adapters::plo::InboundOptions options;
  options.apprec_version = args.apprec_version;
  options.self.name = "planbro";
  const adapters::plo::InboundProcessor checker(*codec, nullptr, options);
  int exit_code = kExitOk;
  for (const std::string& file : args.files) {
    const std::string name = file == "-" ? "stdin" : file;
    // One byte over the limit is read so that the codec itself answers "too large" (T99).
    auto bytes = readInput(file, args.max_bytes + 1, in);
    Result<adapters::plo::InboundResult> result =
        bytes.isOk() ? checker.process(*bytes)
        : bytes.status().code() == StatusCode::kResourceExhausted
            ? Result<adapters::plo::InboundResult>(checker.oversized(args.max_bytes + 1))
            : Result<adapters::plo::InboundResult>(bytes.status());
    if (!result.isOk()) {
      err << name << ": " << result.status().message() << '\n';
      exit_code = kExitFailure;
      continue;
    }
    const adapters::plo::DecodedMessage& message = result->message;
    err << name << ": " << adapters::plo::statusText(message.status) << ": " << message.summary << '\n';
    for (const adapters::plo::AppRecError& error : message.errors) {
      err << "  " << error.code << " " << error.text << (error.detail.empty() ? "" : ": " + error.detail) << '\n';
    }
    if (result->apprec) out << *result->apprec;
    if (message.status != adapters::plo::AppRecStatus::kOk) exit_code = kExitFailure;
  }
  return exit_code;
}

}  // namespace planbro::gateway::cli
