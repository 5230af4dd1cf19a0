// Several threads acquiring from one ClientLimiter on a ManualSleeper: at
// every admission, the number admitted so far is at most
// burst + rate * elapsed (the clock has reached each admitted waiter's
// instant, since ManualSleeper only moves it forward).

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "ratelimit/resilience/client_limiter.hpp"

namespace ratelimit {
namespace {

constexpr Micros kStart = 1'000'000'000;
constexpr std::int64_t kRate = 100;  // units per second: one per 10 ms
constexpr std::int64_t kBurst = 5;

struct Admissions {
  explicit Admissions(const Clock& c) : clock(c) {}

  const Clock& clock;
  std::atomic<std::int64_t> admitted{0};
  std::atomic<std::int64_t> violations{0};
  std::mutex mu;
  std::int64_t worst_excess = 0;  // Guarded by mu: µs of credit overdrawn.

  // Called right after an admission. In integer µs-units, exact:
  // n * 10^6 <= burst * 10^6 + rate * elapsed.
  void record() {
    const std::int64_t n = admitted.fetch_add(1) + 1;
    const Micros elapsed = clock.now() - kStart;
    const std::int64_t excess =
        n * kMicrosPerSecond - (kBurst * kMicrosPerSecond + kRate * elapsed);
    if (excess > 0) {
      violations.fetch_add(1);
      const std::lock_guard lock(mu);
      worst_excess = std::max(worst_excess, excess);
    }
  }
};

TEST(ClientConcurrency, BlockingAcquiresNeverExceedRateTimesElapsedPlusBurst) {
  auto clock = std::make_shared<ManualClock>(kStart);
  auto sleeper = std::make_shared<ManualSleeper>(*clock);
  ClientLimiter limiter(static_cast<double>(kRate), static_cast<double>(kBurst), clock, sleeper);
  Admissions admissions(*clock);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 50;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        // Mix non-blocking tries in: they must respect the same bound.
        const bool ok = (i + t) % 3 == 0 ? limiter.try_acquire() : limiter.acquire();
        if (ok) admissions.record();
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(admissions.violations.load(), 0) << "worst excess " << admissions.worst_excess;
  const std::int64_t total = admissions.admitted.load();
  const ClientLimiterStats s = limiter.stats();
  EXPECT_EQ(s.acquired, static_cast<std::uint64_t>(total));
  EXPECT_EQ(s.acquired + s.rejected, static_cast<std::uint64_t>(kThreads * kPerThread));
  // And the limiter did not dawdle: the bucket stayed in debt, so the clock
  // ended at the instant the units admitted needed, give or take the µs
  // rounding (up) of each wait.
  EXPECT_EQ(s.timed_out, 0U);
  const Micros needed = (total - kBurst) * kMicrosPerSecond / kRate;
  EXPECT_GE(clock->now() - kStart, needed);
  EXPECT_LE(clock->now() - kStart, needed + 10);
}

TEST(ClientConcurrency, AsyncAndBlockingWaitersTogetherKeepTheBound) {
  auto clock = std::make_shared<ManualClock>(kStart);
  auto sleeper = std::make_shared<ManualSleeper>(*clock);
  Admissions admissions(*clock);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 30;
  {
    ClientLimiter limiter(static_cast<double>(kRate), static_cast<double>(kBurst), clock, sleeper);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        std::vector<std::future<void>> pending;
        for (int i = 0; i < kPerThread; ++i) {
          if (t % 2 == 0) {
            if (limiter.acquire()) admissions.record();
            continue;
          }
          auto done = std::make_shared<std::promise<void>>();
          pending.push_back(done->get_future());
          limiter.acquire_async(1, kInfinite, [&admissions, done](bool granted) {
            if (granted) admissions.record();
            done->set_value();
          });
        }
        for (auto& f : pending) f.wait();
      });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(limiter.stats().acquired, static_cast<std::uint64_t>(kThreads * kPerThread));
  }
  EXPECT_EQ(admissions.admitted.load(), kThreads * kPerThread);
  EXPECT_EQ(admissions.violations.load(), 0) << "worst excess " << admissions.worst_excess;
}

}  // namespace
}  // namespace ratelimit
