// The outbound feed's consent check: a receiver organisation's entitlement, computed per event, against the
// compartments of the version being sent (or, for a delete, the version before it).
#include "planbro/gateway/security/consent_dispatch.h"

#include <span>

#include "planbro/fhir-model/json.h"
#include "planbro/gateway/dispatch/dispatcher.h"

namespace planbro::gateway::security {
namespace {

constexpr std::string_view kHerIdSystem = "urn:oid:2.16.578.1.12.4.1.2";
constexpr std::string_view kEnhSystem = "urn:oid:2.16.578.1.12.4.1.4.101";

class ConsentDispatchPolicy final : public dispatch::AccessPolicy {
 public:
  ConsentDispatchPolicy(store::ResourceStore& store, ConsentPolicyOptions options,
                        std::map<std::string, DispatchReceiver> receivers)
      : store_(store), options_(std::move(options)), receivers_(std::move(receivers)) {}

  bool mayReceive(const dispatch::SubscriberSpec& subscriber, const store::OutboxEvent& event,
                  const std::string* resource) const override {
    auto receiver = receivers_.find(subscriber.name);
    if (receiver == receivers_.end()) return true;
    if (!inPatientCompartment(event.type)) return true;
    // Unreadable: what it was cannot be told, so neither can whether the receiver may know of it.
    if (resource == nullptr) return false;
    Principal principal;
    principal.kind = PrincipalKind::kSystem;
    principal.client_id = subscriber.name;
    principal.trusted_client = true;  // configured to deliver for this organisation
    principal.organization_number = receiver->second.organization_number;
    if (principal.organization_number.empty()) {
      auto orgnr = organisationNumberOfHerId(receiver->second.her_id);
      if (!orgnr.isOk() || orgnr->empty()) return false;  // an unknown receiver sees nothing
      principal.organization_number = std::move(orgnr).value();
    }
    principal.child_organization_number = receiver->second.child_organization_number;
    auto entitlement = computeEntitlement(store_, principal, options_);
    // A store error fails closed: the event is not sent (it is not known whom it is about).
    if (!entitlement.isOk() || entitlement->role != Entitlement::Role::kCompartments) return false;
    for (const std::string& patient : patientCompartmentsOf(event.type, event.id, *resource)) {
      if (entitlement->patients.contains(patient)) return true;
    }
    return false;
  }

 private:
  // The organisation number of the one Organization whose identifier is the HER-id; "" when none or several.
  Result<std::string> organisationNumberOfHerId(const std::string& her_id) const {
    if (her_id.empty()) return std::string();
    store::IndexQuery q;
    q.type = "Organization";
    store::IndexPredicate p;
    p.param = "identifier";
    p.kind = store::IndexValueKind::kToken;
    p.system = std::string(kHerIdSystem);
    p.code = her_id;
    q.all_of.push_back({std::move(p)});
    q.count = 2;
    ASSIGN_OR_RETURN(store::IndexPage page, store_.searchIndex(q));
    if (page.ids.size() != 1) return std::string();
    ASSIGN_OR_RETURN(store::ResourceVersion v, store_.read("Organization", page.ids[0]));
    auto doc = fhir::JsonDocument::parse(v.json);
    if (!doc.isOk()) return std::string();
    const fhir::JsonValue* identifiers = doc->root().find("identifier");
    for (const fhir::JsonValue& i : identifiers != nullptr ? identifiers->items() : std::span<const fhir::JsonValue>{}) {
      const fhir::JsonValue* system = i.find("system");
      const fhir::JsonValue* value = i.find("value");
      if (system != nullptr && system->isString() && system->text() == kEnhSystem && value != nullptr &&
          value->isString()) {
        return std::string(value->text());
      }
    }
    return std::string();
  }

  store::ResourceStore& store_;
  ConsentPolicyOptions options_;
  std::map<std::string, DispatchReceiver> receivers_;
};

}  // namespace

std::shared_ptr<dispatch::AccessPolicy> makeConsentDispatchPolicy(store::ResourceStore& store,
                                                                  ConsentPolicyOptions options,
                                                                  std::map<std::string, DispatchReceiver> receivers) {
  return std::make_shared<ConsentDispatchPolicy>(store, std::move(options), std::move(receivers));
}

}  // namespace planbro::gateway::security
