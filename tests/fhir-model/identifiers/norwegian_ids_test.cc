// Norwegian identifier checks against the vectors of ../shared/domain/norwegian-standards.md §4 and generated
// numbers (fixed seed, bounded loops).
#include "planbro/fhir-model/norwegian_ids.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <random>
#include <string>

namespace planbro::fhir::no {
namespace {

constexpr std::array<const char*, 8> kValidFnr = {"13116900216", "15076500565", "12050050295", "04021950128",
                                                  "04048900181", "28031561584", "17054026641", "22095314442"};
constexpr std::array<const char*, 2> kValidFhn = {"81212121223", "94545456561"};
constexpr std::array<const char*, 7> kValidOrgnr = {"123456785", "701730496", "994598759", "912159523",
                                                    "922734046", "889640782", "983544622"};

TEST(PersonNumber, AcceptsEveryValidFodselsnummerVector) {
  for (const char* fnr : kValidFnr) {
    auto kind = classifyPersonNumber(fnr);
    ASSERT_TRUE(kind.isOk()) << fnr << ": " << kind.status().message();
    EXPECT_EQ(*kind, PersonNumberKind::kFodselsnummer) << fnr;
    auto strict = classifyPersonNumber(fnr, /*allow_2032_k1=*/false);
    EXPECT_TRUE(strict.isOk()) << fnr;
    EXPECT_EQ(checkIdentifierValue(IdentifierSystem::kFnr, fnr), std::nullopt) << fnr;
  }
}

TEST(PersonNumber, ReadsBirthDateWithCenturyFromIndividnummer) {
  auto info = analysePersonNumber("13116900216");  // individnummer 002 → 1900s
  ASSERT_TRUE(info.isOk());
  EXPECT_EQ(info->birth_year, 1969);
  EXPECT_EQ(info->birth_month, 11);
  EXPECT_EQ(info->birth_day, 13);
  auto y2000 = analysePersonNumber("12050050295");  // individnummer 502, yy 00 → 2000
  ASSERT_TRUE(y2000.isOk());
  EXPECT_EQ(y2000->birth_year, 2000);
  auto y2015 = analysePersonNumber("28031561584");
  ASSERT_TRUE(y2015.isOk());
  EXPECT_EQ(y2015->birth_year, 2015);
}

TEST(PersonNumber, AcceptsFellesHjelpenummerVectors) {
  for (const char* fhn : kValidFhn) {
    auto kind = classifyPersonNumber(fhn);
    ASSERT_TRUE(kind.isOk()) << fhn << ": " << kind.status().message();
    EXPECT_EQ(*kind, PersonNumberKind::kFellesHjelpenummer) << fhn;
    EXPECT_EQ(checkIdentifierValue(IdentifierSystem::kFhn, fhn), std::nullopt) << fhn;
    EXPECT_NE(checkIdentifierValue(IdentifierSystem::kFnr, fhn), std::nullopt) << fhn;
  }
}

TEST(PersonNumber, ClassifiesDipsFhnExampleAsHNummerNotFellesHjelpenummer) {
  auto info = analysePersonNumber("26467749659");
  ASSERT_TRUE(info.isOk()) << info.status().message();
  EXPECT_EQ(info->kind, PersonNumberKind::kHNummer);
  EXPECT_TRUE(info->month_plus_40);
  EXPECT_EQ(info->birth_month, 6);
  auto reason = checkIdentifierValue(IdentifierSystem::kFhn, "26467749659");
  ASSERT_TRUE(reason.has_value());
  EXPECT_NE(reason->find("first digit must be 8 or 9"), std::string::npos);
  EXPECT_EQ(checkIdentifierValue(IdentifierSystem::kHnr, "26467749659"), std::nullopt);
  EXPECT_NE(checkIdentifierValue(IdentifierSystem::kFnr, "26467749659"), std::nullopt);
}

TEST(PersonNumber, RejectsNoBasisExampleWithWrongK1) {
  // K1 computes to 3 but is 5. (Σ W1·d + 5) mod 11 = 2 passes the 2032 K1 rule, so then K2 rejects it.
  EXPECT_FALSE(classifyPersonNumber("13057444850", /*allow_2032_k1=*/true).isOk());
  auto kind = classifyPersonNumber("13057444850", /*allow_2032_k1=*/false);
  ASSERT_FALSE(kind.isOk());
  EXPECT_EQ(kind.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(kind.status().message().find("K1"), std::string::npos);
  EXPECT_EQ(kind.status().message().find("13057444850"), std::string::npos) << "must not echo the number";
  EXPECT_NE(checkIdentifierValue(IdentifierSystem::kFnr, "13057444850"), std::nullopt);
}

TEST(PersonNumber, RejectsWrongLengthAndNonDigits) {
  EXPECT_FALSE(classifyPersonNumber("").isOk());
  EXPECT_FALSE(classifyPersonNumber("1311690021").isOk());
  EXPECT_FALSE(classifyPersonNumber("131169002160").isOk());
  EXPECT_FALSE(classifyPersonNumber("131169 0216").isOk());
  EXPECT_FALSE(classifyPersonNumber("1311690021a").isOk());
  EXPECT_FALSE(classifyPersonNumber("13116900216\n").isOk());
  EXPECT_FALSE(classifyPersonNumber(std::string_view("1311690\0216", 11)).isOk());
}

TEST(PersonNumber, StripSeparatorsNormalisesSpacesAndDashes) {
  EXPECT_EQ(stripSeparators("131169 00216"), "13116900216");
  EXPECT_EQ(stripSeparators("131169-00216"), "13116900216");
  EXPECT_TRUE(classifyPersonNumber(stripSeparators("131169 00216")).isOk());
}

TEST(PersonNumber, DNummerAddsFortyToTheDay) {
  // 13116900216 as a D-nummer: day 13 + 40 = 53, recompute the check digits.
  auto dnr = withCheckDigits("531169003");
  ASSERT_TRUE(dnr.has_value());
  auto info = analysePersonNumber(*dnr);
  ASSERT_TRUE(info.isOk()) << info.status().message();
  EXPECT_EQ(info->kind, PersonNumberKind::kDNummer);
  EXPECT_EQ(info->birth_day, 13);
  EXPECT_EQ(checkIdentifierValue(IdentifierSystem::kDnr, *dnr), std::nullopt);
  EXPECT_NE(checkIdentifierValue(IdentifierSystem::kFnr, *dnr), std::nullopt);
  EXPECT_NE(checkIdentifierValue(IdentifierSystem::kDnr, "13116900216"), std::nullopt);
}

TEST(PersonNumber, TenorSyntheticAddsEightyToTheMonthAndPassesAsFnr) {
  auto tnr = withCheckDigits("139169002");
  ASSERT_TRUE(tnr.has_value());
  auto info = analysePersonNumber(*tnr);
  ASSERT_TRUE(info.isOk()) << info.status().message();
  EXPECT_EQ(info->kind, PersonNumberKind::kSynthetic);
  EXPECT_EQ(info->birth_month, 11);
  EXPECT_EQ(checkIdentifierValue(IdentifierSystem::kFnr, *tnr), std::nullopt);
}

TEST(PersonNumber, CombinationsKeepEveryOffset) {
  auto dnr_tnr = withCheckDigits("539169002");  // day + 40 and month + 80
  ASSERT_TRUE(dnr_tnr.has_value());
  auto info = analysePersonNumber(*dnr_tnr);
  ASSERT_TRUE(info.isOk()) << info.status().message();
  EXPECT_EQ(info->kind, PersonNumberKind::kSynthetic);
  EXPECT_TRUE(info->day_plus_40);
  EXPECT_TRUE(info->month_plus_80);
  EXPECT_EQ(checkIdentifierValue(IdentifierSystem::kDnr, *dnr_tnr), std::nullopt);

  auto dnr_hnr = withCheckDigits("535169002");  // day + 40 and month + 40
  ASSERT_TRUE(dnr_hnr.has_value());
  auto info2 = analysePersonNumber(*dnr_hnr);
  ASSERT_TRUE(info2.isOk()) << info2.status().message();
  EXPECT_EQ(info2->kind, PersonNumberKind::kHNummer);
  EXPECT_TRUE(info2->day_plus_40);
  EXPECT_TRUE(info2->month_plus_40);
}

TEST(PersonNumber, RejectsImpossibleDates) {
  for (const char* nine : {"320169002", "310469002", "001169002", "130069002", "131369002", "721169002",
                           "135369002", "139369002"}) {
    auto number = withCheckDigits(nine);
    if (!number) continue;  // no valid check digits for this stem: nothing to test
    EXPECT_FALSE(classifyPersonNumber(*number).isOk()) << nine;
  }
}

TEST(PersonNumber, LeapDayDependsOnCenturyFromIndividnummer) {
  // 29 Feb 00: individnummer 500-999 → 2000 (leap year); 000-499 → 1900 (not a leap year).
  for (int individ = 0; individ < 1000; individ += 7) {
    char nine[16];
    std::snprintf(nine, sizeof(nine), "290200%03d", individ);
    auto number = withCheckDigits(nine);
    if (!number) continue;
    EXPECT_EQ(classifyPersonNumber(*number).isOk(), individ >= 500) << individ;
  }
}

TEST(PersonNumber, RejectsIndividnummerThatFitsNoCentury) {
  // individnummer 750-899 exists only for 2000-2039; with yy 69 it fits no century.
  auto number = withCheckDigits("131169800");
  ASSERT_TRUE(number.has_value());
  auto kind = classifyPersonNumber(*number);
  ASSERT_FALSE(kind.isOk());
  EXPECT_NE(kind.status().message().find("individnummer"), std::string::npos);
}

// A random valid birth date plus an individnummer consistent with its century.
std::string randomStem(std::mt19937& rng) {
  std::uniform_int_distribution<int> year_dist(1854, 2039);
  std::uniform_int_distribution<int> month_dist(1, 12);
  const int year = year_dist(rng);
  const int month = month_dist(rng);
  static constexpr std::array<int, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int days = kDays[static_cast<size_t>(month - 1)];
  if (month == 2 && ((year % 4 == 0 && year % 100 != 0) || year % 400 == 0)) days = 29;
  const int day = std::uniform_int_distribution<int>(1, days)(rng);
  int individ = 0;
  if (year < 1900) {
    individ = std::uniform_int_distribution<int>(500, 749)(rng);
  } else if (year < 2000) {
    individ = std::uniform_int_distribution<int>(0, 499)(rng);
  } else {
    individ = std::uniform_int_distribution<int>(500, 999)(rng);
  }
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%02d%02d%02d%03d", day, month, year % 100, individ);
  return buf;
}

TEST(PersonNumberProperty, GeneratedNumbersForValidDatesAreAcceptedWithTheirDate) {
  std::mt19937 rng(20261123);
  int checked = 0;
  for (int i = 0; i < 20000; ++i) {
    const std::string stem = randomStem(rng);
    auto number = withCheckDigits(stem);
    if (!number) continue;
    auto info = analysePersonNumber(*number, /*allow_2032_k1=*/false);
    ASSERT_TRUE(info.isOk()) << stem << ": " << info.status().message();
    EXPECT_EQ(info->kind, PersonNumberKind::kFodselsnummer);
    EXPECT_EQ(info->birth_day, std::stoi(stem.substr(0, 2)));
    EXPECT_EQ(info->birth_month, std::stoi(stem.substr(2, 2)));
    EXPECT_EQ(info->birth_year % 100, std::stoi(stem.substr(4, 2)));
    ++checked;
  }
  EXPECT_GT(checked, 10000);
}

TEST(PersonNumberProperty, ChangingAnySingleDigitIsRejected) {
  std::mt19937 rng(42);
  int checked = 0;
  for (int i = 0; i < 2000; ++i) {
    auto number = withCheckDigits(randomStem(rng));
    if (!number) continue;
    for (size_t pos = 0; pos < 11; ++pos) {
      for (char d = '0'; d <= '9'; ++d) {
        if (d == (*number)[pos]) continue;
        std::string changed = *number;
        changed[pos] = d;
        EXPECT_FALSE(classifyPersonNumber(changed, /*allow_2032_k1=*/true).isOk()) << pos;
        ++checked;
      }
    }
  }
  EXPECT_GT(checked, 100000);
}

TEST(PersonNumberProperty, K1ValuesOfThe2032RuleAreAcceptedOnlyWhenAllowed) {
  std::mt19937 rng(2032);
  int checked = 0;
  for (int i = 0; i < 5000; ++i) {
    const std::string stem = randomStem(rng);
    static constexpr std::array<int, 9> kW1 = {3, 7, 6, 1, 8, 9, 4, 5, 2};
    static constexpr std::array<int, 10> kW2 = {5, 4, 3, 2, 7, 6, 5, 4, 3, 2};
    int sum1 = 0;
    for (size_t j = 0; j < 9; ++j) sum1 += kW1[j] * (stem[j] - '0');
    for (int k1 = 0; k1 <= 9; ++k1) {
      const int rest = (sum1 + k1) % 11;
      std::string with_k1 = stem + static_cast<char>('0' + k1);
      int sum2 = 0;
      for (size_t j = 0; j < 10; ++j) sum2 += kW2[j] * (with_k1[j] - '0');
      const int k2 = (11 - sum2 % 11) % 11;
      if (k2 == 10) continue;
      const std::string number = with_k1 + static_cast<char>('0' + k2);
      auto info = analysePersonNumber(number, /*allow_2032_k1=*/true);
      EXPECT_EQ(info.isOk(), rest <= 3) << number;
      EXPECT_EQ(classifyPersonNumber(number, /*allow_2032_k1=*/false).isOk(), rest == 0) << number;
      if (info.isOk()) {
        EXPECT_EQ(info->k1_by_2032_rule, rest != 0);
      }
      ++checked;
    }
  }
  EXPECT_GT(checked, 20000);
}

TEST(PersonNumberProperty, FellesHjelpenummerNeedsNoDateButBothCheckDigits) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> digit(0, 9);
  int checked = 0;
  for (int i = 0; i < 5000; ++i) {
    std::string stem(1, static_cast<char>('8' + (i % 2)));
    for (int j = 0; j < 8; ++j) stem.push_back(static_cast<char>('0' + digit(rng)));
    auto number = withCheckDigits(stem);
    if (!number) continue;
    auto kind = classifyPersonNumber(*number);
    ASSERT_TRUE(kind.isOk()) << kind.status().message();
    EXPECT_EQ(*kind, PersonNumberKind::kFellesHjelpenummer);
    std::string bad = *number;
    bad[10] = static_cast<char>('0' + ((bad[10] - '0' + 1) % 10));
    EXPECT_FALSE(classifyPersonNumber(bad).isOk());
    ++checked;
  }
  EXPECT_GT(checked, 2500);
}

TEST(OrganisationNumber, AcceptsEveryValidVector) {
  for (const char* orgnr : kValidOrgnr) {
    EXPECT_TRUE(isValidOrganisationNumber(orgnr)) << orgnr;
    EXPECT_EQ(checkIdentifierValue(IdentifierSystem::kOrgnr, orgnr), std::nullopt) << orgnr;
  }
}

TEST(OrganisationNumber, RejectsEverySingleDigitChangeAndBadShapes) {
  for (const char* orgnr : kValidOrgnr) {
    for (size_t pos = 0; pos < 9; ++pos) {
      for (char d = '0'; d <= '9'; ++d) {
        std::string changed = orgnr;
        if (changed[pos] == d) continue;
        changed[pos] = d;
        EXPECT_FALSE(isValidOrganisationNumber(changed)) << changed;
      }
    }
  }
  EXPECT_FALSE(isValidOrganisationNumber(""));
  EXPECT_FALSE(isValidOrganisationNumber("12345678"));
  EXPECT_FALSE(isValidOrganisationNumber("1234567850"));
  EXPECT_FALSE(isValidOrganisationNumber("12345678a"));
  EXPECT_NE(checkIdentifierValue(IdentifierSystem::kOrgnr, "123456784"), std::nullopt);
}

TEST(OrganisationNumber, RejectsStemsWhoseCheckDigitWouldBeTen) {
  // Find stems with remainder 1 (check digit 10): no final digit makes them valid.
  int found = 0;
  for (int stem = 10000000; stem < 10000200; ++stem) {
    std::string s = std::to_string(stem);
    static constexpr std::array<int, 8> kW = {3, 2, 7, 6, 5, 4, 3, 2};
    int sum = 0;
    for (size_t i = 0; i < 8; ++i) sum += kW[i] * (s[i] - '0');
    if (sum % 11 != 1) continue;
    ++found;
    for (char d = '0'; d <= '9'; ++d) EXPECT_FALSE(isValidOrganisationNumber(s + d)) << s << d;
  }
  EXPECT_GT(found, 0);
}

TEST(IdentifierValue, HprIsOneToNineDigitsAndNotZero) {
  for (const char* ok : {"1", "9144900", "565501872", "012345"}) {
    EXPECT_EQ(checkIdentifierValue(IdentifierSystem::kHpr, ok), std::nullopt) << ok;
  }
  for (const char* bad : {"", "0", "000", "1234567890", "+123", "12 34", "12a"}) {
    EXPECT_NE(checkIdentifierValue(IdentifierSystem::kHpr, bad), std::nullopt) << bad;
  }
}

TEST(IdentifierValue, HerIdAndReshArePositiveIntegers) {
  for (auto kind : {IdentifierSystem::kHerId, IdentifierSystem::kResh}) {
    for (const char* ok : {"1", "8142987", "4001031", "2147483647"}) {
      EXPECT_EQ(checkIdentifierValue(kind, ok), std::nullopt) << ok;
    }
    for (const char* bad : {"", "0", "-5", "0123", "12.5", "2147483648", "99999999999", " 1"}) {
      EXPECT_NE(checkIdentifierValue(kind, bad), std::nullopt) << bad;
    }
  }
}

TEST(IdentifierValue, DufIsTwelveDigits) {
  EXPECT_EQ(checkIdentifierValue(IdentifierSystem::kDuf, "201012345678"), std::nullopt);
  EXPECT_NE(checkIdentifierValue(IdentifierSystem::kDuf, "20101234567"), std::nullopt);
  EXPECT_NE(checkIdentifierValue(IdentifierSystem::kDuf, "2010123456789"), std::nullopt);
  EXPECT_NE(checkIdentifierValue(IdentifierSystem::kDuf, "20101234567x"), std::nullopt);
}

TEST(IdentifierValue, ReasonsNeverEchoTheValue) {
  for (const char* value : {"13057444850", "26467749659", "99999999999"}) {
    for (auto kind : {IdentifierSystem::kFnr, IdentifierSystem::kDnr, IdentifierSystem::kFhn}) {
      auto reason = checkIdentifierValue(kind, value);
      if (reason) {
        EXPECT_EQ(reason->find(value), std::string::npos) << *reason;
      }
    }
  }
}

TEST(IdentifierSystems, MapsOidsAndAliasesBothWays) {
  struct Case {
    IdentifierSystem kind;
    const char* oid;
    const char* alias;
  };
  const Case cases[] = {
      {IdentifierSystem::kFnr, "urn:oid:2.16.578.1.12.4.1.4.1", "http://hl7.no/fhir/NamingSystem/FNR"},
      {IdentifierSystem::kDnr, "urn:oid:2.16.578.1.12.4.1.4.2", "http://hl7.no/fhir/NamingSystem/DNR"},
      {IdentifierSystem::kFhn, "urn:oid:2.16.578.1.12.4.1.4.3", "http://hl7.no/fhir/NamingSystem/FHNR"},
      {IdentifierSystem::kHpr, "urn:oid:2.16.578.1.12.4.1.4.4", "http://hl7.no/fhir/NamingSystem/HPR"},
      {IdentifierSystem::kDuf, "urn:oid:2.16.578.1.12.4.1.4.5", "http://hl7.no/fhir/NamingSystem/DUFN"},
      {IdentifierSystem::kHerId, "urn:oid:2.16.578.1.12.4.1.2", "http://hl7.no/fhir/NamingSystem/HERid"},
      {IdentifierSystem::kOrgnr, "urn:oid:2.16.578.1.12.4.1.4.101", "http://data.brreg.no/begrep/28155"},
      {IdentifierSystem::kResh, "urn:oid:2.16.578.1.12.4.1.4.102", "http://hl7.no/fhir/NamingSystem/RESHid"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(identifierSystemFor(c.oid), c.kind) << c.oid;
    EXPECT_EQ(identifierSystemFor(c.alias), c.kind) << c.alias;
    EXPECT_EQ(preferredSystemUri(c.kind), c.oid);
    EXPECT_FALSE(isAliasSystemUri(c.oid));
    EXPECT_TRUE(isAliasSystemUri(c.alias));
    EXPECT_FALSE(identifierSystemName(c.kind).empty());
  }
  EXPECT_EQ(identifierSystemFor("HNR"), IdentifierSystem::kHnr);
  EXPECT_TRUE(preferredSystemUri(IdentifierSystem::kHnr).empty());
}

TEST(IdentifierSystems, UnknownAndNearMissUrisAreNotNorwegian) {
  for (const char* uri : {"", "urn:oid:2.16.578.1.12.4.1.4", "urn:oid:2.16.578.1.12.4.1.4.1026",
                          "urn:oid:2.16.578.1.12.4.1.4.10", "http://hl7.no/fhir/NamingSystem/fnr",
                          "urn:oid:2.16.578.1.12.4.1.4.1 ", "2.16.578.1.12.4.1.4.1", "http://example.org/mrn"}) {
    EXPECT_EQ(identifierSystemFor(uri), std::nullopt) << uri;
    EXPECT_FALSE(isAliasSystemUri(uri)) << uri;
  }
}

TEST(Masking, KeepsTheBirthDateAndHidesTheRest) {
  EXPECT_EQ(maskPersonNumber("13116900216"), "131169*****");
  EXPECT_EQ(maskPersonNumber("1311"), "****");
  EXPECT_EQ(maskPersonNumber(""), "");
  EXPECT_EQ(maskPersonNumber(std::string(100, '1')), std::string(32, '*'));
}

}  // namespace
}  // namespace planbro::fhir::no
