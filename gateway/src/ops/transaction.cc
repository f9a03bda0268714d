// Operations::transaction: every entry planned, resolved and prepared before the writer turn; under it only the
// store operations, in the specification's order, within the writer budget.
#include <algorithm>
#include <map>
#include <set>

#include "planbro/fhir-model/model_info.h"
#include "planbro/gateway/ops/operations.h"
#include "planbro/gateway/store/resource_id.h"
#include "ops_internal.h"

namespace planbro::gateway::ops {

using fhir::JsonDocument;
using fhir::JsonValue;
using fhir::OperationOutcome;
using fhir::Severity;
using namespace internal;

namespace {

using PlaceholderMap = std::map<std::string, std::string, std::less<>>;

// Rewrites every reference equal to a key of `map` (urn:uuid placeholders, full URLs of this transaction's
// entries) and every conditional reference, anywhere in `value`. A urn:uuid: reference naming no entry is refused:
// it could never resolve.
Result<JsonValue> rewriteReferences(JsonDocument& doc, const JsonValue& value, const PlaceholderMap& map,
                                    const std::function<Result<std::string>(std::string_view)>& conditional,
                                    bool in_reference, const std::string& path) {
  if (value.isString()) {
    auto it = map.find(value.text());
    if (it != map.end()) return doc.makeString(it->second);
    if (!in_reference) return value;
    std::string_view text = value.text();
    if (size_t q = text.find('?'); q != std::string_view::npos && q > 0 && text.find('/') > q &&
                                   fhir::ModelInfo::r4().isResourceType(text.substr(0, q))) {
      ASSIGN_OR_RETURN(std::string resolved, conditional(text));
      return doc.makeString(resolved);
    }
    if (text.starts_with("urn:uuid:")) {
      return Status(StatusCode::kUnprocessable, path + ": '" + std::string(text) +
                                                    "' names no entry of the transaction (no entry has that fullUrl)");
    }
    return value;
  }
  if (value.isArray()) {
    std::vector<JsonValue> items;
    size_t i = 0;
    for (const JsonValue& item : value.items()) {
      ASSIGN_OR_RETURN(JsonValue v, rewriteReferences(doc, item, map, conditional, in_reference,
                                                      path + "[" + std::to_string(i++) + "]"));
      items.push_back(v);
    }
    return doc.makeArray(items);
  }
  if (value.isObject()) {
    std::vector<fhir::JsonMember> members;
    for (const fhir::JsonMember& m : value.members()) {
      ASSIGN_OR_RETURN(JsonValue v, rewriteReferences(doc, m.value, map, conditional, m.key == "reference",
                                                      m.key == "reference" ? path : path + "." + std::string(m.key)));
      members.push_back({m.key, v});
    }
    return doc.makeObject(members);
  }
  return value;
}

int entryRank(TransactionEntry::Kind kind) {
  using K = TransactionEntry::Kind;
  switch (kind) {
    case K::kDelete:
    case K::kConditionalDelete: return 0;
    case K::kCreate: return 1;
    case K::kUpdate:
    case K::kConditionalUpdate:
    case K::kPatch: return 2;
    case K::kRead: return 3;
  }
  return 3;
}

}  // namespace

Result<TransactionOutcome> Operations::transaction(const WriteContext& context,
                                                   const std::vector<TransactionEntry>& entries,
                                                   OperationOutcome* outcome, EntryFailure* failure) {
  using K = TransactionEntry::Kind;
  const size_t n = entries.size();
  auto fail = [&](size_t i, Status s) -> Status {
    if (failure) {
      failure->index = i;
      failure->status = s;
    }
    return s;
  };
  {
    std::map<std::string_view, size_t> seen;
    for (size_t i = 0; i < n; ++i) {
      if (entries[i].full_url.empty()) continue;
      auto [it, fresh] = seen.emplace(entries[i].full_url, i);
      if (!fresh) {
        return fail(i, invalidArgument("the fullUrl '" + entries[i].full_url + "' is also the fullUrl of Bundle.entry[" +
                                       std::to_string(it->second) + "]: every entry needs its own"));
      }
    }
  }

  struct Plan {
    std::string id;                                 // the resource the entry writes or answers with
    bool writes = false;
    std::optional<store::ResourceVersion> existing; // a conditional create that matched
    std::optional<size_t> same_as;                  // shares its If-None-Exist with this earlier entry
    std::optional<store::BusinessKey> claim;
    bool nothing_matched = false;                   // a conditional delete that matched nothing
    bool patch_of_current = false;                  // a patch without If-Match: re-planned when its base is stale
    PreparedWrite prepared;
  };
  JsonDocument doc;
  std::vector<JsonDocument> stored_docs;  // the current versions patches apply to (reserved: never reallocated)
  std::vector<Plan> plans;
  auto plan = [&](bool) -> Status {
    doc = JsonDocument();
    stored_docs.clear();
    stored_docs.reserve(n);
    plans.assign(n, Plan{});
    PlaceholderMap placeholders;
    std::map<std::string, size_t> by_condition;  // "Type?normalised query" → the first entry with it

    // 1. Which resource each entry is about: each If-None-Exist and conditional URL searched once.
    for (size_t i = 0; i < n; ++i) {
      const TransactionEntry& e = entries[i];
      Plan& p = plans[i];
      switch (e.kind) {
        case K::kRead: continue;
        case K::kCreate: {
          p.writes = true;
          if (!e.condition.empty()) {
            p.claim = conditionalCreateKey(e.type, e.condition);
            std::string condition_key = e.type + "?" + p.claim->value;
            if (auto it = by_condition.find(condition_key); it != by_condition.end()) {
              p.same_as = it->second;
              p.id = plans[it->second].id;
              p.writes = false;
              break;
            }
            by_condition.emplace(condition_key, i);
            auto ids = findIds(e.type, e.condition, 2, context.scope);
            if (!ids.isOk()) return fail(i, invalidArgument("ifNoneExist: " + ids.status().message()));
            if (ids->size() > 1) return fail(i, failedPrecondition("ifNoneExist matches more than one " + e.type));
            if (ids->size() == 1) {
              auto v = store_.read(e.type, ids->front());
              if (v.isOk()) {
                p.id = v->id;
                p.existing = std::move(v).value();
                p.writes = false;
                break;
              }
            }
          }
          p.id = store::newResourceId();
          break;
        }
        case K::kUpdate:
        case K::kPatch:
        case K::kDelete:
          p.id = e.id;
          p.writes = true;
          break;
        case K::kConditionalUpdate: {
          auto ids = findIds(e.type, e.condition, 2, context.scope);
          if (!ids.isOk()) return fail(i, invalidArgument(ids.status().message()));
          if (ids->size() > 1) return fail(i, failedPrecondition("the conditional update matches more than one " + e.type));
          const JsonValue* body_id = e.resource && e.resource->isObject() ? e.resource->find("id") : nullptr;
          if (ids->size() == 1) {
            p.id = ids->front();
            if (body_id && body_id->isString() && body_id->text() != p.id) {
              return fail(i, invalidArgument("Resource.id does not match the resource the conditional update found"));
            }
          } else if (body_id && body_id->isString()) {
            p.id = std::string(body_id->text());
            if (isValidId(p.id)) {
              auto existing = store_.read(e.type, p.id);
              if (existing.isOk()) {
                return fail(i, Status(StatusCode::kConflict, e.type + "/" + p.id +
                                                                 " exists and does not match the conditional update's search"));
              }
            }
          } else {
            p.id = store::newResourceId();
          }
          p.writes = true;
          break;
        }
        case K::kConditionalDelete: {
          auto ids = findIds(e.type, e.condition, 2, context.scope);
          if (!ids.isOk()) return fail(i, invalidArgument(ids.status().message()));
          if (ids->size() > 1) return fail(i, failedPrecondition("the conditional delete matches more than one " + e.type));
          if (ids->empty()) {
            p.nothing_matched = true;
          } else {
            p.id = ids->front();
            p.writes = true;
          }
          break;
        }
      }
      if (!e.full_url.empty() && !p.id.empty() && e.kind != K::kDelete && e.kind != K::kConditionalDelete) {
        placeholders[e.full_url] = e.type + "/" + p.id;
      }
    }

    // One resource written twice in one transaction has no defined order: refuse it.
    std::set<std::string> written, deleted;
    {
      std::map<std::string, size_t> targets;
      for (size_t i = 0; i < n; ++i) {
        if (!plans[i].writes) continue;
        std::string target = entries[i].type + "/" + plans[i].id;
        auto [it, fresh] = targets.emplace(target, i);
        if (!fresh) {
          return fail(i, invalidArgument("Bundle.entry[" + std::to_string(it->second) + "] and Bundle.entry[" +
                                         std::to_string(i) + "] both write " + target));
        }
        bool removes = entries[i].kind == K::kDelete || entries[i].kind == K::kConditionalDelete;
        (removes ? deleted : written).insert(target);
      }
    }

    // 2. Resolve placeholders and conditional references, apply patches, prepare and check every write.
    const WriteOrigin planning_origin = context.origin();  // the hooks plan what they can before the writer turn
    std::map<std::string, std::string, std::less<>> resolved_conditionals;
    size_t index_rows = 0;  // of the entries prepared so far
    auto conditional = [&](std::string_view url) -> Result<std::string> {
      if (auto it = resolved_conditionals.find(url); it != resolved_conditionals.end()) return it->second;
      size_t q = url.find('?');
      std::string type(url.substr(0, q));
      auto params = search::decodeQuery(url.substr(q + 1), false);
      if (!params.isOk()) return invalidArgument("conditional reference '" + std::string(url) + "': " + params.status().message());
      auto found = findIds(type, *params, 2, context.scope);
      if (!found.isOk()) return invalidArgument("conditional reference '" + std::string(url) + "': " + found.status().message());
      if (found->size() != 1) {
        return failedPrecondition("conditional reference '" + std::string(url) + "' matches " +
                                  (found->empty() ? std::string("nothing") : std::string("more than one resource")));
      }
      std::string resolved = type + "/" + found->front();
      resolved_conditionals.emplace(std::string(url), resolved);
      return resolved;
    };
    for (size_t i = 0; i < n; ++i) {
      Plan& p = plans[i];
      if (!p.writes) continue;
      const TransactionEntry& e = entries[i];
      OperationOutcome issues;
      WriteIntent intent;
      intent.type = e.type;
      intent.id = p.id;
      intent.if_match = e.if_match;
      Result<PreparedWrite> prepared = Status(StatusCode::kInternal, "not prepared");
      if (e.kind == K::kDelete || e.kind == K::kConditionalDelete) {
        intent.kind = WriteKind::kDelete;
        prepared = writer_.prepareDelete(std::move(intent), &planning_origin);
      } else {
        JsonValue source;
        if (e.kind == K::kPatch) {
          auto current = store_.read(e.type, e.id);
          if (!current.isOk()) return fail(i, current.status());
          if (e.if_match && *e.if_match != current->version) {
            return fail(i, failedPrecondition("If-Match " + std::to_string(*e.if_match) +
                                              " does not match the current version " + std::to_string(current->version)));
          }
          auto parsed = JsonDocument::parse(current->json);
          if (!parsed.isOk()) return fail(i, Status(StatusCode::kInternal, "the stored " + e.type + " cannot be parsed"));
          stored_docs.push_back(std::move(parsed).value());
          auto patched = e.patch(stored_docs.back(), stored_docs.back().root());
          if (!patched.isOk()) return fail(i, patched.status());
          const JsonValue* pid = patched->isObject() ? patched->find("id") : nullptr;
          if (!pid || !pid->isString() || pid->text() != e.id) {
            return fail(i, Status(StatusCode::kUnprocessable, "a patch must not change Resource.id"));
          }
          source = *patched;
          intent.if_match = current->version;
          p.patch_of_current = !e.if_match;
        } else {
          if (!e.resource || !e.resource->isObject()) return fail(i, invalidArgument("the entry has no resource"));
          source = *e.resource;
        }
        auto rewritten = rewriteReferences(doc, source, placeholders, conditional, false, e.type);
        if (!rewritten.isOk()) return fail(i, rewritten.status());
        JsonValue body = *rewritten;
        if (e.kind == K::kCreate) {
          intent.kind = WriteKind::kCreate;
          intent.claim = p.claim;
        } else {
          intent.kind = WriteKind::kUpdate;
          if (e.kind == K::kConditionalUpdate) body = doc.withMember(body, "id", doc.makeString(p.id));
        }
        prepared = writer_.prepare(std::move(intent), body, &issues, &planning_origin);
      }
      if (!prepared.isOk()) {
        addEntryIssues(outcome, i, issues);
        return fail(i, prepared.status());
      }
      if (Status s = authorized(context, *prepared); !s.isOk()) return fail(i, s);
      for (const LocalReference& ref : prepared->references) {
        if (options_.check_references && deleted.count(ref.type + "/" + ref.id) != 0) {
          std::string location = entryLocation(i, ref.location);
          std::string message = location + ": the reference to " + ref.type + "/" + ref.id +
                                " does not resolve (this transaction deletes it)";
          if (outcome) outcome->add(Severity::kError, "not-found", message, location);
          return fail(i, Status(StatusCode::kUnprocessable, message));
        }
      }
      if (Status s = checkReferences(*prepared, written, outcome, i); !s.isOk()) return fail(i, s);
      p.prepared = std::move(prepared).value();
      // Each entry is held to the per-resource bound in prepare(); together they are held to this one, so 1,000
      // entries just under it cannot add up to the gigabyte of index rows that one resource no longer can.
      index_rows += p.prepared.rows.size();
      const size_t max_rows = writer_.options().max_transaction_index_rows;
      if (max_rows != 0 && index_rows > max_rows) {
        return fail(i, Status(StatusCode::kResourceExhausted,
                              "the transaction's entries yield more than " + std::to_string(max_rows) +
                                  " search index entries together (limits.max_index_rows_per_transaction); split it"));
      }
    }

    return Status::ok();
  };

    // 3. The writer turn: store operations only, in the specification's order, within the budget.
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return entryRank(entries[a].kind) < entryRank(entries[b].kind); });
  std::vector<std::optional<store::WriteResult>> results;
  auto apply = [&](store::WriteTransaction& tx) -> Result<TurnVerdict> {
    results.assign(n, std::nullopt);
    const store::Timestamp started = now();
    const WriteOrigin origin = context.origin();
    // The hooks' checks about other resources run once every entry is written: entry order must not matter.
    std::vector<std::pair<size_t, HookContext::Deferred>> deferred;
    for (size_t i : order) {
      Plan& p = plans[i];
      if (!p.writes) continue;
      OperationOutcome issues;
      std::vector<HookContext::Deferred> entry_deferred;
      auto applied = writer_.apply(tx, p.prepared, &issues, &origin, &entry_deferred);
      for (auto& d : entry_deferred) deferred.emplace_back(i, std::move(d));
      if (!applied.isOk()) {
        if (applied.status().code() == StatusCode::kFailedPrecondition && p.patch_of_current) return TurnVerdict::kReplan;
        if (!tx.retryable()) addEntryIssues(outcome, i, issues);
        return fail(i, applied.status());
      }
      // A concurrent transaction created the resource this entry's If-None-Exist describes: plan again, and the
      // search finds it.
      if (applied->existing_owner) return TurnVerdict::kReplan;
      const store::WriteResult& wr = applied->result;
      if (p.prepared.intent.kind == WriteKind::kDelete && wr.outcome == store::WriteResult::Outcome::kUnchanged &&
          wr.version == 0) {
        return fail(i, notFound(entries[i].type + "/" + p.id + " does not exist"));
      }
      results[i] = wr;
      if (now() - started > options_.transaction_writer_budget) {
        return fail(i, Status(StatusCode::kResourceExhausted,
                              "the transaction held the store's writer longer than its budget (" +
                                  std::to_string(options_.transaction_writer_budget.count()) +
                                  " ms): send it as smaller transactions"));
      }
    }
    for (auto& [i, check] : deferred) {
      OperationOutcome issues;
      if (Status s = check(tx, &issues); !s.isOk()) {
        if (!tx.retryable()) addEntryIssues(outcome, i, issues);
        return fail(i, s);
      }
    }
    return TurnVerdict::kCommit;
  };
  Status ran = runAttempts(context, plan, apply, "the transaction kept conflicting with concurrent writers");
  if (!ran.isOk()) {
    // Nothing was written: the failed entry (when it was prepared) is what the audit trail records.
    if (failure && failure->index < n && plans[failure->index].writes) {
      audit(context, plans[failure->index].prepared, nullptr, ran);
    }
    return ran;
  }
  for (size_t i = 0; i < n; ++i) {
    if (results[i]) audit(context, plans[i].prepared, &*results[i], Status::ok());
  }

    TransactionOutcome out;
    out.entries.resize(n);
    for (size_t i = 0; i < n; ++i) {
      Plan& p = plans[i];
      if (entries[i].kind == K::kRead || p.same_as) continue;
      if (p.existing) {
        out.entries[i] = WriteOutcome{WriteOutcome::Kind::kExisting, *p.existing};
      } else if (p.nothing_matched) {
        out.entries[i] = WriteOutcome{WriteOutcome::Kind::kNothingMatched, {}};
      } else if (results[i]) {
        out.entries[i] = outcomeOf(p.prepared, *results[i]);
      }
    }
    for (size_t i = 0; i < n; ++i) {
      if (!plans[i].same_as || !out.entries[*plans[i].same_as]) continue;
      WriteOutcome shared = *out.entries[*plans[i].same_as];
      shared.kind = WriteOutcome::Kind::kExisting;
      out.entries[i] = std::move(shared);
    }
    return out;
}

}  // namespace planbro::gateway::ops
