#include "planbro/gateway/rest/profile_loading.h"

#include <algorithm>
#include <filesystem>
#include <utility>

#include "planbro/fhir-model/profile_set.h"

#ifndef PLANBRO_IP_PACKAGE_DIR
#define PLANBRO_IP_PACKAGE_DIR "conformance/ip/package"
#endif
#ifndef PLANBRO_NO_BASIS_DIR
#define PLANBRO_NO_BASIS_DIR "conformance/no-basis"
#endif

namespace planbro::gateway::rest {

std::string noBasisDirOf(const ProfilePackages& packages) {
  if (!packages.no_basis_dir.empty()) return packages.no_basis_dir;
  if (!packages.ip_package_dir.empty()) return {};  // an own IP package: no-basis only when named
  std::error_code ec;
  return std::filesystem::is_directory(PLANBRO_NO_BASIS_DIR, ec) ? std::string(PLANBRO_NO_BASIS_DIR) : std::string();
}

Result<LoadedProfiles> loadProfileValidator(const ProfilePackages& packages, fhir::ValidatorOptions options) {
  LoadedProfiles loaded;
  loaded.ip_package_dir = packages.ip_package_dir.empty() ? PLANBRO_IP_PACKAGE_DIR : packages.ip_package_dir;
  fhir::ProfileSetBuilder builder;
  std::error_code ec;
  if (std::filesystem::is_directory(loaded.ip_package_dir, ec)) {
    if (Status s = builder.addDirectory(loaded.ip_package_dir); !s.isOk()) {
      return Status(s.code(), "profiles: the package in " + loaded.ip_package_dir + " does not load: " + s.message());
    }
  } else {
    loaded.ip_package_missing = true;
  }
  loaded.no_basis_dir = noBasisDirOf(packages);
  if (!loaded.no_basis_dir.empty()) {
    if (Status s = builder.addDirectory(loaded.no_basis_dir); !s.isOk()) {
      return Status(s.code(), "profiles: the no-basis profiles in " + loaded.no_basis_dir + " do not load: " + s.message());
    }
  }
  for (const std::string& path : packages.extra) {
    // A folder that is the IP package itself (named twice) would add every profile again: skip it.
    if (!loaded.ip_package_missing && std::filesystem::equivalent(path, loaded.ip_package_dir, ec)) continue;
    Status s = std::filesystem::is_directory(path, ec) ? builder.addDirectory(path) : builder.addFile(path);
    if (!s.isOk()) return Status(s.code(), "profiles: the package " + path + " does not load: " + s.message());
  }
  auto set = builder.build();
  if (!set.isOk()) return Status(set.status().code(), "profiles: " + set.status().message());
  for (const std::string& url : packages.required) {
    const fhir::Profile* profile = (*set)->find(url);
    if (profile == nullptr) return invalidArgument("profiles: no loaded package defines the profile " + url);
    if (profile->isExtension()) {
      return invalidArgument("profiles: " + url + " is an extension definition, not a profile of a resource");
    }
    std::vector<std::string>& list = options.required_profiles[profile->type];
    if (std::find(list.begin(), list.end(), url) == list.end()) list.push_back(url);
  }
  loaded.profile_count = (*set)->profiles().size();
  for (const std::string& w : (*set)->warnings()) loaded.warnings.push_back(w);
  auto validator = fhir::Validator::create(std::move(set).value(), std::move(options));
  if (!validator.isOk()) return Status(validator.status().code(), "profiles: " + validator.status().message());
  loaded.validator = std::move(validator).value();
  return loaded;
}

}  // namespace planbro::gateway::rest
