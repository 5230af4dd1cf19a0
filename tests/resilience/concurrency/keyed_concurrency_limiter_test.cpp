// KeyedConcurrencyLimiter over MemoryLeaseStore (and over a store that
// fails): per-key limits, RAII release, renewal, expiry of lost leases.

#include "ratelimit/resilience/keyed_concurrency_limiter.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace ratelimit {
namespace {

using Lease = KeyedConcurrencyLimiter::Lease;

constexpr Micros kT0 = 1'800'000'000'000'000;
constexpr Micros kTtl = 10 * kMicrosPerSecond;

struct KeyedConcurrencyLimiterTest : ::testing::Test {
  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>(kT0);
  std::shared_ptr<MemoryLeaseStore> store = std::make_shared<MemoryLeaseStore>();
  KeyedConcurrencyLimiter limiter{store, 2, kTtl, clock};
};

TEST_F(KeyedConcurrencyLimiterTest, AtMostLimitPerKey) {
  Lease a1 = limiter.try_acquire("user:a");
  Lease a2 = limiter.try_acquire("user:a");
  Lease a3 = limiter.try_acquire("user:a");
  Lease b1 = limiter.try_acquire("user:b");
  EXPECT_TRUE(a1);
  EXPECT_TRUE(a2);
  EXPECT_FALSE(a3);
  EXPECT_TRUE(b1);
  EXPECT_EQ(limiter.in_flight("user:a"), 2);
  EXPECT_EQ(limiter.in_flight("user:b"), 1);
  EXPECT_EQ(a1.key(), "user:a");
  EXPECT_EQ(a1.expires_at(), kT0 + kTtl);
  EXPECT_NE(a1.id(), a2.id());
  EXPECT_EQ(a3.id(), "");
  const KeyedConcurrencyLimiter::Stats s = limiter.stats();
  EXPECT_EQ(s.acquired, 3u);
  EXPECT_EQ(s.rejected, 1u);
}

TEST_F(KeyedConcurrencyLimiterTest, LeasesReleaseOnDestructionAndMove) {
  {
    Lease a = limiter.try_acquire("k");
    Lease b = limiter.try_acquire("k");
    EXPECT_EQ(store->in_flight("k", kT0), 2);
    Lease moved = std::move(a);
    EXPECT_FALSE(a);  // NOLINT(bugprone-use-after-move): moved-from is empty by contract
    EXPECT_EQ(store->in_flight("k", kT0), 2);
    moved = std::move(b);  // releases a's slot
    EXPECT_EQ(store->in_flight("k", kT0), 1);
  }
  EXPECT_EQ(store->in_flight("k", kT0), 0);
  EXPECT_EQ(store->keys(), 0u);
  Lease c = limiter.try_acquire("k");
  c.release();
  c.release();
  EXPECT_FALSE(c);
  EXPECT_EQ(store->in_flight("k", kT0), 0);
}

TEST_F(KeyedConcurrencyLimiterTest, LeaseIdsAreUnique) {
  std::set<std::string> ids;
  for (int i = 0; i < 1000; ++i) {
    Lease l = limiter.try_acquire("k" + std::to_string(i));
    ASSERT_TRUE(l);
    EXPECT_TRUE(ids.insert(l.id()).second) << l.id();
  }
}

TEST_F(KeyedConcurrencyLimiterTest, AbandonedLeaseFreesItsSlotAtTheTtl) {
  // Neither a nor b is released or renewed: to the store they are holders
  // that crashed. a expires at T0 + ttl, b 1 µs later.
  Lease a = limiter.try_acquire("k");
  clock->advance(1);
  Lease b = limiter.try_acquire("k");
  clock->advance(kTtl - 2);
  EXPECT_FALSE(limiter.try_acquire("k")) << "1 µs before a's expiry";
  clock->advance(1);
  Lease c = limiter.try_acquire("k");
  EXPECT_TRUE(c) << "a expired at exactly its TTL";
  EXPECT_FALSE(limiter.try_acquire("k")) << "b and c are live";
  clock->advance(1);
  EXPECT_FALSE(b.renew()) << "b has expired too: too late to renew";
  EXPECT_FALSE(b);
  EXPECT_EQ(limiter.stats().lost, 1u);
  Lease d = limiter.try_acquire("k");
  EXPECT_TRUE(d) << "b's slot went at its TTL";
  a.release();  // releasing an expired lease is harmless
  EXPECT_EQ(limiter.in_flight("k"), 2);
  EXPECT_EQ(limiter.stats().release_failures, 0u);
}

TEST_F(KeyedConcurrencyLimiterTest, RenewKeepsALongCallsSlot) {
  Lease a = limiter.try_acquire("k");
  Lease b = limiter.try_acquire("k");
  clock->advance(kTtl - 1);
  EXPECT_TRUE(a.renew());
  EXPECT_EQ(a.expires_at(), kT0 + 2 * kTtl - 1);
  clock->advance(1);  // b has expired, a has not
  EXPECT_EQ(limiter.in_flight("k"), 1);
  clock->advance(kTtl - 2);
  EXPECT_EQ(limiter.in_flight("k"), 1);
  clock->advance(1);
  EXPECT_EQ(limiter.in_flight("k"), 0);
  EXPECT_EQ(limiter.stats().renewed, 1u);
  Lease empty;
  EXPECT_THROW((void)empty.renew(), std::logic_error);
}

TEST_F(KeyedConcurrencyLimiterTest, SetLimitAppliesToLaterAcquires) {
  std::vector<Lease> held;
  held.push_back(limiter.try_acquire("k"));
  held.push_back(limiter.try_acquire("k"));
  limiter.set_limit(3);
  held.push_back(limiter.try_acquire("k"));
  EXPECT_TRUE(held.back());
  limiter.set_limit(1);
  EXPECT_EQ(limiter.in_flight("k"), 3) << "nothing revoked";
  held.pop_back();
  held.pop_back();
  EXPECT_FALSE(limiter.try_acquire("k"));
  held.pop_back();
  EXPECT_TRUE(limiter.try_acquire("k"));
  EXPECT_THROW(limiter.set_limit(0), std::invalid_argument);
  EXPECT_EQ(limiter.limit(), 1);
}

TEST_F(KeyedConcurrencyLimiterTest, BadArgumentsThrow) {
  EXPECT_THROW(KeyedConcurrencyLimiter(nullptr, 1, kTtl, clock), std::invalid_argument);
  EXPECT_THROW(KeyedConcurrencyLimiter(store, 0, kTtl, clock), std::invalid_argument);
  try {
    KeyedConcurrencyLimiter bad(store, 1, -7, clock);
    ADD_FAILURE() << "negative ttl accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("lease_ttl must be > 0 µs, got -7"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW((void)limiter.try_acquire(""), InvalidRequest);
  EXPECT_EQ(limiter.stats().rejected, 0u) << "bad input is not a refusal";
}

// A store whose backend is down for release (and optionally everything).
class FailingStore final : public LeaseStore {
 public:
  bool acquire(std::string_view key, std::int64_t limit, std::string_view id, Micros now,
               Micros ttl) override {
    if (down) throw StoreUnavailable(StoreUnavailable::Kind::connection, "down");
    return inner.acquire(key, limit, id, now, ttl);
  }
  void release(std::string_view, std::string_view) override {
    throw StoreUnavailable(StoreUnavailable::Kind::timeout, "release timed out");
  }
  bool renew(std::string_view key, std::string_view id, Micros now, Micros ttl) override {
    if (down) throw StoreUnavailable(StoreUnavailable::Kind::connection, "down");
    return inner.renew(key, id, now, ttl);
  }
  std::int64_t in_flight(std::string_view key, Micros now) override {
    return inner.in_flight(key, now);
  }
  MemoryLeaseStore inner;
  bool down = false;
};

TEST(KeyedConcurrencyLimiterFailureTest, FailedReleaseLeavesTheLeaseToExpire) {
  auto clock = std::make_shared<ManualClock>(kT0);
  auto store = std::make_shared<FailingStore>();
  KeyedConcurrencyLimiter limiter(store, 1, kTtl, clock);
  {
    Lease a = limiter.try_acquire("k");
    ASSERT_TRUE(a);
  }  // the destructor's release fails: no exception escapes
  EXPECT_EQ(limiter.stats().release_failures, 1u);
  EXPECT_FALSE(limiter.try_acquire("k")) << "the slot stays taken until the TTL";
  clock->advance(kTtl);
  Lease b = limiter.try_acquire("k");
  EXPECT_TRUE(b);
  store->down = true;
  EXPECT_THROW((void)limiter.try_acquire("k"), StoreUnavailable);
  EXPECT_THROW((void)b.renew(), StoreUnavailable);
  EXPECT_TRUE(b) << "a renewal that failed keeps the lease";
  store->down = false;
  EXPECT_TRUE(b.renew());
}

}  // namespace
}  // namespace ratelimit
