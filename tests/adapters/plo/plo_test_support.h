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

/**
 * The ks-no/fiks-nhn-client samples name the test person 15720255178 (born 2002-07-15: month + 65), an offset the
 * identifiers module (fhir-model/src/identifiers) does not know; the gateway refuses it on REST as on messages, so
 * these samples are answered Avvist E31. Tests that need their content swap in a valid fødselsnummer.
 */
inline bool namesUnknownTestPerson(const std::string& message) { return message.find("15720255178") != std::string::npos; }

inline std::string withValidPatient(std::string message) {
  for (size_t at = message.find("15720255178"); at != std::string::npos; at = message.find("15720255178", at)) {
    message.replace(at, 11, "13116900216");
  }
  return message;
}

inline std::filesystem::path samplesDir() { return std::filesystem::path(PLANBRO_SHARED_DIR) / "plo" / "samples"; }

/** The PLO 2.0 Sammenfatning with an OpplysningerOmIndividuellPlan block (tests/data/plo/, hand-written from the
 *  schema; patient 15076500565). */
inline std::string plo2Sample() {
  return readFile(std::filesystem::path(PLANBRO_PLO_SOURCE_DIR) / ".." / ".." / "tests" / "data" / "plo" /
                  "Sammenfatning_v2-0_IndividuellPlan_Ny.xml");
}

/** `text` with the first `from` replaced by `to`; a `from` that is not there fails the calling test (and `text` is
 *  returned as it was), so a sample that changes under a test cannot make it pass vacuously. */
inline std::string replaced(std::string text, const std::string& from, const std::string& to) {
  const size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

}  // namespace planbro::adapters::plo::testing
