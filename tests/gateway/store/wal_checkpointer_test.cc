// The WAL checkpointer copies the WAL into the database file on its own thread once the writer's commits have
// filled it past the threshold; the writer itself never checkpoints below the fallback.
#include "wal_checkpointer.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <chrono>
#include <filesystem>
#include <random>
#include <string>
#include <thread>

namespace planbro::gateway::store::internal {
namespace {

class WalCheckpointerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("planbro-wal-" + std::to_string(std::random_device{}()));
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "w.db").string();
    ASSERT_EQ(sqlite3_open(path_.c_str(), &writer_), SQLITE_OK);
    exec("PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0; CREATE TABLE t (v BLOB)");
  }
  void TearDown() override {
    checkpointer_.reset();
    sqlite3_close(writer_);
    std::filesystem::remove_all(dir_);
  }
  void exec(const std::string& sql) {
    ASSERT_EQ(sqlite3_exec(writer_, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(writer_);
  }
  // Each commit adds a few 4 KiB pages to the WAL.
  void commits(int n) {
    for (int i = 0; i < n; ++i) exec("INSERT INTO t VALUES (randomblob(8000))");
  }
  uintmax_t databaseBytes() const { return std::filesystem::file_size(path_); }
  // Polls (bounded) until the database file has grown past `bytes`: only a checkpoint writes to it in WAL mode.
  bool databaseGrowsPast(uintmax_t bytes) const {
    for (int i = 0; i < 500; ++i) {
      if (databaseBytes() > bytes) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }

  std::filesystem::path dir_;
  std::string path_;
  sqlite3* writer_ = nullptr;
  std::unique_ptr<WalCheckpointer> checkpointer_;
};

TEST_F(WalCheckpointerTest, CopiesTheWalIntoTheDatabaseOnceItPassesTheThreshold) {
  auto started = WalCheckpointer::start(path_, writer_, 50);
  ASSERT_TRUE(started.isOk()) << started.status().message();
  checkpointer_ = std::move(started).value();
  const uintmax_t before = databaseBytes();
  commits(5);  // well below 50 frames: nothing is copied
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(databaseBytes(), before);
  commits(30);  // past 50 frames: the checkpointer's thread copies them
  EXPECT_TRUE(databaseGrowsPast(before));
}

TEST_F(WalCheckpointerTest, WithoutItTheDatabaseFileStaysAsItWas) {
  const uintmax_t before = databaseBytes();
  commits(35);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(databaseBytes(), before);  // the control: with autocheckpoint off nothing else writes the file
}

}  // namespace
}  // namespace planbro::gateway::store::internal
