#pragma once
/// @file html_report.hpp
/// One self-contained HTML page for `ratelimit analyze --html`: tables and
/// inline SVG charts, no scripts, no external assets.

#include <optional>
#include <string>

#include "ratelimit/planning/replay.hpp"
#include "ratelimit/planning/traffic_report.hpp"

namespace ratelimit::planning {

struct ReportCharts {
  std::string rate_svg, distribution_svg, heatmap_svg;
};

struct ReportInputs {
  std::string title = "ratelimit analyze";
  std::vector<std::string> files;
  std::uint64_t lines = 0;
  std::uint64_t bad_lines = 0;
};

[[nodiscard]] std::string html_report(const TrafficReport& report, const ReportCharts& charts,
                                      const ReportInputs& inputs,
                                      const std::optional<ReplayResult>& replay);

}  // namespace ratelimit::planning
