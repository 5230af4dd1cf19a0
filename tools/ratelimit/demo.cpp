// `ratelimit demo`: the guides' token bucket examples, run for real on a
// manual clock so the numbers are exact and the same on every run. The demo
// checks the numbers the guides promise and fails loudly if the library
// disagrees: a demo that printed wrong numbers with exit status 0 would be
// worse than none.

#include <cstdint>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>

#include "commands.hpp"
#include "ratelimit/decision.hpp"
#include "ratelimit/limit_spec.hpp"
#include "ratelimit/limiter.hpp"
#include "ratelimit/memory_store.hpp"
#include "ratelimit/time.hpp"

namespace ratelimit::cli {

namespace {

// Any realistic instant works; a real one (Nov 2023) shows the library copes
// with epoch-sized values, while the tables print time relative to the start
// of each example.
constexpr Micros kStart = 1'700'000'000'000'000;

std::string seconds(Micros us) {
  if (us == kInfinite) return "never";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", static_cast<double>(us) / static_cast<double>(kMicrosPerSecond));
  return buf;
}

void print_columns() {
  char line[128];
  std::snprintf(line, sizeof line, "  %8s  %-12s %-8s %9s %12s %12s", "time (s)", "key", "allowed", "remaining",
                "retry_after", "reset_after");
  std::cout << line << '\n';
}

void print_row(const Clock& clock, Micros origin, std::string_view key, const Decision& d) {
  char line[128];
  std::snprintf(line, sizeof line, "  %8s  %-12.*s %-8s %9lld %12s %12s", seconds(clock.now() - origin).c_str(),
                static_cast<int>(key.size()), key.data(), d.allowed ? "yes" : "no",
                static_cast<long long>(d.remaining), seconds(d.retry_after).c_str(), seconds(d.reset_after).c_str());
  std::cout << line << '\n';
}

// Makes `n` one-unit requests at the current instant, printing each
// decision; returns the last one. Every request is expected to be admitted.
Decision request(Limiter& limiter, Micros origin, std::string_view key, int n, bool& all_allowed) {
  Decision last;
  for (int i = 0; i < n; ++i) {
    last = limiter.try_acquire(key);
    all_allowed = all_allowed && last.allowed;
    print_row(limiter.clock(), origin, key, last);
  }
  return last;
}

// Reports a broken promise of the guides; returns whether it held.
bool expect_remaining(std::string_view example, std::string_view when, std::int64_t want, const Decision& got,
                      bool all_allowed) {
  if (all_allowed && got.remaining == want) return true;
  std::cerr << "ratelimit demo: example " << example << ": expected every request admitted and " << want
            << " remaining " << when << ", got " << (all_allowed ? "all admitted" : "a denial") << " and "
            << got.remaining << " remaining\n";
  return false;
}

// One of the guides' examples: a burst of requests, a pause, one more
// request, and the `remaining` the guides promise after each part.
struct Example {
  std::string_view name;     // "a", "b"
  std::string_view title;    // what the limit is
  LimitSpec spec;
  std::string_view key;      // prefixes keep the examples' states apart
  int burst;                 // quick requests at the start
  std::int64_t after_burst;  // remaining promised after them
  Micros pause;              // then this long
  std::int64_t after_pause;  // remaining promised after one more request
  std::string_view why;      // the guides' arithmetic
};

// Runs one example on `clock`; returns whether the library kept its numbers.
bool run_example(const Example& e, const std::shared_ptr<ManualClock>& clock, const std::shared_ptr<Store>& store) {
  Limiter limiter(e.spec, store, clock);
  std::cout << "\n(" << e.name << ") " << e.title << "\n    " << e.burst << " quick requests, then one more "
            << e.pause / kMicrosPerSecond << " s later.\n";
  print_columns();
  const Micros origin = clock->now();
  bool all_allowed = true;
  const Decision burst = request(limiter, origin, e.key, e.burst, all_allowed);
  bool ok = expect_remaining(e.name, "after the quick requests", e.after_burst, burst, all_allowed);
  clock->advance(e.pause);
  const Decision later = request(limiter, origin, e.key, 1, all_allowed);
  ok = expect_remaining(e.name, "after the pause", e.after_pause, later, all_allowed) && ok;
  std::cout << "    " << e.why << '\n';
  return ok;
}

}  // namespace

int run_demo() {
  auto clock = std::make_shared<ManualClock>(kStart);
  auto store = std::make_shared<MemoryStore>();
  std::cout << "ratelimit demo: the guides' token bucket examples on a manual clock (no waiting).\n";
  const Example examples[] = {
      {"a", "token_bucket, 100 per minute: 100 tokens, refilling 100 per minute.",
       LimitSpec(Algorithm::token_bucket, 100, kMicrosPerMinute), "api:alice", 10, 90, 5 * kMicrosPerSecond, 97,
       "5 s refill 5 x 100/60 = 8.33 tokens: 90 + 8.33 = 98.33; minus 1 = 97.33, so 97 whole tokens."},
      {"b", "token_bucket, 1 per second, burst 10: 10 tokens, refilling 1 per second.",
       LimitSpec(Algorithm::token_bucket, 1, kMicrosPerSecond, 10), "upload:bob", 5, 5, 3 * kMicrosPerSecond, 7,
       "3 s refill 3 tokens: 5 + 3 = 8; minus 1 = 7."},
  };
  bool ok = true;
  for (const Example& e : examples) ok = run_example(e, clock, store) && ok;

  if (!ok) {
    std::cerr << "ratelimit demo: the library disagrees with the guides (see above)\n";
    return 1;
  }
  std::cout << "\nAll numbers match the guides (90, 97, 5, 7).\n";
  return 0;
}

}  // namespace ratelimit::cli
