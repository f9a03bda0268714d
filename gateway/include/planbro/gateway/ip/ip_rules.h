#pragma once
// The individual-plan (IP) rules, enforced on every write: hooks of the write pipeline (ops/write_pipeline.h), so
// REST, transaction and batch entries, the demo loader and every later adapter pass them alike. docs/ip-rules.md
// lists each rule with its requirement (GW-id), its HTTP status and its messages.
//
//   GW-01         at most one active IP CarePlan per patient: a business key "active-ip" = the patient's person
//                 number, claimed in the store transaction (409 naming the plan that holds it);
//   GW-40, GW-45  a plan is started («påbegynt») or beyond only with an active plan Consent it links to, or under
//                 the compulsory-care legal basis (422);
//   GW-18         measure («tiltak») statuses change only along the `next` property of CodeSystem
//                 ip-measure-status (422);
//   GW-31, GW-32  an IP CareTeam has at most one current coordinator, two only during a declared handover within a
//                 bounded overlap, and keeps its coordinators' history (422);
//   GW-50         every change of an IP resource records a Provenance in the same transaction; clients cannot
//                 write Provenance (403).
// Every violation answers an OperationOutcome issue with English `diagnostics`, bokmål `details.text`, the rule's
// GW-id in both, and the element as `expression`.

#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "planbro/fhir-model/json.h"
#include "planbro/gateway/ops/write_pipeline.h"
#include "planbro/gateway/store/resource_store.h"

namespace planbro::gateway::ip {

/** The business-key kind of "this patient's active individual plan" (type CarePlan; value: the person number). */
inline constexpr std::string_view kActivePlanKey = "active-ip";

/** The allowed measure-status transitions: CodeSystem ip-measure-status, property `next`. Immutable; thread-safe. */
class MeasureStatusGraph {
 public:
  /** From the CodeSystem resource. kInvalidArgument when it is not one, or has no concept. */
  static Result<MeasureStatusGraph> fromCodeSystem(const fhir::JsonValue& code_system);
  /** From `<package_dir>/CodeSystem-ip-measure-status.json`. kNotFound when the file is missing. */
  static Result<MeasureStatusGraph> fromPackageDir(const std::string& package_dir);

  /** False for a default-constructed graph (no package loaded): the transition rule is then off. */
  bool loaded() const { return !next_.empty(); }
  bool known(std::string_view code) const { return next_.count(std::string(code)) != 0; }
  /** True when a measure may move from `from` to `to` (always for from == to). */
  bool allowed(std::string_view from, std::string_view to) const;
  /** The statuses `from` may move to, in the CodeSystem's order ("" when none). */
  std::string nextOf(std::string_view from) const;

 private:
  std::map<std::string, std::vector<std::string>> next_;
};

struct IpRulesOptions {
  /** "Now" for coordinator periods and consent periods. Empty: the system clock. */
  store::Clock clock;
  /** `ip.max_handover_overlap_days`: the longest two coordinators may both be current in a declared handover. */
  uint32_t max_handover_overlap_days = 30;
  /** `ip.provenance`: record a Provenance for every change of an IP resource. */
  bool record_provenance = true;
  /** Source systems whose Provenance writes are allowed (the gateway's own loaders); everyone else gets 403. */
  std::set<std::string> provenance_writers{"demo-loader"};
};

/** The hooks of every rule above, to append to ops::WriterOptions::hooks. */
std::vector<std::shared_ptr<const ops::TransactionHook>> makeIpRuleHooks(IpRulesOptions options,
                                                                         MeasureStatusGraph graph);

/** What claimStoredActivePlans() did. */
struct ActivePlanBackfill {
  bool already_done = false;  // an earlier run (on any node) finished it: nothing read
  size_t plans = 0;           // current CarePlans read
  size_t claimed = 0;         // active-plan keys claimed now
  /** Active plans whose patient another active plan already holds: "CarePlan/b (patient's active plan is
   *  CarePlan/a)". Never a person number. They stay until someone ends one; no new one can join them. */
  std::vector<std::string> duplicates;
};

/**
 * Claims the active-plan key of every current active IP CarePlan stored before the rule existed, once per database
 * (a marker key records that it ran; two nodes running it at once agree), `page_size` plans per transaction, each
 * read inside the transaction that claims its key. Blocking; for start-up, before serving.
 */
Result<ActivePlanBackfill> claimStoredActivePlans(store::ResourceStore& store, size_t page_size = 500);

}  // namespace planbro::gateway::ip
