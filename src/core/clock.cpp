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

}  // namespace ratelimit
