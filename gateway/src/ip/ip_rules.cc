// Assembles the IP rule hooks, and the once-per-database backfill of the one-active-plan key.
#include "planbro/gateway/ip/ip_rules.h"

#include "ip_resource.h"
#include "plan_rules.h"
#include "planbro/gateway/ops/stored_keys.h"

namespace planbro::gateway::ip {

namespace internal {
std::shared_ptr<const ops::TransactionHook> makeCareTeamRulesHook(IpRulesOptions options);
std::shared_ptr<const ops::TransactionHook> makeProvenanceHook();
std::shared_ptr<const ops::TransactionHook> makeProvenanceGuard(std::set<std::string> writers);
}  // namespace internal

std::vector<std::shared_ptr<const ops::TransactionHook>> makeIpRuleHooks(IpRulesOptions options,
                                                                         MeasureStatusGraph graph) {
  std::vector<std::shared_ptr<const ops::TransactionHook>> hooks;
  hooks.push_back(std::make_shared<internal::PlanRulesHook>(options, std::move(graph)));
  hooks.push_back(internal::makeCareTeamRulesHook(options));
  // Last: the record is written only once every rule of the write has passed.
  if (options.record_provenance) hooks.push_back(internal::makeProvenanceHook());
  hooks.push_back(internal::makeProvenanceGuard(options.provenance_writers));
  return hooks;
}

Result<ActivePlanBackfill> claimStoredActivePlans(store::ResourceStore& store, size_t page_size) {
  // The plan hook itself decides which plans are active IPs and what their key is, so the backfill cannot
  // disagree with the rule.
  const internal::PlanRulesHook hook(IpRulesOptions{}, MeasureStatusGraph{});
  ASSIGN_OR_RETURN(ops::StoredKeysBackfill done,
                   ops::claimStoredKeys(store, hook, {"CarePlan", "active-ip-keys-v1", "active-ip-backfill", page_size}));
  return ActivePlanBackfill{done.already_done, done.resources, done.claimed, std::move(done.duplicates)};
}

}  // namespace planbro::gateway::ip
