#pragma once
// Norwegian identifiers (see ../shared/domain/norwegian-standards.md §1 and §4): person numbers with both mod-11
// check digits and the 2032 K1 rule, organisasjonsnummer, HPR, HER-id, RESH and DUF format checks, and the
// Identifier.system URIs (with their aliases) that name them. Owner: fhir-model/src/identifiers/.

#include <optional>
#include <string>
#include <string_view>

#include "planbro/fhir-model/status.h"

namespace planbro::fhir::no {

enum class PersonNumberKind { kFodselsnummer, kDNummer, kHNummer, kSynthetic, kFellesHjelpenummer };

/** Classifies an 11-digit person number and checks its check digits and its date. `allow_2032_k1` accepts the
 * K1 values of the rule in force from 2032 (systems must accept both now). Errors: kInvalidArgument, saying which
 * check failed (never echoing the number). */
Result<PersonNumberKind> classifyPersonNumber(std::string_view digits, bool allow_2032_k1 = true);

bool isValidOrganisationNumber(std::string_view nine_digits);

/** Which Norwegian identifier an Identifier.system names, including the non-preferred alias URIs. */
enum class IdentifierSystem { kFnr, kDnr, kFhn, kHpr, kDuf, kHerId, kOrgnr, kResh, kHnr };
std::optional<IdentifierSystem> identifierSystemFor(std::string_view system_uri);
/** The preferred (OID) system URI for an identifier kind. */
std::string_view preferredSystemUri(IdentifierSystem kind);

/** Checks an Identifier.value for the given system: empty optional when valid, else a plain-words reason. */
std::optional<std::string> checkIdentifierValue(IdentifierSystem kind, std::string_view value);

/** A person number masked for logs: "131169*****". Never log the raw number. */
std::string maskPersonNumber(std::string_view digits);

}  // namespace planbro::fhir::no
