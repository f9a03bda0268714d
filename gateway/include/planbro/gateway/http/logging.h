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
}

namespace planbro::gateway::http {

/** Creates (or replaces) the "planbro" and "access" loggers from `config`. Call once at start-up. */
void configureLogging(const config::LoggingConfig& config);

/** The "planbro" application logger (a stderr logger if configureLogging() was not called). */
std::shared_ptr<spdlog::logger> appLogger();

/** The path without its query string, with every run of exactly 11 digits replaced by "***********", and cut
 * to 256 bytes. */
std::string maskPathForLog(std::string_view target);

}  // namespace planbro::gateway::http
