// The XML limits hold before libxml2 parses: 100,000 attributes on one element took 31 s in libxml2's quadratic
// duplicate check. The pre-scan is linear, counts what libxml2 would see, and skips comments, CDATA and PIs.
#include <gtest/gtest.h>

#include <string>

#include "planbro/fhir-model/fhir_xml.h"

namespace planbro::fhir {
namespace {

std::string withAttributes(size_t n) {
  std::string xml = "<Patient xmlns=\"http://hl7.org/fhir\"";
  for (size_t i = 0; i < n; ++i) xml += " a" + std::to_string(i) + "=\"x\"";
  return xml + "/>";
}

TEST(XmlLimits, ManyAttributesAreRejectedBeforeParsing) {
  auto r = fhirXmlToJson(withAttributes(100000));
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(r.status().message().find("64 attributes"), std::string::npos) << r.status().message();
  // Within the limit the element reaches the converter, which rejects the unknown attribute by name.
  auto few = fhirXmlToJson(withAttributes(3));
  ASSERT_FALSE(few.isOk());
  EXPECT_EQ(few.status().code(), StatusCode::kInvalidArgument) << few.status().message();
}

TEST(XmlLimits, AttributeLimitIsConfigurable) {
  XmlLimits limits;
  limits.max_attributes = 2;
  const std::string xml = R"(<Patient xmlns="http://hl7.org/fhir"><id value="a"/><gender value="male"/></Patient>)";
  EXPECT_TRUE(fhirXmlToJson(xml, limits).isOk());
  const std::string three = R"(<Patient xmlns="http://hl7.org/fhir" xmlns:x="urn:x" x:a="1"><id value="a"/></Patient>)";
  auto r = fhirXmlToJson(three, limits);
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), StatusCode::kResourceExhausted) << r.status().message();
}

TEST(XmlLimits, LongNamesAndDeepNestingAreRejected) {
  auto name = fhirXmlToJson("<Patient xmlns=\"http://hl7.org/fhir\"><" + std::string(10000, 'x') + "/></Patient>");
  ASSERT_FALSE(name.isOk());
  EXPECT_NE(name.status().message().find("name of 10000 bytes"), std::string::npos) << name.status().message();
  auto attr = fhirXmlToJson("<Patient xmlns=\"http://hl7.org/fhir\" " + std::string(300, 'a') + "=\"1\"/>");
  ASSERT_FALSE(attr.isOk());
  EXPECT_EQ(attr.status().code(), StatusCode::kResourceExhausted);
  std::string deep = "<Patient xmlns=\"http://hl7.org/fhir\">";
  for (int i = 0; i < 100000; ++i) deep += "<extension>";
  auto d = fhirXmlToJson(deep);
  ASSERT_FALSE(d.isOk());
  EXPECT_EQ(d.status().code(), StatusCode::kResourceExhausted);
}

TEST(XmlLimits, PrescanSkipsWhatIsNotATag) {
  // Comments, CDATA, PIs and '>' in attribute values do not count as tags or attributes.
  std::string noise = "<!-- <a b=\"1\" c=\"2\" d=\"3\"> -->";
  const std::string xml = "<?xml version=\"1.0\"?>" + noise +
                          R"(<Patient xmlns="http://hl7.org/fhir"><id value="a&gt;b"/>)"
                          R"(<text><status value="generated"/><div xmlns="http://www.w3.org/1999/xhtml">)"
                          R"(<p title="x > y">1 &lt; 2</p><?pi a="1" b="2" c="3"?></div></text></Patient>)";
  XmlLimits limits;
  limits.max_attributes = 1;
  auto r = fhirXmlToJson(xml, limits);
  EXPECT_TRUE(r.isOk()) << r.status().message();
}

TEST(XmlLimits, MalformedTextIsLeftToTheParser) {
  auto r = fhirXmlToJson("<Patient xmlns=\"http://hl7.org/fhir\" a=");
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace planbro::fhir

namespace planbro::fhir {
namespace {

TEST(XmlToJsonCollecting, ReportsEveryContentErrorAndConvertsTheRest) {
  const std::string xml = "<Patient xmlns=\"http://hl7.org/fhir\" bogus=\"1\">\n<active value=\"yes\"/>\n<foo/>\n"
                          "<name><family value=\"A\"/><bar/></name>\n<birthDate value=\"2000-01-01\"/>\n"
                          "<multipleBirthInteger value=\"1.5\"/><contained><Unknown/></contained></Patient>";
  OperationOutcome issues;
  auto r = fhirXmlToJson(xml, XmlLimits{}, issues);
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(writeJson(r->root()), R"({"resourceType":"Patient","name":[{"family":"A"}],"birthDate":"2000-01-01"})");
  ASSERT_EQ(issues.issues().size(), 6u) << issues.toJson();
  EXPECT_NE(issues.issues()[0].diagnostics.find("unknown attribute 'bogus'"), std::string::npos);
  EXPECT_NE(issues.issues()[1].diagnostics.find("invalid boolean 'yes' (line 2)"), std::string::npos);
  EXPECT_EQ(issues.issues()[1].location, "Patient.active");
  EXPECT_EQ(issues.issues()[3].location, "Patient.name[0]");
  for (const Issue& issue : issues.issues()) EXPECT_EQ(issue.severity, Severity::kError);
  // The stopping form still stops at the first.
  EXPECT_FALSE(fhirXmlToJson(xml).isOk());
}

}  // namespace
}  // namespace planbro::fhir
