#pragma once
// One JSON string literal as a value, for the writers that assemble JSON text by hand (notifications, the admin API,
// AuditEvents): the same escaping as writeJson, through writeJsonString.

#include <string>
#include <string_view>

#include "planbro/fhir-model/json.h"

namespace planbro::fhir {

/** `s` quoted and escaped as a JSON string ("a\"b" for a"b); what writeJsonString appends, as a new string. */
inline std::string jsonQuoted(std::string_view s) {
  std::string out;
  writeJsonString(s, out);
  return out;
}

}  // namespace planbro::fhir
