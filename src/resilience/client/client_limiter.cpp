#include "ratelimit/resilience/client_limiter.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace ratelimit {

namespace {

double checked_rate(double rate) {
  if (!(rate > 0) || !std::isfinite(rate)) {
    throw std::invalid_argument(
        "ClientLimiter: rate must be a positive finite number of units per second, got " +
        std::to_string(rate));
  }
  return rate;
}

double checked_burst(double burst) {
  if (!(burst >= 1) || !std::isfinite(burst)) {
    throw std::invalid_argument("ClientLimiter: burst must be a finite number >= 1, got " +
                                std::to_string(burst));
  }
  return burst;
}

void check_cost(double cost) {
  if (!(cost >= 0) || !std::isfinite(cost)) {
    throw std::invalid_argument("ClientLimiter: cost must be a finite number >= 0, got " +
                                std::to_string(cost));
  }
}

void check_timeout(Micros timeout) {
  if (timeout < 0) {
    throw std::invalid_argument("ClientLimiter: timeout must be >= 0 µs, got " +
                                std::to_string(timeout));
  }
}

Micros saturating_add(Micros a, Micros b) noexcept {
  return a > kInfinite - b ? kInfinite : a + b;  // b >= 0 everywhere here
}

std::shared_ptr<Sleeper> checked_sleeper(const std::shared_ptr<const Clock>& clock,
                                         std::shared_ptr<Sleeper> sleeper) {
  if (sleeper) return sleeper;
  // SystemSleeper measures deadlines on the system clock: paired with any
  // other clock it would wake at the wrong instants (or, for a ManualClock
  // near the epoch, never wait at all).
  if (clock && clock.get() != &SystemClock::instance()) {
    throw std::invalid_argument(
        "ClientLimiter: sleeper must be given with a custom clock, got a null sleeper");
  }
  return {std::shared_ptr<Sleeper>{}, &SystemSleeper::instance()};
}

void invoke_quietly(const std::function<void(bool)>& callback, bool granted) noexcept {
  // A throwing callback must not take the timer thread (std::terminate) or
  // the other waiters down with it.
  try {
    callback(granted);
  } catch (...) {  // NOLINT(bugprone-empty-catch): documented as swallowed
  }
}

}  // namespace

ClientLimiter::ClientLimiter(double rate, double burst, std::shared_ptr<const Clock> clock,
                             std::shared_ptr<Sleeper> sleeper)
    : clock_(clock ? clock : system_clock_handle()),
      sleeper_(checked_sleeper(clock, std::move(sleeper))),
      bucket_(checked_rate(rate), checked_burst(burst), clock_) {}

ClientLimiter::~ClientLimiter() {
  {
    const std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (timer_.joinable()) timer_.join();
}

bool ClientLimiter::try_acquire(double cost) {
  check_cost(cost);
  // The hot path: never paused (or the pause was seen to end) costs no clock
  // read here. An ended pause is cleared so later calls take that path; the
  // compare-exchange fails harmlessly if a new pause arrived meanwhile.
  if (Micros pause = paused_until(); pause != 0) {
    if (clock_->now() < pause) {
      rejected_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    paused_until_.compare_exchange_strong(pause, 0, std::memory_order_acq_rel);
  }
  if (!bucket_.try_acquire(cost)) {
    rejected_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  acquired_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

std::optional<Micros> ClientLimiter::reserve(double cost, Micros timeout, Micros& start,
                                             Micros& give_up) {
  check_cost(cost);
  check_timeout(timeout);
  start = clock_->now();
  give_up = saturating_add(start, timeout);
  const Micros pause = paused_until();
  if (pause > start && pause - start > timeout) {
    timed_out_.fetch_add(1, std::memory_order_relaxed);
    return std::nullopt;
  }
  // kInfinite from LocalBucket means "never" (a rate too small to earn the
  // units before kMaxInstant): keep max_wait below it so it is refused.
  // The bucket's instant counts from its own reading of the clock, which
  // another thread (or a ManualSleeper) may have moved since `start`.
  const std::optional<Micros> ready = bucket_.reserve_until(cost, std::min(timeout, kMaxInstant));
  if (!ready) {
    timed_out_.fetch_add(1, std::memory_order_relaxed);
    return std::nullopt;
  }
  return std::max(*ready, pause);
}

bool ClientLimiter::acquire(double cost, Micros timeout) {
  Micros start = 0;
  Micros give_up = 0;
  std::optional<Micros> deadline = reserve(cost, timeout, start, give_up);
  if (!deadline) return false;
  Micros now = clock_->now();
  for (;;) {
    while (now < *deadline) {
      sleeper_->sleep_until(*deadline);
      now = clock_->now();
    }
    // A hint may have paused the limiter while we slept.
    const Micros pause = paused_until();
    if (now >= pause) break;
    if (pause > give_up) {
      bucket_.refund(cost);
      timed_out_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    deadline = pause;
  }
  acquired_.fetch_add(1, std::memory_order_relaxed);
  total_wait_.fetch_add(now - start, std::memory_order_relaxed);
  return true;
}

std::future<bool> ClientLimiter::acquire_async(double cost, Micros timeout) {
  // std::function needs a copyable target; the promise is shared instead.
  auto promise = std::make_shared<std::promise<bool>>();
  std::future<bool> result = promise->get_future();
  acquire_async(cost, timeout, [promise](bool granted) { promise->set_value(granted); });
  return result;
}

void ClientLimiter::acquire_async(double cost, Micros timeout, std::function<void(bool)> callback) {
  if (!callback) {
    throw std::invalid_argument("ClientLimiter: callback must not be empty, got an empty one");
  }
  Waiter waiter{cost, 0, 0, std::move(callback)};
  const std::optional<Micros> deadline = reserve(cost, timeout, waiter.start, waiter.give_up);
  if (!deadline) {
    invoke_quietly(waiter.callback, false);
    return;
  }
  if (*deadline <= clock_->now()) {
    finish(waiter, true, false);
    return;
  }
  enqueue(*deadline, std::move(waiter));
}

void ClientLimiter::enqueue(Micros deadline, Waiter waiter) {
  {
    std::unique_lock lock(mu_);
    if (!stop_) {
      queue_.emplace(deadline, std::move(waiter));
      if (!timer_.joinable()) timer_ = std::thread([this] { run_timer(); });
      lock.unlock();
      cv_.notify_one();
      return;
    }
  }
  // Only reachable from a callback running while the destructor drains.
  finish(waiter, false, true);
}

void ClientLimiter::run_timer() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    if (queue_.empty()) {
      cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
      continue;
    }
    const Micros now = clock_->now();
    const auto first = queue_.begin();
    if (first->first > now) {
      const Micros target = first->first - now > kTimerSlice ? now + kTimerSlice : first->first;
      lock.unlock();
      sleeper_->sleep_until(target);
      lock.lock();
      continue;
    }
    Waiter waiter = std::move(first->second);
    queue_.erase(first);
    const Micros pause = paused_until();
    if (pause > now) {
      if (pause <= waiter.give_up) {
        queue_.emplace(pause, std::move(waiter));
        continue;
      }
      lock.unlock();
      finish(waiter, false, false);
      lock.lock();
      continue;
    }
    lock.unlock();
    finish(waiter, true, false);
    lock.lock();
  }
  Queue rest = std::move(queue_);
  queue_.clear();
  lock.unlock();
  for (auto& entry : rest) finish(entry.second, false, true);
}

void ClientLimiter::finish(Waiter& waiter, bool granted, bool cancelled) {
  if (granted) {
    acquired_.fetch_add(1, std::memory_order_relaxed);
    total_wait_.fetch_add(clock_->now() - waiter.start, std::memory_order_relaxed);
  } else {
    bucket_.refund(waiter.cost);
    (cancelled ? cancelled_ : timed_out_).fetch_add(1, std::memory_order_relaxed);
  }
  invoke_quietly(waiter.callback, granted);
}

Micros ClientLimiter::time_to_available(double cost) const {
  check_cost(cost);
  const Micros now = clock_->now();
  const Micros bucket_wait = bucket_.time_to_available(cost);
  const Micros pause = paused_until();
  return std::max(bucket_wait, pause > now ? pause - now : 0);
}

void ClientLimiter::pause_until(Micros instant) {
  Micros current = paused_until_.load(std::memory_order_acquire);
  while (instant > current &&
         !paused_until_.compare_exchange_weak(current, instant, std::memory_order_acq_rel)) {
  }
}

void ClientLimiter::resume() { paused_until_.store(0, std::memory_order_release); }

void ClientLimiter::set_rate(double rate) { bucket_.set_rate(checked_rate(rate)); }

ClientLimiterStats ClientLimiter::stats() const noexcept {
  return {acquired_.load(std::memory_order_relaxed), rejected_.load(std::memory_order_relaxed),
          timed_out_.load(std::memory_order_relaxed), cancelled_.load(std::memory_order_relaxed),
          total_wait_.load(std::memory_order_relaxed)};
}

}  // namespace ratelimit
