// The hand-written primitive format checks against the lexical rules of the R4 definitions.

#include <gtest/gtest.h>

#include "../../../fhir-model/src/validation/primitive_checks.h"

namespace planbro::fhir::validation {
namespace {

TEST(PrimitiveChecks, DatesMustBeRealCalendarDates) {
  EXPECT_TRUE(isValidDate("2024"));
  EXPECT_TRUE(isValidDate("2024-02"));
  EXPECT_TRUE(isValidDate("2024-02-29"));
  EXPECT_FALSE(isValidDate("2023-02-29"));
  EXPECT_FALSE(isValidDate("1900-02-29"));
  EXPECT_TRUE(isValidDate("2000-02-29"));
  EXPECT_FALSE(isValidDate("2024-04-31"));
  EXPECT_FALSE(isValidDate("2024-13"));
  EXPECT_FALSE(isValidDate("0000"));
  EXPECT_FALSE(isValidDate("24-01-01"));
  EXPECT_FALSE(isValidDate("2024-1-01"));
  EXPECT_FALSE(isValidDate("2024-01-01T10:00:00Z"));
}

TEST(PrimitiveChecks, DateTimeWithTimeNeedsSecondsAndZone) {
  EXPECT_TRUE(isValidDateTime("2015-02-07T13:28:17-05:00"));
  EXPECT_TRUE(isValidDateTime("2015-02-07T13:28:17.239+02:00"));
  EXPECT_TRUE(isValidDateTime("2015-02-07T13:28:17Z"));
  EXPECT_TRUE(isValidDateTime("2015-02"));
  EXPECT_FALSE(isValidDateTime("2015-02-07T13:28:17"));
  EXPECT_FALSE(isValidDateTime("2015-02-07T13:28Z"));
  EXPECT_FALSE(isValidDateTime("2015-02-07T24:00:00Z"));
  EXPECT_FALSE(isValidDateTime("2015-02-07T13:28:17+15:00"));
  EXPECT_TRUE(isValidDateTime("2015-02-07T13:28:17+14:00"));
  EXPECT_FALSE(isValidDateTime("2015-02T13:28:17Z"));
}

TEST(PrimitiveChecks, InstantNeedsFullPrecision) {
  EXPECT_TRUE(isValidInstant("2015-02-07T13:28:17.239+02:00"));
  EXPECT_FALSE(isValidInstant("2015-02-07"));
  EXPECT_FALSE(isValidInstant("2015-02-07T13:28:17"));
}

TEST(PrimitiveChecks, TimeIsHoursMinutesSeconds) {
  EXPECT_TRUE(isValidTime("23:59:59"));
  EXPECT_TRUE(isValidTime("08:00:00.5"));
  EXPECT_FALSE(isValidTime("8:00:00"));
  EXPECT_FALSE(isValidTime("08:00"));
  EXPECT_FALSE(isValidTime("08:00:00Z"));
}

TEST(PrimitiveChecks, IntegersAreThirtyTwoBit) {
  EXPECT_TRUE(isValidInteger32("0"));
  EXPECT_TRUE(isValidInteger32("-2147483648"));
  EXPECT_TRUE(isValidInteger32("2147483647"));
  EXPECT_FALSE(isValidInteger32("2147483648"));
  EXPECT_FALSE(isValidInteger32("1.0"));
  EXPECT_FALSE(isValidInteger32("1e3"));
  EXPECT_FALSE(isValidInteger32("01"));
  EXPECT_EQ(checkPrimitive(PrimitiveKind::kPositiveInt, "0") != nullptr, true);
  EXPECT_EQ(checkPrimitive(PrimitiveKind::kPositiveInt, "1"), nullptr);
  EXPECT_EQ(checkPrimitive(PrimitiveKind::kUnsignedInt, "0"), nullptr);
  EXPECT_NE(checkPrimitive(PrimitiveKind::kUnsignedInt, "-1"), nullptr);
}

TEST(PrimitiveChecks, DecimalFollowsJsonNumberGrammar) {
  EXPECT_TRUE(isValidDecimal("1.10"));
  EXPECT_TRUE(isValidDecimal("-0.5"));
  EXPECT_TRUE(isValidDecimal("1e-3"));
  EXPECT_FALSE(isValidDecimal("1."));
  EXPECT_FALSE(isValidDecimal(".5"));
  EXPECT_FALSE(isValidDecimal("01"));
}

TEST(PrimitiveChecks, IdsOidsAndUuids) {
  EXPECT_TRUE(isValidId("example-1.2"));
  EXPECT_FALSE(isValidId("bad_id"));
  EXPECT_FALSE(isValidId("bad id"));
  EXPECT_FALSE(isValidId(std::string(65, 'a')));
  EXPECT_TRUE(isValidId(std::string(64, 'a')));
  EXPECT_TRUE(isValidOid("urn:oid:2.16.578.1.12.4.1.4.1"));
  EXPECT_FALSE(isValidOid("urn:oid:3.1"));
  EXPECT_FALSE(isValidOid("urn:oid:1.02"));
  EXPECT_TRUE(isValidUuid("urn:uuid:a76d9bbf-f293-4fb7-ad4c-2851cac77162"));
  EXPECT_FALSE(isValidUuid("urn:uuid:A76D9BBF-F293-4FB7-AD4C-2851CAC77162"));
}

TEST(PrimitiveChecks, CodesHaveNoSurroundingWhitespace) {
  EXPECT_TRUE(isValidCode("final"));
  EXPECT_TRUE(isValidCode("a b"));
  EXPECT_FALSE(isValidCode(" final"));
  EXPECT_FALSE(isValidCode("final "));
  EXPECT_FALSE(isValidCode("a  b"));
}

TEST(PrimitiveChecks, Base64AndStrings) {
  EXPECT_TRUE(isValidBase64("SGVsbG8="));
  EXPECT_TRUE(isValidBase64("SGVs\nbG8="));
  EXPECT_FALSE(isValidBase64("%%%2@()()"));
  EXPECT_FALSE(isValidBase64("SG=Vs"));
  EXPECT_TRUE(isValidStringChars("line\nbreak\ttab"));
  EXPECT_FALSE(isValidStringChars(std::string("nul\x01", 4)));
  EXPECT_TRUE(isAbsoluteUri("http://loinc.org"));
  EXPECT_TRUE(isAbsoluteUri("urn:oid:1.2"));
  EXPECT_FALSE(isAbsoluteUri("loinc.org"));
  EXPECT_FALSE(isAbsoluteUri("Patient/1"));
}

TEST(PrimitiveChecks, Base64BlocksRejectEveryByteOutsideTheAlphabetAtEveryPosition) {
  // Long values are checked 16 bytes at a time: each byte next to an alphabet range, and non-ASCII, must still be
  // caught wherever it stands in a block.
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string valid;
  for (int i = 0; i < 3; ++i) valid += alphabet;  // 192 characters, a multiple of 4
  ASSERT_TRUE(isValidBase64(valid));
  ASSERT_TRUE(isValidBase64(valid.substr(0, 188) + "AB=="));
  const std::string outside = std::string("@[`{.:-_,*=") + '\x00' + '\x7f' + '\x80' + '\xc1' + '\xff';
  for (size_t at = 0; at < 70; ++at) {
    for (char c : outside) {
      std::string bad = valid;
      bad[at] = c;
      EXPECT_FALSE(isValidBase64(bad)) << "byte " << static_cast<int>(static_cast<unsigned char>(c)) << " at " << at;
    }
  }
}

TEST(PrimitiveChecks, TypeCodesMapToKinds) {
  EXPECT_EQ(primitiveKindFor("dateTime"), PrimitiveKind::kDateTime);
  EXPECT_EQ(primitiveKindFor("http://hl7.org/fhirpath/System.String"), PrimitiveKind::kString);
  EXPECT_FALSE(primitiveKindFor("HumanName").has_value());
}

}  // namespace
}  // namespace planbro::fhir::validation
