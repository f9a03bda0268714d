// In-process tests of the CLI's input handling (planbro_cli): size limits, stdin, format detection.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "planbro/gateway/cli.h"

namespace planbro::gateway::cli {
namespace {

namespace fs = std::filesystem;

class CliInput : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string templ = (fs::temp_directory_path() / "planbro-cli-input-XXXXXX").string();
    ASSERT_NE(::mkdtemp(templ.data()), nullptr);
    dir_ = templ;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  fs::path write(const std::string& name, const std::string& bytes) {
    fs::path p = dir_ / name;
    std::ofstream(p, std::ios::binary) << bytes;
    return p;
  }
  fs::path dir_;
};

TEST_F(CliInput, FileExactlyAtTheLimitIsReadAndOneByteMoreIsRejected) {
  std::istringstream no_stdin;
  auto at = write("at.json", std::string(100, 'x'));
  auto read = readInput(at.string(), 100, no_stdin);
  ASSERT_TRUE(read.isOk()) << read.status().message();
  EXPECT_EQ(read->size(), 100u);
  auto over = write("over.json", std::string(101, 'x'));
  auto rejected = readInput(over.string(), 100, no_stdin);
  ASSERT_FALSE(rejected.isOk());
  EXPECT_EQ(rejected.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(rejected.status().message().find("101 bytes"), std::string::npos) << rejected.status().message();
}

TEST_F(CliInput, StdinIsReadInChunksAndStoppedPastTheLimit) {
  std::istringstream small("{\"resourceType\":\"Patient\"}");
  auto ok = readInput("-", 1000, small);
  ASSERT_TRUE(ok.isOk());
  EXPECT_EQ(*ok, "{\"resourceType\":\"Patient\"}");
  std::istringstream big(std::string(300000, ' '));
  auto rejected = readInput("-", 200000, big);
  ASSERT_FALSE(rejected.isOk());
  EXPECT_EQ(rejected.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(rejected.status().message().find("stdin"), std::string::npos);
}

TEST_F(CliInput, MissingFileAndDirectoryAreErrorsNamingThePath) {
  std::istringstream no_stdin;
  auto missing = readInput((dir_ / "nope").string(), 100, no_stdin);
  ASSERT_FALSE(missing.isOk());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  auto dir = readInput(dir_.string(), 100, no_stdin);
  ASSERT_FALSE(dir.isOk());
  EXPECT_NE(dir.status().message().find("directory"), std::string::npos);
}

TEST(CliFormatDetection, XmlStartsWithAngleBracketAfterWhitespaceAndBom) {
  EXPECT_TRUE(looksLikeXml("<Patient/>"));
  EXPECT_TRUE(looksLikeXml(" \r\n\t<?xml version=\"1.0\"?>"));
  EXPECT_TRUE(looksLikeXml("\xEF\xBB\xBF<Patient/>"));
  EXPECT_FALSE(looksLikeXml("{\"a\":\"<\"}"));
  EXPECT_FALSE(looksLikeXml(""));
  EXPECT_FALSE(looksLikeXml("   "));
  EXPECT_FALSE(looksLikeXml("x<"));
}

TEST(CliParse, LimitsOverrideTheParserDefaults) {
  InputLimits limits;
  limits.max_depth = 3;
  EXPECT_TRUE(parseResource("{\"a\":[{}]}", limits).isOk());
  EXPECT_FALSE(parseResource("{\"a\":[{\"b\":[]}]}", limits).isOk());
  limits = {};
  limits.max_number_length = 3;
  EXPECT_TRUE(parseResource("{\"a\":123}", limits).isOk());
  EXPECT_FALSE(parseResource("{\"a\":1234}", limits).isOk());
}

TEST(CliRun, UsageErrorsReturnTwoAndHelpReturnsZeroInProcess) {
  std::istringstream in;
  std::ostringstream out;
  std::ostringstream err;
  const char* no_command[] = {"planbro"};
  EXPECT_EQ(runCli(1, no_command, in, out, err), kExitUsage);
  const char* help[] = {"planbro", "fmt", "--help"};
  EXPECT_EQ(runCli(3, help, in, out, err), kExitOk);
  EXPECT_NE(out.str().find("--pretty"), std::string::npos);
}

TEST(CliRun, FmtReadsStdinInProcess) {
  std::istringstream in("{\"resourceType\":\"Basic\",\"id\":\"b\",\"code\":{\"text\":\"x\"}}");
  std::ostringstream out;
  std::ostringstream err;
  const char* args[] = {"planbro", "fmt", "-"};
  EXPECT_EQ(runCli(3, args, in, out, err), kExitOk) << err.str();
  EXPECT_EQ(out.str(), "{\"resourceType\":\"Basic\",\"id\":\"b\",\"code\":{\"text\":\"x\"}}\n");
}

}  // namespace
}  // namespace planbro::gateway::cli
