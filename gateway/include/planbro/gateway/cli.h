#pragma once
// The `planbro` command line: validate, fmt and fhirpath over FHIR R4 resources in JSON (or XML) files.
// main() is a one-line call to runCli(); tests run the built binary. See docs/cli.md.

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>

#include "planbro/fhir-model/json.h"
#include "planbro/fhir-model/operation_outcome.h"
#include "planbro/fhir-model/status.h"

namespace planbro::gateway::cli {

/** Process exit codes of every command. */
inline constexpr int kExitOk = 0;       // no error found
inline constexpr int kExitFailure = 1;  // an input had an error (invalid resource, unreadable file, bad expression)
inline constexpr int kExitUsage = 2;    // the command line itself was wrong

/**
 * Runs one command line (argv[0] is the program name). Reads "-" from `in`, writes results to `out` and plain-words
 * diagnostics to `err`. Returns the process exit code. Never throws: CLI11's parse exceptions are caught here, at
 * the edge. Blocking (reads files); not thread-safe only in that it writes to the given streams.
 */
int runCli(int argc, const char* const* argv, std::istream& in, std::ostream& out, std::ostream& err);

/** Bounds applied to one input file. Zero means "the parser's default" for the depth. */
struct InputLimits {
  size_t max_bytes = 64u << 20;
  uint32_t max_depth = 0;
  uint32_t max_number_length = 0;
};

/**
 * Reads a whole input: a path, or "-" for `in`. A regular file larger than `max_bytes` is rejected by its size
 * before any byte is read; other inputs (stdin, pipes) are read in chunks and rejected as soon as they pass the
 * limit. Errors: kResourceExhausted (too large), kNotFound / kInvalidArgument (cannot open, a directory, read error).
 * Messages name the path and never include file content.
 */
Result<std::string> readInput(std::string_view path, size_t max_bytes, std::istream& in);

/** True when the first byte after whitespace and a UTF-8 byte order mark is '<' (FHIR XML). */
bool looksLikeXml(std::string_view bytes);

/**
 * Parses a resource from JSON, or from FHIR XML when looksLikeXml(). Errors as JsonDocument::parse (with
 * `position` filled for JSON syntax errors) or fhirXmlToJson. With `xml_issues`, XML content errors are collected
 * there and the conversion goes on (fhirXmlToJson's collecting form), so validation reports every issue.
 */
Result<fhir::JsonDocument> parseResource(std::string bytes, const InputLimits& limits,
                                         fhir::JsonErrorPosition* position = nullptr,
                                         fhir::OperationOutcome* xml_issues = nullptr);

}  // namespace planbro::gateway::cli
