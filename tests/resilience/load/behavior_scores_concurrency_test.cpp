// Several threads record, read and flush one BehaviorScores at once (run
// under ThreadSanitizer in CI): no lost counts, every score stays in [0, 1].

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "ratelimit/resilience/behavior_scores.hpp"

namespace ratelimit {
namespace {

TEST(LoadBehaviorScoresConcurrency, RecordsFromManyThreadsAreAllCounted) {
  auto clock = std::make_shared<ManualClock>(1'000 * kMicrosPerMinute);
  std::shared_ptr<AttributeStore> store = make_memory_attribute_store();
  BehaviorScoresConfig config;
  config.publish_every = 50;  // flushes race with records
  BehaviorScores scores(config, store, clock);

  constexpr int kThreads = 4;
  constexpr int kPerThread = 2'000;
  const std::vector<std::string> ids = {"a", "b", "c", "d", "e"};
  std::atomic<bool> done{false};
  std::atomic<int> out_of_range{0};

  std::thread reader([&] {
    while (!done.load(std::memory_order_acquire)) {
      for (const std::string& id : ids) {
        const double s = scores.score(id);
        if (s < 0.0 || s > 1.0) out_of_range.fetch_add(1);
        (void)scores.advice(id, "free");
      }
      (void)scores.flush();
    }
  });
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string& id = ids[static_cast<std::size_t>(i + t) % ids.size()];
        const Outcome o = i % 10 == 0 ? Outcome::rejected() : Outcome::ok();
        scores.record(id, o);
      }
    });
  }
  for (std::thread& w : writers) w.join();
  done.store(true, std::memory_order_release);
  reader.join();

  std::uint64_t requests = 0;
  std::uint64_t rejected = 0;
  for (const std::string& id : ids) {
    const ScoreDetails d = scores.details(id);
    requests += d.requests;
    rejected += d.rejected;
  }
  EXPECT_EQ(requests, std::uint64_t{kThreads} * kPerThread);
  EXPECT_EQ(rejected, std::uint64_t{kThreads} * kPerThread / 10);
  EXPECT_EQ(out_of_range.load(), 0);

  // After a final flush another instance sees the same figures.
  (void)scores.flush();
  const BehaviorScores other(config, store, clock);
  for (const std::string& id : ids) {
    EXPECT_EQ(other.score(id), scores.score(id)) << id;
    EXPECT_EQ(other.details(id).requests, scores.details(id).requests) << id;
  }
}

}  // namespace
}  // namespace ratelimit
