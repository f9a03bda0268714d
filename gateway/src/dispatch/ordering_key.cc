// The ordering key: a change's patient compartment. Read from the reference element the R4 Patient
// CompartmentDefinition names for the type (the single-valued ones; a resource linked to a patient only through a
// list, such as an Appointment's participants, is its own key).
#include "planbro/gateway/dispatch/ordering_key.h"

#include <array>
#include <utility>

#include "planbro/fhir-model/json.h"

namespace planbro::gateway::dispatch {
namespace {

using fhir::JsonDocument;
using fhir::JsonValue;

// The element holding the patient, per type; types not listed try kDefaultElements in order.
constexpr std::array<std::pair<std::string_view, std::string_view>, 9> kPatientElement{{
    {"Consent", "patient"},
    {"AllergyIntolerance", "patient"},
    {"Coverage", "beneficiary"},
    {"Task", "for"},
    {"EpisodeOfCare", "patient"},
    {"Flag", "subject"},
    {"Immunization", "patient"},
    {"Account", "subject"},
    {"Claim", "patient"},
}};
constexpr std::array<std::string_view, 4> kDefaultElements{"subject", "patient", "for", "beneficiary"};

bool validId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.')) {
      return false;
    }
  }
  return true;
}

// "Patient/<id>" from a relative or absolute reference to a Patient ("[base/]Patient/<id>[/_history/<v>]").
std::string patientOf(const JsonValue& element) {
  const JsonValue* ref = element.find("reference");
  if (ref == nullptr || !ref->isString()) return {};
  std::string_view text = ref->text();
  if (const size_t history = text.find("/_history/"); history != std::string_view::npos) text = text.substr(0, history);
  const size_t slash = text.rfind('/');
  if (slash == std::string_view::npos) return {};
  const std::string_view id = text.substr(slash + 1);
  std::string_view type = text.substr(0, slash);
  if (const size_t before = type.rfind('/'); before != std::string_view::npos) type = type.substr(before + 1);
  if (type != "Patient" || !validId(id)) return {};
  return "Patient/" + std::string(id);
}

}  // namespace

std::string orderingKey(std::string_view type, std::string_view id, std::string_view json) {
  std::string own = std::string(type) + "/" + std::string(id);
  if (type == "Patient" || json.empty()) return own;
  auto doc = JsonDocument::parse(std::string(json));
  if (!doc.isOk() || !doc->root().isObject()) return own;
  auto tryElement = [&](std::string_view name) -> std::string {
    const JsonValue* element = doc->root().find(name);
    return element != nullptr && element->isObject() ? patientOf(*element) : std::string();
  };
  for (const auto& [t, element] : kPatientElement) {
    if (t == type) {
      std::string key = tryElement(element);
      return key.empty() ? own : key;
    }
  }
  for (std::string_view element : kDefaultElements) {
    if (std::string key = tryElement(element); !key.empty()) return key;
  }
  return own;
}

int partitionOf(std::string_view key, int partitions) {
  uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : key) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return partitions <= 1 ? 0 : static_cast<int>(hash % static_cast<uint64_t>(partitions));
}

}  // namespace planbro::gateway::dispatch
