// Work bounds of validation against profiles: heap allocations counted while the validator runs over the IP
// package's examples, so that a change that brings back per-element allocation (paths built for every element,
// strings copied per extension, containers made per node) fails here rather than only in bench/profile_bench.
// The bounds are counts, not times: the figures measured when they were set, plus a margin for harmless change.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <new>
#include <sstream>
#include <string>

#include "planbro/fhir-model/json.h"
#include "planbro/fhir-model/profile_set.h"
#include "planbro/fhir-model/validator.h"
#include "profile_test_support.h"

namespace {

// Counts operator new calls while `counting` is set (one thread: the test's).
std::atomic<bool> counting{false};
std::atomic<size_t> allocations{0};

}  // namespace

// The replaceable global allocation functions, counting when asked; they allocate with malloc as the default ones do
// (and AddressSanitizer, which intercepts malloc, still sees every block).
void* operator new(std::size_t size) {
  if (counting.load(std::memory_order_relaxed)) allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) { return operator new(size); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

namespace planbro::fhir {
namespace {

std::string readFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::stringstream bytes;
  bytes << file.rdbuf();
  return bytes.str();
}

std::shared_ptr<const ProfileSet> ipPackage() {
  static std::shared_ptr<const ProfileSet> set = [] {
    ProfileSetBuilder builder;
    Status added = builder.addDirectory(std::string(PLANBRO_TEST_DATA_DIR) + "/../../conformance/ip/package");
    EXPECT_TRUE(added.isOk()) << added.message();
    Result<std::shared_ptr<const ProfileSet>> built = builder.build();
    EXPECT_TRUE(built.isOk()) << built.status().message();
    return built.isOk() ? std::move(built).value() : nullptr;
  }();
  return set;
}

// Allocations of one validate() of a parsed example, after a first run has built the per-thread tables.
size_t allocationsOfValidate(const Validator& validator, const JsonValue& root, size_t& errors) {
  (void)validator.validate(root);
  allocations = 0;
  counting = true;
  OperationOutcome out = validator.validate(root);
  counting = false;
  errors = out.errorCount();
  return allocations.load();
}

struct Example {
  const char* file;
  size_t max_allocations;
};

TEST(ValidationWork, ProfileValidationOfTheIpExamplesStaysWithinItsAllocationBound) {
  std::shared_ptr<const ProfileSet> set = ipPackage();
  ASSERT_NE(set, nullptr);
  const Validator validator(set);
  const std::string dir = std::string(PLANBRO_TEST_DATA_DIR) + "/../../conformance/ip/package/example/";
  // Measured when set (Debug + sanitizers, as the check build runs it): 29, 13, 38 and 36. The CarePlan took 64
  // while each of its 22 known extensions built its context paths as new strings.
  for (const Example& example : {Example{"CarePlan-ip-example-careplan.json", 34}, Example{"Goal-ip-example-goal-measure.json", 16},
                                 Example{"CareTeam-ip-example-careteam.json", 42},
                                 Example{"Consent-ip-example-consent-sharing.json", 40}}) {
    std::string text = readFile(dir + example.file);
    ASSERT_FALSE(text.empty()) << example.file;
    Result<JsonDocument> doc = JsonDocument::parse(std::move(text));
    ASSERT_TRUE(doc.isOk()) << doc.status().message();
    size_t errors = 0;
    const size_t n = allocationsOfValidate(validator, doc->root(), errors);
    EXPECT_EQ(errors, 0u) << example.file;
    EXPECT_LE(n, example.max_allocations) << example.file << ": " << n << " allocations";
  }
}

// Whether a Bundle entry conforms to a target profile is decided once per validation: here each of 12 Patients
// links to every later one, each claiming a profile whose link targets must conform to it, so without the memo
// the checks of the last Patients repeat 2^11 times (one check of Patient i checks every later one again).
TEST(ValidationWork, TargetProfileConformanceOfAnEntryIsDecidedOnce) {
  constexpr const char* kLinked = "http://example.org/fhir/StructureDefinition/linked";
  std::shared_ptr<const ProfileSet> set = testing::profileSetOf({std::string(R"({"resourceType":"StructureDefinition",
      "url":")") + kLinked + R"(","name":"Linked","status":"active","kind":"resource","abstract":false,"type":"Patient",
      "baseDefinition":"http://hl7.org/fhir/StructureDefinition/Patient","derivation":"constraint",
      "differential":{"element":[{"id":"Patient","path":"Patient","constraint":[{"key":"lnk-1","severity":"error",
          "human":"a family name","expression":"name.family.first().length() > 0"}]},
        {"id":"Patient.name","path":"Patient.name","min":1},
        {"id":"Patient.link.other","path":"Patient.link.other","type":[{"code":"Reference","targetProfile":[")" +
      kLinked + R"("]}]}]}})"});
  ASSERT_NE(set, nullptr);
  constexpr int kPatients = 12;
  std::string entries;
  for (int i = 0; i < kPatients; ++i) {
    std::string links;
    for (int j = i + 1; j < kPatients; ++j) {
      links += std::string(links.empty() ? "" : ",") + R"({"other":{"reference":"Patient/p)" + std::to_string(j) +
               R"("},"type":"seealso"})";
    }
    entries += std::string(i == 0 ? "" : ",") + R"({"fullUrl":"http://example.org/fhir/Patient/p)" +
               std::to_string(i) + R"(","resource":{"resourceType":"Patient","id":"p)" + std::to_string(i) +
               R"(","meta":{"profile":[")" + kLinked + R"("]},"text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">p</div>"},"name":[{"family":"F"}])" +
               (links.empty() ? "" : R"(,"link":[)" + links + "]") + "}}";
  }
  Result<JsonDocument> doc = JsonDocument::parse(R"({"resourceType":"Bundle","type":"collection","entry":[)" + entries + "]}");
  ASSERT_TRUE(doc.isOk()) << doc.status().message();
  const Validator validator(set);
  size_t errors = 0;
  const size_t n = allocationsOfValidate(validator, doc->root(), errors);
  EXPECT_EQ(errors, 0u) << testing::describe(validator.validate(doc->root()));
  // Measured when set (Debug + sanitizers): 1107 with the memo, 29611 without it (the profile's invariant runs
  // through the FHIRPath engine, which allocates, so every repeated check shows in the count).
  EXPECT_LE(n, size_t{1500}) << n << " allocations";
}

// A value set's codes are indexed at load (ValueSetCodes::buildIndex): a required binding to a value set of
// thousands of codes costs one hash lookup per Coding, not a scan. The core model's value sets and a package's
// expanded ones are both indexed, and the index answers as the scan does (system and code both must match).
TEST(ValidationWork, ValueSetsAreIndexedAtLoad) {
  std::string concepts;
  for (int i = 0; i < 5000; ++i) concepts += std::string(i == 0 ? "" : ",") + R"({"code":"c)" + std::to_string(i) + R"("})";
  std::shared_ptr<const ProfileSet> set = testing::profileSetOf({R"({"resourceType":"ValueSet",
      "url":"http://example.org/vs/big","status":"active",
      "compose":{"include":[{"system":"http://example.org/cs/big","concept":[)" + concepts + "]}]}}"});
  ASSERT_NE(set, nullptr);
  const ValueSetCodes* big = set->valueSet("http://example.org/vs/big");
  ASSERT_NE(big, nullptr);
  ASSERT_EQ(big->codes.size(), 5000u);
  EXPECT_EQ(big->index.owner, big);
  EXPECT_EQ(big->index.by_code.size(), 5000u);
  EXPECT_TRUE(big->contains("http://example.org/cs/big", "c0"));
  EXPECT_TRUE(big->contains("http://example.org/cs/big", "c4999"));
  EXPECT_FALSE(big->contains("http://example.org/cs/other", "c4999"));
  EXPECT_FALSE(big->contains("http://example.org/cs/big", "c5000"));
  EXPECT_TRUE(big->containsCode("c17"));
  EXPECT_FALSE(big->containsCode("x"));

  const ValueSetCodes* gender = ModelInfo::r4().valueSet("http://hl7.org/fhir/ValueSet/administrative-gender");
  ASSERT_NE(gender, nullptr);
  EXPECT_EQ(gender->index.owner, gender);
  EXPECT_TRUE(gender->contains("http://hl7.org/fhir/administrative-gender", "female"));

  // A copy starts unindexed and still answers, by a scan.
  ValueSetCodes copy = *big;
  EXPECT_EQ(copy.index.owner, nullptr);
  EXPECT_TRUE(copy.contains("http://example.org/cs/big", "c4999"));
  EXPECT_FALSE(copy.contains("http://example.org/cs/other", "c4999"));
}

}  // namespace
}  // namespace planbro::fhir
