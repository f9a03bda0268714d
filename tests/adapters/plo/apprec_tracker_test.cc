// AppRec tracking: the pure state machine with the time passed in, and the store-backed tracker on SQLite with an
// injected clock — every outbound message recorded as a Task awaiting its AppRec, matched by the original MsgId
// (OK → acknowledged; Avvist / partial → the error codes kept and an escalation Task on the plan), overdue messages
// resent up to the limit and then escalated, once.

#include "planbro/adapters/plo/apprec_tracker.h"

#include <libpq-fe.h>
#include <stdlib.h>

#include <condition_variable>
#include <mutex>
#include <random>

#include "planbro/adapters/plo/inbound.h"
#include "planbro/adapters/plo/plo_adapter.h"
#include "planbro/fhir-model/json.h"
#include "planbro/gateway/search/search_executor.h"
#include "plo_test_support.h"
#include "../../support/test_store_place.h"

namespace planbro::adapters::plo {
namespace {

using namespace std::chrono_literals;
using testing::readFile;
using testing::samplesDir;
using testing::sharedCodec;

#define ASSERT_OK(expr)                                  \
  do {                                                   \
    const Status status_ = (expr);                       \
    ASSERT_TRUE(status_.isOk()) << status_.message();    \
  } while (0)

const Clock::time_point kStart = Clock::from_time_t(1'800'000'000);  // 2027-01-15

ReceivedAppRec appRec(const std::string& original, AppRecStatus status, std::vector<AppRecError> errors = {}) {
  ReceivedAppRec apprec;
  apprec.version = "1.1";
  apprec.id = "apprec-" + original;
  apprec.status = status;
  apprec.errors = std::move(errors);
  apprec.original_msg_id = original;
  apprec.original_msg_type = "DIALOG_HELSEFAGLIG";
  return apprec;
}

TEST(AppRecTracking, ResendsUpToTheLimitThenEscalates) {
  AppRecTimeouts timeouts{60min, 2};
  TrackedMessage m = startTracking("m1", kStart, timeouts);
  EXPECT_EQ(m.state, TrackingState::kAwaiting);
  EXPECT_EQ(onTimeout(m, kStart + 59min, timeouts), TimeoutAction::kNone);
  EXPECT_EQ(onTimeout(m, kStart + 60min, timeouts), TimeoutAction::kResend);
  m = afterTimeout(m, TimeoutAction::kResend, kStart + 60min, timeouts);
  EXPECT_EQ(m.sends, 2);
  EXPECT_EQ(onTimeout(m, kStart + 119min, timeouts), TimeoutAction::kNone);  // each resend waits the timeout again
  m = afterTimeout(m, onTimeout(m, kStart + 120min, timeouts), kStart + 120min, timeouts);
  EXPECT_EQ(m.sends, 3);
  EXPECT_EQ(onTimeout(m, kStart + 180min, timeouts), TimeoutAction::kEscalate);
  m = afterTimeout(m, TimeoutAction::kEscalate, kStart + 180min, timeouts);
  EXPECT_EQ(m.state, TrackingState::kEscalated);
  EXPECT_EQ(onTimeout(m, kStart + 1000min, timeouts), TimeoutAction::kNone);  // escalated once
}

TEST(AppRecTracking, NoResendsEscalatesAtTheFirstTimeout) {
  AppRecTimeouts timeouts{30min, 0};
  const TrackedMessage m = startTracking("m1", kStart, timeouts);
  EXPECT_EQ(onTimeout(m, kStart + 30min, timeouts), TimeoutAction::kEscalate);
}

TEST(AppRecTracking, AnAppRecEndsTheWaitWithItsStatusAndErrors) {
  AppRecTimeouts timeouts;
  TrackedMessage m = startTracking("m1", kStart, timeouts);
  EXPECT_EQ(afterAppRec(m, appRec("m1", AppRecStatus::kOk)).state, TrackingState::kAcknowledged);
  const TrackedMessage rejected = afterAppRec(m, appRec("m1", AppRecStatus::kRejected, {{"E21", "Mottaker finnes ikke", ""}}));
  EXPECT_EQ(rejected.state, TrackingState::kRejected);
  ASSERT_EQ(rejected.errors.size(), 1u);
  EXPECT_EQ(rejected.errors[0].code, "E21");
  EXPECT_EQ(afterAppRec(m, appRec("m1", AppRecStatus::kPartlyRejected)).state, TrackingState::kPartlyRejected);
  EXPECT_EQ(onTimeout(afterAppRec(m, appRec("m1", AppRecStatus::kOk)), kStart + 1000min, timeouts), TimeoutAction::kNone);
  for (TrackingState s : {TrackingState::kAwaiting, TrackingState::kAcknowledged, TrackingState::kRejected,
                          TrackingState::kPartlyRejected, TrackingState::kEscalated}) {
    TrackingState back = TrackingState::kAwaiting;
    ASSERT_TRUE(trackingStateFromCode(trackingStateCode(s), back));
    EXPECT_EQ(back, s);
  }
}

enum class Engine { kSqlite, kPostgres };

// The tracker on both durable stores: SQLite, and PostgreSQL when PLANBRO_TEST_PG_URL is set (scripts/test.sh).
class PloAppRecTracker : public ::testing::TestWithParam<Engine> {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "planbro-apprec-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    if (GetParam() == Engine::kPostgres) {
      PLANBRO_SKIP_WITHOUT_TEST_POSTGRES();
      pg_url_ = planbro::testing::testPostgresUrl();
      schema_ = "apprec_tracker_test_" + planbro::testing::uniqueTestName();
    }
    AppRecTrackerOptions options;
    options.timeouts = {60min, 2};
    options.now = [this] { return now_; };
    options.resend = [this](const OutboundMessage& m) {
      resent_.push_back(m);
      return resend_status_;
    };
    options.log = [this](std::string_view line) { log_.emplace_back(line); };
    openTracker(options);
  }
  void TearDown() override {
    closeTracker();
    planbro::testing::removeTestStorePlace(dir_, pg_url_, schema_);
  }

  /** Store, search, operations and tracker with `options`, opened on this test's database (again, after
   *  closeTracker(): a restart). */
  void openTracker(const AppRecTrackerOptions& options) {
    auto s = openStore();
    ASSERT_TRUE(s.isOk()) << s.status().message();
    store_ = std::move(s).value();
    executor_ = std::make_unique<gateway::search::SearchExecutor>(*store_, gateway::search::ExecutorOptions{});
    operations_ = std::make_unique<gateway::ops::Operations>(*store_, *executor_);
    tracker_ = std::make_unique<AppRecTracker>(*operations_, *store_, options);
  }
  /** The process goes away: tracker, operations and store closed, in that order; the database stays. */
  void closeTracker() {
    tracker_.reset();
    operations_.reset();
    executor_.reset();
    store_.reset();
  }

  /** The store, opened on this test's database. */
  Result<std::unique_ptr<gateway::store::ResourceStore>> openStore() {
    if (GetParam() == Engine::kPostgres) {
      gateway::store::PostgresStoreOptions o;
      o.conninfo = pg_url_;
      o.schema = schema_;
      return gateway::store::openPostgresStore(o);
    }
    gateway::store::SqliteStoreOptions so;
    so.path = dir_ + "/planbro.db";
    return gateway::store::openSqliteStore(so);
  }

  std::string createPlan() {
    gateway::ops::WriteContext context;
    context.source_system = "test";
    auto plan = fhir::JsonDocument::parse(R"({"resourceType":"CarePlan","status":"active","intent":"plan",)"
                                          R"("subject":{"identifier":{"system":"urn:oid:2.16.578.1.12.4.1.4.1",)"
                                          R"("value":"13116900216"}}})");
    EXPECT_TRUE(plan.isOk());
    auto created = operations_->create(context, "CarePlan", plan->root(), {}, nullptr);
    EXPECT_TRUE(created.isOk()) << created.status().message();
    return created.isOk() ? "CarePlan/" + created->version.id : std::string();
  }

  OutboundMessage message(const std::string& id, const std::string& plan = {}) {
    OutboundMessage m;
    m.msg_id = id;
    m.msg_type = "DIALOG_HELSEFAGLIG";
    m.receiver_her_id = "8142342";
    m.receiver_name = "Sykehuset, sengepost 3";
    m.patient_system = "urn:oid:2.16.578.1.12.4.1.4.1";
    m.patient_id = "13116900216";
    m.plan_reference = plan;
    m.bytes = "<MsgHead>…" + id + "</MsgHead>";
    return m;
  }

  std::vector<std::string> escalations(const std::string& code) {
    auto ids = operations_->findIds("Task", {{"code", std::string(kTrackingCodeSystem) + "|" + code}}, 100);
    EXPECT_TRUE(ids.isOk()) << ids.status().message();
    return ids.isOk() ? *ids : std::vector<std::string>();
  }

  std::string dir_;
  std::string pg_url_, schema_;
  Clock::time_point now_ = kStart;
  std::vector<OutboundMessage> resent_;
  Status resend_status_;
  std::vector<std::string> log_;
  std::unique_ptr<gateway::store::ResourceStore> store_;
  std::unique_ptr<gateway::search::SearchExecutor> executor_;
  std::unique_ptr<gateway::ops::Operations> operations_;
  std::unique_ptr<AppRecTracker> tracker_;
};

TEST_P(PloAppRecTracker, ASentMessageAwaitsItsAppRecAndOkEndsTheWait) {
  ASSERT_OK(tracker_->recordSent(message("m-ok")));
  ASSERT_OK(tracker_->recordSent(message("m-ok")));  // the same message again: one record
  EXPECT_EQ(tracker_->counters().sent.load(), 1u);
  auto tracked = tracker_->find("m-ok");
  ASSERT_TRUE(tracked.isOk()) << tracked.status().message();
  EXPECT_EQ(tracked->state, TrackingState::kAwaiting);
  EXPECT_EQ(tracked->sends, 1);
  auto awaiting = operations_->findIds("Task", {{"code", std::string(kTrackingCodeSystem) + "|awaiting-apprec"},
                                               {"status", "in-progress"}}, 10);
  ASSERT_TRUE(awaiting.isOk());
  EXPECT_EQ(awaiting->size(), 1u);

  now_ += 5min;
  auto state = tracker_->recordAppRec(appRec("m-ok", AppRecStatus::kOk));
  ASSERT_TRUE(state.isOk()) << state.status().message();
  EXPECT_EQ(*state, TrackingState::kAcknowledged);
  EXPECT_EQ(tracker_->counters().acknowledged.load(), 1u);
  now_ += 10h;
  auto swept = tracker_->sweep();
  ASSERT_TRUE(swept.isOk()) << swept.status().message();
  EXPECT_EQ(swept->resent + swept->escalated, 0u);
  EXPECT_TRUE(resent_.empty());
  EXPECT_TRUE(escalations("apprec-missing").empty());
}

TEST_P(PloAppRecTracker, AnAvvistIsRecordedWithItsCodesAndSurfacedOnThePlan) {
  const std::string plan = createPlan();
  ASSERT_FALSE(plan.empty());
  ASSERT_OK(tracker_->recordSent(message("m-avvist", plan)));
  auto state = tracker_->recordAppRec(
      appRec("m-avvist", AppRecStatus::kRejected, {{"E21", "Mottaker finnes ikke", "ukjent HER-id"}}));
  ASSERT_TRUE(state.isOk()) << state.status().message();
  EXPECT_EQ(*state, TrackingState::kRejected);
  auto tracked = tracker_->find("m-avvist");
  ASSERT_TRUE(tracked.isOk());
  ASSERT_EQ(tracked->errors.size(), 1u);
  EXPECT_EQ(tracked->errors[0].code, "E21");
  EXPECT_EQ(tracked->errors[0].detail, "ukjent HER-id");
  // Surfaced: an urgent Task on the plan for its coordinator, naming the error; a second AppRec raises no second.
  auto on_plan = operations_->findIds("Task", {{"based-on", plan}, {"status", "requested"}}, 10);
  ASSERT_TRUE(on_plan.isOk());
  ASSERT_EQ(on_plan->size(), 1u);
  auto task = store_->read("Task", on_plan->front());
  ASSERT_TRUE(task.isOk());
  EXPECT_NE(task->json.find("E21"), std::string::npos);
  EXPECT_NE(task->json.find("\"priority\":\"urgent\""), std::string::npos);
  ASSERT_TRUE(tracker_->recordAppRec(appRec("m-avvist", AppRecStatus::kRejected, {{"E21", "", ""}})).isOk());
  EXPECT_EQ(escalations("apprec-rejected").size(), 1u);
  // A partial answer is recorded and surfaced the same way.
  ASSERT_OK(tracker_->recordSent(message("m-partial", plan)));
  auto partial = tracker_->recordAppRec(appRec("m-partial", AppRecStatus::kPartlyRejected, {{"T02", "", "del 2"}}));
  ASSERT_TRUE(partial.isOk());
  EXPECT_EQ(*partial, TrackingState::kPartlyRejected);
  EXPECT_EQ(escalations("apprec-rejected").size(), 2u);
  EXPECT_EQ(tracker_->counters().rejected.load(), 2u);
  EXPECT_EQ(tracker_->counters().partly_rejected.load(), 1u);
}

TEST_P(PloAppRecTracker, AnUnansweredMessageIsResentThenEscalatedOnce) {
  const std::string plan = createPlan();
  ASSERT_OK(tracker_->recordSent(message("m-silent", plan)));
  ASSERT_OK(tracker_->recordSent(message("m-answered", plan)));
  ASSERT_TRUE(tracker_->recordAppRec(appRec("m-answered", AppRecStatus::kOk)).isOk());

  now_ += 59min;
  ASSERT_TRUE(tracker_->sweep().isOk());
  EXPECT_TRUE(resent_.empty());  // not due yet

  now_ += 1min;  // 60 min: the first resend, the bytes as they were sent
  auto first = tracker_->sweep();
  ASSERT_TRUE(first.isOk()) << first.status().message();
  EXPECT_EQ(first->resent, 1u);
  ASSERT_EQ(resent_.size(), 1u);
  EXPECT_EQ(resent_[0].msg_id, "m-silent");
  EXPECT_EQ(resent_[0].bytes, message("m-silent").bytes);
  EXPECT_EQ(resent_[0].receiver_her_id, "8142342");

  now_ += 30min;
  ASSERT_TRUE(tracker_->sweep().isOk());
  EXPECT_EQ(resent_.size(), 1u);  // the resend waits a whole timeout again
  now_ += 30min;
  resend_status_ = unavailable("message service down");  // a failed resend still counts, so escalation comes
  ASSERT_TRUE(tracker_->sweep().isOk());
  EXPECT_EQ(resent_.size(), 2u);
  EXPECT_TRUE(escalations("apprec-missing").empty());

  now_ += 60min;  // three sends without an answer: escalated, not resent
  auto last = tracker_->sweep();
  ASSERT_TRUE(last.isOk()) << last.status().message();
  EXPECT_EQ(last->escalated, 1u);
  EXPECT_EQ(resent_.size(), 2u);
  EXPECT_EQ(tracker_->counters().escalated.load(), 1u);
  auto tracked = tracker_->find("m-silent");
  ASSERT_TRUE(tracked.isOk());
  EXPECT_EQ(tracked->state, TrackingState::kEscalated);
  EXPECT_EQ(tracked->sends, 3);
  const std::vector<std::string> raised = escalations("apprec-missing");
  ASSERT_EQ(raised.size(), 1u);
  auto task = store_->read("Task", raised.front());
  ASSERT_TRUE(task.isOk());
  EXPECT_NE(task->json.find(plan), std::string::npos);  // visible in the plan
  EXPECT_NE(task->json.find("m-silent"), std::string::npos);
  EXPECT_EQ(task->json.find("13116900216\"}}") == std::string::npos, false);
  ASSERT_FALSE(log_.empty());
  EXPECT_NE(log_.back().find("escalated"), std::string::npos);
  for (const std::string& line : log_) EXPECT_EQ(line.find("13116900216"), std::string::npos) << line;

  now_ += 24h;
  auto after = tracker_->sweep();
  ASSERT_TRUE(after.isOk());
  EXPECT_EQ(after->examined, 0u);  // nothing awaiting any more: the search reads nothing
  EXPECT_EQ(escalations("apprec-missing").size(), 1u);
  // A late AppRec is still recorded.
  auto late = tracker_->recordAppRec(appRec("m-silent", AppRecStatus::kOk));
  ASSERT_TRUE(late.isOk());
  EXPECT_EQ(*late, TrackingState::kAcknowledged);
}

TEST_P(PloAppRecTracker, ASweepReadsAtMostItsLimit) {
  AppRecTrackerOptions options;
  options.timeouts = {60min, 2};
  options.max_per_sweep = 3;
  options.now = [this] { return now_; };
  options.resend = [this](const OutboundMessage& m) {
    resent_.push_back(m);
    return Status::ok();
  };
  AppRecTracker bounded(*operations_, *store_, options);
  for (int i = 0; i < 7; ++i) ASSERT_OK(bounded.recordSent(message("m-" + std::to_string(i))));
  now_ += 61min;
  auto first = bounded.sweep();
  ASSERT_TRUE(first.isOk()) << first.status().message();
  EXPECT_EQ(first->examined, 3u);
  EXPECT_EQ(first->resent, 3u);
  auto second = bounded.sweep();
  ASSERT_TRUE(second.isOk());
  EXPECT_EQ(second->resent, 3u);  // the ones resent first are no longer overdue
  auto third = bounded.sweep();
  ASSERT_TRUE(third.isOk());
  EXPECT_EQ(third->resent, 1u);
  EXPECT_EQ(resent_.size(), 7u);
}

TEST_P(PloAppRecTracker, TheWaitSurvivesARestart) {
  ASSERT_OK(tracker_->recordSent(message("m-restart")));
  ASSERT_OK(tracker_->recordSent(message("m-restart-ok")));
  // The process goes away: tracker, operations and store closed; a new one opens the same database file.
  closeTracker();
  AppRecTrackerOptions options;
  options.timeouts = {60min, 0};
  options.now = [this] { return now_; };
  ASSERT_NO_FATAL_FAILURE(openTracker(options));

  auto ok = tracker_->recordAppRec(appRec("m-restart-ok", AppRecStatus::kOk));  // matched after the restart
  ASSERT_TRUE(ok.isOk()) << ok.status().message();
  EXPECT_EQ(*ok, TrackingState::kAcknowledged);
  now_ += 60min;
  auto swept = tracker_->sweep();
  ASSERT_TRUE(swept.isOk()) << swept.status().message();
  EXPECT_EQ(swept->escalated, 1u);  // only the one still waiting, and once
  EXPECT_EQ(tracker_->sweep()->escalated, 0u);
  EXPECT_EQ(escalations("apprec-missing").size(), 1u);
}

TEST_P(PloAppRecTracker, TheRunningAdapterSweepsAfterEveryPollAndEscalatesOnce) {
  ASSERT_OK(tracker_->recordSent(message("m-adapter")));
  for (const char* d : {"/in", "/out", "/error"}) std::filesystem::create_directories(dir_ + d);
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::string> lines;
  PloAdapterOptions ao;
  ao.data_dir = PLANBRO_PLO_SOURCE_DIR;
  ao.spool.in_dir = dir_ + "/in";
  ao.spool.out_dir = dir_ + "/out";
  ao.spool.error_dir = dir_ + "/error";
  ao.poll_interval = std::chrono::milliseconds(10);
  ao.store = store_.get();
  AppRecTrackerOptions tracking;
  tracking.timeouts = {60min, 0};
  const Clock::time_point later = now_ + 2h;  // every poll's sweep sees the message overdue
  size_t sweeps = 0;  // each sweep reads the clock once
  tracking.now = [&, later] {
    std::lock_guard<std::mutex> lock(mutex);
    ++sweeps;
    changed.notify_all();
    return later;
  };
  tracking.log = [&](std::string_view line) {
    std::lock_guard<std::mutex> lock(mutex);
    lines.emplace_back(line);
    changed.notify_all();
  };
  ao.tracking = tracking;
  auto adapter = PloAdapter::start(std::move(ao), *operations_);
  ASSERT_TRUE(adapter.isOk()) << adapter.status().message();
  ASSERT_NE((*adapter)->tracker(), nullptr);
  {
    std::unique_lock<std::mutex> lock(mutex);
    // Bounded: the first poll sweeps at once; a ceiling, not a timing assertion.
    ASSERT_TRUE(changed.wait_for(lock, std::chrono::seconds(30), [&] {
      for (const std::string& l : lines) {
        if (l.find("escalated") != std::string::npos) return true;
      }
      return false;
    }));
    // Three more polls, each ending with a sweep: still one escalation.
    const size_t at_escalation = sweeps;
    ASSERT_TRUE(changed.wait_for(lock, std::chrono::seconds(30), [&] { return sweeps >= at_escalation + 3; }));
  }
  const uint64_t seen = (*adapter)->tracker()->counters().escalated.load();
  adapter->reset();
  EXPECT_EQ(seen, 1u);
  EXPECT_EQ(escalations("apprec-missing").size(), 1u);
  auto tracked = tracker_->find("m-adapter");
  ASSERT_TRUE(tracked.isOk());
  EXPECT_EQ(tracked->state, TrackingState::kEscalated);
}

TEST_P(PloAppRecTracker, TheInboundPathMatchesReceivedAppRecs) {
  ASSERT_OK(tracker_->recordSent(message("e0e21a90-5ec8-11e1-b86c-0800200c9a66")));
  InboundOptions inbound;
  inbound.tracker = tracker_.get();
  InboundProcessor processor(sharedCodec(), operations_.get(), inbound);
  // The sample Avvist answers OriginalMsgId e0e21a90-…: matched, recorded, not answered.
  auto result = processor.process(readFile(samplesDir() / "apprec/1.1/example-avvist.xml"));
  ASSERT_TRUE(result.isOk()) << result.status().message();
  EXPECT_FALSE(result->apprec.has_value());
  ASSERT_EQ(result->effects.size(), 1u);
  EXPECT_NE(result->effects[0].find("rejected"), std::string::npos);
  auto tracked = tracker_->find("e0e21a90-5ec8-11e1-b86c-0800200c9a66");
  ASSERT_TRUE(tracked.isOk());
  EXPECT_EQ(tracked->state, TrackingState::kRejected);
  ASSERT_FALSE(tracked->errors.empty());
  EXPECT_EQ(tracked->errors[0].code, "E21");
  // An AppRec for a message planbro never sent is counted and dropped, not an error.
  auto unknown = processor.process(readFile(samplesDir() / "apprec/1.1/example-ok.xml"));
  ASSERT_TRUE(unknown.isOk()) << unknown.status().message();
  EXPECT_EQ(tracker_->counters().unmatched.load(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Engines, PloAppRecTracker, ::testing::Values(Engine::kSqlite, Engine::kPostgres),
                         [](const ::testing::TestParamInfo<Engine>& info) {
                           return info.param == Engine::kSqlite ? std::string("Sqlite") : std::string("Postgres");
                         });

}  // namespace
}  // namespace planbro::adapters::plo
