// Rules across Bundle entries (reference resolution by Bundle type, versioned references, one identity per
// entry), Attachment size and hash against its data, and narrative links to "#id".

#include <gtest/gtest.h>

#include <string>

#include "planbro/fhir-model/validator.h"
#include "profile_test_support.h"

namespace planbro::fhir {
namespace {

using testing::describe;
using testing::errorCount;
using testing::hasIssue;

std::string bundle(const std::string& type, const std::string& entries, const std::string& extra = "") {
  return R"({"resourceType":"Bundle","type":")" + type + R"(")" + extra + R"(,"entry":[)" + entries + "]}";
}

constexpr const char* kUuidA = "urn:uuid:0f1e1d8c-5a7e-4b5e-9c39-0e9a4f5d6a11";
constexpr const char* kUuidB = "urn:uuid:1f1e1d8c-5a7e-4b5e-9c39-0e9a4f5d6a11";

std::string observation(const std::string& full_url, const std::string& subject) {
  return R"({"fullUrl":")" + full_url + R"(","resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":")" +
         subject + R"("}}})";
}
std::string patient(const std::string& full_url, const std::string& id = "", const std::string& version = "") {
  std::string r = R"({"fullUrl":")" + full_url + R"(","resource":{"resourceType":"Patient")";
  if (!id.empty()) r += R"(,"id":")" + id + R"(")";
  if (!version.empty()) r += R"(,"meta":{"versionId":")" + version + R"("})";
  return r + "}}";
}

TEST(BundleReferences, UrnReferencesMustResolveInTransactions) {
  std::string request = R"(,"request":{"method":"POST","url":"Observation"})";
  auto entry = [&](std::string e) { return e.substr(0, e.size() - 1) + request + "}"; };
  OperationOutcome good = validateJsonText(bundle("transaction",
      entry(observation(kUuidA, kUuidB)) + "," +
          std::string(patient(kUuidB)).insert(patient(kUuidB).size() - 1, R"(,"request":{"method":"POST","url":"Patient"})")));
  EXPECT_EQ(errorCount(good), 0u) << describe(good);
  OperationOutcome bad = validateJsonText(bundle("transaction", entry(observation(kUuidA, kUuidB))));
  EXPECT_TRUE(hasIssue(bad, Severity::kError, "Bundle.entry[0].resource.subject.reference", "does not resolve"))
      << describe(bad);
  // In a collection an unresolved urn: is only a warning.
  OperationOutcome collection = validateJsonText(bundle("collection", observation(kUuidA, kUuidB)));
  EXPECT_EQ(errorCount(collection), 0u) << describe(collection);
  EXPECT_TRUE(hasIssue(collection, Severity::kWarning, "Bundle.entry[0].resource.subject.reference", "does not resolve"))
      << describe(collection);
}

TEST(BundleReferences, RelativeReferencesResolveAgainstTheEntryBase) {
  std::string doc_extra = R"(,"identifier":{"system":"urn:ietf:rfc:3986","value":"urn:uuid:2f1e1d8c-5a7e-4b5e-9c39-0e9a4f5d6a11"},"timestamp":"2020-01-01T00:00:00Z")";
  std::string composition = R"({"fullUrl":"http://example.org/fhir/Composition/c","resource":{"resourceType":"Composition","id":"c",
    "status":"final","type":{"text":"plan"},"date":"2020-01-01","author":[{"reference":"Practitioner/dr"}],"title":"T",
    "subject":{"reference":"Patient/p"}}})";
  std::string practitioner = R"({"fullUrl":"http://example.org/fhir/Practitioner/dr","resource":{"resourceType":"Practitioner","id":"dr"}})";
  OperationOutcome good = validateJsonText(bundle("document",
      composition + "," + practitioner + "," + patient("http://example.org/fhir/Patient/p", "p"), doc_extra));
  EXPECT_EQ(errorCount(good), 0u) << describe(good);
  // The patient is missing from the document.
  OperationOutcome missing = validateJsonText(bundle("document", composition + "," + practitioner, doc_extra));
  EXPECT_TRUE(hasIssue(missing, Severity::kError, "Bundle.entry[0].resource.subject.reference", "does not resolve"))
      << describe(missing);
  // An entry nothing refers to.
  OperationOutcome unreachable = validateJsonText(bundle("document",
      composition + "," + practitioner + "," + patient("http://example.org/fhir/Patient/p", "p") + "," +
          patient("http://example.org/fhir/Patient/q", "q"), doc_extra));
  EXPECT_TRUE(hasIssue(unreachable, Severity::kWarning, "Bundle.entry[3]", "not reachable")) << describe(unreachable);
}

TEST(BundleReferences, VersionedReferencesNeedTheVersion) {
  std::string base = "http://example.org/fhir/";
  OperationOutcome good = validateJsonText(bundle("collection",
      observation(base + "Observation/o", "Patient/p/_history/2") + "," + patient(base + "Patient/p", "p", "2")));
  EXPECT_EQ(errorCount(good), 0u) << describe(good);
  OperationOutcome bad = validateJsonText(bundle("collection",
      observation(base + "Observation/o", "Patient/p/_history/3") + "," + patient(base + "Patient/p", "p", "2")));
  EXPECT_TRUE(hasIssue(bad, Severity::kError, "Bundle.entry[0].resource.subject.reference", "not the version"))
      << describe(bad);
}

TEST(BundleIdentity, TwoEntriesWithOneIdentity) {
  OperationOutcome bad = validateJsonText(R"({"resourceType":"Bundle","type":"collection","entry":[
    {"resource":{"resourceType":"Patient","id":"p"}},{"resource":{"resourceType":"Patient","id":"p"}}]})");
  EXPECT_TRUE(hasIssue(bad, Severity::kError, "Bundle.entry[1]", "are the same resource")) << describe(bad);
  OperationOutcome versions = validateJsonText(R"({"resourceType":"Bundle","type":"history","entry":[
    {"resource":{"resourceType":"Patient","id":"p","meta":{"versionId":"1"}},"request":{"method":"PUT","url":"Patient/p"},"response":{"status":"200"}},
    {"resource":{"resourceType":"Patient","id":"p","meta":{"versionId":"2"}},"request":{"method":"PUT","url":"Patient/p"},"response":{"status":"200"}}]})");
  EXPECT_EQ(errorCount(versions), 0u) << describe(versions);
  OperationOutcome mismatch = validateJsonText(bundle("collection", patient("http://example.org/fhir/Patient/a", "b")));
  EXPECT_TRUE(hasIssue(mismatch, Severity::kWarning, "Bundle.entry[0]", "does not match the resource Patient/b"))
      << describe(mismatch);
}

std::string media(const std::string& attachment) {
  return R"({"resourceType":"Media","status":"completed","content":)" + attachment + "}";
}

TEST(AttachmentRules, SizeAndHashAgreeWithData) {
  OperationOutcome good = validateJsonText(media(
      R"({"contentType":"text/plain","data":"aGVsbG8gcGxhbmJybw==","size":13,"hash":"oPNjo0PvRxex6O1EROEdhbOhcJw="})"));
  EXPECT_EQ(errorCount(good), 0u) << describe(good);
  OperationOutcome size = validateJsonText(media(R"({"contentType":"text/plain","data":"aGVsbG8gcGxhbmJybw==","size":12})"));
  EXPECT_TRUE(hasIssue(size, Severity::kError, "Media.content.size", "the data holds 13 bytes")) << describe(size);
  OperationOutcome hash = validateJsonText(media(
      R"({"contentType":"text/plain","data":"aGVsbG8gcGxhbmJybw==","hash":"AAAAo0PvRxex6O1EROEdhbOhcJw="})"));
  EXPECT_TRUE(hasIssue(hash, Severity::kError, "Media.content.hash", "not the SHA-1")) << describe(hash);
  // Without data there is nothing to compare (a url points elsewhere).
  OperationOutcome url = validateJsonText(media(R"({"url":"http://example.org/a.txt","size":12,"hash":"AAAAo0PvRxex6O1EROEdhbOhcJw="})"));
  EXPECT_EQ(errorCount(url), 0u) << describe(url);
}

TEST(NarrativeLinks, LinksToIdsMustResolve) {
  auto patient_with = [](const std::string& div) {
    return R"({"resourceType":"Patient","id":"p","text":{"status":"generated","div":")" + div +
           R"("},"name":[{"id":"n1","family":"Hansen"}]})";
  };
  OperationOutcome good = validateJsonText(patient_with(
      R"(<div xmlns=\"http://www.w3.org/1999/xhtml\"><a href=\"#n1\">name</a> <a href=\"#here\">x</a><span id=\"here\">h</span></div>)"));
  EXPECT_EQ(good.issues().size(), 0u) << describe(good);
  OperationOutcome bad = validateJsonText(patient_with(
      R"(<div xmlns=\"http://www.w3.org/1999/xhtml\"><a href=\"#nowhere\">x</a></div>)"));
  EXPECT_TRUE(hasIssue(bad, Severity::kWarning, "Patient.text.div", "'#nowhere'")) << describe(bad);
}

}  // namespace
}  // namespace planbro::fhir
