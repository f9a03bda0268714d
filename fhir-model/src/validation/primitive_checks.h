#pragma once
// Exact hand-written checks of FHIR R4 primitive value formats (the lexical spaces of the R4 definitions' regexes,
// plus what a regex cannot say: real calendar dates, 32-bit ranges). No allocation, no std::regex.

#include <cstdint>
#include <optional>
#include <string_view>

namespace planbro::fhir::validation {

/** The R4 primitive types, plus kUnknown for a type with no hand check (its definition regex is used instead). */
enum class PrimitiveKind : uint8_t {
  kBase64Binary,
  kBoolean,
  kCanonical,
  kCode,
  kDate,
  kDateTime,
  kDecimal,
  kId,
  kInstant,
  kInteger,
  kMarkdown,
  kOid,
  kPositiveInt,
  kString,
  kTime,
  kUnsignedInt,
  kUri,
  kUrl,
  kUuid,
  kXhtml,
  kUnknown,
};

/** Maps a type code ("dateTime", or a FHIRPath system type "http://hl7.org/fhirpath/System.String") to its kind;
 * nullopt when the code is not a primitive this file knows. */
std::optional<PrimitiveKind> primitiveKindFor(std::string_view type_code);

/** True when the JSON representation of the kind is a number (integer, decimal, unsignedInt, positiveInt). */
inline bool isNumericKind(PrimitiveKind k) {
  return k == PrimitiveKind::kInteger || k == PrimitiveKind::kDecimal || k == PrimitiveKind::kUnsignedInt ||
         k == PrimitiveKind::kPositiveInt;
}

/** Checks `text` (a JSON string's value, or a JSON number's exact source text for numeric kinds) against the
 * lexical rules of `kind`. Returns nullptr when valid, else a static plain-words reason. */
const char* checkPrimitive(PrimitiveKind kind, std::string_view text);

// Building blocks, exposed for tests and for other checks (references, Bundle.fullUrl).
bool isValidId(std::string_view s);
bool isValidDate(std::string_view s);
/** A dateTime with a time must carry seconds and a zone (R4 rule). */
bool isValidDateTime(std::string_view s);
bool isValidInstant(std::string_view s);
bool isValidTime(std::string_view s);
bool isValidDecimal(std::string_view s);
bool isValidInteger32(std::string_view s);
bool isValidOid(std::string_view s);   // "urn:oid:1.2.3"
bool isValidUuid(std::string_view s);  // "urn:uuid:..." lower-case hex
bool isValidBase64(std::string_view s);
bool isValidCode(std::string_view s);
/** Any character allowed in a FHIR string: no control characters other than tab, CR and LF. */
bool isValidStringChars(std::string_view s);
/** An absolute URI: a scheme ("http:", "urn:") followed by something, and no whitespace. */
bool isAbsoluteUri(std::string_view s);

/** FHIR's limit on a string's size (1 MiB), in bytes. */
constexpr size_t kMaxStringBytes = 1024 * 1024;

}  // namespace planbro::fhir::validation
