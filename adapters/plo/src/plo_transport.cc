// The `plo` dispatch transport. It reads what the change does not carry itself (the version before, the patient,
// the coordinator, the need-for-IP Tasks) from the store, and sends through a MessageSender so the tests and the
// serve setup choose the message service. Items are sent one at a time: a plan change makes a handful of messages.
#include "planbro/adapters/plo/plo_transport.h"

#include <openssl/evp.h>

#include <charconv>
#include <map>
#include <optional>
#include <set>

#include "jose_c.h"
#include "msh_http.h"
#include "planbro/adapters/plo/apprec_tracker.h"
#include "planbro/adapters/plo/inbound.h"
#include "planbro/adapters/plo/outbound.h"
#include "planbro/fhir-model/norwegian_ids.h"

namespace planbro::adapters::plo {

using detail::JsonPtr;
using gateway::dispatch::Delivery;
using gateway::dispatch::DeliveryOutcome;

std::string uuidFromSeed(std::string_view seed) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(seed.data(), seed.size(), digest, &n, EVP_sha256(), nullptr);
  digest[6] = static_cast<unsigned char>((digest[6] & 0x0f) | 0x80);  // version 8: custom
  digest[8] = static_cast<unsigned char>((digest[8] & 0x3f) | 0x80);  // RFC 4122 variant
  static const char* const kHex = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 15];
  }
  return out;
}

namespace {

constexpr std::string_view kNeedForIpCode = "Behov for individuell plan";

/** A HER-id as the message service takes it: 1 to 10 digits, no leading zero. */
std::optional<int64_t> herNumber(std::string_view text) {
  if (text.empty() || text.size() > 10 || text.front() == '0') return std::nullopt;
  int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

const json_t* member(const json_t* j, const char* name) { return json_is_object(j) ? json_object_get(j, name) : nullptr; }
std::string text(const json_t* j, const char* name) { return detail::stringMember(j, name); }
const json_t* first(const json_t* array) { return json_is_array(array) ? json_array_get(array, 0) : nullptr; }

std::optional<fhir::no::IdentifierSystem> systemOf(const json_t* identifier) {
  return fhir::no::identifierSystemFor(text(identifier, "system"));
}

/** The value of the first identifier of `kind` in an Identifier array (or one Identifier). */
std::string identifierOf(const json_t* identifiers, fhir::no::IdentifierSystem kind) {
  if (json_is_object(identifiers)) return systemOf(identifiers) == kind ? text(identifiers, "value") : "";
  for (size_t i = 0; json_is_array(identifiers) && i < json_array_size(identifiers); ++i) {
    const json_t* id = json_array_get(identifiers, i);
    if (systemOf(id) == kind) return text(id, "value");
  }
  return "";
}

bool isCoordinatorRole(const json_t* participant) {
  const json_t* roles = member(participant, "role");
  for (size_t i = 0; json_is_array(roles) && i < json_array_size(roles); ++i) {
    const json_t* codings = member(json_array_get(roles, i), "coding");
    for (size_t k = 0; json_is_array(codings) && k < json_array_size(codings); ++k) {
      const json_t* c = json_array_get(codings, k);
      const std::string system = text(c, "system");
      if (text(c, "code") == "8" && system.size() >= 4 && system.compare(system.size() - 4, 4, "9034") == 0) return true;
    }
  }
  return false;
}

/** The current coordinator of a CareTeam: its 9034#8 participant without an end date (the member reference). */
const json_t* currentCoordinator(const json_t* team) {
  const json_t* participants = member(team, "participant");
  for (size_t i = 0; json_is_array(participants) && i < json_array_size(participants); ++i) {
    const json_t* p = json_array_get(participants, i);
    if (isCoordinatorRole(p) && text(member(p, "period"), "end").empty() && member(p, "member") != nullptr) return p;
  }
  return nullptr;
}

std::string coordinatorKey(const json_t* participant) {
  return participant == nullptr ? "" : detail::dumpJson(member(participant, "member"));
}

/** "Type/id" of a literal relative reference, or "" (a logical reference has none). */
std::pair<std::string, std::string> literal(const json_t* reference) {
  const std::string ref = text(reference, "reference");
  const size_t slash = ref.find('/');
  if (slash == std::string::npos || slash == 0 || ref.find('/', slash + 1) != std::string::npos) return {};
  return {ref.substr(0, slash), ref.substr(slash + 1)};
}

struct Change {
  std::string status_text;
  std::string patient_reference_type, patient_reference_id;  // when the subject is literal
  const json_t* patient_logical = nullptr;                    // Reference.identifier, when logical
  std::string plan_id;
  const json_t* coordinator = nullptr;  // a CareTeam participant
  JsonPtr holder;                       // keeps what coordinator points into
  std::vector<std::pair<Party, std::string>> receivers;  // party, the conversation it answers
  std::map<std::string, std::string> request_by_her;     // receiver HER-id → "Task/<id>", its need-for-IP request
};

class PloTransport final : public gateway::dispatch::Transport {
 public:
  PloTransport(PloTransportOptions options, gateway::store::ResourceStore& store, gateway::ops::Operations& operations,
               MessageSender send, std::function<void(const SentDialog&)> on_sent)
      : options_(std::move(options)), store_(store), operations_(operations), send_(std::move(send)),
        on_sent_(std::move(on_sent)) {
    if (!options_.now) options_.now = utcNow;
  }

  std::string_view kind() const override { return "plo"; }

  std::vector<DeliveryOutcome> deliver(std::span<const Delivery> batch) override {
    std::vector<DeliveryOutcome> outcomes(batch.size());
    std::set<std::string> failed_keys;
    for (size_t i = 0; i < batch.size(); ++i) {
      if (failed_keys.count(batch[i].ordering_key) != 0) continue;  // kNotAttempted: its key failed earlier
      int64_t withheld = 0;
      Status s = deliverOne(batch[i], withheld);
      if (s.isOk()) {
        outcomes[i].kind = DeliveryOutcome::Kind::kDelivered;
        outcomes[i].withheld = withheld;
      } else {
        outcomes[i].kind = DeliveryOutcome::Kind::kFailed;
        outcomes[i].error = s.message();
        failed_keys.insert(batch[i].ordering_key);
      }
    }
    return outcomes;
  }

 private:
  Result<JsonPtr> readJson(const std::string& type, const std::string& id, int64_t version = 0) {
    auto v = version > 0 ? store_.vread(type, id, version) : store_.read(type, id);
    if (!v.isOk()) return v.status();
    if (v->deleted) return notFound(type + "/" + id + " is deleted");
    JsonPtr j = detail::parseJson(v->json);
    if (!json_is_object(j.get())) return internalError(type + "/" + id + ": stored JSON unreadable");
    return j;
  }

  /** The version before this change, or null for a create. */
  JsonPtr previous(const Delivery& d) {
    if (d.event.version <= 1) return nullptr;
    auto prev = readJson(d.event.type, d.event.id, d.event.version - 1);
    return prev.isOk() ? std::move(prev).value() : nullptr;
  }

  Status deliverOne(const Delivery& d, int64_t& withheld) {
    if (d.event.kind == gateway::store::ChangeKind::kDelete || !d.resource) return Status::ok();
    JsonPtr resource = detail::parseJson(*d.resource);
    if (!json_is_object(resource.get())) return Status::ok();
    Change change;
    const std::string& type = d.event.type;
    if (type == "CarePlan") {
      JsonPtr before = previous(d);
      if (text(resource.get(), "status") != "active" || (before && text(before.get(), "status") == "active")) {
        return Status::ok();
      }
      change.status_text = "Individuell plan er startet";
      change.plan_id = d.event.id;
      std::tie(change.patient_reference_type, change.patient_reference_id) = literal(member(resource.get(), "subject"));
      if (auto [t, id] = literal(first(member(resource.get(), "careTeam"))); t == "CareTeam") {
        if (auto team = readJson(t, id); team.isOk()) {
          change.coordinator = currentCoordinator(team->get());
          change.holder = std::move(team).value();
        }
      }
    } else if (type == "CareTeam") {
      const json_t* now = currentCoordinator(resource.get());
      JsonPtr before = previous(d);
      const std::string was = before ? coordinatorKey(currentCoordinator(before.get())) : "";
      if (now == nullptr || coordinatorKey(now) == was) return Status::ok();
      change.status_text = was.empty() ? "Koordinator er oppnevnt" : "Koordinator er endret";
      change.coordinator = now;
      std::tie(change.patient_reference_type, change.patient_reference_id) = literal(member(resource.get(), "subject"));
      if (change.patient_reference_type == "Patient") {
        ASSIGN_OR_RETURN(std::vector<std::string> plans,
                         operations_.findIds("CarePlan", {{"subject", "Patient/" + change.patient_reference_id}}, 2));
        if (plans.size() == 1) change.plan_id = plans.front();
      }
    } else if (type == "Task") {
      if (d.event.kind != gateway::store::ChangeKind::kCreate ||
          text(member(resource.get(), "code"), "text") != kNeedForIpCode) {
        return Status::ok();
      }
      change.status_text = "Behov for individuell plan er meldt";
      const json_t* subject = member(resource.get(), "for");
      std::tie(change.patient_reference_type, change.patient_reference_id) = literal(subject);
      change.patient_logical = member(subject, "identifier");
      const json_t* owner = member(resource.get(), "owner");
      if (std::string her = identifierOf(member(owner, "identifier"), fhir::no::IdentifierSystem::kHerId); !her.empty()) {
        Party p;
        p.name = text(owner, "display");
        p.idents.push_back({her, "HER"});
        change.receivers.push_back({std::move(p), ""});
        change.request_by_her[her] = "Task/" + d.event.id;
      }
    } else {
      return Status::ok();
    }
    ASSIGN_OR_RETURN(PatientInfo patient, patientOf(change));
    if (type != "Task") RETURN_IF_ERROR(addNeedForIpReporters(patient, change));
    // Each receiver the plan names passes the patient's consent for this event before anything is built for it:
    // one refused is skipped (counted, audited by the policy), never a failure and never sent.
    std::erase_if(change.receivers, [&](const std::pair<Party, std::string>& r) {
      const bool allowed = gateway::dispatch::mayReceiveAt(d, {"", r.first.herId()});
      if (!allowed) ++withheld;
      return !allowed;
    });
    if (change.receivers.empty()) return Status::ok();  // nobody to tell: delivered
    OutboundDialog dialog;
    dialog.gen_date = options_.now();
    dialog.sender = options_.self;
    dialog.patient = patient;
    dialog.plan.plan_reference = change.plan_id.empty() ? "" : "CarePlan/" + change.plan_id;
    dialog.plan.status_text = change.status_text;
    if (!change.plan_id.empty()) {
      if (auto plan = readJson("CarePlan", change.plan_id); plan.isOk()) {
        dialog.plan.summary = text(plan->get(), "description");
        if (dialog.plan.summary.empty()) dialog.plan.summary = text(plan->get(), "title");
        dialog.plan.period_start = text(member(plan->get(), "period"), "start").substr(0, 10);
      }
    }
    if (dialog.plan.summary.empty()) dialog.plan.summary = change.status_text;
    if (change.coordinator != nullptr) dialog.coordinator = contactOf(change.coordinator);
    // Every receiver's HER-id is checked before anything is sent: one that is not a HER-id (a Task written through
    // REST may carry anything) fails the delivery as a visible dead letter, and nobody got a partial round.
    for (const auto& [receiver, conversation] : change.receivers) {
      if (!herNumber(receiver.herId())) {
        return Status(StatusCode::kFailedPrecondition,
                      "a receiver's HER-id is not a positive integer: \"" + receiver.herId().substr(0, 20) + "\"");
      }
    }
    for (const auto& [receiver, conversation] : change.receivers) {
      const std::string her = receiver.herId();
      const int64_t her_number = *herNumber(her);
      dialog.receiver = receiver;
      if (dialog.receiver.name.empty()) dialog.receiver.name = "HER " + her;
      dialog.conversation_ref = conversation;
      dialog.msg_id = uuidFromSeed(d.idempotency_key + "|" + her);
      ASSIGN_OR_RETURN(std::string xml, encodeHelsefagligDialog(dialog));
      if (options_.tracker != nullptr) {
        // Recorded before it is sent: a crash between the two leaves a record that the sweep resends (same MsgId),
        // never a message that left untracked. A retried delivery records nothing new (idempotent on the MsgId).
        OutboundMessage tracked;
        tracked.msg_id = dialog.msg_id;
        tracked.msg_type = "DIALOG_HELSEFAGLIG";
        tracked.receiver_her_id = her;
        tracked.receiver_name = dialog.receiver.name;
        tracked.patient_system = std::string(fhir::no::preferredSystemUri(
            patient.id_type == "DNR" ? fhir::no::IdentifierSystem::kDnr : fhir::no::IdentifierSystem::kFnr));
        tracked.patient_id = patient.id;
        tracked.plan_reference = dialog.plan.plan_reference;
        if (auto r = change.request_by_her.find(her); r != change.request_by_her.end()) {
          tracked.request_reference = r->second;
        }
        tracked.bytes = xml;
        RETURN_IF_ERROR(options_.tracker->recordSent(tracked));
      }
      auto sent = send_(xml, her_number);
      if (!sent.isOk()) return Status(sent.status().code(), "to HER " + her + ": " + sent.status().message());
      if (on_sent_) on_sent_({dialog.msg_id, her_number, change.status_text, *sent});
    }
    return Status::ok();
  }

  Result<PatientInfo> patientOf(const Change& change) {
    PatientInfo patient;
    const json_t* identifiers = change.patient_logical;
    JsonPtr holder;
    if (change.patient_reference_type == "Patient") {
      ASSIGN_OR_RETURN(holder, readJson("Patient", change.patient_reference_id));
      identifiers = member(holder.get(), "identifier");
      const json_t* name = first(member(holder.get(), "name"));
      patient.family_name = text(name, "family");
      if (const json_t* given = first(member(name, "given")); json_is_string(given)) patient.given_name = json_string_value(given);
    }
    patient.id = identifierOf(identifiers, fhir::no::IdentifierSystem::kFnr);
    patient.id_type = "FNR";
    if (patient.id.empty()) {
      patient.id = identifierOf(identifiers, fhir::no::IdentifierSystem::kDnr);
      patient.id_type = "DNR";
    }
    // A message must name the patient by fødselsnummer or D-nummer; without one it cannot be sent, and the change
    // goes to the dead letters (visible, replayable) rather than being dropped.
    if (patient.id.empty()) return Status(StatusCode::kFailedPrecondition, "the patient has no fødselsnummer or D-nummer");
    return patient;
  }

  /** The requesters of the patient's need-for-IP Tasks, each with the conversation (MsgId) it started. */
  Status addNeedForIpReporters(const PatientInfo& patient, Change& change) {
    const auto system = fhir::no::preferredSystemUri(patient.id_type == "DNR" ? fhir::no::IdentifierSystem::kDnr
                                                                              : fhir::no::IdentifierSystem::kFnr);
    ASSIGN_OR_RETURN(std::vector<std::string> tasks,
                     operations_.findIds("Task", {{"subject:identifier", std::string(system) + "|" + patient.id}},
                                         options_.max_receivers));
    std::set<std::string> seen;
    for (const std::string& id : tasks) {
      auto task = readJson("Task", id);
      if (!task.isOk() || text(member(task->get(), "code"), "text") != kNeedForIpCode) continue;
      const json_t* requester = member(task->get(), "requester");
      const std::string her = identifierOf(member(requester, "identifier"), fhir::no::IdentifierSystem::kHerId);
      if (her.empty() || her == options_.self.herId() || !seen.insert(her).second) continue;
      Party p;
      p.name = text(requester, "display");
      p.idents.push_back({her, "HER"});
      std::string conversation;
      const json_t* ids = member(task->get(), "identifier");
      for (size_t i = 0; json_is_array(ids) && i < json_array_size(ids); ++i) {
        if (text(json_array_get(ids, i), "system") == kMessageIdSystem) conversation = text(json_array_get(ids, i), "value");
      }
      change.request_by_her[her] = "Task/" + id;
      change.receivers.push_back({std::move(p), conversation});
    }
    return Status::ok();
  }

  CoordinatorContact contactOf(const json_t* participant) {
    CoordinatorContact c;
    const json_t* m = member(participant, "member");
    c.family_name = text(m, "display");
    auto [t, id] = literal(m);
    if (t != "Practitioner") return c;
    auto practitioner = readJson(t, id);
    if (!practitioner.isOk()) return c;
    const json_t* p = practitioner->get();
    const json_t* name = first(member(p, "name"));
    if (!text(name, "family").empty()) c.family_name = text(name, "family");
    if (const json_t* given = first(member(name, "given")); json_is_string(given)) c.given_name = json_string_value(given);
    c.hpr_number = identifierOf(member(p, "identifier"), fhir::no::IdentifierSystem::kHpr);
    const json_t* telecom = member(p, "telecom");
    for (size_t i = 0; json_is_array(telecom) && i < json_array_size(telecom); ++i) {
      const json_t* t2 = json_array_get(telecom, i);
      if (text(t2, "system") == "phone" && c.phone.empty()) c.phone = text(t2, "value");
      if (text(t2, "system") == "email" && c.email.empty()) c.email = text(t2, "value");
    }
    return c;
  }

  PloTransportOptions options_;
  gateway::store::ResourceStore& store_;
  gateway::ops::Operations& operations_;
  MessageSender send_;
  std::function<void(const SentDialog&)> on_sent_;
};

}  // namespace

std::shared_ptr<gateway::dispatch::Transport> makePloTransport(PloTransportOptions options,
                                                               gateway::store::ResourceStore& store,
                                                               gateway::ops::Operations& operations,
                                                               MessageSender send,
                                                               std::function<void(const SentDialog&)> on_sent) {
  return std::make_shared<PloTransport>(std::move(options), store, operations, std::move(send), std::move(on_sent));
}

}  // namespace planbro::adapters::plo
