// The file spool: each inbound file processed once, AppRecs in out, broken files in error with their AppRec, a file
// a crash left half-processed processed again without duplicating anything, and a store outage leaves files in in.

#include "planbro/adapters/plo/file_spool.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "planbro/gateway/search/search_executor.h"
#include "inbound_fixture.h"
#include "plo_test_support.h"

namespace planbro::adapters::plo {
namespace {

namespace fs = std::filesystem;
using testing::readFile;
using testing::samplesDir;
using testing::sharedCodec;

void writeFile(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

size_t filesIn(const fs::path& dir) {
  size_t n = 0;
  for (const auto& entry : fs::directory_iterator(dir)) n += entry.is_regular_file() ? 1 : 0;
  return n;
}

class PloSpool : public testing::InboundStoreTest {
 protected:
  void SetUp() override {
    InboundStoreTest::SetUp();
    if (HasFatalFailure()) return;
    options_.in_dir = dir_ + "/in";
    options_.out_dir = dir_ + "/out";
    options_.error_dir = dir_ + "/error";
  }

  size_t communications() { return count("Communication"); }

  SpoolOptions options_;
};

TEST_F(PloSpool, GoodAndBrokenFilesAreAnsweredAndSortedOnce) {
  auto spool = FileSpool::open(options_, *processor_);
  ASSERT_TRUE(spool.isOk()) << spool.status().message();
  writeFile(fs::path(options_.in_dir) / "a.xml",
            readFile(samplesDir() / "dialogmelding-1.1/Helsefaglig_dialog_angi_profesjon_hos_mottaker.xml"));
  writeFile(fs::path(options_.in_dir) / "b.xml", "<MsgHead><broken>");
  writeFile(fs::path(options_.in_dir) / "c.xml", readFile(samplesDir() / "apprec/1.1/example-ok.xml"));
  writeFile(fs::path(options_.in_dir) / ".partial.xml", "being written by the agent");

  auto stats = spool->pollOnce();
  ASSERT_TRUE(stats.isOk()) << stats.status().message();
  EXPECT_EQ(stats->accepted, 1u);
  EXPECT_EQ(stats->rejected, 1u);
  EXPECT_EQ(stats->apprecs_received, 1u);
  EXPECT_EQ(filesIn(options_.in_dir), 1u);  // only the agent's temporary file
  EXPECT_TRUE(fs::exists(fs::path(options_.out_dir) / "a.xml.apprec.xml"));
  EXPECT_TRUE(fs::exists(fs::path(options_.out_dir) / "b.xml.apprec.xml"));
  EXPECT_TRUE(fs::exists(fs::path(options_.error_dir) / "b.xml"));
  EXPECT_TRUE(fs::exists(fs::path(options_.error_dir) / "b.xml.apprec.xml"));
  EXPECT_TRUE(fs::exists(fs::path(options_.out_dir) / "received" / "c.xml"));
  const std::string rejected = readFile(fs::path(options_.out_dir) / "b.xml.apprec.xml");
  EXPECT_NE(rejected.find("V=\"T01\""), std::string::npos);
  // The AppRecs planbro wrote are themselves valid AppRecs.
  EXPECT_EQ(sharedCodec()->decode(readFile(fs::path(options_.out_dir) / "a.xml.apprec.xml")).status, AppRecStatus::kOk);
  EXPECT_EQ(sharedCodec()->decode(rejected).status, AppRecStatus::kOk);
  EXPECT_EQ(communications(), 1u);

  auto again = spool->pollOnce();
  ASSERT_TRUE(again.isOk());
  EXPECT_EQ(again->accepted + again->rejected + again->apprecs_received, 0u);
}

TEST_F(PloSpool, AFileLeftHalfProcessedByACrashIsFinishedWithoutDuplicates) {
  auto spool = FileSpool::open(options_, *processor_);
  ASSERT_TRUE(spool.isOk());
  const std::string message =
      readFile(samplesDir() / "dialogmelding-1.1/Helsefaglig_dialog_angi_profesjon_hos_mottaker.xml");
  // The crash came after the writes and before the AppRec: the store has the message, the file is still claimed.
  ASSERT_TRUE(processor_->process(message).isOk());
  ASSERT_EQ(communications(), 1u);
  const fs::path work = fs::path(options_.in_dir) / ".work";
  writeFile(work / "a.xml", message);

  auto stats = spool->pollOnce();
  ASSERT_TRUE(stats.isOk());
  EXPECT_EQ(stats->accepted, 1u);
  EXPECT_EQ(communications(), 1u);
  EXPECT_TRUE(fs::exists(fs::path(options_.out_dir) / "a.xml.apprec.xml"));
  EXPECT_EQ(filesIn(work), 0u);
}

TEST_F(PloSpool, AnOversizedFileIsRejectedWithoutBeingReadWhole) {
  CodecOptions small;
  small.max_message_bytes = 4096;
  auto loaded = loadCodec(PLANBRO_PLO_SOURCE_DIR, small);
  ASSERT_TRUE(loaded.isOk());
  InboundProcessor processor(*loaded, operations_.get(), InboundOptions{});
  auto spool = FileSpool::open(options_, processor);
  ASSERT_TRUE(spool.isOk());
  writeFile(fs::path(options_.in_dir) / "big.xml", std::string(1u << 20, 'x'));
  auto stats = spool->pollOnce();
  ASSERT_TRUE(stats.isOk());
  EXPECT_EQ(stats->rejected, 1u);
  EXPECT_NE(readFile(fs::path(options_.out_dir) / "big.xml.apprec.xml").find("V=\"T99\""), std::string::npos);
}

// Outside probe: a 242-byte name made an AppRec name past NAME_MAX, the write failed, and every later poll stopped
// at the file in work; a symlink in `in` was followed to a file outside the spool.
TEST_F(PloSpool, ALongNameIsAnsweredAndALinkOrFifoIsLeftAlone) {
  auto spool = FileSpool::open(options_, *processor_);
  ASSERT_TRUE(spool.isOk());
  const std::string long_name = "a-" + std::string(236, 'n') + ".xml";
  writeFile(fs::path(options_.in_dir) / long_name, "junk");
  const fs::path outside = fs::path(dir_) / "outside.xml";
  writeFile(outside, "junk outside the spool");
  fs::create_symlink(outside, fs::path(options_.in_dir) / "b-link.xml");
  ASSERT_EQ(::mkfifo((fs::path(options_.in_dir) / "c-fifo.xml").c_str(), 0600), 0);
  auto stats = spool->pollOnce();
  ASSERT_TRUE(stats.isOk()) << stats.status().message();
  EXPECT_EQ(stats->rejected, 1u);
  size_t answers = 0;
  for (const auto& entry : fs::directory_iterator(options_.out_dir)) {
    const std::string name = entry.path().filename().string();
    if (name.ends_with(".apprec.xml")) {
      ++answers;
      EXPECT_LE(name.size() + 5, 255u);
      EXPECT_TRUE(name.starts_with(long_name.substr(0, 150))) << name;
    }
  }
  EXPECT_EQ(answers, 1u);
  EXPECT_TRUE(fs::is_symlink(fs::path(options_.in_dir) / "b-link.xml"));
  EXPECT_TRUE(fs::exists(fs::path(options_.in_dir) / "c-fifo.xml"));
  EXPECT_TRUE(fs::exists(outside));
  writeFile(fs::path(options_.in_dir) / "d.xml", "junk");  // the spool goes on
  auto next = spool->pollOnce();
  ASSERT_TRUE(next.isOk()) << next.status().message();
  EXPECT_EQ(next->rejected, 1u);
  EXPECT_TRUE(fs::exists(fs::path(options_.out_dir) / "d.xml.apprec.xml"));
}

TEST_F(PloSpool, AFileTheGatewayMayNotReadIsSetAsideAndTheSpoolGoesOn) {
  // Root reads every file whatever its mode, so only a run as another user can make one unreadable.
  if (::geteuid() == 0) GTEST_SKIP() << "running as root: a file's mode cannot deny root a read";
  auto spool = FileSpool::open(options_, *processor_);
  ASSERT_TRUE(spool.isOk());
  const fs::path unreadable = fs::path(options_.in_dir) / "a-unreadable.xml";
  writeFile(unreadable, "junk");
  fs::permissions(unreadable, fs::perms::none);
  auto stats = spool->pollOnce();
  ASSERT_TRUE(stats.isOk()) << stats.status().message();
  EXPECT_EQ(stats->rejected, 1u);
  EXPECT_TRUE(fs::exists(fs::path(options_.error_dir) / "a-unreadable.xml"));
  writeFile(fs::path(options_.in_dir) / "b.xml", "junk");  // the spool goes on
  auto next = spool->pollOnce();
  ASSERT_TRUE(next.isOk()) << next.status().message();
  EXPECT_EQ(next->rejected, 1u);
  EXPECT_TRUE(fs::exists(fs::path(options_.out_dir) / "b.xml.apprec.xml"));
}

TEST_F(PloSpool, AtMostMaxFilesPerPoll) {
  options_.max_files_per_poll = 2;
  auto spool = FileSpool::open(options_, *processor_);
  ASSERT_TRUE(spool.isOk());
  for (int i = 0; i < 5; ++i) writeFile(fs::path(options_.in_dir) / ("m" + std::to_string(i) + ".xml"), "junk");
  auto stats = spool->pollOnce();
  ASSERT_TRUE(stats.isOk());
  EXPECT_EQ(stats->rejected, 2u);
  EXPECT_EQ(filesIn(options_.in_dir), 3u);
}

TEST_F(PloSpool, ConcurrentWorkersWriteEachMessageOnceEvenWhenItArrivesTwiceAtOnce) {
  options_.workers = 8;
  auto spool = FileSpool::open(options_, *processor_);
  ASSERT_TRUE(spool.isOk());
  const std::string message =
      readFile(samplesDir() / "dialogmelding-1.1/Helsefaglig_dialog_angi_profesjon_hos_mottaker.xml");
  const std::string id = "d93cebe5-ac91-4022-8969-4f93300d8171";
  ASSERT_NE(message.find(id), std::string::npos);
  for (int i = 0; i < 10; ++i) {
    std::string distinct = message;
    distinct.replace(distinct.find(id), id.size(), "d93cebe5-ac91-4022-8969-4f93300d81" + std::to_string(10 + i));
    // Each message twice, in files the workers take at the same time.
    writeFile(fs::path(options_.in_dir) / ("m" + std::to_string(i) + "a.xml"), distinct);
    writeFile(fs::path(options_.in_dir) / ("m" + std::to_string(i) + "b.xml"), distinct);
  }
  auto stats = spool->pollOnce();
  ASSERT_TRUE(stats.isOk()) << stats.status().message();
  EXPECT_EQ(stats->accepted, 20u);
  EXPECT_EQ(communications(), 10u);
  EXPECT_EQ(filesIn(options_.out_dir), 20u);
}

TEST_F(PloSpool, MissingFolderSettingIsAnError) {
  options_.out_dir.clear();
  auto spool = FileSpool::open(options_, *processor_);
  ASSERT_FALSE(spool.isOk());
  EXPECT_NE(spool.status().message().find("adapters.plo.spool.out"), std::string::npos);
}

}  // namespace
}  // namespace planbro::adapters::plo
