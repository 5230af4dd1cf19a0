// CircuitBreaker: the closed path is lock-free (the windows); every state
// change happens under mu_ and is announced after it is released.

#include "ratelimit/resilience/circuit_breaker.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

#include "sliding_window.hpp"

namespace ratelimit {

namespace {

constexpr double kPpm = 1e6;

std::int64_t to_ppm(double fraction) noexcept {
  return static_cast<std::int64_t>(std::llround(fraction * kPpm));
}

// `part / whole >= ppm / 1e6`, exactly: 0.3 of 10 calls is 3 calls, not 3.0000000000000004.
bool reaches(std::int64_t part, std::int64_t whole, std::int64_t ppm) noexcept {
  return part * static_cast<std::int64_t>(kPpm) >= ppm * whole;
}

double rate(std::int64_t part, std::int64_t whole) noexcept {
  return whole == 0 ? 0.0 : static_cast<double>(part) / static_cast<double>(whole);
}

CircuitBreakerConfig checked(CircuitBreakerConfig c) {
  validate(c);
  return c;
}

}  // namespace

CircuitBreaker::CircuitBreaker(CircuitBreakerConfig config, std::shared_ptr<const Clock> clock)
    : config_(checked(std::move(config))),
      clock_(clock ? std::move(clock) : system_clock_handle()),
      timed_(config_.slow_call_duration.has_value()),
      slow_enabled_(config_.slow_call_duration.has_value()),
      slow_call_duration_(config_.slow_call_duration.value_or(kInfinite)),
      failure_ppm_(to_ppm(config_.failure_rate_threshold)),
      slow_ppm_(to_ppm(config_.slow_call_rate_threshold)),
      listeners_(std::make_shared<const std::vector<Listener>>()) {
  if (config_.window_type == SlidingWindowType::count) {
    count_window_ = std::make_unique<CountWindow>(config_.window_size);
  } else {
    time_window_ = std::make_unique<TimeWindow>(config_.window_duration, config_.bucket_duration);
  }
  state_changed_at_ = clock_->now();
}

CircuitBreaker::~CircuitBreaker() = default;

BreakerState CircuitBreaker::visible(Mode m) noexcept {
  switch (m) {
    case Mode::closed:
    case Mode::forced_closed:
      return BreakerState::closed;
    case Mode::open:
    case Mode::forced_open:
      return BreakerState::open;
    case Mode::half_open:
      return BreakerState::half_open;
  }
  return BreakerState::open;
}

Transition CircuitBreaker::transition_locked(Mode to, Micros now, TransitionReason reason) {
  const Mode from = mode_.load(std::memory_order_relaxed);
  if (to == Mode::open) {
    opened_at_ = now;
    open_until_.store(now + config_.wait_in_open, std::memory_order_release);
  }
  if (to == Mode::half_open) {
    probes_admitted_ = 0;
    probes_succeeded_ = 0;
    probes_failed_ = 0;
  }
  // A window is judged only while closed; start each closed period afresh
  // (and free an open breaker of stale outcomes).
  if (to != Mode::half_open) clear_window();
  state_changed_at_ = now;
  mode_.store(to, std::memory_order_release);
  return Transition{visible(from), visible(to), now, reason};
}

void CircuitBreaker::clear_window() noexcept {
  if (count_window_) count_window_->clear();
  if (time_window_) time_window_->clear();
}

Micros CircuitBreaker::admit_slow() {
  Mode m = mode_.load(std::memory_order_acquire);
  if (m == Mode::closed || m == Mode::forced_closed) return kPermitted;
  if (m == Mode::forced_open) {
    not_permitted_.fetch_add(1, std::memory_order_relaxed);
    return kInfinite;
  }
  const Micros now = clock_->now();
  if (m == Mode::open) {
    const Micros until = open_until_.load(std::memory_order_acquire);
    if (now < until) {
      not_permitted_.fetch_add(1, std::memory_order_relaxed);
      return until - now;
    }
  }
  std::optional<Transition> changed;
  Micros result = kPermitted;
  {
    std::lock_guard lock(mu_);
    m = mode_.load(std::memory_order_relaxed);
    if (m == Mode::open && now >= open_until_.load(std::memory_order_relaxed)) {
      changed = transition_locked(Mode::half_open, now, TransitionReason::wait_elapsed);
      m = Mode::half_open;
    }
    switch (m) {
      case Mode::closed:
      case Mode::forced_closed:
        result = kPermitted;
        break;
      case Mode::forced_open:
        result = kInfinite;
        break;
      case Mode::open:
        result = std::max<Micros>(0, open_until_.load(std::memory_order_relaxed) - now);
        break;
      case Mode::half_open:
        if (probes_admitted_ < config_.permitted_calls_in_half_open) {
          ++probes_admitted_;
          result = kPermitted;
        } else {
          result = 0;  // all probes out: retry as soon as they answer
        }
        break;
    }
  }
  if (result != kPermitted) not_permitted_.fetch_add(1, std::memory_order_relaxed);
  if (changed) notify(*changed);
  return result;
}

Micros CircuitBreaker::retry_after() const {
  switch (mode_.load(std::memory_order_acquire)) {
    case Mode::closed:
    case Mode::forced_closed:
    case Mode::half_open:
      return 0;
    case Mode::forced_open:
      return kInfinite;
    case Mode::open:
      return std::max<Micros>(0, open_until_.load(std::memory_order_acquire) - clock_->now());
  }
  return 0;
}

void CircuitBreaker::record(bool failure, Micros duration, Micros now) noexcept {
  const bool slow = slow_enabled_ && duration >= slow_call_duration_;
  if (failure) [[unlikely]] {
    if (now == kNoTime) now = clock_->now();
    failures_total_.fetch_add(1, std::memory_order_relaxed);
    last_failure_at_.store(now, std::memory_order_relaxed);
  }
  if (slow) [[unlikely]]
    slow_total_.fetch_add(1, std::memory_order_relaxed);
  const OutcomeCode code = outcome_code(failure, slow);
  if (mode_.load(std::memory_order_acquire) != Mode::closed) [[unlikely]] {
    record_not_closed(code != kSuccess);
    return;
  }
  if (count_window_) {
    if (count_window_->record(code)) [[unlikely]]
      evaluate(now);
    return;
  }
  if (now == kNoTime) now = clock_->now();
  if (time_window_->record(code, now)) evaluate(now);
}

void CircuitBreaker::evaluate(Micros now) noexcept {
  const auto judge = [&]() -> std::optional<TransitionReason> {
    const WindowCounts c = count_window_ ? count_window_->counts() : time_window_->totals();
    if (c.calls < config_.minimum_calls) return std::nullopt;
    if (reaches(c.failures, c.calls, failure_ppm_)) return TransitionReason::failure_rate;
    if (slow_enabled_ && reaches(c.slow, c.calls, slow_ppm_))
      return TransitionReason::slow_call_rate;
    return std::nullopt;
  };
  if (!judge()) return;
  if (now == kNoTime) now = clock_->now();
  std::optional<Transition> changed;
  {
    std::lock_guard lock(mu_);
    if (mode_.load(std::memory_order_relaxed) != Mode::closed) return;  // someone else opened it
    const std::optional<TransitionReason> reason = judge();
    if (!reason) return;
    changed = transition_locked(Mode::open, now, *reason);
  }
  notify(*changed);
}

void CircuitBreaker::record_not_closed(bool bad) noexcept {
  calls_outside_window_.fetch_add(1, std::memory_order_relaxed);
  if (mode_.load(std::memory_order_acquire) != Mode::half_open) return;
  std::optional<Transition> changed;
  {
    std::lock_guard lock(mu_);
    if (mode_.load(std::memory_order_relaxed) != Mode::half_open) return;
    if (probes_admitted_ <= probes_succeeded_ + probes_failed_)
      return;  // a late result, not a probe
    const Micros now = clock_->now();
    if (bad) {
      ++probes_failed_;
      if (probes_failed_ > config_.permitted_calls_in_half_open - config_.successes_to_close) {
        changed = transition_locked(Mode::open, now, TransitionReason::probes_failed);
      }
    } else if (++probes_succeeded_ >= config_.successes_to_close) {
      changed = transition_locked(Mode::closed, now, TransitionReason::probes_succeeded);
    }
  }
  if (changed) notify(*changed);
}

void CircuitBreaker::release() noexcept {
  if (mode_.load(std::memory_order_acquire) != Mode::half_open) return;
  std::lock_guard lock(mu_);
  if (mode_.load(std::memory_order_relaxed) != Mode::half_open) return;
  if (probes_admitted_ > probes_succeeded_ + probes_failed_) --probes_admitted_;
}

void CircuitBreaker::record_exception(const std::exception* e, Micros start) noexcept {
  bool counts = true;
  if (e != nullptr && config_.is_failure) {
    try {
      counts = config_.is_failure(*e);
    } catch (...) {
      counts = true;
    }
  }
  if (!counts) {
    release();
    return;
  }
  if (!timed_) {
    record(true, 0, kNoTime);
    return;
  }
  const Micros end = clock_->now();
  record(true, end - start, end);
}

void CircuitBreaker::force_open() {
  Transition t;
  {
    std::lock_guard lock(mu_);
    t = transition_locked(Mode::forced_open, clock_->now(), TransitionReason::forced_open);
  }
  notify(t);
}

void CircuitBreaker::force_closed() {
  Transition t;
  {
    std::lock_guard lock(mu_);
    t = transition_locked(Mode::forced_closed, clock_->now(), TransitionReason::forced_closed);
  }
  notify(t);
}

void CircuitBreaker::reset() {
  Transition t;
  {
    std::lock_guard lock(mu_);
    t = transition_locked(Mode::closed, clock_->now(), TransitionReason::reset);
  }
  notify(t);
}

bool CircuitBreaker::open_until(Micros until) {
  std::optional<Transition> changed;
  {
    std::lock_guard lock(mu_);
    const Micros now = clock_->now();
    const Mode m = mode_.load(std::memory_order_relaxed);
    if (m == Mode::forced_open || m == Mode::forced_closed || until <= now) return false;
    if (m == Mode::open) {
      if (open_until_.load(std::memory_order_relaxed) >= until) return false;
      open_until_.store(until, std::memory_order_release);
      return true;
    }
    changed = transition_locked(Mode::open, now, TransitionReason::external);
    open_until_.store(until, std::memory_order_release);
  }
  notify(*changed);
  return true;
}

void CircuitBreaker::add_listener(Listener listener) {
  std::lock_guard lock(listeners_mu_);
  auto next = std::make_shared<std::vector<Listener>>(*listeners_);
  next->push_back(std::move(listener));
  listeners_ = std::move(next);
}

void CircuitBreaker::notify(const Transition& t) noexcept {
  std::shared_ptr<const std::vector<Listener>> listeners;
  {
    std::lock_guard lock(listeners_mu_);
    listeners = listeners_;
  }
  for (const Listener& l : *listeners) {
    try {
      l(t);
    } catch (...) {
      listener_errors_.fetch_add(1, std::memory_order_relaxed);
    }
  }
}

CircuitBreakerStats CircuitBreaker::stats() const {
  CircuitBreakerStats s;
  const Micros now = clock_->now();
  {
    std::lock_guard lock(mu_);
    const Mode m = mode_.load(std::memory_order_relaxed);
    s.state = visible(m);
    s.forced = m == Mode::forced_open || m == Mode::forced_closed;
    s.last_state_change_at = state_changed_at_;
  }
  const std::uint64_t in_window =
      count_window_ ? count_window_->recorded() : time_window_->recorded();
  s.calls = in_window + calls_outside_window_.load(std::memory_order_relaxed);
  s.failures = failures_total_.load(std::memory_order_relaxed);
  s.calls = std::max(s.calls, s.failures);  // read one by one: keep successes >= 0
  s.successes = s.calls - s.failures;
  s.slow_calls = slow_total_.load(std::memory_order_relaxed);
  s.not_permitted = not_permitted_.load(std::memory_order_relaxed);
  s.listener_errors = listener_errors_.load(std::memory_order_relaxed);
  const WindowCounts c = count_window_ ? count_window_->counts() : time_window_->counts(now);
  s.window_calls = c.calls;
  s.failure_rate = rate(c.failures, c.calls);
  s.slow_call_rate = rate(c.slow, c.calls);
  s.success_rate = c.calls == 0 ? 0.0 : 1.0 - s.failure_rate;
  const Micros last_failure = last_failure_at_.load(std::memory_order_relaxed);
  if (last_failure != kNoTime) s.last_failure_at = last_failure;
  return s;
}

}  // namespace ratelimit
