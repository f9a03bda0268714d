#pragma once
// A small writer of JSON text for the FHIR resources the codec builds (the store parses and validates them).

#include <string>
#include <string_view>

namespace planbro::adapters::plo {

/** Appends `text` as a JSON string literal (quotes, escapes; control characters as \u00XX). */
inline void appendJsonString(std::string& out, std::string_view text) {
  static const char* const kHex = "0123456789abcdef";
  out += '"';
  for (unsigned char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 15];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

inline std::string jsonString(std::string_view text) {
  std::string out;
  appendJsonString(out, text);
  return out;
}

}  // namespace planbro::adapters::plo
