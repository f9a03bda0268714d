#pragma once
// One Patient per national identifier: the transaction hook that makes a person number (fødselsnummer, D-nummer,
// H-nummer, felles hjelpenummer) a business key of the Patient that carries it, and the canonical form of the
// Norwegian identifier systems used for that key and for conditional operations.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "planbro/gateway/ops/write_pipeline.h"

namespace planbro::gateway::ops {

/** The business-key kind of a person number ("person-number"); the value is the 11 digits. */
inline constexpr std::string_view kPersonNumberKey = "person-number";

/** The preferred (OID) URI for a Norwegian identifier system named by an alias (the HL7 Norway NamingSystem URL,
 *  fhir-model identifiers' alias table); any other system unchanged. Pure. */
std::string canonicalIdentifierSystem(std::string_view system);

/**
 * The hook: every person-number identifier of a Patient (system FNR, DNR, FHN by OID or alias; an H-nummer by the
 * system "HNR" or the no-basis type coding HNR) is claimed as (Patient, person-number, digits). A second Patient with
 * the same number fails with kConflict naming the first; an update that drops or changes the number releases it.
 */
std::shared_ptr<const TransactionHook> makePatientIdentityHook();

/** What claimStoredPersonNumbers() did. */
struct PersonNumberBackfill {
  bool already_done = false;  // an earlier run (on any node) finished it: nothing read
  size_t patients = 0;        // current Patients read
  size_t claimed = 0;         // person-number keys claimed now
  /** Patients whose number another Patient already holds: "Patient/b (fødselsnummer held by Patient/a)". Never
   *  the number itself. These stay duplicates until someone merges them; no new one can join them. */
  std::vector<std::string> duplicates;
};

/**
 * Claims the person-number keys of every current Patient stored before the identity hook existed, once per
 * database (a marker key records that it ran; two nodes running it at once agree). Reads each Patient inside the
 * transaction that claims its keys, `page_size` Patients per transaction. Blocking; for start-up, before serving.
 */
Result<PersonNumberBackfill> claimStoredPersonNumbers(store::ResourceStore& store, size_t page_size = 500);

}  // namespace planbro::gateway::ops
