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

}  // namespace

int run_demo() {
  auto clock = std::make_shared<ManualClock>(kStart);
  auto store = std::make_shared<MemoryStore>();
  bool ok = true;

  std::cout << "ratelimit demo: the guides' token bucket examples on a manual clock (no waiting).\n";

  // (a) The quick-start limit: 100 requests per minute, bursts of up to 100.
  {
    Limiter limiter(LimitSpec(Algorithm::token_bucket, 100, kMicrosPerMinute), store, clock);
    const std::string_view key = "api:alice";  // prefixes keep the two limiters' states apart
    std::cout << "\n(a) token_bucket, 100 per minute: 100 tokens, refilling 100 per minute.\n"
                 "    10 quick requests, then one more 5 s later.\n";
    print_columns();
    const Micros origin = clock->now();
    bool all_allowed = true;
    const Decision burst = request(limiter, origin, key, 10, all_allowed);
    ok = expect_remaining("a", "after 10 requests", 90, burst, all_allowed) && ok;
    clock->advance(5 * kMicrosPerSecond);
    const Decision later = request(limiter, origin, key, 1, all_allowed);
    ok = expect_remaining("a", "5 s later", 97, later, all_allowed) && ok;
    std::cout << "    5 s refill 5 x 100/60 = 8.33 tokens: 98.33, so 98 whole tokens; minus 1 = 97.\n";
  }

  // (b) A small bucket: 10 tokens, one new token per second.
  {
    Limiter limiter(LimitSpec(Algorithm::token_bucket, 1, kMicrosPerSecond, 10), store, clock);
    const std::string_view key = "upload:bob";
    std::cout << "\n(b) token_bucket, 1 per second, burst 10: 10 tokens, refilling 1 per second.\n"
                 "    5 quick requests, then one more 3 s later.\n";
    print_columns();
    const Micros origin = clock->now();
    bool all_allowed = true;
    const Decision burst = request(limiter, origin, key, 5, all_allowed);
    ok = expect_remaining("b", "after 5 requests", 5, burst, all_allowed) && ok;
    clock->advance(3 * kMicrosPerSecond);
    const Decision later = request(limiter, origin, key, 1, all_allowed);
    ok = expect_remaining("b", "3 s later", 7, later, all_allowed) && ok;
    std::cout << "    3 s refill 3 tokens: 5 + 3 = 8; minus 1 = 7.\n";
  }

  if (!ok) {
    std::cerr << "ratelimit demo: the library disagrees with the guides (see above)\n";
    return 1;
  }
  std::cout << "\nAll numbers match the guides (90, 97, 5, 7).\n";
  return 0;
}

}  // namespace ratelimit::cli
