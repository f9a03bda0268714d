// The single writes of the operations layer: create, update, conditional update, patch, delete; the one retry
// loop (runAttempts) and the checks every write shares (conditional matching, references).
#include "planbro/gateway/ops/operations.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <set>

#include <spdlog/spdlog.h>

#include "planbro/fhir-model/model_info.h"
#include "planbro/gateway/ops/identity_keys.h"
#include "ops_internal.h"

namespace planbro::gateway::ops {

using fhir::JsonDocument;
using fhir::JsonValue;
using fhir::OperationOutcome;
using fhir::Severity;

namespace {

// Parameters that shape a search's answer, not its matches: a conditional request that carried them would match
// more than the client meant (an If-None-Exist with `_count=1` is not "at most one such resource").
bool isResultParameter(std::string_view name) {
  std::string_view base = name.substr(0, name.find(':'));
  static constexpr std::string_view kResult[] = {"_count",    "_sort",      "_summary",      "_elements", "_include",
                                                 "_revinclude", "_total",   "_contained",    "_containedType",
                                                 "_page",     "_graph",     "_offset"};
  return std::find(std::begin(kResult), std::end(kResult), base) != std::end(kResult);
}

}  // namespace

using namespace internal;

store::BusinessKey conditionalCreateKey(const std::string& type, const search::QueryParams& if_none_exist) {
  search::QueryParams sorted = if_none_exist;
  for (auto& [name, value] : sorted) {
    std::string_view base = std::string_view(name).substr(0, name.find(':'));
    if (base != "identifier") continue;
    if (size_t bar = value.find('|'); bar != std::string::npos) {
      value = canonicalIdentifierSystem(std::string_view(value).substr(0, bar)) + value.substr(bar);
    }
  }
  std::sort(sorted.begin(), sorted.end());
  return store::BusinessKey{type, "if-none-exist", search::encodeQuery(sorted)};
}

Operations::Operations(store::ResourceStore& store, search::SearchExecutor& executor, OperationsOptions options)
    : store_(store), executor_(executor), options_(std::move(options)), writer_(options_.writer) {
  if (!options_.clock) options_.clock = store::systemClock();
  if (options_.max_attempts < 1) options_.max_attempts = 1;
}

store::Timestamp Operations::now() const { return options_.clock(); }

Result<std::vector<std::string>> Operations::findIds(const std::string& type, const search::QueryParams& params,
                                                     size_t limit, const search::ScopeFn& scope) {
  search::QueryParams filtered;
  for (const auto& p : params) {
    if (p.first == "_format" || p.first == "_pretty") continue;
    if (isResultParameter(p.first)) {
      return invalidArgument("'" + p.first + "' is a result parameter: it cannot select the resource of a "
                             "conditional request");
    }
    filtered.push_back(p);
  }
  if (filtered.empty()) return invalidArgument("a conditional request needs at least one search parameter");
  search::ParseOptions po = options_.search_parse;
  po.default_count = limit;
  auto req = search::parseSearch(type, filtered, po);
  if (!req.isOk()) return invalidArgument(req.status().message());
  req->count = limit;
  auto result = executor_.execute(*req, scope);
  if (!result.isOk()) return result.status();
  std::vector<std::string> ids;
  for (const auto& v : result->matches) ids.push_back(v.id);
  if (result->next_cursor && ids.size() < limit) ids.push_back("");  // more exist
  return ids;
}

Status Operations::checkReferences(const PreparedWrite& write, const std::set<std::string>& written,
                                   OperationOutcome* outcome, std::optional<size_t> entry) {
  if (!options_.check_references || write.references.empty()) return Status::ok();
  std::string self = write.intent.type + "/" + write.intent.id;
  std::map<std::string, bool> resolved;  // Type/id → exists
  std::string first_failure;
  for (const LocalReference& ref : write.references) {
    std::string target = ref.type + "/" + ref.id;
    if (target == self || written.count(target) != 0) continue;
    auto it = resolved.find(target);
    if (it == resolved.end()) {
      bool exists = false;
      if (auto cached = store_.readCached(ref.type, ref.id)) {
        exists = !cached->deleted;
      } else {
        auto v = store_.read(ref.type, ref.id);
        if (v.isOk()) exists = true;
        else if (v.status().code() != StatusCode::kNotFound && v.status().code() != StatusCode::kGone) return v.status();
      }
      it = resolved.emplace(target, exists).first;
    }
    if (it->second) continue;
    std::string location = entry ? entryLocation(*entry, ref.location) : ref.location;
    std::string message = location + ": the reference to " + target + " does not resolve (no such resource)";
    if (outcome) outcome->add(Severity::kError, "not-found", message, location);
    if (first_failure.empty()) first_failure = message;
  }
  if (!first_failure.empty()) return Status(StatusCode::kUnprocessable, first_failure);
  return Status::ok();
}

// The one loop of every write: plan outside the writer turn, apply inside it; again (max_attempts in all) when the
// database reports a retryable failure or apply finds the plan stale.
Status Operations::runAttempts(const WriteContext& context, const std::function<Status(bool again)>& plan,
                               const std::function<Result<TurnVerdict>(store::WriteTransaction&)>& apply,
                               std::string_view stale_message) {
  for (int attempt = 1;; ++attempt) {
    RETURN_IF_ERROR(plan(attempt > 1));
    auto tx = store_.begin(context.storeContext());
    if (!tx.isOk()) return tx.status();
    const WriteMetrics* metrics = options_.writer.metrics.get();
    auto ended = [metrics](bool committed, double seconds) {
      if (metrics && metrics->transaction_ended) metrics->transaction_ended(committed, seconds);
    };
    Result<TurnVerdict> verdict = apply(**tx);
    Status s = verdict.isOk() ? Status::ok() : verdict.status();
    if (s.isOk() && *verdict == TurnVerdict::kRollback) {
      (*tx)->rollback();
      ended(false, 0);
      return Status::ok();
    }
    if (s.isOk() && *verdict == TurnVerdict::kReplan) {
      (*tx)->rollback();
      ended(false, 0);
      if (attempt < options_.max_attempts) continue;
      return Status(StatusCode::kConflict, std::string(stale_message));
    }
    if (s.isOk()) {
      const auto commit_start = std::chrono::steady_clock::now();
      s = (*tx)->commit();
      if (s.isOk()) {
        const std::chrono::duration<double> took = std::chrono::steady_clock::now() - commit_start;
        tx->reset();  // its connection back to the pool before the callback may read
        ended(true, took.count());
        return s;
      }
    }
    const bool retry = (*tx)->retryable() && attempt < options_.max_attempts;
    (*tx)->rollback();
    ended(false, 0);
    if (!retry) return s;
  }
}

Result<WriteOutcome> Operations::runSingle(const WriteContext& context,
                                           const std::function<Result<PreparedWrite>()>& prepare,
                                           bool replan_when_stale, OperationOutcome* outcome) {
  std::optional<PreparedWrite> prepared;
  std::optional<WriteOutcome> answer;
  store::WriteResult committed;
  auto plan = [&](bool again) -> Status {
    // A database retry reuses the prepared write; only a stale plan (a patch's base version moved) is redone.
    if (prepared && !(again && replan_when_stale)) return Status::ok();
    ASSIGN_OR_RETURN(PreparedWrite p, prepare());
    prepared = std::move(p);
    return Status::ok();
  };
  auto apply = [&](store::WriteTransaction& tx) -> Result<TurnVerdict> {
    const WriteOrigin origin = context.origin();
    Result<AppliedWrite> applied = writer_.apply(tx, *prepared, outcome, &origin);
    if (!applied.isOk()) {
      if (replan_when_stale && applied.status().code() == StatusCode::kFailedPrecondition) return TurnVerdict::kReplan;
      return applied.status();
    }
    if (applied->existing_owner) {
      // Read the winner inside this transaction: with the store's group commit its write may be visible to this
      // transaction before it is visible to a fresh read.
      auto winner = tx.read(prepared->intent.type, *applied->existing_owner);
      if (!winner.isOk()) winner = store_.read(prepared->intent.type, *applied->existing_owner);
      if (!winner.isOk()) return winner.status();
      answer = WriteOutcome{WriteOutcome::Kind::kExisting, std::move(winner).value()};
      return TurnVerdict::kRollback;
    }
    answer = outcomeOf(*prepared, applied->result);
    committed = applied->result;
    return TurnVerdict::kCommit;
  };
  Status ran = runAttempts(context, plan, apply, "the resource kept changing while it was being written");
  if (prepared && (!ran.isOk() || answer->kind != WriteOutcome::Kind::kExisting)) {
    audit(context, *prepared, ran.isOk() ? &committed : nullptr, ran);
  }
  RETURN_IF_ERROR(ran);
  if (answer->kind == WriteOutcome::Kind::kAlreadyDeleted && answer->version.version == 0) {
    return notFound(prepared->intent.type + "/" + prepared->intent.id + " does not exist");
  }
  return std::move(*answer);
}

// One record per resource written, after the commit: the audit sink queues it (no I/O), off the writer turn. An
// unchanged update wrote nothing and is not a write.
void Operations::audit(const WriteContext& context, const PreparedWrite& write, const store::WriteResult* result,
                       const Status& failure) const {
  security::AuditSink* sink = options_.writer.audit.get();
  if (sink == nullptr || write.intent.type.empty()) return;
  if (result && result->outcome == store::WriteResult::Outcome::kUnchanged) return;
  security::AuditRecord r;
  r.category = security::AuditCategory::kWrite;
  const WriteKind kind = write.intent.kind;
  r.interaction = kind == WriteKind::kCreate ? "create" : kind == WriteKind::kUpdate ? "update" : "delete";
  r.action = kind == WriteKind::kCreate ? 'C' : kind == WriteKind::kUpdate ? 'U' : 'D';
  if (!failure.isOk()) {
    r.outcome = failure.code() == StatusCode::kUnavailable || failure.code() == StatusCode::kInternal
                    ? security::AuditOutcome::kSeriousFailure
                    : security::AuditOutcome::kMinorFailure;
    r.outcome_text = failure.message();
  }
  r.who = context.agent;
  if (r.who.subject.empty() && r.who.client_id.empty()) r.who.subject = context.actor;
  r.on_behalf_of = context.on_behalf_of;
  r.resource_type = write.intent.type;
  r.resource_id = write.intent.id;
  if (result) r.resource_version = result->version;
  if (write.intent.type == "Patient") {
    r.patient = "Patient/" + write.intent.id;
  } else {
    for (const store::IndexRow& row : write.rows) {
      if ((row.param == "patient" || row.param == "subject") && row.ref_type == "Patient" && !row.ref_id.empty()) {
        r.patient = "Patient/" + row.ref_id;
        break;
      }
    }
  }
  r.source_system = context.source_system;
  r.correlation_id = context.correlation_id;
  // The write is committed: a queue too full to take its record cannot undo it, so the loss is said loudly.
  const std::string interaction = r.interaction;
  if (Status s = sink->record(std::move(r)); !s.isOk()) {
    spdlog::error("audit: the record of a committed {} of {} was refused: {}", interaction, write.intent.type,
                  s.message());
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Single writes: prepare, authorize and check references outside the writer turn; runSingle() holds it.

Result<PreparedWrite> Operations::prepareChecked(const WriteContext& context, const WriteIntent& intent,
                                                const JsonValue& resource, OperationOutcome* outcome) {
  const WriteOrigin origin = context.origin();  // the hooks plan what they can before the writer turn
  ASSIGN_OR_RETURN(PreparedWrite prepared, writer_.prepare(intent, resource, outcome, &origin));
  RETURN_IF_ERROR(authorized(context, prepared));
  RETURN_IF_ERROR(checkReferences(prepared, {}, outcome, std::nullopt));
  return prepared;
}

Result<WriteOutcome> Operations::create(const WriteContext& context, const std::string& type,
                                        const JsonValue& resource, const search::QueryParams& if_none_exist,
                                        OperationOutcome* outcome, std::string forced_id) {
  WriteIntent intent;
  intent.kind = WriteKind::kCreate;
  intent.type = type;
  intent.id = std::move(forced_id);
  if (!if_none_exist.empty()) {
    auto ids = findIds(type, if_none_exist, 2, context.scope);
    if (!ids.isOk()) return invalidArgument("If-None-Exist: " + ids.status().message());
    if (ids->size() > 1) return failedPrecondition("If-None-Exist matches more than one " + type);
    if (ids->size() == 1) {
      auto v = store_.read(type, ids->front());
      if (v.isOk()) return existingOutcome(std::move(v).value());
    }
    intent.claim = conditionalCreateKey(type, if_none_exist);
  }
  return runSingle(
      context, [&]() { return prepareChecked(context, intent, resource, outcome); }, false, outcome);
}

Result<WriteOutcome> Operations::update(const WriteContext& context, const std::string& type, const std::string& id,
                                        const JsonValue& resource, std::optional<int64_t> if_match,
                                        OperationOutcome* outcome) {
  WriteIntent intent;
  intent.kind = WriteKind::kUpdate;
  intent.type = type;
  intent.id = id;
  intent.if_match = if_match;
  return runSingle(
      context, [&]() { return prepareChecked(context, intent, resource, outcome); }, false, outcome);
}

Result<WriteOutcome> Operations::conditionalUpdate(const WriteContext& context, const std::string& type,
                                                   const search::QueryParams& condition, const JsonValue& resource,
                                                   std::optional<int64_t> if_match, OperationOutcome* outcome) {
  auto ids = findIds(type, condition, 2, context.scope);
  if (!ids.isOk()) return invalidArgument(ids.status().message());
  if (ids->size() > 1) return failedPrecondition("the conditional update matches more than one " + type);
  if (!resource.isObject()) return invalidArgument("the body must be a JSON object (a FHIR resource)");
  const JsonValue* body_id = resource.find("id");
  std::string id;
  if (ids->size() == 1) {
    id = ids->front();
    if (body_id && body_id->isString() && body_id->text() != id) {
      return invalidArgument("Resource.id does not match the resource the conditional update found");
    }
  } else if (body_id && body_id->isString()) {
    id = std::string(body_id->text());
    // No match, but the body names a resource: writing it would overwrite a resource the search did not select.
    if (isValidId(id)) {
      auto existing = store_.read(type, id);
      if (existing.isOk()) {
        return Status(StatusCode::kConflict, type + "/" + id +
                                                 " exists and does not match the conditional update's search");
      }
      if (existing.status().code() != StatusCode::kNotFound && existing.status().code() != StatusCode::kGone) {
        return existing.status();
      }
    }
  }
  JsonDocument doc;
  JsonValue body = id.empty() ? resource : doc.withMember(resource, "id", doc.makeString(id));
  WriteIntent intent;
  intent.type = type;
  intent.kind = id.empty() ? WriteKind::kCreate : WriteKind::kUpdate;
  intent.id = id;
  intent.if_match = if_match;
  return runSingle(
      context, [&]() { return prepareChecked(context, intent, body, outcome); }, false, outcome);
}

Result<WriteOutcome> Operations::patch(const WriteContext& context, const std::string& type, const std::string& id,
                                       const Patcher& patcher, std::optional<int64_t> if_match,
                                       OperationOutcome* outcome) {
  // Planned again on every attempt: without If-Match the client asked to patch whatever is current, so a concurrent
  // write makes the patch run again on the newer version.
  auto prepare = [&]() -> Result<PreparedWrite> {
    ASSIGN_OR_RETURN(store::ResourceVersion current, store_.read(type, id));
    if (if_match && *if_match != current.version) {
      return failedPrecondition("If-Match " + std::to_string(*if_match) + " does not match the current version " +
                                std::to_string(current.version));
    }
    auto doc = JsonDocument::parse(current.json);
    if (!doc.isOk()) return Status(StatusCode::kInternal, "the stored " + type + " cannot be parsed");
    ASSIGN_OR_RETURN(JsonValue patched, patcher(*doc, doc->root()));
    const JsonValue* pid = patched.isObject() ? patched.find("id") : nullptr;
    if (!pid || !pid->isString() || pid->text() != id) {
      return Status(StatusCode::kUnprocessable, "a patch must not change Resource.id");
    }
    WriteIntent intent;
    intent.kind = WriteKind::kUpdate;
    intent.type = type;
    intent.id = id;
    intent.if_match = current.version;
    return prepareChecked(context, intent, patched, outcome);
  };
  return runSingle(context, prepare, !if_match, outcome);
}

Result<WriteOutcome> Operations::remove(const WriteContext& context, const std::string& type, const std::string& id,
                                        std::optional<int64_t> if_match, OperationOutcome* outcome) {
  WriteIntent intent;
  intent.kind = WriteKind::kDelete;
  intent.type = type;
  intent.id = id;
  intent.if_match = if_match;
  auto prepare = [&]() -> Result<PreparedWrite> {
    const WriteOrigin origin = context.origin();
    ASSIGN_OR_RETURN(PreparedWrite prepared, writer_.prepareDelete(intent, &origin));
    RETURN_IF_ERROR(authorized(context, prepared));
    return prepared;
  };
  return runSingle(context, prepare, false, outcome);
}

}  // namespace planbro::gateway::ops
