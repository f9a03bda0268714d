#pragma once
// The IP package's examples (conformance/ip/package/example/) as one FHIR transaction of PUTs, for the tests that
// need the example plan in a store. One transaction because the examples reference each other in cycles.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "planbro/fhir-model/json.h"

namespace planbro::testing {

/** The folder of the IP package's example resources in this source tree. */
inline std::filesystem::path ipExampleDir() {
  return std::filesystem::path(PLANBRO_TEST_DATA_DIR) / ".." / ".." / "conformance" / "ip" / "package" / "example";
}

/** Every example in `dir` (the package index files, named with a leading dot, left out) as a transaction Bundle of
 *  PUT Type/id. An example that is not JSON with resourceType and id fails the calling test and is left out. */
inline std::string ipExamplesTransaction(const std::filesystem::path& dir = ipExampleDir()) {
  std::string bundle = R"({"resourceType":"Bundle","type":"transaction","entry":[)";
  bool first = true;
  for (const auto& file : std::filesystem::directory_iterator(dir)) {
    if (file.path().filename().string().starts_with('.')) continue;  // the package index
    std::ifstream in(file.path(), std::ios::binary);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto doc = fhir::JsonDocument::parse(text);
    const fhir::JsonValue* type = doc.isOk() ? doc->root().find("resourceType") : nullptr;
    const fhir::JsonValue* id = doc.isOk() ? doc->root().find("id") : nullptr;
    if (type == nullptr || id == nullptr) {
      ADD_FAILURE() << file.path() << ": not an example resource";
      continue;
    }
    bundle += std::string(first ? "" : ",") + R"({"resource":)" + text + R"(,"request":{"method":"PUT","url":")" +
              std::string(type->text()) + "/" + std::string(id->text()) + "\"}}";
    first = false;
  }
  return bundle + "]}";
}

}  // namespace planbro::testing
