// basic_limiter.cpp: the ratelimit C++ API in two short parts.
//
//   Part 1. One limit per user: a Limiter over a shared MemoryStore, and the
//           HTTP headers a server would send with each decision.
//   Part 2. Three limits at once (per second, per minute, per hour) in one
//           atomic decision with Store::decide, and which of them limited.
//
// Time comes from a ManualClock, so every run prints the same thing.
//
//   ninja example_basic_limiter && ./examples/example_basic_limiter
//
// docs/api.md quotes this file; tests/install checks that the quotes still match.

#include <array>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <span>
#include <string_view>

#include "ratelimit/ratelimit.hpp"

namespace {

using ratelimit::Algorithm;
using ratelimit::Check;
using ratelimit::Decision;
using ratelimit::Limiter;
using ratelimit::LimitSpec;
using ratelimit::ManualClock;
using ratelimit::MemoryStore;
using ratelimit::Micros;

/// 2023-11-14T22:13:20Z, in µs since the Unix epoch. Any instant works.
constexpr Micros kStart = 1'700'000'000 * ratelimit::kMicrosPerSecond;

/// µs to whole seconds, rounded up: a client told to wait 0.2 s must not
/// come back after 0 s.
std::int64_t ceil_seconds(Micros us) {
  return (us + ratelimit::kMicrosPerSecond - 1) / ratelimit::kMicrosPerSecond;
}

/// Stops the example if a decision is not what the comments promise (the
/// example doubles as a test).
void expect(bool ok, std::string_view what) {
  if (!ok) {
    std::cerr << "unexpected: " << what << '\n';
    std::exit(EXIT_FAILURE);
  }
}

/// The response headers for `d` (spec/http-api.md, "Headers"): IETF
/// `RateLimit-*` with delta seconds, `X-RateLimit-Reset` as an epoch second,
/// and `Retry-After` on a denial.
void print_headers(const Decision& d, Micros now) {
  std::cout << "    RateLimit-Limit: " << d.limit << '\n'
            << "    RateLimit-Remaining: " << d.remaining << '\n'
            << "    RateLimit-Reset: " << ceil_seconds(d.reset_after) << '\n'
            << "    X-RateLimit-Reset: " << ceil_seconds(now + d.reset_after) << '\n';
  if (!d.allowed && !d.never_admissible()) {
    std::cout << "    Retry-After: " << ceil_seconds(d.retry_after) << '\n';
  }
}

void print_decision(std::string_view key, const Decision& d) {
  std::cout << "  " << key << ": " << (d.allowed ? "allowed" : "DENIED")
            << "  remaining=" << d.remaining << " reset_after=" << d.reset_after
            << "us retry_after=" << d.retry_after << "us\n";
}

// ---------------------------------------------------------------------------
// Part 1: one limit per user.
// ---------------------------------------------------------------------------
void per_user_limit() {
  std::cout << "Part 1: token bucket, 10 per minute, bursts of 3, one bucket per user\n";

  // One store for the whole process; every Limiter and thread may share it.
  auto store = std::make_shared<MemoryStore>();
  // A server passes no clock (the system clock); tests and demos drive time by hand.
  auto clock = std::make_shared<ManualClock>(kStart);

  // 10 requests per minute (a token every 6 s), at most 3 saved up.
  // An invalid spec (limit 0, window 0, ...) throws InvalidLimitSpec here, once.
  Limiter limiter(LimitSpec(Algorithm::token_bucket, 10, ratelimit::kMicrosPerMinute, 3), store,
                  clock);

  // Keys name the state. Prefix them per limit ("api:") when several Limiters
  // with different specs share one store.
  Decision last;
  for (int i = 1; i <= 4; ++i) {
    last = limiter.try_acquire("api:user:alice");
    print_decision("api:user:alice", last);
    print_headers(last, clock->now());
    expect(last.allowed == (i <= 3), "alice: three allowed, the fourth denied");
  }

  // Bob has his own bucket: alice's burst does not affect him.
  const Decision bob = limiter.try_acquire("api:user:bob");
  print_decision("api:user:bob", bob);
  expect(bob.allowed && bob.remaining == 2, "bob is independent of alice");

  // peek() reports without charging (cost 0).
  expect(limiter.peek("api:user:alice").remaining == 0, "peek: alice has nothing left");

  // Alice was told when to come back. After retry_after (one token: 6 s) the
  // same request is admitted.
  clock->advance(last.retry_after);
  const Decision again = limiter.try_acquire("api:user:alice");
  print_decision("api:user:alice (after retry_after)", again);
  expect(again.allowed, "alice is admitted again after retry_after");

  // A request costing more than the burst can never be admitted: retry_after
  // is kInfinite, and a server answers without Retry-After.
  const Decision huge = limiter.try_acquire("api:user:carol", 5);
  std::cout << "  carol, cost 5: never_admissible=" << huge.never_admissible() << '\n';
  expect(huge.never_admissible(), "cost above the burst is never admissible");

  // reset() forgets a key: its next request sees a full bucket.
  limiter.reset("api:user:alice");
  expect(limiter.peek("api:user:alice").remaining == 3, "reset restores the full burst");
}

// ---------------------------------------------------------------------------
// Part 2: several limits, one atomic decision.
// ---------------------------------------------------------------------------
void tiered_limits() {
  std::cout << "\nPart 2: per-second, per-minute and per-hour limits for one user, atomically\n";

  MemoryStore store;
  ManualClock clock(kStart);

  // A tier: 2 per second, 4 per minute, 100 per hour. Any mix of algorithms works.
  const LimitSpec per_second(Algorithm::token_bucket, 2, ratelimit::kMicrosPerSecond);
  const LimitSpec per_minute(Algorithm::token_bucket, 4, ratelimit::kMicrosPerMinute);
  const LimitSpec per_hour(Algorithm::fixed_window, 100, ratelimit::kMicrosPerHour);

  // One Check per limit, each with its own key. The store reads specs and keys
  // during the call only: they must outlive the call, nothing more.
  const std::array<Check, 3> checks{{
      {&per_second, "per_second:user:42"},
      {&per_minute, "per_minute:user:42"},
      {&per_hour, "per_hour:user:42"},
  }};
  constexpr std::array<std::string_view, 3> kNames{"per_second", "per_minute", "per_hour"};

  // One request of cost 1 against all three: admitted only if every limit
  // admits it, and then all three are charged; otherwise none is.
  auto request = [&](int n) {
    std::array<Decision, 3> each{};  // optional: every check's own verdict
    const Decision d = store.decide(checks, 1, clock.now(), each);
    std::cout << "  t=" << (clock.now() - kStart) / ratelimit::kMicrosPerMilli << "ms #" << n
              << ": " << (d.allowed ? "allowed, tightest: " : "DENIED by: ")
              << kNames[d.check_index] << " remaining=" << d.remaining
              << " retry_after=" << d.retry_after << "us  [each:";
    for (const Decision& e : each) std::cout << ' ' << (e.allowed ? "ok" : "no");
    std::cout << "]\n";
    return d;
  };

  // Decision::check_index names the check that supplied the combined fields:
  // if allowed, the one with the least remaining; if denied, the denying one
  // with the longest retry_after. That is the scope a 429 response reports.
  expect(request(1).allowed, "#1");
  expect(request(2).allowed, "#2");
  const Decision third = request(3);
  expect(!third.allowed && third.check_index == 0, "#3: the per-second limit is spent");

  clock.advance(ratelimit::kMicrosPerSecond);
  expect(request(4).allowed, "#4");
  expect(request(5).allowed, "#5");
  // Both the per-second and the per-minute limit deny; the per-minute one
  // makes the caller wait longer, so it is reported.
  const Decision sixth = request(6);
  expect(!sixth.allowed && sixth.check_index == 1, "#6: the per-minute limit is spent");

  // Half a second later the per-second limit alone would admit ("ok" in
  // `each`), but the per-minute one still denies: nothing is charged.
  clock.advance(500 * ratelimit::kMicrosPerMilli);
  const Decision seventh = request(7);
  expect(!seventh.allowed && seventh.check_index == 1, "#7: still the per-minute limit");

  // Wait as told, and the request is admitted by all three.
  clock.advance(seventh.retry_after);
  expect(request(8).allowed, "#8: admitted after retry_after");

  // Denied requests were never charged: the hour counted only #1, #2, #4, #5, #8.
  const Decision hour = store.peek(std::span<const Check>(&checks[2], 1), clock.now());
  std::cout << "  per_hour: " << hour.remaining << " of " << hour.limit << " left\n";
  expect(hour.remaining == 95, "only admitted requests are charged");
}

}  // namespace

int main() {
  per_user_limit();
  tiered_limits();
  return EXIT_SUCCESS;
}
