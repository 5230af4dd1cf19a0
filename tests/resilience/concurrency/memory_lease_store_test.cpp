// MemoryLeaseStore: the LeaseStore contract, then what only it has: memory
// that follows the live leases (empty keys erased, expired leases swept).

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "ratelimit/resilience/lease_store.hpp"
#include "resilience/concurrency/lease_store_contract.hpp"

namespace ratelimit::testing {
namespace {

struct MemoryLeaseStoreTraits {
  static void set_up_suite() {}
  static void tear_down_suite() {}
  static std::unique_ptr<LeaseStore> make() { return std::make_unique<MemoryLeaseStore>(); }
};

INSTANTIATE_TYPED_TEST_SUITE_P(ConcurrencyMemory, LeaseStoreContract, MemoryLeaseStoreTraits);

TEST(ConcurrencyMemoryLeaseStore, AKeyWithoutLeasesHasNoEntry) {
  MemoryLeaseStore s;
  ASSERT_TRUE(s.acquire("k", 2, "a", kLeaseT0, kLeaseTtl));
  ASSERT_TRUE(s.acquire("k", 2, "b", kLeaseT0, kLeaseTtl));
  EXPECT_EQ(s.keys(), 1u);
  s.release("k", "a");
  EXPECT_EQ(s.keys(), 1u);
  s.release("k", "b");
  EXPECT_EQ(s.keys(), 0u);
  EXPECT_EQ(s.in_flight("never-used", kLeaseT0), 0);
  EXPECT_FALSE(s.renew("never-used", "a", kLeaseT0, kLeaseTtl));
  EXPECT_EQ(s.keys(), 0u) << "looking at a key does not create it";
}

TEST(ConcurrencyMemoryLeaseStore, ExpiredLeasesAreDroppedWhenTheKeyIsUsed) {
  MemoryLeaseStore s;
  ASSERT_TRUE(s.acquire("k", 1, "crashed", kLeaseT0, kLeaseTtl));
  EXPECT_EQ(s.in_flight("k", kLeaseT0 + kLeaseTtl - 1), 1);
  EXPECT_EQ(s.keys(), 1u);
  EXPECT_EQ(s.in_flight("k", kLeaseT0 + kLeaseTtl), 0);
  EXPECT_EQ(s.keys(), 0u) << "the expired lease went, and the key with it";
}

TEST(ConcurrencyMemoryLeaseStore, PurgeExpiredDropsCrashedHoldersEverywhere) {
  MemoryLeaseStore s;
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(s.acquire("crashed:" + std::to_string(i), 1, "a", kLeaseT0, kLeaseTtl));
  }
  ASSERT_TRUE(s.acquire("alive", 1, "a", kLeaseT0, 2 * kLeaseTtl));
  EXPECT_EQ(s.purge_expired(kLeaseT0 + kLeaseTtl - 1), 0u);
  EXPECT_EQ(s.keys(), 101u);
  EXPECT_EQ(s.purge_expired(kLeaseT0 + kLeaseTtl), 100u);
  EXPECT_EQ(s.keys(), 1u);
  EXPECT_EQ(s.in_flight("alive", kLeaseT0 + kLeaseTtl), 1);
}

TEST(ConcurrencyMemoryLeaseStore, AcquiresOnOtherKeysSweepAbandonedOnes) {
  // 1000 holders crash; nobody touches their keys again. Traffic on other
  // keys sweeps each shard once it has served as many acquires as it holds
  // keys (at least 64), so the dead entries go without purge_expired.
  MemoryLeaseStore s;
  constexpr int kCrashed = 1000;
  for (int i = 0; i < kCrashed; ++i) {
    ASSERT_TRUE(s.acquire("crashed:" + std::to_string(i), 1, "a", kLeaseT0, kLeaseTtl));
  }
  EXPECT_EQ(s.keys(), static_cast<std::size_t>(kCrashed));
  const Micros later = kLeaseT0 + kLeaseTtl;
  // 16 shards; 20000 acquires give every shard far more than its ~63 keys.
  for (int i = 0; i < 20'000; ++i) {
    const std::string key = "live:" + std::to_string(i);
    ASSERT_TRUE(s.acquire(key, 1, "b", later, kLeaseTtl));
    s.release(key, "b");
  }
  EXPECT_EQ(s.keys(), 0u);
}

TEST(ConcurrencyMemoryLeaseStore, ManyLeasesOnOneKeyExpireInExpiryOrder) {
  MemoryLeaseStore s;
  constexpr int kLeases = 1000;
  for (int i = 0; i < kLeases; ++i) {
    // Taken in reverse expiry order: lease i expires at T0 + ttl + (kLeases - i).
    ASSERT_TRUE(
        s.acquire("k", kLeases, "l" + std::to_string(i), kLeaseT0 + kLeases - i, kLeaseTtl));
  }
  ASSERT_FALSE(s.acquire("k", kLeases, "extra", kLeaseT0 + kLeases, kLeaseTtl));
  for (int gone = 0; gone <= kLeases; gone += 250) {
    EXPECT_EQ(s.in_flight("k", kLeaseT0 + kLeaseTtl + gone), kLeases - gone) << gone;
  }
  EXPECT_EQ(s.keys(), 0u);
}

}  // namespace
}  // namespace ratelimit::testing
