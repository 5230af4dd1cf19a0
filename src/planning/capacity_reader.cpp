// Reads a capacity profile (docs/planning.md, "capacity"): resources,
// per_request, safety_factor. Every problem is reported with its position.
#include "ratelimit/planning/capacity.hpp"
#include "yaml_input.hpp"

namespace ratelimit::planning {

CapacityInput load_capacity_file(const std::string& path) {
  policy::yaml::Issues issues(path);
  const YAML::Node root = detail::load_yaml_file(path, issues);
  CapacityInput input;
  policy::yaml::MapReader top(root, "the capacity profile", issues);
  if (!top.ok()) detail::throw_if_any(issues);
  constexpr double kMax = 1e15;
  if (const YAML::Node node = top.get("resources"); node.IsDefined()) {
    policy::yaml::MapReader m(node, "resources", issues);
    if (m.ok()) {
      auto& r = input.resources;
      r.cpu_cores = m.number("cpu_cores", 0, kMax);
      r.memory_gib = m.number("memory_gib", 0, kMax);
      r.network_mbps = m.number("network_mbps", 0, kMax);
      r.disk_iops = m.number("disk_iops", 0, kMax);
      m.finish();
    }
  } else {
    top.missing("resources", "e.g. resources: {cpu_cores: 8, memory_gib: 16}");
  }
  if (const YAML::Node node = top.get("per_request"); node.IsDefined()) {
    policy::yaml::MapReader m(node, "per_request", issues);
    if (m.ok()) {
      auto& p = input.per_request;
      p.cpu_ms = m.number("cpu_ms", 0, kMax);
      p.memory_mib = m.number("memory_mib", 0, kMax);
      p.latency_ms = m.number("latency_ms", 0, kMax);
      p.network_kib = m.number("network_kib", 0, kMax);
      p.disk_ops = m.number("disk_ops", 0, kMax);
      m.finish();
    }
  } else {
    top.missing("per_request", "e.g. per_request: {cpu_ms: 20, memory_mib: 4, latency_ms: 150}");
  }
  if (const auto f = top.number("safety_factor", 0, 1)) input.safety_factor = *f;
  top.finish();
  detail::throw_if_any(issues);
  return input;
}

}  // namespace ratelimit::planning
