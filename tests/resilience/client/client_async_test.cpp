// ClientLimiter::acquire_async: one timer thread, waiters completed in
// deadline order at their exact instants (ManualSleeper), pauses honoured
// by queued waiters, and what the destructor does with pending waits.

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

#include "ratelimit/resilience/client_limiter.hpp"
#include "resilience/client/client_test_support.hpp"

namespace ratelimit {
namespace {

constexpr Micros kStart = 1'000'000'000;

// What callbacks saw: (waiter index, granted, clock reading).
struct Log {
  struct Entry {
    int index;
    bool granted;
    Micros at;
  };
  std::mutex mu;
  std::vector<Entry> entries;  // Guarded by mu.

  std::function<void(bool)> recorder(int index, const Clock& clock,
                                     std::shared_ptr<std::promise<void>> done) {
    return [this, index, &clock, done](bool granted) {
      {
        const std::lock_guard lock(mu);
        entries.push_back({index, granted, clock.now()});
      }
      done->set_value();
    };
  }
};

struct ClientAsyncTest : ::testing::Test {
  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>(kStart);
  std::shared_ptr<ManualSleeper> sleeper = std::make_shared<ManualSleeper>(*clock);
};

TEST_F(ClientAsyncTest, ImmediateOutcomesAreReadyBeforeTheCallReturns) {
  ClientLimiter limiter(10, 1, clock, sleeper);
  std::future<bool> granted = limiter.acquire_async(1, kInfinite);
  ASSERT_EQ(granted.wait_for(std::chrono::seconds(0)), std::future_status::ready);
  EXPECT_TRUE(granted.get());
  std::future<bool> refused = limiter.acquire_async(1, 99'999);  // needs 100 ms
  ASSERT_EQ(refused.wait_for(std::chrono::seconds(0)), std::future_status::ready);
  EXPECT_FALSE(refused.get());
  EXPECT_EQ(clock->now(), kStart);
  EXPECT_EQ(limiter.time_to_available(), 100'000);  // the refusal took nothing

  // Callbacks for immediate outcomes run inline, on the calling thread.
  std::thread::id ran_on;
  bool result = true;
  limiter.acquire_async(1, 0, [&](bool g) {
    ran_on = std::this_thread::get_id();
    result = g;
  });
  EXPECT_EQ(ran_on, std::this_thread::get_id());
  EXPECT_FALSE(result);
  const ClientLimiterStats s = limiter.stats();
  EXPECT_EQ(s.acquired, 1U);
  EXPECT_EQ(s.timed_out, 2U);
}

TEST_F(ClientAsyncTest, AFutureBecomesTrueAtTheReservedInstant) {
  ClientLimiter limiter(10, 1, clock, sleeper);
  ASSERT_TRUE(limiter.try_acquire());
  Micros completed_at = 0;
  std::promise<void> done;
  limiter.acquire_async(1, kInfinite, [&](bool granted) {
    EXPECT_TRUE(granted);
    completed_at = clock->now();
    done.set_value();
  });
  done.get_future().wait();
  EXPECT_EQ(completed_at, kStart + 100'000);
  EXPECT_EQ(limiter.stats().total_wait, 100'000);
  std::future<bool> next = limiter.acquire_async(1, kInfinite);
  EXPECT_TRUE(next.get());
  EXPECT_EQ(clock->now(), kStart + 200'000);
}

TEST_F(ClientAsyncTest, WaitersCompleteInDeadlineOrderEachAtItsInstant) {
  // The gate holds time still until every waiter is queued.
  auto gate = std::make_shared<client_test::GateSleeper>(*clock);
  ClientLimiter limiter(10, 2, clock, gate);
  ASSERT_TRUE(limiter.try_acquire(2));
  Log log;
  std::vector<std::future<void>> done;
  for (int i = 0; i < 5; ++i) {
    auto promise = std::make_shared<std::promise<void>>();
    done.push_back(promise->get_future());
    // Costs 1, 2, 1, 2, 1: deadlines +100, +300, +400, +600, +700 ms.
    limiter.acquire_async(i % 2 == 0 ? 1 : 2, kInfinite, log.recorder(i, *clock, promise));
  }
  gate->open();
  for (auto& f : done) f.wait();
  const std::vector<Micros> expected{100'000, 300'000, 400'000, 600'000, 700'000};
  ASSERT_EQ(log.entries.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(log.entries[i].index, static_cast<int>(i));
    EXPECT_TRUE(log.entries[i].granted);
    EXPECT_EQ(log.entries[i].at, kStart + expected[i]) << "waiter " << i;
  }
}

TEST_F(ClientAsyncTest, AQueuedWaiterHonoursAPauseSetWhileItWaits) {
  auto gate = std::make_shared<client_test::GateSleeper>(*clock);
  ClientLimiter limiter(10, 1, clock, gate);
  ASSERT_TRUE(limiter.try_acquire());
  Micros completed_at = 0;
  std::promise<bool> done;
  limiter.acquire_async(1, 1'000'000, [&](bool granted) {
    completed_at = clock->now();
    done.set_value(granted);
  });
  gate->wait_until_sleeping();  // queued, timer thread waiting for +100 ms
  limiter.pause_until(kStart + 500'000);
  gate->open();
  EXPECT_TRUE(done.get_future().get());
  EXPECT_EQ(completed_at, kStart + 500'000);
}

TEST_F(ClientAsyncTest, AQueuedWaiterGivesUpWhenThePauseOutlastsItsTimeout) {
  auto gate = std::make_shared<client_test::GateSleeper>(*clock);
  ClientLimiter limiter(10, 1, clock, gate);
  ASSERT_TRUE(limiter.try_acquire());
  std::future<bool> f = limiter.acquire_async(1, 1'000'000);
  gate->wait_until_sleeping();
  limiter.pause_until(kStart + 1'000'001);  // 1 µs past the waiter's timeout
  gate->open();
  EXPECT_FALSE(f.get());
  EXPECT_EQ(clock->now(), kStart + 100'000);  // it gave up at its deadline
  EXPECT_EQ(limiter.stats().timed_out, 1U);
  // The reserved unit was given back: the bucket is full again.
  clock->set(kStart + 1'000'001);
  EXPECT_TRUE(limiter.try_acquire());
}

TEST_F(ClientAsyncTest, TheDestructorCompletesPendingWaitsWithFalse) {
  auto gate = std::make_shared<client_test::GateSleeper>(*clock);
  auto limiter = std::make_unique<ClientLimiter>(10, 1, clock, gate);
  ASSERT_TRUE(limiter->try_acquire());
  std::future<bool> first = limiter->acquire_async(1, kInfinite);
  bool callback_result = true;
  std::thread::id callback_thread;
  limiter->acquire_async(1, kInfinite, [&](bool granted) {
    callback_result = granted;
    callback_thread = std::this_thread::get_id();
  });
  gate->wait_until_sleeping();
  gate->open(/*advance=*/false);  // time stands still: nothing ever becomes due
  limiter.reset();                // returns only after every pending wait completed
  EXPECT_FALSE(first.get());
  EXPECT_FALSE(callback_result);
  EXPECT_NE(callback_thread, std::this_thread::get_id());  // the timer thread ran it
  EXPECT_EQ(clock->now(), kStart);
}

TEST_F(ClientAsyncTest, CancelledWaitsAreCounted) {
  auto gate = std::make_shared<client_test::GateSleeper>(*clock);
  ClientLimiterStats seen;
  {
    ClientLimiter limiter(10, 1, clock, gate);
    ASSERT_TRUE(limiter.try_acquire());
    limiter.acquire_async(1, kInfinite, [&](bool) { seen = limiter.stats(); });
    gate->wait_until_sleeping();
    gate->open(false);
  }
  EXPECT_EQ(seen.cancelled, 1U);
  EXPECT_EQ(seen.acquired, 1U);
}

TEST_F(ClientAsyncTest, AThrowingCallbackDoesNotStopTheOthers) {
  auto gate = std::make_shared<client_test::GateSleeper>(*clock);
  ClientLimiter limiter(10, 1, clock, gate);
  ASSERT_TRUE(limiter.try_acquire());
  limiter.acquire_async(1, kInfinite, [](bool) { throw std::runtime_error("callback failed"); });
  std::future<bool> after = limiter.acquire_async(1, kInfinite);
  gate->open();
  EXPECT_TRUE(after.get());
  EXPECT_EQ(clock->now(), kStart + 200'000);
  EXPECT_EQ(limiter.stats().acquired, 3U);
}

TEST_F(ClientAsyncTest, ACallbackMayQueueTheNextWait) {
  ClientLimiter limiter(10, 1, clock, sleeper);
  ASSERT_TRUE(limiter.try_acquire());
  std::promise<Micros> second_at;
  limiter.acquire_async(1, kInfinite, [&](bool first) {
    EXPECT_TRUE(first);
    limiter.acquire_async(1, kInfinite, [&](bool second) {
      EXPECT_TRUE(second);
      second_at.set_value(clock->now());
    });
  });
  EXPECT_EQ(second_at.get_future().get(), kStart + 200'000);
}

TEST_F(ClientAsyncTest, BadArgumentsThrowBeforeAnythingIsQueued) {
  ClientLimiter limiter(10, 1, clock, sleeper);
  EXPECT_THROW((void)limiter.acquire_async(-1, kInfinite), std::invalid_argument);
  EXPECT_THROW((void)limiter.acquire_async(1, -5), std::invalid_argument);
  EXPECT_THROW(limiter.acquire_async(1, 0, std::function<void(bool)>{}), std::invalid_argument);
  EXPECT_EQ(limiter.stats(), ClientLimiterStats{});
  EXPECT_TRUE(limiter.try_acquire());  // nothing was taken
}

}  // namespace
}  // namespace ratelimit
