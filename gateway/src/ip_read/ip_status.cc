// POST [base]/Patient/$ip-status. The fødselsnummer / D-nummer travels in the body only: a URL ends up in proxy
// logs, browser history and Referer headers, a body does not. The answer for an unknown patient is the answer for a
// patient without a plan (hasPlan = false): a record system asking "does this person have an IP?" must not learn
// from planbro whether a person with this number is registered here at all (no registry oracle), and the plan may
// name the patient by identifier only, so "no Patient resource" does not mean "no plan" anyway.
#include <algorithm>
#include <set>

#include "planbro/fhir-model/norwegian_ids.h"
#include "planbro/gateway/ip/ip_read_operations.h"
#include "plan_reading.h"

namespace planbro::gateway::ip {
namespace {

using detail::textOf;

struct PersonIdentifier {
  std::string system;  // the OID system URI
  std::string value;
};

Status badParameter(fhir::OperationOutcome& outcome, std::string message, std::string expression) {
  outcome.add(fhir::Severity::kError, "invalid", message, expression);
  return invalidArgument(std::move(message));
}

// The patient's identifier from the Parameters body. Messages never repeat the number.
Result<PersonIdentifier> personIdentifier(const rest::OperationCall& call, fhir::OperationOutcome& outcome) {
  if (call.queryParam("identifier") || call.queryParam("patient")) {
    return badParameter(outcome,
                        "the patient's identifier must be sent in the Parameters body, never in the URL",
                        "identifier");
  }
  if (!call.parameters) {
    return badParameter(outcome, "a Parameters body with the patient's identifier is required", "Parameters");
  }
  const fhir::JsonValue* parameters = call.parameters->find("parameter");
  const fhir::JsonValue* found = nullptr;
  std::string location;
  size_t index = 0;
  for (const fhir::JsonValue& p : parameters ? parameters->items() : std::span<const fhir::JsonValue>{}) {
    std::string here = "Parameters.parameter[" + std::to_string(index++) + "]";
    std::string_view name = textOf(&p, "name");
    if (name != "identifier") {
      return badParameter(outcome, "unknown parameter '" + std::string(name) + "' (only 'identifier' is taken)",
                          here + ".name");
    }
    if (found) return badParameter(outcome, "only one 'identifier' may be given", here);
    found = &p;
    location = here;
  }
  if (!found) {
    return badParameter(outcome, "the parameter 'identifier' (the patient's fødselsnummer or D-nummer) is required",
                        "Parameters.parameter");
  }
  const fhir::JsonValue* identifier = found->find("valueIdentifier");
  if (!identifier || !identifier->isObject()) {
    return badParameter(outcome, "'identifier' must be a valueIdentifier", location);
  }
  std::string_view system = textOf(identifier, "system");
  std::string_view value = textOf(identifier, "value");
  auto kind = fhir::no::identifierSystemFor(system);
  if (!kind || (*kind != fhir::no::IdentifierSystem::kFnr && *kind != fhir::no::IdentifierSystem::kDnr)) {
    return badParameter(outcome,
                        "identifier.system must name a fødselsnummer (urn:oid:2.16.578.1.12.4.1.4.1) or D-nummer "
                        "(urn:oid:2.16.578.1.12.4.1.4.2)",
                        location + ".valueIdentifier.system");
  }
  if (value.empty()) return badParameter(outcome, "identifier.value is required", location + ".valueIdentifier.value");
  if (auto problem = fhir::no::checkIdentifierValue(*kind, value)) {
    return badParameter(outcome,
                        "identifier.value is not a valid " + std::string(fhir::no::identifierSystemName(*kind)) +
                            ": " + *problem,
                        location + ".valueIdentifier.value");
  }
  return PersonIdentifier{std::string(fhir::no::preferredSystemUri(*kind)), std::string(value)};
}

struct Writer {
  std::string out = R"({"resourceType":"Parameters","parameter":[)";
  bool first = true;
  void open(std::string_view name) {
    if (!first) out += ',';
    first = false;
    out += "{\"name\":";
    fhir::writeJsonString(name, out);
  }
  void value(std::string_view name, std::string_view value_type, const std::string& json) {
    open(name);
    out += ",\"value";
    out += value_type;
    out += "\":";
    out += json;
    out += '}';
  }
  void string(std::string_view name, std::string_view value_type, std::string_view text) {
    std::string json;
    fhir::writeJsonString(text, json);
    value(name, value_type, json);
  }
  std::string finish() {
    out += "]}";
    return std::move(out);
  }
};

std::string referenceJson(std::string_view reference, std::string_view display) {
  std::string json = "{";
  detail::appendStringMember(json, "reference", reference, false);
  if (!display.empty()) detail::appendStringMember(json, "display", display);
  json += '}';
  return json;
}

// A part list, written as {"name":..,"part":[...]}.
struct Parts {
  std::string json;
  void add(std::string_view name, std::string_view value_type, const std::string& value_json) {
    if (!json.empty()) json += ',';
    json += "{\"name\":";
    fhir::writeJsonString(name, json);
    json += ",\"value";
    json += value_type;
    json += "\":";
    json += value_json;
    json += '}';
  }
  void addString(std::string_view name, std::string_view text) {
    std::string v;
    fhir::writeJsonString(text, v);
    add(name, "String", v);
  }
  void addTelecom(const fhir::JsonValue* telecom, std::string_view name = "telecom") {
    for (const fhir::JsonValue& t : telecom ? telecom->items() : std::span<const fhir::JsonValue>{}) {
      if (t.isObject()) add(name, "ContactPoint", fhir::writeJson(t));
    }
  }
  // The first identifier of `resource` of `kind` (its OID or an HL7 Norway alias system), as part `name` with the
  // OID system: a record system addresses messages by HER-id and looks people up by HPR number, so the answer
  // carries them in the one form the national registers use.
  bool addIdentifier(std::string_view name, fhir::no::IdentifierSystem kind, const fhir::JsonValue* resource) {
    const fhir::JsonValue* identifiers = resource ? resource->find("identifier") : nullptr;
    for (const fhir::JsonValue& id : identifiers ? identifiers->items() : std::span<const fhir::JsonValue>{}) {
      std::string_view value = textOf(&id, "value");
      if (value.empty() || fhir::no::identifierSystemFor(textOf(&id, "system")) != kind) continue;
      std::string json = "{";
      detail::appendStringMember(json, "system", fhir::no::preferredSystemUri(kind), false);
      detail::appendStringMember(json, "value", value);
      add(name, "Identifier", json + '}');
      return true;
    }
    return false;
  }
};

class IpStatus : public rest::Operation {
 public:
  explicit IpStatus(IpReadOptions options) : options_(options) {}
  std::string_view name() const override { return "ip-status"; }
  rest::OperationLevel level() const override { return rest::OperationLevel::kType; }
  std::string_view resourceType() const override { return "Patient"; }
  bool allowsGet() const override { return false; }
  std::string_view definitionUrl() const override { return kIpStatusDefinition; }

  Result<rest::OperationResult> invoke(const rest::OperationCall& call, fhir::OperationOutcome& outcome) const override {
    ASSIGN_OR_RETURN(PersonIdentifier person, personIdentifier(call, outcome));
    const std::string token = person.system + "|" + person.value;
    const std::string today = detail::isoDate(call.clock());

    // The plans naming the patient by identifier (the IP profile requires subject.identifier) or by reference to a
    // Patient with the number.
    const std::string category = std::string(ip::kIpCategorySystem) + "|individuell-plan";
    // Too many matches is the data's cost, not the request's fault: 422 too-costly, as for any bounded operation.
    auto bounded = [&](std::string_view type, search::QueryParams params) -> Result<std::vector<store::ResourceVersion>> {
      auto found = detail::searchVisible(call, type, params, options_.max_plans_per_patient);
      if (!found.isOk() && found.status().code() == StatusCode::kResourceExhausted) {
        outcome.add(fhir::Severity::kError, "too-costly", found.status().message());
        return Status(StatusCode::kUnprocessable, found.status().message());
      }
      return found;
    };
    std::vector<store::ResourceVersion> plans;
    ASSIGN_OR_RETURN(plans, bounded("CarePlan", {{"subject:identifier", token}, {"category", category}}));
    ASSIGN_OR_RETURN(std::vector<store::ResourceVersion> patients, bounded("Patient", {{"identifier", token}}));
    for (const store::ResourceVersion& patient : patients) {
      ASSIGN_OR_RETURN(std::vector<store::ResourceVersion> more,
                       bounded("CarePlan", {{"subject", "Patient/" + patient.id}, {"category", category}}));
      for (store::ResourceVersion& v : more) {
        if (std::none_of(plans.begin(), plans.end(), [&](const auto& p) { return p.id == v.id; })) plans.push_back(std::move(v));
      }
    }

    // The current plan: not ended; of several (the one-plan rule prevents it on write), the latest changed.
    std::optional<fhir::JsonDocument> current;
    std::string current_id;
    store::Timestamp current_updated{};
    for (store::ResourceVersion& v : plans) {
      auto doc = fhir::JsonDocument::parse(v.json);
      if (!doc.isOk() || !detail::isCurrentPlan(doc->root())) continue;
      if (!current || v.last_updated > current_updated) {
        current = std::move(doc).value();
        current_id = v.id;
        current_updated = v.last_updated;
      }
    }

    Writer w;
    if (!current) {
      w.value("hasPlan", "Boolean", "false");
      return rest::OperationResult{200, w.finish()};
    }
    const fhir::JsonValue& plan = current->root();
    w.value("hasPlan", "Boolean", "true");
    w.value("plan", "Reference", referenceJson("CarePlan/" + current_id, textOf(&plan, "title")));
    if (const fhir::JsonValue* e = detail::extensionOf(plan, ip::kLifecycleUrl)) {
      if (const fhir::JsonValue* coding = e->find("valueCoding")) w.value("status", "Coding", fhir::writeJson(*coding));
    }
    if (std::string_view status = textOf(&plan, "status"); !status.empty()) w.string("planStatus", "Code", status);
    if (const fhir::JsonValue* period = plan.find("period"); period && period->isObject()) {
      w.value("period", "Period", fhir::writeJson(*period));
    }
    if (const fhir::JsonValue* e = detail::extensionOf(plan, ip::kNextRevisionUrl)) {
      if (std::string_view d = textOf(e, "valueDate"); !d.empty()) w.string("nextRevision", "Date", d);
    }
    ASSIGN_OR_RETURN(std::string owner, ownerJson(call, plan));
    if (!owner.empty()) {
      w.open("owner");
      w.out += ",\"part\":[" + owner + "]}";
    }
    ASSIGN_OR_RETURN(std::vector<std::string> coordinators, coordinatorsJson(call, plan, today));
    for (const std::string& c : coordinators) {
      w.open("coordinator");
      w.out += ",\"part\":[" + c + "]}";
    }
    return rest::OperationResult{200, w.finish()};
  }

 private:
  // The plan's owner: its first author, with the organisation's name, telecom, organisasjonsnummer and HER-id (an
  // author that is a Practitioner: its HPR number) when it can be read.
  static Result<std::string> ownerJson(const rest::OperationCall& call, const fhir::JsonValue& plan) {
    const fhir::JsonValue* authors = plan.find("author");
    if (!authors) return std::string();
    const fhir::JsonValue& author = authors->isArray() ? (authors->size() ? authors->items()[0] : *authors) : *authors;
    std::string_view reference = textOf(&author, "reference");
    Parts parts;
    auto split = detail::splitReference(reference);
    if (!split) {
      if (std::string_view display = textOf(&author, "display"); !display.empty()) parts.addString("name", display);
      return parts.json;
    }
    ASSIGN_OR_RETURN(auto owner, detail::readVisible(call, split->first, split->second));
    std::string display(textOf(&author, "display"));
    if (owner) {
      auto doc = fhir::JsonDocument::parse(owner->json);
      if (doc.isOk()) {
        if (std::string_view name = textOf(&doc->root(), "name"); !name.empty()) display = name;
        else if (std::string person = detail::humanNameText(doc->root().find("name")); !person.empty()) display = person;
        parts.add("organization", "Reference", referenceJson(reference, display));
        if (!display.empty()) parts.addString("name", display);
        parts.addTelecom(doc->root().find("telecom"));
        parts.addIdentifier("organizationNumber", fhir::no::IdentifierSystem::kOrgnr, &doc->root());
        parts.addIdentifier("herId", fhir::no::IdentifierSystem::kHerId, &doc->root());
        parts.addIdentifier("hprNumber", fhir::no::IdentifierSystem::kHpr, &doc->root());
        return parts.json;
      }
    }
    parts.add("organization", "Reference", referenceJson(reference, display));
    return parts.json;
  }

  // The current coordinators of the plan's care teams (two during a declared handover), each with name, HPR number,
  // HER-id, telecom and organisation (its name, number, HER-id and telecom). Each resource is read on the requester's
  // behalf: what they may not read adds nothing.
  static Result<std::vector<std::string>> coordinatorsJson(const rest::OperationCall& call, const fhir::JsonValue& plan,
                                                           const std::string& today) {
    std::vector<std::string> out;
    const fhir::JsonValue* teams = plan.find("careTeam");
    std::set<std::string> seen;
    for (const fhir::JsonValue& team_ref : teams ? teams->items() : std::span<const fhir::JsonValue>{}) {
      auto split = detail::splitReference(textOf(&team_ref, "reference"));
      if (!split || split->first != "CareTeam") continue;
      ASSIGN_OR_RETURN(auto team, detail::readVisible(call, "CareTeam", split->second));
      if (!team) continue;
      auto doc = fhir::JsonDocument::parse(team->json);
      if (!doc.isOk()) continue;
      const fhir::JsonValue* participants = doc->root().find("participant");
      for (const fhir::JsonValue& p : participants ? participants->items() : std::span<const fhir::JsonValue>{}) {
        if (!detail::isCurrentCoordinator(p, today)) continue;
        std::string_view member = textOf(p.find("member"), "reference");
        if (!seen.insert(std::string(member)).second) continue;
        ASSIGN_OR_RETURN(std::string c, coordinatorJson(call, p));
        out.push_back(std::move(c));
      }
    }
    return out;
  }

  static Result<std::string> coordinatorJson(const rest::OperationCall& call, const fhir::JsonValue& participant) {
    Parts parts;
    const fhir::JsonValue* member = participant.find("member");
    std::string_view reference = textOf(member, "reference");
    std::string name(textOf(member, "display"));
    std::string organization_ref(textOf(participant.find("onBehalfOf"), "reference"));
    const fhir::JsonValue* telecom = nullptr;
    std::optional<fhir::JsonDocument> member_doc, practitioner_doc;
    if (auto split = detail::splitReference(reference)) {
      ASSIGN_OR_RETURN(auto v, detail::readVisible(call, split->first, split->second));
      if (v) {
        auto doc = fhir::JsonDocument::parse(v->json);
        if (doc.isOk()) member_doc = std::move(doc).value();
      }
      if (member_doc && split->first == "Practitioner") {
        if (std::string n = detail::humanNameText(member_doc->root().find("name")); !n.empty()) name = n;
        telecom = member_doc->root().find("telecom");
      } else if (member_doc && split->first == "PractitionerRole") {
        telecom = member_doc->root().find("telecom");
        if (organization_ref.empty()) organization_ref = textOf(member_doc->root().find("organization"), "reference");
        if (auto practitioner = detail::splitReference(textOf(member_doc->root().find("practitioner"), "reference"))) {
          ASSIGN_OR_RETURN(auto pv, detail::readVisible(call, practitioner->first, practitioner->second));
          if (pv) {
            auto doc = fhir::JsonDocument::parse(pv->json);
            if (doc.isOk()) practitioner_doc = std::move(doc).value();
          }
          if (practitioner_doc) {
            if (std::string n = detail::humanNameText(practitioner_doc->root().find("name")); !n.empty()) name = n;
            if (!telecom) telecom = practitioner_doc->root().find("telecom");
          }
        }
      }
    }
    // The person's numbers: HPR from the Practitioner (a PractitionerRole's practitioner), HER-id from the role
    // where it has one (a role is what a message is addressed to), else from the Practitioner.
    const bool member_is_role = member_doc && reference.starts_with("PractitionerRole/");
    const fhir::JsonValue* role = member_is_role ? &member_doc->root() : nullptr;
    const fhir::JsonValue* person = practitioner_doc                                   ? &practitioner_doc->root()
                                    : member_doc && reference.starts_with("Practitioner/") ? &member_doc->root()
                                                                                           : nullptr;
    if (!name.empty()) parts.addString("name", name);
    if (!reference.empty()) parts.add("practitioner", "Reference", referenceJson(reference, name));
    parts.addIdentifier("hprNumber", fhir::no::IdentifierSystem::kHpr, person);
    if (!parts.addIdentifier("herId", fhir::no::IdentifierSystem::kHerId, role)) {
      parts.addIdentifier("herId", fhir::no::IdentifierSystem::kHerId, person);
    }
    parts.addTelecom(telecom);
    if (auto org = detail::splitReference(organization_ref)) {
      ASSIGN_OR_RETURN(auto ov, detail::readVisible(call, org->first, org->second));
      std::optional<fhir::JsonDocument> org_doc;
      if (ov) {
        auto doc = fhir::JsonDocument::parse(ov->json);
        if (doc.isOk()) org_doc = std::move(doc).value();
      }
      const std::string org_name(org_doc ? textOf(&org_doc->root(), "name") : std::string_view());
      parts.add("organization", "Reference", referenceJson(organization_ref, org_name));
      if (org_doc) {
        if (!org_name.empty()) parts.addString("organizationName", org_name);
        parts.addIdentifier("organizationNumber", fhir::no::IdentifierSystem::kOrgnr, &org_doc->root());
        parts.addIdentifier("organizationHerId", fhir::no::IdentifierSystem::kHerId, &org_doc->root());
        parts.addTelecom(org_doc->root().find("telecom"), "organizationTelecom");
      }
    }
    if (const fhir::JsonValue* period = participant.find("period"); period && period->isObject()) {
      parts.add("period", "Period", fhir::writeJson(*period));
    }
    return parts.json;
  }

  IpReadOptions options_;
};

}  // namespace

std::shared_ptr<const rest::Operation> makeIpStatusOperation(IpReadOptions options) {
  return std::make_shared<IpStatus>(options);
}

}  // namespace planbro::gateway::ip
