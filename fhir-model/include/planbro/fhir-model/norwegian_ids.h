#pragma once
// Norwegian identifiers (see ../shared/domain/norwegian-standards.md §1 and §4): person numbers with both mod-11
// check digits and the 2032 K1 rule, organisasjonsnummer, HPR, HER-id, RESH and DUF format checks, and the
// Identifier.system URIs (with their aliases) that name them. Owner: fhir-model/src/identifiers/.
// Every function here is pure, thread-safe and never logs; error texts never echo the number checked.

#include <optional>
#include <string>
#include <string_view>

#include "planbro/fhir-model/status.h"

namespace planbro::fhir::no {

enum class PersonNumberKind { kFodselsnummer, kDNummer, kHNummer, kSynthetic, kFellesHjelpenummer };

/** Classifies an 11-digit person number and checks its check digits and its date. `allow_2032_k1` accepts the
 * K1 values of the rule in force from 2032 (systems must accept both now). Errors: kInvalidArgument, saying which
 * check failed (never echoing the number).
 * Precedence for combinations: felles hjelpenummer (first digit 8 or 9, no date) > synthetic (month + 80) >
 * H-nummer (month + 40) > D-nummer (day + 40) > fødselsnummer; use analysePersonNumber() for every offset. */
Result<PersonNumberKind> classifyPersonNumber(std::string_view digits, bool allow_2032_k1 = true);

/** Everything read from a valid person number. Birth date fields are 0 for a felles hjelpenummer. */
struct PersonNumberInfo {
  PersonNumberKind kind = PersonNumberKind::kFodselsnummer;
  bool day_plus_40 = false;    // D-nummer
  bool month_plus_40 = false;  // H-nummer (also NAV's synthetic numbers)
  bool month_plus_80 = false;  // Skatteetaten Tenor synthetic
  bool k1_by_2032_rule = false;  // K1 is valid only under the 2032 rule
  int birth_year = 0;          // from yy and the individnummer's century
  int birth_month = 0;
  int birth_day = 0;
};

/** The same checks as classifyPersonNumber(), returning every offset found and the birth date. */
Result<PersonNumberInfo> analysePersonNumber(std::string_view digits, bool allow_2032_k1 = true);

/** Completes nine digits (d1..i3) with K1 and K2 under the pre-2032 rule; empty when a check digit would be 10 or
 * the input is not nine ASCII digits. For generating test data; does not check the date. */
std::optional<std::string> withCheckDigits(std::string_view nine_digits);

/** Removes spaces and dashes ("131169 00216", "131169-00216") before checking; other characters are kept. */
std::string stripSeparators(std::string_view text);

bool isValidOrganisationNumber(std::string_view nine_digits);

/** Which Norwegian identifier an Identifier.system names, including the non-preferred alias URIs. */
enum class IdentifierSystem { kFnr, kDnr, kFhn, kHpr, kDuf, kHerId, kOrgnr, kResh, kHnr };
/** Exact (case-sensitive) match against the OID URIs, the alias URIs of §0.1 and the no-basis literal "HNR". */
std::optional<IdentifierSystem> identifierSystemFor(std::string_view system_uri);
/** The preferred (OID) system URI for an identifier kind. Empty for kHnr: an H-nummer has no national system
 * (use an organisation-controlled URI, type.coding kHnrTypeCodingSystem#HNR and an assigner). */
std::string_view preferredSystemUri(IdentifierSystem kind);
/** True when `system_uri` names a Norwegian identifier by a non-preferred alias (normalise it to the OID). */
bool isAliasSystemUri(std::string_view system_uri);
/** Short human name: "fødselsnummer", "D-nummer", "HPR-nummer", ... */
std::string_view identifierSystemName(IdentifierSystem kind);

/** Identifier.type.coding.system of the no-basis HNR slice (kodeverk 8116 "Identifikatortype for person"). */
inline constexpr std::string_view kHnrTypeCodingSystem = "urn:oid:2.16.578.1.12.4.1.1.8327";

/** Checks an Identifier.value for the given system: empty optional when valid, else a plain-words reason.
 * FNR accepts fødselsnummer and Tenor synthetic numbers; DNR accepts D-nummer (also synthetic); FHN accepts only a
 * felles hjelpenummer; HNR accepts a number with month + 40; HPR is 1-9 digits, not 0; HER-id and RESH are
 * positive integers (no leading zero, at most 2147483647); DUF is 12 digits; ENH is an organisasjonsnummer. */
std::optional<std::string> checkIdentifierValue(IdentifierSystem kind, std::string_view value);

/** A person number masked for logs: "131169*****". Never log the raw number. Input that is not 11 characters is
 * masked whole ("*" per character, at most 32). */
std::string maskPersonNumber(std::string_view digits);

}  // namespace planbro::fhir::no
