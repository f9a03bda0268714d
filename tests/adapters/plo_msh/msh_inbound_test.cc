// The adapter's inbound runtime over the message service, on the durable (SQLite) store: one poll takes each unread
// message through fetch → codec → operations write → AppRec → mark read; a redelivered message changes nothing; a
// hostile or oversized one is answered Avvist and the poll goes on; a failure before the AppRec leaves the message
// unread for the next poll, which applies it once.
#include "planbro/adapters/plo/msh_inbound.h"

#include "msh_test_support.h"
#include "planbro/adapters/plo/inbound.h"
#include "planbro/adapters/plo/plo_adapter.h"
#include "planbro/gateway/search/search_executor.h"

namespace planbro::adapters::plo::testing {
namespace {

class MshInboundTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = makeTempDir("planbro-msh-inbound");
    node_.open(dir_);
    if (HasFatalFailure()) return;
    loopback_ = std::make_unique<MshLoopback>(sharedCodec());
    ASSERT_TRUE(loopback_->start().isOk());
    hospital_ = makeParty(*loopback_, dir_, "hospital", kHospitalHer);
    MshClientOptions o = loopbackClientOptions(*loopback_);
    o.max_attempts = 2;
    municipality_ = makeParty(*loopback_, dir_, "municipality", kMunicipalityHer, o);
    ASSERT_TRUE(hospital_.client && municipality_.client);
    MshInboundOptions io;
    io.her_id = kMunicipalityHer;
    io.max_messages_per_poll = 10;
    io.on_apprec = [this](const MshMessage& envelope, const ReceivedAppRec& apprec) {
      received_.push_back({envelope.sender_her_id, apprec.original_msg_id});
      return Status::ok();
    };
    inbound_ = std::make_unique<MshInbound>(*municipality_.client, *node_.processor, io);
  }
  void TearDown() override {
    inbound_.reset();
    loopback_.reset();
    node_.close();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  size_t count(const std::string& type) { return node_.count(type); }

  /** The AppRecs in the hospital's mailbox, decoded, in arrival order. */
  std::vector<ReceivedAppRec> hospitalAppRecs() {
    std::vector<ReceivedAppRec> out;
    for (const LoopbackMessage& m : loopback_->mailbox(kHospitalHer)) {
      if (!m.is_apprec) continue;
      DecodedMessage d = sharedCodec()->decode(m.document);
      EXPECT_TRUE(d.apprec.has_value()) << d.summary;
      if (d.apprec) out.push_back(*d.apprec);
    }
    return out;
  }

  std::string dir_;
  PloStore node_;  // the store, operations and processor; closed in TearDown
  std::unique_ptr<MshLoopback> loopback_;
  MshParty hospital_, municipality_;
  std::unique_ptr<MshInbound> inbound_;
  std::vector<std::pair<int64_t, std::string>> received_;
};

TEST_F(MshInboundTest, AMessageIsWrittenAnsweredAndMarkedReadAndItsRedeliveryChangesNothing) {
  ASSERT_TRUE(hospital_.client->postMessage(needForIpMessage()).isOk());
  auto stats = inbound_->pollOnce();
  ASSERT_TRUE(stats.isOk()) << stats.status().message();
  EXPECT_EQ(stats->accepted, 1u);
  EXPECT_EQ(stats->rejected, 0u);
  EXPECT_EQ(count("Task"), 1u);
  EXPECT_EQ(count("Communication"), 1u);
  EXPECT_EQ(loopback_->unread(kMunicipalityHer), 0u);
  std::vector<ReceivedAppRec> apprecs = hospitalAppRecs();
  ASSERT_EQ(apprecs.size(), 1u);
  EXPECT_EQ(apprecs[0].status, AppRecStatus::kOk);
  EXPECT_EQ(apprecs[0].original_msg_id, "d93cebe5-ac91-4022-8969-4f93300d8171");

  // The same message again (the hospital's system sent it twice): answered OK again, nothing new written.
  ASSERT_TRUE(hospital_.client->postMessage(needForIpMessage()).isOk());
  stats = inbound_->pollOnce();
  ASSERT_TRUE(stats.isOk());
  EXPECT_EQ(stats->accepted, 1u);
  EXPECT_EQ(count("Task"), 1u);
  EXPECT_EQ(count("Communication"), 1u);
  EXPECT_EQ(hospitalAppRecs().size(), 2u);

  // An empty mailbox: a poll that does nothing.
  stats = inbound_->pollOnce();
  ASSERT_TRUE(stats.isOk());
  EXPECT_EQ(stats->accepted + stats->rejected + stats->apprecs_received + stats->retry_later, 0u);
}

TEST_F(MshInboundTest, HostileAndOversizedDocumentsAreAnsweredAvvistAndThePollGoesOn) {
  const std::string billion_laughs =
      "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;\">]>"
      "<MsgHead xmlns=\"http://www.kith.no/xmlstds/msghead/2006-05-24\">&lol2;</MsgHead>";
  loopback_->deliverRaw(kHospitalHer, kMunicipalityHer, billion_laughs);
  loopback_->deliverRaw(kHospitalHer, kMunicipalityHer, std::string("\xff\xfe not xml", 11));
  loopback_->deliverRaw(kHospitalHer, kMunicipalityHer, std::string(node_.processor->maxMessageBytes() + 1, '<'));
  ASSERT_TRUE(hospital_.client->postMessage(needForIpMessage()).isOk());
  auto stats = inbound_->pollOnce();
  ASSERT_TRUE(stats.isOk()) << stats.status().message();
  EXPECT_EQ(stats->rejected, 3u);
  EXPECT_EQ(stats->accepted, 1u);
  EXPECT_EQ(stats->retry_later, 0u);
  EXPECT_EQ(loopback_->unread(kMunicipalityHer), 0u);
  EXPECT_EQ(count("Task"), 1u);  // only the good message wrote
  size_t avvist = 0;
  for (const LoopbackMessage& m : loopback_->mailbox(kMunicipalityHer)) {
    if (m.apprec_status == "Rejected") ++avvist;
  }
  EXPECT_EQ(avvist, 3u);
}

TEST_F(MshInboundTest, AFailureBeforeTheAppRecLeavesTheMessageForTheNextPoll) {
  ASSERT_TRUE(hospital_.client->postMessage(needForIpMessage()).isOk());
  ASSERT_TRUE(hospital_.client->postMessage(needForIpMessage("0c3f1f5e-1f7b-4b8e-9a55-7d7f3e0b6a01")).isOk());
  // The service refuses the AppRec on both of the client's tries: the first message is written but neither
  // answered nor marked read, and the poll stops there (the second is not touched).
  loopback_->failNextMatching("POST", "/apprec/", 2, 503);
  auto failed = inbound_->pollOnce();
  ASSERT_TRUE(failed.isOk()) << failed.status().message();
  EXPECT_EQ(failed->retry_later, 1u);
  EXPECT_EQ(failed->accepted, 0u);
  EXPECT_EQ(loopback_->unread(kMunicipalityHer), 2u);
  EXPECT_EQ(count("Task"), 1u);
  EXPECT_TRUE(hospitalAppRecs().empty());

  // The next poll takes both: the first one's writes are found, not repeated; each is answered once.
  auto ok = inbound_->pollOnce();
  ASSERT_TRUE(ok.isOk()) << ok.status().message();
  EXPECT_EQ(ok->accepted, 2u);
  EXPECT_EQ(loopback_->unread(kMunicipalityHer), 0u);
  EXPECT_EQ(count("Task"), 2u);
  EXPECT_EQ(hospitalAppRecs().size(), 2u);

  // The message list itself unreachable: the poll reports it and changes nothing.
  loopback_->failNext(10, 503);
  EXPECT_FALSE(inbound_->pollOnce().isOk());
  loopback_->failNext(0);
}

TEST_F(MshInboundTest, AMessageWhoseAppRecTheServiceRefusesDoesNotHoldUpTheOthers) {
  ASSERT_TRUE(hospital_.client->postMessage(needForIpMessage()).isOk());
  ASSERT_TRUE(hospital_.client->postMessage(needForIpMessage("0c3f1f5e-1f7b-4b8e-9a55-7d7f3e0b6a01")).isOk());
  std::vector<std::string> failures;
  MshInboundOptions io;
  io.her_id = kMunicipalityHer;
  io.on_failure = [&failures](const MshMessage& m, const Status& why) { failures.push_back(m.id + ": " + why.message()); };
  MshInbound inbound(*municipality_.client, *node_.processor, io);
  // A 400 for the first message's AppRec is about that message: it stays unread, the second goes through.
  loopback_->failNextMatching("POST", "/apprec/", 1, 400);
  auto stats = inbound.pollOnce();
  ASSERT_TRUE(stats.isOk()) << stats.status().message();
  EXPECT_EQ(stats->retry_later, 1u);
  EXPECT_EQ(stats->accepted, 1u);
  EXPECT_EQ(loopback_->unread(kMunicipalityHer), 1u);
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_NE(failures[0].find("HTTP 400"), std::string::npos) << failures[0];
  // The next poll answers it.
  stats = inbound.pollOnce();
  ASSERT_TRUE(stats.isOk());
  EXPECT_EQ(stats->accepted, 1u);
  EXPECT_EQ(loopback_->unread(kMunicipalityHer), 0u);
  EXPECT_EQ(count("Task"), 2u);
}

TEST_F(MshInboundTest, AMailboxHeadOfMessagesThatAlwaysFailDoesNotBlockNewerOnes) {
  // 100 messages at the head of the mailbox whose documents the service never hands out (403), then a good one.
  // The API lists the oldest 100 unread: without setting the head aside, the good one would never be listed.
  std::vector<std::string> poisoned;
  for (int i = 0; i < 100; ++i) {
    poisoned.push_back(loopback_->deliverRaw(kHospitalHer, kMunicipalityHer, "<poisoned/>"));
    loopback_->poison(poisoned.back(), "GET", 403);
  }
  ASSERT_TRUE(hospital_.client->postMessage(needForIpMessage()).isOk());
  MshInboundOptions io;
  io.her_id = kMunicipalityHer;
  io.max_messages_per_poll = 100;
  io.max_failures_per_message = 3;
  size_t set_aside_logged = 0;
  io.on_failure = [&set_aside_logged](const MshMessage&, const Status& why) {
    if (why.message().find("set aside") != std::string::npos) ++set_aside_logged;
  };
  MshInbound inbound(*municipality_.client, *node_.processor, io);
  for (int poll = 1; poll <= 2; ++poll) {
    auto stats = inbound.pollOnce();
    ASSERT_TRUE(stats.isOk()) << stats.status().message();
    EXPECT_EQ(stats->retry_later, 100u) << "poll " << poll;  // each failure is the message's own: the poll goes on
    EXPECT_EQ(stats->set_aside, 0u);
    EXPECT_EQ(stats->accepted, 0u);
  }
  auto third = inbound.pollOnce();  // the third failure of each: answered Avvist and marked read
  ASSERT_TRUE(third.isOk()) << third.status().message();
  EXPECT_EQ(third->set_aside, 100u);
  EXPECT_EQ(set_aside_logged, 100u);
  EXPECT_EQ(loopback_->unread(kMunicipalityHer), 1u);
  auto fourth = inbound.pollOnce();  // the newer message is listed and taken in
  ASSERT_TRUE(fourth.isOk()) << fourth.status().message();
  EXPECT_EQ(fourth->accepted, 1u);
  EXPECT_EQ(loopback_->unread(kMunicipalityHer), 0u);
  EXPECT_EQ(count("Task"), 1u);
  // Every poisoned message was answered Avvist (the service sends its sender the AppRec) and read.
  size_t avvist = 0;
  for (const LoopbackMessage& m : loopback_->mailbox(kMunicipalityHer)) {
    if (m.read && m.apprec_status == std::optional<std::string>("Rejected")) ++avvist;
  }
  EXPECT_EQ(avvist, 100u);
}

TEST_F(MshInboundTest, TheServiceBeingDownDoesNotCountAgainstAMessage) {
  ASSERT_TRUE(hospital_.client->postMessage(needForIpMessage()).isOk());
  MshInboundOptions io;
  io.her_id = kMunicipalityHer;
  io.max_failures_per_message = 1;
  MshInbound inbound(*municipality_.client, *node_.processor, io);
  // The list is read, then every call fails as unavailable: the message is left for later, never set aside.
  loopback_->failNextMatching("GET", "/business-document", 4, 503);  // 2 polls × 2 tries
  for (int poll = 0; poll < 2; ++poll) {
    auto stats = inbound.pollOnce();
    ASSERT_TRUE(stats.isOk()) << stats.status().message();
    EXPECT_EQ(stats->set_aside, 0u);
    EXPECT_EQ(stats->retry_later, 1u);
  }
  loopback_->failNextMatching("GET", "/business-document", 0, 503);
  auto stats = inbound.pollOnce();
  ASSERT_TRUE(stats.isOk());
  EXPECT_EQ(stats->accepted, 1u);
  EXPECT_EQ(count("Task"), 1u);
}

TEST_F(MshInboundTest, AnAppRecForAMessageWeSentIsHandedOverAndMarkedRead) {
  // The municipality sent the hospital a message; the hospital answers it; the municipality's poll receives it.
  std::string to_hospital = needForIpMessage("7d1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c4d");
  // The same dialog, the other way round.
  replaceBetween(to_hospital, "<Sender>", "</Sender>",
                 "<Sender>" + organisation("TRONDHEIM KOMMUNE", 112374, "Koordinerende enhet", kMunicipalityHer) +
                     "</Sender>");
  replaceBetween(to_hospital, "<Receiver>", "</Receiver>",
                 "<Receiver>" + organisation("ST OLAVS HOSPITAL HF", 59, "Ortopedisk kirurgi", kHospitalHer) +
                     "</Receiver>");
  auto sent = municipality_.client->postMessage(to_hospital, {kHospitalHer});
  ASSERT_TRUE(sent.isOk()) << sent.status().message();
  auto hospital_unread = hospital_.client->unreadMessages(kHospitalHer, 10);
  ASSERT_TRUE(hospital_unread.isOk());
  ASSERT_EQ(hospital_unread->size(), 1u);
  ASSERT_TRUE(hospital_.client->postAppRec(hospital_unread->front().id, kHospitalHer, AppRecStatus::kOk, {}).isOk());

  auto stats = inbound_->pollOnce();
  ASSERT_TRUE(stats.isOk()) << stats.status().message();
  EXPECT_EQ(stats->apprecs_received, 1u);
  EXPECT_EQ(stats->accepted + stats->rejected, 0u);  // an AppRec is not answered
  ASSERT_EQ(received_.size(), 1u);
  EXPECT_EQ(received_[0].first, kHospitalHer);
  EXPECT_EQ(received_[0].second, "7d1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c4d");
  EXPECT_EQ(loopback_->unread(kMunicipalityHer), 0u);
  EXPECT_TRUE(hospitalAppRecs().empty());  // nothing was sent back for it
}

TEST_F(MshInboundTest, TheAdapterStopsAtOnceWhileItsClientWaitsOutABackoff) {
  // The message service fails every call and the configured backoff is ten minutes a try: stopping the adapter
  // must wake the wait rather than sit it out (without that, this test runs into ctest's timeout).
  loopback_->failNext(1000, 503);
  const std::string url = loopback_->baseUrl();
  PloAdapterOptions ao;
  ao.data_dir = PLANBRO_PLO_SOURCE_DIR;
  PloMshOptions mo;
  mo.helseid.token_endpoint = url + "/connect/token";
  mo.helseid.client_id = "municipality";
  mo.helseid.key_file = municipality_.key_file;
  mo.client.base_url = url;
  mo.client.max_attempts = 20;
  mo.client.backoff_initial = std::chrono::milliseconds(600'000);
  mo.client.backoff_max = std::chrono::milliseconds(600'000);
  mo.inbound.her_id = kMunicipalityHer;
  mo.allow_plain_http = true;
  ao.msh = mo;
  std::vector<std::string> lines;
  std::mutex lines_mutex;
  ao.log = [&](std::string_view line) {
    std::lock_guard<std::mutex> lock(lines_mutex);
    lines.emplace_back(line);
  };
  auto adapter = PloAdapter::start(ao, *node_.operations);
  ASSERT_TRUE(adapter.isOk()) << adapter.status().message();
  ASSERT_NE((*adapter)->mshClient(), nullptr);
  // The first call was refused: the poll thread is now in (or about to enter) its ten-minute wait.
  ASSERT_TRUE(loopback_->waitForApiCalls(1, std::chrono::seconds(20)));
  adapter->reset();  // wakes the wait and joins the poll thread
  EXPECT_LE(loopback_->apiCalls(), 20u);  // the rest of the tries, at most, without waiting
  std::lock_guard<std::mutex> lock(lines_mutex);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("MSH poll failed"), std::string::npos) << lines[0];
  loopback_->failNext(0);
}

}  // namespace
}  // namespace planbro::adapters::plo::testing
