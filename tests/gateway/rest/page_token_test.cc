#include "planbro/gateway/rest/page_token.h"

#include <gtest/gtest.h>

namespace planbro::gateway::rest {
namespace {

using std::chrono::hours;
using std::chrono::seconds;

const store::Timestamp kNow{std::chrono::microseconds(1'800'000'000'000'000)};
const std::string kKey(store::kServerSecretSize, 'k');

const search::QueryParams kParams{{"subject:Patient.identifier", "urn:oid:2.16.578.1.12.4.1.4.1|13031353453"},
                                  {"_count", "2"},
                                  {"_cursor", "abc+def"}};

TEST(PageTokenSealer, OpensWhatItSealedWithoutShowingIt) {
  PageTokenSealer sealer(kKey, seconds(3600));
  std::string token = sealer.seal("CarePlan", kParams, kNow);
  EXPECT_EQ(token.find("13031353453"), std::string::npos);
  EXPECT_EQ(token.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
            std::string::npos);
  auto opened = sealer.open("CarePlan", token, kNow + hours(0));
  ASSERT_TRUE(opened.isOk()) << opened.status().message();
  EXPECT_EQ(*opened, kParams);
}

TEST(PageTokenSealer, SealingTheSameParametersTwiceGivesDifferentTokens) {
  PageTokenSealer sealer(kKey, seconds(3600));
  EXPECT_NE(sealer.seal("CarePlan", kParams, kNow), sealer.seal("CarePlan", kParams, kNow));
}

TEST(PageTokenSealer, RefusesExpiredAlteredForeignAndMalformedTokens) {
  PageTokenSealer sealer(kKey, seconds(60));
  std::string token = sealer.seal("CarePlan", kParams, kNow);
  EXPECT_TRUE(sealer.open("CarePlan", token, kNow + seconds(60)).isOk());
  EXPECT_FALSE(sealer.open("CarePlan", token, kNow + seconds(61)).isOk());
  EXPECT_FALSE(sealer.open("Goal", token, kNow).isOk());
  PageTokenSealer other(std::string(store::kServerSecretSize, 'x'), seconds(60));
  EXPECT_FALSE(other.open("CarePlan", token, kNow).isOk());
  for (size_t i = 0; i < token.size(); i += 7) {
    std::string altered = token;
    altered[i] = altered[i] == 'A' ? 'B' : 'A';
    EXPECT_FALSE(sealer.open("CarePlan", altered, kNow).isOk()) << "position " << i;
  }
  for (std::string_view bad : {"", "A", "not a token!", "%41%41", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}) {
    auto r = sealer.open("CarePlan", bad, kNow);
    ASSERT_FALSE(r.isOk()) << bad;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  }
  EXPECT_FALSE(sealer.open("CarePlan", std::string(20000, 'A'), kNow).isOk());
}

}  // namespace
}  // namespace planbro::gateway::rest
