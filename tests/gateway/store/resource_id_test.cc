// newResourceId: version 7 UUIDs, unique, also across the per-thread stocks of random bytes it
// draws 64 ids at a time.
#include "planbro/gateway/store/resource_id.h"

#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace planbro::gateway::store {
namespace {

TEST(ResourceId, VersionSevenUuidsUniqueAcrossManyDrawsAndThreads) {
  const std::regex uuid7("[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  constexpr size_t kThreads = 4;
  constexpr size_t kPerThread = 1000;  // about 16 refills of each thread's stock
  std::vector<std::vector<std::string>> ids(kThreads);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < kThreads; ++t) {
    threads.emplace_back([&ids, t] {
      for (size_t i = 0; i < kPerThread; ++i) ids[t].push_back(newResourceId());
    });
  }
  for (std::thread& th : threads) th.join();
  std::set<std::string> all;
  for (const std::vector<std::string>& mine : ids) {
    for (const std::string& id : mine) {
      ASSERT_TRUE(std::regex_match(id, uuid7)) << id;
      all.insert(id);
    }
  }
  EXPECT_EQ(all.size(), kThreads * kPerThread);
  // The random tails differ too (no stock handed out twice): 62 random bits, so equal tails mean reuse.
  std::set<std::string> tails;
  for (const std::string& id : all) tails.insert(id.substr(19));
  EXPECT_EQ(tails.size(), all.size());
}

}  // namespace
}  // namespace planbro::gateway::store
