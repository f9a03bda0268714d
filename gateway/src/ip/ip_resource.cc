#include "ip_resource.h"

#include <charconv>

#include "planbro/fhir-model/norwegian_ids.h"

namespace planbro::gateway::ip::internal {

using fhir::JsonValue;
namespace no = fhir::no;

std::string_view textOf(const JsonValue* v) { return v && v->isString() ? v->text() : std::string_view(); }

const JsonValue* extensionValue(const JsonValue& element, std::string_view url, std::string_view value_key) {
  const JsonValue* extensions = element.isObject() ? element.find("extension") : nullptr;
  if (!extensions || !extensions->isArray()) return nullptr;
  for (const JsonValue& e : extensions->items()) {
    if (e.isObject() && textOf(e.find("url")) == url) return e.find(value_key);
  }
  return nullptr;
}

std::string_view extensionCode(const JsonValue& element, std::string_view url) {
  const JsonValue* coding = extensionValue(element, url, "valueCoding");
  return coding && coding->isObject() ? textOf(coding->find("code")) : std::string_view();
}

bool hasCategory(const JsonValue& resource, std::string_view system, std::string_view code) {
  const JsonValue* categories = resource.find("category");
  if (!categories) return false;
  auto matches = [&](const JsonValue& codeable) {
    const JsonValue* codings = codeable.isObject() ? codeable.find("coding") : nullptr;
    if (!codings || !codings->isArray()) return false;
    for (const JsonValue& c : codings->items()) {
      if (c.isObject() && textOf(c.find("system")) == system && (code.empty() || textOf(c.find("code")) == code)) {
        return true;
      }
    }
    return false;
  };
  if (categories->isArray()) {
    for (const JsonValue& codeable : categories->items()) {
      if (matches(codeable)) return true;
    }
    return false;
  }
  return matches(*categories);  // Goal.category is an array too, but be lenient with a single CodeableConcept
}

bool isIpCarePlan(const JsonValue& resource) { return hasCategory(resource, kIpCategorySystem, "individuell-plan"); }

bool isIpCareTeam(const JsonValue& resource) { return hasCategory(resource, kIpCategorySystem); }

bool isIpResource(std::string_view type, const JsonValue& resource) {
  if (const JsonValue* meta = resource.find("meta"); meta && meta->isObject()) {
    if (const JsonValue* profiles = meta->find("profile"); profiles && profiles->isArray()) {
      for (const JsonValue& p : profiles->items()) {
        if (textOf(&p).starts_with("http://planbro.no/fhir/StructureDefinition/ip-")) return true;
      }
    }
  }
  if (type == "CarePlan") return isIpCarePlan(resource);
  if (type == "CareTeam") return isIpCareTeam(resource);
  if (type == "Goal") return hasCategory(resource, "http://planbro.no/fhir/CodeSystem/ip-goal-level");
  if (type == "Consent") return hasCategory(resource, kConsentKindSystem);
  return false;
}

std::string_view lifecycleOf(const JsonValue& plan) { return extensionCode(plan, kLifecycleUrl); }

bool isActivePlan(const JsonValue& plan) {
  if (lifecycleOf(plan) == "ended") return false;
  std::string_view status = textOf(plan.find("status"));
  return status != "completed" && status != "revoked" && status != "entered-in-error";
}

bool isStartedOrBeyond(std::string_view lifecycle) {
  return lifecycle == "started" || lifecycle == "finished" || lifecycle == "under-revision";
}

std::string personNumberOf(const JsonValue& identifier) {
  if (!identifier.isObject()) return {};
  std::optional<no::IdentifierSystem> kind = no::identifierSystemFor(textOf(identifier.find("system")));
  if (!kind || (*kind != no::IdentifierSystem::kFnr && *kind != no::IdentifierSystem::kDnr &&
                *kind != no::IdentifierSystem::kFhn)) {
    return {};
  }
  return no::stripSeparators(textOf(identifier.find("value")));
}

std::string personNumberOfPatient(const JsonValue& patient) {
  const JsonValue* identifiers = patient.find("identifier");
  if (!identifiers || !identifiers->isArray()) return {};
  for (const JsonValue& identifier : identifiers->items()) {
    std::string digits = personNumberOf(identifier);
    if (!digits.empty()) return digits;
  }
  return {};
}

namespace {

bool number(std::string_view text, int& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

std::optional<Day> dayBound(std::string_view date, bool upper) {
  using namespace std::chrono;
  int y = 0, m = upper ? 12 : 1, d = 1;
  if (date.size() < 4 || !number(date.substr(0, 4), y)) return std::nullopt;
  if (date.size() >= 7) {
    if (date[4] != '-' || !number(date.substr(5, 2), m)) return std::nullopt;
  }
  bool has_day = date.size() >= 10;
  if (has_day && (date[7] != '-' || !number(date.substr(8, 2), d))) return std::nullopt;
  year_month_day ymd{year{y}, month{static_cast<unsigned>(m)}, day{static_cast<unsigned>(d)}};
  if (!has_day && upper) ymd = year_month_day{year_month_day_last{year{y}, month_day_last{month{static_cast<unsigned>(m)}}}};
  if (!ymd.ok()) return std::nullopt;
  return sys_days{ymd};
}

Day dayOf(store::Timestamp t) { return std::chrono::floor<std::chrono::days>(t); }

bool periodCovers(const JsonValue* period, Day today) {
  if (!period || !period->isObject()) return true;
  if (const JsonValue* start = period->find("start")) {
    auto from = dayBound(textOf(start), false);
    if (!from || *from > today) return false;
  }
  if (const JsonValue* end = period->find("end")) {
    auto to = dayBound(textOf(end), true);
    if (!to || *to < today) return false;
  }
  return true;
}

Status violation(fhir::OperationOutcome* outcome, StatusCode code, std::string_view issue_type, std::string_view rule,
                 std::string expression, const std::string& english, const std::string& bokmal) {
  std::string en = std::string(rule) + ": " + english;
  if (outcome) {
    fhir::Issue issue{fhir::Severity::kError, std::string(issue_type), en, expression};
    issue.details = std::string(rule) + ": " + bokmal;
    outcome->add(std::move(issue));
  }
  return Status(code, expression.empty() ? en : expression + ": " + en);
}

}  // namespace planbro::gateway::ip::internal
