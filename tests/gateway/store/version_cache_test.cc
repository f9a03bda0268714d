// The read cache's protocol (version_cache.h): what a reader offers after a database read is kept only if no write
// to the resource's shard happened since its lookup, and a write's invalidation removes the resource.
#include "version_cache.h"

#include <gtest/gtest.h>

#include <string>

namespace planbro::gateway::store::internal {
namespace {

ResourceVersion version(std::string id, int64_t v, std::string json = "{}") {
  ResourceVersion r;
  r.type = "Patient";
  r.id = std::move(id);
  r.version = v;
  r.json = std::move(json);
  return r;
}

TEST(VersionCache, AnOfferedVersionIsFoundByTheNextLookup) {
  VersionCache cache(1 << 20);
  auto miss = cache.lookup("Patient", "a");
  EXPECT_FALSE(miss.hit);
  cache.offer(miss.ticket, version("a", 3, R"({"resourceType":"Patient"})"));
  auto hit = cache.lookup("Patient", "a");
  ASSERT_TRUE(hit.hit);
  EXPECT_EQ(hit.hit->version, 3);
  EXPECT_EQ(hit.hit->json, R"({"resourceType":"Patient"})");
  EXPECT_FALSE(cache.lookup("Observation", "a").hit);  // the type is part of the key
}

TEST(VersionCache, AnOfferAfterAWriteToTheResourceIsDropped) {
  VersionCache cache(1 << 20);
  auto before = cache.lookup("Patient", "a");
  cache.invalidate("Patient", "a");  // a commit between the reader's lookup and its offer
  cache.offer(before.ticket, version("a", 1));
  EXPECT_FALSE(cache.lookup("Patient", "a").hit);
  auto after = cache.lookup("Patient", "a");
  cache.offer(after.ticket, version("a", 2));
  ASSERT_TRUE(cache.lookup("Patient", "a").hit);
  EXPECT_EQ(cache.lookup("Patient", "a").hit->version, 2);
}

TEST(VersionCache, InvalidateRemovesTheResource) {
  VersionCache cache(1 << 20);
  cache.offer(cache.lookup("Patient", "a").ticket, version("a", 1));
  cache.invalidate("Patient", "a");
  EXPECT_FALSE(cache.lookup("Patient", "a").hit);
}

TEST(VersionCache, DeletedVersionsAreNotKept) {
  VersionCache cache(1 << 20);
  ResourceVersion gone = version("a", 2);
  gone.deleted = true;
  cache.offer(cache.lookup("Patient", "a").ticket, gone);
  EXPECT_FALSE(cache.lookup("Patient", "a").hit);
}

TEST(VersionCache, StaysWithinItsByteBudget) {
  // 64 shards of 1 KiB each: a 600-byte version fits a shard once, so the cache can never hold more than 64.
  VersionCache cache(64 * 1024);
  const std::string json(600, 'x');
  for (int i = 0; i < 1000; ++i) {
    const std::string id = "p" + std::to_string(i);
    cache.offer(cache.lookup("Patient", id).ticket, version(id, 1, json));
  }
  EXPECT_GT(cache.size(), 0u);
  EXPECT_LE(cache.size(), 64u);
  // Larger than a shard's share: never kept.
  VersionCache small(64 * 1024);
  small.offer(small.lookup("Patient", "big").ticket, version("big", 1, std::string(4096, 'x')));
  EXPECT_FALSE(small.lookup("Patient", "big").hit);
}

}  // namespace
}  // namespace planbro::gateway::store::internal
