// The capacity calculation: each resource's bound, their minimum, the safe
// share of it. Formulas and units are in capacity.hpp and docs/planning.md.
#include "ratelimit/planning/capacity.hpp"

#include <cmath>
#include <sstream>

#include "ratelimit/planning/prometheus_text.hpp"

namespace ratelimit::planning {
namespace {

std::string text(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

double positive(const std::optional<double>& value, const std::string& field) {
  if (!std::isfinite(*value) || *value <= 0) {
    throw InputError(field + " must be above 0, not " + text(*value));
  }
  // As in the YAML profile: keeps every quotient finite.
  if (*value > 1e15) throw InputError(field + " must be at most 1e15, not " + text(*value));
  return *value;
}

// A resource counts when the machine has it; then the request's figure is
// required. A figure without its resource is a mistake too (it would be
// silently ignored).
bool both_or_neither(const std::optional<double>& available, const std::string& available_field,
                     const std::optional<double>& need, const std::string& need_field) {
  if (available && !need) {
    throw InputError(available_field + " is given but " + need_field +
                     " is missing (a request that needs none of it: leave the resource out)");
  }
  if (need && !available) {
    throw InputError(need_field + " is given but " + available_field + " is missing");
  }
  return available.has_value();
}

}  // namespace

CapacityReport compute_capacity(const CapacityInput& input) {
  const Resources& r = input.resources;
  const PerRequest& p = input.per_request;
  if (!std::isfinite(input.safety_factor) || input.safety_factor <= 0 || input.safety_factor > 1) {
    throw InputError(
        "safety_factor must be above 0 and at most 1 (0.7 = plan for 70% utilization), not " +
        text(input.safety_factor));
  }
  CapacityReport report;
  report.safety_factor = input.safety_factor;
  if (both_or_neither(r.cpu_cores, "resources.cpu_cores", p.cpu_ms, "per_request.cpu_ms")) {
    const double cores = positive(r.cpu_cores, "resources.cpu_cores");
    const double ms = positive(p.cpu_ms, "per_request.cpu_ms");
    // One core supplies 1000 CPU-milliseconds per second.
    report.resources.push_back({"cpu", cores, "cores", ms, "CPU ms", cores * 1000.0 / ms, 0});
  }
  if (both_or_neither(r.memory_gib, "resources.memory_gib", p.memory_mib,
                      "per_request.memory_mib")) {
    const double gib = positive(r.memory_gib, "resources.memory_gib");
    const double mib = positive(p.memory_mib, "per_request.memory_mib");
    if (!p.latency_ms) {
      throw InputError(
          "per_request.latency_ms is missing: the memory bound needs how long a request holds its "
          "memory");
    }
    const double seconds = positive(p.latency_ms, "per_request.latency_ms") / 1000.0;
    // At most gib*1024/mib requests fit in memory at once; each holds its
    // share for `seconds`, so (Little's law) that many per `seconds`.
    report.resources.push_back(
        {"memory", gib, "GiB", mib, "MiB held", gib * 1024.0 / (mib * seconds), 0});
  } else if (p.latency_ms) {
    positive(p.latency_ms, "per_request.latency_ms");
  }
  if (both_or_neither(r.network_mbps, "resources.network_mbps", p.network_kib,
                      "per_request.network_kib")) {
    const double mbps = positive(r.network_mbps, "resources.network_mbps");
    const double kib = positive(p.network_kib, "per_request.network_kib");
    const double bytes_per_second = mbps * 1e6 / 8.0;
    report.resources.push_back(
        {"network", mbps, "Mbit/s", kib, "KiB", bytes_per_second / (kib * 1024.0), 0});
  }
  if (both_or_neither(r.disk_iops, "resources.disk_iops", p.disk_ops, "per_request.disk_ops")) {
    const double iops = positive(r.disk_iops, "resources.disk_iops");
    const double ops = positive(p.disk_ops, "per_request.disk_ops");
    report.resources.push_back({"disk", iops, "IOPS", ops, "disk ops", iops / ops, 0});
  }
  if (report.resources.empty()) {
    throw InputError(
        "no resources given: set at least one of resources.cpu_cores, memory_gib, network_mbps, "
        "disk_iops with its per-request figure");
  }
  const ResourceBound* smallest = &report.resources.front();
  for (const auto& b : report.resources) {
    if (b.max_rps < smallest->max_rps) smallest = &b;
  }
  report.theoretical_rps = smallest->max_rps;
  report.bottleneck = smallest->resource;
  report.safe_rps = report.theoretical_rps * input.safety_factor;
  for (auto& b : report.resources) b.utilization_at_safe = report.safe_rps / b.max_rps;
  return report;
}

MeasuredPerRequest per_request_from_metrics(std::string_view prometheus_text) {
  const auto samples = parse_prometheus_text(prometheus_text);
  const auto need = [&](std::string_view name) {
    const auto v = sum_of(samples, name);
    if (!v) {
      throw InputError("the metrics have no '" + std::string(name) +
                       "' (is this a ratelimitd /metrics page?)");
    }
    return *v;
  };
  const double count = need("ratelimit_decision_duration_seconds_count");
  const double sum = need("ratelimit_decision_duration_seconds_sum");
  if (!(count > 0)) {
    throw InputError(
        "ratelimit_decision_duration_seconds_count is 0: the server has not made a decision yet; "
        "send it traffic first");
  }
  MeasuredPerRequest m;
  m.decisions = count;
  m.latency_ms = sum / count * 1000.0;
  const auto cpu = sum_of(samples, "process_cpu_seconds_total");
  const auto decisions = sum_of(samples, "ratelimit_decisions_total");
  if (cpu && decisions && *decisions > 0) {
    m.cpu_ms = *cpu / *decisions * 1000.0;
    m.cpu_source = "process_cpu_seconds_total / ratelimit_decisions_total";
    m.decisions = *decisions;
  } else {
    // Without process metrics, the time to handle a decision is the best
    // figure: an upper bound of its CPU time, since one thread handles it.
    m.cpu_ms = m.latency_ms;
    m.cpu_source = "ratelimit_decision_duration_seconds_sum / _count";
  }
  return m;
}

}  // namespace ratelimit::planning
