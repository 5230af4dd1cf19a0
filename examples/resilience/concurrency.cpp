// concurrency.cpp: limiting what runs at once, and how many bytes flow.
//
//   Part 1. ConcurrencyLimiter: at most N calls in flight in this process,
//           with a limit that can move while leases are out.
//   Part 2. KeyedConcurrencyLimiter over a MemoryLeaseStore: at most N in
//           flight per key; a crashed holder's lease expires at its TTL.
//   Part 3. BandwidthLimiter: a 10 MB upload at 1 MB/s in 64 KiB chunks.
//
// Time is a ManualClock and waits go through a ManualSleeper, so the run
// takes no real time and prints the same thing every time. The example
// checks its own results and exits non-zero on a mismatch.
//
// docs/resilience/concurrency.md quotes this file.

#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string_view>
#include <vector>

#include "ratelimit/resilience/bandwidth_limiter.hpp"
#include "ratelimit/resilience/concurrency_limiter.hpp"
#include "ratelimit/resilience/keyed_concurrency_limiter.hpp"
#include "ratelimit/resilience/lease_store.hpp"
#include "ratelimit/resilience/sleeper.hpp"

namespace {

using ratelimit::BandwidthLimiter;
using ratelimit::ConcurrencyLimiter;
using ratelimit::KeyedConcurrencyLimiter;
using ratelimit::ManualClock;
using ratelimit::ManualSleeper;
using ratelimit::MemoryLeaseStore;
using ratelimit::Micros;

/// 2023-11-14T22:13:20Z, in µs since the Unix epoch. Any instant works.
constexpr Micros kStart = 1'700'000'000 * ratelimit::kMicrosPerSecond;

int failures = 0;

void expect(bool ok, std::string_view what) {
  if (!ok) {
    std::cerr << "unexpected: " << what << '\n';
    ++failures;
  }
}

void local_limit() {
  std::cout << "Part 1: at most 2 calls in flight\n";
  // [concurrency-local]
  ConcurrencyLimiter limiter(2);
  ConcurrencyLimiter::Lease first = limiter.try_acquire();
  ConcurrencyLimiter::Lease second = limiter.try_acquire();
  ConcurrencyLimiter::Lease third = limiter.try_acquire();  // refused: 2 are out
  if (!third) {
    // Shed the call (HTTP 503, or a fallback): nothing to give back.
  }
  // The call is done: give the slot back (or let the lease go out of scope).
  first.release();
  ConcurrencyLimiter::Lease fourth = limiter.try_acquire();  // a slot was free again
  // [concurrency-local]
  std::cout << "  first two admitted, third " << (third ? "admitted" : "refused")
            << ", fourth after a release " << (fourth ? "admitted" : "refused") << '\n';
  expect(second && !third && fourth, "two admitted, the third refused, the fourth admitted");

  // [concurrency-set-limit]
  limiter.set_limit(1);                      // second and fourth keep running
  const bool over = !limiter.try_acquire();  // refused: 2 out, limit 1
  second.release();
  fourth.release();
  ConcurrencyLimiter::Lease fifth = limiter.try_acquire();  // admitted: none out
  // [concurrency-set-limit]
  const ConcurrencyLimiter::Stats stats = limiter.stats();
  std::cout << "  after lowering the limit to 1: acquired " << stats.acquired << ", rejected "
            << stats.rejected << ", peak " << stats.peak_in_flight << '\n';
  expect(over && fifth, "refused above the new limit, admitted once in-flight fell below it");
  expect(stats == ConcurrencyLimiter::Stats{4, 2, 2}, "acquired 4, rejected 2, peak 2");
}

void keyed_limit() {
  std::cout << "Part 2: at most 2 calls in flight per tenant\n";
  // [concurrency-keyed]
  auto clock = std::make_shared<ManualClock>(kStart);
  auto store = std::make_shared<MemoryLeaseStore>();  // or a RedisLeaseStore
  const Micros lease_ttl = 30 * ratelimit::kMicrosPerSecond;
  KeyedConcurrencyLimiter limiter(store, 2, lease_ttl, clock);

  KeyedConcurrencyLimiter::Lease a1 = limiter.try_acquire("tenant:a");
  KeyedConcurrencyLimiter::Lease a2 = limiter.try_acquire("tenant:a");
  KeyedConcurrencyLimiter::Lease a3 = limiter.try_acquire("tenant:a");  // refused
  KeyedConcurrencyLimiter::Lease b1 = limiter.try_acquire("tenant:b");  // its own slots
  // [concurrency-keyed]
  std::cout << "  tenant:a " << limiter.in_flight("tenant:a") << " in flight, third "
            << (a3 ? "admitted" : "refused") << "; tenant:b " << limiter.in_flight("tenant:b")
            << '\n';
  expect(a1 && a2 && !a3 && b1, "tenant:a full at 2, tenant:b admitted");

  // [concurrency-expiry]
  // a1's holder "crashes": its lease is never released nor renewed. a2's
  // holder runs long and renews before its TTL is up.
  clock->advance(lease_ttl - 1);
  const bool renewed = a2.renew();  // a2 now lives until 2 * ttl - 1 after the start
  clock->advance(1);                // a1 has expired: its slot is free again
  KeyedConcurrencyLimiter::Lease a4 = limiter.try_acquire("tenant:a");
  // [concurrency-expiry]
  std::cout << "  at the TTL: renewed " << renewed << ", crashed lease expired, new lease "
            << (a4 ? "admitted" : "refused") << '\n';
  expect(renewed && a4, "the crashed lease freed its slot exactly at its TTL");
  expect(limiter.in_flight("tenant:a") == 2, "a2 and a4 in flight");
}

void bandwidth() {
  std::cout << "Part 3: 10 MB at 1 MB/s in 64 KiB chunks\n";
  // [concurrency-bandwidth]
  auto clock = std::make_shared<ManualClock>(kStart);
  auto sleeper = std::make_shared<ManualSleeper>(*clock);  // SystemSleeper in production
  constexpr std::uint64_t kChunk = 64 * 1024;
  BandwidthLimiter limiter(/*bytes_per_second=*/1'000'000, /*burst_bytes=*/kChunk, clock, sleeper);

  constexpr std::uint64_t kTotal = 10'000'000;
  for (std::uint64_t sent = 0; sent < kTotal; sent += kChunk) {
    const std::uint64_t n = kTotal - sent < kChunk ? kTotal - sent : kChunk;
    limiter.acquire(n);  // blocks until n bytes may pass
    // send(n bytes)...
  }
  // [concurrency-bandwidth]
  const Micros took = clock->now() - kStart;
  const BandwidthLimiter::Stats stats = limiter.stats();
  std::cout << "  took " << took << " µs, " << stats.bytes_passed << " bytes, waited "
            << stats.waits << " times\n";
  // The first chunk rides the full burst; the other 9'934'464 bytes take 1 µs each.
  expect(took == 9'934'464, "10 MB minus one burst at 1 MB/s");
  expect(stats.bytes_passed == kTotal, "every byte passed");
}

}  // namespace

int main() {
  local_limit();
  keyed_limit();
  bandwidth();
  if (failures != 0) {
    std::cerr << failures << " check(s) failed\n";
    return EXIT_FAILURE;
  }
  std::cout << "all checks passed\n";
  return EXIT_SUCCESS;
}
