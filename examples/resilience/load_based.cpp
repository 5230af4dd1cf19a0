// load_based.cpp: limits that follow the service's load and each client's
// behaviour.
//
//   Part 1. LoadSignals -> a capacity factor with reasons, and a LimitSpec
//           scaled by it; smoothing on the way back up.
//   Part 2. Signals the application feeds (LoadFeed).
//   Part 3. Behaviour scores per identifier: a bonus, a penalty, tier advice,
//           and the score shared with another instance through the store.
//
// Time comes from a ManualClock and the load is fed by hand, so every run
// prints the same thing whatever the machine is doing.
//
//   ninja example_load_based && ./examples/example_load_based
//
// docs/resilience/load-and-behaviour.md quotes this file.

#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ratelimit/attribute_store.hpp"
#include "ratelimit/limit_spec.hpp"
#include "ratelimit/resilience/behavior_scores.hpp"
#include "ratelimit/resilience/load_based_limits.hpp"
#include "ratelimit/resilience/load_signals.hpp"
#include "ratelimit/time.hpp"

namespace {

using ratelimit::Adjustment;
using ratelimit::Algorithm;
using ratelimit::BehaviorScores;
using ratelimit::BehaviorScoresConfig;
using ratelimit::LimitSpec;
using ratelimit::LoadBasedLimits;
using ratelimit::LoadBasedLimitsConfig;
using ratelimit::LoadFeed;
using ratelimit::LoadFeedConfig;
using ratelimit::LoadSignals;
using ratelimit::ManualClock;
using ratelimit::Micros;
using ratelimit::Outcome;
using ratelimit::ScoreSource;
using ratelimit::TierAdvice;

constexpr Micros kStart = 1'700'000'000 * ratelimit::kMicrosPerSecond;

/// Stops the example if a result is not what the comments promise (the
/// example doubles as a test).
void expect(bool ok, std::string_view what) {
  if (!ok) {
    std::cerr << "unexpected: " << what << '\n';
    std::exit(EXIT_FAILURE);
  }
}

bool near(double a, double b) { return std::fabs(a - b) < 1e-9; }

void print(std::string_view label, const Adjustment& a) {
  std::cout << label << ": x" << a.factor << '\n';
  for (const std::string& r : a.reasons) std::cout << "    " << r << '\n';
}

void part1_load(const std::shared_ptr<ManualClock>& clock) {
  std::cout << "Part 1: load-based limits\n";
  // Defaults: cpu reduces from 70% to a floor of x0.3 at 95%; memory from 80%;
  // error rate from 5%; queue depth from 100 items (all to x0.3, linearly).
  LoadBasedLimits limits(LoadBasedLimitsConfig{}, clock);
  const LimitSpec base(Algorithm::token_bucket, 100, ratelimit::kMicrosPerMinute, 20);

  // cpu 85%, memory 40%, 1% errors, 20 queued: only the cpu is above its threshold.
  const Adjustment busy = limits.adjust(LoadSignals{0.85, 0.40, 0.01, 20});
  const LimitSpec now_spec = ratelimit::scaled(base, busy.factor);
  // busy.factor == 0.58; reason "cpu 85% above 70%: capacity x0.58"
  // now_spec: 58 per minute, burst 12 (rounded; never below 1)
  print("busy", busy);
  std::cout << "    " << ratelimit::describe(base) << " -> " << ratelimit::describe(now_spec)
            << '\n';
  expect(near(busy.factor, 0.58), "cpu 85% gives x0.58");
  expect(busy.reasons == std::vector<std::string>{"cpu 85% above 70%: capacity x0.58"},
         "one reason, about the cpu");
  expect(now_spec.limit() == 58 && now_spec.burst() == 12, "limit 58, burst 12");

  // The load goes away: the factor climbs back at recovery_per_second
  // (0.05/s by default) instead of jumping, so it cannot flap.
  clock->advance(2 * ratelimit::kMicrosPerSecond);
  const Adjustment calmer = limits.adjust(LoadSignals{0.30, 0.40, 0.01, 20});
  // calmer.factor == 0.68 (0.58 + 2 s x 0.05/s); its last reason says "recovering: ..."
  print("2 s later", calmer);
  expect(near(calmer.factor, 0.68), "recovers 0.1 in 2 s");
  expect(calmer.reasons.back() == "recovering: capacity x0.68 toward x1.00 at +0.05/s",
         "says it is recovering");
  clock->advance(7 * ratelimit::kMicrosPerSecond);
  expect(limits.adjust(LoadSignals{0.30, 0.40, 0.01, 20}).factor == 1.0, "back to x1 after 9 s");
}

void part2_feed(const std::shared_ptr<ManualClock>& clock) {
  std::cout << "Part 2: signals the application feeds\n";
  // Error rate over a 60 s window (6 x 10 s); fewer than 10 outcomes count
  // the missing ones as successes.
  LoadFeed feed(LoadFeedConfig{10 * ratelimit::kMicrosPerSecond, 6, 10}, clock);
  for (int i = 0; i < 16; ++i) feed.record_success();
  for (int i = 0; i < 4; ++i) feed.record_error();
  feed.set_queue_depth(550);
  // The host's cpu and memory would come from ProcLoadSampler::fill; here they
  // are fixed so the example does not depend on the machine.
  const LoadSignals signals = feed.fill(LoadSignals{0.50, 0.50, 0, 0});
  // signals.error_rate == 0.2 (4 of 20), signals.queue_depth == 550
  const LoadBasedLimits limits(LoadBasedLimitsConfig{}, clock);
  const Adjustment a = limits.evaluate(signals);
  // error_rate 20% above 5%: capacity x0.77; queue_depth 550 above 100: capacity x0.65
  print("fed", a);
  expect(signals.error_rate == 0.2 && signals.queue_depth == 550, "feed values");
  expect(near(a.factor, 0.65), "the queue decides: x0.65");
  expect(a.reasons.size() == 2, "two reasons");
}

void part3_scores(const std::shared_ptr<ManualClock>& clock) {
  std::cout << "Part 3: behaviour scores\n";
  // Scores live where the limiter state lives; other instances read them.
  std::shared_ptr<ratelimit::AttributeStore> store = ratelimit::make_memory_attribute_store();
  BehaviorScores scores(BehaviorScoresConfig{}, store, clock);

  // alice: 120 good requests over two minutes. mallory: failed logins, then 429s.
  for (int i = 0; i < 60; ++i) scores.record("alice", Outcome::ok());
  for (int i = 0; i < 10; ++i) scores.record("mallory", Outcome::abusive());
  clock->advance(ratelimit::kMicrosPerMinute);
  for (int i = 0; i < 60; ++i) scores.record("alice", Outcome::ok());
  for (int i = 0; i < 30; ++i) scores.record("mallory", Outcome::rejected());

  const double alice = scores.score("alice");      // 0.98: near 1, pulled toward 0.5 by the prior
  const double mallory = scores.score("mallory");  // 0.21
  const TierAdvice up = scores.advice("alice", "free");
  const TierAdvice down = scores.advice("mallory", "free");
  // up   == {"trusted", "score 0.98 >= 0.9 over 120 requests: free -> trusted"}
  // down == {"restricted", "score 0.21 <= 0.3 over 40 requests: free -> restricted"}
  std::cout << "  alice " << alice << ": " << up.tier << " (" << up.reason << ")\n"
            << "  mallory " << mallory << ": " << down.tier << " (" << down.reason << ")\n";
  expect(near(alice, (120.0 + 5 * 0.5) / 125.0), "alice's score");
  expect(up.tier == "trusted" && up.changed, "alice is advised up");
  expect(near(mallory, (40 * 0.175 + 5 * 0.5) / 45.0), "mallory's score");
  expect(down.reason == "score 0.21 <= 0.3 over 40 requests: free -> restricted",
         "mallory is advised down");

  // Limits per identifier: the load factor times the behaviour bonus or penalty.
  LoadBasedLimits limits(LoadBasedLimitsConfig{}, clock);
  const Adjustment load = limits.evaluate(LoadSignals{0.80, 0.50, 0.0, 0});
  const Adjustment for_alice = limits.for_identifier(load, alice);
  const Adjustment for_mallory = limits.for_identifier(load, mallory);
  // cpu 80% gives x0.72; for_alice: x0.72 x 1.2 = x0.864; for_mallory: x0.72 x 0.5 = x0.36
  print("alice", for_alice);
  print("mallory", for_mallory);
  expect(near(for_alice.factor, 0.72 * 1.2), "alice's bonus");
  expect(near(for_mallory.factor, 0.36), "mallory's penalty");
  expect(for_mallory.reasons.back() == "behaviour score 0.21 <= 0.3: penalty x0.50",
         "the penalty's reason");

  // Publish, and read from another instance sharing the store.
  const std::size_t published = scores.flush();  // alice and mallory
  const BehaviorScores other(BehaviorScoresConfig{}, store, clock);
  // other.score("alice") == alice, read from "score:alice" (expires after the window)
  expect(published == 2, "two scores published");
  expect(other.score("alice") == alice, "the other instance reads alice's score");
  expect(other.details("alice").source == ScoreSource::store, "from the store");
}

}  // namespace

int main() {
  auto clock = std::make_shared<ManualClock>(kStart);
  part1_load(clock);
  part2_feed(clock);
  part3_scores(clock);
  std::cout << "ok\n";
  return EXIT_SUCCESS;
}
