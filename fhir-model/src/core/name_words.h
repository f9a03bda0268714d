#pragma once
// Names (JSON member names, element and type names) as two machine words, for comparisons without a byte loop.

#include <cstdint>
#include <cstring>
#include <string_view>

namespace planbro::fhir {

/** A name's first and last bytes as two words: for a name of at most 16 bytes, its length and these words together
 *  are the whole name, so comparing them compares the names without a byte loop (and without the mispredicted
 *  branch at its end). Loads stay inside the name (names are views into any buffer). */
struct NameWords {
  uint64_t first = 0;
  uint64_t last = 0;
};

inline NameWords nameWords(std::string_view name) {
  const char* p = name.data();
  const size_t n = name.size();
  NameWords w;
  if (n >= 8) {
    std::memcpy(&w.first, p, 8);
    std::memcpy(&w.last, p + n - 8, 8);
  } else if (n >= 4) {
    uint32_t x = 0;
    uint32_t y = 0;
    std::memcpy(&x, p, 4);
    std::memcpy(&y, p + n - 4, 4);
    w.first = x;
    w.last = y;
  } else if (n > 0) {
    w.first = static_cast<uint64_t>(static_cast<unsigned char>(p[0])) |
              static_cast<uint64_t>(static_cast<unsigned char>(p[n / 2])) << 8 |
              static_cast<uint64_t>(static_cast<unsigned char>(p[n - 1])) << 16;
  }
  return w;
}

}  // namespace planbro::fhir
