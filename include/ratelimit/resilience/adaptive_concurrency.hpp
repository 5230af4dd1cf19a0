#pragma once
/// @file resilience/adaptive_concurrency.hpp
/// AdaptiveConcurrencyLimit: a concurrency limit learned from round-trip
/// times, after TCP Vegas as adapted by Netflix's concurrency-limits library
/// (VegasLimit).

#include <cstdint>
#include <functional>
#include <mutex>

#include "ratelimit/resilience/adaptive_sinks.hpp"
#include "ratelimit/time.hpp"

namespace ratelimit {

/// Settings of an AdaptiveConcurrencyLimit (Vegas). Limits are numbers of
/// calls in flight; `alpha` and `beta` are numbers of queued calls.
///
/// The controller keeps `min_rtt`, the smallest RTT seen (the no-load
/// latency), and per sample estimates how many of the `limit` calls in
/// flight are queueing rather than being served (Brakmo & Peterson, "TCP
/// Vegas", 1994, with the congestion window read as the concurrency limit):
///
///     queue = limit * (1 - min_rtt / rtt)
///
/// Then, in this order:
///
/// - dropped sample (timeout, rejection): `target = limit * drop_factor`;
/// - `2 * in_flight < limit`: no change; the limit is not what holds the
///   client back, so its RTT says nothing about a larger limit (Netflix's
///   "app-limited" rule);
/// - `queue < alpha`: `target = limit + increase_step / limit`;
/// - `queue > beta`: `target = limit - decrease_step / limit`;
/// - otherwise no change.
///
/// About `limit` calls complete per round trip, so the steps are per round
/// trip, as in TCP Vegas: the limit moves by about `increase_step` per RTT.
/// (A whole step per sample would move it by `limit` steps before the
/// first effect of the change is measured, and it oscillates.)
///
/// The limit moves part of the way: `limit <- limit + smoothing * (target -
/// limit)`, clamped to [min_limit, max_limit]. It is kept as a real number;
/// `limit()` is that number rounded to the nearest integer.
///
/// Under a steady load the limit settles where `alpha <= queue <= beta`:
/// about `alpha .. beta` calls above the backend's true concurrency. Noise
/// in the RTT counts as queue too (`limit * noise / rtt`): with large limits
/// raise alpha and beta above the noise, or the limit settles low.
///
/// `probe_every` > 0 forgets `min_rtt` every that many samples (the next
/// sample becomes the estimate), so a backend that became slower for good
/// is not judged against its old no-load latency forever.
struct AdaptiveConcurrencyConfig {
  std::int64_t initial_limit = 20;  ///< Starting limit; in [min_limit, max_limit].
  std::int64_t min_limit = 1;       ///< Floor (>= 1).
  std::int64_t max_limit = 1000;    ///< Ceiling (>= min_limit).
  double alpha = 3;                 ///< Queue below this: increase (>= 0).
  double beta = 6;                  ///< Queue above this: decrease (>= alpha).
  double increase_step = 1;         ///< Increase per round trip (> 0).
  double decrease_step = 1;         ///< Decrease per round trip (> 0).
  double drop_factor = 0.9;         ///< Multiplier on a dropped sample, in (0, 1).
  double smoothing = 1;             ///< Share of the way to the target per sample, in (0, 1].
  std::uint64_t probe_every = 0;    ///< Samples between min_rtt resets; 0: never.
};

/// A snapshot of an AdaptiveConcurrencyLimit's counters.
struct AdaptiveConcurrencyStats {
  std::int64_t limit = 0;         ///< Current limit (rounded).
  double exact_limit = 0;         ///< The real-valued limit behind it.
  Micros min_rtt = 0;             ///< No-load RTT estimate, µs (0: no sample yet).
  Micros last_rtt = 0;            ///< RTT of the last sample, µs.
  double last_queue = 0;          ///< Queue estimate of the last sample.
  std::uint64_t samples = 0;      ///< `on_sample` calls.
  std::uint64_t drops = 0;        ///< Samples with `dropped`.
  std::uint64_t app_limited = 0;  ///< Samples ignored by the app-limited rule.
  std::uint64_t increases = 0;    ///< Samples that raised the exact limit.
  std::uint64_t decreases = 0;    ///< Samples that lowered it (drops included).
  std::uint64_t probes = 0;       ///< min_rtt resets.
  friend bool operator==(const AdaptiveConcurrencyStats&,
                         const AdaptiveConcurrencyStats&) = default;
};

/// Learns how many calls to keep in flight to a backend from their latency.
/// After each call, report `on_sample(rtt, in_flight, dropped)`; admit a new
/// call only while fewer than `limit()` are in flight, e.g. by wiring
/// `add_sink` to a concurrency limiter's `set_limit`.
///
/// Thread-safe: every method may be called concurrently (one mutex; sinks
/// run after it is released, see AdaptiveSinks).
class AdaptiveConcurrencyLimit final {
 public:
  /// Throws std::invalid_argument, naming the field and value, for an
  /// invalid config (see AdaptiveConcurrencyConfig).
  explicit AdaptiveConcurrencyLimit(const AdaptiveConcurrencyConfig& config);

  /// One call finished after `rtt_us` µs (> 0); `in_flight` calls (>= 0,
  /// this one included) were in flight when it was sent; `dropped` if it
  /// timed out or was refused (its RTT is then not used for min_rtt).
  /// Throws std::invalid_argument for `rtt_us <= 0` or `in_flight < 0`.
  void on_sample(Micros rtt_us, std::int64_t in_flight, bool dropped = false);

  /// Current limit, in [min_limit, max_limit].
  [[nodiscard]] std::int64_t limit() const;
  /// Counters; a consistent snapshot, stale as soon as it returns.
  [[nodiscard]] AdaptiveConcurrencyStats stats() const;
  [[nodiscard]] const AdaptiveConcurrencyConfig& config() const noexcept { return config_; }

  /// Calls `sink(limit)` now and whenever `limit()` changes (see
  /// AdaptiveSinks).
  void add_sink(std::function<void(std::int64_t)> sink);

 private:
  AdaptiveConcurrencyConfig config_;
  mutable std::mutex mu_;
  AdaptiveConcurrencyStats stats_;  // Guarded by mu_.
  std::uint64_t since_probe_ = 0;   // Guarded by mu_: samples since min_rtt was reset.
  AdaptiveSinks<std::int64_t> sinks_;
};

}  // namespace ratelimit
