#pragma once
/// @file capacity.hpp
/// Capacity planning (`ratelimit capacity`): how many requests per second a
/// machine can serve, from what it has (cores, memory, network, disk IOPS)
/// and what one request needs. Pure functions; thread-safe.
///
/// Units (docs/planning.md, "capacity"):
/// - CPU: a core gives 1000 CPU-ms per second, so cpu max RPS =
///   cores * 1000 / cpu_ms.
/// - Memory: a request holds its memory for its latency, so at most
///   memory / per-request memory requests are in flight, and by Little's law
///   memory max RPS = memory_bytes / (per-request bytes * latency seconds).
/// - Network: max RPS = bandwidth bytes/s / bytes per request, where
///   bandwidth bytes/s = Mbit/s * 1e6 / 8.
/// - Disk: max RPS = IOPS / disk operations per request.
/// Sizes are binary: 1 KiB = 1024 bytes, 1 MiB = 1024 KiB, 1 GiB = 1024 MiB.

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace ratelimit::planning {

/// Input that cannot be computed with (negative, zero where a divisor is
/// needed, a resource without its per-request figure...). The message names
/// the field.
class InputError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/// What one machine (or instance) has. An absent resource is not a limit.
struct Resources {
  std::optional<double> cpu_cores;     ///< cores (> 0)
  std::optional<double> memory_gib;    ///< GiB (> 0)
  std::optional<double> network_mbps;  ///< Mbit/s, 1 Mbit = 1e6 bits (> 0)
  std::optional<double> disk_iops;     ///< disk operations per second (> 0)
};

/// What one request needs. Each resource that `Resources` has needs its
/// figure here, and the figure must be > 0 (a request that needs none of a
/// resource: leave the resource out).
struct PerRequest {
  std::optional<double> cpu_ms;       ///< CPU milliseconds
  std::optional<double> memory_mib;   ///< MiB held while the request runs
  std::optional<double> latency_ms;   ///< how long it runs (memory is held that long)
  std::optional<double> network_kib;  ///< KiB sent plus received
  std::optional<double> disk_ops;     ///< disk operations
};

/// A complete capacity question.
struct CapacityInput {
  Resources resources;
  PerRequest per_request;
  /// Fraction of the theoretical maximum to plan for: 0.7 = run at 70%
  /// utilization at most. In (0, 1].
  double safety_factor = 0.7;
};

/// One resource's bound.
struct ResourceBound {
  std::string resource;  ///< "cpu", "memory", "network" or "disk"
  double available = 0;  ///< in `available_unit`
  std::string available_unit;
  double per_request = 0;  ///< in `per_request_unit`
  std::string per_request_unit;
  double max_rps = 0;  ///< requests per second this resource alone allows
  /// This resource's utilization when serving the safe RPS (0..1).
  double utilization_at_safe = 0;
};

struct CapacityReport {
  std::vector<ResourceBound> resources;  ///< in the order cpu, memory, network, disk
  double theoretical_rps = 0;            ///< the smallest max_rps
  double safe_rps = 0;                   ///< theoretical_rps * safety_factor
  double safety_factor = 0;
  std::string bottleneck;  ///< the resource with the smallest max_rps (first on a tie)
};

/// Computes the report. Throws InputError naming the first bad field
/// (e.g. "per_request.cpu_ms must be above 0, not 0").
[[nodiscard]] CapacityReport compute_capacity(const CapacityInput& input);

/// Reads a capacity profile (docs/planning.md has the format). Throws
/// policy::ConfigError with file:line:column for every problem.
[[nodiscard]] CapacityInput load_capacity_file(const std::string& path);

/// Per-request figures measured by a running ratelimitd, from its /metrics.
struct MeasuredPerRequest {
  double cpu_ms = 0;      ///< CPU (or, without process metrics, wall) ms per decision
  double latency_ms = 0;  ///< mean decision latency
  /// Which metrics gave cpu_ms ("process_cpu_seconds_total / ratelimit_decisions_total"
  /// or "ratelimit_decision_duration_seconds_sum / _count").
  std::string cpu_source;
  double decisions = 0;  ///< how many decisions the figures average over
};

/// Derives per-request figures from Prometheus text (see docs/planning.md):
/// latency = ratelimit_decision_duration_seconds_sum / _count; CPU =
/// process_cpu_seconds_total / sum of ratelimit_decisions_total when the
/// process metric is exposed, else the latency. Throws InputError naming the
/// missing metric, or saying no decision was measured yet.
[[nodiscard]] MeasuredPerRequest per_request_from_metrics(std::string_view prometheus_text);

}  // namespace ratelimit::planning
