// The outbound feed's consent check: a receiver organisation's entitlement, computed per event, against the
// compartments of the version being sent (or, for a delete, the version before it).
#include "planbro/gateway/security/consent_dispatch.h"

#include <optional>
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
    if (subscriber.acting_for) return mayReceiveAs(*subscriber.acting_for, event, resource);
    auto receiver = receivers_.find(subscriber.name);
    if (receiver == receivers_.end()) return true;
    if (!inPatientCompartment(event.type)) return true;
    // Unreadable: what it was cannot be told, so neither can whether the receiver may know of it.
    if (resource == nullptr) return false;
    std::optional<Principal> principal =
        receiverPrincipal(subscriber.name, receiver->second.organization_number, receiver->second.her_id);
    if (!principal) return false;  // an unknown receiver sees nothing
    principal->child_organization_number = receiver->second.child_organization_number;
    return entitled(*principal, event, *resource);
  }

  // A receiver the transport picked from the plan for this event (a PLO message's HER-id): the same consent rules
  // as for a configured receiver, decided before the message is built. A refusal is audited.
  bool mayReceiveAt(const dispatch::SubscriberSpec& subscriber, const dispatch::EventReceiver& receiver,
                    const store::OutboxEvent& event, const std::string* resource) const override {
    if (!inPatientCompartment(event.type)) return true;
    std::optional<Principal> principal = receiverPrincipal(subscriber.name, receiver.organization_number, receiver.her_id);
    const bool allowed = principal && resource != nullptr && entitled(*principal, event, *resource);
    if (!allowed && options_.on_access_decision) {
      Principal unknown;
      if (!principal) {
        unknown.kind = PrincipalKind::kSystem;
        unknown.client_id = subscriber.name;
      }
      AccessDecision d;
      d.outcome = AccessDecision::Outcome::kDeny;
      d.action = "dispatch";
      d.type = event.type;
      d.id = event.id;
      d.purpose_of_use = "TREAT";
      d.principal = principal ? &*principal : &unknown;
      options_.on_access_decision(d);
    }
    return allowed;
  }

 private:
  // The receiving organisation as a system client trusted for it; nullopt when a HER-id names no one organisation.
  std::optional<Principal> receiverPrincipal(const std::string& subscriber, const std::string& organization_number,
                                             const std::string& her_id) const {
    Principal principal;
    principal.kind = PrincipalKind::kSystem;
    principal.client_id = subscriber;
    principal.trusted_client = true;  // configured to deliver for this organisation
    principal.organization_number = organization_number;
    if (principal.organization_number.empty()) {
      auto orgnr = organisationNumberOfHerId(her_id);
      if (!orgnr.isOk() || orgnr->empty()) return std::nullopt;
      principal.organization_number = std::move(orgnr).value();
    }
    return principal;
  }

  // A stored Subscription's creator: the scopes it was granted must still let it read the type, and the consent
  // must let it see the resource now, as a REST read by it would.
  bool mayReceiveAs(const Principal& creator, const store::OutboxEvent& event, const std::string* resource) const {
    if (!creator.scope_set.permits(ScopePermission::kRead, event.type) &&
        !creator.scope_set.permits(ScopePermission::kSearch, event.type)) {
      return false;
    }
    if (!inPatientCompartment(event.type)) return true;
    if (resource == nullptr) return false;
    return entitled(creator, event, *resource);
  }

  bool entitled(const Principal& principal, const store::OutboxEvent& event, const std::string& resource) const {
    auto entitlement = computeEntitlement(store_, principal, options_);
    // A store error fails closed: the event is not sent (it is not known whom it is about).
    if (!entitlement.isOk() || entitlement->role != Entitlement::Role::kCompartments) return false;
    for (const std::string& patient : patientCompartmentsOf(event.type, event.id, resource)) {
      // Visible only through an emergency-access grant: that grant is for the request that claimed it, not a feed.
      if (entitlement->patients.contains(patient) && !entitlement->emergency_patients.contains(patient)) return true;
    }
    return false;
  }

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
