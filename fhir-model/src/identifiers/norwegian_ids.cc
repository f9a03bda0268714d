#include "planbro/fhir-model/norwegian_ids.h"

#include <array>
#include <cstdint>

namespace planbro::fhir::no {
namespace {

constexpr std::array<int, 9> kWeights1 = {3, 7, 6, 1, 8, 9, 4, 5, 2};
constexpr std::array<int, 10> kWeights2 = {5, 4, 3, 2, 7, 6, 5, 4, 3, 2};
constexpr std::array<int, 8> kOrgWeights = {3, 2, 7, 6, 5, 4, 3, 2};

bool allAsciiDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

int digitAt(std::string_view s, size_t i) { return s[i] - '0'; }

bool isLeapYear(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int daysInMonth(int year, int month) {
  static constexpr std::array<int, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month == 2 && isLeapYear(year)) return 29;
  return kDays[static_cast<size_t>(month - 1)];
}

// The century table of ehelse.no "Identifikatorer for personer"; 0 when the individnummer and the two-digit year
// cannot occur together (e.g. individnummer 750-899 with a year 40-99).
int yearFromIndividnummer(int yy, int individ) {
  if (individ <= 499) return 1900 + yy;
  if (individ <= 749 && yy >= 54) return 1800 + yy;
  if (individ >= 900 && yy >= 40) return 1900 + yy;
  if (yy <= 39) return 2000 + yy;
  return 0;
}

}  // namespace

Result<PersonNumberInfo> analysePersonNumber(std::string_view digits, bool allow_2032_k1) {
  if (digits.size() != 11) return invalidArgument("a person number must have exactly 11 digits");
  if (!allAsciiDigits(digits)) return invalidArgument("a person number must contain digits only");

  int sum1 = 0;
  for (size_t i = 0; i < kWeights1.size(); ++i) sum1 += kWeights1[i] * digitAt(digits, i);
  // Pre-2032 rule: K1 = 11 - sum mod 11, i.e. (sum + K1) mod 11 == 0. The 2032 rule also accepts remainders 1-3.
  const int rest1 = (sum1 + digitAt(digits, 9)) % 11;
  PersonNumberInfo info;
  if (rest1 != 0) {
    if (!allow_2032_k1 || rest1 > 3) return invalidArgument("the first check digit (K1) is wrong");
    info.k1_by_2032_rule = true;
  }
  int sum2 = 0;
  for (size_t i = 0; i < kWeights2.size(); ++i) sum2 += kWeights2[i] * digitAt(digits, i);
  if ((sum2 + digitAt(digits, 10)) % 11 != 0) return invalidArgument("the second check digit (K2) is wrong");

  const int first = digitAt(digits, 0);
  if (first == 8 || first == 9) {
    info.kind = PersonNumberKind::kFellesHjelpenummer;
    return info;
  }

  int day = first * 10 + digitAt(digits, 1);
  int month = digitAt(digits, 2) * 10 + digitAt(digits, 3);
  const int yy = digitAt(digits, 4) * 10 + digitAt(digits, 5);
  const int individ = digitAt(digits, 6) * 100 + digitAt(digits, 7) * 10 + digitAt(digits, 8);
  if (day > 40) {
    info.day_plus_40 = true;
    day -= 40;
  }
  if (month > 80) {
    info.month_plus_80 = true;
    month -= 80;
  } else if (month > 40) {
    info.month_plus_40 = true;
    month -= 40;
  }
  const int year = yearFromIndividnummer(yy, individ);
  if (year == 0) return invalidArgument("the individnummer does not fit the year of birth");
  if (month < 1 || month > 12) return invalidArgument("the month of birth is not valid");
  if (day < 1 || day > daysInMonth(year, month)) return invalidArgument("the day of birth is not valid");
  info.birth_year = year;
  info.birth_month = month;
  info.birth_day = day;

  if (info.month_plus_80) {
    info.kind = PersonNumberKind::kSynthetic;
  } else if (info.month_plus_40) {
    info.kind = PersonNumberKind::kHNummer;
  } else if (info.day_plus_40) {
    info.kind = PersonNumberKind::kDNummer;
  } else {
    info.kind = PersonNumberKind::kFodselsnummer;
  }
  return info;
}

Result<PersonNumberKind> classifyPersonNumber(std::string_view digits, bool allow_2032_k1) {
  auto info = analysePersonNumber(digits, allow_2032_k1);
  if (!info.isOk()) return info.status();
  return info->kind;
}

std::optional<std::string> withCheckDigits(std::string_view nine_digits) {
  if (nine_digits.size() != 9 || !allAsciiDigits(nine_digits)) return std::nullopt;
  std::string out(nine_digits);
  int sum1 = 0;
  for (size_t i = 0; i < kWeights1.size(); ++i) sum1 += kWeights1[i] * digitAt(out, i);
  const int k1 = (11 - sum1 % 11) % 11;
  if (k1 == 10) return std::nullopt;
  out.push_back(static_cast<char>('0' + k1));
  int sum2 = 0;
  for (size_t i = 0; i < kWeights2.size(); ++i) sum2 += kWeights2[i] * digitAt(out, i);
  const int k2 = (11 - sum2 % 11) % 11;
  if (k2 == 10) return std::nullopt;
  out.push_back(static_cast<char>('0' + k2));
  return out;
}

std::string stripSeparators(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c != ' ' && c != '-') out.push_back(c);
  }
  return out;
}

bool isValidOrganisationNumber(std::string_view nine_digits) {
  if (nine_digits.size() != 9 || !allAsciiDigits(nine_digits)) return false;
  int sum = 0;
  for (size_t i = 0; i < kOrgWeights.size(); ++i) sum += kOrgWeights[i] * digitAt(nine_digits, i);
  const int k = (11 - sum % 11) % 11;
  return k != 10 && k == digitAt(nine_digits, 8);
}

namespace {

struct SystemEntry {
  IdentifierSystem kind;
  std::string_view preferred;
  std::string_view alias;
  std::string_view name;
};

constexpr std::array<SystemEntry, 9> kSystems = {{
    {IdentifierSystem::kFnr, "urn:oid:2.16.578.1.12.4.1.4.1", "http://hl7.no/fhir/NamingSystem/FNR", "fødselsnummer"},
    {IdentifierSystem::kDnr, "urn:oid:2.16.578.1.12.4.1.4.2", "http://hl7.no/fhir/NamingSystem/DNR", "D-nummer"},
    {IdentifierSystem::kFhn, "urn:oid:2.16.578.1.12.4.1.4.3", "http://hl7.no/fhir/NamingSystem/FHNR",
     "felles hjelpenummer"},
    {IdentifierSystem::kHpr, "urn:oid:2.16.578.1.12.4.1.4.4", "http://hl7.no/fhir/NamingSystem/HPR", "HPR-nummer"},
    {IdentifierSystem::kDuf, "urn:oid:2.16.578.1.12.4.1.4.5", "http://hl7.no/fhir/NamingSystem/DUFN", "DUF-nummer"},
    {IdentifierSystem::kHerId, "urn:oid:2.16.578.1.12.4.1.2", "http://hl7.no/fhir/NamingSystem/HERid", "HER-id"},
    {IdentifierSystem::kOrgnr, "urn:oid:2.16.578.1.12.4.1.4.101", "http://data.brreg.no/begrep/28155",
     "organisasjonsnummer"},
    {IdentifierSystem::kResh, "urn:oid:2.16.578.1.12.4.1.4.102", "http://hl7.no/fhir/NamingSystem/RESHid", "RESH-id"},
    // No national system: no-basis fixes the literal "HNR", which we recognise on input but never emit.
    {IdentifierSystem::kHnr, "", "HNR", "H-nummer"},
}};

const SystemEntry& entryFor(IdentifierSystem kind) {
  for (const auto& e : kSystems) {
    if (e.kind == kind) return e;
  }
  return kSystems.back();
}

std::optional<std::string> checkPositiveInteger(std::string_view value, std::string_view name) {
  if (!allAsciiDigits(value)) return std::string(name) + " must be a positive integer (digits only)";
  if (value[0] == '0') return std::string(name) + " must be a positive integer without leading zeros";
  if (value.size() > 10) return std::string(name) + " is too large";
  uint64_t n = 0;
  for (char c : value) n = n * 10 + static_cast<uint64_t>(c - '0');
  if (n > 2147483647u) return std::string(name) + " is too large";
  return std::nullopt;
}

std::optional<std::string> checkPerson(IdentifierSystem kind, std::string_view value) {
  auto info = analysePersonNumber(value);
  std::string_view name = identifierSystemName(kind);
  if (!info.isOk()) return "not a valid " + std::string(name) + ": " + info.status().message();
  switch (kind) {
    case IdentifierSystem::kFnr:
      if (info->kind == PersonNumberKind::kFellesHjelpenummer) return "a felles hjelpenummer is not a fødselsnummer";
      if (info->day_plus_40) return "a D-nummer (day + 40) is not a fødselsnummer";
      if (info->month_plus_40) return "an H-nummer (month + 40) is not a fødselsnummer";
      return std::nullopt;
    case IdentifierSystem::kDnr:
      if (info->kind == PersonNumberKind::kFellesHjelpenummer) return "a felles hjelpenummer is not a D-nummer";
      if (!info->day_plus_40) return "not a D-nummer: the day of birth has no + 40";
      if (info->month_plus_40) return "an H-nummer (month + 40) is not a D-nummer";
      return std::nullopt;
    case IdentifierSystem::kFhn:
      if (info->kind != PersonNumberKind::kFellesHjelpenummer) {
        return "not a felles hjelpenummer: the first digit must be 8 or 9";
      }
      return std::nullopt;
    case IdentifierSystem::kHnr:
      if (!info->month_plus_40) return "not an H-nummer: the month of birth has no + 40";
      return std::nullopt;
    default:
      return std::nullopt;
  }
}

}  // namespace

std::optional<IdentifierSystem> identifierSystemFor(std::string_view system_uri) {
  if (system_uri.empty()) return std::nullopt;
  for (const auto& e : kSystems) {
    if (e.preferred == system_uri || e.alias == system_uri) return e.kind;
  }
  return std::nullopt;
}

std::string_view preferredSystemUri(IdentifierSystem kind) { return entryFor(kind).preferred; }

bool isAliasSystemUri(std::string_view system_uri) {
  if (system_uri.empty()) return false;
  for (const auto& e : kSystems) {
    if (e.alias == system_uri) return true;
  }
  return false;
}

std::string_view identifierSystemName(IdentifierSystem kind) { return entryFor(kind).name; }

std::optional<std::string> checkIdentifierValue(IdentifierSystem kind, std::string_view value) {
  switch (kind) {
    case IdentifierSystem::kFnr:
    case IdentifierSystem::kDnr:
    case IdentifierSystem::kFhn:
    case IdentifierSystem::kHnr:
      return checkPerson(kind, value);
    case IdentifierSystem::kHpr:
      if (value.empty() || value.size() > 9 || !allAsciiDigits(value)) return "an HPR-nummer must be 1 to 9 digits";
      if (value.find_first_not_of('0') == std::string_view::npos) return "an HPR-nummer cannot be 0";
      return std::nullopt;
    case IdentifierSystem::kHerId:
      return checkPositiveInteger(value, "a HER-id");
    case IdentifierSystem::kResh:
      return checkPositiveInteger(value, "a RESH-id");
    case IdentifierSystem::kDuf:
      if (value.size() != 12 || !allAsciiDigits(value)) return "a DUF-nummer must be exactly 12 digits";
      return std::nullopt;
    case IdentifierSystem::kOrgnr:
      if (value.size() != 9 || !allAsciiDigits(value)) return "an organisasjonsnummer must be exactly 9 digits";
      if (!isValidOrganisationNumber(value)) return "the organisasjonsnummer check digit (mod 11) is wrong";
      return std::nullopt;
  }
  return "unknown identifier system";
}

std::string maskPersonNumber(std::string_view digits) {
  if (digits.size() == 11) return std::string(digits.substr(0, 6)) + "*****";
  return std::string(digits.size() < 32 ? digits.size() : 32, '*');
}

}  // namespace planbro::fhir::no
