#include "resilience/concurrency/waiting.hpp"

#include <stdexcept>
#include <string>
#include <utility>

namespace ratelimit::concurrency {

Waiting waiting_on(std::shared_ptr<const Clock> clock, std::shared_ptr<Sleeper> sleeper,
                   std::string_view owner) {
  if ((clock == nullptr) != (sleeper == nullptr)) {
    throw std::invalid_argument(
        std::string(owner) + ": clock and sleeper must be given together (" +
        (clock ? "clock given, sleeper null" : "sleeper given, clock null") +
        "); pass neither for the system clock");
  }
  if (clock == nullptr) {
    // Non-owning handle (aliasing constructor): the instance is static.
    return {system_clock_handle(),
            std::shared_ptr<Sleeper>(std::shared_ptr<Sleeper>(), &SystemSleeper::instance())};
  }
  return {std::move(clock), std::move(sleeper)};
}

}  // namespace ratelimit::concurrency
