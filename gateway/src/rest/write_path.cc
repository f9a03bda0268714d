#include "planbro/gateway/rest/write_path.h"


#include "planbro/fhir-model/resource_json.h"
#include "planbro/gateway/search/indexer.h"
#include "planbro/gateway/store/resource_id.h"

namespace planbro::gateway::rest {

using fhir::JsonDocument;
using fhir::JsonValue;

bool isValidId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

ResourceWriter::ResourceWriter(WriterOptions options) : options_(std::move(options)) {}

std::string ResourceWriter::canonicalJson(const JsonValue& resource) {
  const JsonValue* meta = resource.find("meta");
  if (!meta || !meta->isObject() || (!meta->find("versionId") && !meta->find("lastUpdated"))) {
    return fhir::writeResourceJson(resource);
  }
  JsonDocument doc;
  JsonValue m = doc.withoutMember(doc.withoutMember(*meta, "versionId"), "lastUpdated");
  JsonValue r = m.size() == 0 ? doc.withoutMember(resource, "meta") : doc.withMember(resource, "meta", m);
  return fhir::writeResourceJson(r);
}

Result<PreparedWrite> ResourceWriter::prepare(WriteIntent intent, const JsonValue& resource,
                                              fhir::OperationOutcome* outcome) const {
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
  fhir::OperationOutcome issues = fhir::validateResource(final_resource, options_.validation);
  if (issues.hasErrors()) {
    size_t n = issues.errorCount();
    if (outcome) *outcome = std::move(issues);
    return Status(StatusCode::kUnprocessable,
                  "the " + intent.type + " is not valid (" + std::to_string(n) + " error" + (n == 1 ? "" : "s") + ")");
  }
  if (options_.rules) RETURN_IF_ERROR(options_.rules->check(intent, &final_resource));

  PreparedWrite out;
  out.json = canonicalJson(final_resource);
  search::IndexOptions index_options;
  index_options.last_updated = store::Timestamp{};
  auto rows = search::indexResource(final_resource, nullptr, index_options);
  if (!rows.isOk()) return rows.status();
  out.rows = std::move(rows).value();
  out.intent = std::move(intent);
  return out;
}

Result<PreparedWrite> ResourceWriter::prepareDelete(WriteIntent intent) const {
  intent.kind = WriteKind::kDelete;
  if (!isValidId(intent.id)) return invalidArgument("'" + intent.id + "' is not a valid FHIR id");
  if (options_.rules) RETURN_IF_ERROR(options_.rules->check(intent, nullptr));
  PreparedWrite out;
  out.intent = std::move(intent);
  return out;
}

Result<AppliedWrite> ResourceWriter::apply(store::WriteTransaction& tx, const PreparedWrite& write) const {
  const WriteIntent& in = write.intent;
  AppliedWrite applied;
  store::ResourceContent content{write.json, {}};
  switch (in.kind) {
    case WriteKind::kCreate: {
      if (in.claim) {
        ASSIGN_OR_RETURN(store::ClaimResult claim, tx.claimKey(*in.claim, in.id));
        if (!claim.claimed && claim.owner_id != in.id) {
          applied.existing_owner = claim.owner_id;
          return applied;
        }
      }
      ASSIGN_OR_RETURN(applied.result, tx.create(in.type, content, in.id));
      break;
    }
    case WriteKind::kUpdate: {
      ASSIGN_OR_RETURN(applied.result, tx.update(in.type, in.id, content, in.if_match));
      break;
    }
    case WriteKind::kDelete: {
      ASSIGN_OR_RETURN(applied.result, tx.remove(in.type, in.id, in.if_match));
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

}  // namespace planbro::gateway::rest
