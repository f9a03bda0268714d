#include "planbro/gateway/http/logging.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <cctype>

#include "planbro/fhir-model/json.h"

namespace planbro::gateway::http {
namespace {

// %j: the message as a JSON string body (escaped, without quotes), so free-text application messages stay valid
// JSON lines.
class JsonEscapedMessage : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    std::string quoted;
    fhir::writeJsonString(std::string_view(msg.payload.data(), msg.payload.size()), quoted);
    dest.append(quoted.data() + 1, quoted.data() + quoted.size() - 1);
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<JsonEscapedMessage>(); }
};

}  // namespace

std::shared_ptr<spdlog::logger> makeLogger(const std::string& name, std::shared_ptr<spdlog::sinks::sink> sink,
                                           const config::LoggingConfig& config, bool access) {
  auto logger = std::make_shared<spdlog::logger>(name, std::move(sink));
  auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  if (config.format == config::LogFormat::kJson) {
    formatter->add_flag<JsonEscapedMessage>('j');
    // The access logger's payload is already a sequence of JSON members, built by the server.
    formatter->set_pattern(access ? R"({"ts":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","logger":"%n",%v})"
                                  : R"({"ts":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","logger":"%n","msg":"%j"})");
  } else {
    formatter->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ [%n] %l: %v");
  }
  logger->set_formatter(std::move(formatter));
  logger->set_level(spdlog::level::from_str(config.level));
  return logger;
}

void configureLogging(const config::LoggingConfig& config) {
  // One sink per logger: spdlog keeps the formatter on the sink, and the two loggers format differently.
  // Both write whole lines to the same FILE*, whose own lock keeps lines intact.
  auto app = makeLogger("planbro", std::make_shared<spdlog::sinks::stderr_sink_mt>(), config, false);
  spdlog::drop("planbro");
  spdlog::register_logger(app);
  spdlog::drop("access");
  if (config.access_log) {
    auto access = makeLogger("access", std::make_shared<spdlog::sinks::stderr_sink_mt>(), config, true);
    spdlog::register_logger(access);
  }
}

std::shared_ptr<spdlog::logger> appLogger() {
  auto logger = spdlog::get("planbro");
  if (!logger) {
    configureLogging(config::LoggingConfig{});
    logger = spdlog::get("planbro");
  }
  return logger;
}

std::string maskPathForLog(std::string_view target) {
  std::string_view path = target.substr(0, target.find('?'));
  constexpr size_t kMaxLogged = 256;
  if (path.size() > kMaxLogged) path = path.substr(0, kMaxLogged);
  std::string out(path);
  size_t i = 0;
  while (i < out.size()) {
    if (!std::isdigit(static_cast<unsigned char>(out[i]))) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < out.size() && std::isdigit(static_cast<unsigned char>(out[j]))) ++j;
    if (j - i == 11) std::fill(out.begin() + static_cast<std::ptrdiff_t>(i), out.begin() + static_cast<std::ptrdiff_t>(j), '*');
    i = j;
  }
  return out;
}

}  // namespace planbro::gateway::http
