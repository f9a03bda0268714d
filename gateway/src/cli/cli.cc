#include "planbro/gateway/cli.h"

#include <CLI/CLI.hpp>

#include <exception>
#include <new>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "planbro/fhir-model/fhirpath.h"
#include "planbro/fhir-model/json.h"
#include "planbro/fhir-model/operation_outcome.h"
#include "planbro/fhir-model/validator.h"
#include "planbro/gateway/rest/profile_loading.h"
#include "planbro/gateway/rest/serve_setup.h"
#include "planbro/gateway/serve.h"
#include "planbro/gateway/version.h"
#include "token_command.h"
#include "message_check.h"
#include "message_flag.h"

#if __has_include("planbro/fhir-model/resource_json.h")
#include "planbro/fhir-model/resource_json.h"
#define PLANBRO_CLI_HAVE_RESOURCE_JSON 1
#endif

namespace planbro::gateway::cli {
namespace {

struct CommonOptions {
  size_t max_bytes = 64u << 20;
  uint32_t max_depth = 0;
  uint32_t max_number_length = 0;
  bool pretty = false;

  InputLimits limits() const { return {max_bytes, max_depth, max_number_length}; }
};

void addLimitOptions(CLI::App* command, CommonOptions& options) {
  command->add_option("--max-bytes", options.max_bytes, "Largest input accepted, in bytes")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{1} << 40));
  command->add_option("--max-depth", options.max_depth,
                      "Deepest nesting of arrays/objects (XML: elements) accepted (default: JSON 256, XML 128)")
      ->check(CLI::Range(uint32_t{1}, uint32_t{100000}));
  command->add_option("--max-number-length", options.max_number_length,
                      "Longest JSON number accepted, in characters (default 64)")
      ->check(CLI::Range(uint32_t{1}, uint32_t{1} << 20));
}

std::string locationOf(const fhir::JsonErrorPosition& position) {
  if (position.line == 0) return {};
  return "line " + std::to_string(position.line) + ", col " + std::to_string(position.column);
}

// Reads and parses one input; on failure fills `outcome` with the reason.
std::optional<fhir::JsonDocument> load(const std::string& path, const CommonOptions& options, std::istream& in,
                                       fhir::OperationOutcome& outcome,
                                       fhir::OperationOutcome* xml_issues = nullptr) {
  auto bytes = readInput(path, options.max_bytes, in);
  if (!bytes.isOk()) {
    outcome = fhir::outcomeFromStatus(bytes.status());
    return std::nullopt;
  }
  fhir::JsonErrorPosition position;
  auto document = parseResource(std::move(bytes).value(), options.limits(), &position, xml_issues);
  if (!document.isOk()) {
    outcome = fhir::outcomeFromStatus(document.status(), locationOf(position));
    return std::nullopt;
  }
  return std::move(document).value();
}

std::string firstErrorText(const fhir::OperationOutcome& outcome) {
  for (const auto& issue : outcome.issues()) {
    if (issue.severity == fhir::Severity::kFatal || issue.severity == fhir::Severity::kError) {
      if (issue.location.empty()) return issue.diagnostics;
      return issue.diagnostics + " (at " + issue.location + ")";
    }
  }
  return "unknown error";
}

std::string serialise(const fhir::JsonValue& resource, bool pretty) {
  fhir::JsonWriteOptions write_options;
  write_options.pretty = pretty;
#ifdef PLANBRO_CLI_HAVE_RESOURCE_JSON
  return fhir::writeResourceJson(resource, write_options);
#else
  return fhir::writeJson(resource, write_options);
#endif
}

// The extension the HL7 reference validator puts on each file's OperationOutcome when it validates several.
constexpr std::string_view kOutcomeFileExtension = "http://hl7.org/fhir/StructureDefinition/operationoutcome-file";

// The outcome as JSON, naming the file it is about (so `validate a b c` can be read without counting lines).
std::string outcomeForFile(const fhir::OperationOutcome& outcome, const std::string& file, bool pretty) {
  auto parsed = fhir::JsonDocument::parse(outcome.toJson(false));
  if (!parsed.isOk()) return outcome.toJson(pretty);
  fhir::JsonDocument& doc = *parsed;
  const fhir::JsonMember file_members[] = {{"url", doc.makeString(kOutcomeFileExtension)},
                                           {"valueString", doc.makeString(file == "-" ? "stdin" : file)}};
  const fhir::JsonValue extension = doc.makeObject(file_members);
  std::vector<fhir::JsonMember> members;
  for (const fhir::JsonMember& m : doc.root().members()) {
    members.push_back(m);
    if (m.key == "resourceType") members.push_back({"extension", doc.makeArray({&extension, 1})});
  }
  fhir::JsonWriteOptions write_options;
  write_options.pretty = pretty;
  return fhir::writeJson(doc.makeObject(members), write_options);
}

struct ValidateArgs {
  CommonOptions common;
  std::vector<std::string> files;
  bool no_invariants = false;
  bool no_narrative = false;
  bool no_norwegian_ids = false;
  std::vector<std::string> profiles;  // --profile URL: required for every resource of the profile's type
  std::vector<std::string> packages;  // --package DIR: loaded besides the IP package and core
};

int runValidate(const ValidateArgs& args, std::istream& in, std::ostream& out, std::ostream& err) {
  fhir::ValidationOptions options;
  options.check_invariants = !args.no_invariants;
  options.check_narrative = !args.no_narrative;
  options.check_norwegian_identifiers = !args.no_norwegian_ids;
  options.json_limits.max_bytes = args.common.max_bytes;
  if (args.common.max_depth != 0) options.json_limits.max_depth = args.common.max_depth;
  if (args.common.max_number_length != 0) options.json_limits.max_number_length = args.common.max_number_length;

  // The same profiles as `planbro serve` (core and the IP package), plus what the command line adds.
  rest::ProfilePackages packages;
  packages.extra = args.packages;
  packages.required = args.profiles;
  fhir::ValidatorOptions validator_options;
  validator_options.base = options;
  auto loaded = rest::loadProfileValidator(packages, std::move(validator_options));
  if (!loaded.isOk()) {
    err << "planbro validate: " << loaded.status().message() << '\n';
    // What --profile and --package name is part of the command line: a URL no package defines or a package that
    // does not load is a wrong argument. Without them the default packages failed, which is no fault of the caller.
    return args.profiles.empty() && args.packages.empty() ? kExitFailure : kExitUsage;
  }
  if (loaded->ip_package_missing && !args.profiles.empty()) {
    err << "planbro validate: note: no individual-plan package at " << loaded->ip_package_dir
        << "; using the R4 core profiles and --package only\n";
  }
  const fhir::Validator& validator = *loaded->validator;

  int exit_code = kExitOk;
  for (const auto& file : args.files) {
    fhir::OperationOutcome outcome;
    fhir::OperationOutcome xml_issues;  // XML content errors, reported with the validation's, not instead of them
    if (auto document = load(file, args.common, in, outcome, &xml_issues)) {
      outcome = std::move(xml_issues);
      outcome.append(validator.validate(document->root()));
    }
    out << outcomeForFile(outcome, file, args.common.pretty) << '\n';
    if (outcome.hasErrors()) {
      exit_code = kExitFailure;
      const size_t errors = outcome.errorCount();
      err << "planbro validate: " << (file == "-" ? "stdin" : file) << ": " << errors
          << (errors == 1 ? " error" : " errors") << ", first: " << firstErrorText(outcome) << '\n';
    }
  }
  out.flush();
  return exit_code;
}

struct FmtArgs {
  CommonOptions common;
  std::string file;
};

int runFmt(const FmtArgs& args, std::istream& in, std::ostream& out, std::ostream& err) {
  fhir::OperationOutcome outcome;
  auto document = load(args.file, args.common, in, outcome);
  if (!document) {
    err << "planbro fmt: " << firstErrorText(outcome) << '\n';
    return kExitFailure;
  }
  out << serialise(document->root(), args.common.pretty) << '\n';
  out.flush();
  return kExitOk;
}

struct FhirPathArgs {
  CommonOptions common;
  std::string expression;
  std::string file;
};

int runFhirPath(const FhirPathArgs& args, std::istream& in, std::ostream& out, std::ostream& err) {
  auto expression = fhir::fhirpath::compile(args.expression);
  if (!expression.isOk()) {
    err << "planbro fhirpath: the expression is not valid FHIRPath: " << expression.status().message() << '\n';
    return kExitFailure;
  }
  fhir::OperationOutcome outcome;
  auto document = load(args.file, args.common, in, outcome);
  if (!document) {
    err << "planbro fhirpath: " << firstErrorText(outcome) << '\n';
    return kExitFailure;
  }
  auto result = fhir::fhirpath::evaluate(**expression, document->root());
  if (!result.isOk()) {
    err << "planbro fhirpath: evaluation failed: " << result.status().message() << '\n';
    return kExitFailure;
  }
  out << fhir::fhirpath::toJson(*result) << '\n';
  out.flush();
  return kExitOk;
}

}  // namespace

int runCli(int argc, const char* const* argv, std::istream& in, std::ostream& out, std::ostream& err) {
  CLI::App app{"planbro: the FHIR R4 gateway for the Norwegian individuell plan (serve) and its tools (validate, "
               "format, query)",
               "planbro"};
  app.require_subcommand(0, 1);  // `planbro --validate-config FILE` runs without a subcommand
  app.set_version_flag("--version", planbroVersionLine(), "Print the version and build type and exit");
  app.footer("Exit codes: 0 no error, 1 an input had an error, 2 the command line was wrong. See docs/cli.md.");

  ValidateArgs validate_args;
  CLI::App* validate = app.add_subcommand(
      "validate", "Validate FHIR R4 resources (JSON, or XML when the file starts with '<'); prints one "
                  "OperationOutcome (JSON) per file, in argument order, naming its file");
  validate->add_option("files", validate_args.files, "Files to validate; '-' reads stdin")->required();
  validate->add_flag("--pretty", validate_args.common.pretty, "Indent the OperationOutcome");
  validate->add_flag("--no-invariants", validate_args.no_invariants, "Skip the FHIRPath invariants");
  validate->add_flag("--no-narrative", validate_args.no_narrative, "Skip the XHTML checks of Narrative.div");
  validate->add_flag("--no-norwegian-ids", validate_args.no_norwegian_ids,
                     "Skip the checks of Norwegian identifiers (fødselsnummer, HPR, orgnr, ...)");
  validate->add_option("--profile", validate_args.profiles,
                       "Canonical URL of a profile every resource of its type must conform to (repeatable); "
                       "claims in meta.profile are honoured either way")
      ->type_name("URL")
      ->allow_extra_args(false);  // one URL per --profile: the files that follow are not profiles
  validate->add_option("--package", validate_args.packages,
                       "Folder (or file) of StructureDefinitions, ValueSets and CodeSystems to load besides the R4 "
                       "core and the individual-plan package (repeatable)")
      ->type_name("DIR")
      ->allow_extra_args(false)
      ->check(CLI::ExistingPath);
  addLimitOptions(validate, validate_args.common);

  FmtArgs fmt_args;
  CLI::App* fmt = app.add_subcommand("fmt", "Parse one resource and write it back as canonical FHIR JSON");
  fmt->add_option("file", fmt_args.file, "File to format; '-' reads stdin")->required();
  fmt->add_flag("--pretty", fmt_args.common.pretty, "Indent by two spaces, one member per line");
  addLimitOptions(fmt, fmt_args.common);

  FhirPathArgs fhirpath_args;
  CLI::App* fhirpath = app.add_subcommand(
      "fhirpath", "Evaluate a FHIRPath expression on one resource; prints the result collection as a JSON array");
  fhirpath->add_option("expression", fhirpath_args.expression, "FHIRPath expression, e.g. \"CarePlan.activity.count()\"")
      ->required();
  fhirpath->add_option("file", fhirpath_args.file, "Resource file; '-' reads stdin")->required();
  addLimitOptions(fhirpath, fhirpath_args.common);

  MessageCheckArgs message_check_args;
  CLI::App* message_check = addMessageCheckCommand(app, message_check_args);
  MessageFlagArgs message_flag_args;
  CLI::App* message_flag = addMessageFlagCommand(app, message_flag_args);  // GW-56, after `message`

  // `serve` and `--validate-config` (gateway/src/serve/, docs/server.md).
  const CommandHook serve = addServeCommand(app, rest::makeRestServeSetup());  // FHIR REST over the store
  const CommandHook validate_config = addValidateConfigOption(app);
  TokenArgs token_args;
  const TokenCommands token = addTokenCommands(app, token_args);  // development-mode test tokens

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e, out, err);
    return code == 0 ? kExitOk : kExitUsage;
  }

  try {
    if (validate_config.selected()) return validate_config.run(out, err);
    if (serve.selected()) return serve.run(out, err);
    if (validate->parsed()) return runValidate(validate_args, in, out, err);
    if (fmt->parsed()) return runFmt(fmt_args, in, out, err);
    if (fhirpath->parsed()) return runFhirPath(fhirpath_args, in, out, err);
    if (token.token->parsed()) return runToken(token, token_args, out, err);
    if (message_check->parsed()) return runMessageCheck(message_check_args, in, out, err);
    if (message_flag->parsed()) return runMessageFlag(message_flag_args, in, out, err);
  } catch (const std::bad_alloc&) {
    err << "planbro: out of memory\n";
    return kExitFailure;
  } catch (const std::exception& e) {
    err << "planbro: internal error: " << e.what() << '\n';
    return kExitFailure;
  }
  err << "planbro: no command given (try --help)\n";
  return kExitUsage;
}

}  // namespace planbro::gateway::cli
