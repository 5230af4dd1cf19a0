// Client-side limiting (docs/resilience/client.md quotes this file): stay
// under a remote API's limit with ClientLimiter, learn it with
// AdaptiveClient, wrap calls with rate_limited. Runs on a ManualClock and a
// ManualSleeper, so every wait is exact and instant; exits non-zero if any
// result differs from what the guide says.

#include <cstdio>
#include <future>
#include <memory>
#include <string>

#include "ratelimit/resilience/adaptive_client.hpp"
#include "ratelimit/resilience/client_limiter.hpp"
#include "ratelimit/resilience/errors.hpp"
#include "ratelimit/resilience/rate_limited.hpp"

namespace {

int failures = 0;

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "MISMATCH: %s\n", what);
    ++failures;
  }
}

// Stands in for an HTTP call to the remote API.
struct Response {
  int status;
  ratelimit::HttpHeaders headers;
};

Response fetch(const std::string& path) {
  if (path == "/busy") return {429, {{"Retry-After", "2"}}};
  return {200, {{"RateLimit-Policy", "120;w=60"}}};
}

}  // namespace

int main() {
  using namespace ratelimit;
  constexpr Micros kStart = 1'795'456'800 * kMicrosPerSecond;  // 2026-11-23 18:00:00 GMT
  auto clock = std::make_shared<ManualClock>(kStart);
  auto sleeper = std::make_shared<ManualSleeper>(*clock);

  {
    // 10 requests per second, bursts of up to 2.
    ClientLimiter limiter(10, 2, clock, sleeper);

    bool first = limiter.try_acquire();         // true: the bucket starts full
    bool second = limiter.try_acquire();        // true
    bool third = limiter.try_acquire();         // false: never blocks
    Micros wait = limiter.time_to_available();  // 100'000 µs until the next unit

    bool quick = limiter.acquire(1, 50'000);     // false at once: it would take 100 ms
    bool patient = limiter.acquire(1, 200'000);  // true, after waiting 100 ms

    check(first && second && !third, "try_acquire takes the burst, then refuses");
    check(wait == 100'000, "time_to_available is one unit at 10/s");
    check(!quick && patient, "acquire gives up at once or waits");
    check(clock->now() == kStart + 100'000, "acquire returned at the reserved instant");

    // Asynchronously: one internal timer thread completes the waits.
    std::future<bool> later = limiter.acquire_async(1, kInfinite);
    bool granted = later.get();  // true, at +200 ms

    std::promise<Micros> called_at;
    limiter.acquire_async(1, kInfinite, [&](bool ok) {
      called_at.set_value(ok ? clock->now() : -1);  // runs on the timer thread
    });
    Micros second_at = called_at.get_future().get();  // +300 ms

    check(granted && second_at == kStart + 300'000, "acquire_async grants in order");
    ClientLimiterStats stats = limiter.stats();
    check(stats.acquired == 5 && stats.timed_out == 1 && stats.rejected == 1,
          "stats count acquisitions, timeouts and refusals");
    check(stats.total_wait == 3 * 100'000, "total_wait sums the waits");
  }  // the destructor completes anything still pending with false

  {
    AdaptiveClientOptions options{.initial_rate = 10, .min_rate = 1, .max_rate = 20};
    AdaptiveClient client(options, clock, sleeper);

    Response r = fetch("/busy");
    client.on_response(r.status, r.headers);
    // 429: the rate halves to 5/s, and Retry-After: 2 pauses every acquire
    // for two seconds.
    Micros until = client.paused_until();  // now + 2 s

    Micros now = clock->now();
    check(client.rate() == 5, "a 429 halves the rate");
    check(until == now + 2 * kMicrosPerSecond, "Retry-After pauses");
    check(!client.try_acquire(), "paused");
    check(client.acquire() && clock->now() == until, "acquire waits out the pause");

    Response ok = fetch("/items");
    client.on_response(ok.status, ok.headers);
    // RateLimit-Policy: 120;w=60 caps the rate at 2 per second.
    check(client.rate() == 2, "the policy caps the rate");
    check(client.stats().pauses == 1, "one pause");
  }

  {
    ClientLimiter limiter(1, 1, clock, sleeper);
    auto get = rate_limited(limiter, fetch, {.cost = 1, .timeout = 2 * kMicrosPerSecond});

    Response a = get("/items");  // admitted at once
    Response b = get("/items");  // waits one second, then calls fetch

    limiter.pause_until(clock->now() + 5 * kMicrosPerSecond);
    bool refused = false;
    try {
      Response c = get("/items");  // would wait 5 s > 2 s timeout
      (void)c;
    } catch (const RateLimitExceeded& e) {
      std::printf("refused: retry after %lld µs (%s)\n", static_cast<long long>(e.retry_after()),
                  e.scope().c_str());
      refused = e.retry_after() == 5 * kMicrosPerSecond;
    }

    check(a.status == 200 && b.status == 200, "rate_limited forwards the result");
    check(refused && limiter.stats().timed_out == 1, "the third call timed out");
  }

  if (failures != 0) {
    std::fprintf(stderr, "%d mismatches\n", failures);
    return 1;
  }
  std::puts("client example: all results as documented");
  return 0;
}
