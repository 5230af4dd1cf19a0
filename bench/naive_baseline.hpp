#pragma once
/// @file naive_baseline.hpp
/// The baseline every benchmark compares against: the token bucket of the
/// Python guides, transcribed into C++ as literally as is reasonable. One
/// mutex around one hash map from key to {tokens, last refill time in
/// seconds}; refill `tokens = min(capacity, tokens + elapsed * rate)`, then
/// consume if `tokens >= cost`.
///
/// Shared by the Google Benchmark program (bench/ratelimit_bench.cpp) and the
/// `ratelimit bench` command (tools/ratelimit/bench_command.cpp), so both
/// measure the same baseline. Header-only on purpose: it is not part of the
/// library.
///
/// Two small concessions so the comparison is not won by handicapping the
/// baseline: the map looks keys up by `std::string_view` (transparent hash,
/// no temporary std::string per call), and a `now` older than the stored
/// `last` (threads read the clock before taking the lock) counts as no time
/// passing instead of draining tokens.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "ratelimit/time.hpp"

namespace ratelimit::bench {

class NaiveTokenBucket {
 public:
  /// `capacity` tokens, refilled at `rate_per_second` tokens per second.
  NaiveTokenBucket(double capacity, double rate_per_second)
      : capacity_(capacity), rate_(rate_per_second) {}

  /// Same call shape as the library's stores: key, cost, instant in µs since the epoch.
  bool try_acquire(std::string_view key, double cost, Micros now_us) {
    const double now = static_cast<double>(now_us) / 1e6;
    std::lock_guard lock(mu_);
    auto it = buckets_.find(key);
    if (it == buckets_.end()) {
      it = buckets_.emplace(std::string(key), Bucket{capacity_, now}).first;
    }
    Bucket& b = it->second;
    const double elapsed = std::max(0.0, now - b.last_seconds);
    b.tokens = std::min(capacity_, b.tokens + elapsed * rate_);
    b.last_seconds = std::max(b.last_seconds, now);
    if (b.tokens >= cost) {
      b.tokens -= cost;
      return true;
    }
    return false;
  }

  /// Buckets currently held.
  [[nodiscard]] std::size_t size() const {
    std::lock_guard lock(mu_);
    return buckets_.size();
  }

 private:
  struct Bucket {
    double tokens;
    double last_seconds;
  };
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };

  const double capacity_;
  const double rate_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Bucket, Hash, std::equal_to<>> buckets_;
};

}  // namespace ratelimit::bench
