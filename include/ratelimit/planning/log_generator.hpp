#pragma once
/// @file log_generator.hpp
/// A seeded synthetic access log (`ratelimit gen-log`): a diurnal and weekly
/// request rate, a long-tailed mix of clients with a few heavy hitters, and
/// short bursts. The same options give the same bytes on every platform
/// (mt19937_64 and hand-written distributions only).

#include <cstdint>
#include <functional>
#include <string_view>

#include "ratelimit/planning/log_record.hpp"
#include "ratelimit/time.hpp"

namespace ratelimit::planning {

struct GenerateOptions {
  std::uint64_t seed = 42;
  std::uint64_t lines = 10'000;
  LogFormat format = LogFormat::combined;
  /// First request's time; default 2026-12-07T00:00:00Z (a Monday).
  Micros start = 1'796'601'600LL * kMicrosPerSecond;
  /// Mean requests per second over a day (the hourly rate swings between
  /// about 0.3x and 1.7x of it; weekends run at 0.6x).
  double mean_rps = 10.0;
  /// Distinct clients (each has an IP; 70% also a user name and an API key).
  std::uint32_t clients = 5'000;
  /// Chance that a line starts a burst: one client sending 20..200 requests
  /// within about a second.
  double burst_probability = 0.0005;
};

/// Calls `sink` with each line (no newline). Combined lines carry the API key
/// as a 4th quoted field after the user agent (analyze --api-key-field 4).
void generate_log(const GenerateOptions& options,
                  const std::function<void(std::string_view)>& sink);

}  // namespace ratelimit::planning
