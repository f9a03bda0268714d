#pragma once
// Process logging (spdlog): a "planbro" application logger and an "access" logger, both one JSON object per line
// (or plain text), on stderr. Logs never carry a request body, a query string or an 11-digit number (a
// fødselsnummer or D-number): paths are masked with maskPathForLog() before they are written.

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

/** The path without its query string, with every run of exactly 11 digits replaced by "***********", and cut
 * to 256 bytes. */
std::string maskPathForLog(std::string_view target);

}  // namespace planbro::gateway::http
