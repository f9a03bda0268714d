// The dispatcher end to end on loopback: a real store (SQLite file; PostgreSQL where the cluster is set), the
// rest-hook transport over libcurl, and real HTTP receivers (test_receiver.h). Time is an injected clock, so
// backoff and dead-letter ages are exact and nothing sleeps; every wait is a bounded number of rounds.
#include <libpq-fe.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <random>

#include <gtest/gtest.h>

#include "planbro/gateway/dispatch/dispatch_service.h"
#include "planbro/gateway/dispatch/dispatcher.h"
#include "planbro/gateway/dispatch/ordering_key.h"
#include "planbro/gateway/dispatch/rest_hook_transport.h"
#include "planbro/gateway/store/dispatch_state.h"
#include "test_receiver.h"
#include "../../support/test_store_place.h"

namespace planbro::gateway::dispatch {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::ReceivedRequest;
using testing::TestReceiver;

using planbro::testing::uniqueTestName;

/** A clock the test moves. */
struct ManualClock {
  std::shared_ptr<std::atomic<int64_t>> now = std::make_shared<std::atomic<int64_t>>(1'700'000'000'000'000);
  store::Clock clock() const {
    auto n = now;
    return [n] { return store::Timestamp(std::chrono::microseconds(n->load())); };
  }
  void advance(std::chrono::microseconds d) const { now->fetch_add(d.count()); }
};

std::string patient(const std::string& id) { return R"({"resourceType":"Patient","id":")" + id + R"("})"; }
std::string withSubject(const std::string& type, const std::string& id, const std::string& patient_id,
                        const std::string& extra = "") {
  return R"({"resourceType":")" + type + R"(","id":")" + id + R"(","subject":{"reference":"Patient/)" + patient_id +
         R"("})" + extra + "}";
}

class DispatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("planbro-dispatch-" + uniqueTestName());
    std::filesystem::create_directories(dir_);
    reopenStore();
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  void reopenStore() {
    store_.reset();
    store::SqliteStoreOptions o;
    o.path = (dir_ / "store.db").string();
    o.clock = clock_.clock();
    auto s = store::openSqliteStore(o);
    ASSERT_TRUE(s.isOk()) << s.status().message();
    store_ = std::move(s).value();
  }

  void put(const std::string& type, const std::string& id, const std::string& json, const std::string& source = "rest") {
    Status s = store_->runTransaction({"tester", source}, [&](store::WriteTransaction& t) {
      return t.update(type, id, {json, {}}).status();
    });
    ASSERT_TRUE(s.isOk()) << s.message();
  }
  void remove(const std::string& type, const std::string& id) {
    ASSERT_TRUE(store_->runTransaction({"tester", "rest"}, [&](store::WriteTransaction& t) {
                        return t.remove(type, id).status();
                      }).isOk());
  }

  std::shared_ptr<Transport> restHook(const TestReceiver& receiver, RestHookOptions::Payload payload,
                                      std::vector<std::string> headers = {}) {
    RestHookOptions o;
    o.endpoint = receiver.url() + "/fhir";
    o.payload = payload;
    o.allow_plain_http = true;
    o.headers = std::move(headers);
    o.timeout = seconds(10);
    auto t = makeRestHookTransport(o);
    EXPECT_TRUE(t.isOk()) << t.status().message();
    return t.isOk() ? *t : nullptr;
  }

  SubscriberSpec subscriber(const std::string& name, std::shared_ptr<Transport> transport,
                            SubscriberSpec::Start start = SubscriberSpec::Start::kBeginning) {
    SubscriberSpec s;
    s.name = name;
    s.transport = std::move(transport);
    s.start = start;
    return s;
  }

  DispatcherOptions options() {
    DispatcherOptions o;
    o.node_id = "node-a";
    o.clock = clock_.clock();
    o.random = [] { return 0.0; };  // the shortest jittered wait: half the exponential step
    o.partitions = 4;
    o.max_attempts = 4;
    o.backoff.initial = milliseconds(1000);
    o.backoff.max = milliseconds(8000);
    return o;
  }

  std::unique_ptr<Dispatcher> dispatcher(std::vector<SubscriberSpec> subs, DispatcherOptions o) {
    auto d = Dispatcher::create(*store_, std::move(o), std::move(subs));
    EXPECT_TRUE(d.isOk()) << d.status().message();
    return d.isOk() ? std::move(d).value() : nullptr;
  }

  // Rounds until `done` holds, at most `rounds` of them, moving the clock by `step` after each.
  void runUntil(Dispatcher& d, const std::function<bool()>& done, int rounds = 50,
                std::chrono::microseconds step = std::chrono::microseconds(0)) {
    for (int i = 0; i < rounds && !done(); ++i) {
      Status s = d.runOnce();
      ASSERT_TRUE(s.isOk()) << s.message();
      clock_.advance(step);
    }
    ASSERT_TRUE(done()) << "not done after " << rounds << " rounds";
  }

  static std::vector<std::string> paths(const std::vector<ReceivedRequest>& requests) {
    std::vector<std::string> out;
    for (const auto& r : requests) out.push_back(r.method + " " + r.path);
    return out;
  }

  ManualClock clock_;
  std::filesystem::path dir_;
  std::unique_ptr<store::ResourceStore> store_;
};

TEST(OrderingKey, IsThePatientCompartment) {
  EXPECT_EQ(orderingKey("Patient", "p1", ""), "Patient/p1");
  EXPECT_EQ(orderingKey("CarePlan", "c", R"({"subject":{"reference":"Patient/p1"}})"), "Patient/p1");
  EXPECT_EQ(orderingKey("Goal", "g", R"({"subject":{"reference":"https://fhir.example.no/fhir/Patient/p1/_history/3"}})"),
            "Patient/p1");
  EXPECT_EQ(orderingKey("Consent", "c", R"({"patient":{"reference":"Patient/p2"}})"), "Patient/p2");
  EXPECT_EQ(orderingKey("Consent", "c", R"({"subject":{"reference":"Patient/p2"}})"), "Consent/c");  // not its element
  EXPECT_EQ(orderingKey("CarePlan", "c", R"({"subject":{"reference":"Group/g"}})"), "CarePlan/c");
  EXPECT_EQ(orderingKey("CarePlan", "c", "not json"), "CarePlan/c");
  EXPECT_EQ(orderingKey("Organization", "o", R"({"name":"x"})"), "Organization/o");
  EXPECT_EQ(partitionOf("Patient/p1", 16), partitionOf("Patient/p1", 16));
  EXPECT_LT(partitionOf("Patient/p1", 16), 16);
  EXPECT_EQ(partitionOf("anything", 1), 0);
}

TEST(Backoff, DoublesUpToTheCapWithJitterInTheUpperHalf) {
  BackoffPolicy b{milliseconds(500), milliseconds(4000)};
  auto low = [] { return 0.0; };
  auto high = [] { return 0.999999; };
  EXPECT_EQ(b.delay(1, low), milliseconds(250));
  EXPECT_EQ(b.delay(2, low), milliseconds(500));
  EXPECT_EQ(b.delay(4, low), milliseconds(2000));
  EXPECT_EQ(b.delay(30, low), milliseconds(2000));  // capped (and no overflow)
  EXPECT_LT(b.delay(1, high), milliseconds(500));
  EXPECT_GT(b.delay(1, high), milliseconds(499));
}

TEST(RestHook, RejectsUnsafeOptions) {
  RestHookOptions o;
  o.endpoint = "http://example.org/hook";
  EXPECT_FALSE(makeRestHookTransport(o).isOk());  // plain http needs allow_plain_http
  o.endpoint = "https://example.org/hook";
  o.headers = {"Authorization: Bearer x\r\nX-Injected: 1"};
  EXPECT_FALSE(makeRestHookTransport(o).isOk());
  o.headers = {"no colon"};
  EXPECT_FALSE(makeRestHookTransport(o).isOk());
  o.headers = {"Authorization: Bearer abc"};
  o.client_cert_file = "/tmp/cert.pem";
  EXPECT_FALSE(makeRestHookTransport(o).isOk());  // a certificate without its key
  o.client_key_file = "/tmp/key.pem";
  EXPECT_TRUE(makeRestHookTransport(o).isOk());
}

// A plan created, its CareTeam changed and a Goal added reach the subscriber in commit order, as FHIR updates of
// the receiver's base with the credentials configured, each with its own stable idempotency key.
TEST_F(DispatcherTest, APlanItsCareTeamAndAGoalArriveInCommitOrder) {
  TestReceiver receiver;
  auto d = dispatcher({subscriber("helsenorge", restHook(receiver, RestHookOptions::Payload::kFull,
                                                         {"Authorization: Bearer secret-token"}))},
                      options());
  ASSERT_TRUE(d->runOnce().isOk());  // the subscriber exists from here on
  put("Patient", "p1", patient("p1"));
  put("CarePlan", "plan1", withSubject("CarePlan", "plan1", "p1"));
  put("CareTeam", "team1", withSubject("CareTeam", "team1", "p1"));
  put("CareTeam", "team1", withSubject("CareTeam", "team1", "p1", R"(,"name":"changed")"));
  put("Goal", "goal1", withSubject("Goal", "goal1", "p1"));
  remove("Goal", "goal1");
  runUntil(*d, [&] { return receiver.accepted().size() == 6; });
  auto got = receiver.accepted();
  EXPECT_EQ(paths(got), (std::vector<std::string>{"PUT /fhir/Patient/p1", "PUT /fhir/CarePlan/plan1",
                                                  "PUT /fhir/CareTeam/team1", "PUT /fhir/CareTeam/team1",
                                                  "PUT /fhir/Goal/goal1", "DELETE /fhir/Goal/goal1"}));
  EXPECT_NE(got[3].body.find("changed"), std::string::npos);
  EXPECT_EQ(got[1].headers["content-type"], "application/fhir+json");
  std::set<std::string> keys;
  for (auto& r : got) {
    EXPECT_EQ(r.headers["authorization"], "Bearer secret-token");
    EXPECT_EQ(r.headers["idempotency-key"].size(), 32u);
    keys.insert(r.headers["idempotency-key"]);
  }
  EXPECT_EQ(keys.size(), 6u);
  auto m = d->metrics();
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].delivered, 6);
  EXPECT_EQ(m[0].lag_events, 0);
  EXPECT_EQ(m[0].held_partitions, 4);
  // nothing more is sent: the positions are durable
  ASSERT_TRUE(d->runOnce().isOk());
  EXPECT_EQ(receiver.requests().size(), 6u);
}

TEST_F(DispatcherTest, PayloadEmptyAndIdOnlyCarryNoResource) {
  TestReceiver empty_receiver, id_receiver;
  auto d = dispatcher({subscriber("empty", restHook(empty_receiver, RestHookOptions::Payload::kEmpty)),
                       subscriber("id-only", restHook(id_receiver, RestHookOptions::Payload::kIdOnly))},
                      options());
  put("Patient", "p1", patient("p1"));
  runUntil(*d, [&] { return empty_receiver.accepted().size() == 1 && id_receiver.accepted().size() == 1; });
  auto e = empty_receiver.accepted()[0];
  EXPECT_EQ(e.method + " " + e.path, "POST /fhir");
  EXPECT_TRUE(e.body.empty());
  EXPECT_EQ(e.headers.count("content-location"), 0u);
  auto i = id_receiver.accepted()[0];
  EXPECT_EQ(i.method + " " + i.path, "POST /fhir");
  EXPECT_TRUE(i.body.empty());
  EXPECT_EQ(i.headers["content-location"], "Patient/p1/_history/1");
  // per receiver, the same event has a different idempotency key
  EXPECT_NE(e.headers["idempotency-key"], i.headers["idempotency-key"]);
}

TEST_F(DispatcherTest, AChangeIsNeverSentBackToTheSystemItCameFrom) {
  TestReceiver receiver;
  SubscriberSpec s = subscriber("dips", restHook(receiver, RestHookOptions::Payload::kFull));
  s.source_system = "adapter:dips";
  auto d = dispatcher({s}, options());
  put("Patient", "p1", patient("p1"), "adapter:dips");
  put("Patient", "p2", patient("p2"), "rest");
  put("Patient", "p3", patient("p3"), "adapter:dips");
  runUntil(*d, [&] { return receiver.accepted().size() == 1; });
  ASSERT_TRUE(d->runOnce().isOk());
  EXPECT_EQ(paths(receiver.accepted()), std::vector<std::string>{"PUT /fhir/Patient/p2"});
}

// The audit trail names who looked at which patient: a subscriber of every type still never receives it.
TEST_F(DispatcherTest, TheAuditTrailIsNeverDelivered) {
  TestReceiver receiver;
  auto d = dispatcher({subscriber("all", restHook(receiver, RestHookOptions::Payload::kFull))}, options());
  put("Patient", "p1", patient("p1"));
  put("AuditEvent", "a1", R"({"resourceType":"AuditEvent","id":"a1","entity":[{"what":{"reference":"Patient/p1"}}]})");
  put("Patient", "p2", patient("p2"));
  runUntil(*d, [&] { return receiver.accepted().size() == 2; });
  ASSERT_TRUE(d->runOnce().isOk());
  // Two patients are two plans, delivered independently: only the set is fixed, not the order between them.
  std::vector<std::string> got = paths(receiver.accepted());
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<std::string>{"PUT /fhir/Patient/p1", "PUT /fhir/Patient/p2"}));
}

// A receiver down for the whole writing gets every change, in order, once it is back; retries back off.
TEST_F(DispatcherTest, AReceiverThatWasDownGetsEverythingInOrderWhenItComesBack) {
  TestReceiver receiver;
  receiver.answer(503);
  auto o = options();
  o.max_attempts = 100;
  auto d = dispatcher({subscriber("s", restHook(receiver, RestHookOptions::Payload::kFull))}, o);
  put("Patient", "p1", patient("p1"));
  for (int i = 0; i < 5; ++i) put("Goal", "g" + std::to_string(i), withSubject("Goal", "g" + std::to_string(i), "p1"));
  ASSERT_TRUE(d->runOnce().isOk());
  // the first of the plan failed; the rest of the plan waits for it (in order), so one request only
  EXPECT_EQ(receiver.requests().size(), 1u);
  ASSERT_TRUE(d->runOnce().isOk());
  EXPECT_EQ(receiver.requests().size(), 1u);  // backing off: no retry before its time
  clock_.advance(seconds(1));
  ASSERT_TRUE(d->runOnce().isOk());
  EXPECT_EQ(receiver.requests().size(), 2u);
  auto m = d->metrics()[0];
  EXPECT_EQ(m.failures, 2);
  EXPECT_EQ(m.retries, 2);
  EXPECT_GT(m.lag_events, 0);
  EXPECT_EQ(m.last_error, "HTTP 503");
  receiver.answer(200);
  runUntil(*d, [&] { return receiver.accepted().size() == 6; }, 20, seconds(10));
  auto got = paths(receiver.accepted());
  EXPECT_EQ(got, (std::vector<std::string>{"PUT /fhir/Patient/p1", "PUT /fhir/Goal/g0", "PUT /fhir/Goal/g1",
                                           "PUT /fhir/Goal/g2", "PUT /fhir/Goal/g3", "PUT /fhir/Goal/g4"}));
  // the failed attempts and the success carried the same key
  auto all = receiver.requests();
  EXPECT_EQ(all.front().headers["idempotency-key"], receiver.accepted().front().headers["idempotency-key"]);
  EXPECT_TRUE(store_->dispatchState()->recordsWithStatus("s", store::DeliveryStatus::kRetrying, 0, 10)->empty());
}

// One plan's receiver endpoint failing does not hold up another plan.
TEST_F(DispatcherTest, ASlowPlanNeverBlocksAnother) {
  TestReceiver receiver;
  receiver.answerFor("/fhir/Goal/a", 500);
  auto o = options();
  o.partitions = 1;  // even in one partition: only the failing plan's own later changes wait
  o.max_attempts = 100;
  auto d = dispatcher({subscriber("s", restHook(receiver, RestHookOptions::Payload::kFull))}, o);
  put("Goal", "a1", withSubject("Goal", "a1", "pa"));
  put("Goal", "b1", withSubject("Goal", "b1", "pb"));
  put("Goal", "a2", withSubject("Goal", "a2", "pa"));
  put("Goal", "b2", withSubject("Goal", "b2", "pb"));
  runUntil(*d, [&] { return receiver.accepted().size() == 2; }, 5, seconds(5));
  EXPECT_EQ(paths(receiver.accepted()), (std::vector<std::string>{"PUT /fhir/Goal/b1", "PUT /fhir/Goal/b2"}));
  for (auto& r : receiver.requests()) EXPECT_NE(r.path, "/fhir/Goal/a2");  // a2 waits behind a1
  receiver.answerFor("/fhir/Goal/a", 200);
  runUntil(*d, [&] { return receiver.accepted().size() == 4; }, 20, seconds(10));
  auto got = paths(receiver.accepted());
  EXPECT_EQ(got[2], "PUT /fhir/Goal/a1");
  EXPECT_EQ(got[3], "PUT /fhir/Goal/a2");
}

// An always-failing receiver ends in dead letters; once fixed, an operator retries them and it holds everything.
TEST_F(DispatcherTest, DeadLettersAfterMaxAttemptsThenRetriedWhenTheReceiverIsFixed) {
  TestReceiver receiver;
  receiver.answer(500);
  auto d = dispatcher({subscriber("s", restHook(receiver, RestHookOptions::Payload::kFull))}, options());
  put("Patient", "p1", patient("p1"));
  put("Goal", "g1", withSubject("Goal", "g1", "p1"));
  put("Patient", "p2", patient("p2"));
  store::DispatchState& state = *store_->dispatchState();
  auto dead = [&] { return state.recordsWithStatus("s", store::DeliveryStatus::kDead, 0, 100)->size(); };
  runUntil(*d, [&] { return dead() == 3; }, 40, seconds(10));
  EXPECT_EQ(receiver.requests().size(), 3u * 4u);  // max_attempts each
  auto m = d->metrics()[0];
  EXPECT_EQ(m.dead_letters, 3);
  EXPECT_EQ(m.lag_events, 0);  // dead letters do not hold the subscriber back
  auto letters = state.recordsWithStatus("s", store::DeliveryStatus::kDead, 0, 100);
  EXPECT_EQ((*letters)[0].attempts, 4);
  EXPECT_EQ((*letters)[0].last_error, "HTTP 500");
  receiver.answer(200);
  ASSERT_TRUE(d->runOnce().isOk());
  EXPECT_TRUE(receiver.accepted().empty());  // not by itself
  for (auto& letter : *letters) ASSERT_TRUE(state.requestRedelivery("s", letter.position, clock_.clock()()).isOk());
  runUntil(*d, [&] { return receiver.accepted().size() == 3; });
  EXPECT_EQ(dead(), 0u);
  std::set<std::string> got;
  for (auto& p : paths(receiver.accepted())) got.insert(p);
  EXPECT_EQ(got, (std::set<std::string>{"PUT /fhir/Patient/p1", "PUT /fhir/Goal/g1", "PUT /fhir/Patient/p2"}));
  EXPECT_TRUE(state.recordsWithStatus("s", store::DeliveryStatus::kRedeliverRequested, 0, 10)->empty());
}

TEST_F(DispatcherTest, AnEventTheAccessPolicyRefusesIsNotSentAtAll) {
  struct HideConsents final : AccessPolicy {
    bool mayReceive(const SubscriberSpec&, const store::OutboxEvent& e, const std::string*) const override {
      return e.type != "Consent";
    }
  };
  TestReceiver receiver;
  auto o = options();
  o.access = std::make_shared<HideConsents>();
  auto d = dispatcher({subscriber("s", restHook(receiver, RestHookOptions::Payload::kIdOnly))}, o);
  put("Consent", "c1", R"({"resourceType":"Consent","patient":{"reference":"Patient/p1"}})");
  remove("Consent", "c1");  // not even the tombstone
  put("Patient", "p1", patient("p1"));
  runUntil(*d, [&] { return receiver.accepted().size() == 1; });
  ASSERT_TRUE(d->runOnce().isOk());
  ASSERT_EQ(receiver.requests().size(), 1u);
  EXPECT_EQ(receiver.requests()[0].headers["content-location"], "Patient/p1/_history/1");
  EXPECT_EQ(d->metrics()[0].filtered, 2);
}

// A restart (a new dispatcher on the reopened store) resumes after the last committed position: what was
// delivered is not sent again, what was not is.
TEST_F(DispatcherTest, ARestartResumesWhereDeliveryStopped) {
  TestReceiver receiver;
  {
    auto d = dispatcher({subscriber("s", restHook(receiver, RestHookOptions::Payload::kFull))}, options());
    put("Patient", "p1", patient("p1"));
    runUntil(*d, [&] { return receiver.accepted().size() == 1; });
  }
  put("Patient", "p2", patient("p2"));
  reopenStore();
  auto d = dispatcher({subscriber("s", restHook(receiver, RestHookOptions::Payload::kFull))}, options());
  runUntil(*d, [&] { return receiver.accepted().size() == 2; });
  ASSERT_TRUE(d->runOnce().isOk());
  EXPECT_EQ(paths(receiver.requests()), (std::vector<std::string>{"PUT /fhir/Patient/p1", "PUT /fhir/Patient/p2"}));
}

TEST_F(DispatcherTest, ANewSubscriberStartsNowUnlessToldOtherwise) {
  put("Patient", "old", patient("old"));
  TestReceiver now_receiver, all_receiver;
  auto d = dispatcher({subscriber("now", restHook(now_receiver, RestHookOptions::Payload::kFull),
                                  SubscriberSpec::Start::kNow),
                       subscriber("all", restHook(all_receiver, RestHookOptions::Payload::kFull))},
                      options());
  ASSERT_TRUE(d->runOnce().isOk());
  put("Patient", "new", patient("new"));
  runUntil(*d, [&] { return now_receiver.accepted().size() == 1 && all_receiver.accepted().size() == 2; });
  EXPECT_EQ(paths(now_receiver.accepted()), std::vector<std::string>{"PUT /fhir/Patient/new"});
}

// Replay from a position or a time: every partition goes back, and the holder reloads.
TEST_F(DispatcherTest, ReplaySendsAgainFromAPositionOrATime) {
  TestReceiver receiver;
  auto d = dispatcher({subscriber("s", restHook(receiver, RestHookOptions::Payload::kFull))}, options());
  put("Patient", "p1", patient("p1"));
  clock_.advance(seconds(60));
  const store::Timestamp second_write = clock_.clock()();
  put("Patient", "p2", patient("p2"));
  runUntil(*d, [&] { return receiver.accepted().size() == 2; });
  store::DispatchState& state = *store_->dispatchState();
  auto position = state.positionBefore(second_write);
  ASSERT_TRUE(position.isOk());
  ASSERT_TRUE(state.rewind("s", *position).isOk());
  // A holder learns of the replay at its next lease renewal (a third of the lease period) or its next commit.
  runUntil(*d, [&] { return receiver.accepted().size() == 3; }, 5, seconds(11));
  EXPECT_EQ(paths(receiver.accepted()).back(), "PUT /fhir/Patient/p2");
  ASSERT_TRUE(state.rewind("s", 0).isOk());
  runUntil(*d, [&] { return receiver.accepted().size() == 5; }, 5, seconds(11));
  ASSERT_TRUE(d->runOnce().isOk());
  EXPECT_EQ(receiver.accepted().size(), 5u);
}

// The read-ahead and in-flight bounds hold: a subscriber never holds more than max_queued events, and never hands
// its transport more than max_in_flight at once, yet gets everything.
TEST_F(DispatcherTest, InFlightAndReadAheadAreBounded) {
  struct Counting final : Transport {
    size_t largest = 0, total = 0;
    std::string_view kind() const override { return "counting"; }
    bool needsResource() const override { return false; }
    std::vector<DeliveryOutcome> deliver(std::span<const Delivery> batch) override {
      largest = std::max(largest, batch.size());
      total += batch.size();
      return std::vector<DeliveryOutcome>(batch.size(), DeliveryOutcome{DeliveryOutcome::Kind::kDelivered, ""});
    }
  };
  auto counting = std::make_shared<Counting>();
  auto o = options();
  o.max_in_flight = 7;
  o.max_queued = 20;
  o.read_batch = 10;
  auto d = dispatcher({subscriber("s", counting)}, o);
  ASSERT_TRUE(store_->runTransaction({"t", "rest"}, [&](store::WriteTransaction& t) -> Status {
                      for (int i = 0; i < 100; ++i) {
                        RETURN_IF_ERROR(t.create("Patient", {patient("x"), {}}).status());
                      }
                      return Status::ok();
                    }).isOk());
  runUntil(*d, [&] { return counting->total == 100; }, 40);
  EXPECT_EQ(counting->largest, 7u);
}

}  // namespace
}  // namespace planbro::gateway::dispatch

namespace planbro::gateway::dispatch {
namespace {

// Shutdown while a receiver hangs: stop() cuts the transfer short instead of waiting out its timeout, counts no
// failed try (the receiver is not at fault), and releases the leases, so another node takes over with no time
// passing (the injected clock stands still: only a released lease can be taken) and delivers everything once.
TEST_F(DispatcherTest, StopCutsAHangingDeliveryShortAndHandsTheLeasesOverAtOnce) {
  TestReceiver receiver;
  receiver.hold(true);
  put("Patient", "p1", patient("p1"));
  put("Goal", "g1", withSubject("Goal", "g1", "p1"));
  put("Goal", "g2", withSubject("Goal", "g2", "p1"));
  RestHookOptions slow;
  slow.endpoint = receiver.url() + "/fhir";
  slow.allow_plain_http = true;
  slow.timeout = seconds(5);  // without the cut, stop() would wait this long and count the timeout as a failure
  auto a = dispatcher({subscriber("s", *makeRestHookTransport(slow))}, options());
  a->start();
  ASSERT_TRUE(receiver.waitForRequests(1));
  a->stop();
  const SubscriberMetrics after_stop = a->metrics()[0];
  EXPECT_EQ(after_stop.failures, 0) << after_stop.last_error;
  EXPECT_EQ(after_stop.delivered, 0);
  EXPECT_EQ(receiver.accepted().size(), 0u);

  receiver.hold(false);
  DispatcherOptions other = options();
  other.node_id = "node-b";
  auto b = dispatcher({subscriber("s", restHook(receiver, RestHookOptions::Payload::kFull))}, other);
  runUntil(*b, [&] { return receiver.effects().size() == 3; });
  EXPECT_EQ(b->metrics()[0].held_partitions, 4);  // all of them, at once
  EXPECT_EQ(paths(receiver.effects()),
            (std::vector<std::string>{"PUT /fhir/Patient/p1", "PUT /fhir/Goal/g1", "PUT /fhir/Goal/g2"}));
}

// A started worker writes positions at most every commit_interval (here: never again, the clock stands still), so a
// clean stop must write them: the next holder then sends nothing a second time.
TEST_F(DispatcherTest, AStopWritesTheProgressSoTheNextHolderSendsNothingAgain) {
  TestReceiver receiver;
  DispatcherOptions o = options();
  o.poll_interval = milliseconds(1);
  auto a = dispatcher({subscriber("s", restHook(receiver, RestHookOptions::Payload::kFull))}, o);
  a->start();
  put("Patient", "p1", patient("p1"));
  a->wake();
  ASSERT_TRUE(receiver.waitForAccepted(1));
  put("Patient", "p2", patient("p2"));
  a->wake();
  ASSERT_TRUE(receiver.waitForAccepted(2));
  // The receiver records a request before its answer reaches the worker: wait until the worker counted both as
  // delivered, or a stop in between would rightly leave p2 to be sent again (at least once).
  for (int i = 0; i < 60'000 && a->metrics()[0].delivered < 2; ++i) std::this_thread::sleep_for(milliseconds(1));
  ASSERT_EQ(a->metrics()[0].delivered, 2);
  a->stop();
  DispatcherOptions other = options();
  other.node_id = "node-b";
  auto b = dispatcher({subscriber("s", restHook(receiver, RestHookOptions::Payload::kFull))}, other);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(b->runOnce().isOk());
  EXPECT_EQ(b->metrics()[0].held_partitions, 4);
  EXPECT_EQ(paths(receiver.requests()), (std::vector<std::string>{"PUT /fhir/Patient/p1", "PUT /fhir/Patient/p2"}));
}

TEST(DispatchOptions, CommitIntervalMustStayWellInsideTheLease) {
  auto dir = std::filesystem::temp_directory_path() / ("planbro-dispatch-opt-" + uniqueTestName());
  std::filesystem::create_directories(dir);
  store::SqliteStoreOptions so;
  so.path = (dir / "store.db").string();
  auto store = store::openSqliteStore(so);
  ASSERT_TRUE(store.isOk()) << store.status().message();
  DispatcherOptions o;
  o.lease_ttl = seconds(3);
  o.commit_interval = milliseconds(1000);
  auto d = Dispatcher::create(**store, o, {});
  EXPECT_FALSE(d.isOk());
  o.commit_interval = milliseconds(999);
  EXPECT_TRUE(Dispatcher::create(**store, o, {}).isOk());
  store->reset();
  std::filesystem::remove_all(dir);
}

TEST(DispatchReadiness, FailsNamingTheSubscriberStuckBeyondTheThreshold) {
  SubscriberMetrics fine;
  fine.name = "fine";
  fine.lag_seconds = 10;
  SubscriberMetrics stuck;
  stuck.name = "helsenorge";
  stuck.lag_seconds = 301;
  stuck.last_error = "HTTP 503";
  EXPECT_TRUE(dispatchReadiness({fine}, std::chrono::seconds(300)).isOk());
  Status s = dispatchReadiness({fine, stuck}, std::chrono::seconds(300));
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_NE(s.message().find("helsenorge"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("HTTP 503"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace planbro::gateway::dispatch
