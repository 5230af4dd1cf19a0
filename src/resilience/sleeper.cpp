#include "ratelimit/resilience/sleeper.hpp"

#include <algorithm>
#include <chrono>
#include <thread>

namespace ratelimit {

void SystemSleeper::sleep_until(Micros deadline) {
  // sleep_for may wake early (signals) or the wall clock may step; loop on
  // the clock the deadline is measured against.
  for (Micros now = SystemClock::instance().now(); now < deadline; now = SystemClock::instance().now()) {
    std::this_thread::sleep_for(std::chrono::microseconds(deadline - now));
  }
}

SystemSleeper& SystemSleeper::instance() noexcept {
  static SystemSleeper sleeper;
  return sleeper;
}

void ManualSleeper::sleep_until(Micros deadline) {
  // Several threads may wait at once: move the clock only forward, to the
  // latest deadline any of them asked for.
  Micros now = clock_.now();
  while (now < deadline) {
    if (clock_.compare_exchange(now, deadline)) {
      waits_.fetch_add(1, std::memory_order_relaxed);
      slept_.fetch_add(deadline - now, std::memory_order_relaxed);
      return;
    }
  }
}

}  // namespace ratelimit
