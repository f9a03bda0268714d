#include "planbro/gateway/ops/write_pipeline.h"

#include <chrono>
#include <set>

#include "planbro/fhir-model/model_info.h"
#include "planbro/fhir-model/resource_json.h"
#include "planbro/gateway/search/indexer.h"
#include "planbro/gateway/store/resource_id.h"

namespace planbro::gateway::ops {

using fhir::JsonDocument;
using fhir::JsonValue;

bool isValidId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  // The R4 id pattern admits them, but in a URL they are path segments: Patient/.. is the type, not an instance.
  if (id == "." || id == "..") return false;
  for (char c : id) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

namespace {

class BaseValidator : public ResourceValidator {
 public:
  explicit BaseValidator(fhir::ValidationOptions options) : options_(std::move(options)) {}
  fhir::OperationOutcome validate(const JsonValue& resource) const override {
    return fhir::validateResource(resource, options_);
  }

 private:
  fhir::ValidationOptions options_;
};

bool sameKey(const store::BusinessKey& a, const store::BusinessKey& b) {
  return a.type == b.type && a.kind == b.kind && a.value == b.value;
}

// Splits "Type/id" or "Type/id/_history/v" into type and id; false for anything else.
bool splitLocalReference(std::string_view ref, std::string& type, std::string& id) {
  size_t slash = ref.find('/');
  if (slash == std::string_view::npos || slash == 0) return false;
  std::string_view t = ref.substr(0, slash);
  std::string_view rest = ref.substr(slash + 1);
  size_t next = rest.find('/');
  std::string_view i = rest.substr(0, next);
  if (next != std::string_view::npos) {
    std::string_view tail = rest.substr(next + 1);
    if (!tail.starts_with("_history/") || tail.size() == 9 || tail.find('/', 9) != std::string_view::npos) return false;
  }
  if (!isValidId(i) || !fhir::ModelInfo::r4().isResourceType(t)) return false;
  type = std::string(t);
  id = std::string(i);
  return true;
}

// Walks `value` with `path` the element it is at ("CarePlan.goal[1]"); `path` is one buffer grown and cut back on
// the way down and up, so a node costs no string of its own and only a reference found copies it.
void collectReferences(const JsonValue& value, std::string& path, std::vector<LocalReference>& out) {
  if (!value.isObject()) return;
  if (const JsonValue* ref = value.find("reference"); ref && ref->isString()) {
    LocalReference r;
    if (splitLocalReference(ref->text(), r.type, r.id)) {
      r.location = path;
      out.push_back(std::move(r));
    }
  }
  const size_t at = path.size();
  for (const fhir::JsonMember& m : value.members()) {
    if (m.value.isArray()) {
      size_t i = 0;
      for (const JsonValue& item : m.value.items()) {
        if (item.isObject()) {
          path.append(".").append(m.key).append("[").append(std::to_string(i)).append("]");
          collectReferences(item, path, out);
          path.resize(at);
        }
        ++i;
      }
    } else if (m.value.isObject()) {
      path.append(".").append(m.key);
      collectReferences(m.value, path, out);
      path.resize(at);
    }
  }
}

}  // namespace

std::shared_ptr<const ResourceValidator> makeBaseValidator(fhir::ValidationOptions options) {
  return std::make_shared<BaseValidator>(std::move(options));
}

namespace {

class ProfileValidator final : public ResourceValidator {
 public:
  explicit ProfileValidator(std::shared_ptr<const fhir::Validator> validator) : validator_(std::move(validator)) {}
  fhir::OperationOutcome validate(const JsonValue& resource) const override { return validator_->validate(resource); }

 private:
  std::shared_ptr<const fhir::Validator> validator_;
};

}  // namespace

std::shared_ptr<const ResourceValidator> makeProfileValidator(std::shared_ptr<const fhir::Validator> validator) {
  return std::make_shared<ProfileValidator>(std::move(validator));
}

std::vector<LocalReference> localReferences(std::string_view type, const JsonValue& resource) {
  std::vector<LocalReference> out;
  std::string path(type);
  collectReferences(resource, path, out);
  return out;
}

Result<KeyChanges> KeyedResourceHook::keys(std::string_view type, const JsonValue* current,
                                           const JsonValue* proposed) const {
  KeyChanges changes;
  if (proposed) changes.claims = keysOf(type, *proposed);
  if (current) {
    for (KeyClaim& old : keysOf(type, *current)) {
      bool kept = false;
      for (const KeyClaim& c : changes.claims) kept = kept || sameKey(c.key, old.key);
      if (!kept) changes.releases.push_back(std::move(old.key));
    }
  }
  return changes;
}

ResourceWriter::ResourceWriter(WriterOptions options)
    : options_(std::move(options)),
      validator_(options_.validator ? options_.validator : makeBaseValidator(options_.validation)) {}

namespace {

// The audit trail is append-only on every path: the audit log writes AuditEvents with the store transaction
// directly (security/audit_log.h), and no create, update, patch, delete or transaction entry reaches one here.
Status appendOnly(std::string_view type) {
  if (type != "AuditEvent") return Status::ok();
  return Status(StatusCode::kPermissionDenied,
                "AuditEvent is append-only: the gateway records it, and it cannot be created, changed or deleted");
}

}  // namespace

bool ResourceWriter::hooked(std::string_view type) const {
  for (const auto& hook : options_.hooks) {
    if (hook && hook->watches(type)) return true;
  }
  return false;
}

Result<KeyChanges> TransactionHook::keysInTransaction(HookContext& context, const PreparedWrite& write,
                                                     const JsonValue* current, const JsonValue* proposed) const {
  (void)context;
  return keys(write.intent.type, current, proposed);
}

namespace {

std::string withHolder(std::string text, const std::string& holder) {
  for (size_t at = text.find("{holder}"); at != std::string::npos; at = text.find("{holder}", at + holder.size())) {
    text.replace(at, 8, holder);
  }
  return text;
}

}  // namespace

Status ResourceWriter::runHooks(store::WriteTransaction& tx, const PreparedWrite& write,
                                fhir::OperationOutcome* outcome, const WriteOrigin& origin,
                                std::vector<HookContext::Deferred>* deferred,
                                const std::function<Result<store::WriteResult>()>& store_write,
                                store::WriteResult& result) const {
  const WriteIntent& in = write.intent;
  if (!hooked(in.type)) {
    ASSIGN_OR_RETURN(result, store_write());
    return Status::ok();
  }
  // The stored version as this transaction sees it: what the hooks release keys of.
  std::optional<JsonDocument> current;
  if (in.kind != WriteKind::kCreate) {
    auto stored = tx.read(in.type, in.id);
    if (stored.isOk()) {
      auto parsed = JsonDocument::parse(stored->json);
      if (!parsed.isOk()) return Status(StatusCode::kInternal, "the stored " + in.type + " cannot be parsed");
      current = std::move(parsed).value();
    } else if (stored.status().code() != StatusCode::kNotFound && stored.status().code() != StatusCode::kGone) {
      return stored.status();
    }
  }
  // The proposed version, parsed by prepare() outside the writer turn when it could be.
  std::optional<JsonDocument> proposed_here;
  const JsonValue* proposed_root = nullptr;
  if (in.kind != WriteKind::kDelete) {
    if (write.parsed) {
      proposed_root = &write.parsed->root();
    } else {
      auto parsed = JsonDocument::parse(write.json);
      if (!parsed.isOk()) return Status(StatusCode::kInternal, "the prepared " + in.type + " cannot be parsed");
      proposed_here = std::move(parsed).value();
      proposed_root = &proposed_here->root();
    }
  }
  const JsonValue* current_root = current ? &current->root() : nullptr;
  std::vector<HookContext::Deferred> own_deferred;
  HookContext context{tx, origin, deferred ? deferred : &own_deferred, outcome};
  for (const auto& hook : options_.hooks) {
    if (!hook || !hook->watches(in.type)) continue;
    ASSIGN_OR_RETURN(KeyChanges changes, hook->keysInTransaction(context, write, current_root, proposed_root));
    for (const store::BusinessKey& key : changes.releases) RETURN_IF_ERROR(tx.releaseKeyHeldBy(key, in.id));
    for (const KeyClaim& claim : changes.claims) {
      ASSIGN_OR_RETURN(store::ClaimResult held, tx.claimKey(claim.key, in.id));
      if (held.claimed) continue;
      const std::string holder = claim.key.type + "/" + held.owner_id;
      if (!claim.rule.empty()) {
        // A business rule's clash: its own words, in both languages, pointing at the holder.
        std::string en = claim.rule + ": " + withHolder(claim.conflict_en, holder);
        if (outcome) {
          fhir::Issue issue{fhir::Severity::kError, "conflict", en, claim.location};
          issue.details = claim.rule + ": " + withHolder(claim.conflict_nb, holder);
          issue.related.push_back(holder);
          outcome->add(std::move(issue));
        }
        return Status(StatusCode::kConflict, en);
      }
      std::string message = "the " + claim.description + " is already registered to " + holder;
      if (outcome) outcome->add(fhir::Severity::kError, "duplicate", message, claim.location);
      return Status(StatusCode::kConflict, (claim.location.empty() ? "" : claim.location + ": ") + message);
    }
  }
  ASSIGN_OR_RETURN(result, store_write());
  if (result.outcome == store::WriteResult::Outcome::kUnchanged) return Status::ok();
  for (const auto& hook : options_.hooks) {
    if (!hook || !hook->watches(in.type)) continue;
    RETURN_IF_ERROR(hook->written(context, write, result, current_root, proposed_root));
  }
  for (const HookContext::Deferred& check : own_deferred) RETURN_IF_ERROR(check(tx, outcome));
  return Status::ok();
}

namespace {

// `resource` as it is stored: without meta.versionId and meta.lastUpdated (the store sets both), built in `doc`.
JsonValue withoutVersionMeta(JsonDocument& doc, const JsonValue& resource) {
  const JsonValue* meta = resource.find("meta");
  if (!meta || !meta->isObject() || (!meta->find("versionId") && !meta->find("lastUpdated"))) return resource;
  JsonValue m = doc.withoutMember(doc.withoutMember(*meta, "versionId"), "lastUpdated");
  return m.size() == 0 ? doc.withoutMember(resource, "meta") : doc.withMember(resource, "meta", m);
}

}  // namespace

std::string ResourceWriter::canonicalJson(const JsonValue& resource) {
  JsonDocument doc;
  return fhir::writeResourceJson(withoutVersionMeta(doc, resource));
}

void ResourceWriter::planHooks(PreparedWrite& write, const WriteOrigin& origin) const {
  const JsonValue* proposed = write.parsed ? &write.parsed->root() : nullptr;
  for (const auto& hook : options_.hooks) {
    if (!hook || !hook->watches(write.intent.type)) continue;
    if (auto plan = hook->plan(write, origin, proposed)) write.hook_plans.emplace_back(hook.get(), std::move(plan));
  }
}

Result<PreparedWrite> ResourceWriter::prepare(WriteIntent intent, const JsonValue& resource,
                                              fhir::OperationOutcome* outcome, const WriteOrigin* origin) const {
  RETURN_IF_ERROR(appendOnly(intent.type));
  if (!resource.isObject()) return invalidArgument("the body must be a JSON object (a FHIR resource)");
  const JsonValue* rt = resource.find("resourceType");
  if (!rt || !rt->isString()) return invalidArgument("the resource has no resourceType");
  if (rt->text() != intent.type) {
    return invalidArgument("the resource type '" + std::string(rt->text()) + "' does not match the URL's type '" +
                           intent.type + "'");
  }
  const JsonValue* body_id = resource.find("id");
  if (body_id && !body_id->isString()) return invalidArgument("Resource.id must be a string");
  if (intent.kind == WriteKind::kUpdate) {
    if (!body_id) return invalidArgument("an update must carry the resource id in the body (Resource.id)");
    if (body_id->text() != intent.id) {
      return invalidArgument("Resource.id '" + std::string(body_id->text()) + "' does not match the id in the URL '" +
                             intent.id + "'");
    }
  }
  if (intent.id.empty()) intent.id = store::newResourceId();
  if (!isValidId(intent.id)) return invalidArgument("'" + intent.id + "' is not a valid FHIR id");

  JsonDocument doc;
  JsonValue final_resource = doc.withMember(resource, "id", doc.makeString(intent.id));
  if (options_.transform) {
    ASSIGN_OR_RETURN(final_resource, options_.transform->transform(doc, final_resource));
  }
  for (const auto& hook : options_.hooks) {
    // What the server records from the origin (never what the client sent) is validated with the rest.
    static const WriteOrigin kNoStampOrigin;
    if (hook && hook->watches(intent.type)) {
      ASSIGN_OR_RETURN(final_resource, hook->stamp(doc, intent.type, final_resource, origin ? *origin : kNoStampOrigin));
    }
  }
  const auto validation_start = std::chrono::steady_clock::now();
  fhir::OperationOutcome issues = validator_->validate(final_resource);
  if (options_.metrics && options_.metrics->validated) {
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - validation_start;
    options_.metrics->validated(intent.type, !issues.hasErrors(), took.count());
  }
  if (issues.hasErrors()) {
    size_t n = issues.errorCount();
    if (outcome) *outcome = std::move(issues);
    return Status(StatusCode::kUnprocessable,
                  "the " + intent.type + " is not valid (" + std::to_string(n) + " error" + (n == 1 ? "" : "s") + ")");
  }
  if (options_.rules) RETURN_IF_ERROR(options_.rules->check(intent, &final_resource));

  PreparedWrite out;
  const JsonValue stored = withoutVersionMeta(doc, final_resource);
  out.json = fhir::writeResourceJson(stored);
  search::IndexOptions index_options;
  index_options.last_updated = store::Timestamp{};
  index_options.own_base_url = options_.own_base_url;
  index_options.max_rows = options_.max_index_rows;
  auto rows = search::indexResource(final_resource, nullptr, index_options);
  if (!rows.isOk()) return rows.status();
  out.rows = std::move(rows).value();
  out.references = localReferences(intent.type, final_resource);
  if (hooked(intent.type)) {
    // Made here, not in the writer turn, where every hook of the write needs it: a copy of the tree `json` was
    // written from (jsonEqual to `json` parsed, writeResourceJson's contract), into a document of its own, since
    // `stored` points into `doc` and into the caller's body. Copying the tree is cheaper than parsing the text.
    auto own = std::make_shared<JsonDocument>();
    own->setRoot(own->import(stored));
    out.parsed = std::move(own);
  }
  out.intent = std::move(intent);
  if (origin) planHooks(out, *origin);
  return out;
}

Result<PreparedWrite> ResourceWriter::prepareDelete(WriteIntent intent, const WriteOrigin* origin) const {
  intent.kind = WriteKind::kDelete;
  RETURN_IF_ERROR(appendOnly(intent.type));
  if (!isValidId(intent.id)) return invalidArgument("'" + intent.id + "' is not a valid FHIR id");
  if (options_.rules) RETURN_IF_ERROR(options_.rules->check(intent, nullptr));
  PreparedWrite out;
  out.intent = std::move(intent);
  if (origin) planHooks(out, *origin);
  return out;
}

Result<AppliedWrite> ResourceWriter::apply(store::WriteTransaction& tx, const PreparedWrite& write,
                                           fhir::OperationOutcome* outcome, const WriteOrigin* origin,
                                           std::vector<HookContext::Deferred>* deferred) const {
  const WriteIntent& in = write.intent;
  AppliedWrite applied;
  store::ResourceContent content{write.json, {}};
  static const WriteOrigin kNoOrigin;
  const WriteOrigin& who = origin ? *origin : kNoOrigin;
  switch (in.kind) {
    case WriteKind::kCreate: {
      if (in.claim) {
        ASSIGN_OR_RETURN(store::ClaimResult claim, tx.claimKey(*in.claim, in.id));
        if (!claim.claimed && claim.owner_id != in.id) {
          applied.existing_owner = claim.owner_id;
          return applied;
        }
      }
      RETURN_IF_ERROR(runHooks(tx, write, outcome, who, deferred, [&] { return tx.create(in.type, content, in.id); },
                               applied.result));
      break;
    }
    case WriteKind::kUpdate: {
      RETURN_IF_ERROR(runHooks(tx, write, outcome, who, deferred,
                               [&] { return tx.update(in.type, in.id, content, in.if_match); }, applied.result));
      break;
    }
    case WriteKind::kDelete: {
      RETURN_IF_ERROR(runHooks(tx, write, outcome, who, deferred, [&] { return tx.remove(in.type, in.id, in.if_match); },
                               applied.result));
      return applied;  // the store drops the index rows and business keys itself
    }
  }
  if (applied.result.outcome == store::WriteResult::Outcome::kCreated ||
      applied.result.outcome == store::WriteResult::Outcome::kUpdated) {
    std::vector<store::IndexRow> rows = write.rows;
    int64_t micros = applied.result.last_updated.time_since_epoch().count();
    for (store::IndexRow& r : rows) {
      if (r.param == "_lastUpdated") r.date_low = r.date_high = micros;
    }
    // A first version has no index rows to replace.
    if (applied.result.version == 1) {
      RETURN_IF_ERROR(tx.addIndex(in.type, in.id, rows));
    } else {
      RETURN_IF_ERROR(tx.replaceIndex(in.type, in.id, rows));
    }
  }
  return applied;
}

}  // namespace planbro::gateway::ops
