#pragma once
// The hash of the validator's small open-addressing name tables (element names, narrative tags and attributes).

#include <cstdint>
#include <string_view>

#include "../core/name_words.h"

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

/** The hash of a name from its words: one multiply instead of one per byte (FNV). The first and last eight bytes tell
 *  almost every FHIR name apart; names with equal ends only cost one more comparison on the probe. */
inline uint32_t wordNameHash(const NameWords& w, size_t size) {
  const uint64_t h = (w.first ^ (w.last * 0x9E3779B97F4A7C15ull) ^ size) * 0xFF51AFD7ED558CCDull;
  return static_cast<uint32_t>(h >> 32);
}

/** For tables probed once per JSON member or type name on the validating walk (ChildPlan, ModelInfo::type). */
inline uint32_t wordNameHash(std::string_view name) { return wordNameHash(nameWords(name), name.size()); }

}  // namespace planbro::fhir::validation
