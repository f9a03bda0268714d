// The hand-written primitive format checks against the lexical rules of the R4 definitions.

#include <gtest/gtest.h>

#include <cctype>
#include <string>
#include <string_view>

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

// The text checks find the first whitespace or control byte by blocks and words (16, 8, 4 bytes and the last
// block overlapping the ones before), not byte by byte: every length from 0 to 40, one byte of each class at every
// position (also two, the later one above the first), judged against the per-byte rules.
TEST(PrimitiveChecks, TextChecksFindEveryControlOrSpaceByteAtEveryPositionAndLength) {
  auto space = [](unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; };
  auto stringCharsByBytes = [](std::string_view s) {
    for (char c : s) {
      const auto u = static_cast<unsigned char>(c);
      if (u < 0x20 && c != '\t' && c != '\r' && c != '\n') return false;
    }
    return true;
  };
  auto codeByBytes = [&](std::string_view s) {
    if (s.empty() || space(s.front()) || space(s.back())) return false;
    for (size_t i = 1; i < s.size(); ++i) {
      if (space(s[i]) && space(s[i - 1])) return false;
    }
    return true;
  };
  auto absoluteUriByBytes = [&](std::string_view s) {
    const size_t colon = s.find(':');
    if (colon == std::string_view::npos || colon == 0) return false;
    if (!std::isalpha(static_cast<unsigned char>(s[0]))) return false;
    for (size_t i = 1; i < colon; ++i) {
      const char c = s[i];
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.')) return false;
    }
    if (colon + 1 >= s.size()) return false;
    for (char c : s) {
      if (space(static_cast<unsigned char>(c))) return false;
    }
    return true;
  };
  const unsigned char probes[] = {0x00, 0x01, 0x09, 0x0A, 0x0B, 0x0D, 0x1F, 0x20, 0x21, 0x7F, 0x80, 0xC3, 0xFF};
  size_t cases = 0;
  for (size_t n = 0; n <= 40; ++n) {
    const std::string plain = n == 0 ? std::string() : "h:" + std::string(n > 2 ? n - 2 : 0, 'a');
    const std::string base = plain.substr(0, n);
    ASSERT_EQ(base.size(), n);
    auto judge = [&](const std::string& s) {
      ++cases;
      ASSERT_EQ(isValidStringChars(s), stringCharsByBytes(s)) << n << " " << testing::PrintToString(s);
      ASSERT_EQ(isValidCode(s), codeByBytes(s)) << n << " " << testing::PrintToString(s);
      ASSERT_EQ(isAbsoluteUri(s), absoluteUriByBytes(s)) << n << " " << testing::PrintToString(s);
    };
    judge(base);
    for (size_t k = 0; k < n; ++k) {
      for (unsigned char c : probes) {
        std::string s = base;
        s[k] = static_cast<char>(c);
        judge(s);
        for (size_t later = k + 1; later < n; later += 3) {
          std::string two = s;
          two[later] = ' ';
          judge(two);
        }
      }
    }
  }
  EXPECT_GT(cases, 10000u);
}

// isValidId checks ids of 16 bytes or more by blocks (the last one overlapping): every byte value at every position
// of every length from 1 to 65, against the per-byte rule (A-Z, a-z, 0-9, '-', '.'; 1 to 64 bytes).
TEST(PrimitiveChecks, IdsAreCheckedAtEveryByteOfEveryLength) {
  auto idByBytes = [](std::string_view s) {
    if (s.empty() || s.size() > 64) return false;
    for (char c : s) {
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.')) return false;
    }
    return true;
  };
  for (size_t n = 1; n <= 65; ++n) {
    std::string base;
    for (size_t i = 0; i < n; ++i) base += "aZ09-.Qm"[i % 8];
    ASSERT_EQ(isValidId(base), n <= 64) << n;
    for (size_t k = 0; k < n; ++k) {
      for (int c = 0; c < 256; ++c) {
        std::string s = base;
        s[k] = static_cast<char>(c);
        ASSERT_EQ(isValidId(s), idByBytes(s)) << n << " " << k << " " << c;
      }
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
