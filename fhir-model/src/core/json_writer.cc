// JSON text output for the lossless tree. Hand-written rather than rapidjson::Writer because numbers must be written
// as their exact source text and the output goes straight into a std::string without a second buffer.

#include <array>

#include "planbro/fhir-model/json.h"

namespace planbro::fhir {
namespace {

constexpr std::array<char, 16> kHex = {'0', '1', '2', '3', '4', '5', '6', '7',
                                       '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'};

void writeString(std::string_view s, std::string& out) {
  out.push_back('"');
  size_t run_start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + run_start, i - run_start);
    run_start = i + 1;
    switch (c) {
      case '"': out.append("\\\""); break;
      case '\\': out.append("\\\\"); break;
      case '\n': out.append("\\n"); break;
      case '\r': out.append("\\r"); break;
      case '\t': out.append("\\t"); break;
      case '\b': out.append("\\b"); break;
      case '\f': out.append("\\f"); break;
      default:
        out.append("\\u00");
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 0xF]);
    }
  }
  out.append(s.data() + run_start, s.size() - run_start);
  out.push_back('"');
}

void newline(std::string& out, int depth) {
  out.push_back('\n');
  out.append(static_cast<size_t>(depth) * 2, ' ');
}

void writeValue(const JsonValue& value, std::string& out, bool pretty, int depth) {
  switch (value.kind()) {
    case JsonKind::kNull: out.append("null"); return;
    case JsonKind::kTrue: out.append("true"); return;
    case JsonKind::kFalse: out.append("false"); return;
    case JsonKind::kNumber: out.append(value.text()); return;
    case JsonKind::kString: writeString(value.text(), out); return;
    case JsonKind::kArray: {
      out.push_back('[');
      bool first = true;
      for (const JsonValue& item : value.items()) {
        if (!first) out.push_back(',');
        first = false;
        if (pretty) newline(out, depth + 1);
        writeValue(item, out, pretty, depth + 1);
      }
      if (pretty && value.size() > 0) newline(out, depth);
      out.push_back(']');
      return;
    }
    case JsonKind::kObject: {
      out.push_back('{');
      bool first = true;
      for (const JsonMember& member : value.members()) {
        if (!first) out.push_back(',');
        first = false;
        if (pretty) newline(out, depth + 1);
        writeString(member.key, out);
        out.append(pretty ? ": " : ":");
        writeValue(member.value, out, pretty, depth + 1);
      }
      if (pretty && value.size() > 0) newline(out, depth);
      out.push_back('}');
      return;
    }
  }
}

}  // namespace

void writeJson(const JsonValue& value, std::string& out, const JsonWriteOptions& options) {
  writeValue(value, out, options.pretty, 0);
}

std::string writeJson(const JsonValue& value, const JsonWriteOptions& options) {
  std::string out;
  writeJson(value, out, options);
  return out;
}

// Exposed for writers that order members themselves (resource_json.cc).
void writeJsonString(std::string_view s, std::string& out) { writeString(s, out); }

}  // namespace planbro::fhir
