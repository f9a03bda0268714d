// The MSH API v2 client against the loopback message service: every operation the adapter uses, the HelseID
// token (client assertion checked, cached, DPoP-bound, nonce handled), bounded retries with backoff, the answer
// size bound, and refusals that are not retried.
#include <algorithm>

#include "msh_test_support.h"

namespace planbro::adapters::plo::testing {
namespace {

class MshClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = makeTempDir("planbro-msh");
    ASSERT_NE(sharedCodec(), nullptr);
    loopback_ = std::make_unique<MshLoopback>(sharedCodec());
    ASSERT_TRUE(loopback_->start().isOk());
  }
  void TearDown() override {
    loopback_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::string refusals() const {
    std::string out;
    for (const std::string& r : loopback_->refusals()) out += r + "; ";
    return out;
  }

  std::string dir_;
  std::unique_ptr<MshLoopback> loopback_;
};

TEST_F(MshClientTest, ASentMessageIsPolledFetchedAnsweredAndMarkedRead) {
  MshParty hospital = makeParty(*loopback_, dir_, "hospital", kHospitalHer);
  MshParty municipality = makeParty(*loopback_, dir_, "municipality", kMunicipalityHer);
  ASSERT_TRUE(hospital.client && municipality.client);
  const std::string message = needForIpMessage();
  ASSERT_EQ(sharedCodec()->decode(message).status, AppRecStatus::kOk) << sharedCodec()->decode(message).summary;

  auto sent = hospital.client->postMessage(message);
  ASSERT_TRUE(sent.isOk()) << sent.status().message() << " " << refusals();

  auto unread = municipality.client->unreadMessages(kMunicipalityHer, 10);
  ASSERT_TRUE(unread.isOk()) << unread.status().message() << " " << refusals();
  ASSERT_EQ(unread->size(), 1u);
  const MshMessage& m = unread->front();
  EXPECT_EQ(m.id, *sent);
  EXPECT_EQ(m.sender_her_id, kHospitalHer);
  EXPECT_EQ(m.receiver_her_id, kMunicipalityHer);
  EXPECT_EQ(m.business_document_id, "d93cebe5-ac91-4022-8969-4f93300d8171");
  EXPECT_FALSE(m.is_apprec);

  auto document = municipality.client->businessDocument(m.id);
  ASSERT_TRUE(document.isOk()) << document.status().message();
  EXPECT_EQ(*document, message);  // byte for byte through base64 and JSON

  auto apprec = municipality.client->postAppRec(m.id, kMunicipalityHer, AppRecStatus::kOk, {});
  ASSERT_TRUE(apprec.isOk()) << apprec.status().message() << " " << refusals();
  ASSERT_TRUE(municipality.client->markRead(m.id, kMunicipalityHer).isOk());
  EXPECT_EQ(loopback_->unread(kMunicipalityHer), 0u);

  // The hospital sees the AppRec twice over: as the status of its message and as a message in its mailbox.
  auto info = hospital.client->appRecInfo(*sent);
  ASSERT_TRUE(info.isOk()) << info.status().message();
  ASSERT_EQ(info->size(), 1u);
  EXPECT_EQ(info->front().receiver_her_id, kMunicipalityHer);
  EXPECT_EQ(info->front().status, AppRecStatus::kOk);
  auto back = hospital.client->unreadMessages(kHospitalHer, 10);
  ASSERT_TRUE(back.isOk());
  ASSERT_EQ(back->size(), 1u);
  EXPECT_TRUE(back->front().is_apprec);
  auto apprec_xml = hospital.client->businessDocument(back->front().id);
  ASSERT_TRUE(apprec_xml.isOk());
  const DecodedMessage decoded = sharedCodec()->decode(*apprec_xml);
  ASSERT_TRUE(decoded.apprec.has_value()) << decoded.summary;
  EXPECT_EQ(decoded.apprec->original_msg_id, m.business_document_id);

  // One token per client for all of it: the cache holds; the nonce was asked for once per client and kept.
  EXPECT_EQ(hospital.helseid->tokensFetched(), 1u);
  EXPECT_EQ(municipality.helseid->tokensFetched(), 1u);
  EXPECT_EQ(loopback_->tokensIssued(), 2u);
}

TEST_F(MshClientTest, AMailboxOfAnotherPartyIsRefusedAndNotRetried) {
  MshParty hospital = makeParty(*loopback_, dir_, "hospital", kHospitalHer);
  ASSERT_TRUE(hospital.client);
  auto unread = hospital.client->unreadMessages(kMunicipalityHer, 10);
  ASSERT_FALSE(unread.isOk());
  EXPECT_EQ(unread.status().code(), StatusCode::kPermissionDenied) << unread.status().message();
  const uint64_t before = hospital.client->attempts();
  EXPECT_FALSE(hospital.client->markRead("00000000-0000-0000-0000-000000000000", kHospitalHer).isOk());
  EXPECT_EQ(hospital.client->attempts(), before + 1);  // a 404 is an answer: one try
}

TEST_F(MshClientTest, ServiceFailuresInPassingAreRetriedWithBoundedBackoff) {
  std::vector<std::chrono::milliseconds> waits;
  MshClientOptions o = loopbackClientOptions(*loopback_);
  o.max_attempts = 4;
  o.backoff_initial = std::chrono::milliseconds(100);
  o.backoff_max = std::chrono::milliseconds(250);
  o.sleep = [&waits](std::chrono::milliseconds d) { waits.push_back(d); };
  MshParty municipality = makeParty(*loopback_, dir_, "municipality", kMunicipalityHer, o);
  ASSERT_TRUE(municipality.client);
  ASSERT_TRUE(municipality.client->unreadMessages(kMunicipalityHer, 1).isOk()) << refusals();  // token and nonce in
  waits.clear();

  // Three failures, then the answer: four tries, three waits, doubled and capped.
  loopback_->failNext(3, 503);
  auto unread = municipality.client->unreadMessages(kMunicipalityHer, 1);
  ASSERT_TRUE(unread.isOk()) << unread.status().message();
  ASSERT_EQ(waits.size(), 3u);
  EXPECT_EQ(waits[0].count(), 100);
  EXPECT_EQ(waits[1].count(), 200);
  EXPECT_EQ(waits[2].count(), 250);

  // More failures than tries: kUnavailable after max_attempts, and the client does not loop further.
  waits.clear();
  loopback_->failNext(10, 502);
  const uint64_t calls = loopback_->apiCalls();
  auto failed = municipality.client->unreadMessages(kMunicipalityHer, 1);
  ASSERT_FALSE(failed.isOk());
  EXPECT_EQ(failed.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(loopback_->apiCalls() - calls, 4u);
  EXPECT_EQ(waits.size(), 3u);
  loopback_->failNext(0);
}

TEST_F(MshClientTest, AnAnswerOverTheBoundIsCutNotHeld) {
  MshClientOptions o = loopbackClientOptions(*loopback_);
  o.max_response_bytes = 64 * 1024;
  MshParty municipality = makeParty(*loopback_, dir_, "municipality", kMunicipalityHer, o);
  ASSERT_TRUE(municipality.client);
  const std::string id = loopback_->deliverRaw(kHospitalHer, kMunicipalityHer, std::string(200 * 1024, 'x'));
  auto document = municipality.client->businessDocument(id);
  ASSERT_FALSE(document.isOk());
  EXPECT_EQ(document.status().code(), StatusCode::kResourceExhausted) << document.status().message();
}

TEST_F(MshClientTest, AClientWhoseKeyTheServiceDoesNotKnowGetsNoToken) {
  MshParty hospital = makeParty(*loopback_, dir_, "hospital", kHospitalHer);
  ASSERT_TRUE(hospital.client);
  // The service knows another public key for this client: the assertion's signature fails.
  loopback_->registerClient("hospital", makeTestJwk().public_jwk, {kHospitalHer});
  auto unread = hospital.client->unreadMessages(kHospitalHer, 1);
  ASSERT_FALSE(unread.isOk());
  EXPECT_EQ(unread.status().code(), StatusCode::kUnauthenticated) << unread.status().message();
  EXPECT_EQ(loopback_->tokensIssued(), 0u);
}

TEST_F(MshClientTest, AKeyFileOthersCanReadIsRefused) {
  const std::string key = dir_ + "/open.jwk";
  writePrivateFile(key, makeTestJwk().private_jwk);
  std::filesystem::permissions(key, std::filesystem::perms::group_read, std::filesystem::perm_options::add);
  HelseIdOptions h;
  h.token_endpoint = loopback_->tokenEndpoint();
  h.client_id = "x";
  h.key_file = key;
  auto client = HelseIdClient::create(h);
  ASSERT_FALSE(client.isOk());
  EXPECT_NE(client.status().message().find("adapters.plo.msh.key_file"), std::string::npos);
}

TEST_F(MshClientTest, PlainHttpNeedsTheTestSwitch) {
  MshParty party = makeParty(*loopback_, dir_, "hospital", kHospitalHer);
  ASSERT_TRUE(party.helseid);
  auto client = MshClient::create(loopbackClientOptions(*loopback_), party.helseid, /*allow_plain_http=*/false);
  ASSERT_FALSE(client.isOk());
  EXPECT_NE(client.status().message().find("https://"), std::string::npos);
}

TEST_F(MshClientTest, AnExpiredTokenIsRenewedOnce) {
  MshParty municipality = makeParty(*loopback_, dir_, "municipality", kMunicipalityHer);
  ASSERT_TRUE(municipality.client);
  ASSERT_TRUE(municipality.client->unreadMessages(kMunicipalityHer, 1).isOk());
  // The service forgets the token (as after its own restart): a 401 that asks for no nonce → one new token, and
  // the call goes through.
  loopback_->forgetTokens();
  auto again = municipality.client->unreadMessages(kMunicipalityHer, 1);
  EXPECT_TRUE(again.isOk()) << again.status().message() << " " << refusals();
  EXPECT_EQ(municipality.helseid->tokensFetched(), 2u);
}

TEST(MshClientTls, TheServiceMustProveItselfAgainstTheConfiguredTrust) {
  const std::string dir = makeTempDir("planbro-msh-tls");
  const TestTlsFiles tls = makeLoopbackTls(dir);
  MshLoopbackOptions lo;
  lo.tls_certificate_file = tls.certificate_file;
  lo.tls_private_key_file = tls.private_key_file;
  MshLoopback loopback(sharedCodec(), lo);
  ASSERT_TRUE(loopback.start().isOk());
  ASSERT_EQ(loopback.baseUrl().rfind("https://", 0), 0u);
  const TestJwk jwk = makeTestJwk();
  writePrivateFile(dir + "/m.jwk", jwk.private_jwk);
  loopback.registerClient("municipality", jwk.public_jwk, {kMunicipalityHer});

  const auto clientWith = [&](const std::string& ca_file) {
    HelseIdOptions h;
    h.token_endpoint = loopback.tokenEndpoint();
    h.client_id = "municipality";
    h.key_file = dir + "/m.jwk";
    h.ca_file = ca_file;
    auto helseid = HelseIdClient::create(h);
    EXPECT_TRUE(helseid.isOk());
    MshClientOptions o = loopbackClientOptions(loopback);
    o.ca_file = ca_file;
    o.max_attempts = 2;
    auto client = MshClient::create(o, std::shared_ptr<HelseIdClient>(std::move(helseid).value()));
    EXPECT_TRUE(client.isOk()) << client.status().message();  // https://: no test switch needed
    return std::move(client).value();
  };

  // Trusting the loopback's certificate: the calls go through.
  auto trusted = clientWith(tls.certificate_file);
  auto unread = trusted->unreadMessages(kMunicipalityHer, 1);
  EXPECT_TRUE(unread.isOk()) << unread.status().message() << " " << loopback.refusals().size();
  const uint64_t tokens = loopback.tokensIssued();
  const uint64_t calls = loopback.apiCalls();

  // The system trust store does not know it: no token is asked for, no call reaches the service.
  auto untrusted = clientWith("");
  auto refused = untrusted->unreadMessages(kMunicipalityHer, 1);
  ASSERT_FALSE(refused.isOk());
  EXPECT_EQ(refused.status().code(), StatusCode::kUnavailable) << refused.status().message();
  EXPECT_EQ(loopback.tokensIssued(), tokens);
  EXPECT_EQ(loopback.apiCalls(), calls);
  loopback.stop();
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

}  // namespace
}  // namespace planbro::adapters::plo::testing
