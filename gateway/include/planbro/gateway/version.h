#pragma once
// The version planbro was built as: CMake's project version and build type (fixed at build time).

#include <string>
#include <string_view>

namespace planbro::gateway {

/** The project version, e.g. "0.1.0". */
std::string_view planbroVersion();

/** CMake's build type ("Release", "Debug", ...), with "+sanitizers" when built with ASan/UBSan. */
std::string_view planbroBuildType();

/** "planbro 0.1.0 (Release)": what `planbro --version` prints and the start-up log line carries. */
std::string planbroVersionLine();

}  // namespace planbro::gateway
