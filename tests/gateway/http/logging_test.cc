#include "planbro/gateway/http/logging.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sstream>

#include "planbro/fhir-model/json.h"

namespace planbro::gateway::http {
namespace {

TEST(Logging, JsonFormatEscapesFreeTextIntoOneValidJsonObjectPerLine) {
  std::ostringstream out;
  auto logger = makeLogger("planbro-test", std::make_shared<spdlog::sinks::ostream_sink_mt>(out),
                           config::LoggingConfig{}, /*access=*/false);
  logger->info("cannot open \"{}\": {}", "/tmp/a\\b", "line1\nline2");
  logger->flush();
  std::string line = out.str();
  ASSERT_FALSE(line.empty());
  ASSERT_EQ(line.back(), '\n');
  line.pop_back();
  EXPECT_EQ(line.find('\n'), std::string::npos);
  Result<fhir::JsonDocument> doc = fhir::JsonDocument::parse(line);
  ASSERT_TRUE(doc.isOk()) << line;
  const fhir::JsonValue* msg = doc->root().find("msg");
  ASSERT_NE(msg, nullptr);
  EXPECT_EQ(msg->text(), "cannot open \"/tmp/a\\b\": line1\nline2");
  ASSERT_NE(doc->root().find("level"), nullptr);
  EXPECT_EQ(doc->root().find("level")->text(), "info");
}

TEST(Logging, LevelFromConfigFiltersMessages) {
  std::ostringstream out;
  config::LoggingConfig c;
  c.level = "warn";
  auto logger = makeLogger("planbro-test", std::make_shared<spdlog::sinks::ostream_sink_mt>(out), c, false);
  logger->info("hidden");
  logger->warn("shown");
  logger->flush();
  EXPECT_EQ(out.str().find("hidden"), std::string::npos);
  EXPECT_NE(out.str().find("shown"), std::string::npos);
}

}  // namespace
}  // namespace planbro::gateway::http
