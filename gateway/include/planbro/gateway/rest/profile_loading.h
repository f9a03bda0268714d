#pragma once
// Builds the profile validator every entry point uses: the R4 core profiles, the individual-plan package (by
// default the repository's conformance/ip/package) and any further packages. `planbro serve` (serve_setup.cc) and
// `planbro validate --profile/--package` (gateway/src/cli/) both load through here, so the command line validates
// exactly as the server does.

#include <memory>
#include <string>
#include <vector>

#include "planbro/fhir-model/status.h"
#include "planbro/fhir-model/validator.h"

namespace planbro::gateway::rest {

struct ProfilePackages {
  /** The individual-plan package folder; empty: the repository's conformance/ip/package (path fixed at build
   *  time). A missing folder is not an error: the result says so and the other packages are used. */
  std::string ip_package_dir;
  /** Further package folders (every *.json / *.xml conformance resource below them) or single files. Each must
   *  exist and load. */
  std::vector<std::string> extra;
  /** Canonical URLs of profiles every resource of the profile's type must conform to (Bundle entries and contained
   *  resources included), on top of what ValidatorOptions::required_profiles already lists. */
  std::vector<std::string> required;
  /** The HL7 Norway no-basis profiles and code systems the IP package builds on; loaded with the default IP
   *  package (ip_package_dir empty): empty here means the repository's conformance/no-basis (path fixed at build
   *  time), skipped when missing. A caller naming its own IP package names this too, or gets none. */
  std::string no_basis_dir;
};

struct LoadedProfiles {
  std::shared_ptr<const fhir::Validator> validator;
  std::string ip_package_dir;        // the folder looked at
  bool ip_package_missing = false;   // no folder there: core (and `extra`) only
  std::string no_basis_dir;          // the no-basis folder loaded, or empty when none was
  size_t profile_count = 0;          // profiles in the set, core ones included
  std::vector<std::string> warnings;  // what the set could not load or compile (ProfileSet::warnings)
};

/**
 * Loads the packages and builds the validator with `options` (its `base` is the validation the caller configures).
 * kInvalidArgument / kNotFound naming the folder or file when a package does not load, and naming the URL when a
 * required profile is not in the set.
 */
Result<LoadedProfiles> loadProfileValidator(const ProfilePackages& packages, fhir::ValidatorOptions options = {});

/** The no-basis folder loadProfileValidator() loads for `packages`, or empty (none named, default not present). */
std::string noBasisDirOf(const ProfilePackages& packages);

}  // namespace planbro::gateway::rest
