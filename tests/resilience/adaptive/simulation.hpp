#pragma once
/// @file simulation.hpp
/// Discrete-event simulations of a client driven by an adaptive controller
/// against a backend whose capacity the client does not know. One thread, a
/// ManualClock, fixed seeds: every run gives the same numbers.

#include <algorithm>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <queue>
#include <random>
#include <vector>

#include "ratelimit/resilience/adaptive_concurrency.hpp"
#include "ratelimit/resilience/aimd.hpp"
#include "ratelimit/resilience/error_rate_controller.hpp"
#include "ratelimit/resilience/local_bucket.hpp"
#include "ratelimit/time.hpp"

namespace ratelimit::adaptive_sim {

/// Uniform double in [0, 1) from a 64-bit engine, the same on every standard
/// library (std::uniform_real_distribution is implementation-defined).
inline double uniform(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

/// A capacity that holds from `from` (µs after the start of the run) on.
struct Phase {
  Micros from = 0;
  double capacity = 0;  // units/s, or calls in flight for the concurrency simulation
};

/// What a measurement window of a rate simulation saw.
struct RateWindow {
  Micros from = 0;  ///< µs after the start of the run
  Micros to = 0;
  std::uint64_t sent = 0;
  std::uint64_t admitted = 0;  ///< neither throttled nor failed
  std::uint64_t refused = 0;   ///< throttled or failed
  double rate_sum = 0;         ///< sum of the controller's rate at each send
  [[nodiscard]] double admitted_per_second() const {
    return static_cast<double>(admitted) * 1e6 / static_cast<double>(to - from);
  }
  [[nodiscard]] double refused_fraction() const {
    return sent == 0 ? 0.0 : static_cast<double>(refused) / static_cast<double>(sent);
  }
  [[nodiscard]] double mean_rate() const {
    return sent == 0 ? 0.0 : rate_sum / static_cast<double>(sent);
  }
};

/// How a backend answers one call sent at `now`: true = admitted.
using Backend = std::function<bool(Micros now)>;

/// A client that sends as fast as `client` (a LocalBucket the controller
/// drives, burst 1) lets it, to `backend`; each answer reaches the client
/// `latency` µs later and is fed to `feedback(admitted)`. Runs until
/// `duration` µs after the clock's reading at the start and fills `windows`
/// (instants relative to that start). `rate` reads the controller's rate.
inline void run_rate_client(ManualClock& clock, LocalBucket& client, const Backend& backend,
                            const std::function<void(bool)>& feedback,
                            const std::function<double()>& rate, Micros latency, Micros duration,
                            std::vector<RateWindow>& windows) {
  struct Answer {
    Micros at;
    bool admitted;
  };
  std::deque<Answer> pending;  // same latency for all, so ordered by `at`
  const Micros start = clock.now();
  const Micros end = start + duration;
  for (;;) {
    const Micros send_at = clock.now() + client.time_to_available(1);
    if (!pending.empty() && pending.front().at <= send_at) {
      clock.set(pending.front().at);
      const bool admitted = pending.front().admitted;
      pending.pop_front();
      feedback(admitted);  // may change the client's rate, so the next send moves
      continue;
    }
    if (send_at >= end) break;
    clock.set(send_at);
    if (!client.try_acquire(1)) continue;  // cannot happen with time_to_available; be safe
    const bool admitted = backend(send_at);
    const Micros t = send_at - start;
    for (RateWindow& w : windows) {
      if (t < w.from || t >= w.to) continue;
      ++w.sent;
      ++(admitted ? w.admitted : w.refused);
      w.rate_sum += rate();
    }
    if (latency == 0) {
      feedback(admitted);
    } else {
      pending.push_back({send_at + latency, admitted});
    }
  }
}

/// A backend that throttles above a token bucket's rate: `phases` give the
/// capacity over time (the bucket holds `burst_seconds` of it).
class ThrottlingBackend {
 public:
  ThrottlingBackend(std::shared_ptr<ManualClock> clock, std::vector<Phase> phases,
                    double burst_seconds)
      : clock_(clock),
        start_(clock->now()),
        phases_(std::move(phases)),
        burst_seconds_(burst_seconds),
        bucket_(phases_.front().capacity, std::max(1.0, phases_.front().capacity * burst_seconds),
                std::move(clock)) {}

  bool operator()(Micros now) {
    while (next_ < phases_.size() && now - start_ >= phases_[next_].from) {
      const double c = phases_[next_].capacity;
      bucket_.set_rate(c);
      bucket_.set_burst(std::max(1.0, c * burst_seconds_));
      ++next_;
    }
    return bucket_.try_acquire(1);
  }

 private:
  std::shared_ptr<ManualClock> clock_;
  Micros start_;
  std::vector<Phase> phases_;
  double burst_seconds_;
  LocalBucket bucket_;
  std::size_t next_ = 1;
};

/// A backend that fails at random once overloaded: it counts the calls of
/// the last `span` µs (its load, per second) and fails each call with
/// probability `base_error + max(0, 1 - capacity / load)`, i.e. it serves
/// about `capacity` calls per second and fails the excess.
class OverloadedBackend {
 public:
  OverloadedBackend(Micros start, std::vector<Phase> phases, double base_error, Micros span,
                    std::uint64_t seed)
      : start_(start),
        phases_(std::move(phases)),
        base_error_(base_error),
        span_(span),
        rng_(seed) {}

  bool operator()(Micros now) {
    recent_.push_back(now);
    while (recent_.front() <= now - span_) recent_.pop_front();
    const double load = static_cast<double>(recent_.size()) * 1e6 / static_cast<double>(span_);
    double capacity = phases_.front().capacity;
    for (const Phase& p : phases_) {
      if (now - start_ >= p.from) capacity = p.capacity;
    }
    const double overload = load > capacity ? 1 - capacity / load : 0.0;
    return uniform(rng_) >= base_error_ + overload;
  }

 private:
  Micros start_;
  std::vector<Phase> phases_;
  double base_error_;
  Micros span_;
  std::mt19937_64 rng_;
  std::deque<Micros> recent_;
};

/// What a measurement window of the concurrency simulation saw.
struct ConcurrencyWindow {
  Micros from = 0;
  Micros to = 0;
  std::uint64_t samples = 0;
  double limit_sum = 0;  ///< sum of limit() at each sample
  std::int64_t limit_min = 0;
  std::int64_t limit_max = 0;
  Micros rtt_sum = 0;
  std::uint64_t completed = 0;
  [[nodiscard]] double mean_limit() const {
    return samples == 0 ? 0.0 : limit_sum / static_cast<double>(samples);
  }
  [[nodiscard]] double mean_rtt() const {
    return samples == 0 ? 0.0 : static_cast<double>(rtt_sum) / static_cast<double>(samples);
  }
  [[nodiscard]] double throughput() const {  // calls per second
    return static_cast<double>(completed) * 1e6 / static_cast<double>(to - from);
  }
};

/// A closed-loop client with unbounded demand: it keeps `limit()` calls in
/// flight to a backend of `capacity` workers (from `phases`), each call
/// served in `service` µs plus up to `jitter` of it (seeded). With `n` calls
/// in flight at dispatch and `n > capacity`, the call also queues: its RTT
/// is `service * n / capacity` (processor sharing), so the latency grows
/// with the queue exactly as Vegas assumes. Every completion is one
/// `on_sample`.
inline void run_concurrency_client(AdaptiveConcurrencyLimit& limiter,
                                   const std::vector<Phase>& phases, Micros service, double jitter,
                                   std::uint64_t seed, Micros duration,
                                   std::vector<ConcurrencyWindow>& windows) {
  struct Call {
    Micros done;
    Micros rtt;
    std::int64_t in_flight;
    bool operator>(const Call& o) const { return done > o.done; }
  };
  std::priority_queue<Call, std::vector<Call>, std::greater<>> flying;
  std::mt19937_64 rng(seed);
  Micros now = 0;
  for (ConcurrencyWindow& w : windows) w.limit_min = w.limit_max = limiter.limit();
  for (;;) {
    double capacity = phases.front().capacity;
    for (const Phase& p : phases) {
      if (now >= p.from) capacity = p.capacity;
    }
    while (static_cast<std::int64_t>(flying.size()) < limiter.limit()) {
      const auto n = static_cast<std::int64_t>(flying.size()) + 1;
      const double load = std::max(1.0, static_cast<double>(n) / capacity);
      const double base = static_cast<double>(service) * (1 + jitter * uniform(rng));
      const auto rtt = static_cast<Micros>(base * load);
      flying.push({now + rtt, rtt, n});
    }
    const Call c = flying.top();
    flying.pop();
    now = c.done;
    if (now >= duration) break;
    limiter.on_sample(c.rtt, c.in_flight, false);
    const std::int64_t limit = limiter.limit();
    for (ConcurrencyWindow& w : windows) {
      if (now < w.from || now >= w.to) continue;
      if (w.samples == 0) w.limit_min = w.limit_max = limit;
      ++w.samples;
      ++w.completed;
      w.limit_sum += static_cast<double>(limit);
      w.limit_min = std::min(w.limit_min, limit);
      w.limit_max = std::max(w.limit_max, limit);
      w.rtt_sum += c.rtt;
    }
  }
}

}  // namespace ratelimit::adaptive_sim
