// The single access-decision stage: one policy sees every read, search match, included resource, history entry and
// write, also inside Bundles. A policy that hides one Goal (by its description) proves there is no path around it.

#include <mutex>
#include <set>

#include "rest_fixture.h"

namespace planbro::gateway::rest::testing {
namespace {

constexpr std::string_view kSecret = "HEMMELEG";

class HideSecretGoals : public AccessPolicy {
 public:
  Status decide(const http::RequestContext&, const AccessSubject& s) const override {
    {
      std::lock_guard lock(mutex_);
      seen_.insert(std::string(accessActionName(s.action)));
    }
    if (s.json.find(kSecret) != std::string_view::npos) return {StatusCode::kPermissionDenied, "hidden by policy"};
    if (s.action == AccessAction::kDelete && s.type == "Goal") return {StatusCode::kPermissionDenied, "no deletes"};
    return Status::ok();
  }
  std::set<std::string> seen() const {
    std::lock_guard lock(mutex_);
    return seen_;
  }

 private:
  mutable std::mutex mutex_;
  mutable std::set<std::string> seen_;
};

class AccessDecisions : public RestServerTest {
 protected:
  RestOptions restOptions() override {
    RestOptions o;
    o.access = policy_;
    return o;
  }
  std::shared_ptr<HideSecretGoals> policy_ = std::make_shared<HideSecretGoals>();
};

std::string goal(const std::string& patient, std::string_view text, const std::string& id = "") {
  return R"({"resourceType":"Goal",)" + (id.empty() ? std::string() : "\"id\":\"" + id + "\",") +
         R"("lifecycleStatus":"active","description":{"text":")" + std::string(text) +
         R"("},"subject":{"reference":"Patient/)" + patient + R"("}})";
}

size_t entries(const HttpResult& r) {
  const fhir::JsonValue* e = r.root().find("entry");
  return e ? e->size() : 0;
}

TEST_P(AccessDecisions, AppliesToReadsSearchIncludesHistoryWritesAndBundles) {
  HttpResult p = post("/Patient", R"({"resourceType":"Patient","gender":"female"})");
  ASSERT_EQ(p.status, 201);
  std::string patient = p.str("id");
  HttpResult open = post("/Goal", goal(patient, "open"));
  ASSERT_EQ(open.status, 201);
  // Creating a secret goal is refused as a write.
  EXPECT_EQ(post("/Goal", goal(patient, kSecret)).status, 403);
  // Written behind the policy's back (an update that becomes secret is refused too).
  std::string id = open.str("id");
  EXPECT_EQ(put("/Goal/" + id, goal(patient, kSecret, id)).status, 403);

  // A secret goal that arrived by another route (written through the write path directly, as an adapter would).
  {
    ResourceWriter writer;
    auto doc = fhir::JsonDocument::parse(goal(patient, kSecret, "secret-goal"));
    ASSERT_TRUE(doc.isOk());
    WriteIntent intent;
    intent.kind = WriteKind::kUpdate;
    intent.type = "Goal";
    intent.id = "secret-goal";
    auto prepared = writer.prepare(intent, doc->root());
    ASSERT_TRUE(prepared.isOk()) << prepared.status().message();
    auto tx = store_->begin({"test", "adapter:test"});
    ASSERT_TRUE(tx.isOk());
    ASSERT_TRUE(writer.apply(**tx, *prepared).isOk());
    ASSERT_TRUE((*tx)->commit().isOk());
  }
  EXPECT_EQ(get("/Goal/secret-goal").status, 403);
  EXPECT_EQ(get("/Goal/secret-goal/_history/1").status, 403);
  HttpResult search = get("/Goal?subject=Patient/" + patient);
  EXPECT_EQ(search.status, 200);
  EXPECT_EQ(entries(search), 1u);
  EXPECT_EQ(search.body.find(kSecret), std::string::npos);
  HttpResult plan = post("/CarePlan", R"({"resourceType":"CarePlan","status":"active","intent":"plan","subject":{"reference":"Patient/)" +
                                          patient + R"("},"goal":[{"reference":"Goal/)" + id +
                                          R"("},{"reference":"Goal/secret-goal"}]})");
  ASSERT_EQ(plan.status, 201) << plan.body;
  HttpResult included = get("/CarePlan?subject=Patient/" + patient + "&_include=CarePlan:goal");
  EXPECT_EQ(entries(included), 2u) << included.body;  // the plan and the open goal
  EXPECT_EQ(included.body.find(kSecret), std::string::npos);
  EXPECT_EQ(get("/Goal/_history").body.find(kSecret), std::string::npos);
  EXPECT_EQ(request(port_, "DELETE", "/Goal/" + id).status, 403);
  EXPECT_EQ(get("/Goal/" + id).status, 200);

  std::string batch = R"({"resourceType":"Bundle","type":"batch","entry":[{"resource":)" + goal(patient, kSecret) +
                      R"(,"request":{"method":"POST","url":"Goal"}}]})";
  HttpResult b = post("/", batch);
  ASSERT_EQ(b.status, 200);
  EXPECT_NE(b.body.find("403"), std::string::npos) << b.body;
  std::string tx = R"({"resourceType":"Bundle","type":"transaction","entry":[{"resource":)" + goal(patient, kSecret) +
                   R"(,"request":{"method":"POST","url":"Goal"}}]})";
  EXPECT_EQ(post("/", tx).status, 403);

  EXPECT_EQ(entries(get("/Goal/_history")), 1u);  // the open goal's one version; the secret one is left out
  std::set<std::string> seen = policy_->seen();
  for (const char* action : {"read", "search", "history", "create", "update", "delete"}) {
    EXPECT_TRUE(seen.count(action)) << action;
  }
}

INSTANTIATE_TEST_SUITE_P(Engines, AccessDecisions, ::testing::ValuesIn(engines()),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
}  // namespace planbro::gateway::rest::testing
