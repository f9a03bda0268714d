#include "planbro/fhir-model/model_info.h"

namespace planbro::fhir {

std::string_view searchParamTypeName(SearchParamType type) {
  switch (type) {
    case SearchParamType::kNumber: return "number";
    case SearchParamType::kDate: return "date";
    case SearchParamType::kString: return "string";
    case SearchParamType::kToken: return "token";
    case SearchParamType::kReference: return "reference";
    case SearchParamType::kComposite: return "composite";
    case SearchParamType::kQuantity: return "quantity";
    case SearchParamType::kUri: return "uri";
    case SearchParamType::kSpecial: return "special";
  }
  return "special";
}

}  // namespace planbro::fhir
