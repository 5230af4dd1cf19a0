// CircuitBreakerRegistry: one breaker per key, at most max_breakers, least
// recently used closed breaker evicted first.

#include "ratelimit/resilience/breaker_registry.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace ratelimit {
namespace {

CircuitBreakerConfig config() {
  CircuitBreakerConfig c;
  c.name = "hosts";
  c.window_size = 2;
  c.minimum_calls = 1;
  c.wait_in_open = kMicrosPerSecond;
  return c;
}

void open(CircuitBreaker& b) {
  b.on_failure();
  ASSERT_EQ(b.state(), BreakerState::open);
}

TEST(BreakerRegistry, OneBreakerPerKeyNamedAfterIt) {
  CircuitBreakerRegistry r(config(), 4, std::make_shared<ManualClock>());
  auto a = r.get("a.example");
  auto b = r.get("b.example");
  EXPECT_NE(a, b);
  EXPECT_EQ(r.get("a.example"), a);
  EXPECT_EQ(a->name(), "hosts/a.example");
  open(*a);
  EXPECT_EQ(b->state(), BreakerState::closed) << "keys do not share state";
  EXPECT_EQ(r.find("a.example"), a);
  EXPECT_EQ(r.find("c.example"), nullptr);
  EXPECT_EQ(r.stats().count, 2u);
  EXPECT_EQ(r.stats().created, 2u);
}

TEST(BreakerRegistry, EvictsTheLeastRecentlyUsedClosedBreakerFirst) {
  CircuitBreakerRegistry r(config(), 3, std::make_shared<ManualClock>());
  auto a = r.get("a");
  auto b = r.get("b");
  auto c = r.get("c");
  open(*a);          // a is oldest but open: kept
  (void)r.get("b");  // b used again: c is now the oldest closed one
  (void)r.get("d");
  EXPECT_EQ(r.find("c"), nullptr);
  EXPECT_EQ(r.find("a"), a);
  EXPECT_EQ(r.find("b"), b);
  BreakerRegistryStats s = r.stats();
  EXPECT_EQ(s.count, 3u);
  EXPECT_EQ(s.evictions, 1u);
  EXPECT_EQ(s.evicted_not_closed, 0u);
  // The evicted breaker stays usable by its holder, and "c" starts afresh.
  EXPECT_TRUE(c->try_acquire());
  EXPECT_NE(r.get("c"), c);
}

TEST(BreakerRegistry, WhenAllAreOpenTheOldestGoesAnyway) {
  CircuitBreakerRegistry r(config(), 2, std::make_shared<ManualClock>());
  auto a = r.get("a");
  auto b = r.get("b");
  open(*a);
  open(*b);
  auto c = r.get("c");
  EXPECT_EQ(r.find("a"), nullptr);
  EXPECT_EQ(r.find("b"), b);
  EXPECT_EQ(r.stats().evicted_not_closed, 1u);
  EXPECT_EQ(r.stats().count, 2u);
  EXPECT_EQ(r.get("a")->state(), BreakerState::closed) << "its circuit closed early";
}

TEST(BreakerRegistry, EraseAndListeners) {
  CircuitBreakerRegistry r(config(), 2, std::make_shared<ManualClock>());
  std::vector<std::string> seen;
  r.add_listener([&](const std::string& key, const Transition& t) {
    seen.push_back(key + ":" + std::string(to_string(t.to)));
  });
  open(*r.get("x"));
  EXPECT_TRUE(r.erase("x"));
  EXPECT_FALSE(r.erase("x"));
  EXPECT_EQ(r.stats().count, 0u);
  EXPECT_EQ(seen, std::vector<std::string>{"x:open"});
}

TEST(BreakerRegistry, RejectsBadArguments) {
  EXPECT_THROW(CircuitBreakerRegistry(config(), 0), std::invalid_argument);
  CircuitBreakerConfig bad = config();
  bad.failure_rate_threshold = 2;
  EXPECT_THROW(CircuitBreakerRegistry(bad, 10), std::invalid_argument);
}

}  // namespace
}  // namespace ratelimit
