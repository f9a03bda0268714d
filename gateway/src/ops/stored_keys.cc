#include "planbro/gateway/ops/stored_keys.h"

namespace planbro::gateway::ops {

Result<StoredKeysBackfill> claimStoredKeys(store::ResourceStore& store, const TransactionHook& hook,
                                           const StoredKeysBackfillSpec& spec) {
  // The marker is a business key of its own: claimed (by the pseudo-id `source`) when a run has finished.
  const store::BusinessKey marker{spec.type, "migration", spec.marker};
  StoredKeysBackfill result;
  ASSIGN_OR_RETURN(std::optional<std::string> done, store.findKeyOwner(marker));
  if (done) {
    result.already_done = true;
    return result;
  }
  size_t page_size = spec.page_size;
  if (page_size == 0 || page_size > store::kMaxPageSize) page_size = store::kMaxPageSize;
  const WriteOrigin origin{"", "", spec.source, ""};
  const store::WriteContext writer{"", spec.source};
  std::optional<std::string> after;
  for (;;) {
    store::IndexQuery all;  // no predicates: every current resource of the type, in id order
    all.type = spec.type;
    all.count = page_size;
    all.after_id = after;
    ASSIGN_OR_RETURN(store::IndexPage page, store.searchIndex(all));
    StoredKeysBackfill page_result;
    Status s = store.runTransaction(writer, [&](store::WriteTransaction& tx) -> Status {
      page_result = StoredKeysBackfill{};  // a retried transaction counts afresh
      for (const std::string& id : page.ids) {
        auto current = tx.read(spec.type, id);
        if (!current.isOk()) continue;  // deleted meanwhile
        auto doc = fhir::JsonDocument::parse(current->json);
        if (!doc.isOk()) continue;
        ++page_result.resources;
        // The rule's checks that need the whole transaction (a consent a plan start needs) are for new writes,
        // not for what is stored: they are collected here and dropped.
        std::vector<HookContext::Deferred> ignored;
        HookContext context{tx, origin, &ignored, nullptr};
        PreparedWrite write;
        write.intent.type = spec.type;
        write.intent.id = id;
        auto keys = hook.keysInTransaction(context, write, nullptr, &doc->root());
        if (!keys.isOk()) continue;  // a resource the rule cannot key (a plan without a patient): nothing to claim
        for (const KeyClaim& claim : keys->claims) {
          ASSIGN_OR_RETURN(store::ClaimResult held, tx.claimKey(claim.key, id));
          if (held.claimed) {
            ++page_result.claimed;
          } else {
            page_result.duplicates.push_back(spec.type + "/" + id + " (" + claim.description + " held by " +
                                             claim.key.type + "/" + held.owner_id + ")");
          }
        }
      }
      return Status::ok();
    });
    RETURN_IF_ERROR(s);
    result.resources += page_result.resources;
    result.claimed += page_result.claimed;
    for (auto& d : page_result.duplicates) result.duplicates.push_back(std::move(d));
    if (!page.next_after_id) break;
    after = page.next_after_id;
  }
  RETURN_IF_ERROR(store.runTransaction(writer, [&](store::WriteTransaction& tx) {
    return tx.claimKey(marker, spec.source).status();
  }));
  return result;
}

}  // namespace planbro::gateway::ops
