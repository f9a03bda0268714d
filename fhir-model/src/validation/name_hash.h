#pragma once
// The hash of the validator's small open-addressing name tables (element names, narrative tags and attributes).

#include <cstdint>
#include <string_view>

namespace planbro::fhir::validation {

/** FNV-1a: short names, few collisions, no set-up. */
inline uint32_t nameHash(std::string_view name) {
  uint32_t h = 2166136261u;
  for (char c : name) {
    h ^= static_cast<unsigned char>(c);
    h *= 16777619u;
  }
  return h;
}

}  // namespace planbro::fhir::validation
