// Assembles the IP rule hooks, and the once-per-database backfill of the one-active-plan key.
#include "planbro/gateway/ip/ip_rules.h"

#include "ip_resource.h"
#include "plan_rules.h"

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
  const store::BusinessKey marker{"CarePlan", "migration", "active-ip-keys-v1"};
  constexpr std::string_view kMarkerHolder = "active-ip-backfill";
  ActivePlanBackfill result;
  ASSIGN_OR_RETURN(std::optional<std::string> done, store.findKeyOwner(marker));
  if (done) {
    result.already_done = true;
    return result;
  }
  if (page_size == 0 || page_size > store::kMaxPageSize) page_size = store::kMaxPageSize;
  // The plan hook itself decides which plans are active IPs and what their key is, so the backfill cannot
  // disagree with the rule.
  internal::PlanRulesHook hook(IpRulesOptions{}, MeasureStatusGraph{});
  const ops::WriteOrigin origin{"", "", "active-ip-backfill", ""};
  std::optional<std::string> after;
  for (;;) {
    store::IndexQuery all;
    all.type = "CarePlan";
    all.count = page_size;
    all.after_id = after;
    ASSIGN_OR_RETURN(store::IndexPage page, store.searchIndex(all));
    ActivePlanBackfill page_result;
    Status s = store.runTransaction(store::WriteContext{"", "active-ip-backfill"},
                                    [&](store::WriteTransaction& tx) -> Status {
      page_result = ActivePlanBackfill{};
      for (const std::string& id : page.ids) {
        auto current = tx.read("CarePlan", id);
        if (!current.isOk()) continue;  // deleted meanwhile
        auto doc = fhir::JsonDocument::parse(current->json);
        if (!doc.isOk()) continue;
        ++page_result.plans;
        if (!internal::isIpCarePlan(doc->root()) || !internal::isActivePlan(doc->root())) continue;
        std::vector<ops::HookContext::Deferred> ignored;  // the consent rule is for starts, not for stored plans
        ops::HookContext context{tx, origin, &ignored, nullptr};
        ops::PreparedWrite write;
        write.intent.type = "CarePlan";
        write.intent.id = id;
        auto keys = hook.keysInTransaction(context, write, nullptr, &doc->root());
        if (!keys.isOk()) continue;  // a plan the rule cannot key (no patient): nothing to claim
        for (const ops::KeyClaim& claim : keys->claims) {
          ASSIGN_OR_RETURN(store::ClaimResult held, tx.claimKey(claim.key, id));
          if (held.claimed) {
            ++page_result.claimed;
          } else {
            page_result.duplicates.push_back("CarePlan/" + id + " (the patient's active plan is CarePlan/" +
                                             held.owner_id + ")");
          }
        }
      }
      return Status::ok();
    });
    RETURN_IF_ERROR(s);
    result.plans += page_result.plans;
    result.claimed += page_result.claimed;
    for (auto& d : page_result.duplicates) result.duplicates.push_back(std::move(d));
    if (!page.next_after_id) break;
    after = page.next_after_id;
  }
  RETURN_IF_ERROR(store.runTransaction(store::WriteContext{"", "active-ip-backfill"},
                                       [&](store::WriteTransaction& tx) {
                                         return tx.claimKey(marker, kMarkerHolder).status();
                                       }));
  return result;
}

}  // namespace planbro::gateway::ip
