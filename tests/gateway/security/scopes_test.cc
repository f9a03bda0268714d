// SMART scopes: v2 letters in order, v1 read/write, wildcards; anything malformed grants nothing.

#include "planbro/gateway/security/scopes.h"

#include <gtest/gtest.h>

namespace planbro::gateway::security {
namespace {

TEST(Scopes, V2AndV1FormsGrantWhatTheySay) {
  ScopeSet s = ScopeSet::parse("openid patient/CarePlan.rs user/Goal.cu system/*.d user/Task.read user/Flag.write");
  EXPECT_TRUE(s.permits(ScopePermission::kRead, "CarePlan"));
  EXPECT_TRUE(s.permits(ScopePermission::kSearch, "CarePlan"));
  EXPECT_FALSE(s.permits(ScopePermission::kCreate, "CarePlan"));
  EXPECT_TRUE(s.permits(ScopePermission::kCreate, "Goal"));
  EXPECT_TRUE(s.permits(ScopePermission::kUpdate, "Goal"));
  EXPECT_FALSE(s.permits(ScopePermission::kRead, "Goal"));
  EXPECT_TRUE(s.permits(ScopePermission::kDelete, "Patient"));
  EXPECT_TRUE(s.permits(ScopePermission::kSearch, "Task"));
  EXPECT_FALSE(s.permits(ScopePermission::kUpdate, "Task"));
  EXPECT_TRUE(s.permits(ScopePermission::kUpdate, "Flag"));
  EXPECT_FALSE(s.permits(ScopePermission::kRead, "Flag"));
  EXPECT_TRUE(s.has("openid"));
}

TEST(Scopes, MalformedScopesGrantNothing) {
  for (const char* bad : {"user/CarePlan.sr", "user/CarePlan.rr", "user/CarePlan.x", "user/carePlan.r", "user/.r",
                          "admin/CarePlan.r", "user/CarePlan.rs?category=x", "CarePlan.r", "user/CarePlan"}) {
    ScopeSet s = ScopeSet::parse(bad);
    EXPECT_TRUE(s.resourceScopes().empty()) << bad;
    EXPECT_FALSE(s.permits(ScopePermission::kRead, "CarePlan")) << bad;
  }
}

TEST(Scopes, InteractionsNeedTheirLetters) {
  EXPECT_EQ(permissionsForInteraction("read"), static_cast<uint8_t>(ScopePermission::kRead));
  EXPECT_EQ(permissionsForInteraction("search-type"), static_cast<uint8_t>(ScopePermission::kSearch));
  EXPECT_EQ(permissionsForInteraction("patch"), static_cast<uint8_t>(ScopePermission::kUpdate));
  EXPECT_EQ(permissionsForInteraction("capabilities"), 0);
  EXPECT_EQ(permissionsForInteraction("something-new"), 31) << "an unknown interaction needs every permission";
}

}  // namespace
}  // namespace planbro::gateway::security
