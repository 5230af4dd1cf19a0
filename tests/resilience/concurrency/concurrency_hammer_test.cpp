// Several threads hammer one limit (local, and per key over the memory
// lease store): the number of holders inside the critical section never
// exceeds the limit, and every slot comes back. Label "concurrency" (TSan).

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "ratelimit/resilience/concurrency_limiter.hpp"
#include "ratelimit/resilience/keyed_concurrency_limiter.hpp"
#include "ratelimit/resilience/lease_store.hpp"

namespace ratelimit {
namespace {

constexpr int kThreads = 6;

// Who is inside, and the most ever seen inside at once.
struct Occupancy {
  std::atomic<std::int64_t> inside{0};
  std::atomic<std::int64_t> most{0};
  std::atomic<std::uint64_t> entries{0};

  void enter() {
    const std::int64_t now = inside.fetch_add(1, std::memory_order_acq_rel) + 1;
    std::int64_t seen = most.load(std::memory_order_relaxed);
    while (now > seen && !most.compare_exchange_weak(seen, now, std::memory_order_relaxed)) {
    }
    entries.fetch_add(1, std::memory_order_relaxed);
    std::this_thread::yield();  // stay inside a moment, so others pile up
  }
  void leave() { inside.fetch_sub(1, std::memory_order_acq_rel); }
};

template <class Body>
void run_threads(Body body) {
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      body(t);
    });
  }
  go.store(true, std::memory_order_release);
  for (auto& th : threads) th.join();
}

TEST(ConcurrencyHammerTest, LocalLimiterNeverExceedsItsLimit) {
  constexpr std::int64_t kLimit = 3;
  constexpr int kRounds = 20'000;
  ConcurrencyLimiter limiter(kLimit);
  Occupancy occ;
  std::atomic<std::uint64_t> refused{0};
  run_threads([&](int) {
    for (int i = 0; i < kRounds; ++i) {
      ConcurrencyLimiter::Lease lease = limiter.try_acquire();
      if (!lease) {
        refused.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      occ.enter();
      occ.leave();  // before the lease goes: counted only while held
    }
  });
  EXPECT_LE(occ.most.load(), kLimit);
  EXPECT_GE(occ.most.load(), 1);
  EXPECT_EQ(limiter.in_flight(), 0);
  const ConcurrencyLimiter::Stats s = limiter.stats();
  EXPECT_EQ(s.acquired, occ.entries.load());
  EXPECT_EQ(s.rejected, refused.load());
  EXPECT_EQ(s.acquired + s.rejected, std::uint64_t{kThreads} * kRounds);
  EXPECT_LE(s.peak_in_flight, kLimit);
}

TEST(ConcurrencyHammerTest, LocalLimiterLoweredWhileBusyStaysWithinTheHigherLimit) {
  // One thread moves the limit between 1 and 4 while the others acquire:
  // never more inside than the highest limit, and back to 0 at the end.
  ConcurrencyLimiter limiter(4);
  Occupancy occ;
  std::atomic<bool> done{false};
  std::thread controller([&] {
    for (std::int64_t i = 0; !done.load(std::memory_order_acquire); ++i) {
      limiter.set_limit(1 + i % 4);
      std::this_thread::yield();
    }
  });
  run_threads([&](int) {
    for (int i = 0; i < 10'000; ++i) {
      if (ConcurrencyLimiter::Lease lease = limiter.try_acquire()) {
        occ.enter();
        occ.leave();
      }
    }
  });
  done.store(true, std::memory_order_release);
  controller.join();
  EXPECT_LE(occ.most.load(), 4);
  EXPECT_EQ(limiter.in_flight(), 0);
}

TEST(ConcurrencyHammerTest, KeyedLimiterOverMemoryStoreNeverExceedsItsLimitPerKey) {
  constexpr std::int64_t kLimit = 2;
  constexpr int kRounds = 3'000;
  auto clock = std::make_shared<ManualClock>(1'800'000'000'000'000);
  auto store = std::make_shared<MemoryLeaseStore>();
  KeyedConcurrencyLimiter limiter(store, kLimit, kMicrosPerMinute, clock);
  // Two keys; threads alternate between them.
  Occupancy occ[2];
  run_threads([&](int t) {
    for (int i = 0; i < kRounds; ++i) {
      const int k = (t + i) % 2;
      KeyedConcurrencyLimiter::Lease lease = limiter.try_acquire(k == 0 ? "hot:0" : "hot:1");
      if (!lease) continue;
      occ[k].enter();
      occ[k].leave();
    }
  });
  for (const Occupancy& o : occ) {
    EXPECT_LE(o.most.load(), kLimit);
    EXPECT_GE(o.most.load(), 1);
  }
  EXPECT_EQ(limiter.stats().acquired, occ[0].entries.load() + occ[1].entries.load());
  EXPECT_EQ(limiter.stats().acquired + limiter.stats().rejected, std::uint64_t{kThreads} * kRounds);
  EXPECT_EQ(limiter.in_flight("hot:0"), 0);
  EXPECT_EQ(limiter.in_flight("hot:1"), 0);
  EXPECT_EQ(store->keys(), 0u);
}

}  // namespace
}  // namespace ratelimit
