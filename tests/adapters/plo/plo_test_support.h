#pragma once
// Shared set-up of the PLO adapter tests: the codec loaded once from the shipped data, sample files read.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "planbro/adapters/plo/codec.h"

namespace planbro::adapters::plo::testing {

inline std::shared_ptr<const Codec> sharedCodec() {
  static std::shared_ptr<const Codec> codec = [] {
    auto loaded = loadCodec(PLANBRO_PLO_SOURCE_DIR);
    EXPECT_TRUE(loaded.isOk()) << loaded.status().message();
    return loaded.isOk() ? *loaded : nullptr;
  }();
  return codec;
}

inline std::string readFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

inline std::filesystem::path samplesDir() { return std::filesystem::path(PLANBRO_SHARED_DIR) / "plo" / "samples"; }

}  // namespace planbro::adapters::plo::testing
