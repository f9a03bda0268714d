#pragma once
// Process logging (spdlog): a "planbro" application logger and an "access" logger, both one JSON object per line
// (or plain text), on stderr. Logs never carry a request body, a query string or an 11-digit number (a
// fødselsnummer or D-number): every field taken from a request is masked with maskForLog() before it is written.

#include <memory>
#include <string>
#include <string_view>

#include "planbro/gateway/config/gateway_config.h"

namespace spdlog {
class logger;
namespace sinks {
class sink;
}
}  // namespace spdlog

namespace planbro::gateway::http {

/** Creates (or replaces) the "planbro" and "access" loggers from `config`. Call once at start-up. The access
 * logger writes its lines in batches on a thread of its own, at least once a second; call flushLogs() before the
 * process exits. */
void configureLogging(const config::LoggingConfig& config);

/** Writes out every line logged so far, the access log's batches included, and waits until they are written. */
void flushLogs();

/** A logger named `name` writing to `sink` in `config`'s format and level. `access`: the payload is already a
 * sequence of JSON members (the server's access lines); otherwise the message is escaped into a "msg" member. */
std::shared_ptr<spdlog::logger> makeLogger(const std::string& name, std::shared_ptr<spdlog::sinks::sink> sink,
                                           const config::LoggingConfig& config, bool access);

/** The "planbro" application logger (a stderr logger if configureLogging() was not called). */
std::shared_ptr<spdlog::logger> appLogger();

/**
 * `text` fit for a log line: percent-decoded (repeatedly, so nothing encoded hides), then every run of exactly 11
 * digits and every "DDMMYY NNNNN" / "DDMMYY-NNNNN" replaced by '*' (a fødselsnummer, D-nummer or H-nummer), then
 * control and non-ASCII bytes replaced by '?', and only then cut to `max_bytes`. Use it for every field taken from
 * a request (method, path, request id, ...).
 */
std::string maskForLog(std::string_view text, size_t max_bytes);

/** The path without its query string, through maskForLog() with a limit of 256 bytes. */
std::string maskPathForLog(std::string_view target);

}  // namespace planbro::gateway::http
