#include "planbro/gateway/version.h"

#ifndef PLANBRO_VERSION
#error "PLANBRO_VERSION is set by gateway/CMakeLists.txt from project(VERSION)"
#endif
#ifndef PLANBRO_BUILD_TYPE
#define PLANBRO_BUILD_TYPE "unknown build type"
#endif

namespace planbro::gateway {

std::string_view planbroVersion() { return PLANBRO_VERSION; }

std::string_view planbroBuildType() { return PLANBRO_BUILD_TYPE; }

std::string planbroVersionLine() {
  return "planbro " + std::string(planbroVersion()) + " (" + std::string(planbroBuildType()) + ")";
}

}  // namespace planbro::gateway
