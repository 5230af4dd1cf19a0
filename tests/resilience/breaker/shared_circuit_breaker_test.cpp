// SharedCircuitBreaker: three instances on one in-memory AttributeStore and one
// ManualClock. When one opens, the others open from their first call at or
// after publish + sync_interval, until the published instant.

#include "ratelimit/resilience/shared_circuit_breaker.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "ratelimit/store.hpp"

namespace ratelimit {
namespace {

constexpr Micros kStart = 1'000'000'000;
constexpr Micros kWait = 2 * kMicrosPerSecond;
constexpr Micros kSync = 100 * kMicrosPerMilli;

// The memory store, with a switch that makes every call fail like an
// unreachable Redis, and a count of calls.
class FlakyStore final : public AttributeStore {
 public:
  std::optional<Record> get(std::string_view key, Micros now) override {
    check();
    return inner_->get(key, now);
  }
  void put(const Record& r) override {
    check();
    inner_->put(r);
  }
  bool erase(std::string_view key, Micros now) override {
    check();
    return inner_->erase(key, now);
  }
  std::vector<Record> list(std::string_view prefix, Micros now) override {
    check();
    return inner_->list(prefix, now);
  }
  std::size_t purge_expired(Micros now) override {
    check();
    return inner_->purge_expired(now);
  }
  std::uint64_t generation() override {
    check();
    return inner_->generation();
  }
  std::atomic<bool> down{false};
  std::atomic<int> calls{0};

 private:
  void check() {
    ++calls;
    if (down) throw StoreUnavailable(StoreUnavailable::Kind::connection, "store down (test)");
  }
  std::unique_ptr<AttributeStore> inner_ = make_memory_attribute_store();
};

CircuitBreakerConfig config() {
  CircuitBreakerConfig c;
  c.name = "payments";
  c.window_size = 4;
  c.minimum_calls = 2;
  c.failure_rate_threshold = 0.5;
  c.wait_in_open = kWait;
  c.permitted_calls_in_half_open = 1;
  c.successes_to_close = 1;
  return c;
}

struct Fleet {
  Fleet() {
    SharedBreakerOptions o;
    o.sync_interval = kSync;
    for (int i = 0; i < 3; ++i)
      instances.push_back(std::make_unique<SharedCircuitBreaker>(config(), store, o, clock));
  }
  SharedCircuitBreaker& operator[](std::size_t i) { return *instances[i]; }
  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>(kStart);
  std::shared_ptr<FlakyStore> store = std::make_shared<FlakyStore>();
  std::vector<std::unique_ptr<SharedCircuitBreaker>> instances;
};

TEST(BreakerShared, OthersOpenWithinOneSyncIntervalUntilThePublishedInstant) {
  Fleet f;
  for (std::size_t i = 0; i < 3; ++i) ASSERT_TRUE(f[i].try_acquire());  // first syncs, at kStart
  f.clock->advance(10);
  const Micros opened_at = f.clock->now();
  f[0].on_failure();
  f[0].on_failure();
  ASSERT_EQ(f[0].state(), BreakerState::open);
  EXPECT_EQ(f[0].shared_stats().published, 1u);
  const Micros until = opened_at + kWait;
  const auto record = f.store->get(f[0].record_key(), f.clock->now());
  ASSERT_TRUE(record);
  EXPECT_EQ(record->key, "breaker:payments");
  EXPECT_EQ(record->expires_at, until);

  // Their next sync is due at kStart + kSync.
  f.clock->set(kStart + kSync - 1);
  EXPECT_TRUE(f[1].try_acquire());
  EXPECT_EQ(f[1].state(), BreakerState::closed);
  f.clock->set(kStart + kSync);
  EXPECT_FALSE(f[1].try_acquire());
  EXPECT_EQ(f[1].state(), BreakerState::open);
  EXPECT_EQ(f[1].breaker().retry_after(), until - f.clock->now());
  EXPECT_EQ(f[1].shared_stats().remote_opens, 1u);
  try {
    f[2].call([] { return 1; });
    ADD_FAILURE() << "instance 2 called through a circuit open elsewhere";
  } catch (const CircuitOpen& e) {
    EXPECT_EQ(e.breaker(), "payments");
    EXPECT_EQ(e.retry_after(), until - f.clock->now());
  }
  f[0].sync();
  EXPECT_EQ(f[0].shared_stats().reads, 2u);
  EXPECT_EQ(f[0].shared_stats().remote_opens, 0u) << "its own record changes nothing";

  // Each probes on its own once the period ends, at exactly `until`.
  f.clock->set(until - 1);
  EXPECT_FALSE(f[1].try_acquire());
  f.clock->set(until);
  EXPECT_TRUE(f[1].try_acquire());
  EXPECT_EQ(f[1].state(), BreakerState::half_open);
  f[1].on_success();
  EXPECT_EQ(f[1].state(), BreakerState::closed);
  EXPECT_EQ(f[2].state(), BreakerState::open) << "closing is not shared";
  EXPECT_EQ(f[1].shared_stats().published, 0u) << "a remote open is not published again";
}

TEST(BreakerShared, UnchangedGenerationMeansNoRecordRead) {
  Fleet f;
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(f[0].try_acquire());
    f.clock->advance(kSync);
  }
  const SharedBreakerStats s = f[0].shared_stats();
  EXPECT_EQ(s.syncs, 5u);
  EXPECT_EQ(s.reads, 1u) << "only the first sync reads the record";
  // Many calls within one interval: one sync.
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(f[0].try_acquire());
  EXPECT_EQ(f[0].shared_stats().syncs, 6u);
}

TEST(BreakerShared, StoreFailureKeepsLocalDecisionsAndIsCounted) {
  Fleet f;
  f.store->down = true;
  EXPECT_TRUE(f[1].try_acquire());
  EXPECT_EQ(f[1].shared_stats().store_errors, 1u);
  f[0].on_failure();
  f[0].on_failure();
  EXPECT_EQ(f[0].state(), BreakerState::open) << "opens locally without the store";
  EXPECT_EQ(f[0].shared_stats().store_errors, 1u) << "the publication failed";
  EXPECT_EQ(f[0].shared_stats().published, 0u);
  f.store->down = false;
  f.clock->advance(kSync);
  EXPECT_TRUE(f[1].try_acquire()) << "nothing was published";
  EXPECT_EQ(f[1].shared_stats().store_errors, 1u);
  EXPECT_EQ(f[1].shared_stats().reads, 1u);
}

TEST(BreakerShared, BadRecordsAndForcedClosedInstancesAreLeftAlone) {
  Fleet f;
  f.store->put({"breaker:payments", "garbage", std::nullopt});
  f[0].sync();
  EXPECT_EQ(f[0].shared_stats().bad_records, 1u);
  EXPECT_EQ(f[0].state(), BreakerState::closed);

  f[1].breaker().force_closed();
  f[2].on_failure();
  f[2].on_failure();
  ASSERT_EQ(f[2].state(), BreakerState::open);
  f[1].sync();
  EXPECT_EQ(f[1].state(), BreakerState::closed);
  EXPECT_TRUE(f[1].try_acquire());
  f[0].sync();
  EXPECT_EQ(f[0].state(), BreakerState::open);
}

TEST(BreakerShared, ReopeningAfterFailedProbesIsPublishedAgain) {
  Fleet f;
  f[0].on_failure();
  f[0].on_failure();
  f[1].sync();
  ASSERT_EQ(f[1].state(), BreakerState::open);
  f.clock->advance(kWait);
  ASSERT_TRUE(f[0].try_acquire());
  const Micros reopened_at = f.clock->now();
  f[0].on_failure();
  ASSERT_EQ(f[0].state(), BreakerState::open);
  EXPECT_EQ(f[0].shared_stats().published, 2u);
  f[1].sync();
  EXPECT_EQ(f[1].state(), BreakerState::open);
  EXPECT_EQ(f[1].breaker().retry_after(), reopened_at + kWait - f.clock->now());
}

TEST(BreakerShared, RejectsBadOptions) {
  auto store = std::shared_ptr<AttributeStore>(make_memory_attribute_store());
  SharedBreakerOptions o;
  o.sync_interval = 0;
  EXPECT_THROW(SharedCircuitBreaker(config(), store, o), std::invalid_argument);
  EXPECT_THROW(SharedCircuitBreaker(config(), nullptr), std::invalid_argument);
  CircuitBreakerConfig long_name = config();
  long_name.name = std::string(600, 'x');
  EXPECT_THROW(SharedCircuitBreaker(long_name, store), std::invalid_argument);
}

}  // namespace
}  // namespace ratelimit
