// The `plo` dispatch transport on the durable store, delivering real outbox events: a plan started, a coordinator
// appointed and changed each send one Helsefaglig dialog to the organisation that reported the need for IP (its
// conversation answered); other changes are delivered without a message; a retry sends the same MsgId; a failed
// send is kFailed (the dispatcher retries), and a patient without a person number goes to the dead letters.
#include "planbro/adapters/plo/plo_transport.h"

#include "msh_test_support.h"
#include "planbro/adapters/plo/apprec_tracker.h"
#include "planbro/adapters/plo/inbound.h"
#include "planbro/fhir-model/json.h"
#include "planbro/gateway/search/search_executor.h"
#include "planbro/gateway/dispatch/dispatcher.h"
#include "planbro/gateway/security/consent_dispatch.h"

#include <set>

namespace planbro::adapters::plo::testing {
namespace {

using gateway::dispatch::Delivery;
using gateway::dispatch::DeliveryOutcome;

class PloTransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = makeTempDir("planbro-plo-transport");
    node_.open(dir_);
    if (HasFatalFailure()) return;
    PloTransportOptions o;
    o.self.name = "TRONDHEIM KOMMUNE";
    o.self.idents.push_back({std::to_string(kMunicipalityHer), "HER"});
    o.now = [] { return std::string("2026-12-07T08:00:00"); };
    transport_ = makePloTransport(
        o, *node_.store, *node_.operations,
        [this](const std::string& xml, int64_t her) -> Result<std::string> {
          if (fail_sends_ > 0) {
            --fail_sends_;
            return unavailable("the message service is down");
          }
          sent_.push_back({xml, her});
          return std::string("svc-") + std::to_string(sent_.size());
        });
  }
  void TearDown() override {
    transport_.reset();
    node_.close();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  void put(const std::string& type, const std::string& id, const std::string& json) {
    auto doc = fhir::JsonDocument::parse(json);
    ASSERT_TRUE(doc.isOk()) << json;
    gateway::ops::WriteContext context;
    context.source_system = "rest";
    auto written = node_.operations->update(context, type, id, doc->root(), std::nullopt, nullptr);
    ASSERT_TRUE(written.isOk()) << type << "/" << id << ": " << written.status().message();
  }

  /** The outbox events from `after` on, as the dispatcher would hand them over (with the version's JSON). */
  std::vector<Delivery> eventsAfter(int64_t after) {
    std::vector<Delivery> out;
    auto events = node_.store->readOutbox(after, 100);
    EXPECT_TRUE(events.isOk()) << events.status().message();
    if (!events.isOk()) return out;
    for (const gateway::store::OutboxEvent& e : *events) {
      Delivery d;
      d.event = e;
      d.ordering_key = e.type + "/" + e.id;
      d.idempotency_key = "plo-out:" + std::to_string(e.position);
      auto v = node_.store->vread(e.type, e.id, e.version);
      if (v.isOk()) d.resource = std::make_shared<const std::string>(v->json);
      out.push_back(std::move(d));
    }
    return out;
  }
  int64_t newest() {
    auto stats = node_.store->outboxStats();
    return stats.isOk() ? stats->newest_position : 0;
  }
  std::vector<DeliveryOutcome> deliverFrom(int64_t after) {
    std::vector<Delivery> batch = eventsAfter(after);
    return transport_->deliver(batch);
  }

  void needForIpReported() {
    auto in = node_.processor->process(needForIpMessage());
    ASSERT_TRUE(in.isOk());
    ASSERT_EQ(in->message.status, AppRecStatus::kOk) << in->message.summary;
    put("Patient", "p1",
        R"({"resourceType":"Patient","id":"p1","identifier":[{"system":"urn:oid:2.16.578.1.12.4.1.4.1",)"
        R"("value":"13116900216"}],"name":[{"family":"Nordmann","given":["Ola"]}]})");
    put("Practitioner", "pr1", R"({"resourceType":"Practitioner","id":"pr1","name":[{"family":"En"}]})");
    put("Practitioner", "pr2", R"({"resourceType":"Practitioner","id":"pr2","name":[{"family":"To"}]})");
  }

  static std::string team(const std::string& coordinator) {
    return R"({"resourceType":"CareTeam","id":"team1","status":"active","subject":{"reference":"Patient/p1"},)"
           R"("participant":[{"role":[{"coding":[{"system":"urn:oid:2.16.578.1.12.4.1.1.9034","code":"8"}]}],)"
           R"("member":{"reference":"Practitioner/)" + coordinator + R"("}}]})";
  }

  std::string dir_;
  PloStore node_;  // the store, operations and processor; closed in TearDown
  std::shared_ptr<gateway::dispatch::Transport> transport_;
  std::vector<std::pair<std::string, int64_t>> sent_;
  int fail_sends_ = 0;
};

TEST_F(PloTransportTest, PlanStartedAndCoordinatorAppointedAndChangedEachSendOneDialog) {
  needForIpReported();
  // The need-for-IP Task itself, the Patient and the Practitioners: delivered, nothing sent (the Task came in as a
  // message and names the municipality as owner: the dispatcher's source filter keeps it from here in serve).
  int64_t mark = 0;
  std::vector<Delivery> setup = eventsAfter(mark);
  std::vector<Delivery> not_task;
  for (Delivery& d : setup) {
    if (d.event.type != "Task") not_task.push_back(std::move(d));
  }
  for (const DeliveryOutcome& o : transport_->deliver(not_task)) EXPECT_EQ(o.kind, DeliveryOutcome::Kind::kDelivered);
  EXPECT_TRUE(sent_.empty());
  mark = newest();

  put("CarePlan", "plan1",
      R"({"resourceType":"CarePlan","id":"plan1","status":"active","intent":"plan","title":"IP",)"
      R"("subject":{"reference":"Patient/p1"}})");
  put("CareTeam", "team1", team("pr1"));
  put("CareTeam", "team1", team("pr1"));  // the same content again: no new version, no event
  put("CareTeam", "team1", team("pr2"));  // another coordinator: "endret"
  // A CareTeam change that leaves the coordinator as it is: no message.
  put("CareTeam", "team1",
      R"({"resourceType":"CareTeam","id":"team1","status":"active","name":"Team","subject":{"reference":"Patient/p1"},)"
      R"("participant":[{"role":[{"coding":[{"system":"urn:oid:2.16.578.1.12.4.1.1.9034","code":"8"}]}],)"
      R"("member":{"reference":"Practitioner/pr2"}}]})");
  put("CarePlan", "plan1",
      R"({"resourceType":"CarePlan","id":"plan1","status":"active","intent":"plan","title":"IP, revidert",)"
      R"("subject":{"reference":"Patient/p1"}})");  // still active: no message
  std::vector<DeliveryOutcome> outcomes = deliverFrom(mark);
  ASSERT_EQ(outcomes.size(), 5u);
  for (const DeliveryOutcome& o : outcomes) EXPECT_EQ(o.kind, DeliveryOutcome::Kind::kDelivered) << o.error;
  ASSERT_EQ(sent_.size(), 3u);
  std::vector<std::string> texts;
  for (const auto& [xml, her] : sent_) {
    EXPECT_EQ(her, kHospitalHer);
    const DecodedMessage d = sharedCodec()->decode(xml);
    EXPECT_EQ(d.status, AppRecStatus::kOk) << d.summary;
    ASSERT_TRUE(d.head.has_value());
    EXPECT_EQ(d.head->ref_to_conversation, "d93cebe5-ac91-4022-8969-4f93300d8171");
    EXPECT_EQ(d.head->receiver.herId(), std::to_string(kHospitalHer));
    for (const char* t : {"Individuell plan er startet", "Koordinator er oppnevnt", "Koordinator er endret"}) {
      if (xml.find(t) != std::string::npos) texts.push_back(t);
    }
  }
  EXPECT_EQ(texts, (std::vector<std::string>{"Individuell plan er startet", "Koordinator er oppnevnt",
                                              "Koordinator er endret"}));
}

TEST_F(PloTransportTest, ARetrySendsTheSameMsgIdAndAFailedSendIsRetried) {
  needForIpReported();
  const int64_t mark = newest();
  put("CarePlan", "plan1",
      R"({"resourceType":"CarePlan","id":"plan1","status":"active","intent":"plan","subject":{"reference":"Patient/p1"}})");
  fail_sends_ = 1;
  std::vector<DeliveryOutcome> failed = deliverFrom(mark);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].kind, DeliveryOutcome::Kind::kFailed);
  EXPECT_NE(failed[0].error.find("the message service is down"), std::string::npos) << failed[0].error;
  EXPECT_TRUE(sent_.empty());

  ASSERT_EQ(deliverFrom(mark)[0].kind, DeliveryOutcome::Kind::kDelivered);
  ASSERT_EQ(deliverFrom(mark)[0].kind, DeliveryOutcome::Kind::kDelivered);  // delivered twice (a lost answer)
  ASSERT_EQ(sent_.size(), 2u);
  const DecodedMessage a = sharedCodec()->decode(sent_[0].first);
  const DecodedMessage b = sharedCodec()->decode(sent_[1].first);
  ASSERT_TRUE(a.head && b.head);
  EXPECT_EQ(a.head->msg_id, b.head->msg_id);  // the receiver applies it once
}

TEST_F(PloTransportTest, APatientWithoutAPersonNumberIsADeadLetterNotASilentDrop) {
  needForIpReported();
  put("Patient", "p2", R"({"resourceType":"Patient","id":"p2","name":[{"family":"Uten"}]})");
  const int64_t mark = newest();
  put("CarePlan", "plan2",
      R"({"resourceType":"CarePlan","id":"plan2","status":"active","intent":"plan","subject":{"reference":"Patient/p2"}})");
  std::vector<DeliveryOutcome> outcomes = deliverFrom(mark);
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_EQ(outcomes[0].kind, DeliveryOutcome::Kind::kFailed);
  EXPECT_NE(outcomes[0].error.find("fødselsnummer"), std::string::npos) << outcomes[0].error;
  EXPECT_TRUE(sent_.empty());
}

TEST_F(PloTransportTest, ANeedForIpReportedHereGoesToTheTasksOwner) {
  // This node (a hospital's planbro, say) records a need for IP addressed to the municipality's unit.
  const int64_t mark = newest();
  put("Task", "t1",
      R"({"resourceType":"Task","id":"t1","status":"requested","intent":"proposal",)"
      R"("code":{"text":"Behov for individuell plan"},)"
      R"("for":{"identifier":{"system":"urn:oid:2.16.578.1.12.4.1.4.1","value":"13116900216"}},)"
      R"("owner":{"identifier":{"system":"urn:oid:2.16.578.1.12.4.1.2","value":"90998"},"display":"Ortopedisk kirurgi"}})");
  put("Task", "t1",
      R"({"resourceType":"Task","id":"t1","status":"accepted","intent":"proposal",)"
      R"("code":{"text":"Behov for individuell plan"},)"
      R"("for":{"identifier":{"system":"urn:oid:2.16.578.1.12.4.1.4.1","value":"13116900216"}},)"
      R"("owner":{"identifier":{"system":"urn:oid:2.16.578.1.12.4.1.2","value":"90998"},"display":"Ortopedisk kirurgi"}})");
  std::vector<DeliveryOutcome> outcomes = deliverFrom(mark);
  ASSERT_EQ(outcomes.size(), 2u);
  for (const DeliveryOutcome& o : outcomes) EXPECT_EQ(o.kind, DeliveryOutcome::Kind::kDelivered) << o.error;
  ASSERT_EQ(sent_.size(), 1u);  // the create only; an update of the Task is not a new report
  EXPECT_EQ(sent_[0].second, 90998);
  EXPECT_NE(sent_[0].first.find("Behov for individuell plan er meldt"), std::string::npos);
  const DecodedMessage d = sharedCodec()->decode(sent_[0].first);
  EXPECT_EQ(d.status, AppRecStatus::kOk) << d.summary;
  ASSERT_TRUE(d.head && d.head->patient);
  EXPECT_EQ(d.head->patient->id, "13116900216");
}

TEST_F(PloTransportTest, EverySentDialogWaitsForItsAppRecAndAnAvvistIsRaisedOnTheTrackedRequest) {
  AppRecTrackerOptions to;
  to.timeouts = {std::chrono::minutes(60), 0};
  AppRecTracker tracker(*node_.operations, *node_.store, to);
  PloTransportOptions o;
  o.self.name = "TRONDHEIM KOMMUNE";
  o.self.idents.push_back({std::to_string(kMunicipalityHer), "HER"});
  o.tracker = &tracker;
  transport_ = makePloTransport(o, *node_.store, *node_.operations,
                                [this](const std::string& xml, int64_t her) -> Result<std::string> {
                                  sent_.push_back({xml, her});
                                  return std::string("svc-1");
                                });
  needForIpReported();
  auto requests = node_.operations->findIds("Task", {{"code:text", "Behov for individuell plan"}}, 10);
  ASSERT_TRUE(requests.isOk()) << requests.status().message();
  ASSERT_EQ(requests->size(), 1u);
  const std::string request = "Task/" + requests->front();
  const int64_t mark = newest();
  put("CarePlan", "plan1",
      R"({"resourceType":"CarePlan","id":"plan1","status":"active","intent":"plan","subject":{"reference":"Patient/p1"}})");
  ASSERT_EQ(deliverFrom(mark)[0].kind, DeliveryOutcome::Kind::kDelivered);
  ASSERT_EQ(sent_.size(), 1u);
  const DecodedMessage d = sharedCodec()->decode(sent_[0].first);
  ASSERT_TRUE(d.head.has_value());
  auto waiting = tracker.find(d.head->msg_id);
  ASSERT_TRUE(waiting.isOk()) << waiting.status().message();
  EXPECT_EQ(waiting->state, TrackingState::kAwaiting);

  ReceivedAppRec avvist;
  avvist.id = "apprec-1";
  avvist.status = AppRecStatus::kRejected;
  avvist.original_msg_id = d.head->msg_id;
  avvist.errors = {{"E21", "Mottaker finnes ikke", ""}};
  auto state = tracker.recordAppRec(avvist);
  ASSERT_TRUE(state.isOk()) << state.status().message();
  EXPECT_EQ(*state, TrackingState::kRejected);
  // The escalation is part of the need-for-IP request the coordinators follow, and of the plan.
  auto raised = node_.operations->findIds("Task", {{"part-of", request}, {"status", "requested"}}, 10);
  ASSERT_TRUE(raised.isOk()) << raised.status().message();
  ASSERT_EQ(raised->size(), 1u);
  auto task = node_.store->read("Task", raised->front());
  ASSERT_TRUE(task.isOk());
  EXPECT_NE(task->json.find("apprec-rejected"), std::string::npos);
  EXPECT_NE(task->json.find("CarePlan/plan1"), std::string::npos);
  EXPECT_NE(task->json.find("E21"), std::string::npos);
}

}  // namespace
}  // namespace planbro::adapters::plo::testing

namespace planbro::adapters::plo::testing {
namespace {

// Records each receiver it is asked about and refuses the ones in `refused`: the dispatcher's interface, as the
// consent policy implements it.
class RecordingReceiverPolicy final : public gateway::dispatch::AccessPolicy {
 public:
  bool mayReceive(const gateway::dispatch::SubscriberSpec&, const gateway::store::OutboxEvent&,
                  const std::string*) const override {
    return true;
  }
  bool mayReceiveAt(const gateway::dispatch::SubscriberSpec&, const gateway::dispatch::EventReceiver& receiver,
                    const gateway::store::OutboxEvent& event, const std::string* resource) const override {
    asked.push_back(event.type + " to HER " + receiver.her_id + (resource != nullptr ? "" : " (no resource)"));
    return refused.count(receiver.her_id) == 0;
  }
  std::set<std::string> refused;
  mutable std::vector<std::string> asked;
};

TEST_F(PloTransportTest, AReceiverTheConsentRefusesIsSkippedNotSentAndNotAFailure) {
  needForIpReported();
  const int64_t mark = newest();
  put("CarePlan", "plan1",
      R"({"resourceType":"CarePlan","id":"plan1","status":"active","intent":"plan","title":"IP",)"
      R"("subject":{"reference":"Patient/p1"}})");
  put("CareTeam", "team1", team("pr1"));
  RecordingReceiverPolicy policy;
  policy.refused = {std::to_string(kHospitalHer)};
  gateway::dispatch::SubscriberSpec spec;
  spec.name = "plo-out";
  std::vector<Delivery> batch = eventsAfter(mark);
  ASSERT_EQ(batch.size(), 2u);
  for (Delivery& d : batch) {
    d.access = &policy;
    d.subscriber = &spec;
  }
  std::vector<DeliveryOutcome> outcomes = transport_->deliver(batch);
  ASSERT_EQ(outcomes.size(), 2u);
  for (const DeliveryOutcome& o : outcomes) {
    EXPECT_EQ(o.kind, DeliveryOutcome::Kind::kDelivered) << o.error;  // skipped, never a dead letter
    EXPECT_EQ(o.withheld, 1);
  }
  EXPECT_TRUE(sent_.empty());
  const std::string her = std::to_string(kHospitalHer);
  EXPECT_EQ(policy.asked, (std::vector<std::string>{"CarePlan to HER " + her, "CareTeam to HER " + her}));

  // The consent policy itself: the hospital is in no CareTeam and no share consent of the patient, so it gets
  // nothing of the next change; the refusal is audited.
  std::vector<std::string> audited;
  gateway::security::ConsentPolicyOptions consent;
  consent.on_access_decision = [&](const gateway::security::AccessDecision& d) {
    audited.push_back(std::string(gateway::security::accessOutcomeName(d.outcome)) + " " + std::string(d.action) +
                      " " + std::string(d.type) + "/" + std::string(d.id));
  };
  auto consent_policy = gateway::security::makeConsentDispatchPolicy(*node_.store, consent, {});
  const int64_t mark2 = newest();
  put("CareTeam", "team1", team("pr2"));
  std::vector<Delivery> next = eventsAfter(mark2);
  ASSERT_EQ(next.size(), 1u);
  next[0].access = consent_policy.get();
  next[0].subscriber = &spec;
  outcomes = transport_->deliver(next);
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_EQ(outcomes[0].kind, DeliveryOutcome::Kind::kDelivered) << outcomes[0].error;
  EXPECT_EQ(outcomes[0].withheld, 1);
  EXPECT_TRUE(sent_.empty());
  EXPECT_EQ(audited, (std::vector<std::string>{"deny dispatch CareTeam/team1"}));

  // Without a policy (handed over outside a dispatcher) the same change goes, as before.
  next[0].access = nullptr;
  outcomes = transport_->deliver(next);
  EXPECT_EQ(outcomes[0].withheld, 0);
  EXPECT_EQ(sent_.size(), 1u);
}

}  // namespace
}  // namespace planbro::adapters::plo::testing
