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
};

struct LoadedProfiles {
  std::shared_ptr<const fhir::Validator> validator;
  std::string ip_package_dir;        // the folder looked at
  bool ip_package_missing = false;   // no folder there: core (and `extra`) only
  size_t profile_count = 0;          // profiles in the set, core ones included
  std::vector<std::string> warnings;  // what the set could not load or compile (ProfileSet::warnings)
};

/**
 * Loads the packages and builds the validator with `options` (its `base` is the validation the caller configures).
 * kInvalidArgument / kNotFound naming the folder or file when a package does not load, and naming the URL when a
 * required profile is not in the set.
 */
Result<LoadedProfiles> loadProfileValidator(const ProfilePackages& packages, fhir::ValidatorOptions options = {});

}  // namespace planbro::gateway::rest
