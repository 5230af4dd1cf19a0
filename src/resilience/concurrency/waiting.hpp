#pragma once
// The clock and sleeper a waiting limiter runs on, checked to belong
// together (internal).

#include <memory>
#include <string_view>

#include "ratelimit/resilience/sleeper.hpp"
#include "ratelimit/time.hpp"

namespace ratelimit::concurrency {

struct Waiting {
  std::shared_ptr<const Clock> clock;
  std::shared_ptr<Sleeper> sleeper;
};

/// Both given: used as they are. Neither: the system clock and SystemSleeper.
/// One without the other would sleep against the wrong clock (a ManualClock
/// that never moves, or real sleeps for manual deadlines): throws
/// std::invalid_argument naming `owner`.
[[nodiscard]] Waiting waiting_on(std::shared_ptr<const Clock> clock,
                                 std::shared_ptr<Sleeper> sleeper, std::string_view owner);

}  // namespace ratelimit::concurrency
