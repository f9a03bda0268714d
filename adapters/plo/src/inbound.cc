#include "planbro/adapters/plo/inbound.h"

#include "json_text.h"

#include <openssl/rand.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>

#include "planbro/adapters/plo/apprec_tracker.h"
#include "planbro/fhir-model/norwegian_ids.h"

namespace planbro::adapters::plo {
namespace {

using gateway::ops::TransactionEntry;
using gateway::ops::WriteOutcome;

std::string kindText(WriteOutcome::Kind kind) {
  switch (kind) {
    case WriteOutcome::Kind::kCreated: return "created";
    case WriteOutcome::Kind::kUpdated: return "updated";
    case WriteOutcome::Kind::kUnchanged: return "unchanged";
    case WriteOutcome::Kind::kExisting: return "existing";
    default: return "other";
  }
}

// Failures that say something about the message (answered Avvist) rather than about the gateway (retried).
bool blamesTheMessage(StatusCode code) {
  return code == StatusCode::kInvalidArgument || code == StatusCode::kUnprocessable ||
         code == StatusCode::kPermissionDenied || code == StatusCode::kFailedPrecondition ||
         code == StatusCode::kConflict || code == StatusCode::kResourceExhausted;
}

void rejectForPipeline(DecodedMessage& message, const Status& status, const fhir::OperationOutcome& outcome) {
  std::string reason = status.message();
  for (const auto& issue : outcome.issues()) {
    if (issue.severity == fhir::Severity::kError || issue.severity == fhir::Severity::kFatal) {
      reason = issue.diagnostics + (issue.location.empty() ? "" : " (" + issue.location + ")");
      break;
    }
  }
  message.status = AppRecStatus::kRejected;
  message.errors.push_back({"X99", "Annen feil", "meldingen kan ikke lagres: " + reason});
  message.summary = "Avvist: " + reason;
}

struct ParsedWrites {
  std::vector<fhir::JsonDocument> documents;
  Status status;
};

ParsedWrites parseWrites(const DecodedMessage& message, const std::string& plan_reference = {}) {
  ParsedWrites parsed;
  for (const PlannedWrite& write : message.writes) {
    std::string json = write.json;
    if (write.link_to_plan && !plan_reference.empty() && json.size() > 1 && json.front() == '{') {
      json.insert(1, "\"basedOn\":[{\"reference\":" + jsonString(plan_reference) + "}],");
    }
    auto doc = fhir::JsonDocument::parse(std::move(json));
    if (!doc.isOk()) {
      parsed.status = internalError("PLO mapping produced invalid JSON: " + doc.status().message());
      return parsed;
    }
    parsed.documents.push_back(std::move(doc).value());
  }
  return parsed;
}

}  // namespace

std::string randomUuid() {
  unsigned char b[16];
  if (RAND_bytes(b, sizeof b) != 1) {
    // No entropy source: fall back on the clock and a counter (ids must only be unique, not secret).
    static std::atomic<uint64_t> counter{0};
    const uint64_t t = static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    const uint64_t c = ++counter;
    for (int i = 0; i < 8; ++i) b[i] = static_cast<unsigned char>(t >> (8 * i));
    for (int i = 0; i < 8; ++i) b[8 + i] = static_cast<unsigned char>(c >> (8 * i));
  }
  b[6] = static_cast<unsigned char>((b[6] & 0x0F) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3F) | 0x80);
  char out[37];
  std::snprintf(out, sizeof out, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
  return out;
}

std::string utcNow() {
  const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char out[32];
  std::strftime(out, sizeof out, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return out;
}

InboundProcessor::InboundProcessor(std::shared_ptr<const Codec> codec, gateway::ops::Operations* operations,
                                   InboundOptions options)
    : codec_(std::move(codec)), operations_(operations), options_(std::move(options)) {
  if (!options_.new_id) options_.new_id = randomUuid;
  if (!options_.now) options_.now = utcNow;
}

Status InboundProcessor::check(const DecodedMessage& message, InboundResult& result) const {
  ParsedWrites parsed = parseWrites(message);
  RETURN_IF_ERROR(parsed.status);
  const gateway::ops::ResourceWriter& writer = operations_ != nullptr ? operations_->writer() : check_writer_;
  for (size_t i = 0; i < message.writes.size(); ++i) {
    fhir::OperationOutcome outcome;
    gateway::ops::WriteIntent intent;
    intent.type = message.writes[i].type;
    auto prepared = writer.prepare(intent, parsed.documents[i].root(), &outcome);
    if (!prepared.isOk()) {
      rejectForPipeline(result.message, prepared.status(), outcome);
      return Status::ok();
    }
    result.effects.push_back(message.writes[i].type + " would be written");
  }
  return Status::ok();
}

Result<std::string> InboundProcessor::findPlan(const DecodedMessage& message) const {
  if (!message.head || !message.head->patient || message.head->patient->id.empty()) return std::string();
  const PatientInfo& patient = *message.head->patient;
  const std::string_view system = fhir::no::preferredSystemUri(
      patient.id_type == "DNR" ? fhir::no::IdentifierSystem::kDnr : fhir::no::IdentifierSystem::kFnr);
  ASSIGN_OR_RETURN(std::vector<std::string> patients,
                   operations_->findIds("Patient", {{"identifier", std::string(system) + "|" + patient.id}}, 2));
  if (patients.size() != 1 || patients.front().empty()) return std::string();
  ASSIGN_OR_RETURN(std::vector<std::string> plans,
                   operations_->findIds("CarePlan", {{"subject", "Patient/" + patients.front()}}, 2));
  // One plan per patient is the rule; with none (or, against the rule, several) the message stays unlinked.
  if (plans.size() != 1 || plans.front().empty()) return std::string();
  return "CarePlan/" + plans.front();
}

Status InboundProcessor::write(const DecodedMessage& message, InboundResult& result) const {
  ASSIGN_OR_RETURN(std::string plan, findPlan(message));
  if (!plan.empty()) result.effects.push_back("linked to " + plan);
  ParsedWrites parsed = parseWrites(message, plan);
  RETURN_IF_ERROR(parsed.status);
  std::vector<TransactionEntry> entries;
  for (size_t i = 0; i < message.writes.size(); ++i) {
    const PlannedWrite& planned = message.writes[i];
    TransactionEntry entry;
    entry.kind = planned.kind == PlannedWrite::Kind::kCreateOnce ? TransactionEntry::Kind::kCreate
                                                                 : TransactionEntry::Kind::kConditionalUpdate;
    entry.type = planned.type;
    entry.condition = {{"identifier", planned.identifier_system + "|" + planned.identifier_value}};
    entry.resource = &parsed.documents[i].root();
    entry.full_url = planned.full_url;
    entries.push_back(std::move(entry));
  }
  gateway::ops::WriteContext context;
  const std::string her = message.head ? message.head->sender.herId() : std::string();
  context.actor = her.empty() ? std::string("HER:ukjent") : "HER:" + her;
  context.source_system = std::string(kSourceSystem);
  context.correlation_id = message.head ? message.head->msg_id : std::string();
  fhir::OperationOutcome outcome;
  gateway::ops::EntryFailure failure;
  auto done = operations_->transaction(context, entries, &outcome, &failure);
  if (!done.isOk()) {
    if (!blamesTheMessage(done.status().code())) return done.status();
    rejectForPipeline(result.message, done.status(), outcome);
    return Status::ok();
  }
  for (size_t i = 0; i < done->entries.size(); ++i) {
    if (!done->entries[i]) continue;
    result.effects.push_back(done->entries[i]->version.type + "/" + done->entries[i]->version.id + " " +
                             kindText(done->entries[i]->kind));
  }
  return Status::ok();
}

InboundResult InboundProcessor::oversized(size_t size) const {
  InboundResult result;
  result.message = codec_->oversized(size);
  result.apprec = encodeAppRec(
      answerFor(result.message, options_.apprec_version, options_.new_id(), options_.now(), options_.self));
  return result;
}

Result<InboundResult> InboundProcessor::process(std::string_view bytes) const {
  InboundResult result;
  result.message = codec_->decode(bytes);
  if (result.message.apprec) {  // an acknowledgement: matched to what planbro sent, never answered
    if (options_.tracker != nullptr) {
      Result<TrackingState> state = options_.tracker->recordAppRec(*result.message.apprec);
      if (!state.isOk() && state.status().code() != StatusCode::kNotFound) return state.status();
      if (state.isOk()) {
        result.effects.push_back("outbound " + result.message.apprec->original_msg_id + " " +
                                 std::string(trackingStateCode(*state)));
      }
    }
    return result;
  }
  if (result.message.status != AppRecStatus::kRejected && !result.message.writes.empty()) {
    RETURN_IF_ERROR(operations_ != nullptr ? write(result.message, result) : check(result.message, result));
  }
  if (result.message.status == AppRecStatus::kRejected) result.effects.clear();
  result.apprec = encodeAppRec(
      answerFor(result.message, options_.apprec_version, options_.new_id(), options_.now(), options_.self));
  return result;
}

}  // namespace planbro::adapters::plo
