#include "planbro/gateway/subscriptions/creator.h"

#include <string>
#include <vector>

#include "planbro/gateway/security/scopes.h"
#include "planbro/gateway/subscriptions/subscription.h"

namespace planbro::gateway::subscriptions {
namespace {

using security::Principal;
using security::PrincipalKind;

constexpr PrincipalKind kKinds[] = {PrincipalKind::kPractitioner, PrincipalKind::kPatient, PrincipalKind::kSystem,
                                    PrincipalKind::kAuditor, PrincipalKind::kKeAdministrator};

PrincipalKind kindOf(std::string_view name) {
  for (PrincipalKind k : kKinds) {
    if (security::principalKindName(k) == name) return k;
  }
  return PrincipalKind::kUnknown;
}

bool isCreator(const fhir::JsonValue& extension) {
  const fhir::JsonValue* url = extension.find("url");
  return url != nullptr && url->text() == kCreatorUrl;
}

void addString(fhir::JsonDocument& doc, std::vector<fhir::JsonValue>& out, std::string_view url,
               std::string_view value, std::string_view value_key = "valueString") {
  if (value.empty()) return;  // FHIR strings are never empty
  const fhir::JsonMember members[] = {{"url", doc.makeString(url)}, {value_key, doc.makeString(value)}};
  out.push_back(doc.makeObject(members));
}

fhir::JsonValue creatorExtension(fhir::JsonDocument& doc, const Principal& p) {
  std::vector<fhir::JsonValue> parts;
  addString(doc, parts, "kind", security::principalKindName(p.kind), "valueCode");
  addString(doc, parts, "subject", p.subject);
  addString(doc, parts, "client-id", p.client_id);
  addString(doc, parts, "hpr-number", p.hpr_number);
  addString(doc, parts, "pid", p.pid);
  addString(doc, parts, "organization-number", p.organization_number);
  addString(doc, parts, "child-organization-number", p.child_organization_number);
  if (p.trusted_client) {
    const fhir::JsonMember members[] = {{"url", doc.makeString("trusted-client")},
                                        {"valueBoolean", fhir::JsonDocument::makeBool(true)}};
    parts.push_back(doc.makeObject(members));
  }
  for (const std::string& scope : p.scopes) addString(doc, parts, "scope", scope);
  const fhir::JsonMember members[] = {{"url", doc.makeString(kCreatorUrl)}, {"extension", doc.makeArray(parts)}};
  return doc.makeObject(members);
}

}  // namespace

fhir::JsonValue stampCreator(fhir::JsonDocument& doc, const fhir::JsonValue& resource, const ops::WriteOrigin& origin) {
  if (origin.source_system == kSubscriptionsSource) return resource;  // the gateway's status write: kept as stored
  std::vector<fhir::JsonValue> extensions;
  if (const fhir::JsonValue* list = resource.find("extension"); list != nullptr) {
    for (const fhir::JsonValue& e : list->items()) {
      if (!isCreator(e)) extensions.push_back(e);
    }
  }
  if (origin.principal) extensions.push_back(creatorExtension(doc, *origin.principal));
  if (extensions.empty()) return doc.withoutMember(resource, "extension");
  return doc.withMember(resource, "extension", doc.makeArray(extensions));
}

std::shared_ptr<const security::Principal> readCreator(const fhir::JsonValue& resource) {
  auto p = std::make_shared<Principal>();
  const fhir::JsonValue* list = resource.find("extension");
  for (const fhir::JsonValue& e : list != nullptr ? list->items() : std::span<const fhir::JsonValue>{}) {
    if (!isCreator(e)) continue;
    const fhir::JsonValue* parts = e.find("extension");
    for (const fhir::JsonValue& part : parts != nullptr ? parts->items() : std::span<const fhir::JsonValue>{}) {
      const fhir::JsonValue* url = part.find("url");
      if (url == nullptr) continue;
      const std::string_view name = url->text();
      if (name == "trusted-client") {
        const fhir::JsonValue* b = part.find("valueBoolean");
        p->trusted_client = b != nullptr && b->isBool() && b->boolean();
        continue;
      }
      const fhir::JsonValue* v = part.find(name == "kind" ? "valueCode" : "valueString");
      if (v == nullptr || !v->isString()) continue;
      const std::string value(v->text());
      if (name == "kind") p->kind = kindOf(value);
      else if (name == "subject") p->subject = value;
      else if (name == "client-id") p->client_id = value;
      else if (name == "hpr-number") p->hpr_number = value;
      else if (name == "pid") p->pid = value;
      else if (name == "organization-number") p->organization_number = value;
      else if (name == "child-organization-number") p->child_organization_number = value;
      else if (name == "scope") {
        p->scopes.push_back(value);
        p->scope_set.add(value);
      }
    }
    break;  // stampCreator writes one
  }
  return p;
}

}  // namespace planbro::gateway::subscriptions
