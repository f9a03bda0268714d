#include "planbro/gateway/ops/identity_keys.h"

#include "planbro/fhir-model/norwegian_ids.h"
#include "planbro/gateway/ops/stored_keys.h"

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
  const PatientIdentityHook hook;
  ASSIGN_OR_RETURN(StoredKeysBackfill done,
                   claimStoredKeys(store, hook, {"Patient", "person-number-keys-v1", "person-number-backfill", page_size}));
  return PersonNumberBackfill{done.already_done, done.resources, done.claimed, std::move(done.duplicates)};
}

}  // namespace planbro::gateway::ops
