#include "planbro/gateway/ops/identity_keys.h"

#include "planbro/fhir-model/norwegian_ids.h"

namespace planbro::gateway::ops {

namespace no = fhir::no;
using fhir::JsonValue;

std::string canonicalIdentifierSystem(std::string_view system) {
  if (no::isAliasSystemUri(system)) {
    if (auto kind = no::identifierSystemFor(system)) {
      std::string_view preferred = no::preferredSystemUri(*kind);
      if (!preferred.empty()) return std::string(preferred);
    }
  }
  return std::string(system);
}

namespace {

std::string_view textOf(const JsonValue* v) { return v && v->isString() ? v->text() : std::string_view(); }

// An H-nummer has no national system: the no-basis profile marks it by Identifier.type.
bool typedAsHNummer(const JsonValue& identifier) {
  const JsonValue* type = identifier.find("type");
  const JsonValue* codings = type ? type->find("coding") : nullptr;
  if (!codings || !codings->isArray()) return false;
  for (const JsonValue& c : codings->items()) {
    if (textOf(c.find("system")) == no::kHnrTypeCodingSystem && textOf(c.find("code")) == "HNR") return true;
  }
  return false;
}

std::optional<no::IdentifierSystem> personNumberKind(const JsonValue& identifier) {
  std::optional<no::IdentifierSystem> kind = no::identifierSystemFor(textOf(identifier.find("system")));
  if (!kind && typedAsHNummer(identifier)) kind = no::IdentifierSystem::kHnr;
  if (!kind) return std::nullopt;
  switch (*kind) {
    case no::IdentifierSystem::kFnr:
    case no::IdentifierSystem::kDnr:
    case no::IdentifierSystem::kFhn:
    case no::IdentifierSystem::kHnr:
      return kind;
    default:
      return std::nullopt;
  }
}

class PatientIdentityHook : public KeyedResourceHook {
 public:
  bool watches(std::string_view type) const override { return type == "Patient"; }

  std::vector<KeyClaim> keysOf(std::string_view type, const JsonValue& resource) const override {
    std::vector<KeyClaim> keys;
    const JsonValue* identifiers = resource.find("identifier");
    if (!identifiers || !identifiers->isArray()) return keys;
    size_t i = 0;
    for (const JsonValue& identifier : identifiers->items()) {
      size_t index = i++;
      if (!identifier.isObject()) continue;
      std::optional<no::IdentifierSystem> kind = personNumberKind(identifier);
      std::string digits = no::stripSeparators(textOf(identifier.find("value")));
      if (!kind || digits.empty()) continue;
      bool duplicate = false;
      for (const KeyClaim& k : keys) duplicate = duplicate || k.key.value == digits;
      if (duplicate) continue;
      keys.push_back(KeyClaim{store::BusinessKey{std::string(type), std::string(kPersonNumberKey), digits},
                              std::string(type) + ".identifier[" + std::to_string(index) + "]",
                              std::string(no::identifierSystemName(*kind))});
    }
    return keys;
  }
};

}  // namespace

std::shared_ptr<const TransactionHook> makePatientIdentityHook() { return std::make_shared<PatientIdentityHook>(); }

Result<PersonNumberBackfill> claimStoredPersonNumbers(store::ResourceStore& store, size_t page_size) {
  // The marker is a business key of its own: claimed (by the pseudo-id below) when a run has finished.
  const store::BusinessKey marker{"Patient", "migration", "person-number-keys-v1"};
  constexpr std::string_view kMarkerHolder = "person-number-backfill";
  PersonNumberBackfill result;
  ASSIGN_OR_RETURN(std::optional<std::string> done, store.findKeyOwner(marker));
  if (done) {
    result.already_done = true;
    return result;
  }
  if (page_size == 0 || page_size > store::kMaxPageSize) page_size = store::kMaxPageSize;
  PatientIdentityHook hook;
  std::optional<std::string> after;
  for (;;) {
    store::IndexQuery all;  // no predicates: every current Patient, in id order
    all.type = "Patient";
    all.count = page_size;
    all.after_id = after;
    ASSIGN_OR_RETURN(store::IndexPage page, store.searchIndex(all));
    PersonNumberBackfill page_result;
    Status s = store.runTransaction(store::WriteContext{"", "person-number-backfill"},
                                    [&](store::WriteTransaction& tx) -> Status {
      page_result = PersonNumberBackfill{};
      for (const std::string& id : page.ids) {
        auto current = tx.read("Patient", id);
        if (!current.isOk()) continue;  // deleted meanwhile
        auto doc = fhir::JsonDocument::parse(current->json);
        if (!doc.isOk()) continue;
        ++page_result.patients;
        for (const KeyClaim& claim : hook.keysOf("Patient", doc->root())) {
          ASSIGN_OR_RETURN(store::ClaimResult held, tx.claimKey(claim.key, id));
          if (held.claimed) {
            ++page_result.claimed;
          } else {
            page_result.duplicates.push_back("Patient/" + id + " (" + claim.description + " held by Patient/" +
                                             held.owner_id + ")");
          }
        }
      }
      return Status::ok();
    });
    RETURN_IF_ERROR(s);
    result.patients += page_result.patients;
    result.claimed += page_result.claimed;
    for (auto& d : page_result.duplicates) result.duplicates.push_back(std::move(d));
    if (!page.next_after_id) break;
    after = page.next_after_id;
  }
  RETURN_IF_ERROR(store.runTransaction(store::WriteContext{"", "person-number-backfill"},
                                       [&](store::WriteTransaction& tx) {
                                         return tx.claimKey(marker, kMarkerHolder).status();
                                       }));
  return result;
}

}  // namespace planbro::gateway::ops
