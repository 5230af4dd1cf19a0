// `ratelimit capacity`: the theoretical and safe maximum RPS of a machine,
// its bottleneck and the per-resource bounds (src/planning/capacity.cpp).
#include <boost/json.hpp>
#include <iostream>

#include "commands.hpp"
#include "planning_fetch.hpp"
#include "ratelimit/planning/capacity.hpp"
#include "ratelimit/planning/text_table.hpp"

namespace ratelimit::cli {
namespace json = boost::json;

namespace {

// Flags win over the file: set only what was given.
void override_with(std::optional<double>& field, const std::optional<double>& flag) {
  if (flag) field = flag;
}

void print_table(const planning::CapacityReport& r,
                 const std::optional<planning::MeasuredPerRequest>& m) {
  using planning::format_number;
  if (m) {
    std::cout << "Measured by the server (decisions: " << format_number(m->decisions, 0)
              << "): cpu_ms " << format_number(m->cpu_ms, 4) << " (" << m->cpu_source
              << "), latency_ms " << format_number(m->latency_ms, 4) << "\n\n";
  }
  planning::TextTable table({"resource", "available", "per request", "max RPS", "at safe RPS"},
                            {false, true, true, true, true});
  for (const auto& b : r.resources) {
    table.add_row({b.resource + (b.resource == r.bottleneck ? " *" : ""),
                   format_number(b.available, 2) + " " + b.available_unit,
                   format_number(b.per_request, 4) + " " + b.per_request_unit,
                   format_number(b.max_rps, 2),
                   format_number(b.utilization_at_safe * 100, 1) + "%"});
  }
  table.print(std::cout);
  std::cout << "\ntheoretical max: " << format_number(r.theoretical_rps, 2)
            << " RPS (bottleneck: " << r.bottleneck << ")\n"
            << "safe max:        " << format_number(r.safe_rps, 2) << " RPS (safety factor "
            << format_number(r.safety_factor, 2) << ")\n";
}

json::object to_json(const planning::CapacityReport& r,
                     const std::optional<planning::MeasuredPerRequest>& m) {
  json::array resources;
  for (const auto& b : r.resources) {
    resources.push_back(json::object{{"resource", b.resource},
                                     {"available", b.available},
                                     {"available_unit", b.available_unit},
                                     {"per_request", b.per_request},
                                     {"per_request_unit", b.per_request_unit},
                                     {"max_rps", b.max_rps},
                                     {"utilization_at_safe", b.utilization_at_safe}});
  }
  json::object out{{"theoretical_rps", r.theoretical_rps},
                   {"safe_rps", r.safe_rps},
                   {"safety_factor", r.safety_factor},
                   {"bottleneck", r.bottleneck},
                   {"resources", std::move(resources)}};
  if (m) {
    out["measured"] = json::object{{"cpu_ms", m->cpu_ms},
                                   {"cpu_source", m->cpu_source},
                                   {"latency_ms", m->latency_ms},
                                   {"decisions", m->decisions}};
  }
  return out;
}

}  // namespace

int run_capacity(const CapacityOptions& o) {
  planning::CapacityInput input;
  if (!o.file.empty()) input = planning::load_capacity_file(o.file);
  override_with(input.resources.cpu_cores, o.cpu_cores);
  override_with(input.resources.memory_gib, o.memory_gib);
  override_with(input.resources.network_mbps, o.network_mbps);
  override_with(input.resources.disk_iops, o.disk_iops);
  std::optional<planning::MeasuredPerRequest> measured;
  if (!o.from_metrics.empty()) {
    // Measured figures replace the file's; explicit flags still win.
    measured = planning::per_request_from_metrics(fetch_page(o.from_metrics, "/metrics"));
    input.per_request.cpu_ms = measured->cpu_ms;
    input.per_request.latency_ms = measured->latency_ms;
  }
  override_with(input.per_request.cpu_ms, o.cpu_ms);
  override_with(input.per_request.memory_mib, o.memory_mib);
  override_with(input.per_request.latency_ms, o.latency_ms);
  override_with(input.per_request.network_kib, o.network_kib);
  override_with(input.per_request.disk_ops, o.disk_ops);
  if (o.safety_factor) input.safety_factor = *o.safety_factor;
  const auto report = planning::compute_capacity(input);
  if (o.json) {
    std::cout << json::serialize(to_json(report, measured)) << '\n';
  } else {
    print_table(report, measured);
  }
  return 0;
}

}  // namespace ratelimit::cli
