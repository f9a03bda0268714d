// The profile walk's load-time shortcuts must not change an outcome: the one pass over an object's members that finds
// every relevant child (ProfileElement::member_slots) against one scan per child, and extension slices held only to
// their definition not walked (ProfileElement::only_its_extension_definition) against walking them. Each individual-
// plan example, the demo Bundle and broken variants of them are validated with both, and the outcomes compared.

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "profile_test_support.h"

namespace planbro::fhir {
namespace {

using testing::describe;

const std::filesystem::path kRoot = std::filesystem::path(PLANBRO_TEST_DATA_DIR).parent_path().parent_path();

std::shared_ptr<const ProfileSet> loadSet() {
  ProfileSetBuilder builder;
  EXPECT_TRUE(builder.addDirectory(kRoot / "conformance" / "no-basis").isOk());
  EXPECT_TRUE(builder.addDirectory(kRoot / "conformance" / "ip" / "package").isOk());
  auto set = builder.build();
  EXPECT_TRUE(set.isOk()) << set.status().message();
  return set.isOk() ? std::move(set).value() : nullptr;
}

ValidatorOptions requiredProfiles() {
  ValidatorOptions options;
  const std::string no = "http://hl7.no/fhir/StructureDefinition/no-basis-";
  const std::string ip = "http://planbro.no/fhir/StructureDefinition/ip-";
  options.required_profiles["Patient"] = {no + "Patient"};
  options.required_profiles["Organization"] = {no + "Organization"};
  options.required_profiles["Practitioner"] = {no + "Practitioner"};
  options.required_profiles["Goal"] = {ip + "goal"};
  options.required_profiles["CareTeam"] = {ip + "careteam"};
  options.required_profiles["Consent"] = {ip + "consent"};
  return options;
}

std::string readFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// `text` with the first occurrence of `from` replaced by `to` (unchanged when there is none).
std::string replaceFirst(std::string text, const std::string& from, const std::string& to) {
  if (size_t at = text.find(from); at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

TEST(ProfileWalkFastPaths, ReportExactlyWhatThePerChildWalkReports) {
  auto fast = loadSet();
  auto plain = loadSet();
  ASSERT_NE(fast, nullptr);
  ASSERT_NE(plain, nullptr);
  size_t slot_tables = 0;
  size_t skipped_slices = 0;
  for (const Profile* p : fast->profiles()) {
    for (const ProfileElement& e : p->elements) {
      slot_tables += !e.member_slots.empty();
      skipped_slices += e.only_its_extension_definition;
    }
  }
  EXPECT_GT(slot_tables, 20u);
  EXPECT_GT(skipped_slices, 10u);
  // The baseline: the set is immutable to the validator; the test owns this one and takes the shortcuts out first.
  for (const Profile* p : plain->profiles()) {
    for (const ProfileElement& e : p->elements) {
      auto& element = const_cast<ProfileElement&>(e);
      element.member_slots.clear();
      element.only_its_extension_definition = false;
    }
  }
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(kRoot / "conformance" / "ip" / "package" / "example")) {
    if (entry.path().extension() == ".json") files.push_back(entry.path());
  }
  files.push_back(kRoot / "conformance" / "demo" / "individual-plan-demo.json");
  std::sort(files.begin(), files.end());
  ASSERT_GT(files.size(), 10u);
  // Variants: a twin beside a value, a twin alone, a value renamed away (a required element missing), a null entry
  // in an array, an extension array's twin, a member twice in one object is not JSON the parser keeps: not made.
  const std::vector<std::pair<std::string, std::string>> mutations = {
      {"", ""},
      {R"("status")", R"("_status":{"id":"s1"},"status")"},
      {R"("status")", R"("_status":{"id":"s1"},"statusGone")"},
      {R"("intent")", R"("intentGone")"},
      {R"("subject")", R"("_subject":{"id":"x"},"subject")"},
      {R"("goal": [)", R"("goal": [null,)"},
      {R"("extension": [)", R"("_extension": [{"id":"e"}], "extension": [)"},
      {R"("extension": [)", R"("extension": [{"url":"http://planbro.no/fhir/StructureDefinition/ip-plan-lifecycle","valueString":"x"},)"},
      {R"("url": "http://planbro.no/fhir/StructureDefinition/ip-measure-status")",
       R"("url": "http://planbro.no/fhir/StructureDefinition/ip-measure-status", "valueString": "x")"},
      {R"("participant": [)", R"("participant": [{"role":[{"text":"x"}]},)"},
  };
  const ValidatorOptions options = requiredProfiles();
  size_t compared = 0;
  size_t with_errors = 0;
  for (const auto& file : files) {
    const std::string original = readFile(file);
    for (const auto& [from, to] : mutations) {
      const std::string text = from.empty() ? original : replaceFirst(original, from, to);
      if (!from.empty() && text == original) continue;
      const OperationOutcome a = testing::validateWith(fast, text, options);
      const OperationOutcome b = testing::validateWith(plain, text, options);
      EXPECT_EQ(describe(a), describe(b)) << file.filename() << " with " << to;
      ++compared;
      with_errors += testing::errorCount(a) > 0;
    }
  }
  EXPECT_GT(compared, files.size() * 2);
  EXPECT_GT(with_errors, files.size());  // the variants are broken: the outcomes compared are not all empty
}


// The same comparison on a profile whose relevant children are primitives the profile requires (min 1 where the core
// has 0) and whose twins it constrains: a twin alone, a twin beside its value, arrays of values and twins with gaps.
TEST(ProfileWalkFastPaths, TwinsAndArraysAreFoundAsThePerChildScanFindsThem) {
  const std::string profile = R"({"resourceType":"StructureDefinition","url":"http://example.org/sd/twins",
    "name":"Twins","status":"active","kind":"resource","abstract":false,"type":"Patient",
    "baseDefinition":"http://hl7.org/fhir/StructureDefinition/Patient","derivation":"constraint",
    "differential":{"element":[
      {"id":"Patient.gender","path":"Patient.gender","min":1},
      {"id":"Patient.gender.extension","path":"Patient.gender.extension","max":"0"},
      {"id":"Patient.birthDate","path":"Patient.birthDate","min":1},
      {"id":"Patient.name","path":"Patient.name","min":1},
      {"id":"Patient.name.given","path":"Patient.name.given","min":2},
      {"id":"Patient.name.given.extension","path":"Patient.name.given.extension","max":"0"},
      {"id":"Patient.name.family","path":"Patient.name.family","min":1}]}})";
  auto fast = testing::profileSetOf({profile});
  auto plain = testing::profileSetOf({profile});
  ASSERT_NE(fast, nullptr);
  ASSERT_NE(plain, nullptr);
  const Profile* p = fast->find("http://example.org/sd/twins");
  ASSERT_NE(p, nullptr);
  EXPECT_FALSE(p->root().member_slots.empty());
  for (const ProfileElement& e : plain->find("http://example.org/sd/twins")->elements) {
    const_cast<ProfileElement&>(e).member_slots.clear();
  }
  const std::string twin_ext = R"({"extension":[{"url":"http://example.org/x","valueString":"y"}]})";
  const std::vector<std::string> bodies = {
      R"("gender":"female","birthDate":"1980","name":[{"family":"A","given":["B","C"]}])",
      R"("_gender":)" + twin_ext + R"(,"birthDate":"1980","name":[{"family":"A","given":["B","C"]}])",
      R"("gender":"female","_gender":)" + twin_ext + R"(,"_birthDate":{"id":"b"},"name":[{"family":"A"}])",
      R"("gender":"female","birthDate":"1980","name":[{"_family":{"id":"f"},"given":["B",null],"_given":[null,)" +
          twin_ext + R"(]}])",
      R"("gender":"female","name":[{"family":"A","_given":[{"id":"g1"},)" + twin_ext + R"(]},{"given":["x"]}])",
      R"("_gender":{"id":"g"},"_birthDate":{"id":"b"},"_name":[{"id":"n"}])",
      R"("gender":"female","birthDate":"1980")",
  };
  size_t with_errors = 0;
  for (const std::string& body : bodies) {
    const std::string text = R"({"resourceType":"Patient","meta":{"profile":["http://example.org/sd/twins"]},)" + body + "}";
    const OperationOutcome a = testing::validateWith(fast, text);
    EXPECT_EQ(describe(a), describe(testing::validateWith(plain, text))) << body;
    with_errors += testing::errorCount(a) > 0;
  }
  EXPECT_GE(with_errors, 4u);
}

}  // namespace
}  // namespace planbro::fhir
