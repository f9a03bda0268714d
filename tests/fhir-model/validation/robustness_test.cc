// The validator must never crash, whatever shape a (syntactically valid) JSON document has: official examples with
// one value at a time replaced by values of every other JSON kind, with a fixed seed and a bounded count.

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "planbro/fhir-model/json.h"
#include "planbro/fhir-model/validator.h"
#include "test_files.h"

namespace planbro::fhir {
namespace {

class Mutator {
 public:
  explicit Mutator(uint64_t seed) : state_(seed) {}

  uint64_t next() {
    state_ = state_ * 6364136223846793005ULL + 1442695040888963407ULL;
    return state_ >> 33;
  }

  // Copies `value` into `doc`, replacing the node numbered `target` (pre-order) by a replacement of kind `kind`.
  JsonValue rebuild(JsonDocument& doc, const JsonValue& value, uint64_t target, int kind, uint64_t& counter) {
    if (counter++ == target) return replacement(doc, kind);
    if (value.isArray()) {
      std::vector<JsonValue> items;
      for (const JsonValue& item : value.items()) items.push_back(rebuild(doc, item, target, kind, counter));
      return doc.makeArray(items);
    }
    if (value.isObject()) {
      std::vector<JsonMember> members;
      for (const JsonMember& m : value.members()) {
        members.push_back({m.key, rebuild(doc, m.value, target, kind, counter)});
      }
      return doc.makeObject(members);
    }
    return doc.import(value);
  }

 private:
  static JsonValue replacement(JsonDocument& doc, int kind) {
    switch (kind) {
      case 0: return JsonValue();
      case 1: return doc.makeArray({});
      case 2: return doc.makeObject({});
      case 3: return doc.makeString("");
      case 4: return doc.makeNumber("-1e400");
      case 5: return JsonDocument::makeBool(true);
      case 6: return doc.makeString("<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>&amp;</div>");
      default: return doc.makeString("#x");
    }
  }
  uint64_t state_;
};

size_t countNodes(const JsonValue& v) {
  size_t n = 1;
  for (const JsonValue& item : v.items()) n += countNodes(item);
  for (const JsonMember& m : v.members()) n += countNodes(m.value);
  return n;
}

TEST(ValidatorRobustness, MutatedExamplesNeverCrash) {
  auto files = testing::jsonFilesIn(std::filesystem::path(PLANBRO_TEST_DATA_DIR) / "validation" / "examples");
  ASSERT_FALSE(files.empty());
  Mutator mutator(20261123);
  constexpr int kMutations = 150;
  int judged = 0;
  for (int i = 0; i < kMutations; ++i) {
    const auto& file = files[mutator.next() % files.size()];
    auto source = JsonDocument::parse(testing::readFile(file));
    ASSERT_TRUE(source.isOk());
    size_t nodes = countNodes(source->root());
    JsonDocument doc;
    uint64_t counter = 0;
    uint64_t target = mutator.next() % nodes;
    int kind = static_cast<int>(mutator.next() % 8);
    doc.setRoot(mutator.rebuild(doc, source->root(), target, kind, counter));
    OperationOutcome outcome = validateResource(doc.root());
    ++judged;
    (void)outcome;
  }
  EXPECT_EQ(judged, kMutations);
}

}  // namespace
}  // namespace planbro::fhir
