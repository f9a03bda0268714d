#include "planbro/adapters/plo/ip_status_facts.h"

#include <span>
#include <string>

namespace planbro::adapters::plo {
namespace {

std::string_view stringMember(const fhir::JsonValue* value, std::string_view key) {
  if (value == nullptr) return {};
  const fhir::JsonValue* v = value->find(key);
  return v != nullptr && v->isString() ? v->text() : std::string_view();
}

std::span<const fhir::JsonValue> arrayMember(const fhir::JsonValue* value, std::string_view key) {
  const fhir::JsonValue* v = value != nullptr ? value->find(key) : nullptr;
  return v != nullptr && v->isArray() ? v->items() : std::span<const fhir::JsonValue>{};
}

IpCoordinator coordinatorFrom(const fhir::JsonValue& parameter) {
  IpCoordinator c;
  for (const fhir::JsonValue& part : arrayMember(&parameter, "part")) {
    const std::string_view name = stringMember(&part, "name");
    if (name == "name" && c.name.empty()) {
      c.name = stringMember(&part, "valueString");
    } else if (name == "telecom" && c.telephone.empty()) {
      const fhir::JsonValue* point = part.find("valueContactPoint");
      // The Merknad names a number to call: the first phone ContactPoint (e-mail and sms are not).
      if (stringMember(point, "system") == "phone") c.telephone = stringMember(point, "value");
    } else if (name == "organization" && c.organisation.empty()) {
      c.organisation = stringMember(part.find("valueReference"), "display");
    }
  }
  return c;
}

}  // namespace

Result<IpFacts> ipFactsFromIpStatus(const fhir::JsonValue& parameters) {
  if (!parameters.isObject() || stringMember(&parameters, "resourceType") != "Parameters") {
    return invalidArgument("$ip-status-svaret er ikke en Parameters-ressurs");
  }
  IpFacts facts;
  bool has_plan_seen = false;
  for (const fhir::JsonValue& parameter : arrayMember(&parameters, "parameter")) {
    const std::string_view name = stringMember(&parameter, "name");
    if (name == "hasPlan") {
      const fhir::JsonValue* value = parameter.find("valueBoolean");
      if (value == nullptr || !value->isBool()) return invalidArgument("$ip-status: hasPlan er ikke en boolean");
      facts.plan_exists = value->boolean();
      has_plan_seen = true;
    } else if (name == "planStatus") {
      const std::string_view status = stringMember(&parameter, "valueCode");
      facts.plan_started = status == "active" || status == "on-hold";
    } else if (name == "coordinator" && !facts.coordinator) {
      facts.coordinator = coordinatorFrom(parameter);
    }
  }
  if (!has_plan_seen) return invalidArgument("$ip-status: hasPlan mangler");
  if (!facts.plan_exists) return IpFacts{};  // nothing else of a plan that is not there
  return facts;
}

Result<IpFacts> ipFactsFromIpStatusJson(std::string_view json) {
  ASSIGN_OR_RETURN(fhir::JsonDocument doc, fhir::JsonDocument::parse(std::string(json)));
  return ipFactsFromIpStatus(doc.root());
}

}  // namespace planbro::adapters::plo
