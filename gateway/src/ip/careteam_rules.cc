// The coordinator rules on IP CareTeams (GW-31, GW-32): one current coordinator, two only in a declared handover
// of bounded overlap, and the coordinators of earlier versions kept (ended, never erased).
#include <memory>
#include <unordered_set>

#include "ip_resource.h"
#include "planbro/gateway/ip/ip_rules.h"

namespace planbro::gateway::ip::internal {

using fhir::JsonValue;

namespace {

struct Coordinator {
  size_t index = 0;
  std::string identity;  // member (reference, else identifier, else display) | period.start
  const JsonValue* period = nullptr;
  bool handover = false;
};

bool isCoordinatorRole(const JsonValue& participant) {
  const JsonValue* roles = participant.find("role");
  if (!roles || !roles->isArray()) return false;
  for (const JsonValue& role : roles->items()) {
    const JsonValue* codings = role.isObject() ? role.find("coding") : nullptr;
    if (!codings || !codings->isArray()) continue;
    for (const JsonValue& c : codings->items()) {
      if (textOf(c.find("system")) == kCoordinatorRoleSystem && textOf(c.find("code")) == kCoordinatorRoleCode) {
        return true;
      }
    }
  }
  return false;
}

std::vector<Coordinator> coordinatorsOf(const JsonValue& team) {
  std::vector<Coordinator> out;
  const JsonValue* participants = team.find("participant");
  if (!participants || !participants->isArray()) return out;
  size_t i = 0;
  for (const JsonValue& p : participants->items()) {
    size_t index = i++;
    if (!p.isObject() || !isCoordinatorRole(p)) continue;
    Coordinator c;
    c.index = index;
    c.period = p.find("period");
    std::string member;
    if (const JsonValue* m = p.find("member"); m && m->isObject()) {
      member = std::string(textOf(m->find("reference")));
      if (member.empty()) {
        if (const JsonValue* id = m->find("identifier"); id && id->isObject()) {
          member = std::string(textOf(id->find("system"))) + "|" + std::string(textOf(id->find("value")));
        }
      }
      if (member.empty()) member = std::string(textOf(m->find("display")));
    }
    std::string start = c.period && c.period->isObject() ? std::string(textOf(c.period->find("start"))) : "";
    c.identity = member + "|" + start;
    const JsonValue* flag = extensionValue(p, kHandoverUrl, "valueBoolean");
    c.handover = flag && flag->isBool() && flag->boolean();
    out.push_back(std::move(c));
  }
  return out;
}

std::string participantPath(size_t index) { return "CareTeam.participant[" + std::to_string(index) + "]"; }

class CareTeamRulesHook final : public ops::TransactionHook {
 public:
  explicit CareTeamRulesHook(IpRulesOptions options) : options_(std::move(options)) {
    if (!options_.clock) options_.clock = store::systemClock();
  }

  bool watches(std::string_view type) const override { return type == "CareTeam"; }

  Result<ops::KeyChanges> keysInTransaction(ops::HookContext& context, const ops::PreparedWrite& write,
                                            const JsonValue* current, const JsonValue* proposed) const override {
    (void)write;
    if (!proposed || !isIpCareTeam(*proposed)) return ops::KeyChanges{};
    std::vector<Coordinator> coordinators = coordinatorsOf(*proposed);
    RETURN_IF_ERROR(checkCurrent(context.outcome, coordinators));
    if (current && isIpCareTeam(*current)) {
      std::unordered_set<std::string> kept_identities;  // O(n): a team may be large, and this runs in the writer turn
      for (const Coordinator& c : coordinators) kept_identities.insert(c.identity);
      for (const Coordinator& was : coordinatorsOf(*current)) {
        if (kept_identities.count(was.identity) != 0) continue;
        return violation(context.outcome, StatusCode::kUnprocessable, "business-rule", "GW-31", "CareTeam.participant",
                         "a coordinator of the stored team (participant[" + std::to_string(was.index) +
                             "]) is missing: the coordinators' history is kept; end a coordinator's period instead "
                             "of removing the participant",
                         "en koordinator i det lagrede teamet (participant[" + std::to_string(was.index) +
                             "]) mangler: koordinatorhistorikken skal bevares; avslutt koordinatorens periode i "
                             "stedet for å fjerne deltakeren");
      }
    }
    return ops::KeyChanges{};
  }

 private:
  Status checkCurrent(fhir::OperationOutcome* outcome, const std::vector<Coordinator>& coordinators) const {
    const Day today = dayOf(options_.clock());
    std::vector<const Coordinator*> now;
    for (const Coordinator& c : coordinators) {
      if (periodCovers(c.period, today)) now.push_back(&c);
    }
    // None current: a vacant coordinator (GW-35) is allowed; $ip-status reports it. One: the rule holds.
    if (now.size() <= 1) return Status::ok();
    const std::string where = participantPath(now[1]->index);
    if (now.size() > 2) {
      return violation(outcome, StatusCode::kUnprocessable, "business-rule", "GW-31", where,
                       std::to_string(now.size()) + " coordinators are current today: a plan has one coordinator, "
                           "two only during a handover",
                       std::to_string(now.size()) + " koordinatorer er gjeldende i dag: en plan har én koordinator, "
                           "to bare under et koordinatorbytte");
    }
    const Coordinator& a = *now[0];
    const Coordinator& b = *now[1];
    if (!a.handover && !b.handover) {
      return violation(outcome, StatusCode::kUnprocessable, "business-rule", "GW-32", where,
                       "two coordinators are current today without a declared handover: flag the overlap with the "
                       "extension ip-handover, or end the earlier coordinator's period",
                       "to koordinatorer er gjeldende i dag uten et erklært koordinatorbytte: merk overlappen med "
                       "utvidelsen ip-handover, eller avslutt den forrige koordinatorens periode");
    }
    auto bound = [](const Coordinator& c, const char* key, bool upper) -> std::optional<Day> {
      const JsonValue* v = c.period && c.period->isObject() ? c.period->find(key) : nullptr;
      return v ? dayBound(textOf(v), upper) : std::nullopt;
    };
    std::optional<Day> end_a = bound(a, "end", true), end_b = bound(b, "end", true);
    std::optional<Day> start_a = bound(a, "start", false), start_b = bound(b, "start", false);
    if ((!end_a && !end_b) || !start_a || !start_b) {
      return violation(outcome, StatusCode::kUnprocessable, "business-rule", "GW-32", where,
                       "a handover overlap must end: give the outgoing coordinator's period an end",
                       "overlappen ved koordinatorbytte må ha en slutt: gi den avtroppende koordinatorens periode en "
                       "sluttdato");
    }
    Day overlap_end = !end_a ? *end_b : !end_b ? *end_a : std::min(*end_a, *end_b);
    Day overlap_start = std::max(*start_a, *start_b);
    const auto days = (overlap_end - overlap_start).count() + 1;
    if (days > static_cast<long>(options_.max_handover_overlap_days)) {
      const std::string limit = std::to_string(options_.max_handover_overlap_days);
      return violation(outcome, StatusCode::kUnprocessable, "business-rule", "GW-32", where,
                       "the handover overlap is " + std::to_string(days) + " days; at most " + limit +
                           " are allowed (ip.max_handover_overlap_days)",
                       "overlappen ved koordinatorbyttet er " + std::to_string(days) + " dager; høyst " + limit +
                           " er tillatt");
    }
    return Status::ok();
  }

  IpRulesOptions options_;
};

}  // namespace

std::shared_ptr<const ops::TransactionHook> makeCareTeamRulesHook(IpRulesOptions options) {
  return std::make_shared<CareTeamRulesHook>(std::move(options));
}

}  // namespace planbro::gateway::ip::internal
