#include "message_flag.h"

#include <filesystem>
#include <ostream>

#include "message_check.h"
#include "planbro/adapters/plo/ip_flag.h"
#include "planbro/adapters/plo/ip_status_facts.h"
#include "planbro/gateway/cli.h"
#include "planbro/gateway/config/gateway_config.h"
#include "planbro/gateway/ip/ip_read_operations.h"
#include "planbro/gateway/rest/rest_handler.h"
#include "planbro/gateway/store/resource_store.h"

namespace planbro::gateway::cli {
namespace {

// A $ip-status answer is a few kilobytes; this bounds reading a wrong file by mistake.
constexpr size_t kMaxIpStatusBytes = 1u << 20;

// The configured store, opened to read: a SQLite file that does not exist is an error, never a new empty database.
Result<std::unique_ptr<store::ResourceStore>> openConfiguredStore(const config::GatewayConfig& cfg) {
  if (cfg.store.engine == config::StoreEngine::kSqlite) {
    store::SqliteStoreOptions options;
    options.path = cfg.store.sqlitePath();
    if (!std::filesystem::exists(options.path)) return notFound("no database at " + options.path);
    options.pool_size = 1;
    return store::openSqliteStore(options);
  }
  store::PostgresStoreOptions options;
  options.conninfo = cfg.store.postgres_url;
  options.pool_size = 1;
  return store::openPostgresStore(options);
}

// POST Patient/$ip-status for `patient`, run in-process by the REST layer over the configured store: the same
// operation the server answers, so the flag never has a second reading of the plan. The command runs as the
// operator who holds the store's credentials, so no access policy applies.
Result<std::string> askIpStatus(const std::string& config_path, const adapters::plo::MessagePatient& patient) {
  ASSIGN_OR_RETURN(config::GatewayConfig cfg, config::loadConfig(config_path));
  ASSIGN_OR_RETURN(std::unique_ptr<store::ResourceStore> store, openConfiguredStore(cfg));
  rest::RestOptions options;
  auto registry = std::make_shared<rest::OperationRegistry>();
  ip::IpReadOptions ip_read;
  ip_read.max_plans_per_patient = cfg.ip_read.max_plans_per_patient;
  RETURN_IF_ERROR(ip::registerIpReadOperations(*registry, ip_read));
  options.operations = registry;
  rest::RestHandler handler(*store, options);
  http::Request request;
  request.method = "POST";
  request.target = request.path = "/Patient/$ip-status";
  request.headers.set("Content-Type", "application/fhir+json");
  const char* system = patient.id_type == "DNR" ? "urn:oid:2.16.578.1.12.4.1.4.2" : "urn:oid:2.16.578.1.12.4.1.4.1";
  request.body = std::string(R"({"resourceType":"Parameters","parameter":[{"name":"identifier","valueIdentifier":)") +
                 R"({"system":")" + system + R"(","value":")" + patient.id + R"("}}]})";
  http::RequestContext context;
  http::Response response = handler.handle(request, context);
  if (response.status != 200) {
    return Status(StatusCode::kUnavailable, "$ip-status answered " + std::to_string(response.status) + ": " +
                                                response.body.substr(0, 500));
  }
  return std::move(response.body);
}

}  // namespace

CLI::App* addMessageFlagCommand(CLI::App& app, MessageFlagArgs& args) {
  CLI::App* message = app.get_subcommand("message");
  CLI::App* flag = message->add_subcommand(
      "flag", "Fill the «IP exists / coordinator» block (OpplysningerOmIndividuellPlan) into a PLO 2.0 message from "
              "the patient's $ip-status answer; prints the flagged message");
  flag->add_option("file", args.file, "Message file; '-' reads stdin")->required();
  CLI::Option* answer = flag->add_option("--ip-status", args.ip_status,
                                         "The JSON answer of POST Patient/$ip-status for the message's patient");
  flag->add_option("--config", args.config,
                   "Or: the gateway's config file; $ip-status is run over its store for the MsgHead's patient")
      ->excludes(answer);
  addCodecOptions(*flag, args.data_dir, args.max_bytes);
  return flag;
}

int runMessageFlag(const MessageFlagArgs& args, std::istream& in, std::ostream& out, std::ostream& err) {
  if (args.ip_status.empty() == args.config.empty()) {
    err << "planbro: give one of --ip-status ANSWER and --config FILE\n";
    return kExitUsage;
  }
  if (args.file == "-" && args.ip_status == "-") {
    err << "planbro: the message and the $ip-status answer cannot both be read from stdin\n";
    return kExitUsage;
  }
  auto codec = loadMessageCodec(args.data_dir, args.max_bytes);
  if (!codec.isOk()) {
    err << "planbro: " << codec.status().message() << '\n';
    return kExitFailure;
  }
  const std::string name = args.file == "-" ? "stdin" : args.file;
  // One byte over the limit is read so that the flag itself answers "too large".
  auto bytes = readInput(args.file, args.max_bytes + 1, in);
  if (!bytes.isOk() && bytes.status().code() != StatusCode::kResourceExhausted) {
    err << name << ": " << bytes.status().message() << '\n';
    return kExitFailure;
  }
  if (!bytes.isOk()) {
    err << name << ": not flagged: the message is over " << args.max_bytes << " bytes\n";
    return kExitFailure;
  }
  // The facts: the given answer, or $ip-status asked for the patient the message names.
  Result<std::string> answer = Status(StatusCode::kInternal, "unset");
  std::string answer_name = args.ip_status;
  if (!args.ip_status.empty()) {
    answer = readInput(args.ip_status, kMaxIpStatusBytes, in);
  } else {
    answer_name = args.config;
    Result<adapters::plo::MessagePatient> patient = adapters::plo::messagePatient(**codec, *bytes);
    if (!patient.isOk()) {
      err << name << ": not flagged (refused): " << patient.status().message() << '\n';
      return kExitFailure;
    }
    answer = askIpStatus(args.config, *patient);
  }
  if (!answer.isOk()) {
    err << answer_name << ": " << answer.status().message() << '\n';
    return kExitFailure;
  }
  Result<adapters::plo::IpFacts> facts = adapters::plo::ipFactsFromIpStatusJson(*answer);
  if (!facts.isOk()) {
    err << answer_name << ": " << facts.status().message() << '\n';
    return kExitFailure;
  }
  const adapters::plo::IpFlagResult result = adapters::plo::flagIndividualPlan(**codec, *bytes, *facts);
  if (result.outcome != adapters::plo::IpFlagOutcome::kFlagged) {
    err << name << ": not flagged"
        << (result.outcome == adapters::plo::IpFlagOutcome::kRefused ? " (refused)" : "") << ": " << result.reason
        << '\n';
    return kExitFailure;
  }
  out << result.message;
  return kExitOk;
}

}  // namespace planbro::gateway::cli
