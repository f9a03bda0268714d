#include "planbro/adapters/plo/apprec_tracker.h"

#include <algorithm>
#include <cstdlib>
#include <ctime>

#include "json_text.h"
#include "planbro/adapters/plo/inbound.h"
#include "planbro/fhir-model/base64.h"
#include "planbro/fhir-model/json.h"
#include "planbro/fhir-model/norwegian_ids.h"

namespace planbro::adapters::plo {
namespace {

constexpr std::string_view kAppRecErrorSystem = "urn:oid:2.16.578.1.12.4.1.1.8221";

std::string isoTime(Clock::time_point t) {
  const std::time_t seconds = Clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char out[32];
  std::strftime(out, sizeof out, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return out;
}

// Reads back what isoTime wrote ("YYYY-MM-DDTHH:MM:SSZ"); the epoch for anything else.
Clock::time_point parseIsoTime(std::string_view text) {
  std::tm tm{};
  if (text.size() != 20 || text[19] != 'Z') return {};
  const std::string copy(text);
  if (strptime(copy.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm) == nullptr) return {};
  return Clock::from_time_t(timegm(&tm));
}

std::string_view stringAt(const fhir::JsonValue& object, std::string_view key) {
  const fhir::JsonValue* value = object.find(key);
  return value != nullptr ? value->text() : std::string_view();
}

std::string_view statusFor(TrackingState state) {
  switch (state) {
    case TrackingState::kAwaiting: return "in-progress";
    case TrackingState::kAcknowledged:
    case TrackingState::kPartlyRejected: return "completed";
    case TrackingState::kRejected:
    case TrackingState::kEscalated: return "failed";
  }
  return "in-progress";
}

std::string_view stateText(TrackingState state) {
  switch (state) {
    case TrackingState::kAwaiting: return "Venter på applikasjonskvittering";
    case TrackingState::kAcknowledged: return "Kvittert OK";
    case TrackingState::kRejected: return "Avvist av mottaker";
    case TrackingState::kPartlyRejected: return "OK, feil i delmelding";
    case TrackingState::kEscalated: return "Ikke kvittert: eskalert til koordinator";
  }
  return "";
}

std::string codingJson(std::string_view system, std::string_view code, std::string_view display) {
  std::string out = "{\"system\":" + jsonString(system) + ",\"code\":" + jsonString(code);
  if (!display.empty()) out += ",\"display\":" + jsonString(display);
  return out + "}";
}

std::string typedInput(std::string_view type, std::string_view value_member) {
  return "{\"type\":{\"text\":" + jsonString(type) + "}," + std::string(value_member) + "}";
}

}  // namespace

// One tracking Task read back: what was sent and where it stands.
struct AppRecTracker::Record {
  std::string task_id;
  int64_t version = 0;
  OutboundMessage message;
  TrackedMessage tracked;
  std::string first_sent;  // authoredOn
  Clock::time_point last_sent;
};

AppRecTracker::AppRecTracker(gateway::ops::Operations& operations, gateway::store::ResourceStore& store,
                             AppRecTrackerOptions options)
    : operations_(operations), store_(store), options_(std::move(options)) {
  if (!options_.now) options_.now = [] { return Clock::now(); };
  if (!options_.log) options_.log = [](std::string_view) {};
  if (options_.max_per_sweep == 0) options_.max_per_sweep = 1;
}

gateway::ops::WriteContext AppRecTracker::context(const std::string& msg_id) const {
  gateway::ops::WriteContext context;
  context.actor = "planbro:apprec-tracker";
  context.source_system = std::string(kSourceSystem);
  context.correlation_id = msg_id;
  return context;
}

void AppRecTracker::log(const std::string& line) const { options_.log(line); }

void AppRecTracker::count(std::atomic<uint64_t>& counter, std::string_view event) {
  ++counter;
  if (options_.on_event) options_.on_event(event);
}

// The tracking Task as JSON: every field the tracker reads back is written here, so a Record round-trips.
namespace {

// `task_id` empty for the create, the stored id for an update.
std::string trackingTaskJson(const std::string& task_id, const OutboundMessage& m, const TrackedMessage& t,
                             const std::string& first_sent, Clock::time_point last_sent,
                             const AppRecTimeouts& timeouts) {
  std::string json = "{\"resourceType\":\"Task\"";
  if (!task_id.empty()) json += ",\"id\":" + jsonString(task_id);
  json += ",\"identifier\":[{\"system\":" + jsonString(kOutboundMessageSystem) + ",\"value\":" + jsonString(m.msg_id) + "}]";
  if (!m.plan_reference.empty()) json += ",\"basedOn\":[{\"reference\":" + jsonString(m.plan_reference) + "}]";
  if (!m.request_reference.empty()) json += ",\"partOf\":[{\"reference\":" + jsonString(m.request_reference) + "}]";
  json += ",\"status\":" + jsonString(statusFor(t.state));
  json += ",\"businessStatus\":{\"coding\":[" +
          codingJson(kTrackingCodeSystem, trackingStateCode(t.state), stateText(t.state)) + "]}";
  json += ",\"intent\":\"order\",\"code\":{\"coding\":[" +
          codingJson(kTrackingCodeSystem, "awaiting-apprec", "Venter på applikasjonskvittering") + "]}";
  json += ",\"description\":" + jsonString("Utgående melding " + m.msg_type + " " + m.msg_id + " til HER-id " +
                                           m.receiver_her_id);
  if (!m.patient_id.empty()) {
    json += ",\"for\":{\"identifier\":{\"system\":" + jsonString(m.patient_system) + ",\"value\":" +
            jsonString(m.patient_id) + "}}";
  }
  json += ",\"authoredOn\":" + jsonString(first_sent) + ",\"lastModified\":" + jsonString(isoTime(last_sent));
  json += ",\"owner\":{\"identifier\":{\"system\":" +
          jsonString(fhir::no::preferredSystemUri(fhir::no::IdentifierSystem::kHerId)) + ",\"value\":" +
          jsonString(m.receiver_her_id) + "}";
  if (!m.receiver_name.empty()) json += ",\"display\":" + jsonString(m.receiver_name);
  json += "}";
  json += ",\"restriction\":{\"repetitions\":" + std::to_string(std::max(0, timeouts.max_resends) + 1);
  if (t.state == TrackingState::kAwaiting) json += ",\"period\":{\"end\":" + jsonString(isoTime(t.due)) + "}";
  json += "}";
  json += ",\"input\":[" +
          typedInput("message", "\"valueAttachment\":{\"contentType\":\"application/xml\",\"data\":" +
                                    jsonString(fhir::base64Encode(m.bytes)) + "}") +
          "," + typedInput("message-type", "\"valueString\":" + jsonString(m.msg_type.empty() ? "UKJENT" : m.msg_type)) +
          "," + typedInput("sends", "\"valueInteger\":" + std::to_string(t.sends)) + "]";
  if (!t.errors.empty()) {
    json += ",\"output\":[";
    for (size_t i = 0; i < t.errors.size(); ++i) {
      const AppRecError& e = t.errors[i];
      if (i > 0) json += ",";
      std::string coding = codingJson(kAppRecErrorSystem, e.code.empty() ? "X99" : e.code, e.text);
      json += typedInput(e.detail.empty() ? std::string("apprec-error") : "apprec-error: " + e.detail,
                         "\"valueCoding\":" + coding);
    }
    json += "]";
  }
  return json + "}";
}

}  // namespace

Status AppRecTracker::recordSent(const OutboundMessage& message) {
  if (message.msg_id.empty()) return invalidArgument("an outbound message without a MsgId cannot be tracked");
  const Clock::time_point now = options_.now();
  const TrackedMessage tracked = startTracking(message.msg_id, now, options_.timeouts);
  auto doc = fhir::JsonDocument::parse(trackingTaskJson({}, message, tracked, isoTime(now), now, options_.timeouts));
  if (!doc.isOk()) return internalError("tracking Task: " + doc.status().message());
  fhir::OperationOutcome outcome;
  auto created = operations_.create(context(message.msg_id), "Task", doc->root(),
                                    {{"identifier", std::string(kOutboundMessageSystem) + "|" + message.msg_id}},
                                    &outcome);
  if (!created.isOk()) return created.status();
  if (created->kind == gateway::ops::WriteOutcome::Kind::kCreated) count(counters_.sent, "sent");
  return Status::ok();
}

Result<std::string> AppRecTracker::taskIdFor(const std::string& msg_id) {
  ASSIGN_OR_RETURN(std::vector<std::string> ids,
                   operations_.findIds("Task", {{"identifier", std::string(kOutboundMessageSystem) + "|" + msg_id}}, 2));
  if (ids.empty() || ids.front().empty()) return notFound("no outbound message " + msg_id + " is tracked");
  return ids.front();
}

Result<AppRecTracker::Record> AppRecTracker::load(const std::string& task_id) {
  ASSIGN_OR_RETURN(gateway::store::ResourceVersion version, store_.read("Task", task_id));
  ASSIGN_OR_RETURN(fhir::JsonDocument doc, fhir::JsonDocument::parse(version.json));
  const fhir::JsonValue& task = doc.root();
  Record record;
  record.task_id = task_id;
  record.version = version.version;
  if (const fhir::JsonValue* ids = task.find("identifier")) {
    for (const fhir::JsonValue& id : ids->items()) {
      if (stringAt(id, "system") == kOutboundMessageSystem) record.message.msg_id = std::string(stringAt(id, "value"));
    }
  }
  record.tracked.msg_id = record.message.msg_id;
  if (const fhir::JsonValue* based = task.find("basedOn"); based != nullptr && based->size() > 0) {
    record.message.plan_reference = std::string(stringAt(based->items().front(), "reference"));
  }
  if (const fhir::JsonValue* part_of = task.find("partOf"); part_of != nullptr && part_of->size() > 0) {
    record.message.request_reference = std::string(stringAt(part_of->items().front(), "reference"));
  }
  if (const fhir::JsonValue* business = task.find("businessStatus")) {
    if (const fhir::JsonValue* codings = business->find("coding"); codings != nullptr && codings->size() > 0) {
      trackingStateFromCode(stringAt(codings->items().front(), "code"), record.tracked.state);
    }
  }
  if (const fhir::JsonValue* subject = task.find("for")) {
    if (const fhir::JsonValue* id = subject->find("identifier")) {
      record.message.patient_system = std::string(stringAt(*id, "system"));
      record.message.patient_id = std::string(stringAt(*id, "value"));
    }
  }
  if (const fhir::JsonValue* owner = task.find("owner")) {
    record.message.receiver_name = std::string(stringAt(*owner, "display"));
    if (const fhir::JsonValue* id = owner->find("identifier")) {
      record.message.receiver_her_id = std::string(stringAt(*id, "value"));
    }
  }
  record.first_sent = std::string(stringAt(task, "authoredOn"));
  record.last_sent = parseIsoTime(stringAt(task, "lastModified"));
  // Due from the last send and the timeout in force now: a changed timeout applies to what is already waiting, and
  // the sweep's search (modified le now − timeout) and this test agree.
  record.tracked.due = record.last_sent + options_.timeouts.timeout;
  if (const fhir::JsonValue* inputs = task.find("input")) {
    for (const fhir::JsonValue& input : inputs->items()) {
      const fhir::JsonValue* type = input.find("type");
      const std::string_view name = type != nullptr ? stringAt(*type, "text") : std::string_view();
      if (name == "message") {
        if (const fhir::JsonValue* attachment = input.find("valueAttachment")) {
          record.message.bytes = fhir::base64Decode(stringAt(*attachment, "data")).value_or(std::string());
        }
      } else if (name == "message-type") {
        record.message.msg_type = std::string(stringAt(input, "valueString"));
      } else if (name == "sends") {
        const std::string_view sends = stringAt(input, "valueInteger");
        record.tracked.sends = sends.empty() ? 1 : std::max(1, std::atoi(std::string(sends).c_str()));
      }
    }
  }
  if (const fhir::JsonValue* outputs = task.find("output")) {
    for (const fhir::JsonValue& output : outputs->items()) {
      const fhir::JsonValue* coding = output.find("valueCoding");
      if (coding == nullptr) continue;
      const fhir::JsonValue* type = output.find("type");
      std::string detail(type != nullptr ? stringAt(*type, "text") : std::string_view());
      detail = detail.starts_with("apprec-error: ") ? detail.substr(14) : std::string();
      record.tracked.errors.push_back(
          {std::string(stringAt(*coding, "code")), std::string(stringAt(*coding, "display")), detail});
    }
  }
  return record;
}

Status AppRecTracker::store(const Record& record) {
  auto doc = fhir::JsonDocument::parse(trackingTaskJson(record.task_id, record.message, record.tracked, record.first_sent,
                                                        record.last_sent, options_.timeouts));
  if (!doc.isOk()) return internalError("tracking Task: " + doc.status().message());
  fhir::OperationOutcome outcome;
  // If-Match: two nodes sweeping at once, or an AppRec arriving during a resend, cannot overwrite each other.
  auto updated = operations_.update(context(record.message.msg_id), "Task", record.task_id, doc->root(),
                                    record.version, &outcome);
  return updated.isOk() ? Status::ok() : updated.status();
}

Status AppRecTracker::escalate(const Record& record, std::string_view code, std::string_view text,
                               Clock::time_point now) {
  const std::string& msg_id = record.message.msg_id;
  std::string description = std::string(text) + ": melding " + record.message.msg_type + " " + msg_id +
                            " til HER-id " + record.message.receiver_her_id;
  if (!record.message.receiver_name.empty()) description += " (" + record.message.receiver_name + ")";
  if (record.tracked.state == TrackingState::kEscalated) {
    description += ", sendt " + std::to_string(record.tracked.sends) + " ganger uten applikasjonskvittering";
  }
  for (const AppRecError& e : record.tracked.errors) {
    description += "; " + e.code + (e.text.empty() ? "" : " " + e.text) + (e.detail.empty() ? "" : ": " + e.detail);
  }
  std::string json = "{\"resourceType\":\"Task\",\"identifier\":[{\"system\":" + jsonString(kEscalationSystem) +
                     ",\"value\":" + jsonString(msg_id) + "}]";
  if (!record.message.plan_reference.empty()) {
    json += ",\"basedOn\":[{\"reference\":" + jsonString(record.message.plan_reference) + "}]";
  }
  if (!record.message.request_reference.empty()) {
    json += ",\"partOf\":[{\"reference\":" + jsonString(record.message.request_reference) + "}]";
  }
  json += ",\"status\":\"requested\",\"intent\":\"order\",\"priority\":\"urgent\"";
  json += ",\"code\":{\"coding\":[" + codingJson(kTrackingCodeSystem, code, text) + "]}";
  json += ",\"description\":" + jsonString(description);
  json += ",\"focus\":{\"reference\":" + jsonString("Task/" + record.task_id) + "}";
  if (!record.message.patient_id.empty()) {
    json += ",\"for\":{\"identifier\":{\"system\":" + jsonString(record.message.patient_system) + ",\"value\":" +
            jsonString(record.message.patient_id) + "}}";
  }
  json += ",\"authoredOn\":" + jsonString(isoTime(now)) + "}";
  auto doc = fhir::JsonDocument::parse(std::move(json));
  if (!doc.isOk()) return internalError("escalation Task: " + doc.status().message());
  fhir::OperationOutcome outcome;
  // One escalation per message (If-None-Exist on its MsgId): a sweep that crashed after it and runs again, or a
  // rejecting AppRec received twice, raises nothing new.
  auto created = operations_.create(context(msg_id), "Task", doc->root(),
                                    {{"identifier", std::string(kEscalationSystem) + "|" + msg_id}}, &outcome);
  return created.isOk() ? Status::ok() : created.status();
}

Result<TrackingState> AppRecTracker::recordAppRec(const ReceivedAppRec& apprec) {
  Result<std::string> task_id = taskIdFor(apprec.original_msg_id);
  if (!task_id.isOk()) {
    if (task_id.status().code() == StatusCode::kNotFound) {
      count(counters_.unmatched, "unmatched");
      log("plo apprec: AppRec " + apprec.id + " answers " + apprec.original_msg_id + ", which planbro has no record of");
    }
    return task_id.status();
  }
  ASSIGN_OR_RETURN(Record record, load(*task_id));
  const Clock::time_point now = options_.now();
  record.tracked = afterAppRec(std::move(record.tracked), apprec);
  RETURN_IF_ERROR(store(record));
  switch (record.tracked.state) {
    case TrackingState::kAcknowledged: count(counters_.acknowledged, "acknowledged"); break;
    case TrackingState::kRejected: count(counters_.rejected, "rejected"); break;
    case TrackingState::kPartlyRejected: count(counters_.partly_rejected, "partly-rejected"); break;
    default: break;
  }
  if (record.tracked.state == TrackingState::kRejected || record.tracked.state == TrackingState::kPartlyRejected) {
    std::string codes;
    for (const AppRecError& e : record.tracked.errors) codes += (codes.empty() ? "" : ",") + e.code;
    log("plo apprec: " + record.message.msg_id + " to HER-id " + record.message.receiver_her_id + " " +
        std::string(trackingStateCode(record.tracked.state)) + " (" + codes + ")");
    RETURN_IF_ERROR(escalate(record, "apprec-rejected",
                             record.tracked.state == TrackingState::kRejected ? "Melding avvist av mottaker"
                                                                              : "Melding delvis avvist av mottaker",
                             now));
  }
  return record.tracked.state;
}

Result<TrackedMessage> AppRecTracker::find(const std::string& msg_id) {
  ASSIGN_OR_RETURN(std::string task_id, taskIdFor(msg_id));
  ASSIGN_OR_RETURN(Record record, load(task_id));
  return record.tracked;
}

Result<SweepStats> AppRecTracker::sweep() {
  const Clock::time_point now = options_.now();
  SweepStats stats;
  // Only what is overdue is read: awaiting Tasks whose last send is at least one timeout ago.
  ASSIGN_OR_RETURN(std::vector<std::string> ids,
                   operations_.findIds("Task",
                                       {{"code", std::string(kTrackingCodeSystem) + "|awaiting-apprec"},
                                        {"status", "in-progress"},
                                        {"modified", "le" + isoTime(now - options_.timeouts.timeout)}},
                                       options_.max_per_sweep));
  for (const std::string& id : ids) {
    if (id.empty()) continue;  // the marker for "more than the limit": the next sweep takes them
    Result<Record> loaded = load(id);
    if (!loaded.isOk()) continue;  // gone or unreadable: nothing to resend
    Record record = std::move(loaded).value();
    ++stats.examined;
    const TimeoutAction action = onTimeout(record.tracked, now, options_.timeouts);
    if (action == TimeoutAction::kNone) continue;
    if (action == TimeoutAction::kResend) {
      if (options_.resend) {
        if (Status sent = options_.resend(record.message); !sent.isOk()) {
          log("plo apprec: resend of " + record.message.msg_id + " failed: " + sent.message());
        }
      }
      // Counted as a send either way: a transport that is down must not keep a message from ever escalating.
      record.last_sent = now;
    }
    record.tracked = afterTimeout(std::move(record.tracked), action, now, options_.timeouts);
    if (action == TimeoutAction::kEscalate) {
      // The escalation first (it is idempotent): if the tracking Task's update then fails, the next sweep finds the
      // message still awaiting and escalates again to the same Task; the other order could lose the escalation.
      RETURN_IF_ERROR(escalate(record, "apprec-missing", "Melding ikke kvittert", now));
    }
    Status stored = store(record);
    if (!stored.isOk()) {
      if (stored.code() == StatusCode::kFailedPrecondition) continue;  // changed meanwhile (an AppRec, another node)
      return stored;
    }
    if (action == TimeoutAction::kResend) {
      ++stats.resent;
      count(counters_.resent, "resent");
      continue;
    }
    ++stats.escalated;
    count(counters_.escalated, "escalated");
    log("plo apprec: " + record.message.msg_id + " to HER-id " + record.message.receiver_her_id +
        " not acknowledged after " + std::to_string(record.tracked.sends) + " sends: escalated");
  }
  return stats;
}

}  // namespace planbro::adapters::plo
