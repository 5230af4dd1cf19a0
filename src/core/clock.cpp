#include <ctime>

#include "ratelimit/time.hpp"

namespace ratelimit {

Micros SystemClock::now() const noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return Micros{ts.tv_sec} * kMicrosPerSecond + Micros{ts.tv_nsec} / 1000;
}

const SystemClock& SystemClock::instance() noexcept {
  static const SystemClock clock;
  return clock;
}

std::shared_ptr<const Clock> system_clock_handle() {
  // The system clock never dies; share it without owning it.
  return std::shared_ptr<const Clock>(&SystemClock::instance(), [](const Clock*) {});
}

}  // namespace ratelimit
