#pragma once
/// @file client_test_support.hpp
/// Test doubles for the client limiter's waits: a Sleeper the test holds
/// shut until it has arranged what should happen during the wait.

#include <condition_variable>
#include <functional>
#include <mutex>
#include <utility>

#include "ratelimit/resilience/sleeper.hpp"
#include "ratelimit/time.hpp"

namespace ratelimit::client_test {

/// Blocks every sleep_until until open(); then behaves like ManualSleeper
/// (moves the clock forward to the deadline) or, with open(false), returns at
/// once without moving the clock (so a waiter never becomes due).
class GateSleeper final : public Sleeper {
 public:
  explicit GateSleeper(ManualClock& clock) noexcept : clock_(clock) {}

  void sleep_until(Micros deadline) override {
    std::unique_lock lock(mu_);
    ++sleeping_;
    cv_.notify_all();
    cv_.wait(lock, [this] { return open_; });
    --sleeping_;
    if (!advance_) return;
    Micros now = clock_.now();
    while (now < deadline && !clock_.compare_exchange(now, deadline)) {
    }
  }

  /// Returns once some thread is blocked in sleep_until.
  void wait_until_sleeping() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return sleeping_ > 0; });
  }

  void open(bool advance = true) {
    const std::lock_guard lock(mu_);
    open_ = true;
    advance_ = advance;
    cv_.notify_all();
  }

 private:
  ManualClock& clock_;
  std::mutex mu_;
  std::condition_variable cv_;
  int sleeping_ = 0;     // Guarded by mu_.
  bool open_ = false;    // Guarded by mu_.
  bool advance_ = true;  // Guarded by mu_.
};

/// A ManualSleeper that runs `hook` once, at the first wait, before moving
/// the clock: lets a test change the limiter while a call is waiting.
class HookSleeper final : public Sleeper {
 public:
  HookSleeper(ManualClock& clock, std::function<void()> hook)
      : sleeper_(clock), hook_(std::move(hook)) {}

  void sleep_until(Micros deadline) override {
    if (hook_) std::exchange(hook_, nullptr)();
    sleeper_.sleep_until(deadline);
  }

 private:
  ManualSleeper sleeper_;
  std::function<void()> hook_;
};

}  // namespace ratelimit::client_test
